package domain_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

var (
	today   = civil.Date{Year: 2026, Month: 11, Day: 26}
	learner = domain.Learner{ID: "l-1", Territory: "T05", BirthDate: civil.Date{Year: 2010, Month: 6, Day: 15}, Known: true}
	entered = domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: civil.Date{Year: 2026, Month: 11, Day: 20}, Territory: "T05"}
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name      string
		given     []domain.Event
		when      domain.Command
		then      []domain.Event
		wantKind  apperr.Kind
		wantField string
	}{
		{
			name: "a registered learner enters on any day",
			when: domain.EnterPathway{Learner: learner, EntryDate: entered.EntryDate, Today: today},
			then: []domain.Event{entered},
		},
		{
			name: "entry today is allowed",
			when: domain.EnterPathway{Learner: learner, EntryDate: today, Today: today},
			then: []domain.Event{domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: today, Territory: "T05"}},
		},
		{
			name:     "an open episode refuses a second entry",
			given:    []domain.Event{entered},
			when:     domain.EnterPathway{Learner: learner, EntryDate: today, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:     "an unknown learner is a precondition, not bad input",
			when:     domain.EnterPathway{Learner: domain.Learner{ID: "l-2"}, EntryDate: today, Today: today},
			wantKind: apperr.KindFailedPrecondition,
		},
		{
			name:      "entry in the future",
			when:      domain.EnterPathway{Learner: learner, EntryDate: today.AddDays(1), Today: today},
			wantKind:  apperr.KindInvalidArgument,
			wantField: "entry_date",
		},
		{
			name: "a back-dated entry is allowed (late data entry)",
			when: domain.EnterPathway{Learner: learner, EntryDate: civil.Date{Year: 2026, Month: 6, Day: 15}, Today: today},
			then: []domain.Event{domain.PathwayEntered{LearnerID: "l-1", Episode: 1, EntryDate: civil.Date{Year: 2026, Month: 6, Day: 15}, Territory: "T05"}},
		},
		{
			name:      "entry before the learner turned sixteen",
			when:      domain.EnterPathway{Learner: learner, EntryDate: civil.Date{Year: 2026, Month: 6, Day: 14}, Today: today},
			wantKind:  apperr.KindInvalidArgument,
			wantField: "entry_date",
		},
		{
			name:      "missing entry date",
			when:      domain.EnterPathway{Learner: learner, Today: today},
			wantKind:  apperr.KindInvalidArgument,
			wantField: "entry_date",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p domain.Pathway
			for _, e := range tc.given {
				p = domain.Evolve(p, e)
			}
			got, err := domain.Decide(p, tc.when)
			if tc.then != nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if !reflect.DeepEqual(got, tc.then) {
					t.Fatalf("got %#v want %#v", got, tc.then)
				}
				return
			}
			if apperr.KindOf(err) != tc.wantKind {
				t.Fatalf("want %v, got %v", tc.wantKind, err)
			}
			if tc.wantField != "" {
				var ae *apperr.Error
				if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Field != tc.wantField {
					t.Fatalf("want a violation on %s, got %v", tc.wantField, err)
				}
			}
		})
	}
}

func TestEvolveDoesNotAliasHistory(t *testing.T) {
	p := domain.Evolve(domain.Pathway{}, entered)
	a := domain.Evolve(p, domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: today})
	b := domain.Evolve(p, domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: today.AddDays(-1)})
	if a.Episodes[1].Entry == b.Episodes[1].Entry {
		t.Fatal("folding two futures from one state shared the episodes slice")
	}
	if !p.Active() || len(p.Episodes) != 1 {
		t.Fatalf("%+v", p)
	}
}

package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

var today = civil.Date{Year: 2026, Month: 11, Day: 26}

func register(mod func(*domain.RegisterLearner)) domain.RegisterLearner {
	c := domain.RegisterLearner{
		LearnerID: "l-1", FamilyName: "Lefèvre", GivenName: "Anaïs",
		BirthDate: civil.Date{Year: 1990, Month: 4, Day: 12}, Territory: "T05", Today: today,
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestDecide(t *testing.T) {
	registered := domain.LearnerRegistered{
		LearnerID: "l-1", FamilyName: "Lefèvre", GivenName: "Anaïs",
		BirthDate: civil.Date{Year: 1990, Month: 4, Day: 12}, Territory: "T05", RegisteredOn: today,
	}
	tests := []struct {
		name       string
		given      []domain.Event
		when       domain.Command
		then       []domain.Event
		wantKind   apperr.Kind
		wantFields []string
	}{
		{name: "registers a new learner", when: register(nil), then: []domain.Event{registered}},
		{
			name: "normalises white space in names",
			when: register(func(c *domain.RegisterLearner) { c.FamilyName, c.GivenName = "  Lefèvre ", "Anaïs\t " }),
			then: []domain.Event{registered},
		},
		{
			name: "sixteen on the day is old enough",
			when: register(func(c *domain.RegisterLearner) { c.BirthDate = civil.Date{Year: 2010, Month: 11, Day: 26} }),
			then: []domain.Event{func() domain.LearnerRegistered {
				e := registered
				e.BirthDate = civil.Date{Year: 2010, Month: 11, Day: 26}
				return e
			}()},
		},
		{
			name:     "refuses a second registration of the same learner",
			given:    []domain.Event{registered},
			when:     register(nil),
			wantKind: apperr.KindAlreadyExists,
		},
		{
			name:       "one day short of sixteen",
			when:       register(func(c *domain.RegisterLearner) { c.BirthDate = civil.Date{Year: 2010, Month: 11, Day: 27} }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"birth_date"},
		},
		{
			name:       "birth date in the future",
			when:       register(func(c *domain.RegisterLearner) { c.BirthDate = today.AddDays(1) }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"birth_date"},
		},
		{
			name: "every bad field is reported at once",
			when: register(func(c *domain.RegisterLearner) {
				c.FamilyName, c.GivenName, c.BirthDate, c.Territory = " ", "", civil.Date{}, "T99"
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"family_name", "given_name", "birth_date", "territory_code"},
		},
		{
			name:       "names need a letter and no control characters",
			when:       register(func(c *domain.RegisterLearner) { c.FamilyName, c.GivenName = "1234", "Ana\x00ïs" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"family_name", "given_name"},
		},
		{
			name:       "names are bounded",
			when:       register(func(c *domain.RegisterLearner) { c.FamilyName = strings.Repeat("a", 101) }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"family_name"},
		},
		{
			name:       "territory is required",
			when:       register(func(c *domain.RegisterLearner) { c.Territory = "" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"territory_code"},
		},
	}
	refs := domain.DefaultTerritories()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var state domain.Learner
			for _, e := range tc.given {
				state = domain.Evolve(state, e)
			}
			got, err := domain.Decide(state, tc.when, refs)
			if tc.wantKind != apperr.KindInternal || tc.wantFields != nil {
				if apperr.KindOf(err) != tc.wantKind {
					t.Fatalf("want %v error, got %v (events %v)", tc.wantKind, err, got)
				}
				var ae *apperr.Error
				errors.As(err, &ae)
				var fields []string
				for _, f := range ae.Fields {
					fields = append(fields, f.Field)
				}
				if !reflect.DeepEqual(fields, tc.wantFields) {
					t.Fatalf("fields %v, want %v", fields, tc.wantFields)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tc.then) {
				t.Fatalf("events\n got %#v\nwant %#v", got, tc.then)
			}
		})
	}
}

func TestEvolveRebuildsTheLearner(t *testing.T) {
	l := domain.Evolve(domain.Learner{}, domain.LearnerRegistered{LearnerID: "x", FamilyName: "A", GivenName: "B", Territory: "T01", RegisteredOn: today})
	if !l.Exists() || l.ID != "x" || l.Territory != "T01" || l.RegisteredOn != today {
		t.Fatalf("%+v", l)
	}
}

func TestDefaultTerritories(t *testing.T) {
	refs := domain.DefaultTerritories()
	all := refs.All()
	if len(all) != 18 {
		t.Fatalf("%d territories, want 18", len(all))
	}
	depts := map[string]int{}
	for _, ter := range all {
		depts[ter.Department]++
	}
	for _, d := range []string{"14", "27", "50", "61", "76"} {
		if depts[d] == 0 {
			t.Errorf("no territory in département %s", d)
		}
	}
	if ter, ok := refs.Lookup("T05"); !ok || ter.Name != "Évreux" {
		t.Errorf("T05 = %+v", ter)
	}
}

func TestParseTerritoriesReportsEveryProblem(t *testing.T) {
	_, err := domain.ParseTerritories([]byte(`{"version":"","territories":[
		{"code":"X1","name":"A","department":"14"},
		{"code":"T01","name":" ","department":"75"},
		{"code":"T01","name":"B","department":"27"}]}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"missing version", `code "X1"`, "empty name", `department "75"`, "duplicate code T01"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := domain.ParseTerritories([]byte(`{"version":"1","territories":[],"extra":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
}

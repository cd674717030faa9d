package domain_test

import (
	"reflect"
	"testing"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

const (
	contractA = "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a01"
	contractB = "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a02"
)

var (
	// accompaniment is op-evreux's #Avenir contract for T05 and T06 in 2026.
	accompaniment = domain.Contract{
		ID: contractA, OperatorID: "op-evreux", Territories: []string{"T06", "T05"},
		From: day(2026, 1, 1), To: day(2026, 12, 31), Programme: domain.FundingAvenir, Known: true,
	}
	// qualifT01 is a Qualif action's contract for T01 only.
	qualifT01 = domain.Contract{
		ID: contractB, OperatorID: "op-afpa", Territories: []string{"T01"},
		From: day(2026, 1, 1), To: day(2027, 6, 30), Programme: domain.FundingOther, Known: true,
	}
	enrolled = domain.LearnerEnrolled{
		LearnerID: "l-1", Episode: 1, Enrolment: 1, ContractID: contractA, OperatorID: "op-evreux",
		Kind: domain.KindAccompaniment, From: day(2026, 11, 21), Territory: "T05", Programme: domain.FundingAvenir,
	}
	reentered = domain.PathwayEntered{LearnerID: "l-1", Episode: 2, EntryDate: day(2026, 11, 24), Territory: "T05"}
)

func enrol(k domain.Contract, kind domain.EnrolmentKind, from civil.Date) domain.Enrol {
	return domain.Enrol{LearnerID: "l-1", Contract: k, Kind: kind, From: from, Today: today}
}

func TestDecideEnrol(t *testing.T) {
	unknown := domain.Contract{ID: contractB}
	shortContract := accompaniment
	shortContract.To = day(2026, 11, 30)
	runDecide(t, []decideCase{
		{
			name:  "a learner in an open episode is enrolled with a contract of its territory's lot",
			given: []domain.Event{entered},
			when:  enrol(accompaniment, domain.KindAccompaniment, day(2026, 11, 21)),
			then:  []domain.Event{enrolled},
		},
		{
			name:  "from the entry day",
			given: []domain.Event{entered},
			when:  enrol(accompaniment, domain.KindWorkshops, entered.EntryDate),
			then: []domain.Event{domain.LearnerEnrolled{
				LearnerID: "l-1", Episode: 1, Enrolment: 1, ContractID: contractA, OperatorID: "op-evreux",
				Kind: domain.KindWorkshops, From: entered.EntryDate, Territory: "T05", Programme: domain.FundingAvenir,
			}},
		},
		{
			name:  "up to 90 days after today",
			given: []domain.Event{entered},
			when:  enrol(domain.Contract{ID: contractB, OperatorID: "op-x", Territories: []string{"T05"}, From: day(2026, 1, 1), To: day(2027, 12, 31), Known: true}, domain.KindImmersionHost, today.AddDays(90)),
			then: []domain.Event{domain.LearnerEnrolled{
				LearnerID: "l-1", Episode: 1, Enrolment: 1, ContractID: contractB, OperatorID: "op-x",
				Kind: domain.KindImmersionHost, From: today.AddDays(90), Territory: "T05",
			}},
		},
		{
			name:  "numbered across episodes; an ended enrolment on the same contract does not stand in the way",
			given: []domain.Event{entered, enrolled, exited, domain.EnrolmentEnded{LearnerID: "l-1", Episode: 1, Enrolment: 1, ContractID: contractA, OperatorID: "op-evreux", To: exited.ExitDate, Reason: domain.EndPathwayExit, Territory: "T05"}, reentered},
			when:  enrol(accompaniment, domain.KindAccompaniment, today),
			then: []domain.Event{domain.LearnerEnrolled{
				LearnerID: "l-1", Episode: 2, Enrolment: 2, ContractID: contractA, OperatorID: "op-evreux",
				Kind: domain.KindAccompaniment, From: today, Territory: "T05", Programme: domain.FundingAvenir,
			}},
		},
		{
			name:  "enrolled with two contracts at once",
			given: []domain.Event{entered, enrolled},
			when:  enrol(domain.Contract{ID: contractB, OperatorID: "op-clps", Territories: []string{"T05"}, From: day(2026, 1, 1), To: day(2026, 12, 31), Programme: domain.FundingOther, Known: true}, domain.KindSavoirs, today),
			then: []domain.Event{domain.LearnerEnrolled{
				LearnerID: "l-1", Episode: 1, Enrolment: 2, ContractID: contractB, OperatorID: "op-clps",
				Kind: domain.KindSavoirs, From: today, Territory: "T05", Programme: domain.FundingOther,
			}},
		},
		{
			name:     "a second open enrolment on the same contract",
			given:    []domain.Event{entered, enrolled},
			when:     enrol(accompaniment, domain.KindWorkshops, today),
			wantKind: apperr.KindAlreadyExists,
			wantMeta: map[string]string{"enrolment_number": "1"},
		},
		{
			name:       "the learner's territory is not in the lot",
			given:      []domain.Event{entered},
			when:       enrol(qualifT01, domain.KindQualif, today),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonTerritoryNotInLot,
		},
		{
			name:       "a contract pathway does not know yet",
			given:      []domain.Event{entered},
			when:       enrol(unknown, domain.KindQualif, today),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonContractUnknown,
		},
		{
			name:       "no open episode: exited",
			given:      []domain.Event{entered, exited},
			when:       enrol(accompaniment, domain.KindAccompaniment, today),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonNotInPathway,
		},
		{
			name:       "no open episode: never entered",
			when:       enrol(accompaniment, domain.KindAccompaniment, today),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonNotInPathway,
		},
		{
			name:       "before the entry of the open episode",
			given:      []domain.Event{entered},
			when:       enrol(accompaniment, domain.KindAccompaniment, day(2026, 11, 19)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"from_date"},
		},
		{
			name:       "after the contract's period",
			given:      []domain.Event{entered},
			when:       enrol(shortContract, domain.KindAccompaniment, day(2026, 12, 1)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"from_date"},
		},
		{
			name:       "before the contract's period",
			given:      []domain.Event{entered},
			when:       enrol(domain.Contract{ID: contractB, OperatorID: "op-x", Territories: []string{"T05"}, From: day(2026, 12, 1), To: day(2027, 12, 31), Known: true}, domain.KindSavoirs, today),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"from_date"},
		},
		{
			name:       "more than 90 days after today",
			given:      []domain.Event{entered},
			when:       enrol(qualifT01, domain.KindQualif, today.AddDays(91)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"from_date"},
		},
		{
			name:       "every problem at once",
			given:      []domain.Event{entered},
			when:       enrol(domain.Contract{ID: "c-1"}, "", civil.Date{}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"contract_id", "kind", "from_date"},
		},
		{
			name:       "an impossible date and an unknown kind",
			given:      []domain.Event{entered},
			when:       enrol(accompaniment, "coaching", day(2026, 2, 30)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"kind", "from_date"},
		},
		{
			name:       "after the period and too far ahead: each said",
			given:      []domain.Event{entered},
			when:       enrol(shortContract, domain.KindAccompaniment, day(2027, 3, 1)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"from_date", "from_date"},
		},
	})
}

func TestDecideEndEnrolment(t *testing.T) {
	end := func(n int, to civil.Date) domain.EndEnrolment {
		return domain.EndEnrolment{LearnerID: "l-1", Number: n, To: to, Today: today}
	}
	endedOn := func(to civil.Date, reason domain.EndReason) domain.EnrolmentEnded {
		return domain.EnrolmentEnded{
			LearnerID: "l-1", Episode: 1, Enrolment: 1, ContractID: contractA, OperatorID: "op-evreux", To: to, Reason: reason, Territory: "T05",
		}
	}
	future := enrolled
	future.From = today.AddDays(10)
	runDecide(t, []decideCase{
		{
			name:  "an open enrolment ends today",
			given: []domain.Event{entered, enrolled},
			when:  end(1, today),
			then:  []domain.Event{endedOn(today, domain.EndEnded)},
		},
		{
			name:  "on its first day",
			given: []domain.Event{entered, enrolled},
			when:  end(1, enrolled.From),
			then:  []domain.Event{endedOn(enrolled.From, domain.EndEnded)},
		},
		{
			name:  "the day before its first day cancels it",
			given: []domain.Event{entered, enrolled},
			when:  end(1, enrolled.From.AddDays(-1)),
			then:  []domain.Event{endedOn(enrolled.From.AddDays(-1), domain.EndEnded)},
		},
		{
			name:  "an enrolment starting in ten days is cancelled the day before its first day",
			given: []domain.Event{entered, future},
			when:  end(1, future.From.AddDays(-1)),
			then:  []domain.Event{endedOn(future.From.AddDays(-1), domain.EndEnded)},
		},
		{
			name:       "an enrolment starting in ten days cannot end on its first day yet",
			given:      []domain.Event{entered, future},
			when:       end(1, future.From),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"to_date"},
		},
		{
			name:       "two days before its first day",
			given:      []domain.Event{entered, enrolled},
			when:       end(1, enrolled.From.AddDays(-2)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"to_date"},
		},
		{
			name:       "in the future",
			given:      []domain.Event{entered, enrolled},
			when:       end(1, today.AddDays(1)),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"to_date"},
		},
		{
			name:       "every problem at once",
			given:      []domain.Event{entered, enrolled},
			when:       end(0, civil.Date{}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"enrolment_number", "to_date"},
		},
		{
			name:     "an enrolment the learner does not have",
			given:    []domain.Event{entered, enrolled},
			when:     end(2, today),
			wantKind: apperr.KindNotFound,
		},
		{
			name:       "an enrolment already ended",
			given:      []domain.Event{entered, enrolled, endedOn(day(2026, 11, 22), domain.EndEnded)},
			when:       end(1, today),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonEnrolmentEnded,
		},
		{
			name:       "an enrolment the exit ended",
			given:      []domain.Event{entered, enrolled, exited, endedOn(exited.ExitDate, domain.EndPathwayExit)},
			when:       end(1, today),
			wantKind:   apperr.KindFailedPrecondition,
			wantReason: domain.ReasonEnrolmentEnded,
		},
	})
}

func TestExitEndsTheOpenEnrolments(t *testing.T) {
	exit := func(d civil.Date) domain.ExitPathway {
		return domain.ExitPathway{LearnerID: "l-1", ExitDate: d, Reason: domain.ExitRelocation, Today: today}
	}
	second := domain.LearnerEnrolled{
		LearnerID: "l-1", Episode: 1, Enrolment: 2, ContractID: contractB, OperatorID: "op-clps",
		Kind: domain.KindSavoirs, From: day(2026, 11, 23), Territory: "T05", Programme: domain.FundingOther,
	}
	third := domain.LearnerEnrolled{
		LearnerID: "l-1", Episode: 1, Enrolment: 3, ContractID: "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a03", OperatorID: "op-x",
		Kind: domain.KindImmersionHost, From: day(2026, 12, 10), Territory: "T05",
	}
	endedEarlier := domain.EnrolmentEnded{
		LearnerID: "l-1", Episode: 1, Enrolment: 1, ContractID: contractA, OperatorID: "op-evreux", To: day(2026, 11, 21), Reason: domain.EndEnded, Territory: "T05",
	}
	onExit := func(e domain.LearnerEnrolled, to civil.Date) domain.EnrolmentEnded {
		return domain.EnrolmentEnded{
			LearnerID: "l-1", Episode: 1, Enrolment: e.Enrolment, ContractID: e.ContractID, OperatorID: e.OperatorID,
			To: to, Reason: domain.EndPathwayExit, Territory: "T05",
		}
	}
	runDecide(t, []decideCase{
		{
			name:  "an exit today ends every open enrolment today, one that has not started the day before its first day",
			phase: domain.PhaseExited,
			given: []domain.Event{entered, enrolled, second, third},
			when:  exit(today),
			then: []domain.Event{
				domain.PathwayExited{LearnerID: "l-1", Episode: 1, EntryDate: entered.EntryDate, ExitDate: today, Reason: domain.ExitRelocation, Territory: "T05"},
				onExit(enrolled, today), onExit(second, today), onExit(third, day(2026, 12, 9)),
			},
		},
		{
			name:  "a back-dated exit ends them on its date, those started after it the day before their first day; the notice comes last",
			phase: domain.PhaseExited,
			given: []domain.Event{entered, enrolled, endedEarlier, second},
			when:  exit(day(2026, 11, 22)),
			then: []domain.Event{
				exited,
				onExit(second, day(2026, 11, 22)),
				domain.ExitBackdated{LearnerID: "l-1", Episode: 1, ExitDate: day(2026, 11, 22), RecordedOn: today, Territory: "T05"},
			},
		},
	})

	// Once the exit is folded, no enrolment is open, and the enrolments
	// end where they should.
	p := fold(entered, enrolled, second, third)
	evs, err := domain.Decide(p, exit(day(2026, 11, 22)))
	if err != nil {
		t.Fatal(err)
	}
	after := fold(append([]domain.Event{entered, enrolled, second, third}, evs...)...)
	var tos []civil.Date
	for _, en := range after.Episodes[0].Enrolments {
		if en.Open() || en.EndReason != domain.EndPathwayExit {
			t.Fatalf("after the exit: %+v", en)
		}
		tos = append(tos, en.To)
	}
	if want := []civil.Date{day(2026, 11, 22), day(2026, 11, 22), day(2026, 12, 9)}; !reflect.DeepEqual(tos, want) {
		t.Fatalf("enrolments end on %v, want %v", tos, want)
	}
}

func fold(evs ...domain.Event) domain.Pathway {
	var p domain.Pathway
	for _, e := range evs {
		p = domain.Evolve(p, e)
	}
	return p
}

func TestEnrolmentsChangeNeitherThePhaseNorThePast(t *testing.T) {
	p := fold(entered, referred)
	a := domain.Evolve(p, enrolled)
	b := domain.Evolve(a, domain.EnrolmentEnded{LearnerID: "l-1", Episode: 1, Enrolment: 1, To: today, Reason: domain.EndEnded})
	if p.Phase() != a.Phase() || a.Phase() != b.Phase() || a.Phase() != domain.PhaseBuildingProject {
		t.Fatalf("phases %q %q %q", p.Phase(), a.Phase(), b.Phase())
	}
	if len(p.Episodes[0].Enrolments) != 0 || !a.Episodes[0].Enrolments[0].Open() || b.Episodes[0].Enrolments[0].To != today {
		t.Fatalf("folding futures changed the past: %+v %+v %+v", p.Episodes, a.Episodes, b.Episodes)
	}
	want := domain.Enrolment{
		Number: 1, ContractID: contractA, OperatorID: "op-evreux", Kind: domain.KindAccompaniment,
		Programme: domain.FundingAvenir, From: enrolled.From,
	}
	if got := a.Episodes[0].Enrolments[0]; got != want {
		t.Fatalf("enrolment %+v, want %+v", got, want)
	}
}

func TestEnrolmentCovers(t *testing.T) {
	open := domain.Enrolment{From: day(2026, 11, 10)}
	closed := domain.Enrolment{From: day(2026, 11, 10), To: day(2026, 11, 20)}
	cancelled := domain.Enrolment{From: day(2026, 11, 10), To: day(2026, 11, 9)}
	for _, tc := range []struct {
		en   domain.Enrolment
		on   civil.Date
		want bool
	}{
		{open, day(2026, 11, 9), false},
		{open, day(2026, 11, 10), true},
		{open, day(2027, 1, 1), true},
		{closed, day(2026, 11, 20), true}, // its last day
		{closed, day(2026, 11, 21), false},
		{cancelled, day(2026, 11, 9), false},
		{cancelled, day(2026, 11, 10), false},
	} {
		if got := tc.en.Covers(tc.on); got != tc.want {
			t.Errorf("%+v covers %s: %v, want %v", tc.en, tc.on, got, tc.want)
		}
	}
}

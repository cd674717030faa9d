package domain_test

import (
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// Whatever the input, commands on a pathway with history never panic, are
// refused with a kind a caller can act upon, and never produce an episode
// (or an enrolment) that breaks the rules. The programme doubles as an
// enrolment's kind, the referral number as an enrolment's.
func FuzzDecide(f *testing.F) {
	f.Add(2026, 11, 20, "health", "", "qualif", "AFPA", 1, "accepted")
	f.Add(2026, 11, 27, "other", " ", "", "", 0, "")
	f.Add(1899, 13, 40, "bored", "x", "savoirs", "CLPS", 7, "maybe")
	f.Add(2026, 11, 22, "other", "détail", "other", "Org", 2, "started")
	f.Add(2026, 11, 21, "other", "x\u202ey", "qualif", "A\u202eB", 1, "accepted")
	f.Add(2026, 11, 21, "health", "a\nb\x00", "savoirs", "A\tB", 1, "refused")
	f.Add(2026, 11, 21, "relocation", "", "accompaniment", "CLPS", 1, "")
	f.Add(2027, 2, 24, "health", "", "immersion_host", "", 2, "")
	f.Add(2026, 11, 20, "health", "", "workshops", "", 1, "")
	f.Add(2026, 11, 26, "qualifying_training", "", "employment", "RNCP35467", 1, "completed_certified")
	f.Add(2027, 5, 22, "other_training", "", "training", "RNCP", 1, "carry_over")
	f.Fuzz(func(t *testing.T, y, m, d int, reason, detail, programme, org string, referral int, outcome string) {
		on := civil.Date{Year: y, Month: time.Month(m), Day: d}
		endedOnExit := domain.EnrolmentEnded{
			LearnerID: "l-1", Episode: 1, Enrolment: 1, ContractID: contractA, OperatorID: "op-evreux",
			To: exited.ExitDate, Reason: domain.EndPathwayExit, Territory: "T05",
		}
		histories := [][]domain.Event{
			nil, {entered}, {entered, referred}, {entered, referred, accepted}, {entered, exited},
			{entered, enrolled}, {entered, enrolled, exited, endedOnExit}, {entered, enrolled, exited, endedOnExit, reentered},
			{entered, referred, accepted, savoirs, exitedToQualif},
		}
		commands := []domain.Command{
			domain.EnterPathway{Learner: learner, EntryDate: on, Today: today},
			domain.ExitPathway{LearnerID: "l-1", ExitDate: on, Reason: domain.ExitReason(reason), Detail: detail, Today: today},
			domain.RecordReferral{LearnerID: "l-1", Programme: domain.Programme(programme), Date: on, Organisation: org, Today: today},
			domain.RecordReferralOutcome{LearnerID: "l-1", Referral: referral, Outcome: domain.Outcome(outcome), Date: on, Today: today},
			domain.Enrol{LearnerID: "l-1", Contract: accompaniment, Kind: domain.EnrolmentKind(programme), From: on, Today: today},
			domain.Enrol{LearnerID: "l-1", Contract: qualifT01, Kind: domain.EnrolmentKind(programme), From: on, Today: today},
			domain.Enrol{LearnerID: "l-1", Contract: domain.Contract{ID: contractB}, Kind: domain.EnrolmentKind(programme), From: on, Today: today},
			domain.EndEnrolment{LearnerID: "l-1", Number: referral, To: on, Today: today},
			domain.ExitPathway{LearnerID: "l-1", ExitDate: on, Reason: domain.ExitReason(reason), Today: today, Pending: domain.PendingChoice(outcome)},
			domain.RecordReferralOutcome{LearnerID: "l-1", Referral: referral, Outcome: domain.Outcome(outcome), Date: on, Today: today, RNCP: org, CertifiedOn: on},
			domain.RecordFollowUp{LearnerID: "l-1", Situation: domain.Situation6(programme), Employment: domain.EmploymentType(outcome), Today: on},
		}
		for _, h := range histories {
			var p domain.Pathway
			for _, e := range h {
				p = domain.Evolve(p, e)
			}
			for _, cmd := range commands {
				evs, err := domain.Decide(p, cmd)
				if err != nil {
					switch apperr.KindOf(err) {
					case apperr.KindInvalidArgument, apperr.KindFailedPrecondition, apperr.KindNotFound, apperr.KindAlreadyExists:
					default:
						t.Fatalf("%T: error of kind %v: %v", cmd, apperr.KindOf(err), err)
					}
					continue
				}
				after := p
				for _, e := range evs {
					after = domain.Evolve(after, e)
				}
				checkEpisodes(t, after)
			}
		}
	})
}

// checkEpisodes asserts the pathway invariants: real dates, not in the
// future, episodes in order without overlap, one open at most (the last);
// enrolments numbered from 1 in order, starting within their episode and
// at most 90 days ahead, ending not before the day before their first day
// and not after today (but to cancel one not started), one open at most per
// contract, none open in a closed episode nor past its exit.
func checkEpisodes(t *testing.T, p domain.Pathway) {
	t.Helper()
	number := 0
	for _, e := range p.Episodes {
		openContracts := map[string]bool{}
		for _, en := range e.Enrolments {
			number++
			cancelled := en.To == en.From.AddDays(-1)
			switch {
			case en.Number != number, !en.Kind.Valid(), !en.From.Valid(), en.From.Before(e.Entry), en.From.After(today.AddDays(domain.MaxEnrolmentLeadDays)):
				t.Fatalf("enrolment %+v in %+v", en, e)
			case en.Open() && (!e.Open() || openContracts[en.ContractID]):
				t.Fatalf("enrolment %+v open in %+v", en, e)
			case !en.Open() && (en.To.Before(en.From.AddDays(-1)) || (en.To.After(today) && !cancelled)):
				t.Fatalf("enrolment %+v ends out of bounds", en)
			case !e.Open() && !cancelled && en.To.After(e.Exit):
				t.Fatalf("enrolment %+v ends after the exit of %+v", en, e)
			}
			openContracts[en.ContractID] = openContracts[en.ContractID] || en.Open()
		}
	}
	for i, e := range p.Episodes {
		if !e.Entry.Valid() || e.Entry.After(today) || (!e.Open() && (!e.Exit.Valid() || e.Exit.Before(e.Entry) || e.Exit.After(today))) {
			t.Fatalf("episode %+v", e)
		}
		if i > 0 && (p.Episodes[i-1].Open() || !e.Entry.After(p.Episodes[i-1].Exit)) {
			t.Fatalf("episodes overlap: %+v", p.Episodes)
		}
		// What people typed is stored only when it displays as it reads.
		if problem := text.Problem(e.ExitDetail, text.Rule{Kind: text.Block, Max: domain.MaxExitDetailLength}); problem != "" {
			t.Fatalf("exit detail %q: %s", e.ExitDetail, problem)
		}
		for _, r := range e.Referrals {
			if !r.Date.Valid() || r.Date.Before(e.Entry) || !r.Programme.Valid() {
				t.Fatalf("referral %+v in %+v", r, e)
			}
			if problem := text.Problem(r.Organisation, text.Rule{Kind: text.Line, Max: domain.MaxOrganisationLength, Required: true}); problem != "" {
				t.Fatalf("organisation %q: %s", r.Organisation, problem)
			}
		}
	}
}

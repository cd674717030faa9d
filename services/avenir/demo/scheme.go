package demo

import (
	"slices"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// The scheme seen whole, as the simulation counts it from what it did:
// the figures pathway's GetProgrammeTargets, GetBreakdowns and GetOutcomes
// must give for the run (services/e2e compares them).

// Last is the last simulated day.
func (w *World) Last() civil.Date { return w.From.AddDays(w.Days - 1) }

// Beneficiaries are the distinct beneficiaries of a programme in a
// calendar year.
type Beneficiaries struct {
	Programme commonv1.FundingProgramme
	Year      int
	Learners  int
	// ByTerritory: each learner in its territory.
	ByTerritory map[string]int
}

// Beneficiaries counts, for each calendar year the run meets, the distinct
// beneficiaries of #Avenir and #Action as pathway.proto's ProgrammeProgress
// defines them, in the months reported on the last simulated day (those of
// the year up to that day's month): for #Avenir, the learners in the
// pathway on at least one day of the year (their episodes as recorded,
// late exits at their date); for #Action, the learners with a place
// (booked or promoted, not cancelled) in a session starting in the year,
// in those months. Each learner counts once a year, in its territory.
func (w *World) Beneficiaries() []Beneficiaries {
	last := w.Last()
	var out []Beneficiaries
	for year := w.From.Year; year <= last.Year; year++ {
		first, end := civil.Date{Year: year, Month: 1, Day: 1}, civil.Date{Year: year, Month: 12, Day: 31}
		avenir := map[string]string{} // learner id -> territory
		for _, l := range w.Learners {
			for _, e := range l.Episodes {
				if !e.Entry.After(end) && (e.Exit.IsZero() || !e.Exit.Before(first)) {
					avenir[l.ID] = l.Territory
				}
			}
		}
		action := map[string]string{}
		for _, ss := range w.Sessions {
			if ss.From.Year != year || civil.MonthOf(ss.From).Compare(civil.MonthOf(last)) > 0 {
				continue
			}
			for _, id := range ss.Places {
				if l := w.learner(id); l != nil {
					action[id] = l.Territory
				}
			}
		}
		out = append(out, beneficiaries(commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR, year, avenir),
			beneficiaries(commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION, year, action))
	}
	return out
}

func beneficiaries(p commonv1.FundingProgramme, year int, learners map[string]string) Beneficiaries {
	b := Beneficiaries{Programme: p, Year: year, Learners: len(learners), ByTerritory: map[string]int{}}
	for _, t := range learners {
		b.ByTerritory[t]++
	}
	return b
}

// Public counts episodes entered by the public intake recorded of their
// learner.
type Public struct {
	Entries             int
	RQTH, QPV, ZRR, RSA int
	// AgeBands: by the learner's age on the entry day.
	AgeBands  map[pathwayv1.AgeBand]int
	Education map[intakev1.EducationLevel]int
}

// Entries counts the episodes entered during the run (first entries and
// re-entries, each once) by public, as pathway's GetBreakdowns does over
// the months of the run.
func (w *World) Entries() Public {
	p := Public{AgeBands: map[pathwayv1.AgeBand]int{}, Education: map[intakev1.EducationLevel]int{}}
	for _, l := range w.Learners {
		for _, e := range l.Episodes {
			p.Entries++
			for _, c := range []struct {
				set bool
				n   *int
			}{{l.RQTH, &p.RQTH}, {l.QPV, &p.QPV}, {l.ZRR, &p.ZRR}, {l.RSA, &p.RSA}} {
				if c.set {
					*c.n++
				}
			}
			p.AgeBands[ageBand(l.Born, e.Entry)]++
			if l.Education != intakev1.EducationLevel_EDUCATION_LEVEL_UNSPECIFIED {
				p.Education[l.Education]++
			}
		}
	}
	return p
}

// ageBand is the band of employment policy of someone born on birth, on
// day on.
func ageBand(birth, on civil.Date) pathwayv1.AgeBand {
	switch age := birth.YearsOn(on); {
	case age < 26:
		return pathwayv1.AgeBand_AGE_BAND_UNDER_26
	case age < 50:
		return pathwayv1.AgeBand_AGE_BAND_26_TO_49
	}
	return pathwayv1.AgeBand_AGE_BAND_50_AND_OVER
}

// ExitsByOperator counts the exits of the run by the operator of the
// accompaniment the exit ended, then by reason, as pathway's GetOutcomes
// groups them ("" for an exit without one).
func (w *World) ExitsByOperator() map[string]map[pathwayv1.ExitReason]int {
	out := map[string]map[pathwayv1.ExitReason]int{}
	for _, l := range w.Learners {
		for _, ep := range l.Episodes {
			if ep.Exit.IsZero() {
				continue
			}
			op, number := "", int32(0)
			for _, e := range l.Enrolments {
				if e.Episode == ep.Number && e.Kind == pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT && e.ByExit &&
					!e.From.After(ep.Exit) && e.Number > number {
					op, number = e.OperatorID, e.Number
				}
			}
			if out[op] == nil {
				out[op] = map[pathwayv1.ExitReason]int{}
			}
			out[op][ep.ExitReason]++
		}
	}
	return out
}

// Immersions counts immersion outcomes recorded.
type Immersions struct {
	WithOutcome, Completed, Partial int
}

// ImmersionsByHost counts the immersion outcomes recorded during the run
// by the operator hosting the session (hosts without any left out).
func (w *World) ImmersionsByHost() map[string]Immersions {
	out := map[string]Immersions{}
	for _, ss := range w.Sessions {
		if ss.RecordedOn.IsZero() || len(ss.Outcomes) == 0 {
			continue
		}
		n := out[ss.OperatorID]
		for _, o := range ss.Outcomes {
			n.WithOutcome++
			switch o {
			case "completed":
				n.Completed++
			case "partially-completed":
				n.Partial++
			}
		}
		out[ss.OperatorID] = n
	}
	return out
}

// contractsOf lists the contracts of a programme.
func (w *World) contractsOf(p commonv1.FundingProgramme) []*Contract {
	return slices.DeleteFunc(slices.Clone(w.Contracts), func(c *Contract) bool { return c.Programme != p })
}

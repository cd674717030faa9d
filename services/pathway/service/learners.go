package service

import (
	"context"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The learners read model (learnersProjection): what pathway knows of the
// learners intake registered, from intake's events. Only what pathway's
// rules and figures need: the territory, the birth and registration dates,
// and the public the breakdowns count (RQTH, a special-category fact, RSA,
// QPV, ZRR, education level) with the date each situation applies from;
// never names nor contact. No answer shows the public learner by learner.
// When intake erases a learner (LearnerErased), its birth date and
// situations are dropped: its territory and registration date stay, with
// the day of the erasure. Rebuilt after the erasure, from events whose
// personal fields read empty (event.Event.Erased), the read model holds
// the same.
//
//	learner:<learner id>   storedLearner, JSON
var learnerSubjects = append([]string{"avenir.intake.learner.*.registered", "avenir.intake.learner.*.situation_updated"},
	intakecontract.ErasedSubjects...)

func learnerKey(id string) string { return "learner:" + id }

type storedLearner struct {
	Territory    string `json:"territory"`
	BirthDate    string `json:"birth_date,omitempty"`
	RegisteredOn string `json:"registered_on,omitempty"`
	// Situations: the registration's, then each change, in stream order
	// (intake dates each change on or after the previous one).
	Situations []storedSituation `json:"situations,omitempty"`
	// Erased: intake erased the learner's personal data, on ErasedOn.
	Erased   bool   `json:"erased,omitempty"`
	ErasedOn string `json:"erased_on,omitempty"`
}

type storedSituation struct {
	From      string `json:"from,omitempty"`
	RQTH      bool   `json:"rqth,omitempty"`
	RSA       bool   `json:"rsa,omitempty"`
	QPV       bool   `json:"qpv,omitempty"`
	ZRR       bool   `json:"zrr,omitempty"`
	Education string `json:"education,omitempty"`
}

// dateText is a stored date: YYYY-MM-DD, "" for the zero date.
func dateText(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// textDate reads a stored date; a missing or unreadable one is the zero
// date.
func textDate(s string) civil.Date {
	d, err := civil.Parse(s)
	if err != nil {
		return civil.Date{}
	}
	return d
}

func situationOf(from civil.Date, rqth bool, sit *intakev1.Situation) storedSituation {
	return storedSituation{
		From: dateText(from), RQTH: rqth, RSA: sit.GetRsaRecipient(), QPV: sit.GetQpvResident(), ZRR: sit.GetZrrResident(),
		Education: string(platform.FromWire(educationLevels, sit.GetEducationLevel())),
	}
}

// projectLearner keeps a learner's registration, then each change of its
// situation.
func (s *Service) projectLearner(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		id      string
		learner storedLearner
	)
	switch m := ev.Data.(type) {
	case *intakev1.LearnerRegistered:
		id = m.GetLearnerId()
		on := civilpb.Date(m.GetRegisteredOn())
		learner = storedLearner{
			Territory: m.GetTerritoryCode(), BirthDate: dateText(civilpb.Date(m.GetBirthDate())), RegisteredOn: dateText(on),
			Situations: []storedSituation{situationOf(on, m.GetRqth(), m.GetSituation())},
		}
	case *intakev1.LearnerSituationUpdated:
		id = m.GetLearnerId()
		stored, found, err := projection.GetJSON[storedLearner](ctx, s.store, learnersProjection, learnerKey(id))
		if err != nil || !found || stored.Erased {
			return nil, err // a change without its registration, or after the erasure, changes nothing known
		}
		learner = stored
		learner.Situations = append(learner.Situations, situationOf(civilpb.Date(m.GetEffectiveOn()), m.GetRqth(), m.GetSituation()))
	default:
		erasure, ok := intakecontract.ErasureOf(ev.Data)
		if !ok {
			return nil, nil
		}
		id = erasure.LearnerID
		stored, found, err := projection.GetJSON[storedLearner](ctx, s.store, learnersProjection, learnerKey(id))
		if err != nil {
			return nil, err
		}
		if !found {
			stored = storedLearner{Territory: erasure.TerritoryCode}
		}
		learner = stored.erased(civilpb.Date(erasure.ErasedOn))
	}
	op, err := projection.PutJSON(learnerKey(id), learner)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

// erased is what stays of the learner once its personal data is erased
// on day on: no birth date, no situation.
func (sl storedLearner) erased(on civil.Date) storedLearner {
	return storedLearner{Territory: sl.Territory, RegisteredOn: sl.RegisteredOn, Erased: true, ErasedOn: dateText(on)}
}

func (sl storedLearner) learner(id string) domain.Learner {
	l := domain.Learner{
		ID: id, Territory: sl.Territory, BirthDate: textDate(sl.BirthDate), RegisteredOn: textDate(sl.RegisteredOn), Known: true,
		Erased: sl.Erased,
	}
	for _, st := range sl.Situations {
		l.Situations = append(l.Situations, domain.Situation{
			From: textDate(st.From), RQTH: st.RQTH, RSA: st.RSA, QPV: st.QPV, ZRR: st.ZRR, Education: domain.EducationLevel(st.Education),
		})
	}
	return l
}

// learner reads what pathway knows of a learner from intake's events;
// Known is false until its registration has been seen.
func (s *Service) learner(ctx context.Context, id string) (domain.Learner, error) {
	ls, err := s.learners(ctx, []string{id})
	if err != nil {
		return domain.Learner{}, err
	}
	return ls[0], nil
}

// learners is learner for several learners, in order.
func (s *Service) learners(ctx context.Context, ids []string) ([]domain.Learner, error) {
	stored, err := projection.GetManyJSONOf[storedLearner](ctx, s.store, learnersProjection, ids, learnerKey)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Learner, len(ids))
	for i, sl := range stored {
		if sl == nil {
			out[i] = domain.Learner{ID: ids[i]}
			continue
		}
		out[i] = sl.learner(ids[i])
	}
	return out, nil
}

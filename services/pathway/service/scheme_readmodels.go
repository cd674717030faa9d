package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The read models behind the scheme's figures (scheme.go). Each follows one
// stream; the figures join them when asked, so they are the same whatever
// the order in which the streams were read.

// The episodes read model (episodesProjection), from PATHWAY: one record
// per episode, with the accompaniment enrolments of the episode (the
// outcomes' operator), indexed by the month of its entry and of its exit:
//
//	episode:<learner id>/<number>   storedEpisode, JSON
//	index entered   <YYYY-MM>/<learner id>/<number>, by entry date
//	index exited    <YYYY-MM>/<learner id>/<number>, by exit date
//	index open      <learner id>/<number>, while the episode is open
//
// Numbers are zero-padded so that they sort as numbers.
var episodeSubjects = []string{
	"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited",
	"avenir.pathway.pathway.*.enrolled", "avenir.pathway.pathway.*.enrolment_ended",
	"avenir.pathway.pathway.*.follow_up_recorded",
}

const (
	enteredIndex = "entered"
	exitedIndex  = "exited"
	openIndex    = "open"
)

func episodeTail(learnerID string, number int) string {
	return fmt.Sprintf("%s/%06d", learnerID, number)
}

func episodeKey(tail string) string { return "episode:" + tail }

// monthMember is an index member of the month of d: <YYYY-MM>/<tail>.
func monthMember(d civil.Date, tail string) string { return civil.MonthOf(d).String() + "/" + tail }

// monthTail is the tail of a month member.
func monthTail(member string) string {
	_, tail, _ := strings.Cut(member, "/")
	return tail
}

type storedEpisode struct {
	Learner   string `json:"learner"`
	Territory string `json:"territory"`
	Number    int    `json:"number"`
	Entry     string `json:"entry"`
	Exit      string `json:"exit,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Accompaniments are the episode's accompaniment enrolments (no other
	// kind: the outcomes only need those).
	Accompaniments []storedAccompaniment `json:"accompaniments,omitempty"`
	// FollowUp and Employment: the six-month follow-up of the exit, once
	// recorded.
	FollowUp   string `json:"follow_up,omitempty"`
	Employment string `json:"employment,omitempty"`
}

type storedAccompaniment struct {
	Number    int    `json:"number"`
	Operator  string `json:"operator"`
	From      string `json:"from"`
	To        string `json:"to,omitempty"`
	EndReason string `json:"end_reason,omitempty"`
}

// episode is the domain's view of the record.
func (se storedEpisode) episode() domain.Episode {
	ep := domain.Episode{
		Number: se.Number, Entry: textDate(se.Entry), Exit: textDate(se.Exit), ExitReason: domain.ExitReason(se.Reason),
		FollowUp: domain.FollowUp{Situation: domain.Situation6(se.FollowUp), Employment: domain.EmploymentType(se.Employment)},
	}
	for _, a := range se.Accompaniments {
		ep.Enrolments = append(ep.Enrolments, domain.Enrolment{
			Number: a.Number, OperatorID: a.Operator, Kind: domain.KindAccompaniment,
			From: textDate(a.From), To: textDate(a.To), EndReason: domain.EndReason(a.EndReason),
		})
	}
	return ep
}

// projectEpisode records an entry, the accompaniments of the episode, and
// its exit.
func (s *Service) projectEpisode(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	e, ok := pathwayKind.Decode(ev)
	if !ok {
		return nil, nil
	}
	var (
		learner string
		number  int
	)
	switch e := e.(type) {
	case domain.PathwayEntered:
		tail := episodeTail(e.LearnerID, e.Episode)
		op, err := projection.PutJSON(episodeKey(tail), storedEpisode{
			Learner: e.LearnerID, Territory: e.Territory, Number: e.Episode, Entry: dateText(e.EntryDate),
		})
		if err != nil {
			return nil, err
		}
		return []projection.Op{op, projection.IndexAdd(enteredIndex, monthMember(e.EntryDate, tail)), projection.IndexAdd(openIndex, tail)}, nil
	case domain.PathwayExited:
		learner, number = e.LearnerID, e.Episode
	case domain.LearnerEnrolled:
		if e.Kind != domain.KindAccompaniment {
			return nil, nil
		}
		learner, number = e.LearnerID, e.Episode
	case domain.EnrolmentEnded:
		learner, number = e.LearnerID, e.Episode
	case domain.FollowUpRecorded:
		learner, number = e.LearnerID, e.Episode
	default:
		return nil, nil
	}
	tail := episodeTail(learner, number)
	rec, found, err := projection.GetJSON[storedEpisode](ctx, s.store, episodesProjection, episodeKey(tail))
	if err != nil || !found {
		return nil, err // a fact of an episode never entered changes nothing
	}
	var ops []projection.Op
	switch e := e.(type) {
	case domain.PathwayExited:
		rec.Exit, rec.Reason = dateText(e.ExitDate), string(e.Reason)
		ops = append(ops, projection.IndexRemove(openIndex, tail), projection.IndexAdd(exitedIndex, monthMember(e.ExitDate, tail)))
	case domain.LearnerEnrolled:
		rec.Accompaniments = append(rec.Accompaniments, storedAccompaniment{Number: e.Enrolment, Operator: e.OperatorID, From: dateText(e.From)})
	case domain.EnrolmentEnded:
		i := slices.IndexFunc(rec.Accompaniments, func(a storedAccompaniment) bool { return a.Number == e.Enrolment })
		if i < 0 {
			return nil, nil // not an accompaniment
		}
		rec.Accompaniments[i].To, rec.Accompaniments[i].EndReason = dateText(e.To), string(e.Reason)
	case domain.FollowUpRecorded:
		rec.FollowUp, rec.Employment = string(e.Situation), string(e.Employment)
	}
	op, err := projection.PutJSON(episodeKey(tail), rec)
	if err != nil {
		return nil, err
	}
	return append([]projection.Op{op}, ops...), nil
}

// episodes reads the records of tails (<learner id>/<number>), skipping
// those it does not hold.
func (s *Service) episodes(ctx context.Context, tails []string) ([]storedEpisode, error) {
	stored, err := projection.GetManyJSONOf[storedEpisode](ctx, s.store, episodesProjection, tails, episodeKey)
	return present(stored), err
}

// The immersions read model (immersionsProjection), from IMMERSION: the
// places booked, by the month their session starts (the #Action
// beneficiaries), and the outcomes recorded, by the month they were
// recorded in (the outcomes):
//
//	place:<session id>/<learner id>     storedPlace, JSON
//	outcome:<session id>/<learner id>   storedOutcome, JSON
//	index starts     <YYYY-MM>/<session id>/<learner id>, by the session's first day
//	index outcomes   <YYYY-MM>/<session id>/<learner id>, by the day recorded
var immersionSubjects = []string{
	"avenir.immersion.session.*.booked", "avenir.immersion.session.*.booking_cancelled", "avenir.immersion.session.*.outcome_recorded",
}

const (
	startsIndex   = "starts"
	outcomesIndex = "outcomes"
)

func placeTail(sessionID, learnerID string) string { return sessionID + "/" + learnerID }

func placeKey(tail string) string { return "place:" + tail }

func outcomeKey(tail string) string { return "outcome:" + tail }

type storedPlace struct {
	Learner  string `json:"learner"`
	Operator string `json:"operator"`
	// From is the session's first day.
	From string `json:"from"`
	// Booked is false once the booking was cancelled (until the learner
	// books the session again).
	Booked bool `json:"booked"`
}

type storedOutcome struct {
	Learner string `json:"learner"`
	// Operator is the session's host.
	Operator string `json:"operator"`
	Status   string `json:"status"`
	// On is the day the outcome was recorded (Europe/Paris).
	On string `json:"on"`
}

// projectImmersion records places booked and cancelled, and outcomes.
func (s *Service) projectImmersion(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	switch m := ev.Data.(type) {
	case *immersionv1.PlaceBooked:
		from := civilpb.Date(m.GetFromDate())
		if from.IsZero() {
			return nil, nil // no session to place in a year
		}
		tail := placeTail(m.GetSessionId(), m.GetLearnerId())
		op, err := projection.PutJSON(placeKey(tail), storedPlace{Learner: m.GetLearnerId(), Operator: m.GetOperatorId(), From: dateText(from), Booked: true})
		if err != nil {
			return nil, err
		}
		return []projection.Op{op, projection.IndexAdd(startsIndex, monthMember(from, tail))}, nil
	case *immersionv1.BookingCancelled:
		if m.GetWasWaitlisted() {
			return nil, nil // a waitlist entry was never a place
		}
		key := placeKey(placeTail(m.GetSessionId(), m.GetLearnerId()))
		place, found, err := projection.GetJSON[storedPlace](ctx, s.store, immersionsProjection, key)
		if err != nil || !found {
			return nil, err
		}
		place.Booked = false
		op, err := projection.PutJSON(key, place)
		if err != nil {
			return nil, err
		}
		return []projection.Op{op}, nil
	case *immersionv1.OutcomeRecorded:
		tail := placeTail(m.GetSessionId(), m.GetLearnerId())
		on := civil.Of(ev.Time)
		ops := []projection.Op{}
		// Immersion records one outcome per place; should another come, it
		// replaces the first, in the month it was recorded.
		prev, found, err := projection.GetJSON[storedOutcome](ctx, s.store, immersionsProjection, outcomeKey(tail))
		if err != nil {
			return nil, err
		}
		if found {
			ops = append(ops, projection.IndexRemove(outcomesIndex, monthMember(textDate(prev.On), tail)))
		}
		op, err := projection.PutJSON(outcomeKey(tail), storedOutcome{
			Learner: m.GetLearnerId(), Operator: m.GetOperatorId(), Status: string(platform.FromWire(immersionStatuses, m.GetStatus())), On: dateText(on),
		})
		if err != nil {
			return nil, err
		}
		return append(ops, op, projection.IndexAdd(outcomesIndex, monthMember(on, tail))), nil
	}
	return nil, nil
}

// The programme years read model (programmeYearsProjection), from
// FUNDING: the beneficiaries target of each programme and year funding set
// (SetProgrammeYear), the latest setting winning.
//
//	year:<programme>/<year>   storedProgrammeYear, JSON
var programmeYearSubjects = []string{"avenir.funding.programme.*.set"}

func programmeYearKey(p domain.FundingProgramme, year int) string {
	return "year:" + string(p) + "/" + strconv.Itoa(year)
}

type storedProgrammeYear struct {
	Target int `json:"target"`
}

func (s *Service) projectProgrammeYear(_ context.Context, ev event.Event) ([]projection.Op, error) {
	set, ok := ev.Data.(*fundingv1.ProgrammeYearSet)
	if !ok {
		return nil, nil
	}
	p := platform.FromWire(fundingProgrammes, set.GetProgramme())
	if p == domain.FundingUnspecified {
		return nil, nil
	}
	op, err := projection.PutJSON(programmeYearKey(p, int(set.GetYear())), storedProgrammeYear{Target: int(set.GetBeneficiariesTarget())})
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

// programmeTarget is the year's beneficiaries target of programme p: as
// funding set it, else the scheme's.
func (s *Service) programmeTarget(ctx context.Context, p domain.FundingProgramme, year int) (int, error) {
	set, found, err := projection.GetJSON[storedProgrammeYear](ctx, s.store, programmeYearsProjection, programmeYearKey(p, year))
	if err != nil || !found {
		return domain.SchemeTarget(p), err
	}
	return set.Target, nil
}

// present is the values read, without the keys that held none.
func present[T any](stored []*T) []T {
	out := make([]T, 0, len(stored))
	for _, v := range stored {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}

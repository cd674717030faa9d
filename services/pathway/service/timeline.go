package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// timelineSource is a stream whose events about learners make their
// timelines. Learner says which learner an event is about ("" for none).
type timelineSource struct {
	Stream         string
	FilterSubjects []string
	Learner        func(event.Event) string
}

// timelineSources are the contexts a learner's timeline gathers. A context
// adds its stream here, in one line: with subjectLearner when its
// aggregates are keyed by learner, with payloadLearner when its events
// carry learner_id.
var timelineSources = []timelineSource{
	{Stream: intakeStream, FilterSubjects: []string{"avenir.intake.learner.*.>"}, Learner: subjectLearner},
	{Stream: Stream, FilterSubjects: []string{
		// What happened, not what pathway derives from it or notes from
		// other contexts (phase_changed, needs_analysis_noted): the
		// timeline shows the analysis itself.
		"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited", "avenir.pathway.pathway.*.exit_backdated",
		"avenir.pathway.pathway.*.referral_recorded", "avenir.pathway.pathway.*.referral_outcome_recorded",
		"avenir.pathway.pathway.*.enrolled", "avenir.pathway.pathway.*.enrolment_ended",
		"avenir.pathway.pathway.*.qualif_follow_up_ended", "avenir.pathway.pathway.*.follow_up_recorded",
	}, Learner: subjectLearner},
	{Stream: needsStream, FilterSubjects: []string{"avenir.needs.analysis.*.>"}, Learner: payloadLearner},
	{Stream: referentStream, FilterSubjects: []string{"avenir.referent.assignment.*.>"}, Learner: subjectLearner},
	{Stream: immersionStream, FilterSubjects: []string{
		"avenir.immersion.session.*.booked", "avenir.immersion.session.*.waitlisted", "avenir.immersion.session.*.booking_cancelled",
		"avenir.immersion.session.*.waitlist_dropped", "avenir.immersion.session.*.outcome_recorded",
	}, Learner: payloadLearner},
}

// subjectLearner reads the learner from the 4th token of the subject:
// avenir.<ctx>.<aggregate>.<learner id>.<event>.
func subjectLearner(ev event.Event) string {
	toks := strings.Split(ev.Subject, ".")
	if len(toks) < 5 {
		return ""
	}
	return toks[3]
}

// payloadLearner reads the learner_id of the event's payload, for contexts
// whose aggregates are not learners (avenir.needs.analysis.<analysis id>...).
func payloadLearner(ev event.Event) string {
	if m, ok := ev.Data.(interface{ GetLearnerId() string }); ok {
		return m.GetLearnerId()
	}
	return ""
}

// projection names the source's read model (and durable consumer):
// pathway-timeline-v4-<stream> (v2 added the briefs, v3 dropped the
// recommended steps of needs analyses from the summaries, v4 added the
// entries' attributes). Each source has its own, because a projection's
// checkpoint is a sequence of one stream.
//
//	event:<sequence>        the TimelineEntry of the event at that sequence
//	brief:<sequence>        what a funder reads of it instead of the entry's
//	                        summary, when that tells more than billing needs
//	index learner:<id>      <position>, one per event about the learner
//
// A position, <time>/<stream>/<sequence>, orders the events of every
// source: by time (UTC, fixed width), then stream and sequence.
func (src timelineSource) projection() string {
	return "pathway-timeline-v4-" + timelineStreamName(src.Stream)
}

// timelineStreamName is how the read models of the timeline spell a
// stream: lower case, hyphens.
func timelineStreamName(stream string) string {
	return strings.ReplaceAll(strings.ToLower(stream), "_", "-")
}

func timelineIndex(learnerID string) string { return "learner:" + learnerID }

func timelineKey(seq uint64) string { return "event:" + strconv.FormatUint(seq, 10) }

func briefKey(seq uint64) string { return "brief:" + strconv.FormatUint(seq, 10) }

const positionTime = "2006-01-02T15:04:05.000000000Z"

func position(ev event.Event) string {
	return fmt.Sprintf("%s/%s/%020d", ev.Time.UTC().Format(positionTime), ev.Stream, ev.Sequence)
}

// parsePosition returns the source and the stream sequence of a position.
func parsePosition(pos string) (timelineSource, uint64, bool) {
	parts := strings.Split(pos, "/")
	if len(parts) != 3 {
		return timelineSource{}, 0, false
	}
	i := slices.IndexFunc(timelineSources, func(src timelineSource) bool { return src.Stream == parts[1] })
	seq, err := strconv.ParseUint(parts[2], 10, 64)
	if i < 0 || err != nil {
		return timelineSource{}, 0, false
	}
	return timelineSources[i], seq, true
}

// projectTimeline records the events of src in their learners' timelines.
func (s *Service) projectTimeline(src timelineSource) func(context.Context, event.Event) ([]projection.Op, error) {
	return func(_ context.Context, ev event.Event) ([]projection.Op, error) {
		learnerID := src.Learner(ev)
		if ident.CheckID(learnerID) != "" {
			return nil, nil // not about one learner
		}
		b, err := proto.Marshal(&pathwayv1.TimelineEntry{
			EventId: ev.ID, Time: timestamppb.New(ev.Time), Source: ev.Source, EventType: ev.Type,
			Actor: ev.Actor, Summary: summary(ev), Stream: ev.Stream, Sequence: ev.Sequence, Attributes: attributes(ev),
		})
		if err != nil {
			return nil, err
		}
		ops := []projection.Op{
			projection.Put(timelineKey(ev.Sequence), b),
			projection.IndexAdd(timelineIndex(learnerID), position(ev)),
		}
		if short, ok := brief(ev); ok {
			ops = append(ops, projection.Put(briefKey(ev.Sequence), []byte(short)))
		}
		return ops, nil
	}
}

// GetTimeline implements pathwayv1.PathwayServiceServer: it merges the
// learner's events of every source, in order.
func (s *Service) GetTimeline(ctx context.Context, req *pathwayv1.GetTimelineRequest) (*pathwayv1.GetTimelineResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "learner_id", req.GetLearnerId())
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint(req.GetLearnerId())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if _, _, ok := parsePosition(after); after != "" && !ok {
		v.Add("page_token", "is not a next_page_token of this timeline")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	learner, err := s.learner(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	if !learner.Known {
		return nil, auth.Denied("learner", req.GetLearnerId())
	}
	scope, err := s.caseload.Scope(ctx, learner.ID, learner.Territory)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !mayRead(caller, scope, s.deps.Today()) {
		return nil, auth.Denied("learner", req.GetLearnerId())
	}
	briefs := readsBriefs(caller)

	// The first size+1 positions of each source after the token hold the
	// first size+1 of all of them.
	var positions []string
	for _, src := range timelineSources {
		got, err := s.store.Range(ctx, src.projection(), timelineIndex(learner.ID), projection.RangeQuery{After: after, Limit: size + 1})
		if err != nil {
			return nil, err
		}
		positions = append(positions, got...)
	}
	slices.Sort(positions)
	resp := &pathwayv1.GetTimelineResponse{}
	if len(positions) > size {
		positions = positions[:size]
		resp.NextPageToken = paging.Encode(query, positions[size-1])
	}
	entries := make(map[string]*pathwayv1.TimelineEntry, len(positions))
	for _, src := range timelineSources {
		var keys, of []string
		for _, pos := range positions {
			if from, seq, _ := parsePosition(pos); from.Stream == src.Stream {
				keys, of = append(keys, timelineKey(seq)), append(of, pos)
			}
		}
		if len(keys) == 0 {
			continue
		}
		values, err := s.store.GetMany(ctx, src.projection(), keys)
		if err != nil {
			return nil, err
		}
		var shorts [][]byte
		if briefs {
			briefKeys := make([]string, len(of))
			for i, pos := range of {
				_, seq, _ := parsePosition(pos)
				briefKeys[i] = briefKey(seq)
			}
			if shorts, err = s.store.GetMany(ctx, src.projection(), briefKeys); err != nil {
				return nil, err
			}
		}
		for i, b := range values {
			if b == nil {
				continue
			}
			var e pathwayv1.TimelineEntry
			if err := proto.Unmarshal(b, &e); err != nil {
				return nil, fmt.Errorf("pathway: timeline entry %s: %w", of[i], err)
			}
			if briefs && shorts[i] != nil {
				e.Summary = string(shorts[i])
			}
			if briefs {
				for _, k := range withheldFromBriefs[e.GetEventType()] {
					delete(e.Attributes, k)
				}
			}
			entries[of[i]] = &e
		}
	}
	for _, pos := range positions {
		if e := entries[pos]; e != nil {
			resp.Entries = append(resp.Entries, e)
		}
	}
	return resp, nil
}

// summary describes an event for people, without personal or
// special-category data (names, contact, RQTH, the free text of exits, the
// content of needs analyses: their barriers, health included, and their
// recommended steps): timelines are read by everyone who reaches the
// learner. Nor does it say anything drawn from a field sealed with the
// learner's key (the (avenir.common.v1.personal) fields): an erasure must
// leave nothing of them in the timeline, which is rebuilt from events whose
// sealed fields then read empty. Events of types it does not know get
// their type's name in words.
func summary(ev event.Event) string {
	switch m := ev.Data.(type) {
	case *intakev1.LearnerRegistered:
		if on := civilpb.Date(m.GetRegisteredOn()); !on.IsZero() {
			return fmt.Sprintf("Registered in territory %s on %s", m.GetTerritoryCode(), on)
		}
		return "Registered in territory " + m.GetTerritoryCode()
	case *intakev1.LearnerErased:
		return fmt.Sprintf("Personal data erased on %s (%s): the learner reads « %s »",
			civilpb.Date(m.GetErasedOn()), label(m.GetGround().String(), "ERASURE_GROUND_"), intakecontract.ErasedName)
	case *pathwayv1.PathwayEntered:
		return fmt.Sprintf("Entered the pathway on %s (episode %d)", civilpb.Date(m.GetEntryDate()), m.GetEpisodeNumber())
	case *pathwayv1.PathwayExited:
		entry, exit := civilpb.Date(m.GetEntryDate()), civilpb.Date(m.GetExitDate())
		return fmt.Sprintf("Exited the pathway on %s (episode %d, %d days): %s",
			exit, m.GetEpisodeNumber(), domain.DaysInPathway(entry, exit), exitReasonLabels[platform.FromWire(exitReasons, m.GetReason())])
	case *pathwayv1.ExitBackdated:
		return fmt.Sprintf("Exit of %s recorded late, on %s", civilpb.Date(m.GetExitDate()), civilpb.Date(m.GetRecordedOn()))
	case *pathwayv1.ReferralRecorded:
		return fmt.Sprintf("Referred to %s at %s on %s (referral %d)",
			programmeLabels[platform.FromWire(programmes, m.GetProgramme())], m.GetOrganisation(), civilpb.Date(m.GetReferralDate()), m.GetReferralNumber())
	case *pathwayv1.ReferralOutcomeRecorded:
		out := fmt.Sprintf("Referral %d %s on %s", m.GetReferralNumber(), outcomeLabels[platform.FromWire(outcomes, m.GetOutcome())], civilpb.Date(m.GetOutcomeDate()))
		if code := m.GetRncpCode(); code != "" {
			out += fmt.Sprintf(" (certification %s obtained on %s)", code, civilpb.Date(m.GetCertificationDate()))
		}
		return out
	case *pathwayv1.QualifFollowUpEnded:
		return fmt.Sprintf("Follow-up in Qualif ended on %s: referral %d %s (episode %d)",
			civilpb.Date(m.GetEndDate()), m.GetReferralNumber(), outcomeLabels[platform.FromWire(outcomes, m.GetOutcome())], m.GetEpisodeNumber())
	case *pathwayv1.FollowUpRecorded:
		out := fmt.Sprintf("Six-month follow-up of the exit on %s recorded on %s: %s", civilpb.Date(m.GetExitDate()), civilpb.Date(m.GetRecordedOn()),
			label(m.GetSituation().String(), "FOLLOW_UP_SITUATION_"))
		if t := m.GetEmploymentType(); t != pathwayv1.EmploymentType_EMPLOYMENT_TYPE_UNSPECIFIED {
			out += ", " + label(t.String(), "EMPLOYMENT_TYPE_")
		}
		return out
	case *pathwayv1.LearnerEnrolled:
		return fmt.Sprintf("Enrolled with %s (contract %s, %s) from %s (enrolment %d)", m.GetOperatorId(), m.GetContractId(),
			enrolmentKindLabels[platform.FromWire(enrolmentKinds, m.GetKind())], civilpb.Date(m.GetFromDate()), m.GetEnrolmentNumber())
	case *pathwayv1.EnrolmentEnded:
		out := fmt.Sprintf("Enrolment %d with %s ended on %s", m.GetEnrolmentNumber(), m.GetOperatorId(), civilpb.Date(m.GetToDate()))
		if m.GetReason() == pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_PATHWAY_EXIT {
			out += " (pathway exit)"
		}
		return out
	case *needsv1.AnalysisStarted:
		return fmt.Sprintf("Needs analysis started on %s (episode %d)", civilpb.Date(m.GetStartedOn()), m.GetEpisodeNumber())
	case *needsv1.AnalysisRevised:
		return fmt.Sprintf("Needs analysis revised on %s: version %d started (episode %d)", civilpb.Date(m.GetStartedOn()), m.GetVersion(), m.GetEpisodeNumber())
	case *needsv1.AnalysisDrafted:
		return fmt.Sprintf("Needs analysis drafted on %s (version %d)", civilpb.Date(m.GetDraftedOn()), m.GetVersion())
	case *needsv1.AnalysisCompleted:
		// Not its recommended steps: they are sealed (the analysis shows
		// them to those who may read it).
		return fmt.Sprintf("Needs analysis completed on %s (version %d)", civilpb.Date(m.GetCompletedOn()), m.GetVersion())
	case *immersionv1.PlaceBooked:
		how := ""
		if m.GetPromotedFromWaitlist() {
			how = ", from the waitlist"
		}
		return fmt.Sprintf("Immersion booked: session %s, %s to %s%s", m.GetSessionId(), civilpb.Date(m.GetFromDate()), civilpb.Date(m.GetToDate()), how)
	case *immersionv1.Waitlisted:
		return fmt.Sprintf("On the waitlist of immersion session %s (position %d)", m.GetSessionId(), m.GetPosition())
	case *immersionv1.BookingCancelled:
		what := "Immersion booking"
		if m.GetWasWaitlisted() {
			what = "Waitlist entry"
		}
		return fmt.Sprintf("%s cancelled: session %s (%s)", what, m.GetSessionId(), label(m.GetCause().String(), "CANCELLATION_CAUSE_"))
	case *immersionv1.WaitlistDropped:
		return fmt.Sprintf("Dropped from the waitlist of immersion session %s (%s)", m.GetSessionId(), label(m.GetReason().String(), "DROP_REASON_"))
	case *immersionv1.OutcomeRecorded:
		out := fmt.Sprintf("Immersion %s: session %s, trades %s", label(m.GetStatus().String(), "OUTCOME_STATUS_"), m.GetSessionId(), strings.Join(m.GetRomeCodes(), ", "))
		if fit := m.GetTradeFit(); fit != immersionv1.TradeFit_TRADE_FIT_UNSPECIFIED {
			out += "; trade fit: " + label(fit.String(), "TRADE_FIT_")
		}
		return out
	case *referentv1.ReferentAssigned:
		how := label(m.GetReason().String(), "ASSIGNMENT_REASON_")
		who := m.GetReferentId()
		if name := m.GetReferentName(); name != "" {
			who = name + " (" + who + ")"
		}
		if prev := m.GetPreviousReferentId(); prev != "" {
			return fmt.Sprintf("Referent %s takes over from %s on %s (%s)", who, prev, civilpb.Date(m.GetFromDate()), how)
		}
		return fmt.Sprintf("Referent %s assigned on %s (%s)", who, civilpb.Date(m.GetFromDate()), how)
	case *referentv1.AssignmentPending:
		return fmt.Sprintf("Waiting for a referent in territory %s since %s", m.GetTerritoryCode(), civilpb.Date(m.GetSince()))
	case *referentv1.AssignmentEnded:
		return fmt.Sprintf("Follow-up by a referent ended on %s (episode %d)", civilpb.Date(m.GetToDate()), m.GetEpisodeNumber())
	case *referentv1.FollowingInQualif:
		return fmt.Sprintf("Following in Qualif: referent %s follows the learner in qualifying training from %s until the outcome (episode %d)",
			m.GetReferentId(), civilpb.Date(m.GetFromDate()), m.GetEpisodeNumber())
	}
	return words(ev.Type[strings.LastIndexByte(ev.Type, '.')+1:])
}

// attrs are an entry's attributes as they are built: each fact is set only
// when the event has it.
type attrs map[string]string

func (a attrs) text(k, v string) {
	if v != "" {
		a[k] = v
	}
}

// date sets a date as YYYY-MM-DD.
func (a attrs) date(k string, d *commonv1.Date) { a.text(k, civilpb.Date(d).String()) }

func (a attrs) number(k string, n int64) {
	if n != 0 {
		a[k] = strconv.FormatInt(n, 10)
	}
}

func (a attrs) flag(k string, b bool) { a[k] = strconv.FormatBool(b) }

// code sets an enum value by its name ("EXIT_REASON_RELOCATION"); not the
// UNSPECIFIED value.
func (a attrs) code(k string, e interface {
	Number() protoreflect.EnumNumber
	String() string
}) {
	if e.Number() != 0 {
		a[k] = e.String()
	}
}

// attributes are the facts of an event, for clients that write their own
// sentences (TimelineEntry.attributes): codes, dates, ids and numbers,
// never a personal field (the detail of an exit, the reason of a
// cancellation, the comment of an outcome, the content of an analysis, a
// referent's name), nor anything sealed with the learner's key. nil for
// the events whose type it does not know.
func attributes(ev event.Event) map[string]string {
	a := attrs{}
	switch m := ev.Data.(type) {
	case *intakev1.LearnerRegistered:
		a.text("territory_code", m.GetTerritoryCode())
		a.date("date", m.GetRegisteredOn())
	case *intakev1.LearnerErased:
		a.date("date", m.GetErasedOn())
		a.code("ground", m.GetGround())
	case *pathwayv1.PathwayEntered:
		a.date("date", m.GetEntryDate())
		a.number("episode", int64(m.GetEpisodeNumber()))
	case *pathwayv1.PathwayExited:
		a.date("date", m.GetExitDate())
		a.number("episode", int64(m.GetEpisodeNumber()))
		a.code("reason", m.GetReason())
		if entry, exit := civilpb.Date(m.GetEntryDate()), civilpb.Date(m.GetExitDate()); !entry.IsZero() && !exit.IsZero() {
			a["days"] = strconv.Itoa(domain.DaysInPathway(entry, exit))
		}
	case *pathwayv1.ExitBackdated:
		a.date("date", m.GetExitDate())
		a.date("recorded_on", m.GetRecordedOn())
	case *pathwayv1.ReferralRecorded:
		a.code("programme", m.GetProgramme())
		a.text("organisation", m.GetOrganisation())
		a.date("date", m.GetReferralDate())
		a.number("referral", int64(m.GetReferralNumber()))
	case *pathwayv1.ReferralOutcomeRecorded:
		a.number("referral", int64(m.GetReferralNumber()))
		a.code("outcome", m.GetOutcome())
		a.date("date", m.GetOutcomeDate())
		a.text("rncp_code", m.GetRncpCode())
		a.date("certification_date", m.GetCertificationDate())
	case *pathwayv1.QualifFollowUpEnded:
		a.number("referral", int64(m.GetReferralNumber()))
		a.code("outcome", m.GetOutcome())
		a.date("date", m.GetEndDate())
		a.number("episode", int64(m.GetEpisodeNumber()))
	case *pathwayv1.FollowUpRecorded:
		a.code("situation", m.GetSituation())
		a.code("employment_type", m.GetEmploymentType())
		a.date("date", m.GetRecordedOn())
		a.number("episode", int64(m.GetEpisodeNumber()))
	case *pathwayv1.LearnerEnrolled:
		a.text("operator_id", m.GetOperatorId())
		a.text("contract_id", m.GetContractId())
		a.code("kind", m.GetKind())
		a.code("programme", m.GetProgramme())
		a.date("date", m.GetFromDate())
		a.number("enrolment", int64(m.GetEnrolmentNumber()))
	case *pathwayv1.EnrolmentEnded:
		a.number("enrolment", int64(m.GetEnrolmentNumber()))
		a.date("date", m.GetToDate())
		a.code("reason", m.GetReason())
	case *needsv1.AnalysisStarted:
		a.date("date", m.GetStartedOn())
		a.number("version", int64(m.GetVersion()))
		a.number("episode", int64(m.GetEpisodeNumber()))
	case *needsv1.AnalysisRevised:
		a.date("date", m.GetStartedOn())
		a.number("version", int64(m.GetVersion()))
		a.number("episode", int64(m.GetEpisodeNumber()))
	case *needsv1.AnalysisDrafted:
		a.date("date", m.GetDraftedOn())
		a.number("version", int64(m.GetVersion()))
	case *needsv1.AnalysisCompleted:
		a.date("date", m.GetCompletedOn())
		a.number("version", int64(m.GetVersion()))
		a.number("episode", int64(m.GetEpisodeNumber()))
	case *immersionv1.PlaceBooked:
		a.text("session_id", m.GetSessionId())
		a.date("from", m.GetFromDate())
		a.date("to", m.GetToDate())
		a.flag("promoted", m.GetPromotedFromWaitlist())
	case *immersionv1.Waitlisted:
		a.text("session_id", m.GetSessionId())
		a.number("position", int64(m.GetPosition()))
	case *immersionv1.BookingCancelled:
		a.text("session_id", m.GetSessionId())
		a.code("cause", m.GetCause())
		a.flag("waitlisted", m.GetWasWaitlisted())
	case *immersionv1.WaitlistDropped:
		a.text("session_id", m.GetSessionId())
		a.code("reason", m.GetReason())
	case *immersionv1.OutcomeRecorded:
		a.text("session_id", m.GetSessionId())
		a.code("status", m.GetStatus())
		a.code("trade_fit", m.GetTradeFit())
	case *referentv1.ReferentAssigned:
		a.text("referent_id", m.GetReferentId())
		a.text("previous_referent_id", m.GetPreviousReferentId())
		a.date("date", m.GetFromDate())
		a.code("reason", m.GetReason())
	case *referentv1.AssignmentPending:
		a.text("territory_code", m.GetTerritoryCode())
		a.date("date", m.GetSince())
	case *referentv1.AssignmentEnded:
		a.date("date", m.GetToDate())
		a.number("episode", int64(m.GetEpisodeNumber()))
	case *referentv1.FollowingInQualif:
		a.text("referent_id", m.GetReferentId())
		a.date("date", m.GetFromDate())
		a.number("episode", int64(m.GetEpisodeNumber()))
	default:
		return nil
	}
	return a
}

// withheldFromBriefs are, per event type, the attributes a funder does not
// read, as its brief does not tell them (see brief): the trade fit an
// operator assessed.
var withheldFromBriefs = map[string][]string{
	string((&immersionv1.OutcomeRecorded{}).ProtoReflect().Descriptor().FullName()): {"trade_fit"},
}

// readsBriefs reports whether caller reads the timeline's briefs: funders
// see what billing needs and no more (what happened, when and who), not
// the content of an analysis nor an operator's assessment of an immersion.
func readsBriefs(caller auth.Principal) bool { return caller.Role == auth.RoleFunder }

// brief is what a funder reads of an event whose summary tells more than
// billing needs, and false for the others (a funder reads their summary):
// the immersion's outcome, without the trades discovered nor the trade fit.
func brief(ev event.Event) (string, bool) {
	switch m := ev.Data.(type) {
	case *immersionv1.OutcomeRecorded:
		return fmt.Sprintf("Immersion %s: session %s", label(m.GetStatus().String(), "OUTCOME_STATUS_"), m.GetSessionId()), true
	}
	return "", false
}

// label spells an enum value for people: "OUTCOME_STATUS_DID_NOT_SHOW"
// reads "did not show".
func label(value, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(value, prefix)), "_", " ")
}

// words spells a message name for people: "LearnerContactUpdated" reads
// "Learner contact updated".
func words(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

var exitReasonLabels = map[domain.ExitReason]string{
	domain.ExitEmploymentPermanent:       "employment, permanent contract",
	domain.ExitEmploymentFixedTermLong:   "employment, fixed-term contract of 6 months or more",
	domain.ExitEmploymentFixedTermShort:  "employment, fixed-term contract of less than 6 months",
	domain.ExitEmploymentTemporaryAgency: "employment, temporary agency work",
	domain.ExitSelfEmployed:              "self-employed",
	domain.ExitQualifyingTraining:        "qualifying training (Qualif)",
	domain.ExitOtherTraining:             "other training",
	domain.ExitAbandonment:               "abandonment",
	domain.ExitRelocation:                "relocation",
	domain.ExitHealth:                    "health",
	domain.ExitOther:                     "other",
}

var programmeLabels = map[domain.Programme]string{
	domain.ProgrammeSavoirs: "Savoirs (basic skills)",
	domain.ProgrammeQualif:  "Qualif (qualifying training)",
	domain.ProgrammeOther:   "another programme",
	domain.ProgrammeESRP:    "Parcours croisés / ESRP",
}

var outcomeLabels = map[domain.Outcome]string{
	domain.OutcomeAccepted:              "accepted",
	domain.OutcomeRefused:               "refused",
	domain.OutcomeStarted:               "started",
	domain.OutcomeAbandoned:             "abandoned",
	domain.OutcomeCompletedCertified:    "completed with the certification",
	domain.OutcomeCompletedNotCertified: "completed without the certification",
	domain.OutcomeClosedAtExit:          "closed at exit",
}

var enrolmentKindLabels = map[domain.EnrolmentKind]string{
	domain.KindAccompaniment: "accompaniment",
	domain.KindSavoirs:       "Savoirs",
	domain.KindQualif:        "Qualif",
	domain.KindWorkshops:     "workshops",
	domain.KindImmersionHost: "immersion host",
}

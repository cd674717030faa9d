package service

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// The two aggregates of the REFERENT stream: a referent's caseload, on
// avenir.referent.caseload.<referent id>.<event>, and a learner's
// assignment, on avenir.referent.assignment.<learner id>.<event>. Both
// encode with encoder, which knows every domain event: an assignment
// command's decision holds the events of the assignment and of the
// caseloads it changes.
const (
	caseloadPrefix   = "avenir.referent.caseload."
	assignmentPrefix = "avenir.referent.assignment."
)

func caseloadKind(graceDays int) eventstore.Kind[domain.Referent, domain.Event] {
	return eventstore.Kind[domain.Referent, domain.Event]{
		Stream: Stream, Prefix: caseloadPrefix, Decode: decodeUnder(caseloadPrefix), Evolve: domain.EvolveReferent, Encode: encoder(graceDays),
	}
}

func assignmentKind(graceDays int) eventstore.Kind[domain.Assignment, domain.Event] {
	return eventstore.Kind[domain.Assignment, domain.Event]{
		Stream: Stream, Prefix: assignmentPrefix, Decode: decodeUnder(assignmentPrefix), Evolve: domain.EvolveAssignment, Encode: encoder(graceDays),
	}
}

// decodeUnder decodes the events of the aggregates under prefix only.
func decodeUnder(prefix string) func(event.Event) (domain.Event, bool) {
	return func(ev event.Event) (domain.Event, bool) {
		if !strings.HasPrefix(ev.Subject, prefix) {
			return nil, false
		}
		return decode(ev)
	}
}

// encoder gives domain events their wire form; graceDays dates the previous
// referent's read access in assignment events.
func encoder(graceDays int) func([]domain.Event) ([]event.Draft, error) {
	return func(evs []domain.Event) ([]event.Draft, error) {
		out := make([]event.Draft, len(evs))
		for i, ev := range evs {
			d, err := draft(ev, graceDays)
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	}
}

// profileFields reads an update mask: nil without one (the whole profile
// is replaced), else the profile fields it names. A path that names no
// field an update may change, or a mask without paths, is a violation on
// update_mask.
func profileFields(v *apperr.Violations, m *fieldmaskpb.FieldMask) []domain.ProfileField {
	if m == nil {
		return nil
	}
	if len(m.GetPaths()) == 0 {
		v.Add("update_mask", "names no field: omit it to replace the whole profile")
		return nil
	}
	out := make([]domain.ProfileField, 0, len(m.GetPaths()))
	for _, p := range m.GetPaths() {
		f := domain.ProfileField(p)
		switch {
		case !slices.Contains(domain.ProfileFields, f):
			names := make([]string, len(domain.ProfileFields))
			for i, f := range domain.ProfileFields {
				names[i] = string(f)
			}
			v.Addf("update_mask", "%q is not a field an update changes (%s)", p, strings.Join(names, ", "))
		case !slices.Contains(out, f):
			out = append(out, f)
		}
	}
	return out
}

var (
	kinds = map[domain.Kind]referentv1.ReferentKind{
		domain.KindPedagogical: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
		domain.KindEconomic:    referentv1.ReferentKind_REFERENT_KIND_ECONOMIC,
	}
	specialties = map[domain.Specialty]referentv1.Specialty{
		domain.SpecialtyDisability:   referentv1.Specialty_SPECIALTY_DISABILITY,
		domain.SpecialtySeniors:      referentv1.Specialty_SPECIALTY_SENIORS,
		domain.SpecialtyYoungPeople:  referentv1.Specialty_SPECIALTY_YOUNG_PEOPLE,
		domain.SpecialtyFrenchSecond: referentv1.Specialty_SPECIALTY_FRENCH_SECOND_LANGUAGE,
	}
	reasons = map[domain.Reason]referentv1.AssignmentReason{
		domain.ReasonAutomatic:    referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
		domain.ReasonManual:       referentv1.AssignmentReason_ASSIGNMENT_REASON_MANUAL,
		domain.ReasonHandover:     referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER,
		domain.ReasonDeactivation: referentv1.AssignmentReason_ASSIGNMENT_REASON_DEACTIVATION,
	}
)

func profileFromProto(p *referentv1.ReferentProfile) domain.Profile {
	out := domain.Profile{
		Name: p.GetName(), Organisation: p.GetOrganisation(), Territories: p.GetTerritoryCodes(),
		Capacity: int(p.GetCapacity()), Languages: p.GetLanguages(), Kind: platform.FromWire(kinds, p.GetKind()),
	}
	for _, s := range p.GetSpecialties() {
		out.Specialties = append(out.Specialties, platform.FromWire(specialties, s))
	}
	return out
}

func profileToProto(p domain.Profile) *referentv1.ReferentProfile {
	out := &referentv1.ReferentProfile{
		Name: p.Name, Organisation: p.Organisation, TerritoryCodes: p.Territories,
		Capacity: int32(p.Capacity), Languages: p.Languages, Kind: kinds[p.Kind],
	}
	for _, s := range p.Specialties {
		out.Specialties = append(out.Specialties, specialties[s])
	}
	return out
}

func dateProto(d civil.Date) *commonv1.Date {
	if d.IsZero() {
		return nil
	}
	return civilpb.FromDate(d)
}

// readsUntil is the last day the previous referent still reads a learner
// handed over on day (graceDays later), zero without a previous referent.
func readsUntil(previous string, day civil.Date, graceDays int) *commonv1.Date {
	if previous == "" {
		return nil
	}
	return dateProto(day.AddDays(graceDays))
}

// draft turns a domain event into the draft of its aggregate; graceDays
// dates the previous referent's read access in assignment events.
func draft(ev domain.Event, graceDays int) (event.Draft, error) {
	var (
		agg, id, name string
		data          proto.Message
	)
	switch e := ev.(type) {
	case domain.ReferentRegistered:
		agg, id, name = "caseload", e.ReferentID, "registered"
		data = &referentv1.ReferentRegistered{ReferentId: e.ReferentID, Profile: profileToProto(e.Profile)}
	case domain.ReferentUpdated:
		agg, id, name = "caseload", e.ReferentID, "updated"
		data = &referentv1.ReferentUpdated{ReferentId: e.ReferentID, Profile: profileToProto(e.Profile)}
	case domain.AvailabilitySet:
		agg, id, name = "caseload", e.ReferentID, "availability_set"
		data = &referentv1.AvailabilitySet{
			ReferentId: e.ReferentID, AbsentFrom: dateProto(e.AbsentFrom), AbsentTo: dateProto(e.AbsentTo), TerritoryCodes: e.Territories,
			InterimReferentId: e.Interim, InterimTerritoryCodes: e.InterimTerritories,
		}
	case domain.InterimTaken:
		agg, id, name = "caseload", e.ReferentID, "interim_taken"
		data = &referentv1.InterimTaken{ReferentId: e.ReferentID, AbsentReferentId: e.For, FromDate: dateProto(e.Span.From), ToDate: dateProto(e.Span.To)}
	case domain.InterimReleased:
		agg, id, name = "caseload", e.ReferentID, "interim_released"
		data = &referentv1.InterimReleased{ReferentId: e.ReferentID, AbsentReferentId: e.For}
	case domain.ReferentDeactivated:
		agg, id, name = "caseload", e.ReferentID, "deactivated"
		data = &referentv1.ReferentDeactivated{ReferentId: e.ReferentID, EffectiveDate: dateProto(e.On), TerritoryCodes: e.Territories}
	case domain.LearnerTaken:
		agg, id, name = "caseload", e.ReferentID, "learner_taken"
		data = &referentv1.LearnerTaken{ReferentId: e.ReferentID, LearnerId: e.Slot.LearnerID, TerritoryCode: e.Slot.Territory, FromDate: dateProto(e.Slot.From), EpisodeNumber: int32(e.Slot.Episode)}
	case domain.LearnerReleased:
		agg, id, name = "caseload", e.ReferentID, "learner_released"
		data = &referentv1.LearnerReleased{ReferentId: e.ReferentID, LearnerId: e.LearnerID, TerritoryCode: e.Territory, ToDate: dateProto(e.To), InQualif: e.InQualif}
	case domain.LearnerFollowedInQualif:
		agg, id, name = "caseload", e.ReferentID, "learner_in_qualif"
		data = &referentv1.LearnerFollowedInQualif{ReferentId: e.ReferentID, LearnerId: e.LearnerID, TerritoryCode: e.Territory, FromDate: dateProto(e.From)}
	case domain.FollowingInQualif:
		agg, id, name = "assignment", e.LearnerID, "following_in_qualif"
		data = &referentv1.FollowingInQualif{
			LearnerId: e.LearnerID, ReferentId: e.ReferentID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode), FromDate: dateProto(e.From),
		}
	case domain.ReferentAssigned:
		agg, id, name = "assignment", e.LearnerID, "assigned"
		data = &referentv1.ReferentAssigned{
			LearnerId: e.LearnerID, ReferentId: e.ReferentID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode),
			FromDate: dateProto(e.From), Reason: reasons[e.Reason], Explanation: e.Explanation, PreviousReferentId: e.Previous,
			PreviousReferentReadsUntil: readsUntil(e.Previous, e.From, graceDays), ReferentName: e.ReferentName,
		}
	case domain.AssignmentPending:
		agg, id, name = "assignment", e.LearnerID, "pending"
		data = &referentv1.AssignmentPending{
			LearnerId: e.LearnerID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode), Since: dateProto(e.Since),
			Explanation: e.Explanation, PreviousReferentId: e.Previous,
			PreviousReferentReadsUntil: readsUntil(e.Previous, e.Since, graceDays),
		}
	case domain.AssignmentEnded:
		agg, id, name = "assignment", e.LearnerID, "ended"
		data = &referentv1.AssignmentEnded{LearnerId: e.LearnerID, ReferentId: e.ReferentID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode), ToDate: dateProto(e.To)}
	case domain.InterimAssigned:
		agg, id, name = "assignment", e.LearnerID, "interim_assigned"
		data = &referentv1.InterimAssigned{
			LearnerId: e.LearnerID, ReferentId: e.ReferentID, InterimReferentId: e.Interim, TerritoryCode: e.Territory,
			EpisodeNumber: int32(e.Episode), FromDate: dateProto(e.Span.From), ToDate: dateProto(e.Span.To),
		}
	case domain.InterimCleared:
		agg, id, name = "assignment", e.LearnerID, "interim_cleared"
		data = &referentv1.InterimCleared{LearnerId: e.LearnerID, ReferentId: e.ReferentID, InterimReferentId: e.Interim}
	default:
		return event.Draft{}, fmt.Errorf("referent: no codec for %T", ev)
	}
	return event.Draft{Subject: "avenir.referent." + agg + "." + id + "." + name, AggregateID: id, Data: data}, nil
}

// decode turns a stored event into a domain event; events of other types
// (added by a later version) are skipped.
func decode(ev event.Event) (domain.Event, bool) {
	switch m := ev.Data.(type) {
	case *referentv1.ReferentRegistered:
		return domain.ReferentRegistered{ReferentID: m.GetReferentId(), Profile: profileFromProto(m.GetProfile())}, true
	case *referentv1.ReferentUpdated:
		return domain.ReferentUpdated{ReferentID: m.GetReferentId(), Profile: profileFromProto(m.GetProfile())}, true
	case *referentv1.AvailabilitySet:
		return domain.AvailabilitySet{
			ReferentID: m.GetReferentId(), AbsentFrom: civilpb.Date(m.GetAbsentFrom()), AbsentTo: civilpb.Date(m.GetAbsentTo()), Territories: m.GetTerritoryCodes(),
			Interim: m.GetInterimReferentId(), InterimTerritories: m.GetInterimTerritoryCodes(),
		}, true
	case *referentv1.InterimTaken:
		return domain.InterimTaken{ReferentID: m.GetReferentId(), For: m.GetAbsentReferentId(), Span: domain.Span{From: civilpb.Date(m.GetFromDate()), To: civilpb.Date(m.GetToDate())}}, true
	case *referentv1.InterimReleased:
		return domain.InterimReleased{ReferentID: m.GetReferentId(), For: m.GetAbsentReferentId()}, true
	case *referentv1.ReferentDeactivated:
		return domain.ReferentDeactivated{ReferentID: m.GetReferentId(), On: civilpb.Date(m.GetEffectiveDate()), Territories: m.GetTerritoryCodes()}, true
	case *referentv1.LearnerTaken:
		return domain.LearnerTaken{ReferentID: m.GetReferentId(), Slot: domain.Slot{LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()), From: civilpb.Date(m.GetFromDate())}}, true
	case *referentv1.LearnerReleased:
		return domain.LearnerReleased{ReferentID: m.GetReferentId(), LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(), To: civilpb.Date(m.GetToDate()), InQualif: m.GetInQualif()}, true
	case *referentv1.LearnerFollowedInQualif:
		return domain.LearnerFollowedInQualif{ReferentID: m.GetReferentId(), LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(), From: civilpb.Date(m.GetFromDate())}, true
	case *referentv1.FollowingInQualif:
		return domain.FollowingInQualif{
			LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId(), Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()), From: civilpb.Date(m.GetFromDate()),
		}, true
	case *referentv1.ReferentAssigned:
		return domain.ReferentAssigned{
			LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId(), Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()),
			From: civilpb.Date(m.GetFromDate()), Reason: platform.FromWire(reasons, m.GetReason()), Explanation: m.GetExplanation(), Previous: m.GetPreviousReferentId(),
			ReferentName: m.GetReferentName(),
		}, true
	case *referentv1.AssignmentPending:
		return domain.AssignmentPending{
			LearnerID: m.GetLearnerId(), Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()), Since: civilpb.Date(m.GetSince()),
			Explanation: m.GetExplanation(), Previous: m.GetPreviousReferentId(),
		}, true
	case *referentv1.AssignmentEnded:
		return domain.AssignmentEnded{LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId(), Territory: m.GetTerritoryCode(), Episode: int(m.GetEpisodeNumber()), To: civilpb.Date(m.GetToDate())}, true
	case *referentv1.InterimAssigned:
		return domain.InterimAssigned{
			LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId(), Interim: m.GetInterimReferentId(), Territory: m.GetTerritoryCode(),
			Episode: int(m.GetEpisodeNumber()), Span: domain.Span{From: civilpb.Date(m.GetFromDate()), To: civilpb.Date(m.GetToDate())},
		}, true
	case *referentv1.InterimCleared:
		return domain.InterimCleared{LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId(), Interim: m.GetInterimReferentId()}, true
	}
	return nil, false
}

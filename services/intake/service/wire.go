package service

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// The domain's education levels, referral sources and erasure grounds have
// the numbers of the proto enums (checked by TestEnumsMatchTheDomain), so
// they convert with a type conversion both ways; the domain rejects unknown
// numbers.

func contactFromProto(c *intakev1.Contact) domain.Contact {
	return domain.Contact{Email: c.GetEmail(), Phone: c.GetPhone(), Commune: c.GetCommuneCode()}
}

func contactToProto(c domain.Contact) *intakev1.Contact {
	return &intakev1.Contact{Email: c.Email, Phone: c.Phone, CommuneCode: c.Commune}
}

// situationFromProto reads a situation; RQTH travels apart from it.
func situationFromProto(s *intakev1.Situation, rqth bool) domain.Situation {
	return domain.Situation{
		JobSeeker:       s.GetJobSeeker(),
		FranceTravailID: s.GetFranceTravailId(),
		RSA:             s.GetRsaRecipient(),
		RQTH:            rqth,
		Education:       domain.EducationLevel(s.GetEducationLevel()),
		QPV:             s.GetQpvResident(),
		ZRR:             s.GetZrrResident(),
		Referral:        domain.ReferralSource(s.GetReferralSource()),

		EducationJustification: s.GetEducationLevelJustification(),
	}
}

// situationToProto writes a situation without its RQTH.
func situationToProto(s domain.Situation) *intakev1.Situation {
	return &intakev1.Situation{
		JobSeeker:       s.JobSeeker,
		FranceTravailId: s.FranceTravailID,
		RsaRecipient:    s.RSA,
		EducationLevel:  intakev1.EducationLevel(s.Education),
		QpvResident:     s.QPV,
		ZrrResident:     s.ZRR,
		ReferralSource:  intakev1.ReferralSource(s.Referral),

		EducationLevelJustification: s.EducationJustification,
	}
}

// toView is the whole view of a learner, special-category data included:
// what the read model stores. Callers get it through redact. An erased
// learner's view holds only its id, territory, registration and erasure
// day.
func toView(l domain.Learner, registeredAt time.Time) *intakev1.Learner {
	if l.Erased {
		return &intakev1.Learner{
			LearnerId:     l.ID,
			TerritoryCode: l.Territory,
			RegisteredAt:  timestamppb.New(registeredAt),
			RegisteredOn:  civilpb.FromDate(l.RegisteredOn),
			Erased:        true,
			ErasedOn:      civilpb.FromDate(l.ErasedOn),
		}
	}
	return &intakev1.Learner{
		LearnerId:      l.ID,
		FamilyName:     l.FamilyName,
		GivenName:      l.GivenName,
		BirthDate:      civilpb.FromDate(l.BirthDate),
		TerritoryCode:  l.Territory,
		RegisteredAt:   timestamppb.New(registeredAt),
		Rqth:           proto.Bool(l.Situation.RQTH),
		Contact:        contactToProto(l.Contact),
		Situation:      situationToProto(l.Situation),
		SituationSince: civilpb.FromDate(l.SituationSince),
		SeniorAtEntry:  l.SeniorAtEntry,
		RegisteredOn:   civilpb.FromDate(l.RegisteredOn),
	}
}

// fromView is the inverse of toView, to continue folding a stored view
// (an erased learner's ground and reference are not in its view).
func fromView(v *intakev1.Learner) domain.Learner {
	if v.GetErased() {
		return domain.Learner{
			ID: v.GetLearnerId(), Territory: v.GetTerritoryCode(), RegisteredOn: civilpb.Date(v.GetRegisteredOn()),
			Erased: true, ErasedOn: civilpb.Date(v.GetErasedOn()),
		}
	}
	return domain.Learner{
		ID:             v.GetLearnerId(),
		FamilyName:     v.GetFamilyName(),
		GivenName:      v.GetGivenName(),
		BirthDate:      civilpb.Date(v.GetBirthDate()),
		Territory:      v.GetTerritoryCode(),
		RegisteredOn:   civilpb.Date(v.GetRegisteredOn()),
		Contact:        contactFromProto(v.GetContact()),
		Situation:      situationFromProto(v.GetSituation(), v.GetRqth()),
		SituationSince: civilpb.Date(v.GetSituationSince()),
		SeniorAtEntry:  v.GetSeniorAtEntry(),
	}
}

// redact returns the view p may see: for a funder, what billing needs only
// (billingView); for anyone else, without the special-category field
// (absent, not false) unless p acts for the learner. v is not changed.
func redact(v *intakev1.Learner, p auth.Principal, scope auth.LearnerScope) *intakev1.Learner {
	switch {
	case seesContactOnly(p):
		return contactView(v)
	case seesBillingOnly(p):
		return billingView(v)
	case seesSpecialCategory(p, scope):
		return v
	}
	out := proto.CloneOf(v)
	out.Rqth = nil
	return out
}

// contactView is what the notification service needs of a learner: its
// id, its e-mail address and whether it was erased; nothing else.
func contactView(v *intakev1.Learner) *intakev1.Learner {
	out := &intakev1.Learner{LearnerId: v.GetLearnerId(), Erased: v.GetErased()}
	if email := v.GetContact().GetEmail(); email != "" {
		out.Contact = &intakev1.Contact{Email: email}
	}
	return out
}

// billingView is what billing needs of a learner: its id, names, territory
// and registration (when recorded, and its civil date), and whether it was
// erased; neither contact, birth date, situation, RQTH nor anything else.
func billingView(v *intakev1.Learner) *intakev1.Learner {
	return &intakev1.Learner{
		LearnerId:     v.GetLearnerId(),
		FamilyName:    v.GetFamilyName(),
		GivenName:     v.GetGivenName(),
		TerritoryCode: v.GetTerritoryCode(),
		RegisteredAt:  proto.CloneOf(v.GetRegisteredAt()),
		RegisteredOn:  proto.CloneOf(v.GetRegisteredOn()),
		Erased:        v.GetErased(),
		ErasedOn:      proto.CloneOf(v.GetErasedOn()),
	}
}

// drafts gives the domain's events their wire form.
func drafts(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, 0, len(evs))
	for _, e := range evs {
		switch e := e.(type) {
		case domain.LearnerRegistered:
			out = append(out, event.Draft{
				Subject:     "avenir.intake.learner." + e.LearnerID + ".registered",
				AggregateID: e.LearnerID,
				Data: &intakev1.LearnerRegistered{
					LearnerId:     e.LearnerID,
					FamilyName:    e.FamilyName,
					GivenName:     e.GivenName,
					BirthDate:     civilpb.FromDate(e.BirthDate),
					TerritoryCode: e.Territory,
					RegisteredOn:  civilpb.FromDate(e.RegisteredOn),
					Rqth:          e.Situation.RQTH,
					Contact:       contactToProto(e.Contact),
					Situation:     situationToProto(e.Situation),
					SeniorAtEntry: e.SeniorAtEntry,
				},
			})
		case domain.ContactUpdated:
			out = append(out, event.Draft{
				Subject:     "avenir.intake.learner." + e.LearnerID + ".contact_updated",
				AggregateID: e.LearnerID,
				Data: &intakev1.LearnerContactUpdated{
					LearnerId:   e.LearnerID,
					Contact:     contactToProto(e.Contact),
					EffectiveOn: civilpb.FromDate(e.EffectiveOn),
				},
			})
		case domain.SituationUpdated:
			out = append(out, event.Draft{
				Subject:     "avenir.intake.learner." + e.LearnerID + ".situation_updated",
				AggregateID: e.LearnerID,
				Data: &intakev1.LearnerSituationUpdated{
					LearnerId:   e.LearnerID,
					Situation:   situationToProto(e.Situation),
					Rqth:        e.Situation.RQTH,
					EffectiveOn: civilpb.FromDate(e.EffectiveOn),
					RecordedOn:  civilpb.FromDate(e.RecordedOn),
				},
			})
		case domain.LearnerErased:
			out = append(out, event.Draft{
				Subject:     "avenir.intake.learner." + e.LearnerID + ".erased",
				AggregateID: e.LearnerID,
				Data: &intakev1.LearnerErased{
					LearnerId:     e.LearnerID,
					TerritoryCode: e.Territory,
					ErasedOn:      civilpb.FromDate(e.ErasedOn),
					Ground:        intakev1.ErasureGround(e.Ground),
					Reference:     e.Reference,
				},
			})
		default:
			return nil, fmt.Errorf("intake: no wire form for event %T", e)
		}
	}
	return out, nil
}

// learnerKind is the learner aggregate: its events on
// avenir.intake.learner.<id>.<event>, folded with domain.Evolve.
var learnerKind = eventstore.Kind[domain.Learner, domain.Event]{
	Stream: Stream,
	Prefix: "avenir.intake.learner.",
	Decode: func(ev event.Event) (domain.Event, bool) { return fromProto(ev.Data) },
	Evolve: domain.Evolve,
	Encode: drafts,
}

// fromProto reads an event of a learner's own history; false for any other
// message.
func fromProto(m proto.Message) (domain.Event, bool) {
	switch m := m.(type) {
	case *intakev1.LearnerRegistered:
		return domain.LearnerRegistered{
			LearnerID:     m.GetLearnerId(),
			FamilyName:    m.GetFamilyName(),
			GivenName:     m.GetGivenName(),
			BirthDate:     civilpb.Date(m.GetBirthDate()),
			Territory:     m.GetTerritoryCode(),
			RegisteredOn:  civilpb.Date(m.GetRegisteredOn()),
			Contact:       contactFromProto(m.GetContact()),
			Situation:     situationFromProto(m.GetSituation(), m.GetRqth()),
			SeniorAtEntry: m.GetSeniorAtEntry(),
		}, true
	case *intakev1.LearnerContactUpdated:
		return domain.ContactUpdated{
			LearnerID:   m.GetLearnerId(),
			Contact:     contactFromProto(m.GetContact()),
			EffectiveOn: civilpb.Date(m.GetEffectiveOn()),
		}, true
	case *intakev1.LearnerSituationUpdated:
		return domain.SituationUpdated{
			LearnerID:   m.GetLearnerId(),
			Situation:   situationFromProto(m.GetSituation(), m.GetRqth()),
			EffectiveOn: civilpb.Date(m.GetEffectiveOn()),
			RecordedOn:  civilpb.Date(m.GetRecordedOn()),
		}, true
	case *intakev1.LearnerErased:
		return domain.LearnerErased{
			LearnerID: m.GetLearnerId(),
			Territory: m.GetTerritoryCode(),
			ErasedOn:  civilpb.Date(m.GetErasedOn()),
			Ground:    domain.ErasureGround(m.GetGround()),
			Reference: m.GetReference(),
		}, true
	}
	return nil, false
}

package service

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// The wire forms of the domain's codes. A value missing from a map (a value
// added to the .proto by a newer version, or UNSPECIFIED) maps to the
// domain's zero value, which the domain refuses as input.
var (
	exitReasons = map[domain.ExitReason]pathwayv1.ExitReason{
		domain.ExitEmploymentPermanent:       pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT,
		domain.ExitEmploymentFixedTermLong:   pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG,
		domain.ExitEmploymentFixedTermShort:  pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT,
		domain.ExitEmploymentTemporaryAgency: pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_TEMPORARY_AGENCY,
		domain.ExitSelfEmployed:              pathwayv1.ExitReason_EXIT_REASON_SELF_EMPLOYED,
		domain.ExitQualifyingTraining:        pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING,
		domain.ExitOtherTraining:             pathwayv1.ExitReason_EXIT_REASON_OTHER_TRAINING,
		domain.ExitAbandonment:               pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT,
		domain.ExitRelocation:                pathwayv1.ExitReason_EXIT_REASON_RELOCATION,
		domain.ExitHealth:                    pathwayv1.ExitReason_EXIT_REASON_HEALTH,
		domain.ExitOther:                     pathwayv1.ExitReason_EXIT_REASON_OTHER,
	}
	programmes = map[domain.Programme]pathwayv1.Programme{
		domain.ProgrammeSavoirs: pathwayv1.Programme_PROGRAMME_SAVOIRS,
		domain.ProgrammeQualif:  pathwayv1.Programme_PROGRAMME_QUALIF,
		domain.ProgrammeOther:   pathwayv1.Programme_PROGRAMME_OTHER,
		domain.ProgrammeESRP:    pathwayv1.Programme_PROGRAMME_PARCOURS_CROISES_ESRP,
	}
	outcomes = map[domain.Outcome]pathwayv1.ReferralOutcome{
		domain.OutcomeAccepted:              pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED,
		domain.OutcomeRefused:               pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_REFUSED,
		domain.OutcomeStarted:               pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_STARTED,
		domain.OutcomeAbandoned:             pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ABANDONED,
		domain.OutcomeCompletedCertified:    pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_COMPLETED_CERTIFIED,
		domain.OutcomeCompletedNotCertified: pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_COMPLETED_NOT_CERTIFIED,
		domain.OutcomeClosedAtExit:          pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_CLOSED_AT_EXIT,
	}
	pendingChoices = map[domain.PendingChoice]pathwayv1.PendingReferrals{
		domain.PendingClose: pathwayv1.PendingReferrals_PENDING_REFERRALS_CLOSE,
		domain.PendingCarry: pathwayv1.PendingReferrals_PENDING_REFERRALS_CARRY_OVER,
	}
	situations6 = map[domain.Situation6]pathwayv1.FollowUpSituation{
		domain.SituationEmployment: pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_EMPLOYMENT,
		domain.SituationTraining:   pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_TRAINING,
		domain.SituationJobSeeking: pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_JOB_SEEKING,
		domain.SituationUnknown:    pathwayv1.FollowUpSituation_FOLLOW_UP_SITUATION_UNKNOWN,
	}
	employmentTypes = map[domain.EmploymentType]pathwayv1.EmploymentType{
		domain.EmploymentPermanent:       pathwayv1.EmploymentType_EMPLOYMENT_TYPE_PERMANENT,
		domain.EmploymentFixedTermLong:   pathwayv1.EmploymentType_EMPLOYMENT_TYPE_FIXED_TERM_LONG,
		domain.EmploymentFixedTermShort:  pathwayv1.EmploymentType_EMPLOYMENT_TYPE_FIXED_TERM_SHORT,
		domain.EmploymentTemporaryAgency: pathwayv1.EmploymentType_EMPLOYMENT_TYPE_TEMPORARY_AGENCY,
		domain.EmploymentSubsidised:      pathwayv1.EmploymentType_EMPLOYMENT_TYPE_SUBSIDISED,
		domain.EmploymentSelfEmployed:    pathwayv1.EmploymentType_EMPLOYMENT_TYPE_SELF_EMPLOYED,
	}
	enrolmentKinds = map[domain.EnrolmentKind]pathwayv1.EnrolmentKind{
		domain.KindAccompaniment: pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT,
		domain.KindSavoirs:       pathwayv1.EnrolmentKind_ENROLMENT_KIND_SAVOIRS,
		domain.KindQualif:        pathwayv1.EnrolmentKind_ENROLMENT_KIND_QUALIF,
		domain.KindWorkshops:     pathwayv1.EnrolmentKind_ENROLMENT_KIND_WORKSHOPS,
		domain.KindImmersionHost: pathwayv1.EnrolmentKind_ENROLMENT_KIND_IMMERSION_HOST,
	}
	endReasons = map[domain.EndReason]pathwayv1.EnrolmentEndReason{
		domain.EndEnded:       pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_ENDED,
		domain.EndPathwayExit: pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_PATHWAY_EXIT,
	}
	fundingProgrammes = map[domain.FundingProgramme]commonv1.FundingProgramme{
		domain.FundingAvenir: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
		domain.FundingAction: commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION,
		domain.FundingOther:  commonv1.FundingProgramme_FUNDING_PROGRAMME_OTHER,
	}
	educationLevels = map[domain.EducationLevel]intakev1.EducationLevel{
		domain.EducationNoDiploma: intakev1.EducationLevel_EDUCATION_LEVEL_NO_DIPLOMA,
		domain.EducationLevel3:    intakev1.EducationLevel_EDUCATION_LEVEL_3,
		domain.EducationLevel4:    intakev1.EducationLevel_EDUCATION_LEVEL_4,
		domain.EducationLevel5:    intakev1.EducationLevel_EDUCATION_LEVEL_5,
		domain.EducationLevel6:    intakev1.EducationLevel_EDUCATION_LEVEL_6,
		domain.EducationLevel7:    intakev1.EducationLevel_EDUCATION_LEVEL_7,
		domain.EducationLevel8:    intakev1.EducationLevel_EDUCATION_LEVEL_8,
	}
	ageBands = map[domain.AgeBand]pathwayv1.AgeBand{
		domain.AgeUnder26:   pathwayv1.AgeBand_AGE_BAND_UNDER_26,
		domain.Age26To49:    pathwayv1.AgeBand_AGE_BAND_26_TO_49,
		domain.Age50AndOver: pathwayv1.AgeBand_AGE_BAND_50_AND_OVER,
	}
	immersionStatuses = map[domain.ImmersionStatus]immersionv1.OutcomeStatus{
		domain.ImmersionCompleted: immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED,
		domain.ImmersionPartial:   immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED,
		domain.ImmersionNoShow:    immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW,
	}
	phases = map[domain.Phase]pathwayv1.PathwayPhase{
		domain.PhaseWelcomed:             pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED,
		domain.PhaseNeedsAnalysed:        pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED,
		domain.PhaseBuildingProject:      pathwayv1.PathwayPhase_PATHWAY_PHASE_BUILDING_PROJECT,
		domain.PhaseDiscoveringTrades:    pathwayv1.PathwayPhase_PATHWAY_PHASE_DISCOVERING_TRADES,
		domain.PhaseInQualifyingTraining: pathwayv1.PathwayPhase_PATHWAY_PHASE_IN_QUALIFYING_TRAINING,
		domain.PhaseExited:               pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED,
	}
)

// pathwayKind is the pathway aggregate: its events on
// avenir.pathway.pathway.<learner id>.<event>, folded with domain.Evolve.
var pathwayKind = eventstore.Kind[domain.Pathway, domain.Event]{
	Stream: Stream,
	Prefix: pathwayPrefix,
	Decode: func(ev event.Event) (domain.Event, bool) { return fromProto(ev.Data) },
	Evolve: domain.Evolve,
	Encode: drafts,
}

const pathwayPrefix = "avenir.pathway.pathway."

func pathwaySubject(learnerID, name string) string { return pathwayPrefix + learnerID + "." + name }

// drafts gives the domain's events their wire form.
func drafts(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, 0, len(evs))
	for _, e := range evs {
		var (
			id, name string
			data     proto.Message
		)
		switch e := e.(type) {
		case domain.PathwayEntered:
			id, name = e.LearnerID, "entered"
			data = &pathwayv1.PathwayEntered{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), EntryDate: civilpb.FromDate(e.EntryDate), TerritoryCode: e.Territory,
			}
		case domain.PathwayExited:
			id, name = e.LearnerID, "exited"
			data = &pathwayv1.PathwayExited{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), EntryDate: civilpb.FromDate(e.EntryDate),
				ExitDate: civilpb.FromDate(e.ExitDate), Reason: exitReasons[e.Reason], Detail: e.Detail, TerritoryCode: e.Territory,
				PendingReferrals: pendingChoices[e.Pending], CarriedReferralNumbers: int32s(e.Carried), FollowedReferralNumbers: int32s(e.Followed),
			}
		case domain.QualifFollowUpEnded:
			id, name = e.LearnerID, "qualif_follow_up_ended"
			data = &pathwayv1.QualifFollowUpEnded{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), ReferralNumber: int32(e.Referral),
				Outcome: outcomes[e.Outcome], EndDate: civilpb.FromDate(e.Date), TerritoryCode: e.Territory,
			}
		case domain.FollowUpRecorded:
			id, name = e.LearnerID, "follow_up_recorded"
			data = &pathwayv1.FollowUpRecorded{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), ExitDate: civilpb.FromDate(e.ExitDate), DueOn: civilpb.FromDate(e.DueOn),
				Situation: situations6[e.Situation], EmploymentType: employmentTypes[e.Employment], RecordedOn: civilpb.FromDate(e.RecordedOn),
				TerritoryCode: e.Territory,
			}
		case domain.ExitBackdated:
			id, name = e.LearnerID, "exit_backdated"
			data = &pathwayv1.ExitBackdated{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), ExitDate: civilpb.FromDate(e.ExitDate),
				RecordedOn: civilpb.FromDate(e.RecordedOn), TerritoryCode: e.Territory,
			}
		case domain.ReferralRecorded:
			id, name = e.LearnerID, "referral_recorded"
			data = &pathwayv1.ReferralRecorded{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), ReferralNumber: int32(e.Referral),
				Programme: programmes[e.Programme], ReferralDate: civilpb.FromDate(e.Date), Organisation: e.Organisation,
			}
		case domain.ReferralOutcomeRecorded:
			id, name = e.LearnerID, "referral_outcome_recorded"
			data = &pathwayv1.ReferralOutcomeRecorded{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), ReferralNumber: int32(e.Referral),
				Outcome: outcomes[e.Outcome], OutcomeDate: civilpb.FromDate(e.Date),
				RncpCode: e.RNCP, CertificationDate: civilpb.FromDate(e.CertifiedOn),
			}
		case domain.NeedsAnalysisNoted:
			id, name = e.LearnerID, "needs_analysis_noted"
			data = &pathwayv1.NeedsAnalysisNoted{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), AnalysisId: e.AnalysisID,
				CompletedOn: civilpb.FromDate(e.Date), TerritoryCode: e.Territory,
			}
		case domain.ImmersionNoted:
			id, name = e.LearnerID, "immersion_noted"
			data = &pathwayv1.ImmersionNoted{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), SessionId: e.SessionID, RomeCodes: e.RomeCodes,
				Completed: e.Completed, RecordedOn: civilpb.FromDate(e.Date), TerritoryCode: e.Territory,
			}
		case domain.LearnerEnrolled:
			id, name = e.LearnerID, "enrolled"
			data = &pathwayv1.LearnerEnrolled{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), EnrolmentNumber: int32(e.Enrolment),
				ContractId: e.ContractID, OperatorId: e.OperatorID, Kind: enrolmentKinds[e.Kind],
				FromDate: civilpb.FromDate(e.From), TerritoryCode: e.Territory, Programme: fundingProgrammes[e.Programme],
			}
		case domain.EnrolmentEnded:
			id, name = e.LearnerID, "enrolment_ended"
			data = &pathwayv1.EnrolmentEnded{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), EnrolmentNumber: int32(e.Enrolment),
				ContractId: e.ContractID, OperatorId: e.OperatorID, ToDate: civilpb.FromDate(e.To),
				Reason: endReasons[e.Reason], TerritoryCode: e.Territory,
			}
		case domain.PhaseChanged:
			id, name = e.LearnerID, "phase_changed"
			data = &pathwayv1.PhaseChanged{
				LearnerId: e.LearnerID, EpisodeNumber: int32(e.Episode), PreviousPhase: phases[e.From], Phase: phases[e.To],
				ChangedOn: civilpb.FromDate(e.Date), TerritoryCode: e.Territory,
			}
		default:
			return nil, fmt.Errorf("pathway: no wire form for event %T", e)
		}
		out = append(out, event.Draft{Subject: pathwaySubject(id, name), AggregateID: id, Data: data})
	}
	return out, nil
}

// fromProto reads an event of a pathway's history; false for any other
// message (one of a type a newer version added, which changes nothing
// this version knows).
func fromProto(m proto.Message) (domain.Event, bool) {
	switch m := m.(type) {
	case *pathwayv1.PathwayEntered:
		return domain.PathwayEntered{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()),
			EntryDate: civilpb.Date(m.GetEntryDate()), Territory: m.GetTerritoryCode(),
		}, true
	case *pathwayv1.PathwayExited:
		return domain.PathwayExited{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()),
			EntryDate: civilpb.Date(m.GetEntryDate()), ExitDate: civilpb.Date(m.GetExitDate()),
			Reason: platform.FromWire(exitReasons, m.GetReason()), Detail: m.GetDetail(), Territory: m.GetTerritoryCode(),
			Pending: platform.FromWire(pendingChoices, m.GetPendingReferrals()),
			Carried: ints(m.GetCarriedReferralNumbers()), Followed: ints(m.GetFollowedReferralNumbers()),
		}, true
	case *pathwayv1.QualifFollowUpEnded:
		return domain.QualifFollowUpEnded{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Referral: int(m.GetReferralNumber()),
			Outcome: platform.FromWire(outcomes, m.GetOutcome()), Date: civilpb.Date(m.GetEndDate()), Territory: m.GetTerritoryCode(),
		}, true
	case *pathwayv1.FollowUpRecorded:
		return domain.FollowUpRecorded{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), ExitDate: civilpb.Date(m.GetExitDate()), DueOn: civilpb.Date(m.GetDueOn()),
			Situation: platform.FromWire(situations6, m.GetSituation()), Employment: platform.FromWire(employmentTypes, m.GetEmploymentType()),
			RecordedOn: civilpb.Date(m.GetRecordedOn()), Territory: m.GetTerritoryCode(),
		}, true
	case *pathwayv1.ExitBackdated:
		return domain.ExitBackdated{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), ExitDate: civilpb.Date(m.GetExitDate()),
			RecordedOn: civilpb.Date(m.GetRecordedOn()), Territory: m.GetTerritoryCode(),
		}, true
	case *pathwayv1.ReferralRecorded:
		return domain.ReferralRecorded{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Referral: int(m.GetReferralNumber()),
			Programme: platform.FromWire(programmes, m.GetProgramme()), Date: civilpb.Date(m.GetReferralDate()),
			Organisation: m.GetOrganisation(),
		}, true
	case *pathwayv1.ReferralOutcomeRecorded:
		return domain.ReferralOutcomeRecorded{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Referral: int(m.GetReferralNumber()),
			Outcome: platform.FromWire(outcomes, m.GetOutcome()), Date: civilpb.Date(m.GetOutcomeDate()),
			RNCP: m.GetRncpCode(), CertifiedOn: civilpb.Date(m.GetCertificationDate()),
		}, true
	case *pathwayv1.NeedsAnalysisNoted:
		return domain.NeedsAnalysisNoted{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), AnalysisID: m.GetAnalysisId(),
			Date: civilpb.Date(m.GetCompletedOn()), Territory: m.GetTerritoryCode(),
		}, true
	case *pathwayv1.ImmersionNoted:
		return domain.ImmersionNoted{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), SessionID: m.GetSessionId(), RomeCodes: m.GetRomeCodes(),
			Completed: m.GetCompleted(), Date: civilpb.Date(m.GetRecordedOn()), Territory: m.GetTerritoryCode(),
		}, true
	case *pathwayv1.LearnerEnrolled:
		return domain.LearnerEnrolled{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Enrolment: int(m.GetEnrolmentNumber()),
			ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), Kind: platform.FromWire(enrolmentKinds, m.GetKind()),
			From: civilpb.Date(m.GetFromDate()), Territory: m.GetTerritoryCode(), Programme: platform.FromWire(fundingProgrammes, m.GetProgramme()),
		}, true
	case *pathwayv1.EnrolmentEnded:
		return domain.EnrolmentEnded{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()), Enrolment: int(m.GetEnrolmentNumber()),
			ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), To: civilpb.Date(m.GetToDate()),
			Reason: platform.FromWire(endReasons, m.GetReason()), Territory: m.GetTerritoryCode(),
		}, true
	case *pathwayv1.PhaseChanged:
		return domain.PhaseChanged{
			LearnerID: m.GetLearnerId(), Episode: int(m.GetEpisodeNumber()),
			From: platform.FromWire(phases, m.GetPreviousPhase()), To: platform.FromWire(phases, m.GetPhase()),
			Date: civilpb.Date(m.GetChangedOn()), Territory: m.GetTerritoryCode(),
		}, true
	}
	return nil, false
}

// view is the API's view of a pathway at a stream sequence, with every
// field: see redact for what a caller sees.
func view(p domain.Pathway, version uint64) *pathwayv1.Pathway {
	v := &pathwayv1.Pathway{
		LearnerId: p.LearnerID, TerritoryCode: p.Territory, Version: version, Phase: phases[p.Phase()],
	}
	switch {
	case p.Active():
		v.Status = pathwayv1.PathwayStatus_PATHWAY_STATUS_ACTIVE
	case p.Exited():
		v.Status = pathwayv1.PathwayStatus_PATHWAY_STATUS_EXITED
	}
	for _, e := range p.Episodes {
		ep := &pathwayv1.Episode{Number: int32(e.Number), EntryDate: civilpb.FromDate(e.Entry), NeedsAnalysed: e.NeedsAnalysed, ImmersionsDone: int32(e.ImmersionsDone)}
		if !e.Open() {
			ep.ExitDate, ep.ExitReason, ep.ExitDetail = civilpb.FromDate(e.Exit), exitReasons[e.ExitReason], proto.String(e.ExitDetail)
			ep.FollowUpDueOn = civilpb.FromDate(domain.FollowUpDue(e.Exit))
		}
		ep.FollowingInQualif, ep.QualifFollowUpEndedOn = e.FollowingInQualif, civilpb.FromDate(e.QualifFollowUpEndedOn)
		if e.FollowUp.Recorded() {
			ep.FollowUp = &pathwayv1.FollowUp{
				Situation: situations6[e.FollowUp.Situation], EmploymentType: employmentTypes[e.FollowUp.Employment],
				RecordedOn: civilpb.FromDate(e.FollowUp.RecordedOn),
			}
		}
		for _, r := range e.Referrals {
			ep.Referrals = append(ep.Referrals, referralView(r))
		}
		for _, en := range e.Enrolments {
			ep.Enrolments = append(ep.Enrolments, enrolmentView(en))
		}
		v.Episodes = append(v.Episodes, ep)
	}
	return v
}

func referralView(r domain.Referral) *pathwayv1.Referral {
	return &pathwayv1.Referral{
		Number: int32(r.Number), Programme: programmes[r.Programme], ReferralDate: civilpb.FromDate(r.Date),
		Organisation: r.Organisation, Outcome: outcomes[r.Outcome], OutcomeDate: civilpb.FromDate(r.OutcomeDate),
		RncpCode: r.RNCP, CertificationDate: civilpb.FromDate(r.CertifiedOn), CarriedOver: r.CarriedOver, FollowedInQualif: r.FollowedInQualif,
	}
}

func int32s(ns []int) []int32 {
	var out []int32
	for _, n := range ns {
		out = append(out, int32(n))
	}
	return out
}

func ints(ns []int32) []int {
	var out []int
	for _, n := range ns {
		out = append(out, int(n))
	}
	return out
}

func enrolmentView(e domain.Enrolment) *pathwayv1.Enrolment {
	return &pathwayv1.Enrolment{
		Number: int32(e.Number), ContractId: e.ContractID, OperatorId: e.OperatorID, Kind: enrolmentKinds[e.Kind],
		Programme: fundingProgrammes[e.Programme], FromDate: civilpb.FromDate(e.From), ToDate: civilpb.FromDate(e.To),
		EndReason: endReasons[e.EndReason],
	}
}

func fromEnrolmentView(e *pathwayv1.Enrolment) domain.Enrolment {
	return domain.Enrolment{
		Number: int(e.GetNumber()), ContractID: e.GetContractId(), OperatorID: e.GetOperatorId(),
		Kind: platform.FromWire(enrolmentKinds, e.GetKind()), Programme: platform.FromWire(fundingProgrammes, e.GetProgramme()),
		From: civilpb.Date(e.GetFromDate()), To: civilpb.Date(e.GetToDate()), EndReason: platform.FromWire(endReasons, e.GetEndReason()),
	}
}

// fromView is the inverse of view, to continue folding a stored view.
func fromView(v *pathwayv1.Pathway) domain.Pathway {
	if v == nil {
		return domain.Pathway{}
	}
	p := domain.Pathway{LearnerID: v.GetLearnerId(), Territory: v.GetTerritoryCode()}
	for _, e := range v.GetEpisodes() {
		ep := domain.Episode{
			Number: int(e.GetNumber()), Entry: civilpb.Date(e.GetEntryDate()), Exit: civilpb.Date(e.GetExitDate()),
			ExitReason: platform.FromWire(exitReasons, e.GetExitReason()), ExitDetail: e.GetExitDetail(),
			NeedsAnalysed: e.GetNeedsAnalysed(), ImmersionsDone: int(e.GetImmersionsDone()),
			FollowingInQualif: e.GetFollowingInQualif(), QualifFollowUpEndedOn: civilpb.Date(e.GetQualifFollowUpEndedOn()),
		}
		if f := e.GetFollowUp(); f != nil {
			ep.FollowUp = domain.FollowUp{
				Situation: platform.FromWire(situations6, f.GetSituation()), Employment: platform.FromWire(employmentTypes, f.GetEmploymentType()),
				RecordedOn: civilpb.Date(f.GetRecordedOn()),
			}
		}
		for _, r := range e.GetReferrals() {
			ep.Referrals = append(ep.Referrals, domain.Referral{
				Number: int(r.GetNumber()), Programme: platform.FromWire(programmes, r.GetProgramme()),
				Date: civilpb.Date(r.GetReferralDate()), Organisation: r.GetOrganisation(),
				Outcome: platform.FromWire(outcomes, r.GetOutcome()), OutcomeDate: civilpb.Date(r.GetOutcomeDate()),
				RNCP: r.GetRncpCode(), CertifiedOn: civilpb.Date(r.GetCertificationDate()),
				CarriedOver: r.GetCarriedOver(), FollowedInQualif: r.GetFollowedInQualif(),
			})
		}
		for _, en := range e.GetEnrolments() {
			ep.Enrolments = append(ep.Enrolments, fromEnrolmentView(en))
		}
		p.Episodes = append(p.Episodes, ep)
	}
	return p
}

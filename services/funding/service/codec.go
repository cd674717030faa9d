package service

import (
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// The aggregates (see events.proto): each kind's events lie on
// avenir.funding.<kind>.<id>.<event>. Every id is a canonical lowercase
// UUID; the ledgers' and statements' ids derive from what they are the
// ledger or statement of, so that every process addresses the same
// aggregate.
var (
	contractKind = eventstore.Kind[domain.Contract, domain.Event]{
		Stream: Stream, Prefix: "avenir.funding.contract.", Decode: decode, Evolve: domain.EvolveContract, Encode: encode,
	}
	hoursKind = eventstore.Kind[*domain.HoursLedger, domain.Event]{
		Stream: Stream, Prefix: "avenir.funding.hours.", Decode: decode, Evolve: domain.EvolveHours, Encode: encode,
	}
	groupKind = eventstore.Kind[*domain.GroupLedger, domain.Event]{
		Stream: Stream, Prefix: "avenir.funding.group.", Decode: decode, Evolve: domain.EvolveGroup, Encode: encode,
	}
	feesKind = eventstore.Kind[*domain.FeesLedger, domain.Event]{
		Stream: Stream, Prefix: "avenir.funding.fees.", Decode: decode, Evolve: domain.EvolveFees, Encode: encode,
	}
	statementKind = eventstore.Kind[domain.StatementState, domain.Event]{
		Stream: Stream, Prefix: "avenir.funding.statement.", Decode: decode, Evolve: domain.EvolveStatement, Encode: encode,
	}
	programmeKind = eventstore.Kind[domain.ProgrammeYear, domain.Event]{
		Stream: Stream, Prefix: "avenir.funding.programme.", Decode: decode, Evolve: domain.EvolveProgrammeYear, Encode: encode,
	}
)

// factClaims is the subject prefix of the flat fees' fact claims.
const factClaims = "avenir.funding.fact."

// hoursLedgerID is the ledger of a learner's trainee hours in one ISO week,
// across every contract.
func hoursLedgerID(learnerID string, w domain.Week) string {
	return event.DeriveID("funding/learner-hours", fmt.Sprintf("%s/%04d-W%02d", learnerID, w.Year, w.Week))
}

// contractHoursLedgerID is a former ledger: a learner's trainee hours under
// one contract in one ISO week. Nothing is appended to these any more;
// their lines are folded into the learner's ledger of the week.
func contractHoursLedgerID(contractID, learnerID string, w domain.Week) string {
	return event.DeriveID("funding/hours", fmt.Sprintf("%s/%s/%04d-W%02d", contractID, learnerID, w.Year, w.Week))
}

// factClaimID is the uniqueness claim of a fact's fee of one type.
func factClaimID(learnerID string, t domain.FeeType, factRef string) string {
	return event.DeriveID("funding/fact", fmt.Sprintf("%s/%d/%s", learnerID, int(t), factRef))
}

// programmeYearID is a programme's figures for a calendar year.
func programmeYearID(p domain.Programme, year int) string {
	return event.DeriveID("funding/programme", fmt.Sprintf("%d/%04d", int(p), year))
}

// groupLedgerID is the ledger of one group session of a contract.
func groupLedgerID(contractID, sessionID string) string {
	return event.DeriveID("funding/group", contractID+"/"+sessionID)
}

// feesLedgerID is the ledger of a learner's flat fees under a contract.
func feesLedgerID(contractID, learnerID string) string {
	return event.DeriveID("funding/fees", contractID+"/"+learnerID)
}

// statementID is the statement of a contract's month.
func statementID(contractID string, p civil.Month) string {
	return event.DeriveID("funding/statement", contractID+"/"+p.String())
}

// The domain numbers its enums as on the wire: the conversions are casts,
// and a value unknown to the domain is refused by its checks.

func termsFromProto(t *fundingv1.ContractTerms) domain.Terms {
	out := domain.Terms{
		OperatorID: t.GetOperatorId(), OperatorName: t.GetOperatorName(), Reference: t.GetReference(), Territories: t.GetTerritoryCodes(),
		From: civilpb.Date(t.GetPeriodFrom()), To: civilpb.Date(t.GetPeriodTo()),
		TraineeHourCents: t.GetTraineeHourRateCents(), GroupHourCents: t.GetGroupHourRateCents(),
		AnnualEnvelopeCents: t.GetAnnualEnvelopeCents(), DailyCapMinutes: int(t.GetDailyCapMinutes()),
		WeeklyCapMinutes: int(t.GetWeeklyCapMinutes()), MaxGroupSize: int(t.GetMaxGroupSize()),
		Programme: domain.Programme(t.GetProgramme()),
	}
	for _, f := range t.GetFlatFees() {
		out.FlatFees = append(out.FlatFees, domain.FeeRate{Type: domain.FeeType(f.GetFeeType()), CustomCode: f.GetCustomCode(), AmountCents: f.GetAmountCents(), Label: f.GetLabel()})
	}
	return out
}

func termsToProto(t domain.Terms) *fundingv1.ContractTerms {
	out := &fundingv1.ContractTerms{
		OperatorId: t.OperatorID, OperatorName: t.OperatorName, Reference: t.Reference, TerritoryCodes: t.Territories,
		PeriodFrom: civilpb.FromDate(t.From), PeriodTo: civilpb.FromDate(t.To),
		TraineeHourRateCents: t.TraineeHourCents, GroupHourRateCents: t.GroupHourCents,
		AnnualEnvelopeCents: t.AnnualEnvelopeCents, DailyCapMinutes: int32(t.DailyCapMinutes),
		WeeklyCapMinutes: int32(t.WeeklyCapMinutes), MaxGroupSize: int32(t.MaxGroupSize),
		Programme: commonv1.FundingProgramme(t.Programme),
	}
	for _, f := range t.FlatFees {
		out.FlatFees = append(out.FlatFees, &fundingv1.FlatFeeRate{FeeType: fundingv1.FeeType(f.Type), CustomCode: f.CustomCode, AmountCents: f.AmountCents, Label: f.Label})
	}
	return out
}

func totalsToProto(t domain.Totals) *fundingv1.StatementTotals {
	return &fundingv1.StatementTotals{
		TraineeMinutes: t.TraineeMinutes, TraineeAmountCents: t.TraineeAmount, GroupMinutes: t.GroupMinutes, GroupAmountCents: t.GroupAmount,
		FlatFeeCount: t.FeeCount, FlatFeeAmountCents: t.FeeAmount, AmountCents: t.Amount,
		AnomalyCount: t.AnomalyCount, AnomalyAmountCents: t.AnomalyAmount,
	}
}

func totalsFromProto(t *fundingv1.StatementTotals) domain.Totals {
	return domain.Totals{
		TraineeMinutes: t.GetTraineeMinutes(), TraineeAmount: t.GetTraineeAmountCents(), GroupMinutes: t.GetGroupMinutes(), GroupAmount: t.GetGroupAmountCents(),
		FeeCount: t.GetFlatFeeCount(), FeeAmount: t.GetFlatFeeAmountCents(), Amount: t.GetAmountCents(),
		AnomalyCount: t.GetAnomalyCount(), AnomalyAmount: t.GetAnomalyAmountCents(),
	}
}

func reviewsToProto(rs []domain.Review) []*fundingv1.LineReview {
	out := make([]*fundingv1.LineReview, len(rs))
	for i, r := range rs {
		out[i] = &fundingv1.LineReview{Unit: fundingv1.Unit(r.Key.Unit), OperatorLineId: r.Key.ID, Approved: r.Approved, Reason: r.Reason}
	}
	return out
}

func reviewsFromProto(rs []*fundingv1.LineReview) []domain.Review {
	out := make([]domain.Review, len(rs))
	for i, r := range rs {
		out[i] = domain.Review{Key: domain.LineKey{Unit: domain.Unit(r.GetUnit()), ID: r.GetOperatorLineId()}, Approved: r.GetApproved(), Reason: r.GetReason()}
	}
	return out
}

func weekOf(year, week int32) domain.Week { return domain.Week{Year: int(year), Week: int(week)} }

// draft turns a domain event into the draft of its aggregate.
func draft(ev domain.Event) (event.Draft, error) {
	var (
		agg, id, name string
		data          proto.Message
	)
	switch e := ev.(type) {
	case domain.ContractCreated:
		agg, id, name = "contract", e.ContractID, "created"
		data = &fundingv1.ContractCreated{ContractId: e.ContractID, Terms: termsToProto(e.Terms)}
	case domain.ContractUpdated:
		agg, id, name = "contract", e.ContractID, "updated"
		data = &fundingv1.ContractUpdated{ContractId: e.ContractID, Terms: termsToProto(e.Terms), PreviousEnvelopeCents: e.PreviousEnvelopeCents, Reason: e.Reason}
	case domain.TraineeHoursReported:
		agg, id, name = "hours", e.LedgerID, "reported"
		m := &fundingv1.TraineeHoursReported{
			LedgerId: e.LedgerID, ContractId: e.ContractID, OperatorId: e.OperatorID, LearnerId: e.LearnerID,
			IsoYear: int32(e.Week.Year), IsoWeek: int32(e.Week.Week), RequestId: e.RequestID,
		}
		m.Lines = make([]*fundingv1.TraineeHourLine, len(e.Lines))
		for i, l := range e.Lines {
			m.Lines[i] = &fundingv1.TraineeHourLine{
				OperatorLineId: l.ID, Date: civilpb.FromDate(l.Date), Minutes: int32(l.Minutes), Activity: fundingv1.ActivityType(l.Activity),
				BillingPeriod: civilpb.FromMonth(l.Period), Late: l.Late, RatePerHourCents: l.Rate, AmountCents: l.Amount,
			}
		}
		data = m
	case domain.TraineeLineCorrected:
		agg, id, name = "hours", e.LedgerID, "corrected"
		data = &fundingv1.TraineeLineCorrected{
			LedgerId: e.LedgerID, ContractId: e.ContractID, OperatorId: e.OperatorID, LearnerId: e.LearnerID,
			CorrectsLineId: e.CorrectsID, OperatorLineId: e.LineID, Date: civilpb.FromDate(e.Date), PreviousMinutes: int32(e.PreviousMinutes),
			Minutes: int32(e.Minutes), Activity: fundingv1.ActivityType(e.Activity), Reason: e.Reason, BillingPeriod: civilpb.FromMonth(e.Period),
			Late: e.Late, RatePerHourCents: e.Rate, AmountDeltaCents: e.Delta,
		}
	case domain.TraineeLinesFlagged:
		agg, id, name = "hours", e.LedgerID, "flagged"
		data = &fundingv1.TraineeLinesFlagged{
			LedgerId: e.LedgerID, ContractId: e.ContractID, LearnerId: e.LearnerID, OperatorLineIds: e.LineIDs,
			Reason: fundingv1.AnomalyReason(e.Reason), ExitDate: civilpb.FromDate(e.ExitDate), EpisodeNumber: int32(e.Episode), BillingPeriod: civilpb.FromMonth(e.Period),
		}
	case domain.GroupHoursReported:
		agg, id, name = "group", e.LedgerID, "reported"
		l := e.Line
		data = &fundingv1.GroupHoursReported{
			GroupLedgerId: e.LedgerID, ContractId: e.ContractID, OperatorId: e.OperatorID, GroupSessionId: e.GroupSessionID,
			OperatorLineId: l.ID, Date: civilpb.FromDate(l.Date), Minutes: int32(l.Minutes), Trainer: l.Trainer, AttendeeLearnerIds: l.Attendees,
			BillingPeriod: civilpb.FromMonth(l.Period), Late: l.Late, RatePerHourCents: l.Rate, AmountCents: l.Amount, RequestId: e.RequestID,
		}
	case domain.FlatFeeClaimed:
		agg, id, name = "fees", e.LedgerID, "claimed"
		data = &fundingv1.FlatFeeClaimed{
			FeesLedgerId: e.LedgerID, ContractId: e.ContractID, OperatorId: e.OperatorID, LearnerId: e.LearnerID,
			FeeType: fundingv1.FeeType(e.Type), CustomCode: e.CustomCode, FactRef: e.FactRef, FactDate: civilpb.FromDate(e.FactDate),
			EvidenceReference: e.Evidence, OperatorLineId: e.LineID, BillingPeriod: civilpb.FromMonth(e.Period), Late: e.Late,
			AmountCents: e.Amount, RequestId: e.RequestID,
		}
	case domain.StatementReviewed:
		agg, id, name = "statement", e.StatementID, "reviewed"
		data = &fundingv1.StatementReviewed{
			StatementId: e.StatementID, ContractId: e.ContractID, Period: civilpb.FromMonth(e.Period), Reviews: reviewsToProto(e.Reviews), Reviewer: e.Reviewer,
		}
	case domain.StatementClosed:
		agg, id, name = "statement", e.StatementID, "closed"
		data = &fundingv1.StatementClosed{
			StatementId: e.StatementID, ContractId: e.ContractID, OperatorId: e.OperatorID, Period: civilpb.FromMonth(e.Period),
			ClosedOn: civilpb.FromDate(e.ClosedOn), Totals: totalsToProto(e.Totals), ClosedBy: e.ClosedBy,
		}
	case domain.ProgrammeYearSet:
		agg, id, name = "programme", e.ID, "set"
		data = &fundingv1.ProgrammeYearSet{
			ProgrammeYearId: e.ID, Programme: commonv1.FundingProgramme(e.Programme), Year: int32(e.Year), EnvelopeCents: e.Envelope,
			BeneficiariesTarget: int32(e.Target), Reason: e.Reason,
		}
	case domain.FactFeeClaimed:
		id := factClaimID(e.LearnerID, e.Type, e.FactRef)
		return event.Draft{Subject: factClaims + id + ".claimed", AggregateID: id, Unique: true, Data: &fundingv1.FactFeeClaimed{
			LearnerId: e.LearnerID, FeeType: fundingv1.FeeType(e.Type), FactRef: e.FactRef, ContractId: e.ContractID,
			OperatorId: e.OperatorID, OperatorLineId: e.LineID,
		}}, nil
	default:
		return event.Draft{}, fmt.Errorf("funding: no codec for %T", ev)
	}
	return event.Draft{Subject: "avenir.funding." + agg + "." + id + "." + name, AggregateID: id, Data: data}, nil
}

// encode gives a decision's events their wire form: every kind's Encode.
func encode(evs []domain.Event) ([]event.Draft, error) {
	out := make([]event.Draft, len(evs))
	for i, ev := range evs {
		d, err := draft(ev)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// decodeData turns a stored payload into a domain event; payloads of other
// types (added by a later version) are skipped, and so are the fact claims,
// which no aggregate folds (they are looked up by subject).
func decodeData(msg proto.Message) (domain.Event, bool) {
	switch m := msg.(type) {
	case *fundingv1.ContractCreated:
		return domain.ContractCreated{ContractID: m.GetContractId(), Terms: termsFromProto(m.GetTerms())}, true
	case *fundingv1.ContractUpdated:
		return domain.ContractUpdated{ContractID: m.GetContractId(), Terms: termsFromProto(m.GetTerms()), PreviousEnvelopeCents: m.GetPreviousEnvelopeCents(), Reason: m.GetReason()}, true
	case *fundingv1.TraineeHoursReported:
		e := domain.TraineeHoursReported{
			LedgerID: m.GetLedgerId(), ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), LearnerID: m.GetLearnerId(),
			Week: weekOf(m.GetIsoYear(), m.GetIsoWeek()), RequestID: m.GetRequestId(), Lines: make([]domain.HourLine, len(m.GetLines())),
		}
		for i, l := range m.GetLines() {
			e.Lines[i] = domain.HourLine{
				ID: l.GetOperatorLineId(), Date: civilpb.Date(l.GetDate()), Minutes: int(l.GetMinutes()), Activity: domain.Activity(l.GetActivity()),
				Period: civilpb.Month(l.GetBillingPeriod()), Late: l.GetLate(), Rate: l.GetRatePerHourCents(), Amount: l.GetAmountCents(),
			}
		}
		return e, true
	case *fundingv1.TraineeLineCorrected:
		return domain.TraineeLineCorrected{
			LedgerID: m.GetLedgerId(), ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), LearnerID: m.GetLearnerId(),
			CorrectsID: m.GetCorrectsLineId(), LineID: m.GetOperatorLineId(), Date: civilpb.Date(m.GetDate()), PreviousMinutes: int(m.GetPreviousMinutes()),
			Minutes: int(m.GetMinutes()), Activity: domain.Activity(m.GetActivity()), Reason: m.GetReason(), Period: civilpb.Month(m.GetBillingPeriod()),
			Late: m.GetLate(), Rate: m.GetRatePerHourCents(), Delta: m.GetAmountDeltaCents(),
		}, true
	case *fundingv1.TraineeLinesFlagged:
		return domain.TraineeLinesFlagged{
			LedgerID: m.GetLedgerId(), ContractID: m.GetContractId(), LearnerID: m.GetLearnerId(), LineIDs: m.GetOperatorLineIds(),
			Reason: domain.Anomaly(m.GetReason()), ExitDate: civilpb.Date(m.GetExitDate()), Episode: int(m.GetEpisodeNumber()), Period: civilpb.Month(m.GetBillingPeriod()),
		}, true
	case *fundingv1.GroupHoursReported:
		return domain.GroupHoursReported{
			LedgerID: m.GetGroupLedgerId(), ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), GroupSessionID: m.GetGroupSessionId(), RequestID: m.GetRequestId(),
			Line: domain.GroupLine{
				ID: m.GetOperatorLineId(), Date: civilpb.Date(m.GetDate()), Minutes: int(m.GetMinutes()), Trainer: m.GetTrainer(), Attendees: m.GetAttendeeLearnerIds(),
				Period: civilpb.Month(m.GetBillingPeriod()), Late: m.GetLate(), Rate: m.GetRatePerHourCents(), Amount: m.GetAmountCents(),
			},
		}, true
	case *fundingv1.FlatFeeClaimed:
		return domain.FlatFeeClaimed{
			LedgerID: m.GetFeesLedgerId(), ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), LearnerID: m.GetLearnerId(),
			Type: domain.FeeType(m.GetFeeType()), CustomCode: m.GetCustomCode(), FactRef: m.GetFactRef(), FactDate: civilpb.Date(m.GetFactDate()),
			Evidence: m.GetEvidenceReference(), LineID: m.GetOperatorLineId(), Period: civilpb.Month(m.GetBillingPeriod()), Late: m.GetLate(),
			Amount: m.GetAmountCents(), RequestID: m.GetRequestId(),
		}, true
	case *fundingv1.StatementReviewed:
		return domain.StatementReviewed{
			StatementID: m.GetStatementId(), ContractID: m.GetContractId(), Period: civilpb.Month(m.GetPeriod()), Reviews: reviewsFromProto(m.GetReviews()), Reviewer: m.GetReviewer(),
		}, true
	case *fundingv1.ProgrammeYearSet:
		return domain.ProgrammeYearSet{
			ID: m.GetProgrammeYearId(), Programme: domain.Programme(m.GetProgramme()), Year: int(m.GetYear()), Envelope: m.GetEnvelopeCents(),
			Target: int(m.GetBeneficiariesTarget()), Reason: m.GetReason(),
		}, true
	case *fundingv1.StatementClosed:
		return domain.StatementClosed{
			StatementID: m.GetStatementId(), ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), Period: civilpb.Month(m.GetPeriod()),
			ClosedOn: civilpb.Date(m.GetClosedOn()), Totals: totalsFromProto(m.GetTotals()), ClosedBy: m.GetClosedBy(),
		}, true
	}
	return nil, false
}

func decode(ev event.Event) (domain.Event, bool) { return decodeData(ev.Data) }

// contractOf is the contract an event belongs to ("" for none).
func contractOf(ev domain.Event) string {
	switch e := ev.(type) {
	case domain.ContractCreated:
		return e.ContractID
	case domain.ContractUpdated:
		return e.ContractID
	case domain.TraineeHoursReported:
		return e.ContractID
	case domain.TraineeLineCorrected:
		return e.ContractID
	case domain.TraineeLinesFlagged:
		return e.ContractID
	case domain.GroupHoursReported:
		return e.ContractID
	case domain.FlatFeeClaimed:
		return e.ContractID
	case domain.StatementReviewed:
		return e.ContractID
	case domain.StatementClosed:
		return e.ContractID
	}
	return ""
}

// impersonal is m without its personal fields ((avenir.common.v1.personal),
// such as a correction's reason): what the read models keep of an event. m
// itself is returned when it has none set, else a copy.
func impersonal(m proto.Message) proto.Message {
	r := m.ProtoReflect()
	fields := personalFields(r.Descriptor())
	if !slices.ContainsFunc(fields, r.Has) {
		return m
	}
	out := proto.Clone(m).ProtoReflect()
	for _, fd := range fields {
		out.Clear(fd)
	}
	return out.Interface()
}

// personals caches personalFields, by message type.
var personals sync.Map // protoreflect.FullName → []protoreflect.FieldDescriptor

// personalFields are the personal fields of a message type, looked up once
// (the books project every event, hour reports first: they have none).
func personalFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	if v, ok := personals.Load(md.FullName()); ok {
		return v.([]protoreflect.FieldDescriptor)
	}
	var out []protoreflect.FieldDescriptor
	fds := md.Fields()
	for i := range fds.Len() {
		if fd := fds.Get(i); event.Personal(fd) {
			out = append(out, fd)
		}
	}
	personals.Store(md.FullName(), out)
	return out
}

// resultToProto is a line's fate as answered.
func resultToProto(r domain.Result) *fundingv1.LineResult {
	out := &fundingv1.LineResult{
		Index: int32(r.Index), OperatorLineId: r.LineID, Accepted: r.Accepted, AlreadyReported: r.Already,
		Reason: fundingv1.RejectionReason(r.Reason), Detail: r.Detail, Field: r.Field, Late: r.Late, AmountCents: r.AmountCts,
	}
	if r.Accepted {
		out.BillingPeriod = civilpb.FromMonth(r.Period)
	}
	return out
}

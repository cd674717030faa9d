package service

import (
	"context"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
)

// ReportGroupHours implements fundingv1.FundingServiceServer: one line of a
// group session, decided by the session's ledger (domain.DecideGroup).
func (s *Service) ReportGroupHours(ctx context.Context, req *fundingv1.ReportGroupHoursRequest) (*fundingv1.ReportGroupHoursResponse, error) {
	var v apperr.Violations
	checkRequest(&v, req.GetRequestId())
	checkID(&v, "contract_id", req.GetContractId())
	if !domain.ValidCode(req.GetGroupSessionId()) {
		v.Add("group_session_id", "is required: 1 to 64 letters, digits, dashes or underscores")
	}
	if n := len(req.GetAttendeeLearnerIds()); n > domain.MaxGroupSizeLimit {
		v.Addf("attendee_learner_ids", "at most %d attendees", domain.MaxGroupSizeLimit)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), reports)
	if err != nil {
		return nil, err
	}
	enrolled, _, err := s.enrolment(ctx, req.GetAttendeeLearnerIds())
	if err != nil {
		return nil, err
	}
	owners, err := s.owners(ctx, c.ID, []string{req.GetOperatorLineId()})
	if err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	ledgerID := groupLedgerID(c.ID, req.GetGroupSessionId())
	cmd := domain.ReportGroup{
		LedgerID: ledgerID, ContractID: c.ID, GroupSessionID: req.GetGroupSessionId(), RequestID: req.GetRequestId(),
		LineID: req.GetOperatorLineId(), Date: dateOf(req.GetDate()), Minutes: int(req.GetMinutes()), Trainer: req.GetTrainer(),
		Attendees: req.GetAttendeeLearnerIds(), Terms: c.Terms, Enrolment: enrolled, Closed: snap.Closed,
		TakenElsewhere: takenElsewhere(owners, groupOwner(ledgerID)), CheckLearner: ident.CheckID,
	}
	var result domain.Result
	meta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, groupFilter(ledgerID), meta, func(h eventstore.History) ([]event.Draft, error) {
		cmd.Budget = budgetOf(c.Terms, snap.Used)
		evs, r := domain.DecideGroup(foldGroup(h.Events), cmd)
		result = r
		return drafts(evs)
	})
	if err != nil {
		return nil, err
	}
	if res.Replayed {
		for _, ev := range res.Events {
			if e, ok := decode(ev); ok {
				if g, ok := e.(domain.GroupHoursReported); ok {
					result = domain.Result{LineID: g.Line.ID, Accepted: true, Period: g.Line.Period, Late: g.Line.Late, AmountCts: g.Line.Amount}
				}
			}
		}
	}
	return &fundingv1.ReportGroupHoursResponse{Result: resultToProto(result), BudgetWarning: warned(c.Terms, snap.Used, result)}, nil
}

// warned reports whether the contract year of an accepted line reached the
// warning threshold with it.
func warned(t domain.Terms, used map[int]int64, r domain.Result) bool {
	if !r.Accepted {
		return false
	}
	y := t.PeriodYear(r.Period)
	spent := used[y]
	if !r.Already {
		spent += r.AmountCts
	}
	return spent*100 >= domain.WarningPercent*t.AnnualEnvelopeCents
}

// ClaimFlatFee implements fundingv1.FundingServiceServer: the fee is
// matched to the learner's first triggering fact not yet claimed, from the
// learners read model (domain.DecideFee), in the learner's fees ledger, so
// that a fact is claimed once.
func (s *Service) ClaimFlatFee(ctx context.Context, req *fundingv1.ClaimFlatFeeRequest) (*fundingv1.ClaimFlatFeeResponse, error) {
	var v apperr.Violations
	checkRequest(&v, req.GetRequestId())
	checkID(&v, "contract_id", req.GetContractId())
	checkID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), reports)
	if err != nil {
		return nil, err
	}
	learner := req.GetLearnerId()
	ls, err := s.learners(ctx, []string{learner})
	if err != nil {
		return nil, err
	}
	owners, err := s.owners(ctx, c.ID, []string{req.GetOperatorLineId()})
	if err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	ledgerID := feesLedgerID(c.ID, learner)
	cmd := domain.ClaimFee{
		LedgerID: ledgerID, ContractID: c.ID, LearnerID: learner, RequestID: req.GetRequestId(), LineID: req.GetOperatorLineId(),
		Type: domain.FeeType(req.GetFeeType()), CustomCode: req.GetCustomCode(), Evidence: req.GetEvidenceReference(), Terms: c.Terms,
		Facts: ls[learner].facts(), Closed: snap.Closed, TakenElsewhere: takenElsewhere(owners, feesOwner(ledgerID)), Today: s.today(),
	}
	var (
		result  domain.Result
		claimed domain.FlatFeeClaimed
	)
	meta := eventstore.Command{RequestID: req.GetRequestId(), Actor: auth.ActorFrom(ctx), Time: s.deps.Now()}
	res, err := s.events.Execute(ctx, Stream, feesFilter(ledgerID), meta, func(h eventstore.History) ([]event.Draft, error) {
		cmd.Budget = budgetOf(c.Terms, snap.Used)
		f := foldFees(h.Events)
		evs, r := domain.DecideFee(f, cmd)
		result = r
		if r.Already {
			claimed = f.ByLine[r.LineID]
		}
		return drafts(evs)
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range res.Events {
		if e, ok := decode(ev); ok {
			if f, ok := e.(domain.FlatFeeClaimed); ok {
				claimed = f
				if res.Replayed {
					result = domain.Result{LineID: f.LineID, Accepted: true, Period: f.Period, Late: f.Late, AmountCts: f.Amount}
				}
			}
		}
	}
	resp := &fundingv1.ClaimFlatFeeResponse{Result: resultToProto(result), BudgetWarning: warned(c.Terms, snap.Used, result)}
	if result.Accepted {
		resp.FactRef, resp.FactDate = claimed.FactRef, civilpb.FromDate(claimed.FactDate)
	}
	return resp, nil
}

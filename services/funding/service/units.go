package service

import (
	"context"
	"maps"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// ReportGroupHours implements fundingv1.FundingServiceServer: one line of a
// group session, decided by the session's ledger (domain.DecideGroup).
func (s *Service) ReportGroupHours(ctx context.Context, req *fundingv1.ReportGroupHoursRequest) (*fundingv1.ReportGroupHoursResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "contract_id", req.GetContractId())
	ident.Code(&v, "group_session_id", req.GetGroupSessionId())
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
	placed, _, err := s.placements(ctx, req.GetAttendeeLearnerIds(), false)
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
		LineID: req.GetOperatorLineId(), Date: civilpb.Date(req.GetDate()), Minutes: int(req.GetMinutes()), Trainer: req.GetTrainer(),
		Attendees: req.GetAttendeeLearnerIds(), Terms: c.Terms, Learners: placed, Closed: snap.Closed,
		TakenElsewhere: takenElsewhere(owners, groupOwner(ledgerID)), CheckLearner: ident.CheckID, Today: s.deps.Today(),
	}
	var result domain.Result
	out, err := s.groups.Execute(ctx, ledgerID, s.deps.Command(ctx, req.GetRequestId()), func(g *domain.GroupLedger) ([]domain.Event, error) {
		cmd.Budget = budgetOf(c.Terms, snap.Used)
		evs, r, err := domain.DecideGroup(g, cmd)
		result = r
		return evs, err
	})
	if err != nil {
		return nil, err
	}
	if out.Replayed {
		for _, e := range out.Events {
			if g, ok := e.(domain.GroupHoursReported); ok {
				result = domain.Result{LineID: g.Line.ID, Accepted: true, Period: g.Line.Period, Late: g.Line.Late, AmountCts: g.Line.Amount}
			}
		}
	}
	return &fundingv1.ReportGroupHoursResponse{Result: resultToProto(result), BudgetWarning: warned(c.Terms, snap.Used, result, out.Replayed)}, nil
}

// warned reports whether the contract year of an accepted line reached the
// warning threshold with it. used is what the books billed before the
// decision; a line already billed (reported before, or by the first run of
// a replayed request) is counted in it.
func warned(t domain.Terms, used map[int]int64, r domain.Result, billed bool) bool {
	if !r.Accepted {
		return false
	}
	y := t.PeriodYear(r.Period)
	spent := used[y]
	if !r.Already && !billed {
		spent += r.AmountCts
	}
	return spent*100 >= domain.WarningPercent*t.AnnualEnvelopeCents
}

// ClaimFlatFee implements fundingv1.FundingServiceServer: the fee is
// matched to the learner's first triggering fact whose fee was not paid
// yet, on whose day the learner was enrolled with the contract, from the
// learners read model (domain.DecideFee), in the learner's fees ledger of
// the contract. A standard fee is appended with its fact's uniqueness
// claim: a concurrent claim of the same fact under another contract
// conflicts, and the decision, run again, finds it paid. Where a fact was
// paid is looked up inside the decision, on the claim's subject (and in
// the books, for the claims made before the fact claims existed). The
// answer waits, a bounded time, for the books read model to apply the
// claim, so that ListClaimableFees then shows it paid.
func (s *Service) ClaimFlatFee(ctx context.Context, req *fundingv1.ClaimFlatFeeRequest) (*fundingv1.ClaimFlatFeeResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "contract_id", req.GetContractId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), reports)
	if err != nil {
		return nil, err
	}
	learner := req.GetLearnerId()
	placed, ls, err := s.placements(ctx, []string{learner}, false)
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
	typ := domain.FeeType(req.GetFeeType())
	facts := ls[learner].facts()
	booked, err := s.paidFacts(ctx, learner, typ, facts)
	if err != nil {
		return nil, err
	}
	ledgerID := feesLedgerID(c.ID, learner)
	cmd := domain.ClaimFee{
		LedgerID: ledgerID, ContractID: c.ID, LearnerID: learner, RequestID: req.GetRequestId(), LineID: req.GetOperatorLineId(),
		Type: typ, CustomCode: req.GetCustomCode(), Evidence: req.GetEvidenceReference(), Terms: c.Terms,
		Facts: facts, Learner: placed.Get(learner), Closed: snap.Closed, TakenElsewhere: takenElsewhere(owners, feesOwner(ledgerID)), Today: s.deps.Today(),
	}
	var (
		result  domain.Result
		claimed domain.FlatFeeClaimed // the claim answered, when accepted
	)
	out, err := s.fees.Execute(ctx, ledgerID, s.deps.Command(ctx, req.GetRequestId()), func(f *domain.FeesLedger) ([]domain.Event, error) {
		paid, err := s.factPayments(ctx, learner, typ, facts, booked)
		if err != nil {
			return nil, err
		}
		cmd.Budget = budgetOf(c.Terms, snap.Used)
		cmd.Paid = func(x domain.Fact) (domain.Payment, bool) { p, ok := paid[x.Ref]; return p, ok }
		evs, r, err := domain.DecideFee(f, cmd)
		result = r
		if r.Already {
			claimed = f.ByLine[r.LineID]
		}
		return evs, err
	})
	if err != nil {
		return nil, err
	}
	// What ListClaimableFees reads next shows the claim.
	s.settle(ctx, out.Stored)
	for _, e := range out.Events {
		if f, ok := e.(domain.FlatFeeClaimed); ok {
			claimed = f
			if out.Replayed {
				result = domain.Result{LineID: f.LineID, Accepted: true, Period: f.Period, Late: f.Late, AmountCts: f.Amount}
			}
		}
	}
	resp := &fundingv1.ClaimFlatFeeResponse{Result: resultToProto(result), BudgetWarning: warned(c.Terms, snap.Used, result, out.Replayed)}
	if result.Accepted {
		resp.FactRef, resp.FactDate = claimed.FactRef, civilpb.FromDate(claimed.FactDate)
	}
	return resp, nil
}

// factPayments is where the learner's facts' fees of one type were paid,
// by fact ref: their uniqueness claims, looked up now, and, for the claims
// made before the fact claims existed, the books (booked).
func (s *Service) factPayments(ctx context.Context, learner string, t domain.FeeType, facts []domain.Fact, booked map[string]domain.Payment) (map[string]domain.Payment, error) {
	out := maps.Clone(booked)
	if t == domain.FeeCustom || !t.Valid() {
		return out, nil
	}
	for _, f := range facts {
		if f.Type != t {
			continue
		}
		ev, found, err := s.fees.Store().Lookup(ctx, Stream, factClaims+factClaimID(learner, t, f.Ref)+".claimed")
		if err != nil {
			return nil, err
		}
		if m, ok := ev.Data.(*fundingv1.FactFeeClaimed); found && ok {
			out[f.Ref] = domain.Payment{ContractID: m.GetContractId(), OperatorID: m.GetOperatorId(), LineID: m.GetOperatorLineId()}
		}
	}
	return out, nil
}

package service

import (
	"context"
	"slices"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Page sizes of ListClaimableFees, in facts.
const (
	DefaultClaimableFeesPage = 200
	MaxClaimableFeesPage     = 1000
)

// standardFees are the fee types a fact pays, in wire order.
var standardFees = []domain.FeeType{
	domain.FeeNeedsAnalysisCompleted, domain.FeeImmersionCompleted, domain.FeeImmersionPartiallyCompleted,
	domain.FeeExitToEmployment, domain.FeeExitToQualifyingTraining,
}

var feeClaimStates = map[domain.FactState]fundingv1.FeeClaimState{
	domain.FactClaimable:     fundingv1.FeeClaimState_FEE_CLAIM_STATE_CLAIMABLE,
	domain.FactPaidHere:      fundingv1.FeeClaimState_FEE_CLAIM_STATE_ALREADY_PAID_HERE,
	domain.FactPaidElsewhere: fundingv1.FeeClaimState_FEE_CLAIM_STATE_PAID_ELSEWHERE,
	domain.FactNotEligible:   fundingv1.FeeClaimState_FEE_CLAIM_STATE_NOT_ELIGIBLE,
}

// ListClaimableFees implements fundingv1.FundingServiceServer, from the
// read models, as ClaimFlatFee decides: the learners ever enrolled with the
// contract (the learners read model's contract index), in id order; for
// each, its facts of the standard fee types the contract pays, dated in the
// contract's period, in the order they happened, each with its standing by
// domain.Standings over what the books know of where facts' fees were paid,
// the contract's closed periods and budget, and today. Where a fact paid
// elsewhere was paid is not told. The contract's operator, funders and
// admins; another operator's contract is not found, as in GetContract.
func (s *Service) ListClaimableFees(ctx context.Context, req *fundingv1.ListClaimableFeesRequest) (*fundingv1.ListClaimableFeesResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "contract_id", req.GetContractId())
	only := req.GetLearnerId()
	if only != "" {
		ident.ID(&v, "learner_id", only)
	}
	size := DefaultClaimableFeesPage
	switch n := req.GetPageSize(); {
	case n < 0 || n > MaxClaimableFeesPage:
		v.Addf("page_size", "1 to %d facts (0: %d)", MaxClaimableFeesPage, DefaultClaimableFeesPage)
	case n > 0:
		size = int(n)
	}
	query := paging.Fingerprint("claimable-fees", req.GetContractId(), only)
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	var paid []domain.FeeType
	for _, t := range standardFees {
		if _, ok := c.Terms.Fee(t, ""); ok {
			paid = append(paid, t)
		}
	}
	out := &fundingv1.ListClaimableFeesResponse{}
	if len(paid) == 0 {
		return out, nil
	}
	snap, err := s.snapshot(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	today := s.deps.Today()
	q := projection.RangeQuery{After: after, Limit: scanPage}
	if only != "" {
		// The learner alone: the index holds it when it was ever enrolled.
		q = projection.RangeQuery{Prefix: only, After: after, Limit: scanPage}
	}
	err = projection.Scan(ctx, s.store, learnersProjection, contractLearnersIndex(c.ID), q, func(ids []string) (bool, error) {
		if only != "" {
			ids = filterEqual(ids, only)
		}
		placed, ls, err := s.placements(ctx, ids, false)
		if err != nil {
			return false, err
		}
		booked, err := s.paidFactsOf(ctx, ids, ls, paid)
		if err != nil {
			return false, err
		}
		for _, id := range ids {
			rows := learnerFees(c, paid, id, placed.Get(id), ls[id].facts(), booked[id], snap, today)
			if len(out.Fees) > 0 && len(out.Fees)+len(rows) > size {
				out.NextPageToken = paging.Encode(query, after)
				return false, nil
			}
			out.Fees, after = append(out.Fees, rows...), id
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func filterEqual(ids []string, id string) []string {
	for _, x := range ids {
		if x == id {
			return []string{id}
		}
	}
	return nil
}

// factRef names a fact of a fee type.
type factRef struct {
	t   domain.FeeType
	ref string
}

// paidFactsOf reads, in one round trip, where the facts' fees of the
// types were paid, per the books, by learner and fact.
func (s *Service) paidFactsOf(ctx context.Context, ids []string, ls map[string]storedLearner, types []domain.FeeType) (map[string]map[factRef]domain.Payment, error) {
	type at struct {
		learner string
		fact    factRef
	}
	var (
		keys []string
		ats  []at
	)
	for _, id := range ids {
		for _, f := range ls[id].Facts {
			if slices.Contains(types, f.Type) {
				keys = append(keys, feeFactKey(id, f.Type, f.Ref))
				ats = append(ats, at{id, factRef{f.Type, f.Ref}})
			}
		}
	}
	out := map[string]map[factRef]domain.Payment{}
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := projection.GetManyJSON[domain.Payment](ctx, s.store, booksProjection, keys)
	if err != nil {
		return nil, err
	}
	for i, p := range vals {
		if p == nil {
			continue
		}
		if out[ats[i].learner] == nil {
			out[ats[i].learner] = map[factRef]domain.Payment{}
		}
		out[ats[i].learner][ats[i].fact] = *p
	}
	return out, nil
}

// learnerFees is where each of a learner's facts stands under the contract
// (domain.Standings, per fee type), in the order they happened; the first
// claimable fact of each type is the next a claim takes.
func learnerFees(c domain.Contract, types []domain.FeeType, learnerID string, l domain.Learner, facts []domain.Fact,
	booked map[factRef]domain.Payment, snap snapshot, today civil.Date) []*fundingv1.ClaimableFee {
	standing := map[factRef]domain.Standing{}
	next := map[factRef]bool{}
	for _, t := range types {
		cmd := domain.ClaimFee{
			ContractID: c.ID, LearnerID: learnerID, Type: t, Terms: c.Terms, Facts: facts, Learner: l,
			Closed: snap.Closed, Budget: budgetOf(c.Terms, snap.Used), Today: today,
			Paid: func(x domain.Fact) (domain.Payment, bool) { p, ok := booked[factRef{t, x.Ref}]; return p, ok },
		}
		first := true
		for _, st := range domain.Standings(nil, cmd) {
			k := factRef{t, st.Fact.Ref}
			standing[k] = st
			if st.State == domain.FactClaimable && first {
				first, next[k] = false, true
			}
		}
	}
	var out []*fundingv1.ClaimableFee
	for _, x := range facts {
		k := factRef{x.Type, x.Ref}
		st, ok := standing[k]
		if !ok {
			continue
		}
		rate, _ := c.Terms.Fee(x.Type, "")
		row := &fundingv1.ClaimableFee{
			LearnerId: learnerID, FeeType: fundingv1.FeeType(x.Type), FactRef: x.Ref, FactDate: civilpb.FromDate(x.Date),
			RateCents: rate.AmountCents, State: feeClaimStates[st.State], NextToClaim: next[k],
		}
		switch st.State {
		case domain.FactPaidHere:
			row.ClaimLineId = st.Payment.LineID
		case domain.FactNotEligible:
			row.Reason = fundingv1.RejectionReason(st.Reason)
		}
		out = append(out, row)
	}
	return out
}

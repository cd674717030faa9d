package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// optionKinds are the enrolment kinds an option offers: every kind, as
// pathway does not tie kinds to programmes (Enrol accepts any kind under
// any contract).
var optionKinds = func() []pathwayv1.EnrolmentKind {
	out := make([]pathwayv1.EnrolmentKind, len(domain.EnrolmentKinds))
	for i, k := range domain.EnrolmentKinds {
		out[i] = enrolmentKinds[k]
	}
	return out
}()

// ListEnrolmentOptions implements pathwayv1.PathwayServiceServer, from the
// learners and contracts read models: the contracts whose lot covers the
// learner's territory and whose period contains the day, by operator then
// contract id. Only those who may enrol the learner (mayChange, as Enrol)
// get an answer; the learner is not found for the others. No money: the
// read model keeps none.
func (s *Service) ListEnrolmentOptions(ctx context.Context, req *pathwayv1.ListEnrolmentOptionsRequest) (*pathwayv1.ListEnrolmentOptionsResponse, error) {
	var v apperr.Violations
	id := req.GetLearnerId()
	ident.ID(&v, "learner_id", id)
	on := civilpb.OptionalDate(&v, "on", req.GetOn())
	if on.IsZero() {
		on = s.deps.Today()
	}
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint("enrolment-options", id, on.String())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	learner, err := s.learner(ctx, id)
	if err != nil {
		return nil, err
	}
	if !learner.Known {
		return nil, auth.Denied("learner", id)
	}
	scope, err := s.caseload.Scope(ctx, id, learner.Territory)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !mayChange(caller, scope) {
		return nil, auth.Denied("learner", id)
	}
	if learner.Erased {
		return nil, apperr.FailedPrecondition("learner %s was erased: it is enrolled no more", id).
			WithMeta("reason", domain.ReasonLearnerErased)
	}
	out := &pathwayv1.ListEnrolmentOptionsResponse{On: civilpb.FromDate(on), TerritoryCode: learner.Territory}
	prefix := learner.Territory + "/"
	if after != "" && !strings.HasPrefix(after, prefix) {
		return out, nil // the learner's territory is not the token's: nothing after it
	}
	last := ""
	err = projection.Scan(ctx, s.store, contractsProjection, contractTerritoryIndex,
		projection.RangeQuery{Prefix: prefix, After: after, Limit: paging.MaxSize}, func(members []string) (bool, error) {
			keys := make([]string, len(members))
			for i, m := range members {
				keys[i] = contractKey(m[strings.LastIndexByte(m, '/')+1:])
			}
			values, err := s.store.GetMany(ctx, contractsProjection, keys)
			if err != nil {
				return false, err
			}
			for i, m := range members {
				if values[i] == nil {
					continue
				}
				var c fundingv1.ContractCreated
				if err := proto.Unmarshal(values[i], &c); err != nil {
					return false, fmt.Errorf("pathway: stored contract %s: %w", keys[i], err)
				}
				if !offered(c.GetTerms(), learner.Territory, on) {
					continue
				}
				if len(out.Options) == size {
					out.NextPageToken = paging.Encode(query, last)
					return false, nil
				}
				out.Options = append(out.Options, optionView(&c))
				last = m
			}
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// offered reports whether a contract of terms enrols a learner of
// territory on day.
func offered(t *fundingv1.ContractTerms, territory string, day civil.Date) bool {
	k := contractOf("", t)
	return !day.Before(k.From) && !day.After(k.To) && slices.Contains(k.Territories, territory)
}

// optionView is a contract as an option: no rate nor envelope.
func optionView(c *fundingv1.ContractCreated) *pathwayv1.EnrolmentOption {
	t := c.GetTerms()
	return &pathwayv1.EnrolmentOption{
		ContractId: c.GetContractId(), OperatorId: t.GetOperatorId(), OperatorName: t.GetOperatorName(), Reference: t.GetReference(),
		Programme: t.GetProgramme(), PeriodFrom: t.GetPeriodFrom(), PeriodTo: t.GetPeriodTo(), Kinds: slices.Clone(optionKinds),
	}
}

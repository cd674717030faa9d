package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Enrol implements pathwayv1.PathwayServiceServer: the decision reads the
// contract from the contracts read model, once the caller's access to the
// learner is checked. A contract pathway has not seen yet is refused
// (FailedPrecondition, retry shortly), with nothing stored.
func (s *Service) Enrol(ctx context.Context, req *pathwayv1.EnrolRequest) (*pathwayv1.EnrolResponse, error) {
	cmd := domain.Enrol{
		LearnerID: req.GetLearnerId(), Contract: domain.Contract{ID: req.GetContractId()},
		Kind: platform.FromWire(enrolmentKinds, req.GetKind()), From: civilpb.Date(req.GetFromDate()), Today: s.deps.Today(),
	}
	out, err := s.changeWith(ctx, req.GetRequestId(), req.GetLearnerId(), cmd, func(ctx context.Context) (domain.Command, error) {
		if ident.CheckID(cmd.Contract.ID) != "" {
			return cmd, nil // the domain names the problem
		}
		c := cmd
		var err error
		c.Contract, err = s.contract(ctx, cmd.Contract.ID)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	resp := &pathwayv1.EnrolResponse{Pathway: answer(out)}
	for _, e := range out.Events {
		if en, ok := e.(domain.LearnerEnrolled); ok {
			resp.Enrolment = findEnrolment(resp.Pathway, int32(en.Enrolment))
		}
	}
	return resp, nil
}

// EndEnrolment implements pathwayv1.PathwayServiceServer.
func (s *Service) EndEnrolment(ctx context.Context, req *pathwayv1.EndEnrolmentRequest) (*pathwayv1.EndEnrolmentResponse, error) {
	cmd := domain.EndEnrolment{
		LearnerID: req.GetLearnerId(), Number: int(req.GetEnrolmentNumber()), To: civilpb.Date(req.GetToDate()), Today: s.deps.Today(),
	}
	out, err := s.change(ctx, req.GetRequestId(), req.GetLearnerId(), cmd)
	if err != nil {
		return nil, err
	}
	resp := &pathwayv1.EndEnrolmentResponse{Pathway: answer(out)}
	for _, e := range out.Events {
		if en, ok := e.(domain.EnrolmentEnded); ok {
			resp.Enrolment = findEnrolment(resp.Pathway, int32(en.Enrolment))
		}
	}
	return resp, nil
}

func findEnrolment(p *pathwayv1.Pathway, number int32) *pathwayv1.Enrolment {
	for _, e := range p.GetEpisodes() {
		for _, en := range e.GetEnrolments() {
			if en.GetNumber() == number {
				return en
			}
		}
	}
	return nil
}

// The enrolments read model (enrolmentsProjection), one listing per
// enrolment, indexed so that a listing walks only what its filters ask for,
// in the order of the answers (operator, contract, learner, number):
//
//	enrolment:<learner id>/<number>   the EnrolmentListing
//	index operator    <operator>/<contract>/<learner id>/<number>
//	index contract    <contract>/<operator>/<learner id>/<number>
//	index territory   <territory>/<operator>/<contract>/<learner id>/<number>
//
// Numbers are zero-padded so that they sort as numbers.
var enrolmentSubjects = []string{"avenir.pathway.pathway.*.enrolled", "avenir.pathway.pathway.*.enrolment_ended"}

const (
	enrolmentOperatorIndex  = "operator"
	enrolmentContractIndex  = "contract"
	enrolmentTerritoryIndex = "territory"
)

func enrolmentTail(learnerID string, number int) string {
	return fmt.Sprintf("%s/%06d", learnerID, number)
}

func enrolmentKey(tail string) string { return "enrolment:" + tail }

// enrolmentKeyOf is the key of the listing an index member stands for: its
// last two segments are the learner id and the number.
func enrolmentKeyOf(member string) string {
	parts := strings.Split(member, "/")
	if len(parts) < 2 {
		return enrolmentKey(member)
	}
	return enrolmentKey(strings.Join(parts[len(parts)-2:], "/"))
}

// projectEnrolment records an enrolment, then its end.
func (s *Service) projectEnrolment(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	e, ok := pathwayKind.Decode(ev)
	if !ok {
		return nil, nil
	}
	switch e := e.(type) {
	case domain.LearnerEnrolled:
		tail := enrolmentTail(e.LearnerID, e.Enrolment)
		b, err := proto.Marshal(&pathwayv1.EnrolmentListing{
			LearnerId: e.LearnerID, TerritoryCode: e.Territory, EpisodeNumber: int32(e.Episode),
			Enrolment: enrolmentView(domain.Enrolment{
				Number: e.Enrolment, ContractID: e.ContractID, OperatorID: e.OperatorID, Kind: e.Kind, Programme: e.Programme, From: e.From,
			}),
		})
		if err != nil {
			return nil, err
		}
		return []projection.Op{
			projection.Put(enrolmentKey(tail), b),
			projection.IndexAdd(enrolmentOperatorIndex, e.OperatorID+"/"+e.ContractID+"/"+tail),
			projection.IndexAdd(enrolmentContractIndex, e.ContractID+"/"+e.OperatorID+"/"+tail),
			projection.IndexAdd(enrolmentTerritoryIndex, e.Territory+"/"+e.OperatorID+"/"+e.ContractID+"/"+tail),
		}, nil
	case domain.EnrolmentEnded:
		key := enrolmentKey(enrolmentTail(e.LearnerID, e.Enrolment))
		l, err := s.storedEnrolment(ctx, key)
		if err != nil || l == nil {
			return nil, err // an end without its enrolment changes nothing listed
		}
		l.GetEnrolment().ToDate, l.GetEnrolment().EndReason = civilpb.FromDate(e.To), endReasons[e.Reason]
		b, err := proto.Marshal(l)
		if err != nil {
			return nil, err
		}
		return []projection.Op{projection.Put(key, b)}, nil
	}
	return nil, nil
}

func (s *Service) storedEnrolment(ctx context.Context, key string) (*pathwayv1.EnrolmentListing, error) {
	b, err := s.store.Get(ctx, enrolmentsProjection, key)
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeListing(key, b)
}

// enrolmentFilter is what ListEnrolments keeps: every filter given.
type enrolmentFilter struct {
	operator, contract, territory string
	activeOn                      civil.Date
}

func (f enrolmentFilter) match(l *pathwayv1.EnrolmentListing) bool {
	e := l.GetEnrolment()
	return (f.operator == "" || e.GetOperatorId() == f.operator) &&
		(f.contract == "" || e.GetContractId() == f.contract) &&
		(f.territory == "" || l.GetTerritoryCode() == f.territory) &&
		(f.activeOn.IsZero() || fromEnrolmentView(e).Covers(f.activeOn))
}

// walk is the index and the prefixes, in order, that hold every enrolment
// f keeps within territories (nil: every territory).
func (f enrolmentFilter) walk(territories []string) (string, []string) {
	var suffix string
	if f.operator != "" {
		suffix = f.operator + "/"
		if f.contract != "" {
			suffix += f.contract + "/"
		}
	}
	switch {
	case territories != nil:
		prefixes := make([]string, len(territories))
		for i, t := range territories {
			prefixes[i] = t + "/" + suffix
		}
		return enrolmentTerritoryIndex, prefixes
	case f.contract != "":
		p := f.contract + "/"
		if f.operator != "" {
			p += f.operator + "/"
		}
		return enrolmentContractIndex, []string{p}
	}
	return enrolmentOperatorIndex, []string{suffix}
}

// ListEnrolments implements pathwayv1.PathwayServiceServer, from the read
// model. Operators list their own enrolments (operator_id is always
// theirs) of the learners they still read, funders and admins every one,
// referents those of the learners they read in their territories (each
// learner's scope checked, as ListPathways does). Several territories are
// walked one after the other.
func (s *Service) ListEnrolments(ctx context.Context, req *pathwayv1.ListEnrolmentsRequest) (*pathwayv1.ListEnrolmentsResponse, error) {
	var v apperr.Violations
	caller, _ := auth.FromContext(ctx)
	f := enrolmentFilter{operator: req.GetOperatorId(), contract: req.GetContractId(), territory: req.GetTerritoryCode()}
	if caller.Role == auth.RoleOperator {
		f.operator = caller.OperatorID
	} else {
		ident.OptionalCode(&v, "operator_id", f.operator)
	}
	ident.OptionalID(&v, "contract_id", f.contract)
	ident.OptionalTerritory(&v, "territory_code", f.territory)
	f.activeOn = civilpb.OptionalDate(&v, "active_on", req.GetActiveOn())
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint(f.operator, f.contract, f.territory, f.activeOn.String())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}

	var territories []string // nil: every territory
	checkScope := false
	switch {
	case caller.Role == auth.RoleOperator && caller.OperatorID == "":
		// Refused at the door (a token's operator id is required); never
		// read as "every operator".
		return &pathwayv1.ListEnrolmentsResponse{}, nil
	case caller.Role == auth.RoleOperator:
		// Its own enrolments, of the learners it still reads (enrolled
		// now, or in the 30 days after its last enrolment with them).
		if f.territory != "" {
			territories = []string{f.territory}
		}
		checkScope = true
	case wholeRegion(caller):
		if f.territory != "" {
			territories = []string{f.territory}
		}
	case f.territory != "" && !mayReadTerritory(caller, f.territory):
		return &pathwayv1.ListEnrolmentsResponse{}, nil
	case f.territory != "":
		territories, checkScope = []string{f.territory}, true
	default:
		territories, checkScope = ownTerritories(caller), true
		if len(territories) == 0 {
			return &pathwayv1.ListEnrolmentsResponse{}, nil
		}
	}
	index, prefixes := f.walk(territories)

	resp := &pathwayv1.ListEnrolmentsResponse{}
	examined, last, today := 0, "", s.deps.Today()
	for _, prefix := range prefixes {
		cursor := after
		for {
			if examined >= listScanBudget {
				// Enough for one call: the client continues from here.
				resp.NextPageToken = paging.Encode(query, last)
				return resp, nil
			}
			limit := min(paging.MaxSize, listScanBudget-examined)
			members, err := s.store.Range(ctx, enrolmentsProjection, index, projection.RangeQuery{Prefix: prefix, After: cursor, Limit: limit})
			if err != nil {
				return nil, err
			}
			listings, err := s.listings(ctx, members)
			if err != nil {
				return nil, err
			}
			var scopes []auth.LearnerScope
			if checkScope {
				ids, ts := make([]string, len(listings)), make([]string, len(listings))
				for i, l := range listings {
					ids[i], ts[i] = l.GetLearnerId(), l.GetTerritoryCode()
				}
				if scopes, err = s.caseload.Scopes(ctx, ids, ts); err != nil {
					return nil, err
				}
			}
			for i, l := range listings {
				if l == nil || !f.match(l) || (checkScope && !mayRead(caller, scopes[i], today)) {
					continue
				}
				resp.Enrolments = append(resp.Enrolments, l)
				if len(resp.Enrolments) == size {
					resp.NextPageToken = paging.Encode(query, members[i])
					return resp, nil
				}
			}
			examined += len(members)
			if len(members) > 0 {
				last = members[len(members)-1]
			}
			if len(members) < limit {
				break // this prefix is done
			}
			cursor = last
		}
	}
	return resp, nil
}

// listings reads the listings index members stand for, nil where there is
// none.
func (s *Service) listings(ctx context.Context, members []string) ([]*pathwayv1.EnrolmentListing, error) {
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = enrolmentKeyOf(m)
	}
	values, err := s.store.GetMany(ctx, enrolmentsProjection, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*pathwayv1.EnrolmentListing, len(values))
	for i, b := range values {
		if b == nil {
			continue
		}
		if out[i], err = decodeListing(keys[i], b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeListing(key string, b []byte) (*pathwayv1.EnrolmentListing, error) {
	var l pathwayv1.EnrolmentListing
	if err := proto.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("pathway: stored enrolment %s: %w", key, err)
	}
	if l.GetEnrolment() == nil {
		return nil, fmt.Errorf("pathway: stored enrolment %s has no enrolment", key)
	}
	return &l, nil
}

package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	"google.golang.org/protobuf/proto"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The pathways read model (pathwaysProjection):
//
//	pathway:<learner id>   the Pathway view (every field, see redact)
//	index territory        <territory>/<learner id>, one per pathway
//	index phase            <phase>/<territory>/<learner id>, one per pathway
const (
	territoryIndex = "territory"
	phaseIndex     = "phase"
)

func pathwayKey(id string) string { return "pathway:" + id }

func territoryMember(territory, id string) string { return territory + "/" + id }

func phaseMember(ph domain.Phase, territory, id string) string {
	return string(ph) + "/" + territory + "/" + id
}

// memberLearner is the learner id that ends an index member.
func memberLearner(member string) string { return member[strings.LastIndexByte(member, '/')+1:] }

// projectPathway folds a pathway event into the stored view and its indexes.
func (s *Service) projectPathway(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	stored, err := s.storedPathway(ctx, ev.AggregateID)
	if err != nil {
		return nil, err
	}
	before := fromView(stored)
	after := before
	if e, ok := pathwayKind.Decode(ev); ok {
		after = domain.Evolve(before, e)
	}
	if after.LearnerID == "" {
		return nil, nil // an event of a type this version does not know, before any entry
	}
	b, err := proto.Marshal(view(after, ev.Sequence))
	if err != nil {
		return nil, err
	}
	ops := []projection.Op{
		projection.Put(pathwayKey(after.LearnerID), b),
		projection.IndexAdd(territoryIndex, territoryMember(after.Territory, after.LearnerID)),
	}
	if stored != nil && before.Phase() != after.Phase() {
		ops = append(ops, projection.IndexRemove(phaseIndex, phaseMember(before.Phase(), before.Territory, before.LearnerID)))
	}
	return append(ops, projection.IndexAdd(phaseIndex, phaseMember(after.Phase(), after.Territory, after.LearnerID))), nil
}

func (s *Service) storedPathway(ctx context.Context, learnerID string) (*pathwayv1.Pathway, error) {
	b, err := s.store.Get(ctx, pathwaysProjection, pathwayKey(learnerID))
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pathwayv1.Pathway
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("pathway: stored pathway %s: %w", learnerID, err)
	}
	return &p, nil
}

// redact returns what caller may see of v: the free text of exits is for
// those who act for the learner only, and is absent for the others.
func redact(v *pathwayv1.Pathway, caller auth.Principal, scope auth.LearnerScope) *pathwayv1.Pathway {
	if mayChange(caller, scope) {
		return v
	}
	v = proto.CloneOf(v)
	for _, e := range v.GetEpisodes() {
		e.ExitDetail = nil
	}
	return v
}

// GetPathway implements pathwayv1.PathwayServiceServer, from the read model.
func (s *Service) GetPathway(ctx context.Context, req *pathwayv1.GetPathwayRequest) (*pathwayv1.GetPathwayResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.storedPathway(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if p == nil {
		return nil, auth.Denied("pathway of learner", req.GetLearnerId())
	}
	scope, err := s.caseload.Scope(ctx, p.GetLearnerId(), p.GetTerritoryCode())
	if err != nil {
		return nil, err
	}
	if !mayRead(caller, scope, s.deps.Today()) {
		return nil, auth.Denied("pathway of learner", req.GetLearnerId())
	}
	return &pathwayv1.GetPathwayResponse{Pathway: redact(p, caller, scope)}, nil
}

// listScanBudget bounds the index members one ListPathways call examines,
// so a selective filter costs pages, not one unbounded call.
const listScanBudget = 1000

// listFilter is what ListPathways keeps, besides territory and scope.
type listFilter struct {
	phase                  domain.Phase
	activeOn               civil.Date
	enteredFrom, enteredTo civil.Date
	exitedFrom, exitedTo   civil.Date
}

func checkRange(v *apperr.Violations, toField string, from, to civil.Date) {
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		v.Addf(toField, "must not be before %s", from)
	}
}

func within(d, from, to civil.Date) bool {
	return (from.IsZero() || !d.Before(from)) && (to.IsZero() || !d.After(to))
}

func (f listFilter) match(p domain.Pathway) bool {
	if !f.activeOn.IsZero() && !p.ActiveOn(f.activeOn) {
		return false
	}
	entered := f.enteredFrom.IsZero() && f.enteredTo.IsZero()
	exited := f.exitedFrom.IsZero() && f.exitedTo.IsZero()
	for _, e := range p.Episodes {
		entered = entered || within(e.Entry, f.enteredFrom, f.enteredTo)
		exited = exited || (!e.Open() && within(e.Exit, f.exitedFrom, f.exitedTo))
	}
	return entered && exited
}

// ListPathways implements pathwayv1.PathwayServiceServer, from the read
// model: it walks the territory index (the phase index when a phase is
// asked for) over the caller's scope and filters the pathways it meets; an
// operator's listing walks the learners enrolled with it instead (see
// operatorPathways). A page token holds the index member of the page's
// last pathway (<territory>/<learner id>, or <phase>/<territory>/<learner
// id> on the phase index).
func (s *Service) ListPathways(ctx context.Context, req *pathwayv1.ListPathwaysRequest) (*pathwayv1.ListPathwaysResponse, error) {
	var v apperr.Violations
	ident.OptionalTerritory(&v, "territory_code", req.GetTerritoryCode())
	f := listFilter{
		activeOn:    civilpb.OptionalDate(&v, "active_on", req.GetActiveOn()),
		enteredFrom: civilpb.OptionalDate(&v, "entered_from", req.GetEnteredFrom()),
		enteredTo:   civilpb.OptionalDate(&v, "entered_to", req.GetEnteredTo()),
		exitedFrom:  civilpb.OptionalDate(&v, "exited_from", req.GetExitedFrom()),
		exitedTo:    civilpb.OptionalDate(&v, "exited_to", req.GetExitedTo()),
	}
	checkRange(&v, "entered_to", f.enteredFrom, f.enteredTo)
	checkRange(&v, "exited_to", f.exitedFrom, f.exitedTo)
	if ph := req.GetPhase(); ph != pathwayv1.PathwayPhase_PATHWAY_PHASE_UNSPECIFIED {
		if f.phase = platform.FromWire(phases, ph); f.phase == domain.PhaseNone {
			v.Add("phase", "is not a known phase")
		}
	}
	size := paging.Size(&v, req.GetPageSize())
	caller, _ := auth.FromContext(ctx)
	filters := []string{req.GetTerritoryCode(), string(f.phase), f.activeOn.String(),
		f.enteredFrom.String(), f.enteredTo.String(), f.exitedFrom.String(), f.exitedTo.String()}
	if caller.Role == auth.RoleOperator {
		// An operator's listing is another walk (see operatorPathways): its
		// tokens continue only its own.
		filters = append(filters, "operator:"+caller.OperatorID)
	}
	query := paging.Fingerprint(filters...)
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if caller.Role == auth.RoleOperator {
		return s.operatorPathways(ctx, caller, req.GetTerritoryCode(), f, size, query, after)
	}

	var territories []string // prefixes of the territories to walk, "" for all
	switch t := req.GetTerritoryCode(); {
	case t != "" && !mayReadTerritory(caller, t):
		return &pathwayv1.ListPathwaysResponse{}, nil
	case t != "":
		territories = []string{t + "/"}
	case wholeRegion(caller):
		territories = []string{""}
	default:
		for _, t := range ownTerritories(caller) {
			territories = append(territories, t+"/")
		}
	}
	index, prefix := territoryIndex, ""
	if f.phase != domain.PhaseNone {
		index, prefix = phaseIndex, string(f.phase)+"/"
	}

	resp := &pathwayv1.ListPathwaysResponse{}
	examined, last, today := 0, "", s.deps.Today()
	for _, t := range territories {
		cursor := after
		for {
			if examined >= listScanBudget {
				// Enough for one call: the client continues from here.
				resp.NextPageToken = paging.Encode(query, last)
				return resp, nil
			}
			limit := min(paging.MaxSize, listScanBudget-examined)
			members, err := s.store.Range(ctx, pathwaysProjection, index, projection.RangeQuery{Prefix: prefix + t, After: cursor, Limit: limit})
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(members))
			for i, m := range members {
				ids[i] = memberLearner(m)
			}
			pathways, scopes, err := s.pathwaysWithScopes(ctx, ids)
			if err != nil {
				return nil, err
			}
			for i, p := range pathways {
				if p == nil || !mayRead(caller, scopes[i], today) {
					continue
				}
				if f.match(fromView(p)) {
					resp.Pathways = append(resp.Pathways, redact(p, caller, scopes[i]))
					if len(resp.Pathways) == size {
						resp.NextPageToken = paging.Encode(query, members[i])
						return resp, nil
					}
				}
			}
			examined += len(members)
			if len(members) < limit {
				break // this territory is done
			}
			cursor = members[len(members)-1]
			last = cursor
		}
	}
	return resp, nil
}

// pathwaysWithScopes reads the pathways of learners ids (nil where there is
// none) and their learners' scopes, in order.
func (s *Service) pathwaysWithScopes(ctx context.Context, ids []string) ([]*pathwayv1.Pathway, []auth.LearnerScope, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = pathwayKey(id)
	}
	values, err := s.store.GetMany(ctx, pathwaysProjection, keys)
	if err != nil {
		return nil, nil, err
	}
	pathways := make([]*pathwayv1.Pathway, len(values))
	scopeIDs, scopeTerritories := make([]string, len(values)), make([]string, len(values))
	for i, b := range values {
		if b == nil {
			continue
		}
		var p pathwayv1.Pathway
		if err := proto.Unmarshal(b, &p); err != nil {
			return nil, nil, fmt.Errorf("pathway: stored pathway %s: %w", keys[i], err)
		}
		pathways[i], scopeIDs[i], scopeTerritories[i] = &p, ids[i], p.GetTerritoryCode()
	}
	scopes, err := s.caseload.Scopes(ctx, scopeIDs, scopeTerritories)
	if err != nil {
		return nil, nil, err
	}
	return pathways, scopes, nil
}

// operatorPathways is ListPathways for an operator: the learners ever
// enrolled with it (every page of the caseload's index), those it still
// reads (enrolled now, or in the 30 days after its last enrolment with them
// ended) and the filters keep, in the order of territory, then learner id,
// whatever its token's territories. Its page token holds
// <territory>/<learner id> of the page's last pathway: the next page starts
// after it.
func (s *Service) operatorPathways(ctx context.Context, caller auth.Principal, territory string, f listFilter,
	size int, query, after string) (*pathwayv1.ListPathwaysResponse, error) {
	var ids []string
	for cursor := ""; ; {
		page, err := s.caseload.OperatorLearners(ctx, caller.OperatorID, cursor, projection.MaxRangeLimit)
		if err != nil {
			return nil, err
		}
		ids = append(ids, page...)
		if len(page) < projection.MaxRangeLimit {
			break
		}
		cursor = page[len(page)-1]
	}
	type listed struct {
		member string
		view   *pathwayv1.Pathway
		scope  auth.LearnerScope
	}
	var kept []listed
	today := s.deps.Today()
	for chunk := range slices.Chunk(ids, projection.MaxRangeLimit) {
		pathways, scopes, err := s.pathwaysWithScopes(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for i, v := range pathways {
			if v == nil || !mayRead(caller, scopes[i], today) || (territory != "" && v.GetTerritoryCode() != territory) {
				continue
			}
			p := fromView(v)
			if member := territoryMember(p.Territory, p.LearnerID); member > after &&
				(f.phase == domain.PhaseNone || p.Phase() == f.phase) && f.match(p) {
				kept = append(kept, listed{member, v, scopes[i]})
			}
		}
	}
	slices.SortFunc(kept, func(a, b listed) int { return strings.Compare(a.member, b.member) })
	resp := &pathwayv1.ListPathwaysResponse{}
	for i, l := range kept {
		if i == size {
			resp.NextPageToken = paging.Encode(query, kept[size-1].member)
			break
		}
		resp.Pathways = append(resp.Pathways, redact(l.view, caller, l.scope))
	}
	return resp, nil
}

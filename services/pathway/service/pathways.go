package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

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
//	pathway:<learner id>   the Pathway view, without the exit details
//	exits:<learner id>     storedExits, JSON: where the exit details are
//	index territory        <territory>/<learner id>, one per pathway
//	index phase            <phase>/<territory>/<learner id>, one per pathway
//
// The free text of an exit (PathwayExited.detail) is personal data sealed
// with the learner's key: the read model keeps no copy of it, only the
// stream sequence of each exit that has one, and the reads that show it
// (to those who act for the learner, see reveal) open it from the stream.
// So erasing the learner (its key destroyed) leaves no detail to purge,
// and a read model rebuilt after the erasure, from exits whose detail
// reads empty (event.Event.Erased), holds exactly the same.
const (
	territoryIndex = "territory"
	phaseIndex     = "phase"
)

func pathwayKey(id string) string { return "pathway:" + id }

func exitsKey(id string) string { return "exits:" + id }

// storedExits are the stream sequences of the PathwayExited events with a
// detail, by episode number.
type storedExits map[int]uint64

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
	b, err := proto.Marshal(withoutDetails(view(after, ev.Sequence)))
	if err != nil {
		return nil, err
	}
	ops := []projection.Op{
		projection.Put(pathwayKey(after.LearnerID), b),
		projection.IndexAdd(territoryIndex, territoryMember(after.Territory, after.LearnerID)),
	}
	// An exit with a detail: sealed, it is set or, once the learner is
	// erased, unreadable.
	if m, ok := ev.Data.(*pathwayv1.PathwayExited); ok && (m.GetDetail() != "" || ev.Erased) {
		exits, _, err := projection.GetJSON[storedExits](ctx, s.store, pathwaysProjection, exitsKey(after.LearnerID))
		if err != nil {
			return nil, err
		}
		if exits == nil {
			exits = storedExits{}
		}
		exits[int(m.GetEpisodeNumber())] = ev.Sequence
		op, err := projection.PutJSON(exitsKey(after.LearnerID), exits)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
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

// withoutDetails is v without the free text of its exits: what the read
// model stores, and what is shown to those who do not act for the learner.
func withoutDetails(v *pathwayv1.Pathway) *pathwayv1.Pathway {
	for _, e := range v.GetEpisodes() {
		e.ExitDetail = nil
	}
	return v
}

// reveal completes the stored views shown to callers acting for their
// learners (full[i] for views[i]) with the free text of their exits, read
// from the stream: "" for an exit without one, or whose learner was
// erased. The others are shown without.
func (s *Service) reveal(ctx context.Context, views []*pathwayv1.Pathway, full []bool) error {
	var ids []string
	var shown []*pathwayv1.Pathway
	for i, v := range views {
		if full[i] && slices.ContainsFunc(v.GetEpisodes(), func(e *pathwayv1.Episode) bool { return e.GetExitDate() != nil }) {
			ids, shown = append(ids, v.GetLearnerId()), append(shown, v)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	refs, err := projection.GetManyJSONOf[storedExits](ctx, s.store, pathwaysProjection, ids, exitsKey)
	if err != nil {
		return err
	}
	type exit struct {
		episode *pathwayv1.Episode
		learner string
		seq     uint64
	}
	var exits []exit
	for i, v := range shown {
		for _, e := range v.GetEpisodes() {
			if e.GetExitDate() == nil {
				continue
			}
			e.ExitDetail = proto.String("")
			if refs[i] != nil {
				if seq := (*refs[i])[int(e.GetNumber())]; seq != 0 {
					exits = append(exits, exit{e, ids[i], seq})
				}
			}
		}
	}
	details := make([]string, len(exits))
	errs := make([]error, len(exits))
	var wg sync.WaitGroup
	sem := make(chan struct{}, detailReads)
	for i, x := range exits {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			details[i], errs[i] = s.exitDetail(ctx, x.seq, x.learner, int(x.episode.GetNumber()))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, x := range exits {
		x.episode.ExitDetail = proto.String(details[i])
	}
	return nil
}

// detailReads bounds the exit details one read opens at a time.
const detailReads = 8

// exitDetail reads the free text of the exit stored at sequence seq of the
// stream, the exit of episode of learner.
func (s *Service) exitDetail(ctx context.Context, seq uint64, learner string, episode int) (string, error) {
	st, err := s.stream(ctx)
	if err != nil {
		return "", err
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		return "", apperr.Unavailable("pathway: the exit of episode %d of learner %s (sequence %d) cannot be read: %v", episode, learner, seq, err)
	}
	ev, err := event.Codec{Sealer: s.deps.Sealer()}.FromRaw(ctx, Stream, raw)
	if err != nil {
		return "", apperr.Unavailable("pathway: the exit of episode %d of learner %s cannot be opened: %v", episode, learner, err)
	}
	m, ok := ev.Data.(*pathwayv1.PathwayExited)
	if !ok || m.GetLearnerId() != learner || int(m.GetEpisodeNumber()) != episode {
		return "", fmt.Errorf("pathway: sequence %d of %s is not the exit of episode %d of learner %s", seq, Stream, episode, learner)
	}
	return m.GetDetail(), nil
}

// stream is the handle of the PATHWAY stream, looked up once.
func (s *Service) stream(ctx context.Context) (jetstream.Stream, error) {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	if s.pathwayStream != nil {
		return s.pathwayStream, nil
	}
	st, err := s.deps.JS.Stream(ctx, Stream)
	if err != nil {
		return nil, apperr.Unavailable("pathway: stream %s: %v", Stream, err)
	}
	s.pathwayStream = st
	return st, nil
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
	if err := s.reveal(ctx, []*pathwayv1.Pathway{p}, []bool{mayChange(caller, scope)}); err != nil {
		return nil, err
	}
	return &pathwayv1.GetPathwayResponse{Pathway: p}, nil
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
	var full []bool // per pathway listed: shown whole
	reveal := func() (*pathwayv1.ListPathwaysResponse, error) {
		if err := s.reveal(ctx, resp.Pathways, full); err != nil {
			return nil, err
		}
		return resp, nil
	}
	examined, last, today := 0, "", s.deps.Today()
	for _, t := range territories {
		cursor := after
		for {
			if examined >= listScanBudget {
				// Enough for one call: the client continues from here.
				resp.NextPageToken = paging.Encode(query, last)
				return reveal()
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
					resp.Pathways, full = append(resp.Pathways, p), append(full, mayChange(caller, scopes[i]))
					if len(resp.Pathways) == size {
						resp.NextPageToken = paging.Encode(query, members[i])
						return reveal()
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
	return reveal()
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
	var full []bool
	for i, l := range kept {
		if i == size {
			resp.NextPageToken = paging.Encode(query, kept[size-1].member)
			break
		}
		resp.Pathways, full = append(resp.Pathways, l.view), append(full, mayChange(caller, l.scope))
	}
	if err := s.reveal(ctx, resp.Pathways, full); err != nil {
		return nil, err
	}
	return resp, nil
}

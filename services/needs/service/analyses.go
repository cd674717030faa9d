package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/monthly"
)

// The analyses read model (analysesProjection, over every NEEDS event):
//
//	analysis:<id>            the Analysis view, whole (special-category data
//	                         included: see redact), revised_by set; current
//	                         unset; content unset once the learner is erased
//	current:<learner id>     the id of the learner's current analysis, the
//	                         last completed
//	index learner:<id>       <episode>/<version>/<analysis id>, fixed width
//	index started            <territory>/<started on>/<analysis id>
//	index completed          <territory>/<completed on>/<analysis id>
//	month:<territory>/<YYYY-MM>  the summary bucket of the month, JSON (storedBucket)
//	index months             <territory>/<YYYY-MM>, one per bucket
//	first-completed          the month of the first completion, YYYY-MM
//	frozen:<YYYY-MM>         the month's summary as frozen (frozen.go)
//	erased:<learner id>      the learner's personal data was erased (erasure.go)
//
// One projection holds them all, so a completion updates the views, the
// indexes and the summary in one atomic write, and an erasure or a freeze
// applies in stream order with the analyses' events.
const (
	startedIndex   = "started"
	completedIndex = "completed"
)

func analysisKey(id string) string         { return "analysis:" + id }
func currentKey(learnerID string) string   { return "current:" + learnerID }
func learnerIndex(learnerID string) string { return "learner:" + learnerID }

func learnerMember(a domain.Analysis) string {
	return fmt.Sprintf("%06d/%06d/%s", a.Episode, a.Version, a.ID)
}

func dateMember(territory string, d civil.Date, id string) string {
	return territory + "/" + d.String() + "/" + id
}

// memberID is the analysis id that ends an index member.
func memberID(member string) string { return member[strings.LastIndexByte(member, '/')+1:] }

// memberDate is the date of a dateMember.
func memberDate(member string) civil.Date {
	parts := strings.Split(member, "/")
	if len(parts) != 3 {
		return civil.Date{}
	}
	d, _ := civil.Parse(parts[1])
	return d
}

// storedBucket is the stored form of a domain.Bucket.
type storedBucket struct {
	Completed int                        `json:"completed,omitempty"`
	Revisions int                        `json:"revisions,omitempty"`
	Barriers  map[domain.BarrierKind]int `json:"barriers,omitempty"`
	Trades    map[string]int             `json:"trades,omitempty"`
}

func (s *Service) storedAnalysis(ctx context.Context, id string) (*needsv1.Analysis, error) {
	b, err := s.store.Get(ctx, analysesProjection, analysisKey(id))
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a needsv1.Analysis
	if err := proto.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("needs: stored analysis %s: %w", id, err)
	}
	return &a, nil
}

// storedAnalyses reads the stored views of the keys given (analysisKey),
// in their order; nil for a key the read model does not hold.
func (s *Service) storedAnalyses(ctx context.Context, keys []string) ([]*needsv1.Analysis, error) {
	values, err := s.store.GetMany(ctx, analysesProjection, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*needsv1.Analysis, len(values))
	for i, b := range values {
		if b == nil {
			continue
		}
		var a needsv1.Analysis
		if err := proto.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("needs: stored analysis %s: %w", keys[i], err)
		}
		out[i] = &a
	}
	return out, nil
}

func (sb storedBucket) bucket() domain.Bucket {
	return domain.Bucket{Completed: sb.Completed, Revisions: sb.Revisions, Barriers: sb.Barriers, Trades: sb.Trades}
}

// bucket reads the summary bucket of a member (<territory>/<YYYY-MM>).
func (s *Service) bucket(ctx context.Context, member string) (domain.Bucket, error) {
	sb, err := monthly.Get[storedBucket](ctx, s.store, analysesProjection, member)
	return sb.bucket(), err
}

// putBucket stores the summary bucket of a member.
func putBucket(member string, b domain.Bucket) ([]projection.Op, error) {
	return monthly.Put(member, storedBucket{Completed: b.Completed, Revisions: b.Revisions, Barriers: b.Barriers, Trades: b.Trades})
}

// projectNeeds folds a NEEDS event into the analyses read model: a month's
// summary frozen, a learner's erasure recorded, or an event of an analysis.
func (s *Service) projectNeeds(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	if m, ok := ev.Data.(*needsv1.SummaryFrozen); ok {
		return projectFrozen(m)
	}
	if e, ok := erasureRecorded(ev); ok {
		return s.projectErasure(ctx, e)
	}
	return s.projectAnalysis(ctx, ev)
}

// projectAnalysis folds an analysis event into its stored view and indexes;
// a revision marks the version it revises; a completion makes the analysis
// the learner's current one and counts it in its month, withdrawing what
// the version it revises had counted. The analyses of an erased learner
// (marked, or whose event reads erased) keep no content and count none.
func (s *Service) projectAnalysis(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	de, ok := fromProto(ev.Data)
	if !ok {
		// An event of a newer version: the views show what this one knows.
		s.log.WarnContext(ctx, "analyses read model: skipping an event it does not know", "subject", ev.Subject, "type", fmt.Sprintf("%T", ev.Data), "sequence", ev.Sequence)
		return nil, nil
	}
	stored, err := s.storedAnalysis(ctx, ev.AggregateID)
	if err != nil {
		return nil, err
	}
	after := domain.Evolve(fromView(stored), de)
	erasedOn, recorded, err := s.erasure(ctx, after.LearnerID)
	if err != nil {
		return nil, err
	}
	erased := recorded || ev.Erased
	if erased {
		after.Content = domain.Content{}
	}
	v := view(after)
	if erased {
		v.Content = nil
	}
	if recorded {
		v.LearnerErased, v.LearnerErasedOn = true, civilpb.FromDate(erasedOn)
	}
	v.RevisedByAnalysisId = stored.GetRevisedByAnalysisId()
	b, err := proto.Marshal(v)
	if err != nil {
		return nil, err
	}
	ops := []projection.Op{
		projection.Put(analysisKey(after.ID), b),
		projection.IndexAdd(learnerIndex(after.LearnerID), learnerMember(after)),
		projection.IndexAdd(startedIndex, dateMember(after.Territory, after.StartedOn, after.ID)),
	}
	switch e := de.(type) {
	case domain.AnalysisRevised:
		prev, err := s.storedAnalysis(ctx, e.Previous)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			prev.RevisedByAnalysisId = e.AnalysisID
			pb, err := proto.Marshal(prev)
			if err != nil {
				return nil, err
			}
			ops = append(ops, projection.Put(analysisKey(e.Previous), pb))
		}
	case domain.AnalysisCompleted:
		ops = append(ops,
			projection.IndexAdd(completedIndex, dateMember(after.Territory, after.CompletedOn, after.ID)),
			projection.Put(currentKey(after.LearnerID), []byte(after.ID)))
		counted, err := s.countCompletion(ctx, after)
		if err != nil {
			return nil, err
		}
		ops = append(ops, counted...)
		first, err := s.firstCompleted(ctx)
		if err != nil {
			return nil, err
		}
		if m := civil.MonthOf(after.CompletedOn); first == (civil.Month{}) || m.Compare(first) < 0 {
			ops = append(ops, projection.Put(firstCompletedKey, []byte(m.String())))
		}
	}
	return ops, nil
}

// countCompletion counts a completed analysis in the bucket of its month
// and withdraws from its month what the version it revises had counted
// (possibly the same bucket).
func (s *Service) countCompletion(ctx context.Context, a domain.Analysis) ([]projection.Op, error) {
	buckets := map[string]domain.Bucket{}
	get := func(member string) (domain.Bucket, error) {
		if b, ok := buckets[member]; ok {
			return b, nil
		}
		return s.bucket(ctx, member)
	}
	var order []string
	if a.Previous != "" {
		prev, err := s.storedAnalysis(ctx, a.Previous)
		if err != nil {
			return nil, err
		}
		if p := fromView(prev); prev != nil && p.Status == domain.StatusCompleted {
			member := monthly.Member(p.Territory, civil.MonthOf(p.CompletedOn))
			b, err := get(member)
			if err != nil {
				return nil, err
			}
			buckets[member], order = b.WithoutCounted(domain.CountedOf(p.Content)), append(order, member)
		}
	}
	member := monthly.Member(a.Territory, civil.MonthOf(a.CompletedOn))
	b, err := get(member)
	if err != nil {
		return nil, err
	}
	if _, seen := buckets[member]; !seen {
		order = append(order, member)
	}
	buckets[member] = b.WithCompletion(a.Previous != "", domain.CountedOf(a.Content))
	var ops []projection.Op
	for _, m := range order {
		put, err := putBucket(m, buckets[m])
		if err != nil {
			return nil, err
		}
		ops = append(ops, put...)
	}
	return ops, nil
}

// redact returns what caller may see of v: everything for those who act for
// the learner; for a referent reading it during the grace period after a
// handover, everything but the health barrier (special-category data); for
// training operators, the recommended steps only — neither skills, prior
// learning, barriers (the health barrier, special-category data, least of
// all) nor project.
//
// The analyses of an erased learner have no content for anyone: content
// stays unset (erasedView).
func redact(v *needsv1.Analysis, caller auth.Principal, scope auth.LearnerScope, day civil.Date) *needsv1.Analysis {
	if seesContent(caller, scope) || erasedView(v) {
		return v
	}
	out := proto.CloneOf(v)
	if readsFormer(caller, scope, day) {
		if c := out.GetContent(); c != nil {
			c.Barriers = slices.DeleteFunc(c.Barriers, func(b *needsv1.Barrier) bool {
				return b.GetKind() == needsv1.BarrierKind_BARRIER_KIND_HEALTH
			})
		}
		return out
	}
	out.Content = &needsv1.AnalysisContent{RecommendedSteps: v.GetContent().GetRecommendedSteps()}
	out.StepsOnly = true
	return out
}

// current reports the id of the learner's current analysis, "" if none.
func (s *Service) current(ctx context.Context, learnerID string) (string, error) {
	b, err := s.store.Get(ctx, analysesProjection, currentKey(learnerID))
	if errors.Is(err, projection.ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// GetAnalysis implements needsv1.NeedsServiceServer, from the read model.
func (s *Service) GetAnalysis(ctx context.Context, req *needsv1.GetAnalysisRequest) (*needsv1.GetAnalysisResponse, error) {
	var v apperr.Violations
	switch {
	case req.GetAnalysisId() != "" && req.GetLearnerId() != "":
		v.Add("learner_id", "must be empty when analysis_id is given: ask for an analysis, or for a learner's current one")
	case req.GetAnalysisId() == "" && req.GetLearnerId() == "":
		v.Add("analysis_id", "is required, or learner_id for the learner's current analysis")
	case req.GetAnalysisId() != "":
		ident.ID(&v, "analysis_id", req.GetAnalysisId())
	default:
		ident.ID(&v, "learner_id", req.GetLearnerId())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	id := req.GetAnalysisId()
	if id == "" {
		var err error
		if id, err = s.current(ctx, req.GetLearnerId()); err != nil {
			return nil, err
		}
		if id == "" {
			return nil, apperr.NotFound("learner %s has no completed analysis", req.GetLearnerId())
		}
	}
	a, err := s.storedAnalysis(ctx, id)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	var scope auth.LearnerScope
	if a != nil {
		if scope, err = s.caseload.Scope(ctx, a.GetLearnerId(), a.GetTerritoryCode()); err != nil {
			return nil, err
		}
	}
	today := s.deps.Today()
	if a == nil || !mayRead(caller, scope, today) {
		if req.GetLearnerId() != "" {
			return nil, apperr.NotFound("learner %s has no completed analysis", req.GetLearnerId())
		}
		return nil, auth.Denied("analysis", id)
	}
	cur, err := s.current(ctx, a.GetLearnerId())
	if err != nil {
		return nil, err
	}
	a.Current = cur == a.GetAnalysisId()
	return &needsv1.GetAnalysisResponse{Analysis: redact(a, caller, scope, today)}, nil
}

// listScanBudget bounds the index members one ListAnalyses call examines,
// so a selective filter costs pages, not one unbounded call.
const listScanBudget = 1000

// ListAnalyses implements needsv1.NeedsServiceServer, from the read model: a
// learner's analyses by episode and version, or a territory's by date. A
// page token holds, besides the fingerprint of the filters (paging.Encode),
// the index member the next page starts after: for a learner's,
// "<episode>/<version>/<analysis id>"; for a territory's,
// "<territory>/<date>/<analysis id>", the date of start (of completion with
// status COMPLETED) of the last analysis examined.
func (s *Service) ListAnalyses(ctx context.Context, req *needsv1.ListAnalysesRequest) (*needsv1.ListAnalysesResponse, error) {
	var v apperr.Violations
	from := civilpb.OptionalDate(&v, "from", req.GetFrom())
	to := civilpb.OptionalDate(&v, "to", req.GetTo())
	switch {
	case req.GetLearnerId() != "" && req.GetTerritoryCode() != "":
		v.Add("territory_code", "must be empty when learner_id is given: list a learner's analyses, or a territory's")
	case req.GetLearnerId() != "":
		ident.ID(&v, "learner_id", req.GetLearnerId())
		if !from.IsZero() || !to.IsZero() {
			v.Add("from", "applies to a territory's listing: a learner's lists every analysis")
		}
	case req.GetTerritoryCode() != "":
		ident.Territory(&v, "territory_code", req.GetTerritoryCode())
	default:
		v.Add("learner_id", "is required, or territory_code")
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		v.Addf("to", "must not be before %s", from)
	}
	status := platform.FromWire(statuses, req.GetStatus())
	if req.GetStatus() != needsv1.AnalysisStatus_ANALYSIS_STATUS_UNSPECIFIED && status == domain.StatusNone {
		v.Add("status", "is not a known status")
	}
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint(req.GetLearnerId(), req.GetTerritoryCode(), from.String(), to.String(), string(status))
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if t := req.GetTerritoryCode(); t != "" && listsEnrolled(caller) {
		return s.listEnrolled(ctx, caller, listQuery{territory: t, from: from, to: to, status: status, size: size, fingerprint: query, after: after})
	}
	if req.GetTerritoryCode() != "" && !mayListTerritory(caller) {
		return nil, apperr.PermissionDenied("listing the analyses of a territory is for admins; list a learner's analyses instead")
	}

	index, prefix := learnerIndex(req.GetLearnerId()), ""
	if t := req.GetTerritoryCode(); t != "" {
		index, prefix = startedIndex, t+"/"
		if status == domain.StatusCompleted {
			index = completedIndex
		}
		if after == "" && !from.IsZero() {
			after = prefix + from.String() // the members of that day sort after it
		}
	}
	currents := map[string]string{} // learner id -> current analysis id
	currentOf := func(learnerID string) (string, error) {
		if id, ok := currents[learnerID]; ok {
			return id, nil
		}
		id, err := s.current(ctx, learnerID)
		currents[learnerID] = id
		return id, err
	}

	resp := &needsv1.ListAnalysesResponse{}
	examined, today := 0, s.deps.Today()
	for {
		if examined >= listScanBudget {
			resp.NextPageToken = paging.Encode(query, after)
			return resp, nil
		}
		limit := min(paging.MaxSize, listScanBudget-examined)
		members, err := s.store.Range(ctx, analysesProjection, index, projection.RangeQuery{Prefix: prefix, After: after, Limit: limit})
		if err != nil {
			return nil, err
		}
		keys := make([]string, len(members))
		for i, m := range members {
			keys[i] = analysisKey(memberID(m))
		}
		analyses, err := s.storedAnalyses(ctx, keys)
		if err != nil {
			return nil, err
		}
		scopeIDs, scopeTerritories := make([]string, len(analyses)), make([]string, len(analyses))
		for i, a := range analyses {
			scopeIDs[i], scopeTerritories[i] = a.GetLearnerId(), a.GetTerritoryCode()
		}
		scopes, err := s.caseload.Scopes(ctx, scopeIDs, scopeTerritories)
		if err != nil {
			return nil, err
		}
		for i, a := range analyses {
			after = members[i]
			if req.GetTerritoryCode() != "" && !to.IsZero() && memberDate(members[i]).After(to) {
				return resp, nil // the dates are in order: the period is over
			}
			if a == nil {
				continue
			}
			if (status != domain.StatusNone && platform.FromWire(statuses, a.GetStatus()) != status) || !mayRead(caller, scopes[i], today) {
				continue
			}
			cur, err := currentOf(a.GetLearnerId())
			if err != nil {
				return nil, err
			}
			a.Current = a.GetAnalysisId() == cur
			resp.Analyses = append(resp.Analyses, redact(a, caller, scopes[i], today))
			if len(resp.Analyses) == size {
				if i < len(analyses)-1 || len(members) == limit {
					resp.NextPageToken = paging.Encode(query, members[i])
				}
				return resp, nil
			}
		}
		examined += len(members)
		if len(members) < limit {
			return resp, nil
		}
	}
}

// listQuery is a validated listing of a territory's analyses.
type listQuery struct {
	territory string
	from, to  civil.Date // either may be zero: open
	status    domain.Status
	size      int
	// fingerprint identifies the filters in page tokens; after is the
	// member the page starts after ("" for the first page).
	fingerprint, after string
}

// listed is an analysis a listing found, with its member in the order of
// the territory's index and the scope of its learner.
type listed struct {
	member   string
	analysis *needsv1.Analysis
	scope    auth.LearnerScope
}

// listEnrolled is an operator's listing of a territory: the analyses of
// the learners ever enrolled with it (caseload.OperatorLearners, every
// page) that it still reads today, of that territory, started (completed,
// with status COMPLETED) within the period and of the status asked; in the
// order and with the page tokens of an admin's listing (by date, then id;
// a token holds the "<territory>/<date>/<analysis id>" member of the last
// analysis of its page). The territory narrows the listing within the
// operator's learners: it is never refused. Every page holds page_size
// analyses but the last.
func (s *Service) listEnrolled(ctx context.Context, caller auth.Principal, q listQuery) (*needsv1.ListAnalysesResponse, error) {
	var found []listed
	today := s.deps.Today()
	for after := ""; ; {
		ids, err := s.caseload.OperatorLearners(ctx, caller.OperatorID, after, s.enrolledPage)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		page, err := s.enrolledAnalyses(ctx, caller, ids, q, today)
		if err != nil {
			return nil, err
		}
		found = append(found, page...)
		if len(ids) < s.enrolledPage {
			break
		}
	}
	slices.SortFunc(found, func(a, b listed) int { return strings.Compare(a.member, b.member) })
	resp := &needsv1.ListAnalysesResponse{}
	if len(found) > q.size {
		found = found[:q.size]
		resp.NextPageToken = paging.Encode(q.fingerprint, found[len(found)-1].member)
	}
	for _, f := range found {
		cur, err := s.current(ctx, f.analysis.GetLearnerId())
		if err != nil {
			return nil, err
		}
		f.analysis.Current = f.analysis.GetAnalysisId() == cur
		resp.Analyses = append(resp.Analyses, redact(f.analysis, caller, f.scope, today))
	}
	return resp, nil
}

// enrolledAnalyses are the analyses of learners (a page of an operator's)
// that caller reads on day and q selects.
func (s *Service) enrolledAnalyses(ctx context.Context, caller auth.Principal, learners []string, q listQuery, day civil.Date) ([]listed, error) {
	// An operator's reach does not depend on the learner's territory; the
	// analyses listed are of q's.
	territories := make([]string, len(learners))
	for i := range territories {
		territories[i] = q.territory
	}
	scopes, err := s.caseload.Scopes(ctx, learners, territories)
	if err != nil {
		return nil, err
	}
	var keys []string
	scopeOf := map[string]auth.LearnerScope{}
	for i, id := range learners {
		if !mayRead(caller, scopes[i], day) {
			continue
		}
		scopeOf[id] = scopes[i]
		err := projection.Scan(ctx, s.store, analysesProjection, learnerIndex(id), projection.RangeQuery{Limit: projection.MaxRangeLimit}, func(members []string) (bool, error) {
			for _, m := range members {
				keys = append(keys, analysisKey(memberID(m)))
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	analyses, err := s.storedAnalyses(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out []listed
	for _, a := range analyses {
		if a == nil {
			continue
		}
		member, ok := q.selects(a)
		if !ok {
			continue
		}
		out = append(out, listed{member: member, analysis: a, scope: scopeOf[a.GetLearnerId()]})
	}
	return out, nil
}

// selects reports whether q lists analysis a and, if so, its member in the
// order of the territory's index (startedIndex, or completedIndex with
// status COMPLETED).
func (q listQuery) selects(a *needsv1.Analysis) (string, bool) {
	status := platform.FromWire(statuses, a.GetStatus())
	if a.GetTerritoryCode() != q.territory || (q.status != domain.StatusNone && status != q.status) {
		return "", false
	}
	day := civilpb.Date(a.GetStartedOn())
	if q.status == domain.StatusCompleted {
		day = civilpb.Date(a.GetCompletedOn())
	}
	member := dateMember(q.territory, day, a.GetAnalysisId())
	switch {
	case !q.from.IsZero() && day.Before(q.from), !q.to.IsZero() && day.After(q.to):
		return "", false
	case q.after != "" && member <= q.after:
		return "", false
	}
	return member, true
}

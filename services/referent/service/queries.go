package service

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/ident"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/disclosure"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// referentView is a referent as answered, with its load: load active
// learners and qualif followed in Qualif, weighing weight percent each.
func referentView(r domain.Referent, load, qualif, weight int, today civil.Date) *referentv1.Referent {
	return &referentv1.Referent{
		ReferentId: r.ID, Profile: profileToProto(r.Profile), ActiveLearners: int32(load),
		QualifLearners: int32(qualif), PlacesUsed: int32(domain.PlacesUsed(domain.UsedHundredths(load, qualif, weight))),
		AbsentFrom: civilpb.FromDate(r.AbsentFrom), AbsentTo: civilpb.FromDate(r.AbsentTo),
		Available: r.AvailableOn(today), Deactivated: r.Deactivated, DeactivatedOn: civilpb.FromDate(r.DeactivatedOn),
		InterimReferentId: r.Interim,
	}
}

// statusFollowingInQualif is the pathway status of a caseload's learner
// followed in Qualif.
const statusFollowingInQualif = "following_in_qualif"

// referentView is r, a caseload as loaded, as answered.
func (s *Service) referentView(r domain.Referent) *referentv1.Referent {
	return referentView(r, r.Load(), r.QualifLoad(), s.cfg.QualifWeightPercent, s.deps.Today())
}

// assignmentView is an assignment as answered, with the end of the read
// access of each referent handed over.
func (s *Service) assignmentView(a domain.Assignment) *referentv1.Assignment {
	return s.assignmentViewOf(a, false)
}

// assignmentViewOf is assignmentView; for a learner whose personal data was
// erased, without the explanations, which may tell the specialties the
// learner called for (RQTH, age) or quote an administrator's reason. The
// interim shows while its days are current or to come.
func (s *Service) assignmentViewOf(a domain.Assignment, erased bool) *referentv1.Assignment {
	out := &referentv1.Assignment{
		LearnerId: a.LearnerID, TerritoryCode: a.Territory, EpisodeNumber: int32(a.Episode), Active: a.Active,
		ReferentId: a.Current, Pending: a.Pending, PendingSince: civilpb.FromDate(a.PendingSince),
		FollowingInQualif: a.InQualif, FollowingInQualifSince: civilpb.FromDate(a.InQualifSince),
	}
	if a.Interim != "" && !s.deps.Today().After(a.InterimDays.To) {
		out.InterimReferentId, out.InterimFrom, out.InterimTo = a.Interim, civilpb.FromDate(a.InterimDays.From), civilpb.FromDate(a.InterimDays.To)
	}
	for _, p := range a.Periods {
		v := &referentv1.AssignmentPeriod{
			ReferentId: p.ReferentID, EpisodeNumber: int32(p.Episode), FromDate: civilpb.FromDate(p.From), ToDate: civilpb.FromDate(p.To),
			Reason: reasons[p.Reason], Explanation: p.Explanation,
		}
		if erased {
			v.Explanation = ""
		}
		if p.End == domain.EndHandover {
			v.ReadAccessUntil = civilpb.FromDate(p.To.AddDays(s.cfg.HandoverGraceDays))
		}
		out.History = append(out.History, v)
	}
	return out
}

// GetAssignment implements referentv1.ReferentServiceServer. It reads the
// learner's own events: an assignment is visible as soon as it is made. The
// assignment of a learner whose personal data was erased keeps its
// referents and dates under the learner's id, without the explanations.
func (s *Service) GetAssignment(ctx context.Context, req *referentv1.GetAssignmentRequest) (*referentv1.GetAssignmentResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "learner_id", req.GetLearnerId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	snap, err := s.assignments.Load(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	a := snap.State
	caller, _ := auth.FromContext(ctx)
	if !a.Exists() || !seesAssignment(caller, a, s.deps.Today(), s.cfg.HandoverGraceDays) {
		return nil, auth.Denied("assignment of learner", req.GetLearnerId())
	}
	erased, err := s.erased(ctx, req.GetLearnerId())
	if err != nil {
		return nil, err
	}
	return &referentv1.GetAssignmentResponse{Assignment: s.assignmentViewOf(a, erased)}, nil
}

// ListCaseload implements referentv1.ReferentServiceServer, from the
// referent's caseload aggregate (at most its capacity), and, flagged
// interim, the learners of the absent referents it stands in for while
// their absence is current or to come (from their caseloads), by learner
// id. Those do not count in its load.
func (s *Service) ListCaseload(ctx context.Context, req *referentv1.ListCaseloadRequest) (*referentv1.ListCaseloadResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "referent_id", req.GetReferentId())
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint("caseload", req.GetReferentId())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	snap, err := s.caseloads.Load(ctx, req.GetReferentId())
	if err != nil {
		return nil, err
	}
	r := snap.State
	caller, _ := auth.FromContext(ctx)
	if !r.Exists() || !seesCaseload(caller, r) {
		return nil, auth.Denied("referent", req.GetReferentId())
	}
	entries, err := s.caseloadEntries(ctx, r)
	if err != nil {
		return nil, err
	}
	start, _ := slices.BinarySearchFunc(entries, after, func(e *referentv1.CaseloadEntry, id string) int {
		if e.GetLearnerId() <= id {
			return -1
		}
		return 1
	})
	out := &referentv1.ListCaseloadResponse{Referent: s.referentView(r)}
	end := min(start+size, len(entries))
	page := entries[start:end]
	ids := make([]string, len(page))
	for i, e := range page {
		ids[i] = e.GetLearnerId()
	}
	phases, err := s.phases(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, e := range page {
		e.Phase, e.PhaseSince = phases[i].GetPhase(), phases[i].GetChangedOn()
		out.Learners = append(out.Learners, e)
	}
	if end < len(entries) {
		out.NextPageToken = paging.Encode(query, entries[end-1].GetLearnerId())
	}
	return out, nil
}

// caseloadEntries returns the learners r follows and those it stands in
// for, by learner id, without their phases.
func (s *Service) caseloadEntries(ctx context.Context, r domain.Referent) ([]*referentv1.CaseloadEntry, error) {
	var out []*referentv1.CaseloadEntry
	for _, sl := range r.SortedLearners() {
		out = append(out, &referentv1.CaseloadEntry{
			LearnerId: sl.LearnerID, TerritoryCode: sl.Territory, EpisodeNumber: int32(sl.Episode),
			FromDate: civilpb.FromDate(sl.From), PathwayStatus: "active",
		})
	}
	for _, sl := range r.SortedQualif() {
		out = append(out, &referentv1.CaseloadEntry{
			LearnerId: sl.LearnerID, TerritoryCode: sl.Territory, EpisodeNumber: int32(sl.Episode),
			FromDate: civilpb.FromDate(sl.From), PathwayStatus: statusFollowingInQualif,
		})
	}
	today := s.deps.Today()
	for _, absent := range slices.Sorted(maps.Keys(r.Covers)) {
		if today.After(r.Covers[absent].To) {
			continue
		}
		a, err := s.caseloads.Load(ctx, absent)
		if err != nil {
			return nil, err
		}
		if a.State.Interim != r.ID {
			continue
		}
		span := domain.Span{From: a.State.AbsentFrom, To: a.State.AbsentTo}
		for _, sl := range a.State.Covered() {
			out = append(out, &referentv1.CaseloadEntry{
				LearnerId: sl.LearnerID, TerritoryCode: sl.Territory, EpisodeNumber: int32(sl.Episode),
				FromDate: civilpb.FromDate(sl.From), PathwayStatus: "active",
				Interim: true, AbsentReferentId: absent, InterimFrom: civilpb.FromDate(span.From), InterimTo: civilpb.FromDate(span.To),
			})
		}
	}
	slices.SortFunc(out, func(a, b *referentv1.CaseloadEntry) int { return strings.Compare(a.GetLearnerId(), b.GetLearnerId()) })
	return out, nil
}

// ListReferents implements referentv1.ReferentServiceServer, from the read
// model.
func (s *Service) ListReferents(ctx context.Context, req *referentv1.ListReferentsRequest) (*referentv1.ListReferentsResponse, error) {
	var v apperr.Violations
	ident.Territory(&v, "territory_code", req.GetTerritoryCode())
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint("referents", req.GetTerritoryCode(), req.GetKind().String(), boolString(req.GetIncludeDeactivated()))
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if !seesDirectory(caller, req.GetTerritoryCode()) {
		return &referentv1.ListReferentsResponse{}, nil
	}
	rs, err := s.referentsOf(ctx, req.GetTerritoryCode())
	if err != nil {
		return nil, err
	}
	kind := platform.FromWire(kinds, req.GetKind())
	out := &referentv1.ListReferentsResponse{}
	for _, r := range rs {
		if r.ID <= after || (kind != "" && r.Profile.Kind != kind) || (r.Deactivated && !req.GetIncludeDeactivated()) {
			continue
		}
		if len(out.Referents) == size {
			out.NextPageToken = paging.Encode(query, out.Referents[size-1].GetReferentId())
			break
		}
		out.Referents = append(out.Referents, referentView(r.asReferent(), r.Load, r.QualifLoad, s.cfg.QualifWeightPercent, s.deps.Today()))
	}
	return out, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// GetTerritoryLoad implements referentv1.ReferentServiceServer, from the
// read model.
func (s *Service) GetTerritoryLoad(ctx context.Context, req *referentv1.GetTerritoryLoadRequest) (*referentv1.GetTerritoryLoadResponse, error) {
	caller, _ := auth.FromContext(ctx)
	codes := req.GetTerritoryCodes()
	var v apperr.Violations
	for i, code := range codes {
		if problem := ident.CheckTerritory(code); problem != "" {
			v.Addf("territory_codes", "entry %d: %s", i, problem)
		}
	}
	if len(codes) > 100 {
		v.Add("territory_codes", "at most 100")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(codes) == 0 {
		all, err := s.store.Range(ctx, referentsProjection, territoriesIndex, projection.RangeQuery{Limit: projection.MaxRangeLimit})
		if err != nil {
			return nil, err
		}
		codes = all
	}
	out := &referentv1.GetTerritoryLoadResponse{}
	for _, t := range slices.Compact(slices.Sorted(slices.Values(codes))) {
		if !seesLoad(caller, t) {
			continue
		}
		rs, err := s.referentsOf(ctx, t)
		if err != nil {
			return nil, err
		}
		queued, err := s.store.Count(ctx, referentsProjection, queueIndex(t))
		if err != nil {
			return nil, err
		}
		row := &referentv1.TerritoryLoad{TerritoryCode: t}
		learners, qualif := 0, 0
		for _, r := range rs {
			switch {
			case r.Deactivated:
			case r.Profile.Kind == domain.KindEconomic:
				row.EconomicReferents++
			default:
				row.Referents++
				row.Capacity += int32(r.Profile.Capacity)
				learners += r.Load
				qualif += r.QualifLoad
			}
		}
		row.Learners, row.Waiting, row.QualifLearners = disclosure.Count(learners), disclosure.Count(int(queued)), disclosure.Count(qualif)
		out.Territories = append(out.Territories, row)
	}
	discloseLoad(out, exactCounts(caller))
	return out, nil
}

// discloseLoad applies the rule of small counts to the loads unless exact
// (admins): counts of learners from 1 to 4 are withheld. The deprecated
// int32 fields then read the counts given, 0 when withheld.
func discloseLoad(resp *referentv1.GetTerritoryLoadResponse, exact bool) {
	if !exact {
		disclosure.Withhold(resp)
	}
	for _, row := range resp.GetTerritories() {
		row.ActiveLearners, row.Queued = row.GetLearners().GetValue(), row.GetWaiting().GetValue()
	}
}

// ListPendingAssignments implements referentv1.ReferentServiceServer: the
// territory's queue, oldest first, for administrators and the territory's
// coordinators (a coordinator asking for another territory is refused
// rather than answered an empty queue, which would read as nobody
// waiting).
func (s *Service) ListPendingAssignments(ctx context.Context, req *referentv1.ListPendingAssignmentsRequest) (*referentv1.ListPendingAssignmentsResponse, error) {
	_, m, err := s.managerOf(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	ident.Territory(&v, "territory_code", req.GetTerritoryCode())
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint("pending", req.GetTerritoryCode())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !m.manages(req.GetTerritoryCode()) {
		return nil, apperr.PermissionDenied("you do not coordinate %s", req.GetTerritoryCode())
	}
	members, err := s.store.Range(ctx, referentsProjection, queueIndex(req.GetTerritoryCode()), projection.RangeQuery{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	out := &referentv1.ListPendingAssignmentsResponse{}
	if len(members) > size {
		members = members[:size]
		out.NextPageToken = paging.Encode(query, members[size-1])
	}
	for _, m := range members {
		snap, err := s.assignments.Load(ctx, queuedLearner(m))
		if err != nil {
			return nil, err
		}
		out.Pending = append(out.Pending, s.assignmentView(snap.State))
	}
	return out, nil
}

package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The learners read model (projection "intake-learners-v2", fed by
// avenir.intake.learner.>):
//
//	value  learner:<id>       the whole view of the learner (intakev1.Learner,
//	                          RQTH included: redacted when read)
//	index  name               "<folded family>\x00<folded given>\x00<id>", every learner
//	index  name:<territory>   the same members, the learners of one territory
//	index  ftid               "<France Travail id>\x00<id>", learners having one
//	index  registered         "<registered on YYYY-MM-DD>\x00<id>", learners not erased (retention)
//
// An erased learner keeps its value, as erased (no personal field), and
// leaves every index: a search never finds it, by name, territory or
// identifier. A read model rebuilt from the streams, where the erased
// learner's events read with empty personal fields, ends the same.
//
// Folded names hold neither control characters nor "\x00" (domain.FoldName),
// so a family-name prefix is a prefix of the members, members sort by family
// name, given name and id, and the last member of a page is the exclusive
// start of the next. A search over several territories merges the pages of
// their indexes. An operator's search reads none of them: it enumerates the
// learners enrolled with the operator (searchEnrolled).
const (
	// learnersProjection has a new name when its content changes, so that
	// existing stores build it from the start of the stream, and the
	// earlier one is deleted (retiredProjections): v2 added the registered
	// index and purges erased learners.
	learnersProjection = "intake-learners-v2"
	nameIndex          = "name"
	ftidIndex          = "ftid"
	registeredIndex    = "registered"
	memberSep          = "\x00"
)

// retiredProjections are read models of earlier versions, deleted from the
// store by the platform (Wiring.Retired): the learners' v1 kept the personal
// data of learners erased since.
var retiredProjections = []string{"intake-learners"}

// maxPrefixLength bounds a search's family-name prefix.
const maxPrefixLength = 100

func learnerKey(id string) string              { return "learner:" + id }
func territoryIndex(territory string) string   { return nameIndex + ":" + territory }
func ftidMember(ftid, learnerID string) string { return ftid + memberSep + learnerID }

func registeredMember(l *intakev1.Learner) string {
	return civilpb.Date(l.GetRegisteredOn()).String() + memberSep + l.GetLearnerId()
}

func nameMember(l *intakev1.Learner) string {
	return domain.FoldName(l.GetFamilyName()) + memberSep + domain.FoldName(l.GetGivenName()) + memberSep + l.GetLearnerId()
}

// memberID is the learner id ending an index member.
func memberID(member string) string { return member[strings.LastIndex(member, memberSep)+1:] }

// project keeps the learners read model. Events arrive one at a time in
// stream order, so the stored view is the learner before ev.
func (s *Service) project(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var before *intakev1.Learner
	switch ev.Data.(type) {
	case *intakev1.LearnerRegistered:
	case *intakev1.LearnerContactUpdated, *intakev1.LearnerSituationUpdated, *intakev1.LearnerErased:
		var err error
		if before, err = s.storedLearner(ctx, ev.AggregateID); err != nil {
			return nil, err
		}
		if before == nil {
			return nil, fmt.Errorf("intake: %s of learner %s, who is not in the read model", ev.Type, ev.AggregateID)
		}
	default:
		return nil, nil
	}
	de, _ := fromProto(ev.Data)
	if before == nil {
		after := toView(domain.Evolve(domain.Learner{}, de), ev.Time)
		b, err := proto.Marshal(after)
		if err != nil {
			return nil, err
		}
		member := nameMember(after)
		ops := []projection.Op{
			projection.Put(learnerKey(after.GetLearnerId()), b),
			projection.IndexAdd(nameIndex, member),
			projection.IndexAdd(territoryIndex(after.GetTerritoryCode()), member),
		}
		if civilpb.Date(after.GetRegisteredOn()).Valid() {
			ops = append(ops, projection.IndexAdd(registeredIndex, registeredMember(after)))
		}
		if ftid := after.GetSituation().GetFranceTravailId(); ftid != "" {
			ops = append(ops, projection.IndexAdd(ftidIndex, ftidMember(ftid, after.GetLearnerId())))
		}
		return ops, nil
	}
	after := toView(domain.Evolve(fromView(before), de), before.GetRegisteredAt().AsTime())
	b, err := proto.Marshal(after)
	if err != nil {
		return nil, err
	}
	ops := []projection.Op{projection.Put(learnerKey(after.GetLearnerId()), b)}
	if after.GetErased() && !before.GetErased() {
		// The members the learner had, as stored.
		member := nameMember(before)
		ops = append(ops,
			projection.IndexRemove(nameIndex, member),
			projection.IndexRemove(territoryIndex(before.GetTerritoryCode()), member),
			projection.IndexRemove(registeredIndex, registeredMember(before)))
	}
	if old, now := before.GetSituation().GetFranceTravailId(), after.GetSituation().GetFranceTravailId(); old != now {
		if old != "" {
			ops = append(ops, projection.IndexRemove(ftidIndex, ftidMember(old, after.GetLearnerId())))
		}
		if now != "" {
			ops = append(ops, projection.IndexAdd(ftidIndex, ftidMember(now, after.GetLearnerId())))
		}
	}
	return ops, nil
}

// storedLearner reads a learner from the read model, nil when absent.
func (s *Service) storedLearner(ctx context.Context, id string) (*intakev1.Learner, error) {
	b, err := s.store.Get(ctx, learnersProjection, learnerKey(id))
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l intakev1.Learner
	if err := proto.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("intake: stored learner %s: %w", id, err)
	}
	return &l, nil
}

// searchQuery is a validated SearchLearnersRequest.
type searchQuery struct {
	prefix    string // folded
	territory string
	ftid      string // normalised
	size      int
	after     string // exclusive start: the last member of the previous page
}

func (q searchQuery) fingerprint() string {
	return paging.Fingerprint("search", q.prefix, q.territory, q.ftid)
}

func (q searchQuery) matches(l *intakev1.Learner) bool {
	return strings.HasPrefix(domain.FoldName(l.GetFamilyName()), q.prefix) &&
		(q.territory == "" || l.GetTerritoryCode() == q.territory) &&
		(q.ftid == "" || l.GetSituation().GetFranceTravailId() == q.ftid)
}

// SearchLearners implements intakev1.IntakeServiceServer, from the read
// model. An erased learner is never found (it is in no index): by name,
// territory, identifier or among an operator's learners; GetLearner reads
// it as erased. Every search lists learners in the order of the name index
// (folded family name, folded given name, id); a page token holds, besides
// the fingerprint of the criteria (paging.Encode), the name-index member of
// the last learner of its page, so that the next page starts strictly after
// it whatever was registered in between.
func (s *Service) SearchLearners(ctx context.Context, req *intakev1.SearchLearnersRequest) (*intakev1.SearchLearnersResponse, error) {
	q, err := s.searchQuery(req)
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	if q.ftid != "" && !maySearchByFranceTravailID(p) {
		return nil, apperr.PermissionDenied("you do not see learners' situation: search by name or territory")
	}
	if searchesEnrolled(p) {
		return s.searchEnrolled(ctx, p, q)
	}
	if q.territory != "" && !mayReadTerritory(p, q.territory) {
		return nil, apperr.PermissionDenied("you do not reach territory %s", q.territory)
	}
	var members []string
	if q.ftid != "" {
		// One learner at most holds an identifier: a single page.
		members, err = s.store.Range(ctx, learnersProjection, ftidIndex, projection.RangeQuery{Prefix: q.ftid + memberSep, Limit: paging.MaxSize})
		if err != nil {
			return nil, err
		}
	} else {
		for _, index := range searchIndexes(p, q.territory) {
			page, err := s.store.Range(ctx, learnersProjection, index, projection.RangeQuery{Prefix: q.prefix, After: q.after, Limit: q.size + 1})
			if err != nil {
				return nil, err
			}
			members = append(members, page...)
		}
		slices.Sort(members)
		members = slices.Compact(members)
	}
	resp := &intakev1.SearchLearnersResponse{}
	if q.ftid == "" && len(members) > q.size {
		members = members[:q.size]
		resp.NextPageToken = paging.Encode(q.fingerprint(), members[len(members)-1])
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = learnerKey(memberID(m))
	}
	values, err := s.store.GetMany(ctx, learnersProjection, keys)
	if err != nil {
		return nil, err
	}
	learners := make([]*intakev1.Learner, len(values))
	ids, territories := make([]string, len(values)), make([]string, len(values))
	for i, b := range values {
		if b == nil {
			return nil, fmt.Errorf("intake: read model indexes learner %s without storing it", memberID(members[i]))
		}
		var l intakev1.Learner
		if err := proto.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("intake: stored learner %s: %w", memberID(members[i]), err)
		}
		learners[i], ids[i], territories[i] = &l, l.GetLearnerId(), l.GetTerritoryCode()
	}
	scopes, err := s.caseload.Scopes(ctx, ids, territories)
	if err != nil {
		return nil, err
	}
	today := s.deps.Today()
	for i, l := range learners {
		if q.matches(l) && mayRead(p, scopes[i], today) {
			resp.Learners = append(resp.Learners, redact(l, p, scopes[i]))
		}
	}
	return resp, nil
}

// found is a learner a search found, with its name-index member and scope.
type found struct {
	member  string
	learner *intakev1.Learner
	scope   auth.LearnerScope
}

// searchEnrolled is an operator's search: the learners ever enrolled with
// it (caseload.OperatorLearners, every page), less those it no longer reads
// today, less those the criteria exclude (family-name prefix, territory,
// France Travail id), in the order and with the page tokens of the other
// searches (see SearchLearners). A territory narrows the search within the
// operator's learners: it is never refused. A learner enrolled before
// intake's read model knows it is skipped until it does.
func (s *Service) searchEnrolled(ctx context.Context, p auth.Principal, q searchQuery) (*intakev1.SearchLearnersResponse, error) {
	var matches []found
	today := s.deps.Today()
	for after := ""; ; {
		ids, err := s.caseload.OperatorLearners(ctx, p.OperatorID, after, s.enrolledPage)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		learners, err := s.storedLearners(ctx, ids)
		if err != nil {
			return nil, err
		}
		territories := make([]string, len(ids))
		for i, l := range learners {
			territories[i] = l.GetTerritoryCode()
		}
		scopes, err := s.caseload.Scopes(ctx, ids, territories)
		if err != nil {
			return nil, err
		}
		for i, l := range learners {
			if l == nil || l.GetErased() || !q.matches(l) || !mayRead(p, scopes[i], today) {
				continue
			}
			if member := nameMember(l); member > q.after {
				matches = append(matches, found{member, l, scopes[i]})
			}
		}
		if len(ids) < s.enrolledPage {
			break
		}
	}
	slices.SortFunc(matches, func(a, b found) int { return strings.Compare(a.member, b.member) })
	resp := &intakev1.SearchLearnersResponse{}
	if len(matches) > q.size {
		matches = matches[:q.size]
		resp.NextPageToken = paging.Encode(q.fingerprint(), matches[len(matches)-1].member)
	}
	for _, m := range matches {
		resp.Learners = append(resp.Learners, redact(m.learner, p, m.scope))
	}
	return resp, nil
}

// storedLearners reads learners from the read model, in the order of ids,
// nil for those it does not hold.
func (s *Service) storedLearners(ctx context.Context, ids []string) ([]*intakev1.Learner, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = learnerKey(id)
	}
	values, err := s.store.GetMany(ctx, learnersProjection, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*intakev1.Learner, len(values))
	for i, b := range values {
		if b == nil {
			continue
		}
		var l intakev1.Learner
		if err := proto.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("intake: stored learner %s: %w", ids[i], err)
		}
		out[i] = &l
	}
	return out, nil
}

// searchIndexes are the name indexes a search by p reads: the territory
// asked for, else the whole region for those who reach it, else the
// territories of p's scope.
func searchIndexes(p auth.Principal, territory string) []string {
	switch {
	case territory != "":
		return []string{territoryIndex(territory)}
	case p.Is(auth.RoleAdmin, auth.RoleFunder):
		return []string{nameIndex}
	}
	var out []string
	for _, t := range p.Territories {
		if mayReadTerritory(p, t) && !slices.Contains(out, territoryIndex(t)) {
			out = append(out, territoryIndex(t))
		}
	}
	return out
}

// searchQuery validates a search, reporting every problem at once.
func (s *Service) searchQuery(req *intakev1.SearchLearnersRequest) (searchQuery, error) {
	var v apperr.Violations
	q := searchQuery{prefix: domain.FoldName(req.GetFamilyNamePrefix()), territory: req.GetTerritoryCode()}
	switch {
	case utf8.RuneCountInString(req.GetFamilyNamePrefix()) > maxPrefixLength:
		v.Addf("family_name_prefix", "must be at most %d characters", maxPrefixLength)
	case q.prefix == "" && strings.TrimSpace(req.GetFamilyNamePrefix()) != "":
		v.Add("family_name_prefix", "must contain a letter or a digit")
	}
	if _, known := s.territories.Lookup(q.territory); q.territory != "" && !known {
		v.Addf("territory_code", "unknown territory %q", q.territory)
	}
	if raw := req.GetFranceTravailId(); raw != "" {
		id, ok := domain.NormalizeFranceTravailID(raw)
		if !ok {
			v.Add("france_travail_id", "must be 7 digits followed by a digit or a letter, e.g. 1234567A")
		}
		q.ftid = id
	}
	q.size = paging.Size(&v, req.GetPageSize())
	q.after = paging.Decode(&v, req.GetPageToken(), q.fingerprint())
	return q, v.Err()
}

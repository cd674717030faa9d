package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/disclosure"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The scheme seen whole: the programmes' beneficiaries against their
// targets, the outcomes, and the public of the entries, for funders, admins
// and coordinators. The figures join the read models of scheme_readmodels.go
// and the learners read model when asked; the domain counts.

// schemeView is what a caller sees of the scheme's figures: the
// territories listed even without figures, and those kept.
type schemeView struct {
	listed []string
	// whole: every territory is kept (admins and funders, no territory
	// asked for).
	whole bool
}

func (v schemeView) keeps(territory string) bool {
	return v.whole || slices.Contains(v.listed, territory)
}

// schemeViewOf is the view of caller asking for territory ("" for every
// territory it may see): admins and funders see the whole region,
// coordinators the territories they coordinate; plain referents and the
// territories out of a coordinator's scope are refused.
func schemeViewOf(caller auth.Principal, territory string) (schemeView, error) {
	switch {
	case caller.Is(auth.RoleAdmin, auth.RoleFunder):
		if territory == "" {
			return schemeView{whole: true}, nil
		}
		return schemeView{listed: []string{territory}}, nil
	case caller.Role == auth.RoleReferent && caller.Coordinator:
		if territory == "" {
			return schemeView{listed: ownTerritories(caller)}, nil
		}
		if caller.InTerritory(territory) {
			return schemeView{listed: []string{territory}}, nil
		}
		return schemeView{}, apperr.PermissionDenied("the figures of territory %s are outside the territories you coordinate", territory)
	}
	return schemeView{}, apperr.PermissionDenied("the scheme's figures are for funders, admins and coordinators")
}

// checkMonths reads a range of months of a report: both required, in
// order, at most maxReportMonths.
func checkMonths(v *apperr.Violations, fromMonth, toMonth *commonv1.Month) (civil.Month, civil.Month) {
	from := civilpb.CheckMonth(v, "from_month", fromMonth)
	to := civilpb.CheckMonth(v, "to_month", toMonth)
	if from.Valid() && to.Valid() {
		switch n := to.MonthsFrom(from); {
		case n == 0:
			v.Addf("to_month", "must not be before from_month (%s)", from)
		case n > maxReportMonths:
			v.Addf("to_month", "must be at most %d months after from_month", maxReportMonths-1)
		}
	}
	return from, to
}

// scanTails walks the members of a month index (<YYYY-MM>/<tail>) of
// projection name from month from to month to and returns their tails.
func (s *Service) scanTails(ctx context.Context, name, index string, from, to civil.Month) ([]string, error) {
	return s.scanTailsExcept(ctx, name, index, from, to, nil)
}

// scanTailsExcept is scanTails without the members of the months (YYYY-MM)
// skip reports (nil skips none).
func (s *Service) scanTailsExcept(ctx context.Context, name, index string, from, to civil.Month, skip func(month string) bool) ([]string, error) {
	var tails []string
	last := to.String()
	err := projection.Scan(ctx, s.store, name, index, projection.RangeQuery{After: from.String(), Limit: projection.MaxRangeLimit},
		func(members []string) (bool, error) {
			for _, m := range members {
				month := m[:strings.IndexByte(m+"/", '/')]
				if month > last {
					return false, nil
				}
				if skip == nil || !skip(month) {
					tails = append(tails, monthTail(m))
				}
			}
			return true, nil
		})
	return tails, err
}

// GetProgrammeTargets implements pathwayv1.PathwayServiceServer. The
// months are those of the year up to today's; the totals are the whole
// scheme's, whatever territory is asked for, since the target is.
func (s *Service) GetProgrammeTargets(ctx context.Context, req *pathwayv1.GetProgrammeTargetsRequest) (*pathwayv1.GetProgrammeTargetsResponse, error) {
	var v apperr.Violations
	year := int(req.GetYear())
	if year < 2000 || year > 2200 {
		v.Add("year", "must be a calendar year from 2000 to 2200")
	}
	ident.OptionalTerritory(&v, "territory_code", req.GetTerritoryCode())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	view, err := schemeViewOf(caller, req.GetTerritoryCode())
	if err != nil {
		return nil, err
	}
	months := domain.ReportedMonths(year, s.deps.Today())
	resp := &pathwayv1.GetProgrammeTargetsResponse{}
	for _, p := range []domain.FundingProgramme{domain.FundingAvenir, domain.FundingAction} {
		var days []domain.BeneficiaryDay
		if len(months) > 0 {
			if p == domain.FundingAvenir {
				days, err = s.avenirDays(ctx, year)
			} else {
				days, err = s.actionDays(ctx, year)
			}
			if err != nil {
				return nil, err
			}
		}
		target, err := s.programmeTarget(ctx, p, year)
		if err != nil {
			return nil, err
		}
		rows, total := domain.Progress(days, months, view.listed)
		for _, r := range rows {
			if view.keeps(r.Territory) {
				resp.Territories = append(resp.Territories, progressToProto(p, r))
			}
		}
		t := progressToProto(p, total)
		t.Target, t.PercentOfTarget = int32(target), int32(domain.PercentOf(total.Beneficiaries, target))
		resp.Totals = append(resp.Totals, t)
	}
	discloseTargets(resp, caller)
	return resp, nil
}

func progressToProto(p domain.FundingProgramme, r domain.ProgressRow) *pathwayv1.ProgrammeProgress {
	out := &pathwayv1.ProgrammeProgress{Programme: fundingProgrammes[p], TerritoryCode: r.Territory, Beneficiaries: disclosure.Count(r.Beneficiaries)}
	for _, m := range r.Months {
		out.Months = append(out.Months, &pathwayv1.MonthlyBeneficiaries{
			Month: civilpb.FromMonth(m.Month), NewBeneficiaries: disclosure.Count(m.New), Cumulative: disclosure.Count(m.Cumulative),
		})
	}
	return out
}

// avenirDays are the first days in year of every episode with a day in
// it: those entered in the year, those exited in it or later, and those
// still open.
func (s *Service) avenirDays(ctx context.Context, year int) ([]domain.BeneficiaryDay, error) {
	prefix := fmt.Sprintf("%04d-", year) // the months of the year
	seen := map[string]bool{}
	var tails []string
	add := func(tail string) {
		if !seen[tail] {
			seen[tail] = true
			tails = append(tails, tail)
		}
	}
	for _, q := range []struct {
		index string
		query projection.RangeQuery
		tail  func(string) string
	}{
		{enteredIndex, projection.RangeQuery{Prefix: prefix}, monthTail},
		{exitedIndex, projection.RangeQuery{After: prefix}, monthTail},
		{openIndex, projection.RangeQuery{}, func(m string) string { return m }},
	} {
		q.query.Limit = projection.MaxRangeLimit
		err := projection.Scan(ctx, s.store, episodesProjection, q.index, q.query, func(members []string) (bool, error) {
			for _, m := range members {
				add(q.tail(m))
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	eps, err := s.episodes(ctx, tails)
	if err != nil {
		return nil, err
	}
	var days []domain.BeneficiaryDay
	for _, se := range eps {
		if d, ok := domain.FirstDayIn(textDate(se.Entry), textDate(se.Exit), year); ok {
			days = append(days, domain.BeneficiaryDay{Learner: se.Learner, Territory: se.Territory, Day: d})
		}
	}
	return days, nil
}

// actionDays are the first days of the immersion sessions starting in
// year on which a place is booked (not cancelled), in the territory of the
// learner. A learner whose registration pathway has not seen yet counts
// once it has.
func (s *Service) actionDays(ctx context.Context, year int) ([]domain.BeneficiaryDay, error) {
	tails, err := s.scanTails(ctx, immersionsProjection, startsIndex, civil.Month{Year: year, Month: 1}, civil.Month{Year: year, Month: 12})
	if err != nil {
		return nil, err
	}
	stored, err := projection.GetManyJSONOf[storedPlace](ctx, s.store, immersionsProjection, tails, placeKey)
	if err != nil {
		return nil, err
	}
	places := slices.DeleteFunc(present(stored), func(p storedPlace) bool { return !p.Booked })
	ids := make([]string, len(places))
	for i, p := range places {
		ids[i] = p.Learner
	}
	ls, err := s.learners(ctx, ids)
	if err != nil {
		return nil, err
	}
	var days []domain.BeneficiaryDay
	for i, p := range places {
		if ls[i].Territory != "" {
			days = append(days, domain.BeneficiaryDay{Learner: p.Learner, Territory: ls[i].Territory, Day: textDate(p.From)})
		}
	}
	return days, nil
}

// GetOutcomes implements pathwayv1.PathwayServiceServer.
func (s *Service) GetOutcomes(ctx context.Context, req *pathwayv1.GetOutcomesRequest) (*pathwayv1.GetOutcomesResponse, error) {
	var v apperr.Violations
	from, to := checkMonths(&v, req.GetFromMonth(), req.GetToMonth())
	ident.OptionalTerritory(&v, "territory_code", req.GetTerritoryCode())
	ident.OptionalCode(&v, "operator_id", req.GetOperatorId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	view, err := schemeViewOf(caller, req.GetTerritoryCode())
	if err != nil {
		return nil, err
	}
	operator := req.GetOperatorId()
	kept := func(op, territory string) bool { return view.keeps(territory) && (operator == "" || op == operator) }

	tails, err := s.scanTails(ctx, episodesProjection, exitedIndex, from, to)
	if err != nil {
		return nil, err
	}
	eps, err := s.episodes(ctx, tails)
	if err != nil {
		return nil, err
	}
	var exits []domain.ExitFact
	for _, se := range eps {
		ep := se.episode()
		if op := ep.AccompanimentAtExit(); kept(op, se.Territory) {
			exits = append(exits, domain.ExitFact{
				Operator: op, Territory: se.Territory, Reason: ep.ExitReason, Days: domain.DaysInPathway(ep.Entry, ep.Exit),
				FollowUp: ep.FollowUp.Situation, Employment: ep.FollowUp.Employment,
			})
		}
	}

	immersions, err := s.immersionOutcomes(ctx, from, to)
	if err != nil {
		return nil, err
	}
	immersions = slices.DeleteFunc(immersions, func(i domain.ImmersionFact) bool { return !kept(i.Operator, i.Territory) })

	rows, total := domain.OutcomeReport(exits, immersions)
	resp := &pathwayv1.GetOutcomesResponse{Total: outcomesToProto(total)}
	for _, r := range rows {
		resp.Outcomes = append(resp.Outcomes, outcomesToProto(r))
	}
	// The same facts per territory: summed across operators before the rule
	// of small counts applies.
	for i := range exits {
		exits[i].Operator = ""
	}
	for i := range immersions {
		immersions[i].Operator = ""
	}
	territories, _ := domain.OutcomeReport(exits, immersions)
	for _, r := range territories {
		resp.Territories = append(resp.Territories, outcomesToProto(r))
	}
	discloseOutcomes(resp, caller)
	return resp, nil
}

// immersionOutcomes are the outcomes recorded in the months from..to, in
// the territory of their learner (those whose registration pathway has
// not seen yet are left out until it has).
func (s *Service) immersionOutcomes(ctx context.Context, from, to civil.Month) ([]domain.ImmersionFact, error) {
	tails, err := s.scanTails(ctx, immersionsProjection, outcomesIndex, from, to)
	if err != nil {
		return nil, err
	}
	stored, err := projection.GetManyJSONOf[storedOutcome](ctx, s.store, immersionsProjection, tails, outcomeKey)
	if err != nil {
		return nil, err
	}
	outcomes := present(stored)
	ids := make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i] = o.Learner
	}
	ls, err := s.learners(ctx, ids)
	if err != nil {
		return nil, err
	}
	var facts []domain.ImmersionFact
	for i, o := range outcomes {
		if ls[i].Territory != "" {
			facts = append(facts, domain.ImmersionFact{Operator: o.Operator, Territory: ls[i].Territory, Status: domain.ImmersionStatus(o.Status)})
		}
	}
	return facts, nil
}

func outcomesToProto(r domain.OutcomeRow) *pathwayv1.Outcomes {
	out := &pathwayv1.Outcomes{
		OperatorId: r.Operator, TerritoryCode: r.Territory, Exits: disclosure.Count(r.Exits),
		ImmersionsWithOutcome: disclosure.Count(r.Immersions), ImmersionsCompleted: disclosure.Count(r.Completed), ImmersionsPartiallyCompleted: disclosure.Count(r.Partial),
	}
	for _, reason := range domain.ExitReasons {
		if n := r.ExitsByReason[reason]; n > 0 {
			out.ExitsByReason = append(out.ExitsByReason, &pathwayv1.ExitReasonCount{Reason: exitReasons[reason], Count: disclosure.Count(n)})
		}
	}
	if r.HasMedian {
		out.MedianDaysInPathway = new(int32(r.MedianDays))
	}
	if r.HasCompletion {
		out.ImmersionCompletionPercent = new(int32(r.CompletionPercent))
	}
	out.FollowUps = disclosure.Count(r.FollowUps)
	for _, k := range domain.FollowUpKeys() {
		if n := r.FollowUpsBy[k]; n > 0 {
			out.FollowUpsBySituation = append(out.FollowUpsBySituation, &pathwayv1.FollowUpCount{
				Situation: situations6[k.Situation], EmploymentType: employmentTypes[k.Employment], Count: disclosure.Count(n),
			})
		}
	}
	return out
}

// GetBreakdowns implements pathwayv1.PathwayServiceServer: the episodes
// entered in the months, each with what intake recorded of its learner on
// the entry date; the months frozen (statistics.go) are read from their
// frozen counts, the others counted live, and the sums disclosed.
func (s *Service) GetBreakdowns(ctx context.Context, req *pathwayv1.GetBreakdownsRequest) (*pathwayv1.GetBreakdownsResponse, error) {
	var v apperr.Violations
	from, to := checkMonths(&v, req.GetFromMonth(), req.GetToMonth())
	ident.OptionalTerritory(&v, "territory_code", req.GetTerritoryCode())
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	view, err := schemeViewOf(caller, req.GetTerritoryCode())
	if err != nil {
		return nil, err
	}
	frozen, err := s.frozenMonths(ctx, from, to)
	if err != nil {
		return nil, err
	}
	entries, err := s.entryFacts(ctx, from, to, frozen, view.keeps)
	if err != nil {
		return nil, err
	}
	rows, total := domain.BreakdownReportWith(entries, frozenRows(frozen, view.keeps), view.listed)
	resp := &pathwayv1.GetBreakdownsResponse{Total: breakdownToProto(total)}
	for _, r := range rows {
		resp.Territories = append(resp.Territories, breakdownToProto(r))
	}
	discloseBreakdowns(resp, caller)
	return resp, nil
}

func breakdownToProto(r domain.BreakdownRow) *pathwayv1.Breakdown {
	out := &pathwayv1.Breakdown{
		TerritoryCode: r.Territory, Entries: disclosure.Count(r.Entries),
		Rqth: disclosure.Count(r.RQTH), Qpv: disclosure.Count(r.QPV), Zrr: disclosure.Count(r.ZRR), Rsa: disclosure.Count(r.RSA),
	}
	for _, b := range domain.AgeBands {
		out.AgeBands = append(out.AgeBands, &pathwayv1.AgeBandCount{Band: ageBands[b], Count: disclosure.Count(r.Bands[b])})
	}
	for _, l := range domain.EducationLevels {
		if n := r.Education[l]; n > 0 {
			out.EducationLevels = append(out.EducationLevels, &pathwayv1.EducationLevelCount{Level: educationLevels[l], Count: disclosure.Count(n)})
		}
	}
	out.AbovePublic = disclosure.Count(r.AbovePublic())
	return out
}

// discloseBreakdowns discloses resp to caller: the levels 4 to 8 add up
// to the count above the scheme's public given beside them, so one of them
// withheld alone would be that count minus the others.
func discloseBreakdowns(resp *pathwayv1.GetBreakdownsResponse, caller auth.Principal) {
	disclose(resp, caller)
	if exactCounts(caller) {
		return
	}
	for _, b := range append(slices.Clone(resp.GetTerritories()), resp.GetTotal()) {
		var above []*commonv1.Count
		for _, l := range b.GetEducationLevels() {
			if level := platform.FromWire(educationLevels, l.GetLevel()); level.AbovePublic() {
				above = append(above, l.GetCount())
			}
		}
		disclosure.Complement(above...)
	}
}

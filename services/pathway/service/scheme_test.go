package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/service"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

var (
	action        = commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION
	coordinatorT5 = auth.Principal{Subject: "u-c5", Role: auth.RoleReferent, ReferentID: "ref-c5", Territories: []string{"T05"}, Coordinator: true}
)

func month(y, m int32) *commonv1.Month { return &commonv1.Month{Year: y, Month: m} }

// publishLearner publishes intake's LearnerRegistered for a new learner,
// as intake would, and returns its id.
func publishLearner(t *testing.T, env *servicetest.Env, territory string, born, on *commonv1.Date, rqth bool, sit *intakev1.Situation) string {
	t.Helper()
	id := event.NewID()
	env.Publish(t, "avenir.intake.learner."+id+".registered", &intakev1.LearnerRegistered{
		LearnerId: id, FamilyName: "Durand", GivenName: "Sam", TerritoryCode: territory, BirthDate: born, RegisteredOn: on,
		Rqth: rqth, Situation: sit, Contact: &intakev1.Contact{Email: "sam@example.org"},
	})
	return id
}

// publishSituation publishes intake's LearnerSituationUpdated, recorded on
// the services' day.
func publishSituation(t *testing.T, env *servicetest.Env, id string, from *commonv1.Date, rqth bool, sit *intakev1.Situation) {
	t.Helper()
	env.Publish(t, "avenir.intake.learner."+id+".situation_updated", &intakev1.LearnerSituationUpdated{
		LearnerId: id, Situation: sit, Rqth: rqth, EffectiveOn: from, RecordedOn: civilpb.FromDate(civil.Of(env.Now())),
	})
}

// scheme is the known set behind the scheme's figures, built from January
// 2025 to 26 November 2026 (the services' clock when it returns), the
// pathway's facts through its API, intake's, immersion's and funding's
// published as those contexts would:
//
//	L1 T05 born 2001  RSA, level 3        in 2025-11-10 (op-a accompaniment) .. 2026-03-20 employment, 130 days
//	L2 T05 born 1970  RQTH, QPV, none     in 2026-02-03 .. 2026-06-15 abandonment, 132 days (no accompaniment);
//	                                      from 06-01 also ZRR, from 08-01 no longer RQTH; in again 2026-09-01
//	L5 T06 born 1980                      in 2026-10-01; place on s-0 (2026-10-05), partially done (recorded 10-09);
//	                                      place on s-1
//	L3 T06 born 1990  RSA, level 4        in 2026-11-02 (op-b accompaniment); place on s-1 (2026-11-16), completed (11-20)
//	L4 T05 born 2005  level 5             in 2026-11-02; QPV from 11-02, recorded on 11-20; place on s-1 cancelled,
//	                                      place on s-2 (2026-12-03)
//	F1..F4 T07 born 1996, level 4         in 2026-11-05; F1 (op-a accompaniment) out 2026-11-20 health, 15 days;
//	                                      F2 place on s-1, did not show (11-20)
//
// Every immersion is hosted by op-h. Funding set the #Avenir target of 2026
// twice: 100, then 18, and that of 2025 to 10.
func scheme(t *testing.T) (*servicetest.Env, map[string]string) {
	t.Helper()
	return schemeWith(t, service.Config{})
}

// schemeWith is scheme with the service configured by cfg.
func schemeWith(t *testing.T, cfg service.Config) (*servicetest.Env, map[string]string) {
	t.Helper()
	env, _ := startWith(t, servicetest.Options{Now: time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)}, cfg)
	admin := func(y, m, d int) pathwayv1.PathwayServiceClient {
		env.SetNow(time.Date(y, time.Month(m), d, 9, 0, 0, 0, time.UTC))
		return pathwayv1.NewPathwayServiceClient(env.ConnAs(t, servicetest.Admin))
	}
	sit := func(rsa, qpv, zrr bool, level intakev1.EducationLevel) *intakev1.Situation {
		return &intakev1.Situation{RsaRecipient: rsa, QpvResident: qpv, ZrrResident: zrr, EducationLevel: level}
	}
	place := func(session string, from *commonv1.Date, learner string) *immersionv1.PlaceBooked {
		return &immersionv1.PlaceBooked{SessionId: session, LearnerId: learner, Booked: 1, Capacity: 10, OperatorId: "op-h", FromDate: from, ToDate: from}
	}
	outcome := func(session, learner string, status immersionv1.OutcomeStatus) *immersionv1.OutcomeRecorded {
		return &immersionv1.OutcomeRecorded{SessionId: session, LearnerId: learner, Status: status, OperatorId: "op-h", RomeCodes: []string{"H2909"}}
	}
	opA := publishContract(t, env, terms("op-a", avenir, date(2025, 1, 1), date(2026, 12, 31), "T05", "T07"))
	opB := publishContract(t, env, terms("op-b", avenir, date(2025, 1, 1), date(2026, 12, 31), "T06"))
	ids := map[string]string{}

	ids["L1"] = publishLearner(t, env, "T05", date(2001, 5, 14), date(2025, 11, 3), false, sit(true, false, false, intakev1.EducationLevel_EDUCATION_LEVEL_3))
	env.CaughtUp(t)
	c := admin(2025, 11, 20)
	enter(t, c, ids["L1"], date(2025, 11, 10))
	enrol(t, c, ids["L1"], opA, accompaniment, date(2025, 11, 10))

	c = admin(2026, 2, 3)
	ids["L2"] = publishLearner(t, env, "T05", date(1970, 2, 1), date(2026, 2, 2), true, sit(false, true, false, intakev1.EducationLevel_EDUCATION_LEVEL_NO_DIPLOMA))
	env.CaughtUp(t)
	enter(t, c, ids["L2"], date(2026, 2, 3))

	c = admin(2026, 3, 20)
	exit(t, c, ids["L1"], date(2026, 3, 20), pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, "")

	c = admin(2026, 6, 15)
	publishSituation(t, env, ids["L2"], date(2026, 6, 1), true, sit(false, true, true, intakev1.EducationLevel_EDUCATION_LEVEL_NO_DIPLOMA))
	exit(t, c, ids["L2"], date(2026, 6, 15), pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT, "")
	admin(2026, 8, 1)
	publishSituation(t, env, ids["L2"], date(2026, 8, 1), false, sit(false, true, true, intakev1.EducationLevel_EDUCATION_LEVEL_NO_DIPLOMA))
	c = admin(2026, 9, 1)
	enter(t, c, ids["L2"], date(2026, 9, 1))

	c = admin(2026, 10, 1)
	ids["L5"] = publishLearner(t, env, "T06", date(1980, 3, 3), date(2026, 10, 1), false, nil)
	env.CaughtUp(t)
	enter(t, c, ids["L5"], date(2026, 10, 1))
	publishSession(t, env, "s-0", place("s-0", date(2026, 10, 5), ids["L5"]))
	admin(2026, 10, 9)
	publishSession(t, env, "s-0", outcome("s-0", ids["L5"], immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED))

	c = admin(2026, 11, 5)
	ids["L3"] = publishLearner(t, env, "T06", date(1990, 7, 7), date(2026, 11, 2), false, sit(true, false, false, intakev1.EducationLevel_EDUCATION_LEVEL_4))
	ids["L4"] = publishLearner(t, env, "T05", date(2005, 1, 1), date(2026, 11, 2), false, sit(false, false, false, intakev1.EducationLevel_EDUCATION_LEVEL_5))
	for _, f := range []string{"F1", "F2", "F3", "F4"} {
		ids[f] = publishLearner(t, env, "T07", date(1996, 1, 1), date(2026, 11, 2), false, sit(false, false, false, intakev1.EducationLevel_EDUCATION_LEVEL_4))
	}
	env.CaughtUp(t)
	enter(t, c, ids["L3"], date(2026, 11, 2))
	enter(t, c, ids["L4"], date(2026, 11, 2))
	for _, f := range []string{"F1", "F2", "F3", "F4"} {
		enter(t, c, ids[f], date(2026, 11, 5))
	}
	enrol(t, c, ids["L3"], opB, accompaniment, date(2026, 11, 2))
	enrol(t, c, ids["F1"], opA, accompaniment, date(2026, 11, 5))
	s1 := date(2026, 11, 16)
	publishSession(t, env, "s-1", place("s-1", s1, ids["L3"]), place("s-1", s1, ids["L4"]))
	env.Publish(t, "avenir.immersion.session.s-1.booking_cancelled", &immersionv1.BookingCancelled{
		SessionId: "s-1", LearnerId: ids["L4"], Cause: immersionv1.CancellationCause_CANCELLATION_CAUSE_REFERENT,
	})
	publishSession(t, env, "s-2", place("s-2", date(2026, 12, 3), ids["L4"]))
	publishSession(t, env, "s-1", place("s-1", s1, ids["L5"]))

	c = admin(2026, 11, 20)
	publishSituation(t, env, ids["L4"], date(2026, 11, 2), false, sit(false, true, false, intakev1.EducationLevel_EDUCATION_LEVEL_5))
	publishSession(t, env, "s-1",
		outcome("s-1", ids["L3"], immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED),
		place("s-1", s1, ids["F2"]), outcome("s-1", ids["F2"], immersionv1.OutcomeStatus_OUTCOME_STATUS_DID_NOT_SHOW))
	exit(t, c, ids["F1"], date(2026, 11, 20), pathwayv1.ExitReason_EXIT_REASON_HEALTH, "")

	admin(2026, 11, 26)
	for _, target := range []int32{100, 18} {
		env.Publish(t, "avenir.funding.programme.avenir-2026.set", &fundingv1.ProgrammeYearSet{
			ProgrammeYearId: "avenir-2026", Programme: avenir, Year: 2026, EnvelopeCents: 33_000_000_00, BeneficiariesTarget: target, Reason: "vote",
		})
	}
	env.Publish(t, "avenir.funding.programme.avenir-2025.set", &fundingv1.ProgrammeYearSet{
		ProgrammeYearId: "avenir-2025", Programme: avenir, Year: 2025, EnvelopeCents: 33_000_000_00, BeneficiariesTarget: 10, Reason: "vote",
	})
	env.CaughtUp(t)
	return env, ids
}

// shown writes a count as a reader sees it: its value, or "<5".
func shown(c *commonv1.Count) string {
	if c.GetFewerThanFive() {
		if c.GetValue() != 0 {
			return "<5 with a value"
		}
		return "<5"
	}
	return fmt.Sprint(c.GetValue())
}

func progressLines(ps []*pathwayv1.ProgrammeProgress) []string {
	var out []string
	for _, p := range ps {
		var months []string
		for _, m := range p.GetMonths() {
			if n := m.GetNewBeneficiaries(); n.GetValue() > 0 || n.GetFewerThanFive() {
				months = append(months, fmt.Sprintf("%02d+%s=%s", m.GetMonth().GetMonth(), shown(n), shown(m.GetCumulative())))
			}
		}
		line := fmt.Sprintf("%s %s %s [%s] %d months", strings.TrimPrefix(p.GetProgramme().String(), "FUNDING_PROGRAMME_"),
			p.GetTerritoryCode(), shown(p.GetBeneficiaries()), strings.Join(months, " "), len(p.GetMonths()))
		if p.GetTerritoryCode() == "" {
			line += fmt.Sprintf(" target %d %d%%", p.GetTarget(), p.GetPercentOfTarget())
		}
		out = append(out, line)
	}
	return out
}

func outcomeLine(o *pathwayv1.Outcomes) string {
	var reasons []string
	for _, r := range o.GetExitsByReason() {
		reasons = append(reasons, strings.TrimPrefix(r.GetReason().String(), "EXIT_REASON_")+":"+shown(r.GetCount()))
	}
	median, percent := "-", "-"
	if o.MedianDaysInPathway != nil {
		median = fmt.Sprint(o.GetMedianDaysInPathway())
	}
	if o.ImmersionCompletionPercent != nil {
		percent = fmt.Sprint(o.GetImmersionCompletionPercent())
	}
	return fmt.Sprintf("%q/%s exits %s [%s] median %s immersions %s/%s/%s %s%%", o.GetOperatorId(), o.GetTerritoryCode(),
		shown(o.GetExits()), strings.Join(reasons, " "), median,
		shown(o.GetImmersionsWithOutcome()), shown(o.GetImmersionsCompleted()), shown(o.GetImmersionsPartiallyCompleted()), percent)
}

func outcomeLines(resp *pathwayv1.GetOutcomesResponse) []string {
	var out []string
	for _, o := range resp.GetOutcomes() {
		out = append(out, outcomeLine(o))
	}
	return append(out, "total "+outcomeLine(resp.GetTotal()))
}

func breakdownLine(b *pathwayv1.Breakdown) string {
	var bands, levels []string
	for _, a := range b.GetAgeBands() {
		bands = append(bands, strings.TrimPrefix(a.GetBand().String(), "AGE_BAND_")+":"+shown(a.GetCount()))
	}
	for _, l := range b.GetEducationLevels() {
		levels = append(levels, strings.TrimPrefix(l.GetLevel().String(), "EDUCATION_LEVEL_")+":"+shown(l.GetCount()))
	}
	return fmt.Sprintf("%s entries %s rqth %s qpv %s zrr %s rsa %s [%s] [%s] above %s", b.GetTerritoryCode(), shown(b.GetEntries()),
		shown(b.GetRqth()), shown(b.GetQpv()), shown(b.GetZrr()), shown(b.GetRsa()), strings.Join(bands, " "), strings.Join(levels, " "),
		shown(b.GetAbovePublic()))
}

func breakdownLines(resp *pathwayv1.GetBreakdownsResponse) []string {
	var out []string
	for _, b := range resp.GetTerritories() {
		out = append(out, breakdownLine(b))
	}
	return append(out, "total"+breakdownLine(resp.GetTotal()))
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSchemeFigures(t *testing.T) {
	t.Parallel()
	env, _ := scheme(t)
	as := func(p auth.Principal) pathwayv1.PathwayServiceClient {
		return pathwayv1.NewPathwayServiceClient(env.ConnAs(t, p))
	}
	admin, fund, coord := as(servicetest.Admin), as(funder), as(coordinatorT5)

	t.Run("programme targets", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			client      pathwayv1.PathwayServiceClient
			req         *pathwayv1.GetProgrammeTargetsRequest
			territories []string
			totals      []string
		}{
			{"the current year, months to date, exact for an admin", admin, &pathwayv1.GetProgrammeTargetsRequest{Year: 2026},
				[]string{
					"AVENIR T05 3 [01+1=1 02+1=2 11+1=3] 11 months",
					"AVENIR T06 2 [10+1=1 11+1=2] 11 months",
					"AVENIR T07 4 [11+4=4] 11 months",
					"ACTION T06 2 [10+1=1 11+1=2] 11 months",
					"ACTION T07 1 [11+1=1] 11 months",
				},
				[]string{
					"AVENIR  9 [01+1=1 02+1=2 10+1=3 11+6=9] 11 months target 18 50%",
					"ACTION  3 [10+1=1 11+2=3] 11 months target 3000 0%",
				}},
			// A funder gets no count from 1 to 4, in rows, months and
			// totals alike; 0 and counts from 5 as they are.
			{"the current year for a funder", fund, &pathwayv1.GetProgrammeTargetsRequest{Year: 2026},
				[]string{
					"AVENIR T05 <5 [01+<5=<5 02+<5=<5 11+<5=<5] 11 months",
					"AVENIR T06 <5 [10+<5=<5 11+<5=<5] 11 months",
					"AVENIR T07 <5 [11+<5=<5] 11 months",
					"ACTION T06 <5 [10+<5=<5 11+<5=<5] 11 months",
					"ACTION T07 <5 [11+<5=<5] 11 months",
				},
				[]string{
					"AVENIR  9 [01+<5=<5 02+<5=<5 10+<5=<5 11+6=9] 11 months target 18 50%",
					"ACTION  <5 [10+<5=<5 11+<5=<5] 11 months target 3000 0%",
				}},
			{"one territory, the whole scheme's totals", admin, &pathwayv1.GetProgrammeTargetsRequest{Year: 2026, TerritoryCode: "T06"},
				[]string{"AVENIR T06 2 [10+1=1 11+1=2] 11 months", "ACTION T06 2 [10+1=1 11+1=2] 11 months"},
				[]string{
					"AVENIR  9 [01+1=1 02+1=2 10+1=3 11+6=9] 11 months target 18 50%",
					"ACTION  3 [10+1=1 11+2=3] 11 months target 3000 0%",
				}},
			{"a coordinator, its territories, even empty, withheld", coord, &pathwayv1.GetProgrammeTargetsRequest{Year: 2026},
				[]string{"AVENIR T05 <5 [01+<5=<5 02+<5=<5 11+<5=<5] 11 months", "ACTION T05 0 [] 11 months"},
				[]string{
					"AVENIR  9 [01+<5=<5 02+<5=<5 10+<5=<5 11+6=9] 11 months target 18 50%",
					"ACTION  <5 [10+<5=<5 11+<5=<5] 11 months target 3000 0%",
				}},
			{"a past year, twelve months, the target set", admin, &pathwayv1.GetProgrammeTargetsRequest{Year: 2025},
				[]string{"AVENIR T05 1 [11+1=1] 12 months"},
				[]string{"AVENIR  1 [11+1=1] 12 months target 10 10%", "ACTION  0 [] 12 months target 3000 0%"}},
			// 10% of a target of 10 would give the beneficiary back.
			{"a past year for a funder: no percentage of a count withheld", fund, &pathwayv1.GetProgrammeTargetsRequest{Year: 2025},
				[]string{"AVENIR T05 <5 [11+<5=<5] 12 months"},
				[]string{"AVENIR  <5 [11+<5=<5] 12 months target 10 0%", "ACTION  0 [] 12 months target 3000 0%"}},
			{"a year to come, the scheme's targets", fund, &pathwayv1.GetProgrammeTargetsRequest{Year: 2027},
				nil,
				[]string{"AVENIR  0 [] 0 months target 4500 0%", "ACTION  0 [] 0 months target 3000 0%"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := tc.client.GetProgrammeTargets(ctx(t), tc.req)
				if err != nil {
					t.Fatal(err)
				}
				sameLines(t, "territories", progressLines(resp.GetTerritories()), tc.territories)
				sameLines(t, "totals", progressLines(resp.GetTotals()), tc.totals)
			})
		}
	})

	t.Run("outcomes", func(t *testing.T) {
		year := &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11)}
		resp, err := admin.GetOutcomes(ctx(t), year)
		if err != nil {
			t.Fatal(err)
		}
		sameLines(t, "an admin's outcomes", outcomeLines(resp), []string{
			`""/T05 exits 1 [ABANDONMENT:1] median 132 immersions 0/0/0 -%`,
			`"op-a"/T05 exits 1 [EMPLOYMENT_PERMANENT:1] median 130 immersions 0/0/0 -%`,
			`"op-a"/T07 exits 1 [HEALTH:1] median 15 immersions 0/0/0 -%`,
			`"op-h"/T06 exits 0 [] median - immersions 2/1/1 50%`,
			`"op-h"/T07 exits 0 [] median - immersions 1/0/0 0%`,
			`total ""/ exits 3 [EMPLOYMENT_PERMANENT:1 ABANDONMENT:1 HEALTH:1] median 130 immersions 3/1/1 33%`,
		})
		// Per territory, across operators: T05's two exits summed.
		var territories []string
		for _, o := range resp.GetTerritories() {
			territories = append(territories, outcomeLine(o))
		}
		sameLines(t, "an admin's outcomes per territory", territories, []string{
			`""/T05 exits 2 [EMPLOYMENT_PERMANENT:1 ABANDONMENT:1] median 130 immersions 0/0/0 -%`,
			`""/T06 exits 0 [] median - immersions 2/1/1 50%`,
			`""/T07 exits 1 [HEALTH:1] median 15 immersions 1/0/0 0%`,
		})
		// A funder gets no count from 1 to 4, per row and in the total,
		// nor the medians and percentages that would give them back.
		resp, err = fund.GetOutcomes(ctx(t), year)
		if err != nil {
			t.Fatal(err)
		}
		sameLines(t, "a funder's outcomes", outcomeLines(resp), []string{
			`""/T05 exits <5 [ABANDONMENT:<5] median - immersions 0/0/0 -%`,
			`"op-a"/T05 exits <5 [EMPLOYMENT_PERMANENT:<5] median - immersions 0/0/0 -%`,
			`"op-a"/T07 exits <5 [HEALTH:<5] median - immersions 0/0/0 -%`,
			`"op-h"/T06 exits 0 [] median - immersions <5/<5/<5 -%`,
			`"op-h"/T07 exits 0 [] median - immersions <5/0/0 -%`,
			`total ""/ exits <5 [EMPLOYMENT_PERMANENT:<5 ABANDONMENT:<5 HEALTH:<5] median - immersions <5/<5/<5 -%`,
		})
		for _, tc := range []struct {
			name   string
			client pathwayv1.PathwayServiceClient
			req    *pathwayv1.GetOutcomesRequest
			want   []string
		}{
			{"one operator: its accompaniments and the immersions it hosted", admin,
				&pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11), OperatorId: "op-a"}, []string{
					`"op-a"/T05 exits 1 [EMPLOYMENT_PERMANENT:1] median 130 immersions 0/0/0 -%`,
					`"op-a"/T07 exits 1 [HEALTH:1] median 15 immersions 0/0/0 -%`,
					`total ""/ exits 2 [EMPLOYMENT_PERMANENT:1 HEALTH:1] median 15 immersions 0/0/0 -%`,
				}},
			{"one territory", admin, &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11), TerritoryCode: "T06"}, []string{
				`"op-h"/T06 exits 0 [] median - immersions 2/1/1 50%`,
				`total ""/ exits 0 [] median - immersions 2/1/1 50%`,
			}},
			{"one month: exits by exit date, immersions by the day recorded", admin,
				&pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 11), ToMonth: month(2026, 11)}, []string{
					`"op-a"/T07 exits 1 [HEALTH:1] median 15 immersions 0/0/0 -%`,
					`"op-h"/T06 exits 0 [] median - immersions 1/1/0 100%`,
					`"op-h"/T07 exits 0 [] median - immersions 1/0/0 0%`,
					`total ""/ exits 1 [HEALTH:1] median 15 immersions 2/1/0 50%`,
				}},
			{"a coordinator, withheld too", coord, &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11)}, []string{
				`""/T05 exits <5 [ABANDONMENT:<5] median - immersions 0/0/0 -%`,
				`"op-a"/T05 exits <5 [EMPLOYMENT_PERMANENT:<5] median - immersions 0/0/0 -%`,
				`total ""/ exits <5 [EMPLOYMENT_PERMANENT:<5 ABANDONMENT:<5] median - immersions 0/0/0 -%`,
			}},
			{"nothing", fund, &pathwayv1.GetOutcomesRequest{FromMonth: month(2024, 1), ToMonth: month(2024, 12)}, []string{
				`total ""/ exits 0 [] median - immersions 0/0/0 -%`,
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := tc.client.GetOutcomes(ctx(t), tc.req)
				if err != nil {
					t.Fatal(err)
				}
				sameLines(t, "outcomes", outcomeLines(resp), tc.want)
			})
		}
	})

	t.Run("breakdowns", func(t *testing.T) {
		req := &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11)}
		resp, err := admin.GetBreakdowns(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		// L2 entered twice: in February with RQTH and without ZRR, in
		// September the reverse; L4's QPV, recorded after its entry,
		// applied from it.
		sameLines(t, "an admin's breakdowns", breakdownLines(resp), []string{
			"T05 entries 3 rqth 1 qpv 3 zrr 1 rsa 0 [UNDER_26:1 26_TO_49:0 50_AND_OVER:2] [NO_DIPLOMA:2 5:1] above 1",
			"T06 entries 2 rqth 0 qpv 0 zrr 0 rsa 1 [UNDER_26:0 26_TO_49:2 50_AND_OVER:0] [4:1] above 1",
			"T07 entries 4 rqth 0 qpv 0 zrr 0 rsa 0 [UNDER_26:0 26_TO_49:4 50_AND_OVER:0] [4:4] above 4",
			"total entries 9 rqth 1 qpv 3 zrr 1 rsa 1 [UNDER_26:1 26_TO_49:6 50_AND_OVER:2] [NO_DIPLOMA:2 4:5 5:1] above 6",
		})
		resp, err = fund.GetBreakdowns(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		sameLines(t, "a funder's breakdowns", breakdownLines(resp), []string{
			"T05 entries <5 rqth <5 qpv <5 zrr <5 rsa 0 [UNDER_26:<5 26_TO_49:0 50_AND_OVER:<5] [NO_DIPLOMA:<5 5:<5] above <5",
			"T06 entries <5 rqth 0 qpv 0 zrr 0 rsa <5 [UNDER_26:0 26_TO_49:<5 50_AND_OVER:0] [4:<5] above <5",
			"T07 entries <5 rqth 0 qpv 0 zrr 0 rsa 0 [UNDER_26:0 26_TO_49:<5 50_AND_OVER:0] [4:<5] above <5",
			// Level 5 alone withheld among those above the public would be
			// 6 - 5: level 4 is withheld too.
			"total entries 9 rqth <5 qpv <5 zrr <5 rsa <5 [UNDER_26:<5 26_TO_49:6 50_AND_OVER:<5] [NO_DIPLOMA:<5 4:<5 5:<5] above 6",
		})
		for _, tc := range []struct {
			name   string
			client pathwayv1.PathwayServiceClient
			req    *pathwayv1.GetBreakdownsRequest
			want   []string
		}{
			{"the months of the entries", admin, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 2), ToMonth: month(2026, 9), TerritoryCode: "T05"}, []string{
				"T05 entries 2 rqth 1 qpv 2 zrr 1 rsa 0 [UNDER_26:0 26_TO_49:0 50_AND_OVER:2] [NO_DIPLOMA:2] above 0",
				"total entries 2 rqth 1 qpv 2 zrr 1 rsa 0 [UNDER_26:0 26_TO_49:0 50_AND_OVER:2] [NO_DIPLOMA:2] above 0",
			}},
			{"a territory without entries", fund, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11), TerritoryCode: "T01"}, []string{
				"T01 entries 0 rqth 0 qpv 0 zrr 0 rsa 0 [UNDER_26:0 26_TO_49:0 50_AND_OVER:0] [] above 0",
				"total entries 0 rqth 0 qpv 0 zrr 0 rsa 0 [UNDER_26:0 26_TO_49:0 50_AND_OVER:0] [] above 0",
			}},
			{"a coordinator, its territories", coord, &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11)}, []string{
				"T05 entries <5 rqth <5 qpv <5 zrr <5 rsa 0 [UNDER_26:<5 26_TO_49:0 50_AND_OVER:<5] [NO_DIPLOMA:<5 5:<5] above <5",
				"total entries <5 rqth <5 qpv <5 zrr <5 rsa 0 [UNDER_26:<5 26_TO_49:0 50_AND_OVER:<5] [NO_DIPLOMA:<5 5:<5] above <5",
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := tc.client.GetBreakdowns(ctx(t), tc.req)
				if err != nil {
					t.Fatal(err)
				}
				sameLines(t, "breakdowns", breakdownLines(resp), tc.want)
			})
		}
	})
}

// The scheme's figures are for admins, funders and coordinators (in the
// territories they coordinate); bad input is named field by field.
func TestSchemeFiguresAccess(t *testing.T) {
	t.Parallel()
	env, _ := start(t, servicetest.Options{})
	targets := &pathwayv1.GetProgrammeTargetsRequest{Year: 2026, TerritoryCode: "T05"}
	outcomes := &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11), TerritoryCode: "T05"}
	breakdowns := &pathwayv1.GetBreakdownsRequest{FromMonth: month(2026, 1), ToMonth: month(2026, 11), TerritoryCode: "T05"}
	ok, pd := codes.OK, codes.PermissionDenied
	for _, tc := range []struct {
		name string
		as   auth.Principal
		want codes.Code
	}{
		{"an admin", servicetest.Admin, ok},
		{"a funder", funder, ok},
		{"the territory's coordinator", coordinatorT5, ok},
		{"another territory's coordinator", auth.Principal{Subject: "u-c6", Role: auth.RoleReferent, ReferentID: "ref-c6", Territories: []string{"T06"}, Coordinator: true}, pd},
		{"a referent of the territory", referentT05, pd},
		{"an operator", auth.Principal{Subject: "u-op", Role: auth.RoleOperator, OperatorID: "op-a", Territories: []string{"T05"}}, pd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := pathwayv1.NewPathwayServiceClient(env.ConnAs(t, tc.as))
			_, err := client.GetProgrammeTargets(ctx(t), targets)
			servicetest.Refused(t, err, tc.want)
			_, err = client.GetOutcomes(ctx(t), outcomes)
			servicetest.Refused(t, err, tc.want)
			_, err = client.GetBreakdowns(ctx(t), breakdowns)
			servicetest.Refused(t, err, tc.want)
		})
	}

	admin := pathwayv1.NewPathwayServiceClient(env.Conn)
	_, err := admin.GetProgrammeTargets(ctx(t), &pathwayv1.GetProgrammeTargetsRequest{Year: 1999, TerritoryCode: "T5"})
	servicetest.Refused(t, err, codes.InvalidArgument, "year", "territory_code")
	_, err = admin.GetOutcomes(ctx(t), &pathwayv1.GetOutcomesRequest{FromMonth: month(2026, 5), ToMonth: month(2026, 4), TerritoryCode: "05", OperatorId: "op a"})
	servicetest.Refused(t, err, codes.InvalidArgument, "to_month", "territory_code", "operator_id")
	_, err = admin.GetBreakdowns(ctx(t), &pathwayv1.GetBreakdownsRequest{FromMonth: month(2016, 1), ToMonth: month(2026, 1)})
	servicetest.Refused(t, err, codes.InvalidArgument, "to_month")
	_, err = admin.GetBreakdowns(ctx(t), &pathwayv1.GetBreakdownsRequest{ToMonth: month(2026, 13)})
	servicetest.Refused(t, err, codes.InvalidArgument, "from_month", "to_month")
}

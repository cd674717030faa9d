package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

func newPathwaysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "pathways", Short: "Walk learners' pathways: entries, exits, referrals, enrolments, timeline, flows, the scheme's figures"}
	cmd.AddCommand(newPathwaysEnterCmd(), newPathwaysExitCmd(), newPathwaysReferCmd(), newPathwaysReferralOutcomeCmd(), newPathwaysFollowUpCmd(),
		newPathwaysEnrolCmd(), newPathwaysEndEnrolmentCmd(), newPathwaysEnrolmentsCmd(),
		newPathwaysGetCmd(), newPathwaysListCmd(), newPathwaysTimelineCmd(), newPathwaysStatsCmd(),
		newPathwaysTargetsCmd(), newPathwaysOutcomesCmd(), newPathwaysBreakdownsCmd())
	return cmd
}

// pathwayCommand builds a command calling RPCs of PathwayService.
func pathwayCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(pathwayv1.NewPathwayServiceClient, use, short, example, args, setup, run)
}

func newPathwaysEnterCmd() *cobra.Command {
	var rid, entry string
	return pathwayCommand("enter LEARNER_ID", "Open an episode: the learner enters #Avenir (or re-enters, after an exit) on a date",
		"  avenir pathways enter 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --entry-date 2026-11-26",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&entry, "entry-date", "today", "entry date, "+dateHelp+"; at most 30 days ago by default")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			req := &pathwayv1.EnterPathwayRequest{RequestId: requestID(rid), LearnerId: args[0]}
			var err error
			if req.EntryDate, err = parseDate("entry-date", entry); err != nil {
				return err
			}
			resp, err := c.EnterPathway(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
		})
}

func newPathwaysExitCmd() *cobra.Command {
	var rid, exitDate, reason, detail, pending string
	cmd := pathwayCommand("exit LEARNER_ID", "Close the open episode: the learner leaves #Avenir on a date, for a coded reason",
		"  avenir pathways exit 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --reason employment-permanent --detail \"CDI, Renault Cléon\"\n"+
			"  avenir pathways exit 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --reason qualifying-training --pending-referrals carry-over",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&exitDate, "exit-date", "today", "last day in the scheme, "+dateHelp)
			fs.StringVar(&reason, "reason", "", "exit reason: "+pathwayExitReasons.names())
			fs.StringVar(&detail, "detail", "", "free text, at most 500 characters; required for --reason other")
			fs.StringVar(&pending, "pending-referrals", "", "what to do with the referrals still open: "+pathwayPending.names()+
				"; required when a Savoirs referral is open (the Qualif referrals of a qualifying-training exit are followed)")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			req := &pathwayv1.ExitPathwayRequest{RequestId: requestID(rid), LearnerId: args[0], Detail: detail}
			var err error
			if req.ExitDate, err = parseDate("exit-date", exitDate); err != nil {
				return err
			}
			r, err := pathwayExitReasons.parse("reason", reason)
			if err != nil {
				return err
			}
			req.Reason = pathwayv1.ExitReason(r)
			p, err := pathwayPending.optional("pending-referrals", pending)
			if err != nil {
				return err
			}
			req.PendingReferrals = pathwayv1.PendingReferrals(p)
			resp, err := c.ExitPathway(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
		})
	cmd.Long = "Close the open episode, ending its open enrolments on the exit date. An exit dated before today\n" +
		"is accepted (late exit) and announced to the services that recorded facts after that date.\n" +
		"An exit to qualifying training keeps the learner's referent, following in Qualif, until the\n" +
		"outcome of its Qualif referrals, which can be recorded after the exit. The other referrals\n" +
		"still open are closed (close) or carried over (carry-over) as --pending-referrals says; a\n" +
		"Savoirs referral still open needs it.\n\nReasons: " +
		pathwayExitReasons.names()
	return required(cmd, "reason")
}

func newPathwaysReferCmd() *cobra.Command {
	var rid, on, programme, organisation string
	cmd := pathwayCommand("refer LEARNER_ID", "Refer the learner, during the open episode, to a downstream programme",
		"  avenir pathways refer 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --programme qualif --organisation \"AFPA Caen\"",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&programme, "programme", "", "programme: "+pathwayProgrammes.names())
			fs.StringVar(&on, "date", "today", "referral date, "+dateHelp)
			fs.StringVar(&organisation, "organisation", "", "name of the organisation the learner is referred to")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			req := &pathwayv1.RecordReferralRequest{RequestId: requestID(rid), LearnerId: args[0], Organisation: organisation}
			var err error
			if req.ReferralDate, err = parseDate("date", on); err != nil {
				return err
			}
			p, err := pathwayProgrammes.parse("programme", programme)
			if err != nil {
				return err
			}
			req.Programme = pathwayv1.Programme(p)
			resp, err := c.RecordReferral(ctx, req)
			if err != nil {
				return err
			}
			rows := append([]field{{"REFERRAL", pathwayReferral(resp.GetReferral())}}, pathwayRows(resp.GetPathway())...)
			return f.print(cmd.OutOrStdout(), resp, rows)
		})
	return required(cmd, "programme", "organisation")
}

func newPathwaysReferralOutcomeCmd() *cobra.Command {
	var rid, on, outcome, rncp, certifiedOn string
	cmd := pathwayCommand("referral-outcome LEARNER_ID REFERRAL_NUMBER",
		"Record what became of a referral of the open episode, or, after the exit, of one carried over or followed in Qualif",
		"  avenir pathways referral-outcome 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 2 --outcome accepted\n"+
			"  avenir pathways referral-outcome 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 1 --outcome completed-certified --rncp RNCP35467 --certified-on 2027-06-30",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			fs.StringVar(&outcome, "outcome", "", "outcome: "+pathwayOutcomes.names()+" (closed-at-exit is the exit's)")
			fs.StringVar(&on, "date", "today", "outcome date, "+dateHelp)
			fs.StringVar(&rncp, "rncp", "", "completed-certified: the certification's RNCP code (RNCP and digits, e.g. RNCP35467)")
			fs.StringVar(&certifiedOn, "certified-on", "", "completed-certified: the day the certification was obtained, "+dateHelp)
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			n, err := strconv.ParseInt(args[1], 10, 32)
			if err != nil {
				return usageError{fmt.Errorf("REFERRAL_NUMBER: %q is not a number", args[1])}
			}
			req := &pathwayv1.RecordReferralOutcomeRequest{RequestId: requestID(rid), LearnerId: args[0], ReferralNumber: int32(n)}
			if req.OutcomeDate, err = parseDate("date", on); err != nil {
				return err
			}
			o, err := pathwayOutcomes.parse("outcome", outcome)
			if err != nil {
				return err
			}
			req.Outcome = pathwayv1.ReferralOutcome(o)
			req.RncpCode = rncp
			if certifiedOn != "" {
				if req.CertificationDate, err = parseDate("certified-on", certifiedOn); err != nil {
					return err
				}
			}
			resp, err := c.RecordReferralOutcome(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
		})
	return required(cmd, "outcome")
}

func newPathwaysFollowUpCmd() *cobra.Command {
	var rid, situation, employment string
	cmd := pathwayCommand("follow-up LEARNER_ID", "Record where the learner stands six months after the final exit (when due)",
		"  avenir pathways follow-up 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --situation employment --employment-type permanent\n"+
			"  avenir pathways follow-up 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --situation job-seeking",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&situation, "situation", "", "situation: "+pathwaySituations.names())
			fs.StringVar(&employment, "employment-type", "", "with --situation employment: "+pathwayEmployments.names())
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			req := &pathwayv1.RecordFollowUpRequest{RequestId: requestID(rid), LearnerId: args[0]}
			s, err := pathwaySituations.parse("situation", situation)
			if err != nil {
				return err
			}
			e, err := pathwayEmployments.optional("employment-type", employment)
			if err != nil {
				return err
			}
			req.Situation, req.EmploymentType = pathwayv1.FollowUpSituation(s), pathwayv1.EmploymentType(e)
			resp, err := c.RecordFollowUp(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
		})
	cmd.Long = "Record the follow-up six months after the learner's final exit, recorded on today. It is due on\n" +
		"the exit date plus six months (the last day of the month when that month is shorter), not before,\n" +
		"and recorded once. The outcomes (avenir pathways outcomes) count the follow-ups of the exits."
	return required(cmd, "situation")
}

func newPathwaysGetCmd() *cobra.Command {
	return pathwayCommand("get LEARNER_ID", "Show a learner's pathway", "  avenir pathways get 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89",
		cobra.ExactArgs(1), nil,
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			resp, err := c.GetPathway(ctx, &pathwayv1.GetPathwayRequest{LearnerId: args[0]})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
		})
}

func newPathwaysListCmd() *cobra.Command {
	var req pathwayv1.ListPathwaysRequest
	var codes []string
	var phase, activeOn, enteredFrom, enteredTo, exitedFrom, exitedTo string
	cmd := pathwayCommand("list", "List the pathways in your scope, a page at a time",
		"  avenir pathways list --territory T05 --phase building-project\n"+
			"  avenir pathways list --territory T05 --territory T14 --active-on today\n"+
			"  avenir pathways list --exited-from 2026-01-01 --exited-to 2026-03-31 -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addTerritories(fs, &codes, "only these territories")
			fs.StringVar(&phase, "phase", "", "phase: "+pathwayPhases.names())
			fs.StringVar(&activeOn, "active-on", "", "still in the scheme at the end of that day, "+dateHelp)
			fs.StringVar(&enteredFrom, "entered-from", "", "an episode entered on or after that day, "+dateHelp)
			fs.StringVar(&enteredTo, "entered-to", "", "an episode entered on or before that day")
			fs.StringVar(&exitedFrom, "exited-from", "", "an episode exited on or after that day")
			fs.StringVar(&exitedTo, "exited-to", "", "an episode exited on or before that day")
			addPage(fs, &req.PageSize, &req.PageToken, "pathways")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			var err error
			for _, d := range []struct {
				flag, value string
				into        **commonv1.Date
			}{
				{"active-on", activeOn, &req.ActiveOn}, {"entered-from", enteredFrom, &req.EnteredFrom},
				{"entered-to", enteredTo, &req.EnteredTo}, {"exited-from", exitedFrom, &req.ExitedFrom}, {"exited-to", exitedTo, &req.ExitedTo},
			} {
				if *d.into, err = optionalDate(d.flag, d.value); err != nil {
					return err
				}
			}
			p, err := pathwayPhases.optional("phase", phase)
			if err != nil {
				return err
			}
			req.Phase = pathwayv1.PathwayPhase(p)
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*pathwayv1.ListPathwaysResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.ListPathways(ctx, r)
				},
				func(w io.Writer, answers []territoryAnswer[*pathwayv1.ListPathwaysResponse]) error {
					var ids []string
					for _, a := range answers {
						for _, p := range a.resp.GetPathways() {
							ids = append(ids, p.GetLearnerId())
						}
					}
					names := f.learnerNames(ctx, ids...)
					return listAnswers(w, answers, pathwayListHeader, func(r *pathwayv1.ListPathwaysResponse) [][]string { return pathwayListRows(r, names) },
						(*pathwayv1.ListPathwaysResponse).GetNextPageToken)
				})
		})
	cmd.Long = "List the pathways in your scope, by territory then learner id. Every filter given must hold.\n" +
		"A page may be short: continue with --page-token while a next page token is printed. With several\n" +
		"territories, each is listed in turn and the pathways shown together.\n\nPhases: " + pathwayPhases.names()
	return cmd
}

func newPathwaysTimelineCmd() *cobra.Command {
	var size int32
	var token string
	return pathwayCommand("timeline LEARNER_ID", "Show every event about a learner, across services, in order, a page at a time",
		"  avenir pathways timeline 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --page-size 100",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) { addPage(fs, &size, &token, "events") },
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			resp, err := c.GetTimeline(ctx, &pathwayv1.GetTimelineRequest{LearnerId: args[0], PageSize: size, PageToken: token})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			var actors []string
			for _, e := range resp.GetEntries() {
				actors = append(actors, e.GetActor())
			}
			return listTable(cmd.OutOrStdout(), pathwayTimelineRows(resp.GetEntries(), f.actorNames(ctx, actors...)), resp.GetNextPageToken())
		})
}

func newPathwaysStatsCmd() *cobra.Command {
	var months string
	var codes []string
	cmd := pathwayCommand("stats --period YYYY-MM..YYYY-MM",
		"Show entries, exits by reason, active learners and median days in pathway, per territory and month",
		"  avenir pathways stats --period 2026-01..2026-12\n"+
			"  avenir pathways stats --period 2026-11 --territory T05 --territory T14",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addPeriodRange(fs, &months)
			addTerritories(fs, &codes, "only these territories (default: every territory in your scope, with totals)")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			from, to, err := parseMonthRange("period", months)
			if err != nil {
				return err
			}
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, "",
				func(ctx context.Context, code string) (*pathwayv1.GetFlowStatisticsResponse, error) {
					return c.GetFlowStatistics(ctx, &pathwayv1.GetFlowStatisticsRequest{FromMonth: from, ToMonth: to, TerritoryCode: code})
				},
				func(w io.Writer, answers []territoryAnswer[*pathwayv1.GetFlowStatisticsResponse]) error {
					return listTable(w, pathwayStatsRows(answers), "")
				})
		})
	cmd.Long = "Show the flows per territory and month, then the totals across the territories shown.\n" +
		"ACTIVE counts the episodes open at the end of the month; MEDIAN DAYS is the median length\n" +
		"(exit date minus entry date) of the episodes exited during the month, the lower middle for\n" +
		"an even count. With several --territory, each is asked in turn and shown without totals\n" +
		"(a median does not add up): leave --territory out for the totals of your whole scope.\n\n" +
		smallCountsHelp
	return required(cmd, "period")
}

// smallCountsHelp ends the help of the commands showing counts of people.
const smallCountsHelp = "For every role but admin, a count of 1 to 4 people shows as <5; when a list of counts (exits\n" +
	"by reason, age bands, education levels) has exactly one under 5, its smallest other count shows\n" +
	"as <5 too. What would give such a count back shows as -: the median of exits under 5, a\n" +
	"percentage of a count under 5."

func newPathwaysTargetsCmd() *cobra.Command {
	var year int32
	var codes []string
	var months bool
	cmd := pathwayCommand("targets --year YYYY",
		"Show each programme's distinct beneficiaries in a year against its target, per territory (funders, admins, coordinators)",
		"  avenir pathways targets --year 2026\n"+
			"  avenir pathways targets --year 2026 --territory T05 --months",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.Int32Var(&year, "year", 0, "the calendar year, YYYY")
			addTerritories(fs, &codes, "only these territories (default: every territory in your scope); the totals are the whole scheme's")
			fs.BoolVar(&months, "months", false, "one row per month: the beneficiaries counted for the first time that month, and since January")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, "",
				func(ctx context.Context, code string) (*pathwayv1.GetProgrammeTargetsResponse, error) {
					return c.GetProgrammeTargets(ctx, &pathwayv1.GetProgrammeTargetsRequest{Year: year, TerritoryCode: code})
				},
				func(w io.Writer, answers []territoryAnswer[*pathwayv1.GetProgrammeTargetsResponse]) error {
					if months {
						return listTable(w, pathwayTargetMonthRows(answers), "")
					}
					return listTable(w, pathwayTargetRows(answers), "")
				})
		})
	cmd.Long = "Show, per programme (#Avenir, #Action), the distinct beneficiaries of the year so far in each\n" +
		"territory, then the whole scheme's against the year's target (as funding set it, else the\n" +
		"scheme's: 4,500 for #Avenir, 3,000 for #Action). A beneficiary of #Avenir is a learner in the\n" +
		"pathway on at least one day of the year; of #Action, a learner with a place booked in an\n" +
		"immersion session starting in the year. Each counts once, in the month and territory it first\n" +
		"counts. The totals are always the whole scheme's, whatever --territory. With --months, one row\n" +
		"per month of the year up to the current one (all twelve of a past year): NEW counted for the\n" +
		"first time that month, SINCE JANUARY at its end.\n\n" + smallCountsHelp
	return required(cmd, "year")
}

func newPathwaysOutcomesCmd() *cobra.Command {
	var months, operator string
	var codes []string
	cmd := pathwayCommand("outcomes --period YYYY-MM..YYYY-MM",
		"Show exits by reason, median days in the pathway and immersion outcomes, per operator and territory (funders, admins, coordinators)",
		"  avenir pathways outcomes --period 2026-01..2026-12\n"+
			"  avenir pathways outcomes --period 2026-11 --territory T05 --operator op-evreux",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addPeriodRange(fs, &months)
			addTerritories(fs, &codes, "only these territories (default: every territory in your scope, with the total)")
			fs.StringVar(&operator, "operator", "", "only this operator's accompaniments and the immersions it hosted")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			from, to, err := parseMonthRange("period", months)
			if err != nil {
				return err
			}
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, "",
				func(ctx context.Context, code string) (*pathwayv1.GetOutcomesResponse, error) {
					return c.GetOutcomes(ctx, &pathwayv1.GetOutcomesRequest{FromMonth: from, ToMonth: to, TerritoryCode: code, OperatorId: operator})
				},
				func(w io.Writer, answers []territoryAnswer[*pathwayv1.GetOutcomesResponse]) error {
					return listTable(w, pathwayOutcomeRows(answers), "")
				})
		})
	cmd.Long = "Show, per operator then territory, the episodes exited in the months (by exit date) with their\n" +
		"reasons and MEDIAN DAYS in the pathway (exit date minus entry date, the lower middle for an even\n" +
		"count), and the #Action immersions whose outcome was recorded in the months: with an outcome,\n" +
		"completed, partially completed, and the completion percentage. The operator of an exit is that\n" +
		"of the learner's accompaniment at exit (- for none); of an immersion, its host. With several\n" +
		"--territory, each is asked in turn and shown without the total (a median does not add up).\n\n" +
		smallCountsHelp
	return required(cmd, "period")
}

func newPathwaysBreakdownsCmd() *cobra.Command {
	var months string
	var codes []string
	cmd := pathwayCommand("breakdowns --period YYYY-MM..YYYY-MM",
		"Show the public of the entries per territory: RQTH, QPV, ZRR, RSA, age band, education level (funders, admins, coordinators)",
		"  avenir pathways breakdowns --period 2026-01..2026-12\n"+
			"  avenir pathways breakdowns --period 2026-11 --territory T05 -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addPeriodRange(fs, &months)
			addTerritories(fs, &codes, "only these territories (default: every territory in your scope, with the total)")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			from, to, err := parseMonthRange("period", months)
			if err != nil {
				return err
			}
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, "",
				func(ctx context.Context, code string) (*pathwayv1.GetBreakdownsResponse, error) {
					return c.GetBreakdowns(ctx, &pathwayv1.GetBreakdownsRequest{FromMonth: from, ToMonth: to, TerritoryCode: code})
				},
				func(w io.Writer, answers []territoryAnswer[*pathwayv1.GetBreakdownsResponse]) error {
					return listTable(w, pathwayBreakdownRows(answers), "")
				})
		})
	cmd.Long = "Show the episodes entered in the months (first entries and re-entries, each once) per territory,\n" +
		"by what intake recorded of the learner on the entry date: recognised as disabled workers (RQTH),\n" +
		"living in a priority area (QPV) or a rural revitalisation area (ZRR), receiving the minimum\n" +
		"income (RSA), age band at entry, education level (the levels recorded), and above the scheme's\n" +
		"public (ABOVE PUBLIC: level 4 and up, welcomed with a justification). With several\n" +
		"--territory, each is asked in turn and shown without the total.\n\n" + smallCountsHelp
	return required(cmd, "period")
}

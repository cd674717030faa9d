package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

func newPathwaysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "pathways", Short: "Walk learners' pathways: entries, exits, referrals, timeline, flows"}
	cmd.AddCommand(newPathwaysEnterCmd(), newPathwaysExitCmd(), newPathwaysReferCmd(), newPathwaysReferralOutcomeCmd(),
		newPathwaysGetCmd(), newPathwaysListCmd(), newPathwaysTimelineCmd(), newPathwaysStatsCmd())
	return cmd
}

func newPathwaysEnterCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.EnterPathwayRequest
	var entry string
	cmd := &cobra.Command{
		Use:     "enter LEARNER_ID",
		Short:   "Open an episode: the learner enters #Avenir (or re-enters, after an exit) on a date",
		Example: "  avenir pathways enter 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --entry-date 2026-11-26",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if req.EntryDate, err = parseDate("entry-date", entry); err != nil {
				return err
			}
			req.LearnerId = args[0]
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).EnterPathway(ctx, &req)
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&entry, "entry-date", "today", "entry date, YYYY-MM-DD, today or today-N (Europe/Paris); at most 30 days ago by default")
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one)")
	return cmd
}

func newPathwaysExitCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.ExitPathwayRequest
	var exitDate, reason string
	cmd := &cobra.Command{
		Use:   "exit LEARNER_ID",
		Short: "Close the open episode: the learner leaves #Avenir on a date, for a coded reason",
		Long: "Close the open episode. An exit dated before today is accepted (late exit) and announced to the\n" +
			"services that recorded facts after that date.\n\nReasons: " + pathwayExitReasons.names(),
		Example: "  avenir pathways exit 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --reason employment-permanent --detail \"CDI, Renault Cléon\"",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if req.ExitDate, err = parseDate("exit-date", exitDate); err != nil {
				return err
			}
			r, err := pathwayExitReasons.parse("reason", reason)
			if err != nil {
				return err
			}
			req.Reason = pathwayv1.ExitReason(r)
			req.LearnerId = args[0]
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).ExitPathway(ctx, &req)
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&exitDate, "exit-date", "today", "last day in the scheme, YYYY-MM-DD, today or today-N (Europe/Paris)")
	fs.StringVar(&reason, "reason", "", "exit reason: "+pathwayExitReasons.names())
	fs.StringVar(&req.Detail, "detail", "", "free text, at most 500 characters; required for --reason other")
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one)")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func newPathwaysReferCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.RecordReferralRequest
	var on, programme string
	cmd := &cobra.Command{
		Use:     "refer LEARNER_ID",
		Short:   "Refer the learner, during the open episode, to a downstream programme",
		Example: "  avenir pathways refer 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --programme qualif --organisation \"AFPA Caen\"",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if req.ReferralDate, err = parseDate("date", on); err != nil {
				return err
			}
			p, err := pathwayProgrammes.parse("programme", programme)
			if err != nil {
				return err
			}
			req.Programme = pathwayv1.Programme(p)
			req.LearnerId = args[0]
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).RecordReferral(ctx, &req)
				if err != nil {
					return err
				}
				rows := append([]field{{"REFERRAL", pathwayReferral(resp.GetReferral())}}, pathwayRows(resp.GetPathway())...)
				return f.print(cmd.OutOrStdout(), resp, rows)
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&programme, "programme", "", "programme: "+pathwayProgrammes.names())
	fs.StringVar(&on, "date", "today", "referral date, YYYY-MM-DD, today or today-N (Europe/Paris)")
	fs.StringVar(&req.Organisation, "organisation", "", "name of the organisation the learner is referred to")
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one)")
	_ = cmd.MarkFlagRequired("programme")
	_ = cmd.MarkFlagRequired("organisation")
	return cmd
}

func newPathwaysReferralOutcomeCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.RecordReferralOutcomeRequest
	var on, outcome string
	cmd := &cobra.Command{
		Use:     "referral-outcome LEARNER_ID REFERRAL_NUMBER",
		Short:   "Record what became of a referral of the open episode",
		Example: "  avenir pathways referral-outcome 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 2 --outcome accepted",
		Args:    usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseInt(args[1], 10, 32)
			if err != nil {
				return usageError{fmt.Errorf("REFERRAL_NUMBER: %q is not a number", args[1])}
			}
			if req.OutcomeDate, err = parseDate("date", on); err != nil {
				return err
			}
			o, err := pathwayOutcomes.parse("outcome", outcome)
			if err != nil {
				return err
			}
			req.Outcome = pathwayv1.ReferralOutcome(o)
			req.LearnerId, req.ReferralNumber = args[0], int32(n)
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).RecordReferralOutcome(ctx, &req)
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&outcome, "outcome", "", "outcome: "+pathwayOutcomes.names())
	fs.StringVar(&on, "date", "today", "outcome date, YYYY-MM-DD, today or today-N (Europe/Paris)")
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one)")
	_ = cmd.MarkFlagRequired("outcome")
	return cmd
}

func newPathwaysGetCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "get LEARNER_ID",
		Short: "Show a learner's pathway",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).GetPathway(ctx, &pathwayv1.GetPathwayRequest{LearnerId: args[0]})
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetPathway(), pathwayRows(resp.GetPathway()))
			})
		},
	}
	addClientFlags(cmd.Flags(), &f)
	return cmd
}

func newPathwaysListCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.ListPathwaysRequest
	var phase, activeOn, enteredFrom, enteredTo, exitedFrom, exitedTo string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the pathways in your scope, a page at a time",
		Long: "List the pathways in your scope, by territory then learner id. Every filter given must hold.\n" +
			"A page may be short: continue with --page-token while a next page token is printed.\n\nPhases: " + pathwayPhases.names(),
		Example: "  avenir pathways list --territory T05 --phase building-project\n" +
			"  avenir pathways list --exited-from 2026-01-01 --exited-to 2026-03-31 -o json",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			if phase != "" {
				p, err := pathwayPhases.parse("phase", phase)
				if err != nil {
					return err
				}
				req.Phase = pathwayv1.PathwayPhase(p)
			}
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).ListPathways(ctx, &req)
				if err != nil {
					return err
				}
				if f.output == "json" {
					return f.print(cmd.OutOrStdout(), resp, nil)
				}
				return listTable(cmd.OutOrStdout(), pathwayListRows(resp.GetPathways()), resp.GetNextPageToken())
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&req.TerritoryCode, "territory", "", "territory code, e.g. T05")
	fs.StringVar(&phase, "phase", "", "phase: "+pathwayPhases.names())
	fs.StringVar(&activeOn, "active-on", "", "still in the scheme at the end of that day, YYYY-MM-DD or today")
	fs.StringVar(&enteredFrom, "entered-from", "", "an episode entered on or after, YYYY-MM-DD")
	fs.StringVar(&enteredTo, "entered-to", "", "an episode entered on or before, YYYY-MM-DD")
	fs.StringVar(&exitedFrom, "exited-from", "", "an episode exited on or after, YYYY-MM-DD")
	fs.StringVar(&exitedTo, "exited-to", "", "an episode exited on or before, YYYY-MM-DD")
	fs.Int32Var(&req.PageSize, "page-size", 0, "pathways per page (default 50, at most 200)")
	fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
	return cmd
}

func newPathwaysTimelineCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.GetTimelineRequest
	cmd := &cobra.Command{
		Use:   "timeline LEARNER_ID",
		Short: "Show every event about a learner, across services, in order, a page at a time",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.LearnerId = args[0]
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).GetTimeline(ctx, &req)
				if err != nil {
					return err
				}
				if f.output == "json" {
					return f.print(cmd.OutOrStdout(), resp, nil)
				}
				return listTable(cmd.OutOrStdout(), pathwayTimelineRows(resp.GetEntries()), resp.GetNextPageToken())
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.Int32Var(&req.PageSize, "page-size", 0, "events per page (default 50, at most 200)")
	fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
	return cmd
}

func newPathwaysStatsCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.GetFlowStatisticsRequest
	var from, to string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show entries, exits by reason, active learners and median days in pathway, per territory and month",
		Long: "Show the flows per territory and month, then the totals across the territories shown.\n" +
			"ACTIVE counts the episodes open at the end of the month; MEDIAN DAYS is the median length\n" +
			"(exit date minus entry date) of the episodes exited during the month, the lower middle for\n" +
			"an even count.",
		Example: "  avenir pathways stats --from 2026-01 --to 2026-12 --territory T05",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if req.FromMonth, err = pathwayMonth("from", from); err != nil {
				return err
			}
			if req.ToMonth, err = pathwayMonth("to", to); err != nil {
				return err
			}
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := pathwayv1.NewPathwayServiceClient(conn).GetFlowStatistics(ctx, &req)
				if err != nil {
					return err
				}
				if f.output == "json" {
					return f.print(cmd.OutOrStdout(), resp, nil)
				}
				return listTable(cmd.OutOrStdout(), pathwayStatsRows(resp), "")
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&from, "from", "", "first month, YYYY-MM")
	fs.StringVar(&to, "to", "", "last month, YYYY-MM (at most 120 months after --from)")
	fs.StringVar(&req.TerritoryCode, "territory", "", "one territory (default: every territory in your scope)")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

package cli

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
)

func newPrivacyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "privacy", Short: "Personal data: the retention policy (admins)"}
	cmd.AddCommand(newPrivacyRetentionCmd())
	return cmd
}

func newPrivacyRetentionCmd() *cobra.Command {
	var (
		dryRun, run bool
		rid         string
	)
	cmd := intakeCommand("retention --dry-run|--run", "List, or erase, the learners whose retention period is over",
		`  avenir privacy retention --dry-run
  avenir privacy retention --run`,
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "list what the policy erases today and what it holds back, changing nothing")
			fs.BoolVar(&run, "run", false, "record today's plan, then erase every learner it lists as due")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			if dryRun == run {
				return usageError{fmt.Errorf("give --dry-run or --run")}
			}
			w := cmd.OutOrStdout()
			if dryRun {
				plan, err := c.PlanRetention(ctx, &intakev1.PlanRetentionRequest{})
				if err != nil {
					return err
				}
				if f.output == "json" {
					return printJSON(w, plan)
				}
				var ids []string
				for _, c := range append(slices.Clip(plan.GetDue()), plan.GetHeld()...) {
					ids = append(ids, c.GetLearnerId())
				}
				return printRetentionPlan(w, plan, f.learnerNames(ctx, ids...))
			}
			resp, err := c.ApplyRetention(ctx, &intakev1.ApplyRetentionRequest{RequestId: requestID(rid)})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(w, resp)
			}
			if len(resp.GetErasedLearnerIds()) == 0 {
				_, err := fmt.Fprintf(w, "no learner erased (plan of %s: %d due, %d held back)\n",
					frDate(resp.GetPlan().GetPlannedOn()), len(resp.GetPlan().GetDue()), len(resp.GetPlan().GetHeld()))
				return err
			}
			for _, id := range resp.GetErasedLearnerIds() {
				if _, err := fmt.Fprintln(w, id); err != nil {
					return err
				}
			}
			return nil
		})
	cmd.Long = `The retention policy erases a learner's personal data a number of months
(server flag --retention-months, default 24) after its last exit from the
pathway, or after its registration when it never entered, unless something
holds the erasure back (an open episode, lines on a statement not closed,
statistics not frozen yet). The server applies it every day by itself.

  --dry-run  lists the learners due today and those held back, with the
             reason, and changes nothing;
  --run      records today's plan, then erases the learners it lists as due,
             and prints their ids (run again the same day, it applies the plan
             recorded).`
	return cmd
}

// printRetentionPlan prints the learners due, then those held back, one row
// each, with their names.
func printRetentionPlan(w io.Writer, plan *intakev1.PlanRetentionResponse, names map[string]string) error {
	if _, err := fmt.Fprintf(w, "Retention plan of %s (%d months): %d due, %d held back\n",
		frDate(plan.GetPlannedOn()), plan.GetRetentionMonths(), len(plan.GetDue()), len(plan.GetHeld())); err != nil {
		return err
	}
	rows := [][]string{{"LEARNER ID", "NAME", "TERRITORY", "LAST EXIT", "DUE ON", "HELD REASON"}}
	for _, list := range [][]*intakev1.RetentionCandidate{plan.GetDue(), plan.GetHeld()} {
		for _, c := range list {
			lastExit := frDate(c.GetLastExit())
			if lastExit == "" {
				lastExit = "never entered"
			}
			rows = append(rows, []string{c.GetLearnerId(), names[c.GetLearnerId()], c.GetTerritoryCode(), lastExit, frDate(c.GetDueOn()), c.GetHeldReason()})
		}
	}
	if len(rows) == 1 {
		return nil
	}
	return listTable(w, rows, "")
}

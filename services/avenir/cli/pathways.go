package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

func newPathwaysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "pathways", Short: "Walk learners' pathways: entries, exits, timeline"}
	cmd.AddCommand(newPathwaysEnterCmd(), newPathwaysGetCmd())
	return cmd
}

func newPathwaysEnterCmd() *cobra.Command {
	var f clientFlags
	var req pathwayv1.EnterPathwayRequest
	var entry string
	cmd := &cobra.Command{
		Use:     "enter LEARNER_ID",
		Short:   "Open an episode: the learner enters #Avenir on a date",
		Example: "  avenir pathways enter 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --entry-date 2026-11-26",
		Args:    cobra.ExactArgs(1),
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
	fs.StringVar(&entry, "entry-date", "today", "entry date, YYYY-MM-DD or today (Europe/Paris)")
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one)")
	return cmd
}

func newPathwaysGetCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "get LEARNER_ID",
		Short: "Show a learner's pathway",
		Args:  cobra.ExactArgs(1),
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

func pathwayRows(p *pathwayv1.Pathway) []field {
	var episodes []string
	for _, e := range p.GetEpisodes() {
		episodes = append(episodes, fmt.Sprintf("#%d entered %s", e.GetNumber(), dateString(e.GetEntryDate())))
	}
	return []field{
		{"LEARNER ID", p.GetLearnerId()},
		{"TERRITORY", p.GetTerritoryCode()},
		{"STATUS", strings.TrimPrefix(p.GetStatus().String(), "PATHWAY_STATUS_")},
		{"EPISODES", strings.Join(episodes, "; ")},
		{"VERSION", fmt.Sprint(p.GetVersion())},
	}
}

package cli

import (
	"context"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func newLearnersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "learners", Short: "Register and read learners (intake)"}
	cmd.AddCommand(newLearnersRegisterCmd(), newLearnersGetCmd())
	return cmd
}

func newLearnersRegisterCmd() *cobra.Command {
	var f clientFlags
	var req intakev1.RegisterLearnerRequest
	var birth string
	cmd := &cobra.Command{
		Use:     "register",
		Short:   "Register a person welcomed into #Avenir",
		Example: "  avenir learners register --family-name Martin --given-name Léa --birth-date 2001-05-14 --territory T05",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if req.BirthDate, err = parseDate("birth-date", birth); err != nil {
				return err
			}
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).RegisterLearner(ctx, &req)
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&req.FamilyName, "family-name", "", "family name")
	fs.StringVar(&req.GivenName, "given-name", "", "given name")
	fs.StringVar(&birth, "birth-date", "", "birth date, YYYY-MM-DD")
	fs.StringVar(&req.TerritoryCode, "territory", "", "territory code, T01..T18")
	fs.BoolVar(&req.Rqth, "rqth", false, "recognised disability (RQTH); special-category data")
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one); retrying with the same key registers nobody twice")
	for _, name := range []string{"family-name", "given-name", "birth-date", "territory"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func newLearnersGetCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "get LEARNER_ID",
		Short: "Show a learner",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: args[0]})
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
			})
		},
	}
	addClientFlags(cmd.Flags(), &f)
	return cmd
}

func learnerRows(l *intakev1.Learner) []field {
	rows := []field{
		{"LEARNER ID", l.GetLearnerId()},
		{"FAMILY NAME", l.GetFamilyName()},
		{"GIVEN NAME", l.GetGivenName()},
		{"BIRTH DATE", dateString(l.GetBirthDate())},
		{"TERRITORY", l.GetTerritoryCode()},
		{"REGISTERED AT", l.GetRegisteredAt().AsTime().In(civil.Paris).Format("2006-01-02 15:04:05 MST")},
	}
	// Special-category data: the server sends it only to those who may see it.
	if l.Rqth != nil {
		rows = append(rows, field{"RQTH", map[bool]string{true: "yes", false: "no"}[l.GetRqth()]})
	}
	return rows
}

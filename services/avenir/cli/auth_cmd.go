package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

func newAuthCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Tokens for talking to avenir"}
	cmd.AddCommand(newAuthTokenCmd())
	return cmd
}

func newAuthTokenCmd() *cobra.Command {
	var (
		p       auth.Principal
		role    string
		dataDir string
		ttl     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a dev token with the dev key of a server's data dir",
		Long: `Mint a token signed with the dev key that ` + "`avenir server --dev`" + ` created in its data dir.
Production servers verify tokens of an OpenID Connect issuer instead.`,
		Example: `  export AVENIR_TOKEN=$(avenir auth token --role admin --subject me)
  avenir auth token --role referent --referent-id ref-05 --territory T05 --territory T06 --ttl 8h
  avenir auth token --role referent --referent-id ref-01 --territory T01 --coordinator
  avenir auth token --role operator --operator-id op-caen`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p.Role = auth.Role(role)
			if p.Subject == "" {
				p.Subject = p.ReferentID + p.OperatorID
			}
			if err := checkPrincipal(p, ttl); err != nil {
				return usageError{err}
			}
			key, err := auth.LoadDevKey(dataDir)
			if err != nil {
				return err
			}
			tok, err := auth.Mint(key, auth.DevClaims(p, ttl, time.Now()))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&role, "role", "", "admin, referent, operator or funder")
	fs.StringVar(&p.Subject, "subject", "", "who the token is for: a stable id (default: the role's id)")
	fs.StringVar(&p.Name, "name", "", "display name")
	fs.StringVar(&p.ReferentID, "referent-id", "", "referent id (referents)")
	fs.StringVar(&p.OperatorID, "operator-id", "", "operator id (operators)")
	addTerritories(fs, &p.Territories, "territory served (referents; an operator reads the learners enrolled with it, whatever its territories)")
	fs.BoolVar(&p.Coordinator, "coordinator", false, "the referent coordinates its territories: acts for every learner of them (referents)")
	fs.DurationVar(&ttl, "ttl", 8*time.Hour, "validity")
	fs.StringVar(&dataDir, "data-dir", "data", "data dir of the dev server (holds the dev key)")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

// checkPrincipal reports every problem of a token request at once.
func checkPrincipal(p auth.Principal, ttl time.Duration) error {
	var errs []error
	if !p.Role.Valid() {
		errs = append(errs, fmt.Errorf("--role must be one of %v, got %q", auth.Roles, p.Role))
	}
	if p.Role == auth.RoleReferent && (p.ReferentID == "" || len(p.Territories) == 0) {
		errs = append(errs, errors.New("a referent token needs --referent-id and at least one --territory"))
	}
	if p.Coordinator && p.Role != auth.RoleReferent {
		errs = append(errs, errors.New("--coordinator is for referent tokens"))
	}
	if p.Role == auth.RoleOperator && p.OperatorID == "" {
		errs = append(errs, errors.New("an operator token needs --operator-id"))
	}
	if p.Subject == "" {
		errs = append(errs, errors.New("--subject is required for admin and funder tokens"))
	}
	if ttl <= 0 || ttl > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("--ttl must be between 1s and 720h, got %s", ttl))
	}
	return errors.Join(errs...)
}

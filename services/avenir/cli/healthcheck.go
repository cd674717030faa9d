package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newHealthcheckCmd() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the server at --url is ready, 1 otherwise (container health checks: the image has no shell)",
		Long: `Ask an avenir server's admin port whether it is ready (/readyz: it serves gRPC and is
connected to NATS) and exit 0 when it is, 1 otherwise. For container health checks, where
the image has no shell nor curl; Kubernetes uses its native gRPC probes instead.`,
		Example: "  avenir healthcheck --url http://127.0.0.1:9464/readyz",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageError{err}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("not ready: %s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(string(body)))
			return err
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:9464/readyz", "readiness URL of the server's admin port")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

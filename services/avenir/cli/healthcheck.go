package cli

import (
	"context"
	"encoding/json"
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
		Long: `Ask an avenir server's admin port whether it is ready (/readyz: NATS connected, every
stream it owns writable, its read-model store answering, every read model and consumer caught
up) and exit 0 when it is, 1 otherwise, naming each failing check. For container health
checks, where the image has no shell nor curl; Kubernetes uses its native gRPC probes instead.`,
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
			var body struct {
				Ready  bool `json:"ready"`
				Checks []struct {
					Name   string `json:"name"`
					OK     bool   `json:"ok"`
					Detail string `json:"detail"`
				} `json:"checks"`
			}
			if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
				return fmt.Errorf("not ready: %s, and its answer is not the JSON of /readyz: %w", resp.Status, err)
			}
			if resp.StatusCode != http.StatusOK || !body.Ready {
				var failed []string
				for _, c := range body.Checks {
					if !c.OK {
						failed = append(failed, c.Name+" ("+c.Detail+")")
					}
				}
				return fmt.Errorf("not ready: %s", strings.Join(failed, "; "))
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ready: %d checks passed\n", len(body.Checks))
			return err
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:9464/readyz", "readiness URL of the server's admin port")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

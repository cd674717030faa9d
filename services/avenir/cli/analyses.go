package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
)

func newAnalysesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "analyses", Short: "Start, draft, complete and revise needs analyses; read them and their summary (needs)"}
	cmd.AddCommand(newAnalysesStartCmd(), newAnalysesDraftCmd(), newAnalysesCompleteCmd(), newAnalysesReviseCmd(),
		newAnalysesGetCmd(), newAnalysesListCmd(), newAnalysesSummaryCmd())
	return cmd
}

// printAnalysis prints an analysis as a table of rows, or as JSON.
func (f *clientFlags) printAnalysis(w io.Writer, a *needsv1.Analysis) error {
	return f.print(w, a, analysisRows(a))
}

func newAnalysesStartCmd() *cobra.Command {
	var rid string
	cmd := rpcCommand(needsv1.NewNeedsServiceClient, "start LEARNER_ID", "Start the needs analysis of the learner's open episode",
		"  avenir analyses start 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89", cobra.ExactArgs(1),
		func(fs *pflag.FlagSet) { addRequestID(fs, &rid) },
		func(ctx context.Context, cmd *cobra.Command, args []string, c needsv1.NeedsServiceClient, f *clientFlags) error {
			resp, err := c.StartAnalysis(ctx, &needsv1.StartAnalysisRequest{RequestId: requestID(rid), LearnerId: args[0]})
			if err != nil {
				return err
			}
			return f.printAnalysis(cmd.OutOrStdout(), resp.GetAnalysis())
		})
	cmd.Long = "Start the needs analysis of the learner's open pathway episode: an empty draft, to be drafted\n" +
		"(analyses draft) and completed (analyses complete). An episode has one analysis; once\n" +
		"completed, a change is a new version (analyses revise)."
	return cmd
}

func newAnalysesDraftCmd() *cobra.Command {
	var rid, file string
	cmd := rpcCommand(needsv1.NewNeedsServiceClient, "draft ANALYSIS_ID --file FILE",
		"Replace the content of an analysis in draft with the content of a YAML or JSON file",
		"  avenir analyses draft 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --file analysis.yaml", cobra.ExactArgs(1),
		func(fs *pflag.FlagSet) {
			fs.StringVarP(&file, "file", "f", "", "YAML or JSON file (.json) of the content; - for the standard input")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c needsv1.NeedsServiceClient, f *clientFlags) error {
			content, err := readAnalysisContent(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			resp, err := c.DraftAnalysis(ctx, &needsv1.DraftAnalysisRequest{RequestId: requestID(rid), AnalysisId: args[0], Content: content})
			if err != nil {
				return err
			}
			return f.printAnalysis(cmd.OutOrStdout(), resp.GetAnalysis())
		})
	cmd.Long = "Replace the whole content of an analysis in draft: skills on the seven CléA domains, diplomas,\n" +
		"experiences, barriers, professional project and recommended steps.\n\n" +
		"The file holds an avenir.needs.v1.AnalysisContent in the protobuf JSON form (field names as in\n" +
		"the .proto files or in lowerCamelCase, enum values by name): as JSON when its name ends in\n" +
		".json, as YAML otherwise (\"-\" reads YAML or JSON from the standard input). See\n" +
		"docs/examples/analysis.yaml."
	return required(cmd, "file")
}

// readAnalysisContent reads an AnalysisContent from a file: protobuf JSON,
// or YAML converted to JSON first. A file that cannot be read or parsed is
// a usage error.
func readAnalysisContent(path string, stdin io.Reader) (*needsv1.AnalysisContent, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("--file: %w", err)}
	}
	if !strings.EqualFold(filepath.Ext(path), ".json") {
		if b, err = yaml.YAMLToJSON(b); err != nil {
			return nil, usageError{fmt.Errorf("--file %s: not YAML: %w", path, err)}
		}
	}
	var content needsv1.AnalysisContent
	if err := protojson.Unmarshal(b, &content); err != nil {
		return nil, usageError{fmt.Errorf("--file %s: not an analysis content (avenir.needs.v1.AnalysisContent): %w", path, err)}
	}
	return &content, nil
}

func newAnalysesCompleteCmd() *cobra.Command {
	var rid string
	cmd := rpcCommand(needsv1.NewNeedsServiceClient, "complete ANALYSIS_ID",
		"Complete an analysis in draft: it becomes immutable and the learner's current analysis",
		"  avenir analyses complete 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89", cobra.ExactArgs(1),
		func(fs *pflag.FlagSet) { addRequestID(fs, &rid) },
		func(ctx context.Context, cmd *cobra.Command, args []string, c needsv1.NeedsServiceClient, f *clientFlags) error {
			resp, err := c.CompleteAnalysis(ctx, &needsv1.CompleteAnalysisRequest{RequestId: requestID(rid), AnalysisId: args[0]})
			if err != nil {
				return err
			}
			return f.printAnalysis(cmd.OutOrStdout(), resp.GetAnalysis())
		})
	cmd.Long = "Complete an analysis in draft. It needs the project's maturity and at least one recommended\n" +
		"step (a project to confirm or validated names its target trades). A completed analysis is\n" +
		"immutable: a change is a new version (analyses revise)."
	return cmd
}

func newAnalysesReviseCmd() *cobra.Command {
	var rid string
	return rpcCommand(needsv1.NewNeedsServiceClient, "revise ANALYSIS_ID",
		"Start a new version of a completed analysis, from its content; prints the new version",
		"  avenir analyses revise 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89", cobra.ExactArgs(1),
		func(fs *pflag.FlagSet) { addRequestID(fs, &rid) },
		func(ctx context.Context, cmd *cobra.Command, args []string, c needsv1.NeedsServiceClient, f *clientFlags) error {
			resp, err := c.ReviseAnalysis(ctx, &needsv1.ReviseAnalysisRequest{RequestId: requestID(rid), AnalysisId: args[0]})
			if err != nil {
				return err
			}
			return f.printAnalysis(cmd.OutOrStdout(), resp.GetAnalysis())
		})
}

func newAnalysesGetCmd() *cobra.Command {
	var f clientFlags
	var req needsv1.GetAnalysisRequest
	cmd := &cobra.Command{
		Use:   "get [ANALYSIS_ID]",
		Short: "Show an analysis, or with --learner the learner's current analysis",
		Example: "  avenir analyses get 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89\n" +
			"  avenir analyses get --learner 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89",
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (req.LearnerId != "") {
				return usageError{fmt.Errorf("give an ANALYSIS_ID or --learner, not both")}
			}
			if len(args) == 1 {
				req.AnalysisId = args[0]
			}
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := needsv1.NewNeedsServiceClient(conn).GetAnalysis(ctx, &req)
				if err != nil {
					return err
				}
				return f.printAnalysis(cmd.OutOrStdout(), resp.GetAnalysis())
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&req.LearnerId, "learner", "", "the learner whose current analysis (the last completed) is shown")
	return cmd
}

func newAnalysesListCmd() *cobra.Command {
	var f clientFlags
	var req needsv1.ListAnalysesRequest
	var from, to, status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a learner's analyses, or a territory's over a period (admins), a page at a time",
		Long: "List the analyses of a learner (--learner), every episode and version in order, or those of a\n" +
			"territory (--territory, admins) started between --from and --to (with --status completed:\n" +
			"completed between them). A page may be short: continue with --page-token while a next page\n" +
			"token is printed.\n\nStatuses: " + analysisStatuses.names(),
		Example: "  avenir analyses list --learner 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89\n" +
			"  avenir analyses list --territory T05 --status completed --from 2026-11-01 --to 2026-11-30 -o json",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			for _, d := range []struct {
				flag, value string
				into        **commonv1.Date
			}{{"from", from, &req.From}, {"to", to, &req.To}} {
				if *d.into, err = optionalDate(d.flag, d.value); err != nil {
					return err
				}
			}
			if status != "" {
				st, err := analysisStatuses.parse("status", status)
				if err != nil {
					return err
				}
				req.Status = needsv1.AnalysisStatus(st)
			}
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := needsv1.NewNeedsServiceClient(conn).ListAnalyses(ctx, &req)
				if err != nil {
					return err
				}
				if f.output == "json" {
					return f.print(cmd.OutOrStdout(), resp, nil)
				}
				return listTable(cmd.OutOrStdout(), analysisListRows(resp.GetAnalyses()), resp.GetNextPageToken())
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&req.LearnerId, "learner", "", "the learner whose analyses are listed")
	fs.StringVar(&req.TerritoryCode, "territory", "", "territory code, e.g. T05 (admins)")
	fs.StringVar(&from, "from", "", "with --territory: started (completed, with --status completed) on or after, YYYY-MM-DD")
	fs.StringVar(&to, "to", "", "with --territory: started (completed) on or before, YYYY-MM-DD")
	fs.StringVar(&status, "status", "", "status: "+analysisStatuses.names())
	fs.Int32Var(&req.PageSize, "page-size", 0, "analyses per page (default 50, at most 200)")
	fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
	return cmd
}

func newAnalysesSummaryCmd() *cobra.Command {
	var f clientFlags
	var req needsv1.GetAnalysisSummaryRequest
	var from, to string
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Show the analyses completed per territory and month, the most frequent barriers and targeted trades",
		Long: "Show, per territory and in total, the analyses completed each month (first versions and\n" +
			"revisions), then the barriers most often recorded and the trades most often targeted by the\n" +
			"current analyses completed in those months.",
		Example: "  avenir analyses summary --from 2026-01 --to 2026-12 --territory T05",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fm, err := pathwayMonth("from", from)
			if err != nil {
				return err
			}
			tm, err := pathwayMonth("to", to)
			if err != nil {
				return err
			}
			req.FromMonth = &commonv1.Month{Year: fm.GetYear(), Month: fm.GetMonth()}
			req.ToMonth = &commonv1.Month{Year: tm.GetYear(), Month: tm.GetMonth()}
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := needsv1.NewNeedsServiceClient(conn).GetAnalysisSummary(ctx, &req)
				if err != nil {
					return err
				}
				if f.output == "json" {
					return f.print(cmd.OutOrStdout(), resp, nil)
				}
				if err := listTable(cmd.OutOrStdout(), analysisMonthRows(resp), ""); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout())
				return listTable(cmd.OutOrStdout(), analysisRankRows(resp), "")
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

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
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
)

func newAnalysesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "analyses", Short: "Start, draft, complete and revise needs analyses; read them and their summary (needs)"}
	cmd.AddCommand(newAnalysesStartCmd(), newAnalysesDraftCmd(), newAnalysesCompleteCmd(), newAnalysesReviseCmd(),
		newAnalysesGetCmd(), newAnalysesListCmd(), newAnalysesSummaryCmd())
	return cmd
}

// needsCommand builds a command calling RPCs of NeedsService.
func needsCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c needsv1.NeedsServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(needsv1.NewNeedsServiceClient, use, short, example, args, setup, run)
}

// printAnalysis prints an analysis as a table of rows, or as JSON.
func (f *clientFlags) printAnalysis(w io.Writer, a *needsv1.Analysis) error {
	return f.print(w, a, analysisRows(a))
}

func newAnalysesStartCmd() *cobra.Command {
	var rid string
	cmd := needsCommand("start LEARNER_ID", "Start the needs analysis of the learner's open episode",
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
	cmd := needsCommand("draft ANALYSIS_ID --file FILE",
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
	cmd := needsCommand("complete ANALYSIS_ID",
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
	return needsCommand("revise ANALYSIS_ID",
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
	var learner string
	return needsCommand("get [ANALYSIS_ID]", "Show an analysis, or with --learner the learner's current analysis",
		"  avenir analyses get 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89\n"+
			"  avenir analyses get --learner 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89",
		cobra.MaximumNArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&learner, "learner", "", "the learner whose current analysis (the last completed) is shown")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c needsv1.NeedsServiceClient, f *clientFlags) error {
			if (len(args) == 1) == (learner != "") {
				return usageError{fmt.Errorf("give an ANALYSIS_ID or --learner, not both")}
			}
			req := &needsv1.GetAnalysisRequest{LearnerId: learner}
			if len(args) == 1 {
				req.AnalysisId = args[0]
			}
			resp, err := c.GetAnalysis(ctx, req)
			if err != nil {
				return err
			}
			return f.printAnalysis(cmd.OutOrStdout(), resp.GetAnalysis())
		})
}

func newAnalysesListCmd() *cobra.Command {
	var req needsv1.ListAnalysesRequest
	var codes []string
	var from, to, status string
	cmd := needsCommand("list", "List a learner's analyses, or a territory's over a period (admins), a page at a time",
		"  avenir analyses list --learner 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89\n"+
			"  avenir analyses list --territory T05 --status completed --from 2026-11-01 --to 2026-11-30 -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.LearnerId, "learner", "", "the learner whose analyses are listed")
			addTerritories(fs, &codes, "the territories whose analyses are listed (admins)")
			fs.StringVar(&from, "from", "", "with --territory: started (completed, with --status completed) on or after that day, "+dateHelp)
			fs.StringVar(&to, "to", "", "with --territory: started (completed) on or before that day")
			fs.StringVar(&status, "status", "", "status: "+analysisStatuses.names())
			addPage(fs, &req.PageSize, &req.PageToken, "analyses")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c needsv1.NeedsServiceClient, f *clientFlags) error {
			var err error
			if req.From, err = optionalDate("from", from); err != nil {
				return err
			}
			if req.To, err = optionalDate("to", to); err != nil {
				return err
			}
			st, err := analysisStatuses.optional("status", status)
			if err != nil {
				return err
			}
			req.Status = needsv1.AnalysisStatus(st)
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*needsv1.ListAnalysesResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.ListAnalyses(ctx, r)
				},
				func(w io.Writer, answers []territoryAnswer[*needsv1.ListAnalysesResponse]) error {
					var ids []string
					for _, a := range answers {
						for _, an := range a.resp.GetAnalyses() {
							ids = append(ids, an.GetLearnerId())
						}
					}
					names := f.learnerNames(ctx, ids...)
					return listAnswers(w, answers, analysisListHeader, func(r *needsv1.ListAnalysesResponse) [][]string { return analysisListRows(r, names) },
						(*needsv1.ListAnalysesResponse).GetNextPageToken)
				})
		})
	cmd.Long = "List the analyses of a learner (--learner), every episode and version in order, or those of\n" +
		"territories (--territory, admins) started between --from and --to (with --status completed:\n" +
		"completed between them). A page may be short: continue with --page-token while a next page\n" +
		"token is printed. With several territories, each is listed in turn and the analyses shown\n" +
		"together.\n\nStatuses: " + analysisStatuses.names()
	return cmd
}

func newAnalysesSummaryCmd() *cobra.Command {
	var months string
	var codes []string
	cmd := needsCommand("summary --period YYYY-MM..YYYY-MM",
		"Show the analyses completed per territory and month, the most frequent barriers and targeted trades",
		"  avenir analyses summary --period 2026-01..2026-12\n"+
			"  avenir analyses summary --period 2026-11 --territory T05 --territory T14",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addPeriodRange(fs, &months)
			addTerritories(fs, &codes, "only these territories (default: every territory in your scope, with totals)")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c needsv1.NeedsServiceClient, f *clientFlags) error {
			from, to, err := parseMonthRange("period", months)
			if err != nil {
				return err
			}
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, "",
				func(ctx context.Context, code string) (*needsv1.GetAnalysisSummaryResponse, error) {
					return c.GetAnalysisSummary(ctx, &needsv1.GetAnalysisSummaryRequest{FromMonth: from, ToMonth: to, TerritoryCode: code})
				},
				func(w io.Writer, answers []territoryAnswer[*needsv1.GetAnalysisSummaryResponse]) error {
					if err := listTable(w, analysisMonthRows(answers), ""); err != nil {
						return err
					}
					fmt.Fprintln(w)
					return listTable(w, analysisRankRows(answers), "")
				})
		})
	cmd.Long = "Show, per territory and in total, the analyses completed each month (first versions and\n" +
		"revisions), then the barriers most often recorded and the trades most often targeted by the\n" +
		"current analyses completed in those months. With several --territory, each is asked in turn\n" +
		"and shown without totals (the ten most targeted trades do not add up): leave --territory out\n" +
		"for the totals of your whole scope."
	return required(cmd, "period")
}

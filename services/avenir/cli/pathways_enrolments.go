package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

var (
	enrolmentKinds      = enumFlag{pathwayv1.EnrolmentKind(0).Descriptor(), "ENROLMENT_KIND_"}
	enrolmentEndReasons = enumFlag{pathwayv1.EnrolmentEndReason(0).Descriptor(), "ENROLMENT_END_REASON_"}
)

func newPathwaysEnrolCmd() *cobra.Command {
	var rid, contract, kind, from string
	cmd := pathwayCommand("enrol LEARNER_ID", "Enrol a learner in the pathway with an operator's contract, from a date",
		"  avenir pathways enrol 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --contract $contract --kind accompaniment --from 2026-11-02",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&contract, "contract", "", "the contract's id (funding contracts list)")
			fs.StringVar(&kind, "kind", "", "what the learner is enrolled in: "+enrolmentKinds.names())
			fs.StringVar(&from, "from", "today", "first day enrolled, "+dateHelp+"; not before the entry, within the contract's period, at most 90 days ahead")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			req := &pathwayv1.EnrolRequest{RequestId: requestID(rid), LearnerId: args[0], ContractId: contract}
			var err error
			if req.FromDate, err = parseDate("from", from); err != nil {
				return err
			}
			k, err := enrolmentKinds.parse("kind", kind)
			if err != nil {
				return err
			}
			req.Kind = pathwayv1.EnrolmentKind(k)
			resp, err := c.Enrol(ctx, req)
			if err != nil {
				return err
			}
			rows := append([]field{{"ENROLMENT", pathwayEnrolment(resp.GetEnrolment())}}, pathwayRows(resp.GetPathway())...)
			return f.print(cmd.OutOrStdout(), resp, rows)
		})
	cmd.Long = "Enrol a learner in the open episode with an operator's contract covering the learner's territory:\n" +
		"the operator may then bill for the learner, and read it. A contract made a moment ago may not have\n" +
		"reached the pathway yet: the refusal says so, retry shortly. An exit ends every open enrolment.\n\n" +
		"Kinds: " + enrolmentKinds.names()
	return required(cmd, "contract", "kind")
}

func newPathwaysEndEnrolmentCmd() *cobra.Command {
	var rid, to string
	cmd := pathwayCommand("end-enrolment LEARNER_ID ENROLMENT_NUMBER", "End an open enrolment on its last day",
		"  avenir pathways end-enrolment 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 2 --to 2026-11-30",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			fs.StringVar(&to, "to", "today", "last day enrolled, "+dateHelp+"; the day before the first day cancels it")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			n, err := strconv.ParseInt(args[1], 10, 32)
			if err != nil {
				return usageError{fmt.Errorf("ENROLMENT_NUMBER: %q is not a number", args[1])}
			}
			req := &pathwayv1.EndEnrolmentRequest{RequestId: requestID(rid), LearnerId: args[0], EnrolmentNumber: int32(n)}
			if req.ToDate, err = parseDate("to", to); err != nil {
				return err
			}
			resp, err := c.EndEnrolment(ctx, req)
			if err != nil {
				return err
			}
			rows := append([]field{{"ENROLMENT", pathwayEnrolment(resp.GetEnrolment())}}, pathwayRows(resp.GetPathway())...)
			return f.print(cmd.OutOrStdout(), resp, rows)
		})
	return cmd
}

func newPathwaysEnrolmentsCmd() *cobra.Command {
	var req pathwayv1.ListEnrolmentsRequest
	var codes []string
	var activeOn string
	cmd := pathwayCommand("enrolments", "List enrolments: operators their own, referents their learners', funders and admins all",
		"  avenir pathways enrolments --operator op-evreux --active-on today\n"+
			"  avenir pathways enrolments --contract $contract -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.OperatorId, "operator", "", "only this operator's (operators: always their own)")
			fs.StringVar(&req.ContractId, "contract", "", "only this contract's")
			addTerritories(fs, &codes, "only the learners of this territory")
			fs.StringVar(&activeOn, "active-on", "", "only the enrolments covering that day, "+dateHelp)
			addPage(fs, &req.PageSize, &req.PageToken, "enrolments")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c pathwayv1.PathwayServiceClient, f *clientFlags) error {
			var err error
			if req.TerritoryCode, err = oneTerritory(codes, "a listing of enrolments"); err != nil {
				return err
			}
			if req.ActiveOn, err = optionalDate("active-on", activeOn); err != nil {
				return err
			}
			resp, err := c.ListEnrolments(ctx, &req)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			var ids []string
			for _, e := range resp.GetEnrolments() {
				ids = append(ids, e.GetLearnerId())
			}
			return listTable(cmd.OutOrStdout(), enrolmentListRows(resp, f.learnerNames(ctx, ids...)), resp.GetNextPageToken())
		})
	cmd.Long = "List enrolments by operator, contract, learner and number. Every filter given must hold.\n" +
		"A page may be short: continue with --page-token while a next page token is printed."
	return cmd
}

// pathwayEnrolment reads "#1 accompaniment with op-evreux (contract C, avenir), from 2026-11-02 to
// 2026-11-20 (pathway-exit)".
func pathwayEnrolment(e *pathwayv1.Enrolment) string {
	programme := fundingProgrammes.name(e.GetProgramme().Number())
	if programme == "" {
		programme = "no programme"
	}
	s := fmt.Sprintf("#%d %s with %s (contract %s, %s), from %s", e.GetNumber(), enrolmentKinds.name(e.GetKind().Number()),
		e.GetOperatorId(), e.GetContractId(), programme, dateString(e.GetFromDate()))
	if e.GetToDate() != nil {
		s += fmt.Sprintf(" to %s (%s)", dateString(e.GetToDate()), enrolmentEndReasons.name(e.GetEndReason().Number()))
	}
	return s
}

// pathwayEnrolments is every enrolment of a pathway, in order.
func pathwayEnrolments(p *pathwayv1.Pathway) string {
	var out []string
	for _, e := range p.GetEpisodes() {
		for _, en := range e.GetEnrolments() {
			out = append(out, pathwayEnrolment(en))
		}
	}
	return strings.Join(out, "; ")
}

// enrolmentListRows is the header, then one row per enrolment listed, with
// the learners' names.
func enrolmentListRows(resp *pathwayv1.ListEnrolmentsResponse, names map[string]string) [][]string {
	rows := [][]string{{"OPERATOR", "CONTRACT", "LEARNER ID", "NAME", "TERRITORY", "#", "KIND", "PROGRAMME", "FROM", "TO", "END"}}
	for _, l := range resp.GetEnrolments() {
		e := l.GetEnrolment()
		rows = append(rows, []string{
			e.GetOperatorId(), e.GetContractId(), l.GetLearnerId(), names[l.GetLearnerId()], l.GetTerritoryCode(), fmt.Sprint(e.GetNumber()),
			enrolmentKinds.name(e.GetKind().Number()), fundingProgrammes.name(e.GetProgramme().Number()),
			dateString(e.GetFromDate()), dateString(e.GetToDate()), enrolmentEndReasons.name(e.GetEndReason().Number()),
		})
	}
	return rows
}

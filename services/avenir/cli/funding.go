package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

var (
	fundingFeeTypes   = enumFlag{fundingv1.FeeType(0).Descriptor(), "FEE_TYPE_"}
	fundingActivities = enumFlag{fundingv1.ActivityType(0).Descriptor(), "ACTIVITY_TYPE_"}
	fundingUnits      = enumFlag{fundingv1.Unit(0).Descriptor(), "UNIT_"}
	fundingRejections = enumFlag{fundingv1.RejectionReason(0).Descriptor(), "REJECTION_REASON_"}
	fundingStatuses   = enumFlag{fundingv1.LineStatus(0).Descriptor(), "LINE_STATUS_"}
)

func newFundingCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "funding", Short: "Funding units: contracts, hour reports, flat fees, monthly statements, budgets (funding)"}
	contracts := &cobra.Command{Use: "contracts", Short: "Create, update and read operators' contracts"}
	contracts.AddCommand(newFundingContractsCreateCmd(), newFundingContractsUpdateCmd(), newFundingContractsGetCmd(), newFundingContractsListCmd())
	hours := &cobra.Command{Use: "hours", Short: "Report trainee hours (one line, or a CSV file) and correct them"}
	hours.AddCommand(newFundingHoursImportCmd(), newFundingHoursReportCmd(), newFundingHoursCorrectCmd())
	statements := &cobra.Command{Use: "statements", Short: "Read, review, close and export monthly statements"}
	statements.AddCommand(newFundingStatementsGetCmd(), newFundingStatementsReviewCmd(), newFundingStatementsCloseCmd(), newFundingStatementsExportCmd())
	cmd.AddCommand(contracts, hours, statements, newFundingGroupHoursCmd(), newFundingFeeCmd(), newFundingBudgetCmd())
	return cmd
}

func fundingCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(fundingv1.NewFundingServiceClient, use, short, example, args, setup, run)
}

// termsFlags are the flags of a contract's whole terms.
type termsFlags struct {
	t        fundingv1.ContractTerms
	from, to string
	fees     []string
}

func (tf *termsFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&tf.t.OperatorId, "operator-id", "", "the training operator paid")
	fs.StringVar(&tf.t.Reference, "reference", "", "the funder's reference of the contract (marché, lot)")
	fs.StringSliceVar(&tf.t.TerritoryCodes, "territories", nil, "territories of the lot, comma-separated (T05,T06)")
	fs.StringVar(&tf.from, "from", "", "first day of the contract, YYYY-MM-DD, today, today-N or today+N")
	fs.StringVar(&tf.to, "to", "", "last day of the contract")
	fs.Int64Var(&tf.t.TraineeHourRateCents, "trainee-hour-rate-cents", 0, "price of one trainee hour (heure stagiaire), in cents")
	fs.Int64Var(&tf.t.GroupHourRateCents, "group-hour-rate-cents", 0, "price of one group hour (heure groupe), in cents")
	fs.StringArrayVar(&tf.fees, "fee", nil, "a flat fee (forfait) the contract pays, TYPE=CENTS, repeatable; TYPE: "+
		fundingFeeTypes.names()+" (custom as custom:CODE)")
	fs.Int64Var(&tf.t.AnnualEnvelopeCents, "envelope-cents", 0, "budget envelope per contract year, in cents")
	fs.Int32Var(&tf.t.DailyCapMinutes, "daily-cap-minutes", 0, "maximum trainee minutes per learner per day (default 420)")
	fs.Int32Var(&tf.t.WeeklyCapMinutes, "weekly-cap-minutes", 0, "maximum trainee minutes per learner per ISO week (default 2100)")
	fs.Int32Var(&tf.t.MaxGroupSize, "max-group-size", 0, "maximum attendees of a group hour")
}

var termsRequired = []string{"operator-id", "reference", "territories", "from", "to", "max-group-size"}

func (tf *termsFlags) terms() (*fundingv1.ContractTerms, error) {
	var err error
	if tf.t.PeriodFrom, err = parseDate("from", tf.from); err != nil {
		return nil, err
	}
	if tf.t.PeriodTo, err = parseDate("to", tf.to); err != nil {
		return nil, err
	}
	tf.t.FlatFees = nil
	for _, fee := range tf.fees {
		kind, cents, ok := strings.Cut(fee, "=")
		amount, err := strconv.ParseInt(cents, 10, 64)
		if !ok || err != nil {
			return nil, usageError{fmt.Errorf("--fee: %q is not TYPE=CENTS", fee)}
		}
		rate := &fundingv1.FlatFeeRate{AmountCents: amount}
		if code, custom := strings.CutPrefix(kind, "custom:"); custom {
			rate.FeeType, rate.CustomCode = fundingv1.FeeType_FEE_TYPE_CUSTOM, code
		} else {
			n, err := fundingFeeTypes.parse("fee", kind)
			if err != nil {
				return nil, err
			}
			rate.FeeType = fundingv1.FeeType(n)
		}
		tf.t.FlatFees = append(tf.t.FlatFees, rate)
	}
	return &tf.t, nil
}

func newFundingContractsCreateCmd() *cobra.Command {
	var tf termsFlags
	var rid string
	cmd := fundingCommand("create", "Create an operator's contract: lot, period, rates, envelope, caps (admins)",
		"  avenir funding contracts create --operator-id op-evreux --reference \"Lot 5 Eure\" --territories T05 \\\n"+
			"      --from 2026-01-01 --to 2027-12-31 --trainee-hour-rate-cents 1250 --group-hour-rate-cents 4500 \\\n"+
			"      --fee needs-analysis-completed=15000 --fee immersion-completed=20000 --envelope-cents 120000000 --max-group-size 12",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			tf.add(fs)
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			t, err := tf.terms()
			if err != nil {
				return err
			}
			resp, err := c.CreateContract(ctx, &fundingv1.CreateContractRequest{RequestId: requestID(rid), Terms: t})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetContract(), contractRows(resp.GetContract()))
		})
	return required(cmd, termsRequired...)
}

func newFundingContractsUpdateCmd() *cobra.Command {
	var tf termsFlags
	var rid, reason string
	cmd := fundingCommand("update CONTRACT_ID", "Replace a contract's whole terms; operator and start stay (admins)",
		"  avenir funding contracts update $contract --operator-id op-evreux --reference \"Lot 5 Eure\" --territories T05 \\\n"+
			"      --from 2026-01-01 --to 2027-12-31 --trainee-hour-rate-cents 1300 --envelope-cents 150000000 --max-group-size 12 \\\n"+
			"      --reason \"avenant n°1\"",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			tf.add(fs)
			addRequestID(fs, &rid)
			fs.StringVar(&reason, "reason", "", "why; required when the envelope changes")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			t, err := tf.terms()
			if err != nil {
				return err
			}
			resp, err := c.UpdateContract(ctx, &fundingv1.UpdateContractRequest{RequestId: requestID(rid), ContractId: args[0], Terms: t, Reason: reason})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetContract(), contractRows(resp.GetContract()))
		})
	return required(cmd, termsRequired...)
}

func newFundingContractsGetCmd() *cobra.Command {
	return fundingCommand("get CONTRACT_ID", "Show a contract (admins, funders, its operator)", "  avenir funding contracts get $contract",
		cobra.ExactArgs(1), nil,
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			resp, err := c.GetContract(ctx, &fundingv1.GetContractRequest{ContractId: args[0]})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetContract(), contractRows(resp.GetContract()))
		})
}

func newFundingContractsListCmd() *cobra.Command {
	var req fundingv1.ListContractsRequest
	var activeOn string
	return fundingCommand("list", "List contracts (operators: their own)",
		"  avenir funding contracts list --territory T05 --active-on today",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.OperatorId, "operator-id", "", "only this operator's")
			fs.StringVar(&req.TerritoryCode, "territory", "", "only those covering this territory")
			fs.StringVar(&activeOn, "active-on", "", "only those whose period contains this day")
			fs.Int32Var(&req.PageSize, "page-size", 0, "contracts per page (default 50)")
			fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if req.ActiveOn, err = optionalDate("active-on", activeOn); err != nil {
				return err
			}
			resp, err := c.ListContracts(ctx, &req)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.print(cmd.OutOrStdout(), resp, nil)
			}
			rows := [][]string{{"CONTRACT ID", "OPERATOR", "REFERENCE", "TERRITORIES", "PERIOD", "TRAINEE HOUR", "GROUP HOUR", "ENVELOPE/YEAR"}}
			for _, k := range resp.GetContracts() {
				t := k.GetTerms()
				rows = append(rows, []string{
					k.GetContractId(), t.GetOperatorId(), t.GetReference(), strings.Join(t.GetTerritoryCodes(), ","),
					period(t.GetPeriodFrom(), t.GetPeriodTo()), euros(t.GetTraineeHourRateCents()), euros(t.GetGroupHourRateCents()),
					euros(t.GetAnnualEnvelopeCents()),
				})
			}
			return listTable(cmd.OutOrStdout(), rows, resp.GetNextPageToken())
		})
}

// hoursColumns are the columns of a trainee-hours CSV file, in order.
var hoursColumns = []string{"operator_line_id", "learner_id", "date", "minutes", "activity"}

// importChunk is the number of lines sent per message of the stream.
const importChunk = 10_000

func newFundingHoursImportCmd() *cobra.Command {
	var rid string
	var quiet bool
	return fundingCommand("import CONTRACT_ID FILE.csv", "Report a CSV file of trainee hours (the contract's operator)",
		"  avenir funding hours import $contract heures-novembre.csv\n\n"+
			"The file is UTF-8, separated by ';' (or ','), with a header row naming the columns\n"+
			strings.Join(hoursColumns, ";")+"\n"+
			"e.g. L-2026-0001;0194f1e2-...;2026-11-03;210;face-to-face. Activities: "+fundingActivities.names()+".\n"+
			"Lines that cannot be read are listed with their line number and not sent; the others are\n"+
			"streamed in chunks of 10,000. The summary lists every rejected line with its line number.\n"+
			"Importing the same file again with the same --request-id changes nothing.",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.BoolVar(&quiet, "quiet", false, "no progress on standard error")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			return importHours(ctx, cmd, args[0], args[1], requestID(rid), quiet, c, f)
		})
}

// csvLine is a line of the file read, with its number in the file.
type csvLine struct {
	number int
	line   *fundingv1.ReportedLine
}

// importHours reads the file, streams its lines and prints the summary.
func importHours(ctx context.Context, cmd *cobra.Command, contractID, path, rid string, quiet bool, c fundingv1.FundingServiceClient, f *clientFlags) error {
	total, err := countLines(path)
	if err != nil {
		return usageError{err}
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	r, err := newHoursReader(file)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", path, err)}
	}
	stream, err := c.ReportTraineeHoursStream(ctx)
	if err != nil {
		return err
	}
	progress := newProgress(cmd.ErrOrStderr(), total-1, quiet || f.output == "json")
	var (
		numbers []int // file line number of each line sent, by stream index
		unread  []string
		chunk   []*fundingv1.ReportedLine
		send    = func() error {
			if len(chunk) == 0 {
				return nil
			}
			err := stream.Send(&fundingv1.ReportTraineeHoursStreamRequest{RequestId: rid, ContractId: contractID, Lines: chunk})
			chunk = nil
			return err
		}
		readDone bool
	)
	for !readDone {
		l, problem, err := r.next()
		switch {
		case errors.Is(err, io.EOF):
			readDone = true
			continue
		case err != nil:
			return fmt.Errorf("%s: %w", path, err)
		case problem != "":
			unread = append(unread, fmt.Sprintf("line %d: %s", r.line, problem))
		default:
			numbers = append(numbers, l.number)
			chunk = append(chunk, l.line)
		}
		progress.add(1)
		if len(chunk) == importChunk {
			if err := send(); err != nil {
				return streamError(stream, err)
			}
		}
	}
	if err := send(); err != nil {
		return streamError(stream, err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	progress.done()
	if f.output == "json" {
		return f.print(cmd.OutOrStdout(), resp, nil)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%d lines accepted (%s), %d rejected, %d not read\n", resp.GetAccepted(), euros(resp.GetAcceptedAmountCents()), resp.GetRejected(), len(unread))
	if resp.GetBudgetWarning() {
		fmt.Fprintln(w, "budget: the contract year's consumption reached 80 % of its envelope")
	}
	for _, u := range unread {
		fmt.Fprintln(w, u)
	}
	for _, rej := range resp.GetRejectedLines() {
		n := "?"
		if i := int(rej.GetIndex()); i >= 0 && i < len(numbers) {
			n = strconv.Itoa(numbers[i])
		}
		fmt.Fprintf(w, "line %s (%s): %s: %s\n", n, rej.GetOperatorLineId(), fundingRejections.name(rej.GetReason().Number()), rej.GetDetail())
	}
	if resp.GetRejectedTruncated() {
		fmt.Fprintln(w, "(more rejected lines than listed: report the file in parts to see them all)")
	}
	return nil
}

// streamError is the server's answer when a send failed because it ended
// the stream.
func streamError(stream fundingv1.FundingService_ReportTraineeHoursStreamClient, sendErr error) error {
	if errors.Is(sendErr, io.EOF) {
		if _, err := stream.CloseAndRecv(); err != nil {
			return err
		}
	}
	return sendErr
}

// countLines counts the lines of a file, for the progress bar.
func countLines(path string) (int, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	n := 0
	s := bufio.NewScanner(file)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		n++
	}
	return n, s.Err()
}

// hoursReader reads the lines of a trainee-hours CSV file.
type hoursReader struct {
	r    *csv.Reader
	col  map[string]int
	line int
}

func newHoursReader(in io.Reader) (*hoursReader, error) {
	br := bufio.NewReader(in)
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	r := csv.NewReader(br)
	r.Comma = ';'
	if first, _, _ := strings.Cut(string(head), "\n"); !strings.Contains(first, ";") && strings.Contains(first, ",") {
		r.Comma = ','
	}
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("no header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var missing []string
	for _, c := range hoursColumns {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the header row lacks %s (columns: %s)", strings.Join(missing, ", "), strings.Join(hoursColumns, ";"))
	}
	return &hoursReader{r: r, col: col, line: 1}, nil
}

// next reads the next line: the line, or why it cannot be read, or io.EOF.
func (h *hoursReader) next() (csvLine, string, error) {
	rec, err := h.r.Read()
	h.line++
	if err != nil {
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			h.line = perr.Line
			return csvLine{}, perr.Err.Error(), nil
		}
		return csvLine{}, "", err
	}
	field := func(name string) string {
		if i := h.col[name]; i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	line := &fundingv1.ReportedLine{OperatorLineId: field("operator_line_id"), LearnerId: field("learner_id")}
	d, err := civil.Parse(field("date"))
	if err != nil {
		return csvLine{}, fmt.Sprintf("date %q is not YYYY-MM-DD", field("date")), nil
	}
	line.Date = civilpb.FromDate(d)
	minutes, err := strconv.ParseInt(field("minutes"), 10, 32)
	if err != nil {
		return csvLine{}, fmt.Sprintf("minutes %q is not a whole number", field("minutes")), nil
	}
	line.Minutes = int32(minutes)
	activity, err := fundingActivities.parse("activity", field("activity"))
	if err != nil {
		return csvLine{}, fmt.Sprintf("activity %q is not one of %s", field("activity"), fundingActivities.names()), nil
	}
	line.Activity = fundingv1.ActivityType(activity)
	return csvLine{number: h.line, line: line}, "", nil
}

func newFundingHoursReportCmd() *cobra.Command {
	var rid, date, activity string
	var line fundingv1.ReportedLine
	cmd := fundingCommand("report CONTRACT_ID", "Report one line of trainee hours (the contract's operator)",
		"  avenir funding hours report $contract --line-id L-0001 --learner $learner --date 2026-11-03 --minutes 210 --activity face-to-face",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.StringVar(&line.OperatorLineId, "line-id", "", "the operator's id of the line, unique in the contract")
			fs.StringVar(&line.LearnerId, "learner", "", "the learner")
			fs.StringVar(&date, "date", "", "the day, YYYY-MM-DD, today or today-N")
			fs.Int32Var(&line.Minutes, "minutes", 0, "minutes of training that day")
			fs.StringVar(&activity, "activity", "", "activity: "+fundingActivities.names())
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if line.Date, err = parseDate("date", date); err != nil {
				return err
			}
			n, err := fundingActivities.parse("activity", activity)
			if err != nil {
				return err
			}
			line.Activity = fundingv1.ActivityType(n)
			resp, err := c.ReportTraineeHours(ctx, &fundingv1.ReportTraineeHoursRequest{RequestId: requestID(rid), ContractId: args[0], Lines: []*fundingv1.ReportedLine{&line}})
			if err != nil {
				return err
			}
			return printResult(cmd, f, resp, resp.GetResults()[0], resp.GetBudgetWarning())
		})
	return required(cmd, "line-id", "learner", "date", "minutes", "activity")
}

func newFundingHoursCorrectCmd() *cobra.Command {
	var rid, date, activity string
	var req fundingv1.CorrectLineRequest
	cmd := fundingCommand("correct CONTRACT_ID", "Amend a trainee-hour line with a new line referencing it (the contract's operator)",
		"  avenir funding hours correct $contract --learner $learner --date 2026-11-03 --corrects L-0001 --line-id L-0001-C1 \\\n"+
			"      --minutes 180 --activity face-to-face --reason \"left at 16:00\"",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.StringVar(&req.LearnerId, "learner", "", "the learner of the line corrected")
			fs.StringVar(&date, "date", "", "the date of the line corrected")
			fs.StringVar(&req.CorrectsLineId, "corrects", "", "the operator line id corrected")
			fs.StringVar(&req.OperatorLineId, "line-id", "", "the id of the correction, unique in the contract")
			fs.Int32Var(&req.Minutes, "minutes", 0, "the right minutes (0 cancels the line)")
			fs.StringVar(&activity, "activity", "", "activity: "+fundingActivities.names())
			fs.StringVar(&req.Reason, "reason", "", "why")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if req.Date, err = parseDate("date", date); err != nil {
				return err
			}
			n, err := fundingActivities.parse("activity", activity)
			if err != nil {
				return err
			}
			req.RequestId, req.ContractId, req.Activity = requestID(rid), args[0], fundingv1.ActivityType(n)
			resp, err := c.CorrectLine(ctx, &req)
			if err != nil {
				return err
			}
			return printResult(cmd, f, resp, resp.GetResult(), false)
		})
	return required(cmd, "learner", "date", "corrects", "line-id", "activity", "reason")
}

func newFundingGroupHoursCmd() *cobra.Command {
	var rid, date string
	var req fundingv1.ReportGroupHoursRequest
	cmd := fundingCommand("group-hours CONTRACT_ID", "Report a group hour line: a group session's minutes and attendees (the contract's operator)",
		"  avenir funding group-hours $contract --group-session G-12 --line-id G-12-1103 --date 2026-11-03 --minutes 180 \\\n"+
			"      --trainer \"C. Martin\" --attendees $a,$b",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.StringVar(&req.GroupSessionId, "group-session", "", "the operator's id of the group session")
			fs.StringVar(&req.OperatorLineId, "line-id", "", "the operator's id of the line, unique in the contract")
			fs.StringVar(&date, "date", "", "the day")
			fs.Int32Var(&req.Minutes, "minutes", 0, "minutes of the session that day")
			fs.StringVar(&req.Trainer, "trainer", "", "the trainer")
			fs.StringSliceVar(&req.AttendeeLearnerIds, "attendees", nil, "the learners present, comma-separated")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if req.Date, err = parseDate("date", date); err != nil {
				return err
			}
			req.RequestId, req.ContractId = requestID(rid), args[0]
			resp, err := c.ReportGroupHours(ctx, &req)
			if err != nil {
				return err
			}
			return printResult(cmd, f, resp, resp.GetResult(), resp.GetBudgetWarning())
		})
	return required(cmd, "group-session", "line-id", "date", "minutes", "trainer", "attendees")
}

func newFundingFeeCmd() *cobra.Command {
	var rid, kind string
	var req fundingv1.ClaimFlatFeeRequest
	cmd := fundingCommand("claim-fee CONTRACT_ID LEARNER_ID", "Claim a flat fee (forfait), matched to its triggering fact (the contract's operator)",
		"  avenir funding claim-fee $contract $learner --type needs-analysis-completed --line-id F-0001\n"+
			"  avenir funding claim-fee $contract $learner --type custom:MOBILITY --evidence \"convention 2026-114\" --line-id F-0002",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.StringVar(&kind, "type", "", "fee type: "+fundingFeeTypes.names()+" (custom as custom:CODE)")
			fs.StringVar(&req.EvidenceReference, "evidence", "", "the operator's evidence (required for custom fees)")
			fs.StringVar(&req.OperatorLineId, "line-id", "", "the operator's id of the claim, unique in the contract")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			if code, custom := strings.CutPrefix(kind, "custom:"); custom {
				req.FeeType, req.CustomCode = fundingv1.FeeType_FEE_TYPE_CUSTOM, code
			} else {
				n, err := fundingFeeTypes.parse("type", kind)
				if err != nil {
					return err
				}
				req.FeeType = fundingv1.FeeType(n)
			}
			req.RequestId, req.ContractId, req.LearnerId = requestID(rid), args[0], args[1]
			resp, err := c.ClaimFlatFee(ctx, &req)
			if err != nil {
				return err
			}
			return printResult(cmd, f, resp, resp.GetResult(), resp.GetBudgetWarning())
		})
	return required(cmd, "type", "line-id")
}

// printResult prints the fate of one line.
func printResult(cmd *cobra.Command, f *clientFlags, resp proto.Message, r *fundingv1.LineResult, warning bool) error {
	fate := "accepted"
	switch {
	case r.GetAlreadyReported():
		fate = "accepted (already reported)"
	case !r.GetAccepted():
		fate = "rejected: " + fundingRejections.name(r.GetReason().Number())
	}
	rows := []field{{"LINE", r.GetOperatorLineId()}, {"RESULT", fate}, {"DETAIL", r.GetDetail()}}
	if r.GetAccepted() {
		late := ""
		if r.GetLate() {
			late = " (late)"
		}
		rows = append(rows, field{"BILLED IN", periodString(r.GetBillingPeriod()) + late}, field{"AMOUNT", euros(r.GetAmountCents())})
	}
	if warning {
		rows = append(rows, field{"BUDGET", "80 % of the contract year's envelope reached"})
	}
	if err := f.print(cmd.OutOrStdout(), resp, rows); err != nil {
		return err
	}
	if !r.GetAccepted() && f.output != "json" {
		return errRejected
	}
	return nil
}

// errRejected makes a rejected line exit 1, after its explanation.
var errRejected = errors.New("the line was rejected")

// parsePeriod reads a YYYY-MM flag.
func parsePeriod(flag, value string) (*commonv1.Month, error) {
	m, err := civil.ParseMonth(value)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %q is not a month YYYY-MM", flag, value)}
	}
	return &commonv1.Month{Year: int32(m.Year), Month: int32(m.Month)}, nil
}

func newFundingStatementsGetCmd() *cobra.Command {
	var req fundingv1.GetStatementRequest
	var month string
	cmd := fundingCommand("get CONTRACT_ID --period YYYY-MM", "Show a monthly statement: totals per unit, anomalies, lines (funders, admins, its operator)",
		"  avenir funding statements get $contract --period 2026-11 --page-size 100",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&month, "period", "", "the month, YYYY-MM")
			fs.Int32Var(&req.PageSize, "page-size", 50, "lines per page, 0 for the totals only")
			fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if req.Period, err = parsePeriod("period", month); err != nil {
				return err
			}
			req.ContractId = args[0]
			resp, err := c.GetStatement(ctx, &req)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.print(cmd.OutOrStdout(), resp, nil)
			}
			if err := f.print(cmd.OutOrStdout(), resp.GetStatement(), statementRows(resp.GetStatement())); err != nil {
				return err
			}
			if len(resp.GetStatement().GetLines()) == 0 {
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return listTable(cmd.OutOrStdout(), statementLineRows(resp.GetStatement().GetLines()), resp.GetNextPageToken())
		})
	return required(cmd, "period")
}

func newFundingStatementsReviewCmd() *cobra.Command {
	var rid, month string
	var approve, reject []string
	cmd := fundingCommand("review CONTRACT_ID --period YYYY-MM", "Approve or reject lines of an open statement (funders)",
		"  avenir funding statements review $contract --period 2026-11 --approve trainee-hour/L-0007 \\\n"+
			"      --reject trainee-hour/L-0009=\"learner absent that day\"",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.StringVar(&month, "period", "", "the month, YYYY-MM")
			fs.StringArrayVar(&approve, "approve", nil, "UNIT/LINE_ID to bill (an anomaly becomes billed), repeatable; UNIT: "+fundingUnits.names())
			fs.StringArrayVar(&reject, "reject", nil, "UNIT/LINE_ID=REASON not to bill, repeatable")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := parsePeriod("period", month)
			if err != nil {
				return err
			}
			req := &fundingv1.ReviewStatementRequest{RequestId: requestID(rid), ContractId: args[0], Period: p}
			for _, a := range approve {
				r, err := lineReview("approve", a, true)
				if err != nil {
					return err
				}
				req.Reviews = append(req.Reviews, r)
			}
			for _, a := range reject {
				target, reason, ok := strings.Cut(a, "=")
				if !ok {
					return usageError{fmt.Errorf("--reject: %q is not UNIT/LINE_ID=REASON", a)}
				}
				r, err := lineReview("reject", target, false)
				if err != nil {
					return err
				}
				r.Reason = reason
				req.Reviews = append(req.Reviews, r)
			}
			if len(req.Reviews) == 0 {
				return usageError{errors.New("give at least one --approve or --reject")}
			}
			resp, err := c.ReviewStatement(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetStatement(), statementRows(resp.GetStatement()))
		})
	return required(cmd, "period")
}

func lineReview(flag, value string, approved bool) (*fundingv1.LineReview, error) {
	unit, id, ok := strings.Cut(value, "/")
	if !ok || id == "" {
		return nil, usageError{fmt.Errorf("--%s: %q is not UNIT/LINE_ID", flag, value)}
	}
	n, err := fundingUnits.parse(flag, unit)
	if err != nil {
		return nil, err
	}
	return &fundingv1.LineReview{Unit: fundingv1.Unit(n), OperatorLineId: id, Approved: approved}, nil
}

func newFundingStatementsCloseCmd() *cobra.Command {
	var rid, month string
	cmd := fundingCommand("close CONTRACT_ID --period YYYY-MM", "Close a statement: its period is locked, later lines go to the next one, flagged late (funders)",
		"  avenir funding statements close $contract --period 2026-11",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.StringVar(&month, "period", "", "the month, YYYY-MM")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := parsePeriod("period", month)
			if err != nil {
				return err
			}
			resp, err := c.CloseStatement(ctx, &fundingv1.CloseStatementRequest{RequestId: requestID(rid), ContractId: args[0], Period: p})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetStatement(), statementRows(resp.GetStatement()))
		})
	return required(cmd, "period")
}

func newFundingStatementsExportCmd() *cobra.Command {
	var month, out string
	cmd := fundingCommand("export CONTRACT_ID --period YYYY-MM", "Export a statement as CSV: one row per billed line, ';'-separated, UTF-8, then the total",
		"  avenir funding statements export $contract --period 2026-11 --out releve-2026-11.csv",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&month, "period", "", "the month, YYYY-MM")
			fs.StringVar(&out, "out", "", "file to write (default: standard output)")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := parsePeriod("period", month)
			if err != nil {
				return err
			}
			resp, err := c.ExportStatement(ctx, &fundingv1.ExportStatementRequest{ContractId: args[0], Period: p})
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(resp.GetCsv())
				return err
			}
			if err := os.WriteFile(out, resp.GetCsv(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d bytes, total %s\n", out, len(resp.GetCsv()), euros(resp.GetTotals().GetAmountCents()))
			return nil
		})
	return required(cmd, "period")
}

func newFundingBudgetCmd() *cobra.Command {
	var year int32
	return fundingCommand("budget CONTRACT_ID", "A contract year's consumption against its envelope, with the forecast (funders, admins, its operator)",
		"  avenir funding budget $contract\n  avenir funding budget $contract --year 2",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.Int32Var(&year, "year", 0, "contract year, from 1 (default: the year containing today)")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			resp, err := c.GetBudget(ctx, &fundingv1.GetBudgetRequest{ContractId: args[0], ContractYear: year})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetBudget(), budgetRows(resp.GetBudget()))
		})
}

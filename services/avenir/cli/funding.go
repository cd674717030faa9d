package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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
	fundingAnomalies  = enumFlag{fundingv1.AnomalyReason(0).Descriptor(), "ANOMALY_REASON_"}
	fundingProgrammes = enumFlag{commonv1.FundingProgramme(0).Descriptor(), "FUNDING_PROGRAMME_"}
	statementStatuses = enumFlag{fundingv1.StatementStatus(0).Descriptor(), "STATEMENT_STATUS_"}
	feeClaimStates    = enumFlag{fundingv1.FeeClaimState(0).Descriptor(), "FEE_CLAIM_STATE_"}
)

func newFundingCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "funding", Short: "Funding units: contracts, hour reports, flat fees, monthly statements, budgets (funding)"}
	contracts := &cobra.Command{Use: "contracts", Short: "Create, update and read operators' contracts"}
	contracts.AddCommand(newFundingContractsCreateCmd(), newFundingContractsUpdateCmd(), newFundingContractsGetCmd(), newFundingContractsListCmd())
	hours := &cobra.Command{Use: "hours", Short: "Report trainee hours (one line, or a CSV file) and correct them"}
	hours.AddCommand(newFundingHoursImportCmd(), newFundingHoursReportCmd(), newFundingHoursCorrectCmd())
	statements := &cobra.Command{Use: "statements", Short: "Read, review, close and export monthly statements"}
	statements.AddCommand(newFundingStatementsGetCmd(), newFundingStatementsListCmd(), newFundingStatementsReviewCmd(), newFundingStatementsCloseCmd(),
		newFundingStatementsExportCmd())
	programme := &cobra.Command{Use: "programme", Short: "A programme's envelope and target for a year, and its budget across its contracts"}
	programme.AddCommand(newFundingProgrammeSetCmd(), newFundingProgrammeBudgetCmd())
	cmd.AddCommand(contracts, hours, statements, programme, newFundingGroupHoursCmd(), newFundingFeeCmd(), newFundingBudgetCmd(),
		newFundingClaimableCmd())
	return cmd
}

func fundingCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(fundingv1.NewFundingServiceClient, use, short, example, args, setup, run)
}

// termsFlags are the flags of a contract's whole terms.
type termsFlags struct {
	t                   fundingv1.ContractTerms
	from, to, programme string
	fees                []string
}

func (tf *termsFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&tf.t.OperatorId, "operator-id", "", "the training operator paid")
	fs.StringVar(&tf.t.OperatorName, "operator-name", "", "the operator organisation's name, shown to people, such as \"AFPA Normandie\" (optional; an update without it keeps the contract's)")
	fs.StringVar(&tf.t.Reference, "reference", "", "the funder's reference of the contract (marché, lot)")
	addTerritories(fs, &tf.t.TerritoryCodes, "territories of the lot")
	fs.StringVar(&tf.from, "from", "", "first day of the contract, "+dateHelp)
	fs.StringVar(&tf.to, "to", "", "last day of the contract, "+dateHelp)
	fs.Int64Var(&tf.t.TraineeHourRateCents, "trainee-hour-rate-cents", 0, "price of one trainee hour (heure stagiaire), in cents")
	fs.Int64Var(&tf.t.GroupHourRateCents, "group-hour-rate-cents", 0, "price of one group hour (heure groupe), in cents")
	fs.StringArrayVar(&tf.fees, "fee", nil, "a flat fee (forfait) the contract pays, TYPE=CENTS, repeatable; TYPE: "+
		fundingFeeTypes.names()+" (custom as custom:CODE)")
	fs.Int64Var(&tf.t.AnnualEnvelopeCents, "envelope-cents", 0, "budget envelope per contract year, in cents")
	fs.Int32Var(&tf.t.DailyCapMinutes, "daily-cap-minutes", 0, "maximum trainee minutes per learner per day (default 420)")
	fs.Int32Var(&tf.t.WeeklyCapMinutes, "weekly-cap-minutes", 0, "maximum trainee minutes per learner per ISO week (default 2100)")
	fs.Int32Var(&tf.t.MaxGroupSize, "max-group-size", 0, "maximum attendees of a group hour")
	fs.StringVar(&tf.programme, "programme", "", "the programme paying the contract: "+fundingProgrammes.names()+" (an update without it keeps the contract's)")
}

var termsRequired = []string{"operator-id", "reference", "territory", "from", "to", "max-group-size"}

func (tf *termsFlags) terms() (*fundingv1.ContractTerms, error) {
	var err error
	tf.t.TerritoryCodes = territories(tf.t.TerritoryCodes)
	if tf.t.PeriodFrom, err = parseDate("from", tf.from); err != nil {
		return nil, err
	}
	if tf.t.PeriodTo, err = parseDate("to", tf.to); err != nil {
		return nil, err
	}
	programme, err := fundingProgrammes.optional("programme", tf.programme)
	if err != nil {
		return nil, err
	}
	tf.t.Programme = commonv1.FundingProgramme(programme)
	tf.t.FlatFees = nil
	for _, fee := range tf.fees {
		kind, cents, ok := strings.Cut(fee, "=")
		amount, err := strconv.ParseInt(cents, 10, 64)
		if !ok || err != nil {
			return nil, usageError{fmt.Errorf("--fee: %q is not TYPE=CENTS", fee)}
		}
		rate := &fundingv1.FlatFeeRate{AmountCents: amount}
		if rate.FeeType, rate.CustomCode, err = parseFeeType("fee", kind); err != nil {
			return nil, err
		}
		tf.t.FlatFees = append(tf.t.FlatFees, rate)
	}
	return &tf.t, nil
}

// parseFeeType reads a fee type: a name, or custom:CODE.
func parseFeeType(flag, value string) (fundingv1.FeeType, string, error) {
	if code, custom := strings.CutPrefix(value, "custom:"); custom {
		return fundingv1.FeeType_FEE_TYPE_CUSTOM, code, nil
	}
	n, err := fundingFeeTypes.parse(flag, value)
	return fundingv1.FeeType(n), "", err
}

// feeTypeString spells a fee type as parseFeeType reads it.
func feeTypeString(t fundingv1.FeeType, customCode string) string {
	if t == fundingv1.FeeType_FEE_TYPE_CUSTOM {
		return "custom:" + customCode
	}
	return fundingFeeTypes.name(t.Number())
}

func newFundingContractsCreateCmd() *cobra.Command {
	var tf termsFlags
	var rid string
	cmd := fundingCommand("create", "Create an operator's contract: lot, period, rates, envelope, caps (admins)",
		"  avenir funding contracts create --operator-id op-evreux --operator-name \"AFPA Normandie\" --reference \"Lot 5 Eure\" --territory T05 \\\n"+
			"      --from 2026-01-01 --to 2027-12-31 --trainee-hour-rate-cents 1250 --group-hour-rate-cents 4500 \\\n"+
			"      --fee needs-analysis-completed=15000 --fee immersion-completed=20000 --envelope-cents 120000000 --max-group-size 12 \\\n"+
			"      --programme avenir",
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
	return required(cmd, append(slices.Clip(termsRequired), "programme")...)
}

func newFundingContractsUpdateCmd() *cobra.Command {
	var tf termsFlags
	var rid, reason string
	cmd := fundingCommand("update CONTRACT_ID", "Replace a contract's whole terms; operator and start stay (admins)",
		"  avenir funding contracts update $contract --operator-id op-evreux --reference \"Lot 5 Eure\" --territory T05 \\\n"+
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
	var codes []string
	var activeOn string
	cmd := fundingCommand("list", "List contracts (operators: their own)",
		"  avenir funding contracts list --territory T05 --active-on today\n"+
			"  avenir funding contracts list --territory T05 --territory T14 -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.OperatorId, "operator-id", "", "only this operator's")
			addTerritories(fs, &codes, "only those covering these territories")
			fs.StringVar(&activeOn, "active-on", "", "only those whose period contains this day, "+dateHelp)
			addPage(fs, &req.PageSize, &req.PageToken, "contracts")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if req.ActiveOn, err = optionalDate("active-on", activeOn); err != nil {
				return err
			}
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*fundingv1.ListContractsResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.ListContracts(ctx, r)
				},
				func(w io.Writer, answers []territoryAnswer[*fundingv1.ListContractsResponse]) error {
					return listAnswers(w, answers, contractListHeader, contractListRows, (*fundingv1.ListContractsResponse).GetNextPageToken)
				})
		})
	cmd.Long = "List contracts, by id: operators see their own. With several territories, each is listed in\n" +
		"turn and the contracts shown together, a contract covering several of them once."
	return cmd
}

// hoursColumns are the columns of a trainee-hours CSV file, in order.
var hoursColumns = []string{"operator_line_id", "learner_id", "date", "minutes", "activity"}

// importChunk is the number of lines sent per message of the stream.
const importChunk = 10_000

func newFundingHoursImportCmd() *cobra.Command {
	var rid string
	var quiet bool
	cmd := fundingCommand("import CONTRACT_ID FILE.csv", "Report a CSV file of trainee hours (the contract's operator)",
		"  avenir funding hours import $contract heures-novembre.csv\n"+
			"  avenir funding hours import $contract heures-novembre.csv --request-id heures-novembre -o json",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			addRequestID(fs, &rid)
			fs.BoolVar(&quiet, "quiet", false, "no progress on standard error")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			return importHours(ctx, cmd, args[0], args[1], requestID(rid), quiet, c, f)
		})
	cmd.Long = "Report a CSV file of trainee hours. The file is UTF-8, separated by ';' (or ','), with a header\n" +
		"row naming the columns\n  " + strings.Join(hoursColumns, ";") + "\n" +
		"e.g. L-2026-0001;0194f1e2-...;2026-11-03;210;face-to-face. Activities: " + fundingActivities.names() + ".\n\n" +
		"Each line is read by itself: a line that cannot be read (a stray quote, a bad date, too few\n" +
		"fields) is rejected with its line number, unread, and never runs into the next lines. Blank\n" +
		"lines are skipped. The other lines are streamed in chunks of 10,000; the service accepts or\n" +
		"refuses each. The summary accounts for every line of the file:\n" +
		"  lines read = 1 header + blank lines skipped + lines accepted + lines rejected (unreadable or refused)\n" +
		"then lists every rejected line by its line number. With -o json, the service's answer comes with\n" +
		"lines_read, blank_lines, unreadable_lines ([{line, problem}]) and the line of each rejected line.\n" +
		"The command exits 1 when any line was rejected, after printing everything.\n\n" +
		"Importing the same file again with the same --request-id changes nothing and answers the same."
	return cmd
}

// importSummary is what became of every line of a file.
type importSummary struct {
	linesRead  int // every line of the file, the header included
	blank      int
	unreadable []unreadLine
	sent       []int // the line number of each line sent, by stream index
	resp       *fundingv1.ReportTraineeHoursStreamResponse
}

// unreadLine is a line of the file that could not be read, and why.
type unreadLine struct {
	Line    int    `json:"line"`
	Problem string `json:"problem"`
}

// importHours reads the file, streams its lines and prints the summary.
func importHours(ctx context.Context, cmd *cobra.Command, contractID, path, rid string, quiet bool, c fundingv1.FundingServiceClient, f *clientFlags) error {
	total, err := countLines(path)
	if err != nil {
		return usageError{err}
	}
	file, err := os.Open(path)
	if err != nil {
		return usageError{err}
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
		sum   importSummary
		chunk []*fundingv1.ReportedLine
		send  = func() error {
			if len(chunk) == 0 {
				return nil
			}
			err := stream.Send(&fundingv1.ReportTraineeHoursStreamRequest{RequestId: rid, ContractId: contractID, Lines: chunk})
			chunk = nil
			return err
		}
	)
	for {
		row, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		switch {
		case row.blank:
			sum.blank++
		case row.problem != "":
			sum.unreadable = append(sum.unreadable, unreadLine{Line: row.number, Problem: row.problem})
		default:
			sum.sent = append(sum.sent, row.number)
			chunk = append(chunk, row.line)
		}
		progress.add(1)
		if len(chunk) == importChunk {
			if err := send(); err != nil {
				return streamError(stream, err)
			}
		}
	}
	sum.linesRead = r.line
	if err := send(); err != nil {
		return streamError(stream, err)
	}
	if sum.resp, err = stream.CloseAndRecv(); err != nil {
		return err
	}
	progress.done()
	if f.output == "json" {
		err = sum.printJSON(cmd.OutOrStdout())
	} else {
		err = sum.printTable(cmd.OutOrStdout())
	}
	if err != nil {
		return err
	}
	return sum.err()
}

// unanswered is the number of lines sent that the answer does not count
// (negative when it counts more).
func (s *importSummary) unanswered() int {
	return len(s.sent) - int(s.resp.GetAccepted()) - int(s.resp.GetRejected())
}

// mismatch says how the answer's count differs from the lines sent.
func (s *importSummary) mismatch() string {
	return fmt.Sprintf("the answer counts %d lines, %d were sent", s.resp.GetAccepted()+s.resp.GetRejected(), len(s.sent))
}

// err says what was not accepted, if anything.
func (s *importSummary) err() error {
	rejected := len(s.unreadable) + int(s.resp.GetRejected())
	if rejected == 0 && s.unanswered() == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d lines of hours rejected (%d unreadable, %d refused)",
		rejected, len(s.sent)+len(s.unreadable), len(s.unreadable), s.resp.GetRejected())
	if s.unanswered() != 0 {
		msg += "; " + s.mismatch()
	}
	return errors.New(msg)
}

// lineOf is the line number in the file of the line sent at index i.
func (s *importSummary) lineOf(i int32) (int, bool) {
	if i < 0 || int(i) >= len(s.sent) {
		return 0, false
	}
	return s.sent[i], true
}

func (s *importSummary) printTable(w io.Writer) error {
	resp := s.resp
	fmt.Fprintf(w, "%d lines read: 1 header, %d blank (skipped), %d accepted (%s), %d rejected (%d unreadable, %d refused)\n",
		s.linesRead, s.blank, resp.GetAccepted(), euros(resp.GetAcceptedAmountCents()),
		len(s.unreadable)+int(resp.GetRejected()), len(s.unreadable), resp.GetRejected())
	if s.unanswered() != 0 {
		fmt.Fprintln(w, s.mismatch()+" (a file changed since its first import under the same --request-id?)")
	}
	if resp.GetBudgetWarning() {
		fmt.Fprintln(w, "budget: the contract year's consumption reached 80 % of its envelope")
	}
	// Every rejected line, in the order of the file.
	type rejection struct {
		line int
		text string
	}
	var all []rejection
	for _, u := range s.unreadable {
		all = append(all, rejection{u.Line, fmt.Sprintf("line %d: unreadable: %s", u.Line, u.Problem)})
	}
	for _, rej := range resp.GetRejectedLines() {
		n, ok := s.lineOf(rej.GetIndex())
		where := "line ?"
		if ok {
			where = "line " + strconv.Itoa(n)
		}
		all = append(all, rejection{n, fmt.Sprintf("%s (%s): refused: %s: %s", where, rej.GetOperatorLineId(),
			fundingRejections.name(rej.GetReason().Number()), rej.GetDetail())})
	}
	slices.SortStableFunc(all, func(a, b rejection) int { return a.line - b.line })
	for _, r := range all {
		fmt.Fprintln(w, r.text)
	}
	if resp.GetRejectedTruncated() {
		fmt.Fprintln(w, "(more refused lines than listed: report the file in parts to see them all)")
	}
	return nil
}

// printJSON writes the service's answer (its counts even when zero), each
// rejected line with its line number in the file, and what became of the
// lines never sent.
func (s *importSummary) printJSON(w io.Writer) error {
	b, err := protoJSON(s.resp)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	rejected := []any{}
	if lines, ok := doc["rejected_lines"].([]any); ok {
		rejected = lines
	}
	for i, rej := range s.resp.GetRejectedLines() {
		if n, ok := s.lineOf(rej.GetIndex()); ok {
			rejected[i].(map[string]any)["line"] = n
		}
	}
	doc["rejected_lines"] = rejected
	doc["accepted"] = s.resp.GetAccepted()
	doc["rejected"] = s.resp.GetRejected()
	doc["accepted_amount_cents"] = strconv.FormatInt(s.resp.GetAcceptedAmountCents(), 10) // as protojson spells an int64
	doc["lines_read"] = s.linesRead
	doc["header_lines"] = 1
	doc["blank_lines"] = s.blank
	doc["unreadable_lines"] = append([]unreadLine{}, s.unreadable...)
	doc["unanswered_lines"] = s.unanswered()
	return writeJSON(w, doc)
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
	n, last := 0, byte('\n')
	buf := make([]byte, 64*1024)
	for {
		k, err := file.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte{'\n'})
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++ // a last line without its newline
	}
	return n, nil
}

// maxLineBytes bounds a line of a trainee-hours file; a longer line is
// unreadable.
const maxLineBytes = 64 * 1024

// hoursReader reads a trainee-hours CSV file line by line: each line is
// parsed by itself, so that a quote left open on one line cannot swallow
// the next ones (trainee-hour fields never hold a line break).
type hoursReader struct {
	r     *bufio.Reader
	comma rune
	col   map[string]int
	need  int // fields a line needs to hold every column
	line  int // number of the last line read
}

// hoursRow is a line of the file after the header: blank, unreadable
// (problem says why) or read.
type hoursRow struct {
	number  int
	blank   bool
	problem string
	line    *fundingv1.ReportedLine
}

func newHoursReader(in io.Reader) (*hoursReader, error) {
	h := &hoursReader{r: bufio.NewReaderSize(in, 64*1024), comma: ';'}
	head, tooLong, err := h.readLine()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("no header row: the file is empty")
	}
	if err != nil {
		return nil, err
	}
	if tooLong {
		return nil, fmt.Errorf("the header row is longer than %d bytes", maxLineBytes)
	}
	head = strings.TrimPrefix(head, "\ufeff")
	if !strings.Contains(head, ";") && strings.Contains(head, ",") {
		h.comma = ','
	}
	header, err := h.fields(head)
	if err != nil {
		return nil, fmt.Errorf("header row: %w", err)
	}
	h.col = map[string]int{}
	for i, name := range header {
		h.col[strings.ToLower(strings.TrimSpace(name))] = i
	}
	var missing []string
	for _, c := range hoursColumns {
		i, ok := h.col[c]
		if !ok {
			missing = append(missing, c)
		}
		h.need = max(h.need, i+1)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the header row lacks %s (columns: %s)", strings.Join(missing, ", "), strings.Join(hoursColumns, ";"))
	}
	return h, nil
}

// readLine reads the next line without its line break; a line longer
// than maxLineBytes is read to its end but kept cut, and tooLong says so.
func (h *hoursReader) readLine() (line string, tooLong bool, err error) {
	var buf []byte
	read := false
	for {
		chunk, err := h.r.ReadSlice('\n')
		read = read || len(chunk) > 0
		if room := maxLineBytes + 2 - len(buf); len(chunk) > room {
			buf, tooLong = append(buf, chunk[:max(room, 0)]...), true
		} else {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && read {
			break
		}
		if err != nil {
			return "", false, err
		}
		break
	}
	h.line++
	line = strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
	return line, tooLong || len(line) > maxLineBytes, nil
}

// fields splits one line into its fields (quotes as in RFC 4180).
func (h *hoursReader) fields(line string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.Comma, r.FieldsPerRecord = h.comma, -1
	rec, err := r.Read()
	var perr *csv.ParseError
	switch {
	case errors.As(err, &perr) && errors.Is(perr.Err, csv.ErrBareQuote):
		return nil, fmt.Errorf("a stray quote (\") at column %d, in a field not quoted: quote the whole field and double the quotes within", perr.Column)
	case errors.As(err, &perr) && errors.Is(perr.Err, csv.ErrQuote):
		return nil, fmt.Errorf("a quote (\") at column %d is left open, or a quoted field goes on after its closing quote", perr.Column)
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return rec, nil
}

// next reads the next line, or answers io.EOF.
func (h *hoursReader) next() (hoursRow, error) {
	text, tooLong, err := h.readLine()
	if err != nil {
		return hoursRow{}, err
	}
	row := hoursRow{number: h.line}
	if tooLong {
		row.problem = fmt.Sprintf("longer than %d bytes", maxLineBytes)
		return row, nil
	}
	rec, err := h.fields(text)
	if err != nil {
		row.problem = err.Error()
		return row, nil
	}
	if strings.TrimSpace(strings.Join(rec, "")) == "" {
		row.blank = true
		return row, nil
	}
	if len(rec) < h.need {
		row.problem = fmt.Sprintf("%d fields, where the header row needs %d", len(rec), h.need)
		return row, nil
	}
	field := func(name string) string { return strings.TrimSpace(rec[h.col[name]]) }
	line := &fundingv1.ReportedLine{OperatorLineId: field("operator_line_id"), LearnerId: field("learner_id")}
	d, err := civil.Parse(field("date"))
	if err != nil {
		row.problem = fmt.Sprintf("date %q is not YYYY-MM-DD", field("date"))
		return row, nil
	}
	line.Date = civilpb.FromDate(d)
	minutes, err := strconv.ParseInt(field("minutes"), 10, 32)
	if err != nil {
		row.problem = fmt.Sprintf("minutes %q is not a whole number", field("minutes"))
		return row, nil
	}
	line.Minutes = int32(minutes)
	activity, err := fundingActivities.parse("activity", field("activity"))
	if err != nil {
		row.problem = fmt.Sprintf("activity %q is not one of %s", field("activity"), fundingActivities.names())
		return row, nil
	}
	line.Activity = fundingv1.ActivityType(activity)
	row.line = line
	return row, nil
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
			fs.StringVar(&date, "date", "", "the day, "+dateHelp)
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
			fs.StringVar(&date, "date", "", "the date of the line corrected, "+dateHelp)
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
			fs.StringVar(&date, "date", "", "the day, "+dateHelp)
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
			var err error
			if req.FeeType, req.CustomCode, err = parseFeeType("type", kind); err != nil {
				return err
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
		rows = append(rows, field{"BILLED IN", monthString(r.GetBillingPeriod()) + late}, field{"AMOUNT", euros(r.GetAmountCents())})
	}
	if warning {
		rows = append(rows, field{"BUDGET", "80 % of the contract year's envelope reached"})
	}
	if err := f.print(cmd.OutOrStdout(), resp, rows); err != nil {
		return err
	}
	if !r.GetAccepted() {
		// Printed in full (table or JSON) first; the exit status says it too.
		return fmt.Errorf("line %s rejected: %s", r.GetOperatorLineId(), fundingRejections.name(r.GetReason().Number()))
	}
	return nil
}

func newFundingStatementsGetCmd() *cobra.Command {
	var req fundingv1.GetStatementRequest
	var month string
	cmd := fundingCommand("get CONTRACT_ID --period YYYY-MM", "Show a monthly statement: totals per unit, anomalies, lines (funders, admins, its operator)",
		"  avenir funding statements get $contract --period 2026-11 --page-size 100",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&month, "period", "", "the month of the statement, YYYY-MM")
			fs.Int32Var(&req.PageSize, "page-size", 50, "lines per page, 0 for the totals only")
			fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if req.Period, err = parseMonth("period", month); err != nil {
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
			var ids []string
			for _, l := range resp.GetStatement().GetLines() {
				if l.GetGroupSessionId() == "" {
					ids = append(ids, l.GetLearnerId())
				}
			}
			return listTable(cmd.OutOrStdout(), statementLineRows(resp.GetStatement().GetLines(), f.learnerNames(ctx, ids...)), resp.GetNextPageToken())
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
			fs.StringVar(&month, "period", "", "the month of the statement, YYYY-MM")
			fs.StringArrayVar(&approve, "approve", nil, "UNIT/LINE_ID to bill (an anomaly becomes billed), repeatable; UNIT: "+fundingUnits.names())
			fs.StringArrayVar(&reject, "reject", nil, "UNIT/LINE_ID=REASON not to bill, repeatable")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := parseMonth("period", month)
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
			fs.StringVar(&month, "period", "", "the month of the statement, YYYY-MM")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := parseMonth("period", month)
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
			fs.StringVar(&month, "period", "", "the month of the statement, YYYY-MM")
			fs.StringVar(&out, "out", "", "file to write (default: standard output)")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := parseMonth("period", month)
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

func newFundingStatementsListCmd() *cobra.Command {
	var req fundingv1.ListStatementsRequest
	var month, status, programme string
	var codes []string
	cmd := fundingCommand("list --period YYYY-MM", "The month's statements across contracts, with their totals (funders, admins; operators their own)",
		"  avenir funding statements list --period 2026-11\n"+
			"  avenir funding statements list --period 2026-11 --status open --programme avenir --territory T05 --territory T14\n"+
			"  avenir funding statements list --period 2026-11 --operator op-evreux -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&month, "period", "", "the month, YYYY-MM")
			fs.StringVar(&status, "status", "", "only statements "+statementStatuses.names())
			fs.StringVar(&req.OperatorId, "operator", "", "only this operator's contracts (operators: always their own)")
			addTerritories(fs, &codes, "only contracts whose lot covers these territories")
			fs.StringVar(&programme, "programme", "", "only contracts of this programme: "+fundingProgrammes.names())
			fs.Int32Var(&req.PageSize, "page-size", 0, "statements per page (default 100, at most 500)")
			fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			var err error
			if req.Period, err = parseMonth("period", month); err != nil {
				return err
			}
			st, err := statementStatuses.optional("status", status)
			if err != nil {
				return err
			}
			p, err := fundingProgrammes.optional("programme", programme)
			if err != nil {
				return err
			}
			req.Status, req.Programme = fundingv1.StatementStatus(st), commonv1.FundingProgramme(p)
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*fundingv1.ListStatementsResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.ListStatements(ctx, r)
				},
				statementsTable)
		})
	cmd.Long = "The month's statements of every contract whose period meets it, empty ones included, by operator then\n" +
		"contract reference, then the totals of every statement matching the filters (all pages). With several\n" +
		"territories, each is asked in turn: a contract covering several of them is listed once, and each\n" +
		"territory's totals are given."
	return required(cmd, "period")
}

func newFundingProgrammeSetCmd() *cobra.Command {
	var req fundingv1.SetProgrammeYearRequest
	var rid, programme string
	cmd := fundingCommand("set --programme P --year YYYY", "Set a programme's envelope and beneficiaries target for a calendar year (admins)",
		"  avenir funding programme set --programme avenir --year 2027 --envelope-cents 3300000000 --target 4500 --reason \"vote du budget primitif\"",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&programme, "programme", "", "the programme: "+fundingProgrammes.names())
			fs.Int32Var(&req.Year, "year", 0, "the calendar year")
			fs.Int64Var(&req.EnvelopeCents, "envelope-cents", 0, "the year's budget across the programme's contracts, in cents (excluding trainees' pay)")
			fs.Int32Var(&req.BeneficiariesTarget, "target", 0, "distinct beneficiaries aimed at in the year")
			fs.StringVar(&req.Reason, "reason", "", "why")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := fundingProgrammes.parse("programme", programme)
			if err != nil {
				return err
			}
			req.RequestId, req.Programme = requestID(rid), commonv1.FundingProgramme(p)
			resp, err := c.SetProgrammeYear(ctx, &req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetProgrammeYear(), programmeYearRows(resp.GetProgrammeYear()))
		})
	return required(cmd, "programme", "year", "envelope-cents", "target", "reason")
}

func newFundingProgrammeBudgetCmd() *cobra.Command {
	var year int32
	var programme string
	cmd := fundingCommand("budget --programme P", "A programme's consumption in a year across its contracts, month by month, against its envelope (funders, admins)",
		"  avenir funding programme budget --programme avenir\n  avenir funding programme budget --programme action --year 2025 -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&programme, "programme", "", "the programme: "+fundingProgrammes.names())
			fs.Int32Var(&year, "year", 0, "the calendar year (default: the current one)")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			p, err := fundingProgrammes.parse("programme", programme)
			if err != nil {
				return err
			}
			resp, err := c.GetProgrammeBudget(ctx, &fundingv1.GetProgrammeBudgetRequest{Programme: commonv1.FundingProgramme(p), Year: year})
			if err != nil {
				return err
			}
			b := resp.GetBudget()
			if err := f.print(cmd.OutOrStdout(), resp, programmeBudgetRows(b)); err != nil || f.output == "json" || len(b.GetMonths()) == 0 {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return listTable(cmd.OutOrStdout(), programmeMonthRows(b), "")
		})
	return required(cmd, "programme")
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

func newFundingClaimableCmd() *cobra.Command {
	var req fundingv1.ListClaimableFeesRequest
	cmd := fundingCommand("claimable CONTRACT_ID", "The facts that can pay the contract's flat fees and where each stands (funders, admins, its operator)",
		"  avenir funding claimable $contract\n"+
			"  avenir funding claimable $contract --learner-id $learner -o json",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&req.LearnerId, "learner-id", "", "only this learner's facts")
			fs.Int32Var(&req.PageSize, "page-size", 0, "facts per page (default 200, at most 1000)")
			fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c fundingv1.FundingServiceClient, f *clientFlags) error {
			req.ContractId = args[0]
			resp, err := c.ListClaimableFees(ctx, &req)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.print(cmd.OutOrStdout(), resp, nil)
			}
			var ids []string
			for _, fee := range resp.GetFees() {
				ids = append(ids, fee.GetLearnerId())
			}
			return listTable(cmd.OutOrStdout(), claimableRows(resp.GetFees(), f.learnerNames(ctx, ids...)), resp.GetNextPageToken())
		})
	cmd.Long = "For the learners ever enrolled with the contract, each fact that can pay one of its standard flat fees\n" +
		"(analysis completed, immersion, exit), its date and the contract's rate, and its state: CLAIMABLE (NEXT: the\n" +
		"fact a claim-fee of that type takes now), ALREADY_PAID_HERE (with the claim's line id), PAID_ELSEWHERE (under\n" +
		"another contract), NOT_ELIGIBLE (with the reason claim-fee would give)."
	return cmd
}

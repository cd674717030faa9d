package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
)

// euros spells cents as euros with a decimal comma, as French readers
// expect: 123456 is "1 234,56 €".
func euros(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	whole := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune(' ')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s%s,%02d €", sign, b.String(), cents%100)
}

func contractRows(k *fundingv1.Contract) []field {
	t := k.GetTerms()
	var fees []string
	for _, fee := range t.GetFlatFees() {
		fees = append(fees, feeTypeString(fee.GetFeeType(), fee.GetCustomCode())+" "+euros(fee.GetAmountCents()))
	}
	var closed []string
	for _, p := range k.GetClosedPeriods() {
		closed = append(closed, monthString(p))
	}
	return []field{
		{"CONTRACT ID", k.GetContractId()},
		{"OPERATOR", t.GetOperatorId()},
		{"OPERATOR NAME", t.GetOperatorName()},
		{"REFERENCE", t.GetReference()},
		{"TERRITORIES", strings.Join(t.GetTerritoryCodes(), ", ")},
		{"PERIOD", period(t.GetPeriodFrom(), t.GetPeriodTo())},
		{"TRAINEE HOUR", euros(t.GetTraineeHourRateCents())},
		{"GROUP HOUR", euros(t.GetGroupHourRateCents())},
		{"FLAT FEES", strings.Join(fees, "; ")},
		{"ENVELOPE/YEAR", euros(t.GetAnnualEnvelopeCents())},
		{"PROGRAMME", programmeName(t.GetProgramme())},
		{"CAPS", fmt.Sprintf("%d min/day, %d min/week, groups of %d at most", t.GetDailyCapMinutes(), t.GetWeeklyCapMinutes(), t.GetMaxGroupSize())},
		{"CLOSED PERIODS", strings.Join(closed, ", ")},
	}
}

var contractListHeader = []string{"CONTRACT ID", "OPERATOR", "OPERATOR NAME", "REFERENCE", "PROGRAMME", "TERRITORIES", "PERIOD", "TRAINEE HOUR", "GROUP HOUR", "ENVELOPE/YEAR"}

// programmeName spells a contract's programme; contracts made before
// programmes existed have none.
func programmeName(p commonv1.FundingProgramme) string {
	if n := fundingProgrammes.name(p.Number()); n != "" {
		return n
	}
	return "unspecified"
}

// contractListRows is one row per contract listed.
func contractListRows(resp *fundingv1.ListContractsResponse) [][]string {
	var rows [][]string
	for _, k := range resp.GetContracts() {
		t := k.GetTerms()
		rows = append(rows, []string{
			k.GetContractId(), t.GetOperatorId(), t.GetOperatorName(), t.GetReference(), programmeName(t.GetProgramme()), strings.Join(t.GetTerritoryCodes(), ","),
			period(t.GetPeriodFrom(), t.GetPeriodTo()), euros(t.GetTraineeHourRateCents()), euros(t.GetGroupHourRateCents()),
			euros(t.GetAnnualEnvelopeCents()),
		})
	}
	return rows
}

func statementRows(st *fundingv1.Statement) []field {
	t := st.GetTotals()
	status := "open"
	if st.GetClosed() {
		status = "closed on " + dateString(st.GetClosedOn())
	}
	return []field{
		{"STATEMENT", st.GetStatementId()},
		{"CONTRACT", st.GetContractId()},
		{"OPERATOR", st.GetOperatorId()},
		{"PERIOD", monthString(st.GetPeriod())},
		{"STATUS", status},
		{"TRAINEE HOURS", fmt.Sprintf("%s (%d minutes)", euros(t.GetTraineeAmountCents()), t.GetTraineeMinutes())},
		{"GROUP HOURS", fmt.Sprintf("%s (%d minutes)", euros(t.GetGroupAmountCents()), t.GetGroupMinutes())},
		{"FLAT FEES", fmt.Sprintf("%s (%d)", euros(t.GetFlatFeeAmountCents()), t.GetFlatFeeCount())},
		{"TOTAL", euros(t.GetAmountCents())},
		{"ANOMALIES", fmt.Sprintf("%d, %s not billed", t.GetAnomalyCount(), euros(t.GetAnomalyAmountCents()))},
		{"LINES", fmt.Sprint(st.GetLineCount())},
	}
}

// statementLineRows is the header, then one row per line, with the
// learners' names (a group line names none).
func statementLineRows(lines []*fundingv1.StatementLine, names map[string]string) [][]string {
	rows := [][]string{{"UNIT", "LINE ID", "LEARNER/GROUP", "NAME", "DATE", "MINUTES", "FEE", "AMOUNT", "STATUS", "NOTE"}}
	for _, l := range lines {
		who, name := l.GetLearnerId(), names[l.GetLearnerId()]
		if l.GetGroupSessionId() != "" {
			who, name = fmt.Sprintf("%s (%d attendees)", l.GetGroupSessionId(), len(l.GetAttendeeLearnerIds())), ""
		}
		fee := feeTypeString(l.GetFeeType(), l.GetCustomCode())
		var notes []string
		if l.GetLate() {
			notes = append(notes, "late")
		}
		if l.GetCorrectsLineId() != "" {
			notes = append(notes, "corrects "+l.GetCorrectsLineId())
		}
		if l.GetCorrectedByLineId() != "" {
			notes = append(notes, "corrected by "+l.GetCorrectedByLineId())
		}
		if l.GetReversal() {
			notes = append(notes, "reversal")
		}
		if a := fundingAnomalies.name(l.GetAnomaly().Number()); a != "" {
			notes = append(notes, a)
		}
		if l.GetReviewReason() != "" {
			notes = append(notes, l.GetReviewReason())
		}
		minutes := ""
		if l.GetMinutes() != 0 {
			minutes = fmt.Sprint(l.GetMinutes())
		}
		rows = append(rows, []string{
			fundingUnits.name(l.GetUnit().Number()), l.GetOperatorLineId(), who, name, dateString(l.GetDate()), minutes, fee,
			euros(l.GetAmountCents()), fundingStatuses.name(l.GetStatus().Number()), strings.Join(notes, "; "),
		})
	}
	return rows
}

func budgetRows(b *fundingv1.Budget) []field {
	forecast := euros(b.GetForecastCents())
	if over := b.GetForecastOverCents(); over > 0 {
		forecast += ", over the envelope by " + euros(over)
	}
	return []field{
		{"CONTRACT", b.GetContractId()},
		{"CONTRACT YEAR", fmt.Sprintf("%d (%s)", b.GetContractYear(), period(b.GetYearFrom(), b.GetYearTo()))},
		{"ENVELOPE", euros(b.GetEnvelopeCents())},
		{"CONSUMED", fmt.Sprintf("%s (%d %%)", euros(b.GetConsumedCents()), b.GetConsumedPercent())},
		{"FORECAST", forecast},
		{"STATE", budgetState(b.GetExhausted(), b.GetWarning(), b.GetForecastOverCents())},
	}
}

// budgetState says where a budget stands: exhausted, warned, heading over
// its envelope, or within it.
func budgetState(exhausted, warning bool, over int64) string {
	switch {
	case exhausted:
		return "exhausted: new claims are refused until the envelope is raised"
	case warning && over > 0:
		return "warning: 80 % reached; the forecast is over the envelope by " + euros(over)
	case warning:
		return "warning: 80 % reached"
	case over > 0:
		return "the forecast is over the envelope by " + euros(over)
	}
	return "within the envelope"
}

// statementsTable prints the statements of one or several territories'
// answers, each contract once, then each answer's totals.
func statementsTable(w io.Writer, answers []territoryAnswer[*fundingv1.ListStatementsResponse]) error {
	rows := [][]string{{"CONTRACT ID", "OPERATOR", "REFERENCE", "PROGRAMME", "TERRITORIES", "STATUS", "LINES", "ANOMALIES", "REJECTED", "LATE", "TOTAL"}}
	seen := map[string]bool{}
	var tokens, totals []string
	for _, a := range answers {
		for _, s := range a.resp.GetStatements() {
			if seen[s.GetContractId()] {
				continue
			}
			seen[s.GetContractId()] = true
			status := statementStatuses.name(s.GetStatus().Number())
			if s.GetStatus() == fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED {
				status += " on " + dateString(s.GetClosedOn())
			}
			rows = append(rows, []string{
				s.GetContractId(), s.GetOperatorId(), s.GetContractReference(), programmeName(s.GetProgramme()), strings.Join(s.GetTerritoryCodes(), ","),
				status, fmt.Sprint(s.GetLineCount()), fmt.Sprint(s.GetAnomalyCount()), fmt.Sprint(s.GetRejectedCount()), fmt.Sprint(s.GetLateCount()),
				euros(s.GetTotals().GetAmountCents()),
			})
		}
		what := "TOTAL"
		if a.several {
			what += " " + a.code
		}
		t := a.resp.GetTotals()
		count := fmt.Sprintf("%d statements", a.resp.GetStatementCount())
		if a.resp.GetStatementCount() == 1 {
			count = "1 statement"
		}
		totals = append(totals, fmt.Sprintf("%s (%s): %s; trainee hours %s (%d minutes), group hours %s (%d minutes), flat fees %s (%d); anomalies %d, %s not billed",
			what, count, euros(t.GetAmountCents()), euros(t.GetTraineeAmountCents()), t.GetTraineeMinutes(),
			euros(t.GetGroupAmountCents()), t.GetGroupMinutes(), euros(t.GetFlatFeeAmountCents()), t.GetFlatFeeCount(),
			t.GetAnomalyCount(), euros(t.GetAnomalyAmountCents())))
		if tok := a.resp.GetNextPageToken(); tok != "" {
			if a.several {
				tokens = append(tokens, fmt.Sprintf("NEXT PAGE TOKEN (--territory %s): %s", a.code, tok))
			} else {
				tokens = append(tokens, "NEXT PAGE TOKEN: "+tok)
			}
		}
	}
	if err := listTable(w, rows, ""); err != nil {
		return err
	}
	for _, line := range append(totals, tokens...) {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func programmeYearRows(y *fundingv1.ProgrammeYear) []field {
	figures := "set"
	if y.GetSchemeDefault() {
		figures = "the scheme's (never set)"
	}
	return []field{
		{"PROGRAMME", programmeName(y.GetProgramme())},
		{"YEAR", fmt.Sprint(y.GetYear())},
		{"ENVELOPE", euros(y.GetEnvelopeCents())},
		{"TARGET", fmt.Sprintf("%d beneficiaries", y.GetBeneficiariesTarget())},
		{"FIGURES", figures},
	}
}

func programmeBudgetRows(b *fundingv1.ProgrammeBudget) []field {
	forecast := euros(b.GetForecastCents())
	if over := b.GetForecastOverCents(); over > 0 {
		forecast += ", over the envelope by " + euros(over)
	}
	return append(programmeYearRows(b.GetProgrammeYear()),
		field{"CONTRACTS", fmt.Sprint(b.GetContractCount())},
		field{"CONSUMED", fmt.Sprintf("%s (%d %%)", euros(b.GetConsumedCents()), b.GetConsumedPercent())},
		field{"FORECAST", forecast},
		field{"STATE", budgetState(false, b.GetWarning(), b.GetForecastOverCents())},
	)
}

func programmeMonthRows(b *fundingv1.ProgrammeBudget) [][]string {
	rows := [][]string{{"MONTH", "BILLED"}}
	for _, m := range b.GetMonths() {
		rows = append(rows, []string{monthString(m.GetMonth()), euros(m.GetBilledCents())})
	}
	return rows
}

// progress draws a progress bar of lines read on w (standard error), at
// most every 200 ms and once at the end.
type progress struct {
	w          io.Writer
	total, n   int
	off        bool
	last       time.Time
	terminated bool
}

func newProgress(w io.Writer, total int, off bool) *progress {
	return &progress{w: w, total: max(total, 1), off: off}
}

func (p *progress) add(n int) {
	p.n += n
	if p.off || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	const width = 30
	filled := min(width, p.n*width/p.total)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d lines", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), p.n, p.total)
}

func (p *progress) done() {
	if p.off || p.terminated {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
	p.terminated = true
}

// claimableRows are the rows of a contract's claimable fees.
func claimableRows(fees []*fundingv1.ClaimableFee, names map[string]string) [][]string {
	rows := [][]string{{"LEARNER", "NAME", "FEE", "FACT", "DATE", "RATE", "STATE", "NOTE"}}
	for _, fee := range fees {
		note := ""
		switch {
		case fee.GetNextToClaim():
			note = "next"
		case fee.GetClaimLineId() != "":
			note = "claim " + fee.GetClaimLineId()
		case fee.GetReason() != fundingv1.RejectionReason_REJECTION_REASON_UNSPECIFIED:
			note = fundingRejections.name(fee.GetReason().Number())
		}
		rows = append(rows, []string{fee.GetLearnerId(), names[fee.GetLearnerId()], feeTypeString(fee.GetFeeType(), ""), fee.GetFactRef(),
			dateString(fee.GetFactDate()), euros(fee.GetRateCents()), feeClaimStates.name(fee.GetState().Number()), note})
	}
	return rows
}

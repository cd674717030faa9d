package domain

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Entry is one line of a monthly statement.
type Entry struct {
	Unit           Unit
	LineID         string
	LearnerID      string // trainee hours, flat fees
	GroupSessionID string
	Attendees      []string
	Date           civil.Date
	// Minutes billed by the entry: a line's minutes, a correction's change
	// (new minus previous), minus the line's minutes for a reversal.
	Minutes    int
	Activity   Activity
	FeeType    FeeType
	CustomCode string
	FactRef    string
	CorrectsID string
	Rate       int64 // per hour, or per fee
	// Amount of the entry: a line's amount, a correction's delta, minus the
	// line's amount for a reversal. Counted in the totals when Billed.
	Amount       int64
	Status       Status
	Late         bool
	Anomaly      Anomaly
	ReviewReason string
	Reversal     bool
	CorrectedBy  string
	Period       civil.Month
}

// Statement is a monthly statement of a contract.
type Statement struct {
	ContractID string
	OperatorID string
	Period     civil.Month
	Closed     bool
	ClosedOn   civil.Date
	// HasReviews: a funder has reviewed lines of the statement.
	HasReviews bool
	Lines      []Entry
	Totals     Totals
}

// Books is every statement of one contract, folded from the contract's
// events in stream order: what the statement projection stores. It applies
// the closing rule itself — a line whose period is already closed at its
// position in the stream is billed on the next open period, late — so a
// line decided just before a closure never changes a closed statement, and
// folding the same events again gives the same statements.
type Books struct {
	ContractID string
	Terms      Terms
	Closed     Closed
	ClosedOn   map[civil.Month]civil.Date
	// Reviewed holds the periods a funder reviewed lines of while open.
	Reviewed map[civil.Month]bool
	Entries  []Entry
	byPeriod map[civil.Month][]int
	byLine   map[LineKey][]int // a line's entries: its own, its corrections' and reversals
	flagged  map[string]Anomaly
}

// NewBooks returns empty books.
func NewBooks() *Books {
	return &Books{Closed: Closed{}, ClosedOn: map[civil.Month]civil.Date{}, Reviewed: map[civil.Month]bool{}, byPeriod: map[civil.Month][]int{}, byLine: map[LineKey][]int{}, flagged: map[string]Anomaly{}}
}

// open returns the first open period from p.
func (b *Books) open(p civil.Month, late bool) (civil.Month, bool) {
	for b.Closed[p] {
		p, late = p.Next(), true
	}
	return p, late
}

func (b *Books) add(e Entry, keys ...LineKey) {
	i := len(b.Entries)
	b.Entries = append(b.Entries, e)
	b.byPeriod[e.Period] = append(b.byPeriod[e.Period], i)
	for _, k := range keys {
		b.byLine[k] = append(b.byLine[k], i)
	}
}

// Apply folds one event of the contract.
func (b *Books) Apply(ev Event) {
	switch e := ev.(type) {
	case ContractCreated:
		b.ContractID, b.Terms = e.ContractID, e.Terms
	case ContractUpdated:
		b.Terms = e.Terms
	case TraineeHoursReported:
		for _, ln := range e.Lines {
			p, late := b.open(ln.Period, ln.Late)
			k := LineKey{UnitTraineeHour, ln.ID}
			b.add(Entry{Unit: UnitTraineeHour, LineID: ln.ID, LearnerID: e.LearnerID, Date: ln.Date, Minutes: ln.Minutes, Activity: ln.Activity,
				Rate: ln.Rate, Amount: ln.Amount, Status: StatusBilled, Late: late, Period: p}, k)
		}
	case TraineeLineCorrected:
		p, late := b.open(e.Period, e.Late)
		orig := LineKey{UnitTraineeHour, e.CorrectsID}
		en := Entry{Unit: UnitTraineeHour, LineID: e.LineID, LearnerID: e.LearnerID, Date: e.Date, Minutes: e.Minutes - e.PreviousMinutes,
			Activity: e.Activity, CorrectsID: e.CorrectsID, Rate: e.Rate, Amount: e.Delta, Status: StatusBilled, Late: late, Period: p}
		if a := b.flagged[e.CorrectsID]; a != AnomalyNone {
			en.Status, en.Anomaly = StatusAnomaly, a
		}
		for _, i := range b.byLine[orig] {
			if x := &b.Entries[i]; x.LineID == e.CorrectsID && !x.Reversal && !b.Closed[x.Period] {
				x.CorrectedBy = e.LineID
			}
		}
		b.add(en, orig, LineKey{UnitTraineeHour, e.LineID})
	case TraineeLinesFlagged:
		for _, id := range e.LineIDs {
			if b.flagged[id] != AnomalyNone {
				continue
			}
			b.flagged[id] = e.Reason
			for _, i := range b.byLine[LineKey{UnitTraineeHour, id}] {
				x := b.Entries[i]
				if x.Reversal || x.Status != StatusBilled {
					continue
				}
				if !b.Closed[x.Period] {
					b.Entries[i].Status, b.Entries[i].Anomaly = StatusAnomaly, e.Reason
					continue
				}
				p, _ := b.open(e.Period, false)
				b.add(Entry{Unit: UnitTraineeHour, LineID: x.LineID, LearnerID: x.LearnerID, Date: x.Date, Minutes: -x.Minutes, Activity: x.Activity,
					CorrectsID: x.CorrectsID, Rate: x.Rate, Amount: -x.Amount, Status: StatusBilled, Late: true, Anomaly: e.Reason, Reversal: true, Period: p},
					LineKey{UnitTraineeHour, id}, LineKey{UnitTraineeHour, x.LineID})
			}
		}
	case GroupHoursReported:
		ln := e.Line
		p, late := b.open(ln.Period, ln.Late)
		b.add(Entry{Unit: UnitGroupHour, LineID: ln.ID, GroupSessionID: e.GroupSessionID, Attendees: ln.Attendees, Date: ln.Date, Minutes: ln.Minutes,
			Rate: ln.Rate, Amount: ln.Amount, Status: StatusBilled, Late: late, Period: p}, LineKey{UnitGroupHour, ln.ID})
	case FlatFeeClaimed:
		p, late := b.open(e.Period, e.Late)
		b.add(Entry{Unit: UnitFlatFee, LineID: e.LineID, LearnerID: e.LearnerID, Date: e.FactDate, FeeType: e.Type, CustomCode: e.CustomCode,
			FactRef: e.FactRef, Rate: e.Amount, Amount: e.Amount, Status: StatusBilled, Late: late, Period: p}, LineKey{UnitFlatFee, e.LineID})
	case StatementReviewed:
		if b.Closed[e.Period] {
			return
		}
		b.Reviewed[e.Period] = true
		for _, r := range e.Reviews {
			for _, i := range b.byLine[r.Key] {
				if x := &b.Entries[i]; x.Period == e.Period && x.LineID == r.Key.ID {
					x.review(r)
				}
			}
		}
	case StatementClosed:
		b.Closed[e.Period] = true
		b.ClosedOn[e.Period] = e.ClosedOn
	}
}

// review applies a funder's decision to an entry of its line.
func (x *Entry) review(r Review) {
	switch {
	case x.Reversal && r.Approved: // the line is paid after all: the reversal is withdrawn
		x.Status, x.ReviewReason = StatusRejected, ""
	case x.Reversal:
		x.Status, x.ReviewReason = StatusBilled, r.Reason
	case r.Approved:
		x.Status, x.ReviewReason = StatusBilled, ""
	default:
		x.Status, x.ReviewReason = StatusRejected, r.Reason
	}
}

// LineKeys returns the set of the lines that have an entry on the statement.
func (st Statement) LineKeys() map[LineKey]bool {
	keys := make(map[LineKey]bool, len(st.Lines))
	for _, e := range st.Lines {
		keys[LineKey{e.Unit, e.LineID}] = true
	}
	return keys
}

// Reviewed returns the statement as a review of its period leaves it, by
// the rule Books applies (a closed statement does not change); st is not
// changed.
func (st Statement) Reviewed(e StatementReviewed) Statement {
	if st.Closed || e.Period != st.Period {
		return st
	}
	byKey := make(map[LineKey][]int, len(st.Lines))
	for i, x := range st.Lines {
		k := LineKey{x.Unit, x.LineID}
		byKey[k] = append(byKey[k], i)
	}
	st.Lines = slices.Clone(st.Lines)
	st.HasReviews = true
	for _, r := range e.Reviews {
		for _, i := range byKey[r.Key] {
			st.Lines[i].review(r)
		}
	}
	st.Totals = TotalsOf(st.Lines)
	return st
}

// Statement returns the statement of p, its lines in stream order.
func (b *Books) Statement(p civil.Month) Statement {
	st := Statement{ContractID: b.ContractID, OperatorID: b.Terms.OperatorID, Period: p, Closed: b.Closed[p], ClosedOn: b.ClosedOn[p], HasReviews: b.Reviewed[p]}
	for _, i := range b.byPeriod[p] {
		st.Lines = append(st.Lines, b.Entries[i])
	}
	st.Totals = TotalsOf(st.Lines)
	return st
}

// Periods returns the periods that have lines or are closed, in order.
func (b *Books) Periods() []civil.Month {
	seen := map[civil.Month]bool{}
	var out []civil.Month
	for p := range b.byPeriod {
		seen[p] = true
		out = append(out, p)
	}
	for p := range b.Closed {
		if !seen[p] {
			out = append(out, p)
		}
	}
	sortMonths(out)
	return out
}

func sortMonths(ms []civil.Month) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Compare(ms[j-1]) < 0; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// TotalsOf sums entries: the billed ones into units and amounts, the
// anomalies apart. Every total is an exact sum of line amounts.
func TotalsOf(lines []Entry) Totals {
	var t Totals
	for _, e := range lines {
		switch e.Status {
		case StatusAnomaly:
			t.AnomalyCount++
			t.AnomalyAmount += e.Amount
			continue
		case StatusBilled:
		default:
			continue
		}
		switch e.Unit {
		case UnitTraineeHour:
			t.TraineeMinutes += int64(e.Minutes)
			t.TraineeAmount += e.Amount
		case UnitGroupHour:
			t.GroupMinutes += int64(e.Minutes)
			t.GroupAmount += e.Amount
		case UnitFlatFee:
			t.FeeCount++
			t.FeeAmount += e.Amount
		}
		t.Amount += e.Amount
	}
	return t
}

// BilledByPeriod returns the billed cents of each period.
func (b *Books) BilledByPeriod() map[civil.Month]int64 {
	out := map[civil.Month]int64{}
	for _, e := range b.Entries {
		if e.Status == StatusBilled {
			out[e.Period] += e.Amount
		}
	}
	return out
}

// Summary counts a statement's lines by status and kind.
type Summary struct {
	Lines, Anomalies, Rejected, Late, Corrections int
}

// Summary counts the statement's lines.
func (st Statement) Summary() Summary {
	s := Summary{Lines: len(st.Lines)}
	for _, e := range st.Lines {
		switch e.Status {
		case StatusAnomaly:
			s.Anomalies++
		case StatusRejected:
			s.Rejected++
		}
		if e.Late {
			s.Late++
		}
		if e.CorrectsID != "" && !e.Reversal {
			s.Corrections++
		}
	}
	return s
}

// Used returns the billed cents per contract year: the budget's consumption.
func (b *Books) Used() map[int]int64 {
	used := map[int]int64{}
	for _, e := range b.Entries {
		if e.Status == StatusBilled {
			used[b.Terms.PeriodYear(e.Period)] += e.Amount
		}
	}
	return used
}

// BudgetView is a contract year's consumption against its envelope.
type BudgetView struct {
	Year     int
	From, To civil.Date
	Envelope int64
	Consumed int64
	Percent  int   // floor(consumed × 100 / envelope)
	Forecast int64 // consumed + consumed / elapsed months × remaining months
	// ForecastOver is how much the forecast exceeds the envelope, 0 when
	// within it.
	ForecastOver int64
	Warning      bool // consumed >= 80 % of the envelope
	Exhausted    bool // consumed >= the envelope: new claims are refused
}

// WarningPercent is the consumption that raises the budget warning.
const WarningPercent = 80

// BudgetOf computes contract year y's budget on day today, integer only.
// Months elapsed count the year's months up to today's included (at least
// one once the year has started); the forecast extends the monthly average
// to the year's months left, not after the contract's end.
func BudgetOf(t Terms, used map[int]int64, y int, today civil.Date) BudgetView {
	from := t.YearStart(y)
	to := t.YearStart(y + 1).AddDays(-1)
	if to.After(t.To) {
		to = t.To
	}
	v := BudgetView{Year: y, From: from, To: to, Envelope: t.AnnualEnvelopeCents, Consumed: used[y]}
	v.Percent = percentOf(v.Consumed, v.Envelope)
	v.Warning = v.Consumed*100 >= WarningPercent*v.Envelope
	v.Exhausted = v.Consumed >= v.Envelope
	first := civil.MonthOf(from)
	months := civil.MonthOf(to).MonthsFrom(first)
	now := today
	if now.After(to) {
		now = to
	}
	elapsed := civil.MonthOf(now).MonthsFrom(first)
	v.Forecast = v.Consumed
	if elapsed > 0 && months > elapsed {
		v.Forecast += v.Consumed * int64(months-elapsed) / int64(elapsed)
	}
	v.ForecastOver = max(0, v.Forecast-v.Envelope)
	return v
}

// CSVColumns is the stable column order of an exported statement.
var CSVColumns = []string{
	"contract_id", "period", "unit", "operator_line_id", "learner_id", "group_session_id", "attendees",
	"date", "minutes", "activity", "fee_type", "fact_ref", "corrects_line_id", "reversal", "late",
	"rate_cents", "amount_cents", "amount_eur",
}

var unitNames = [...]string{"", "TRAINEE_HOUR", "GROUP_HOUR", "FLAT_FEE"}
var activityNames = [...]string{"", "FACE_TO_FACE", "DISTANCE", "INDIVIDUAL_INTERVIEW", "ASSESSMENT", "WORKPLACE"}
var feeNames = [...]string{"", "NEEDS_ANALYSIS_COMPLETED", "IMMERSION_COMPLETED", "IMMERSION_PARTIALLY_COMPLETED", "EXIT_TO_EMPLOYMENT", "EXIT_TO_QUALIFYING_TRAINING", "CUSTOM"}

func name(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return ""
}

// Euros formats cents as French spreadsheets read them: "-1234,05".
func Euros(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d,%02d", sign, cents/100, cents%100)
}

// ExportCSV writes a statement as CSV: UTF-8, ';' separator, CRLF, a header
// row (CSVColumns), one row per billed line (the billed units, anomalies and
// rejected lines left out), and a last row TOTAL whose amount is the
// statement's total: the exact sum of the rows above.
func ExportCSV(st Statement) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma, w.UseCRLF = ';', true
	_ = w.Write(CSVColumns)
	var sum int64
	for _, e := range st.Lines {
		if e.Status != StatusBilled {
			continue
		}
		sum += e.Amount
		fee := ""
		if e.Unit == UnitFlatFee {
			fee = name(feeNames[:], int(e.FeeType))
			if e.FeeType == FeeCustom {
				fee += ":" + e.CustomCode
			}
		}
		act := ""
		if e.Unit == UnitTraineeHour {
			act = name(activityNames[:], int(e.Activity))
		}
		attendees := ""
		if e.Unit == UnitGroupHour {
			attendees = strconv.Itoa(len(e.Attendees))
		}
		_ = w.Write([]string{
			st.ContractID, st.Period.String(), name(unitNames[:], int(e.Unit)), e.LineID, e.LearnerID, e.GroupSessionID, attendees,
			e.Date.String(), strconv.Itoa(e.Minutes), act, fee, e.FactRef, e.CorrectsID, strconv.FormatBool(e.Reversal), strconv.FormatBool(e.Late),
			strconv.FormatInt(e.Rate, 10), strconv.FormatInt(e.Amount, 10), Euros(e.Amount),
		})
	}
	row := make([]string, len(CSVColumns))
	row[0], row[1], row[2] = st.ContractID, st.Period.String(), "TOTAL"
	row[len(row)-2], row[len(row)-1] = strconv.FormatInt(sum, 10), Euros(sum)
	_ = w.Write(row)
	w.Flush()
	return buf.Bytes()
}

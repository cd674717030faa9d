package domain

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/text"
)

// ReportedLine is a trainee-hour line as an operator reports it.
type ReportedLine struct {
	Index     int // position in the report
	ID        string
	LearnerID string
	Date      civil.Date
	Minutes   int
	Activity  Activity
}

// HourLine is an accepted trainee-hour line.
type HourLine struct {
	ID       string
	Date     civil.Date
	Minutes  int
	Activity Activity
	Period   civil.Month // the statement that bills it
	Late     bool
	Rate     int64 // cents per hour
	Amount   int64 // Amount(Minutes, Rate)
}

// Anomaly is why accepted lines became anomalies.
type Anomaly int

// The anomaly reasons, numbered as on the wire.
const (
	AnomalyNone Anomaly = iota
	AnomalyExitBackdated
	AnomalyEnrolmentEnded
)

// Trainee-hour events.
type (
	// TraineeHoursReported: lines of one learner in one ISO week accepted
	// from one report.
	TraineeHoursReported struct {
		LedgerID, ContractID, OperatorID, LearnerID string
		Week                                        Week
		RequestID                                   string
		Lines                                       []HourLine
	}
	// TraineeLineCorrected: a correction, a new line referencing the
	// corrected one.
	TraineeLineCorrected struct {
		LedgerID, ContractID, OperatorID, LearnerID string
		CorrectsID                                  string
		LineID                                      string
		Date                                        civil.Date
		PreviousMinutes, Minutes                    int
		Activity                                    Activity
		Reason                                      string
		Period                                      civil.Month
		Late                                        bool
		Rate                                        int64
		Delta                                       int64 // Amount(Minutes) - Amount(PreviousMinutes)
	}
	// TraineeLinesFlagged: accepted lines turned into anomalies.
	TraineeLinesFlagged struct {
		LedgerID, ContractID, LearnerID string
		LineIDs                         []string // original line ids
		Reason                          Anomaly
		ExitDate                        civil.Date
		Episode                         int
		Period                          civil.Month // the open period showing the anomaly
	}
)

// LineRef addresses a trainee-hour line in a learner's ledger: its
// contract and its operator line id (unique in the contract).
type LineRef struct{ ContractID, ID string }

// LedgerLine is an accepted line with what happened to it since.
type LedgerLine struct {
	HourLine
	ContractID  string
	Current     int      // minutes after the latest correction
	CurrentAct  Activity // activity after the latest correction
	Corrections []string // correction ids, in order
	Anomaly     Anomaly
}

// correction is what a correction said, for idempotency.
type correction struct {
	Of       string
	Minutes  int
	Activity Activity
}

// HoursLedger is the aggregate of one learner's trainee hours in one ISO
// week, across every contract, so that the scheme's daily and weekly caps
// are decided by one aggregate. Lines are addressed by (contract, operator
// line id). Lines stored under the former ledgers of one contract, learner
// and week are folded into the same state (read-only: nothing is appended
// to them any more), so they count, and are corrected and flagged, as the
// others.
type HoursLedger struct {
	LearnerID   string
	Week        Week
	Lines       map[LineRef]*LedgerLine // original lines
	Order       []LineRef               // original lines in order
	Corrections map[LineRef]correction  // by correction
}

// NewHoursLedger returns an empty ledger.
func NewHoursLedger() *HoursLedger {
	return &HoursLedger{Lines: map[LineRef]*LedgerLine{}, Corrections: map[LineRef]correction{}}
}

// Has reports whether ref is used in the ledger, by a line or a correction.
func (l *HoursLedger) Has(ref LineRef) bool {
	_, a := l.Lines[ref]
	_, b := l.Corrections[ref]
	return a || b
}

// DayMinutes is the current minutes of day, every contract's, with each
// contract's share.
func (l *HoursLedger) DayMinutes(day civil.Date) (int, map[string]int) {
	n, shares := 0, map[string]int{}
	for _, ln := range l.Lines {
		if ln.Date == day && ln.Current > 0 {
			n += ln.Current
			shares[ln.ContractID] += ln.Current
		}
	}
	return n, shares
}

// WeekMinutes is the current minutes of the week, every contract's, with
// each contract's share.
func (l *HoursLedger) WeekMinutes() (int, map[string]int) {
	n, shares := 0, map[string]int{}
	for _, ln := range l.Lines {
		if ln.Current > 0 {
			n += ln.Current
			shares[ln.ContractID] += ln.Current
		}
	}
	return n, shares
}

// EvolveHours folds an event into a ledger, nil standing for the empty one,
// and returns it: the ledger aggregate's Evolve.
func EvolveHours(l *HoursLedger, ev Event) *HoursLedger {
	if l == nil {
		l = NewHoursLedger()
	}
	l.Apply(ev)
	return l
}

// Apply folds an event into the ledger.
func (l *HoursLedger) Apply(ev Event) {
	switch e := ev.(type) {
	case TraineeHoursReported:
		l.LearnerID, l.Week = e.LearnerID, e.Week
		for _, ln := range e.Lines {
			ref := LineRef{e.ContractID, ln.ID}
			if _, dup := l.Lines[ref]; !dup {
				l.Order = append(l.Order, ref)
			}
			l.Lines[ref] = &LedgerLine{HourLine: ln, ContractID: e.ContractID, Current: ln.Minutes, CurrentAct: ln.Activity}
		}
	case TraineeLineCorrected:
		if ln := l.Lines[LineRef{e.ContractID, e.CorrectsID}]; ln != nil {
			ln.Current, ln.CurrentAct = e.Minutes, e.Activity
			ln.Corrections = append(ln.Corrections, e.LineID)
		}
		l.Corrections[LineRef{e.ContractID, e.LineID}] = correction{Of: e.CorrectsID, Minutes: e.Minutes, Activity: e.Activity}
	case TraineeLinesFlagged:
		for _, id := range e.LineIDs {
			if ln := l.Lines[LineRef{e.ContractID, id}]; ln != nil {
				ln.Anomaly = e.Reason
			}
		}
	}
}

// caps checks a learner-day and its ISO week against the scheme's caps
// (every contract's lines and the immersion minutes) and the contract's
// own (its lines only). day and week are the minutes of every contract
// with the new minutes; dayShares and weekShares each contract's, the new
// minutes included in the contract's share.
type caps struct {
	contractID                  string
	terms                       Terms
	date                        civil.Date
	week                        Week
	day, weekTotal              int
	dayShares, weekShares       map[string]int
	dayImmersion, weekImmersion int
}

func (k caps) check() (Rejection, string) {
	if k.day > SchemeDailyCapMinutes {
		return RejectDailyCap, overCap(k.day, "on "+k.date.String(), k.dayShares, k.dayImmersion, "daily", SchemeDailyCapMinutes)
	}
	if own := k.dayShares[k.contractID]; own > k.terms.DailyCapMinutes {
		return RejectDailyCap, fmt.Sprintf("%d minutes on %s under contract %s, over the contract's daily cap of %d", own, k.date, k.contractID, k.terms.DailyCapMinutes)
	}
	week := fmt.Sprintf("in week %d-W%02d", k.week.Year, k.week.Week)
	if k.weekTotal > SchemeWeeklyCapMinutes {
		return RejectWeeklyCap, overCap(k.weekTotal, week, k.weekShares, k.weekImmersion, "weekly", SchemeWeeklyCapMinutes)
	}
	if own := k.weekShares[k.contractID]; own > k.terms.WeeklyCapMinutes {
		return RejectWeeklyCap, fmt.Sprintf("%d minutes %s under contract %s, over the contract's weekly cap of %d", own, week, k.contractID, k.terms.WeeklyCapMinutes)
	}
	return RejectNone, ""
}

// overCap is the detail of a scheme cap exceeded: the total, and its
// shares when there are several ("690 minutes on 2026-11-02 across
// contracts C1 (300), C2 (300), immersion (90): over the daily cap of
// 420").
func overCap(total int, when string, shares map[string]int, immersion int, kind string, limit int) string {
	ids := make([]string, 0, len(shares))
	for id, n := range shares {
		if n > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) <= 1 && immersion == 0 {
		return fmt.Sprintf("%d minutes %s, over the %s cap of %d", total, when, kind, limit)
	}
	slices.Sort(ids)
	parts := make([]string, 0, len(ids)+1)
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s (%d)", id, shares[id]))
	}
	if immersion > 0 {
		parts = append(parts, fmt.Sprintf("immersion (%d)", immersion))
	}
	return fmt.Sprintf("%d minutes %s across contracts %s: over the %s cap of %d", total, when, strings.Join(parts, ", "), kind, limit)
}

// weekImmersion sums the immersion minutes of the days of week w.
func weekImmersion(days map[civil.Date]int, w Week) int {
	n := 0
	for d, m := range days {
		if WeekOf(d) == w {
			n += m
		}
	}
	return n
}

// CheckLine returns why a line is invalid whatever the state ("" when
// valid): id, date, minutes and activity.
func CheckLine(ln ReportedLine) string {
	switch {
	case !ValidLineID(ln.ID):
		return "operator_line_id: 1 to 64 printable characters without spaces"
	case !ln.Date.Valid():
		return "date: a valid date is required"
	case ln.Minutes < 1 || ln.Minutes > MaxDayMinutes:
		return fmt.Sprintf("minutes: 1 to %d", MaxDayMinutes)
	case !ln.Activity.Valid():
		return "activity: a known activity type is required"
	}
	return ""
}

// LedgerBatch is the lines of one report that fall in one ledger: one
// learner, one ISO week.
type LedgerBatch struct {
	LearnerID string
	Week      Week
	Lines     []ReportedLine
}

// SplitReport groups a report's lines by ledger, in a stable order (learner,
// then week), after rejecting the lines invalid whatever the state (check
// adds the service's own checks, such as the learner id's format) and the
// lines whose id an earlier line of the same report already used.
func SplitReport(lines []ReportedLine, check func(ReportedLine) string) ([]LedgerBatch, []Result) {
	var rejected []Result
	seen := make(map[string]bool, len(lines))
	byKey := map[LedgerBatchKey]*LedgerBatch{}
	for _, ln := range lines {
		detail := CheckLine(ln)
		if detail == "" && check != nil {
			detail = check(ln)
		}
		if detail != "" {
			rejected = append(rejected, reject(ln.Index, ln.ID, RejectInvalid, detail))
			continue
		}
		if seen[ln.ID] {
			rejected = append(rejected, reject(ln.Index, ln.ID, RejectDuplicateID, "operator_line_id "+ln.ID+" is used twice in the report"))
			continue
		}
		seen[ln.ID] = true
		k := LedgerBatchKey{ln.LearnerID, WeekOf(ln.Date)}
		b := byKey[k]
		if b == nil {
			b = &LedgerBatch{LearnerID: k.LearnerID, Week: k.Week}
			byKey[k] = b
		}
		b.Lines = append(b.Lines, ln)
	}
	out := make([]LedgerBatch, 0, len(byKey))
	for _, b := range byKey {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b LedgerBatch) int {
		return cmp.Or(strings.Compare(a.LearnerID, b.LearnerID), cmp.Compare(a.Week.Year, b.Week.Year), cmp.Compare(a.Week.Week, b.Week.Week))
	})
	return out, rejected
}

// LedgerBatchKey addresses a learner's ledger: the learner and the ISO week.
type LedgerBatchKey struct {
	LearnerID string
	Week      Week
}

// ReportHours reports trainee-hour lines of one contract that fall in one
// learner's ledger (one ISO week).
type ReportHours struct {
	LedgerID, ContractID, LearnerID, RequestID string
	Week                                       Week
	Terms                                      Terms
	Lines                                      []ReportedLine
	// Learner is what the service knows of the ledger's learner: its
	// enrolments, territory and immersion days.
	Learner Learner
	Closed  Closed
	// TakenElsewhere reports line ids already used by another ledger or
	// unit of the contract (from the service's read model); nil: none.
	TakenElsewhere func(id string) bool
	// Budget is the room left; nil: not checked.
	Budget *Budget
	Today  civil.Date
}

// DecideHours decides a report on a ledger: each line accepted or rejected,
// in order, counting the lines accepted before it (in the ledger, under
// every contract, and in the report) and the learner's immersion minutes.
// Accepted lines make one event; lines already accepted with the same
// content are answered again, appending nothing. A nil ledger is the empty
// one.
func DecideHours(l *HoursLedger, c ReportHours) ([]Event, []Result) {
	if l == nil {
		l = NewHoursLedger()
	}
	results := make([]Result, 0, len(c.Lines))
	var accepted []HourLine
	pendingDay := map[civil.Date]int{} // this report's accepted minutes
	pendingWeek := 0
	weekTotal, weekShares := l.WeekMinutes()
	weekImm := weekImmersion(c.Learner.Immersion, c.Week)
	for _, ln := range c.Lines {
		if detail := CheckLine(ln); detail != "" {
			results = append(results, reject(ln.Index, ln.ID, RejectInvalid, detail))
			continue
		}
		if ln.LearnerID != c.LearnerID || WeekOf(ln.Date) != c.Week {
			results = append(results, reject(ln.Index, ln.ID, RejectInvalid, "line outside the ledger's learner and week"))
			continue
		}
		ref := LineRef{c.ContractID, ln.ID}
		if old := l.Lines[ref]; old != nil {
			if old.Date == ln.Date && old.Minutes == ln.Minutes && old.Activity == ln.Activity {
				results = append(results, Result{Index: ln.Index, LineID: ln.ID, Accepted: true, Already: true, Period: old.Period, Late: old.Late, AmountCts: old.Amount})
			} else {
				results = append(results, reject(ln.Index, ln.ID, RejectDuplicateID, "operator_line_id "+ln.ID+" was already reported with other content"))
			}
			continue
		}
		if l.Has(ref) || slices.ContainsFunc(accepted, func(h HourLine) bool { return h.ID == ln.ID }) || (c.TakenElsewhere != nil && c.TakenElsewhere(ln.ID)) {
			results = append(results, reject(ln.Index, ln.ID, RejectDuplicateID, "operator_line_id "+ln.ID+" is already used in the contract"))
			continue
		}
		if ln.Date.After(c.Today) {
			results = append(results, reject(ln.Index, ln.ID, RejectDateInFuture, inFuture("the line's date", ln.Date, c.Today)))
			continue
		}
		if !c.Terms.Covers(ln.Date) {
			results = append(results, reject(ln.Index, ln.ID, RejectOutsideContract, fmt.Sprintf("%s is outside the contract period %s..%s", ln.Date, c.Terms.From, c.Terms.To)))
			continue
		}
		if r, detail := c.Learner.Placement(c.ContractID, c.Terms, ln.Date); r != RejectNone {
			results = append(results, reject(ln.Index, ln.ID, r, detail))
			continue
		}
		p, late, ok := c.Closed.Billing(c.Terms, ln.Date)
		if !ok {
			results = append(results, reject(ln.Index, ln.ID, RejectPeriodClosed, fmt.Sprintf("the statements of %s and later are closed", civil.MonthOf(ln.Date))))
			continue
		}
		day, dayShares := l.DayMinutes(ln.Date)
		dayImm := c.Learner.Immersion[ln.Date]
		dayShares[c.ContractID] += pendingDay[ln.Date] + ln.Minutes
		ws := maps.Clone(weekShares)
		ws[c.ContractID] += pendingWeek + ln.Minutes
		k := caps{
			contractID: c.ContractID, terms: c.Terms, date: ln.Date, week: c.Week,
			day: day + pendingDay[ln.Date] + dayImm + ln.Minutes, dayShares: dayShares, dayImmersion: dayImm,
			weekTotal: weekTotal + pendingWeek + weekImm + ln.Minutes, weekShares: ws, weekImmersion: weekImm,
		}
		if r, detail := k.check(); r != RejectNone {
			results = append(results, reject(ln.Index, ln.ID, r, detail))
			continue
		}
		amount := Amount(ln.Minutes, c.Terms.TraineeHourCents)
		if !c.Budget.fits(p, amount) {
			results = append(results, reject(ln.Index, ln.ID, RejectBudgetExceeded, "the contract year's envelope is spent"))
			continue
		}
		pendingDay[ln.Date] += ln.Minutes
		pendingWeek += ln.Minutes
		accepted = append(accepted, HourLine{ID: ln.ID, Date: ln.Date, Minutes: ln.Minutes, Activity: ln.Activity, Period: p, Late: late, Rate: c.Terms.TraineeHourCents, Amount: amount})
		results = append(results, Result{Index: ln.Index, LineID: ln.ID, Accepted: true, Period: p, Late: late, AmountCts: amount})
	}
	if len(accepted) == 0 {
		return nil, results
	}
	return []Event{TraineeHoursReported{
		LedgerID: c.LedgerID, ContractID: c.ContractID, OperatorID: c.Terms.OperatorID, LearnerID: c.LearnerID,
		Week: c.Week, RequestID: c.RequestID, Lines: accepted,
	}}, results
}

// CorrectLine amends an accepted line of the ledger.
type CorrectLine struct {
	LedgerID, ContractID, LearnerID string
	CorrectsID                      string
	LineID                          string
	Minutes                         int // 0 cancels
	Activity                        Activity
	Reason                          string
	Terms                           Terms
	Learner                         Learner
	Closed                          Closed
	TakenElsewhere                  func(id string) bool
	Budget                          *Budget
	Today                           civil.Date
}

// DecideCorrection decides a correction. Invalid input and an unknown line
// are errors; a correction the rules refuse is a rejected Result. A
// correction that adds minutes is checked as a new line would be: its date
// not after today, the learner enrolled with the contract in a territory of
// its lot, the caps across contracts; one that removes minutes never pays
// more and is always taken (a line accepted before a rule existed can be
// cancelled). A nil ledger is the empty one.
func DecideCorrection(l *HoursLedger, c CorrectLine) ([]Event, Result, error) {
	if l == nil {
		l = NewHoursLedger()
	}
	var v apperr.Violations
	if !ValidLineID(c.LineID) {
		v.Add("operator_line_id", "1 to 64 printable characters without spaces")
	}
	if !ValidLineID(c.CorrectsID) {
		v.Add("corrects_line_id", "1 to 64 printable characters without spaces")
	}
	if c.Minutes < 0 || c.Minutes > MaxDayMinutes {
		v.Addf("minutes", "0 (cancels the line) to %d", MaxDayMinutes)
	}
	if !c.Activity.Valid() {
		v.Add("activity", "a known activity type is required")
	}
	text.Check(&v, "reason", strings.TrimSpace(c.Reason), reasonRule(true))
	if err := v.Err(); err != nil {
		return nil, Result{}, err
	}
	self := LineRef{c.ContractID, c.LineID}
	if prev, ok := l.Corrections[self]; ok {
		if prev.Of == c.CorrectsID && prev.Minutes == c.Minutes && prev.Activity == c.Activity {
			ln := l.Lines[LineRef{c.ContractID, c.CorrectsID}]
			return nil, Result{LineID: c.LineID, Accepted: true, Already: true, Period: ln.Period, Late: ln.Late}, nil
		}
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" was already used by another correction"), nil
	}
	if _, ok := l.Corrections[LineRef{c.ContractID, c.CorrectsID}]; ok {
		return nil, Result{}, refused(ReasonCorrectCorrection, "%s is a correction: correct the original line", c.CorrectsID)
	}
	ln := l.Lines[LineRef{c.ContractID, c.CorrectsID}]
	if ln == nil {
		return nil, Result{}, apperr.NotFound("line %s not found for learner %s in week %d-W%02d", c.CorrectsID, c.LearnerID, l.Week.Year, l.Week.Week)
	}
	if l.Has(self) || (c.TakenElsewhere != nil && c.TakenElsewhere(c.LineID)) {
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" is already used in the contract"), nil
	}
	if added := c.Minutes - ln.Current; added > 0 {
		if ln.Date.After(c.Today) {
			return nil, reject(0, c.LineID, RejectDateInFuture, inFuture("the corrected line's date", ln.Date, c.Today)), nil
		}
		if r, detail := c.Learner.Placement(c.ContractID, c.Terms, ln.Date); r != RejectNone {
			return nil, reject(0, c.LineID, r, detail), nil
		}
		day, dayShares := l.DayMinutes(ln.Date)
		week, weekShares := l.WeekMinutes()
		dayShares[c.ContractID] += added
		weekShares[c.ContractID] += added
		dayImm := c.Learner.Immersion[ln.Date]
		weekImm := weekImmersion(c.Learner.Immersion, WeekOf(ln.Date))
		k := caps{
			contractID: c.ContractID, terms: c.Terms, date: ln.Date, week: WeekOf(ln.Date),
			day: day + dayImm + added, dayShares: dayShares, dayImmersion: dayImm,
			weekTotal: week + weekImm + added, weekShares: weekShares, weekImmersion: weekImm,
		}
		if r, detail := k.check(); r != RejectNone {
			return nil, reject(0, c.LineID, r, detail), nil
		}
	}
	// The correction is billed on the first open period from the line's
	// own (the line's date decides, not today's).
	p, late, ok := c.Closed.Billing(c.Terms, ln.Date)
	if !ok {
		return nil, reject(0, c.LineID, RejectPeriodClosed, "every statement from the line's month on is closed"), nil
	}
	delta := Amount(c.Minutes, ln.Rate) - Amount(ln.Current, ln.Rate)
	if !c.Budget.fits(p, delta) {
		return nil, reject(0, c.LineID, RejectBudgetExceeded, "the contract year's envelope is spent"), nil
	}
	ev := TraineeLineCorrected{
		LedgerID: c.LedgerID, ContractID: c.ContractID, OperatorID: c.Terms.OperatorID, LearnerID: c.LearnerID,
		CorrectsID: ln.ID, LineID: c.LineID, Date: ln.Date, PreviousMinutes: ln.Current, Minutes: c.Minutes,
		Activity: c.Activity, Reason: strings.TrimSpace(c.Reason), Period: p, Late: late, Rate: ln.Rate, Delta: delta,
	}
	return []Event{ev}, Result{LineID: c.LineID, Accepted: true, Period: p, Late: late, AmountCts: delta}, nil
}

// FlagLines turns the ledger's accepted lines that are no longer billable
// into anomalies: after a back-dated exit (the learner was not in the
// scheme on their days) or an enrolment ended early (the learner was no
// longer placed with the contract's operator).
type FlagLines struct {
	LedgerID string
	// After: only lines dated after this day (the exit date, the
	// enrolment's last day).
	After civil.Date
	// ContractID: only this contract's lines; "" for every contract's.
	ContractID string
	// Billable reports whether a line of the contract on day is still
	// billable (per the read model, which already knows the exit or the
	// end): such lines are kept.
	Billable func(contractID string, day civil.Date) bool
	Reason   Anomaly
	Episode  int
	// Closed returns the closed periods of a contract.
	Closed func(contractID string) Closed
	Today  civil.Date
}

// DecideFlag decides a re-evaluation: the lines still billed (current
// minutes > 0), not yet anomalies, dated after c.After, of the contract
// (any when c.ContractID is ""), and no longer billable. One event per
// contract, in the order of their first line; the anomaly shows on the
// contract's first open period from today's month. A nil ledger is the
// empty one.
func DecideFlag(l *HoursLedger, c FlagLines) []Event {
	if l == nil {
		return nil
	}
	var contracts []string
	ids := map[string][]string{}
	for _, ref := range l.Order {
		ln := l.Lines[ref]
		if ln.Anomaly != AnomalyNone || ln.Current == 0 || !ln.Date.After(c.After) {
			continue
		}
		if c.ContractID != "" && ref.ContractID != c.ContractID {
			continue
		}
		if c.Billable != nil && c.Billable(ref.ContractID, ln.Date) {
			continue
		}
		if _, seen := ids[ref.ContractID]; !seen {
			contracts = append(contracts, ref.ContractID)
		}
		ids[ref.ContractID] = append(ids[ref.ContractID], ref.ID)
	}
	var out []Event
	for _, contract := range contracts {
		var closed Closed
		if c.Closed != nil {
			closed = c.Closed(contract)
		}
		p := civil.MonthOf(c.Today)
		for closed[p] {
			p = p.Next()
		}
		out = append(out, TraineeLinesFlagged{
			LedgerID: c.LedgerID, ContractID: contract, LearnerID: l.LearnerID, LineIDs: ids[contract],
			Reason: c.Reason, ExitDate: c.After, Episode: c.Episode, Period: p,
		})
	}
	return out
}

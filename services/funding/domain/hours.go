package domain

import (
	"cmp"
	"fmt"
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

// LedgerLine is an accepted line with what happened to it since.
type LedgerLine struct {
	HourLine
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

// HoursLedger is the aggregate of one learner's trainee hours under one
// contract in one ISO week.
type HoursLedger struct {
	ID, ContractID, LearnerID string
	Week                      Week
	Lines                     map[string]*LedgerLine // original lines by id
	Order                     []string               // original ids in order
	Corrections               map[string]correction  // by correction id
}

// NewHoursLedger returns an empty ledger.
func NewHoursLedger() *HoursLedger {
	return &HoursLedger{Lines: map[string]*LedgerLine{}, Corrections: map[string]correction{}}
}

// Has reports whether id is used in the ledger, by a line or a correction.
func (l *HoursLedger) Has(id string) bool {
	_, a := l.Lines[id]
	_, b := l.Corrections[id]
	return a || b
}

// DayMinutes is the current minutes of day.
func (l *HoursLedger) DayMinutes(day civil.Date) int {
	n := 0
	for _, ln := range l.Lines {
		if ln.Date == day {
			n += ln.Current
		}
	}
	return n
}

// WeekMinutes is the current minutes of the week.
func (l *HoursLedger) WeekMinutes() int {
	n := 0
	for _, ln := range l.Lines {
		n += ln.Current
	}
	return n
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
		l.ID, l.ContractID, l.LearnerID, l.Week = e.LedgerID, e.ContractID, e.LearnerID, e.Week
		for _, ln := range e.Lines {
			l.Lines[ln.ID] = &LedgerLine{HourLine: ln, Current: ln.Minutes, CurrentAct: ln.Activity}
			l.Order = append(l.Order, ln.ID)
		}
	case TraineeLineCorrected:
		if ln := l.Lines[e.CorrectsID]; ln != nil {
			ln.Current, ln.CurrentAct = e.Minutes, e.Activity
			ln.Corrections = append(ln.Corrections, e.LineID)
		}
		l.Corrections[e.LineID] = correction{Of: e.CorrectsID, Minutes: e.Minutes, Activity: e.Activity}
	case TraineeLinesFlagged:
		for _, id := range e.LineIDs {
			if ln := l.Lines[id]; ln != nil {
				ln.Anomaly = e.Reason
			}
		}
	}
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

// LedgerBatchKey addresses a ledger within a contract.
type LedgerBatchKey struct {
	LearnerID string
	Week      Week
}

// ReportHours reports trainee-hour lines of one ledger.
type ReportHours struct {
	LedgerID, ContractID, LearnerID, RequestID string
	Week                                       Week
	Terms                                      Terms
	Lines                                      []ReportedLine
	Enrolment                                  Enrolment
	Closed                                     Closed
	// TakenElsewhere reports line ids already used by another ledger or
	// unit of the contract (from the service's read model); nil: none.
	TakenElsewhere func(id string) bool
	// Budget is the room left; nil: not checked.
	Budget *Budget
}

// DecideHours decides a report on a ledger: each line accepted or rejected,
// in order, counting the lines accepted before it (in the ledger and in the
// report). Accepted lines make one event; lines already accepted with the
// same content are answered again, appending nothing. A nil ledger is
// the empty one.
func DecideHours(l *HoursLedger, c ReportHours) ([]Event, []Result) {
	if l == nil {
		l = NewHoursLedger()
	}
	results := make([]Result, 0, len(c.Lines))
	var accepted []HourLine
	day := map[civil.Date]int{}
	week := l.WeekMinutes()
	for _, ln := range c.Lines {
		if detail := CheckLine(ln); detail != "" {
			results = append(results, reject(ln.Index, ln.ID, RejectInvalid, detail))
			continue
		}
		if ln.LearnerID != c.LearnerID || WeekOf(ln.Date) != c.Week {
			results = append(results, reject(ln.Index, ln.ID, RejectInvalid, "line outside the ledger's learner and week"))
			continue
		}
		if old := l.Lines[ln.ID]; old != nil {
			if old.Date == ln.Date && old.Minutes == ln.Minutes && old.Activity == ln.Activity {
				results = append(results, Result{Index: ln.Index, LineID: ln.ID, Accepted: true, Already: true, Period: old.Period, Late: old.Late, AmountCts: old.Amount})
			} else {
				results = append(results, reject(ln.Index, ln.ID, RejectDuplicateID, "operator_line_id "+ln.ID+" was already reported with other content"))
			}
			continue
		}
		if l.Has(ln.ID) || slices.ContainsFunc(accepted, func(h HourLine) bool { return h.ID == ln.ID }) || (c.TakenElsewhere != nil && c.TakenElsewhere(ln.ID)) {
			results = append(results, reject(ln.Index, ln.ID, RejectDuplicateID, "operator_line_id "+ln.ID+" is already used in the contract"))
			continue
		}
		if !c.Terms.Covers(ln.Date) {
			results = append(results, reject(ln.Index, ln.ID, RejectOutsideContract, fmt.Sprintf("%s is outside the contract period %s..%s", ln.Date, c.Terms.From, c.Terms.To)))
			continue
		}
		if c.Enrolment == nil || !c.Enrolment.Enrolled(ln.LearnerID, ln.Date) {
			results = append(results, reject(ln.Index, ln.ID, RejectNotEnrolled, fmt.Sprintf("learner %s had no open episode on %s", ln.LearnerID, ln.Date)))
			continue
		}
		p, late, ok := c.Closed.Billing(c.Terms, ln.Date)
		if !ok {
			results = append(results, reject(ln.Index, ln.ID, RejectPeriodClosed, fmt.Sprintf("the statements of %s and later are closed", civil.MonthOf(ln.Date))))
			continue
		}
		if d := l.DayMinutes(ln.Date) + day[ln.Date] + ln.Minutes; d > c.Terms.DailyCapMinutes {
			results = append(results, reject(ln.Index, ln.ID, RejectDailyCap, fmt.Sprintf("%d minutes on %s, over the daily cap of %d", d, ln.Date, c.Terms.DailyCapMinutes)))
			continue
		}
		if w := week + ln.Minutes; w > c.Terms.WeeklyCapMinutes {
			results = append(results, reject(ln.Index, ln.ID, RejectWeeklyCap, fmt.Sprintf("%d minutes in week %d-W%02d, over the weekly cap of %d", w, c.Week.Year, c.Week.Week, c.Terms.WeeklyCapMinutes)))
			continue
		}
		amount := Amount(ln.Minutes, c.Terms.TraineeHourCents)
		if !c.Budget.fits(p, amount) {
			results = append(results, reject(ln.Index, ln.ID, RejectBudgetExceeded, "the contract year's envelope is spent"))
			continue
		}
		day[ln.Date] += ln.Minutes
		week += ln.Minutes
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
	Enrolment                       Enrolment
	Closed                          Closed
	TakenElsewhere                  func(id string) bool
	Budget                          *Budget
}

// DecideCorrection decides a correction. Invalid input and an unknown line
// are errors; a correction the rules refuse is a rejected Result. A nil
// ledger is the empty one.
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
	if prev, ok := l.Corrections[c.LineID]; ok {
		if prev.Of == c.CorrectsID && prev.Minutes == c.Minutes && prev.Activity == c.Activity {
			ln := l.Lines[c.CorrectsID]
			return nil, Result{LineID: c.LineID, Accepted: true, Already: true, Period: ln.Period, Late: ln.Late}, nil
		}
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" was already used by another correction"), nil
	}
	if _, ok := l.Corrections[c.CorrectsID]; ok {
		return nil, Result{}, refused(ReasonCorrectCorrection, "%s is a correction: correct the original line", c.CorrectsID)
	}
	ln := l.Lines[c.CorrectsID]
	if ln == nil {
		return nil, Result{}, apperr.NotFound("line %s not found for learner %s in week %d-W%02d", c.CorrectsID, c.LearnerID, l.Week.Year, l.Week.Week)
	}
	if l.Has(c.LineID) || (c.TakenElsewhere != nil && c.TakenElsewhere(c.LineID)) {
		return nil, reject(0, c.LineID, RejectDuplicateID, "operator_line_id "+c.LineID+" is already used in the contract"), nil
	}
	if c.Minutes > ln.Current && (c.Enrolment == nil || !c.Enrolment.Enrolled(c.LearnerID, ln.Date)) {
		return nil, reject(0, c.LineID, RejectNotEnrolled, fmt.Sprintf("learner %s had no open episode on %s", c.LearnerID, ln.Date)), nil
	}
	if d := l.DayMinutes(ln.Date) - ln.Current + c.Minutes; c.Minutes > ln.Current && d > c.Terms.DailyCapMinutes {
		return nil, reject(0, c.LineID, RejectDailyCap, fmt.Sprintf("%d minutes on %s, over the daily cap of %d", d, ln.Date, c.Terms.DailyCapMinutes)), nil
	}
	if w := l.WeekMinutes() - ln.Current + c.Minutes; c.Minutes > ln.Current && w > c.Terms.WeeklyCapMinutes {
		return nil, reject(0, c.LineID, RejectWeeklyCap, fmt.Sprintf("%d minutes in the week, over the weekly cap of %d", w, c.Terms.WeeklyCapMinutes)), nil
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
		LedgerID: l.ID, ContractID: l.ContractID, OperatorID: c.Terms.OperatorID, LearnerID: l.LearnerID,
		CorrectsID: ln.ID, LineID: c.LineID, Date: ln.Date, PreviousMinutes: ln.Current, Minutes: c.Minutes,
		Activity: c.Activity, Reason: strings.TrimSpace(c.Reason), Period: p, Late: late, Rate: ln.Rate, Delta: delta,
	}
	return []Event{ev}, Result{LineID: c.LineID, Accepted: true, Period: p, Late: late, AmountCts: delta}, nil
}

// FlagUnenrolled turns the ledger's accepted lines dated after an exit on
// which the learner was not enrolled (per Enrolment, which already knows the
// exit) into anomalies.
type FlagUnenrolled struct {
	ExitDate  civil.Date
	Episode   int
	Enrolment Enrolment
	Terms     Terms
	Closed    Closed
	Today     civil.Date
}

// DecideFlag decides a re-evaluation after a back-dated exit: the lines
// still billed (current minutes > 0), not yet anomalies, dated after the
// exit and on a day the learner was not enrolled. The anomaly shows on the
// first open period from today's month. A nil ledger is the empty one.
func DecideFlag(l *HoursLedger, c FlagUnenrolled) []Event {
	if l == nil {
		return nil
	}
	var ids []string
	for _, id := range l.Order {
		ln := l.Lines[id]
		if ln.Anomaly != AnomalyNone || ln.Current == 0 || !ln.Date.After(c.ExitDate) {
			continue
		}
		if c.Enrolment != nil && c.Enrolment.Enrolled(l.LearnerID, ln.Date) {
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	p := civil.MonthOf(c.Today)
	for c.Closed[p] {
		p = p.Next()
	}
	return []Event{TraineeLinesFlagged{
		LedgerID: l.ID, ContractID: l.ContractID, LearnerID: l.LearnerID, LineIDs: ids,
		Reason: AnomalyExitBackdated, ExitDate: c.ExitDate, Episode: c.Episode, Period: p,
	}}
}

package demo

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Summary is what a run did. Every figure but Elapsed and World is the
// same for the same options on a fresh server.
type Summary struct {
	Seed     int64
	From, To civil.Date
	Days     int

	LearnersEntered int            // distinct learners registered and entered
	Entries         int            // episodes opened (first entries and re-entries)
	ReEntries       int            // re-entries
	Exits           int            // episodes closed
	ExitsByReason   map[string]int // by reason (kebab-case, as the CLI spells it)
	LateExits       int            // exits recorded after their date
	ActiveAtEnd     int
	Analyses        int // needs analyses completed

	// Referent assignment at the end (the referent service's load).
	Assigned int // active learners with a referent
	Queued   int // active learners waiting for one

	Sessions        int // #Action sessions scheduled
	PlacesOffered   int
	Booked          int // places booked at once
	Waitlisted      int // bookings put on a waitlist
	Promoted        int // waitlisted learners who got a place
	Cancelled       int // bookings and waitlist entries cancelled
	BookingsRefused int
	FillPerMille    int            // (booked + promoted − cancelled places) / offered, of the sessions over
	Outcomes        map[string]int // completed, partially-completed, did-not-show

	LinesAccepted int            // trainee-hour, group-hour and flat-fee lines accepted
	Rejected      map[string]int // lines rejected when reported, by reason
	FeesClaimed   map[string]int // flat fees accepted, by type
	GroupSessions int

	// Money billed on the statements (closed, and open at the end), in cents.
	TraineeMinutes    int64
	TraineeCents      int64
	GroupMinutes      int64
	GroupCents        int64
	FlatFees          int64
	FlatFeeCents      int64
	TotalCents        int64
	Anomalies         int // lines flagged (exit recorded late) still anomalies at the end
	AnomaliesApproved int // anomalies the funder approved
	ReviewRejected    int // lines the funder rejected
	StatementsClosed  int

	Budgets []BudgetLine

	Elapsed time.Duration
	World   *World
}

// BudgetLine is a contract year's consumption.
type BudgetLine struct {
	OperatorID    string
	Reference     string
	Year          int
	EnvelopeCents int64
	ConsumedCents int64
	Percent       int
}

func newSummary(o Options) *Summary {
	return &Summary{
		Seed: o.Seed, From: o.From, To: o.From.AddDays(o.Days - 1), Days: o.Days,
		ExitsByReason: map[string]int{}, Outcomes: map[string]int{}, Rejected: map[string]int{}, FeesClaimed: map[string]int{},
	}
}

func (s *Summary) addTotals(t *fundingv1.StatementTotals) {
	s.TraineeMinutes += t.GetTraineeMinutes()
	s.TraineeCents += t.GetTraineeAmountCents()
	s.GroupMinutes += t.GetGroupMinutes()
	s.GroupCents += t.GetGroupAmountCents()
	s.FlatFees += t.GetFlatFeeCount()
	s.FlatFeeCents += t.GetFlatFeeAmountCents()
	s.TotalCents += t.GetAmountCents()
}

func kebab(enum, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(enum, prefix)), "_", "-")
}

func reasonName(r pathwayv1.ExitReason) string { return kebab(r.String(), "EXIT_REASON_") }
func feeName(t fundingv1.FeeType) string       { return kebab(t.String(), "FEE_TYPE_") }
func rejectionName(r fundingv1.RejectionReason) string {
	return kebab(r.String(), "REJECTION_REASON_")
}

// finish reports what is left, waits for the read models and reads the
// final figures.
func (s *sim) finish(ctx context.Context) error {
	if err := s.flushAll(ctx); err != nil {
		return err
	}
	w, sum := s.world, s.sum
	sum.ActiveAtEnd = w.activeCount()
	// Open statements.
	for _, op := range w.Operators {
		for m := civil.MonthOf(s.opts.From); m.Compare(civil.MonthOf(s.today)) <= 0; m = m.Next() {
			k := stmtKey{op.ContractID, m}
			if s.books.isClosed(k) {
				continue
			}
			st, err := s.waitStatement(ctx, k)
			if err != nil {
				return err
			}
			sum.addTotals(st.GetTotals())
			sum.Anomalies += int(st.GetTotals().GetAnomalyCount())
		}
	}
	// Budgets.
	contractFrom := civil.MonthOf(s.opts.From).First()
	for _, op := range w.Operators {
		for year := 1; !contractFrom.AddDays(365 * (year - 1)).After(s.today); year++ {
			var b *fundingv1.Budget
			err := s.call(ctx, funderP, "get budget", func(ctx context.Context, o grpc.CallOption) error {
				resp, err := s.c.funding.GetBudget(ctx, &fundingv1.GetBudgetRequest{ContractId: op.ContractID, ContractYear: int32(year)}, o)
				b = resp.GetBudget()
				return err
			})
			if err != nil {
				return err
			}
			sum.Budgets = append(sum.Budgets, BudgetLine{
				OperatorID: op.ID, Reference: op.Reference, Year: year, EnvelopeCents: b.GetEnvelopeCents(),
				ConsumedCents: b.GetConsumedCents(), Percent: int(b.GetConsumedPercent()),
			})
		}
	}
	// Assignments, once the referent service has seen every entry.
	var active []*Learner
	for _, l := range w.Learners {
		if l.Active() {
			active = append(active, l)
		}
	}
	state := make([]string, len(active))
	err := s.parallel(ctx, len(active), func(ctx context.Context, i int) error {
		l := active[i]
		for attempt := 0; ; attempt++ {
			var a *referentv1.Assignment
			err := s.call(ctx, adminP, "get assignment", func(ctx context.Context, o grpc.CallOption) error {
				resp, err := s.c.referent.GetAssignment(ctx, &referentv1.GetAssignmentRequest{LearnerId: l.ID}, o)
				a = resp.GetAssignment()
				return err
			})
			if err != nil && status.Code(err) != codes.NotFound {
				return err
			}
			switch {
			case err == nil && int(a.GetEpisodeNumber()) == l.current().Number && a.GetPending():
				state[i] = "queued"
			case err == nil && int(a.GetEpisodeNumber()) == l.current().Number && a.GetActive() && a.GetReferentId() != "":
				state[i] = "assigned"
			case attempt < 30:
				if err := settle(ctx, attempt); err != nil {
					return err
				}
				continue
			default:
				s.log.Warn("no assignment", "learner", l.ID, "assignment", a)
			}
			return nil
		}
	})
	if err != nil {
		return err
	}
	for _, st := range state {
		switch st {
		case "assigned":
			sum.Assigned++
		case "queued":
			sum.Queued++
		}
	}
	// Fill rate of the sessions over.
	offered, taken := 0, 0
	for _, ss := range w.Sessions {
		if ss.Outcomes != nil {
			offered += ss.Capacity
			taken += len(ss.Places)
		}
	}
	if offered > 0 {
		sum.FillPerMille = taken * 1000 / offered
	}
	return nil
}

// euros formats cents as "12 345,67 €".
func euros(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	units := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, r := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteRune(' ')
		}
		b.WriteRune(r)
	}
	out := fmt.Sprintf("%s,%02d €", b.String(), cents%100)
	if neg {
		out = "-" + out
	}
	return out
}

// percent formats n/d as "12,3 %" from integers.
func percent(n, d int64) string {
	if d == 0 {
		return "–"
	}
	pm := n * 1000 / d
	return fmt.Sprintf("%d,%d %%", pm/10, pm%10)
}

func sortedKeys(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }

// Write prints the summary for people.
func (s Summary) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	p("#Avenir, %s to %s (%d days, seed %d)", s.From, s.To, s.Days, s.Seed)
	p("")
	p("Learners\t")
	p("  entered\t%d (%d entries, %d re-entries)", s.LearnersEntered, s.Entries, s.ReEntries)
	p("  needs analyses completed\t%d", s.Analyses)
	p("  exited\t%d (%d recorded late)", s.Exits, s.LateExits)
	for _, k := range sortedKeys(s.ExitsByReason) {
		p("    %s\t%d\t%s", k, s.ExitsByReason[k], percent(int64(s.ExitsByReason[k]), int64(s.Exits)))
	}
	p("  active at the end\t%d (%d with a referent, %d queued)", s.ActiveAtEnd, s.Assigned, s.Queued)
	p("")
	p("#Action immersions\t")
	p("  sessions\t%d, %d places", s.Sessions, s.PlacesOffered)
	p("  booked\t%d, waitlisted %d (%d promoted), cancelled %d, refused %d", s.Booked, s.Waitlisted, s.Promoted, s.Cancelled, s.BookingsRefused)
	p("  fill rate (sessions over)\t%d,%d %%", s.FillPerMille/10, s.FillPerMille%10)
	outcomes := 0
	for _, n := range s.Outcomes {
		outcomes += n
	}
	for _, k := range sortedKeys(s.Outcomes) {
		p("    %s\t%d\t%s", k, s.Outcomes[k], percent(int64(s.Outcomes[k]), int64(outcomes)))
	}
	p("")
	p("Funding\t")
	p("  trainee hours\t%d h %02d\t%s", s.TraineeMinutes/60, s.TraineeMinutes%60, euros(s.TraineeCents))
	p("  group hours\t%d h %02d (%d sessions)\t%s", s.GroupMinutes/60, s.GroupMinutes%60, s.GroupSessions, euros(s.GroupCents))
	p("  flat fees\t%d\t%s", s.FlatFees, euros(s.FlatFeeCents))
	for _, k := range sortedKeys(s.FeesClaimed) {
		p("    %s\t%d", k, s.FeesClaimed[k])
	}
	p("  total billed\t\t%s", euros(s.TotalCents))
	p("  lines accepted\t%d", s.LinesAccepted)
	rejected := 0
	for _, n := range s.Rejected {
		rejected += n
	}
	p("  lines rejected\t%d", rejected)
	for _, k := range sortedKeys(s.Rejected) {
		p("    %s\t%d", k, s.Rejected[k])
	}
	p("  anomalies (late exits)\t%d approved, %d open", s.AnomaliesApproved, s.Anomalies)
	p("  rejected on review\t%d", s.ReviewRejected)
	p("  statements closed\t%d", s.StatementsClosed)
	p("")
	p("Budgets\t")
	for _, b := range s.Budgets {
		p("  %s year %d\t%s of %s\t%d %%", b.OperatorID, b.Year, euros(b.ConsumedCents), euros(b.EnvelopeCents), b.Percent)
	}
	if s.Elapsed > 0 {
		p("")
		p("Simulated in %s", s.Elapsed.Round(time.Millisecond))
	}
	return tw.Flush()
}

// progress draws a bar on a terminal line.
type progress struct {
	w     io.Writer
	total int
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress { return &progress{w: w, total: total} }

func (p *progress) update(day int, date civil.Date, active, entered int) {
	if p.w == nil {
		return
	}
	if day < p.total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	n := day * width / max(p.total, 1)
	fmt.Fprintf(p.w, "\r[%s%s] day %d/%d %s  learners %d, active %d ", strings.Repeat("#", n), strings.Repeat(".", width-n), day, p.total, date, entered, active)
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}

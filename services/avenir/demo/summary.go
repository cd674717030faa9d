package demo

import (
	"cmp"
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

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
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
	QualifOutcomes  int            // outcomes of Qualif trainings recorded after an exit to qualifying training
	ActiveAtEnd     int
	Analyses        int // needs analyses completed
	// Enrolments made, by kind (accompaniment at each entry, immersion-host
	// for each place in a session that started).
	Enrolments map[string]int

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

	LinesAccepted int // trainee-hour, group-hour and flat-fee lines accepted
	// Rejected: the lines the simulation got wrong on purpose (a line id
	// used twice, a session over the daily cap, a learner billed by an
	// operator it is not enrolled with, a line dated tomorrow, a needs
	// analysis's fee claimed by a second operator), rejected as meant, by
	// reason.
	Rejected map[string]int
	// Unexpected: lines due that were rejected, by reason, and mistakes
	// that were accepted ("accepted"). Empty in a sound run.
	Unexpected    map[string]int
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

	// The scheme seen whole: the funder's last complete month across every
	// contract (ListStatements), the programmes' budgets of the years of
	// the run (GetProgrammeBudget), and the simulation's own counts of what
	// pathway's figures must say (World's Beneficiaries, Entries,
	// ExitsByOperator, ImmersionsByHost).
	FunderMonth      FunderMonth
	ProgrammeBudgets []ProgrammeBudget
	Beneficiaries    []Beneficiaries
	Public           Public
	ExitsByOperator  map[string]map[pathwayv1.ExitReason]int
	ImmersionsByHost map[string]Immersions

	Elapsed time.Duration
	World   *World
}

// BudgetLine is a contract year's consumption.
type BudgetLine struct {
	OperatorID    string
	Programme     commonv1.FundingProgramme
	Reference     string
	Year          int
	EnvelopeCents int64
	ConsumedCents int64
	Percent       int
}

// FunderMonth is a month's statements across every contract, as one
// ListStatements call gives them to the funder.
type FunderMonth struct {
	Period civil.Month
	// Complete: the month's last day was simulated (else the run had no
	// complete month and this is its last one).
	Complete   bool
	Statements int
	ByStatus   map[string]int // open, reviewed, closed
	// ByProgramme: statements and billed cents by programme.
	ByProgramme map[commonv1.FundingProgramme]ProgrammeMonth
	BilledCents int64
	Lines       int
	Anomalies   int
	Late        int
}

// ProgrammeMonth is a programme's statements of a month.
type ProgrammeMonth struct {
	Statements  int
	BilledCents int64
}

// ProgrammeBudget is a programme's budget for a calendar year across its
// contracts.
type ProgrammeBudget struct {
	Programme         commonv1.FundingProgramme
	Year              int
	EnvelopeCents     int64
	Target            int  // beneficiaries
	SchemeDefault     bool // the scheme's figures, never set
	ConsumedCents     int64
	Percent           int
	ForecastCents     int64
	ForecastOverCents int64
	Contracts         int
}

func newSummary(o Options) *Summary {
	return &Summary{
		Seed: o.Seed, From: o.From, To: o.From.AddDays(o.Days - 1), Days: o.Days,
		ExitsByReason: map[string]int{}, Outcomes: map[string]int{}, Rejected: map[string]int{}, Unexpected: map[string]int{},
		FeesClaimed: map[string]int{}, Enrolments: map[string]int{},
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

func programmeName(p commonv1.FundingProgramme) string {
	switch p {
	case commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR:
		return "#Avenir"
	case commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION:
		return "#Action"
	}
	return kebab(p.String(), "FUNDING_PROGRAMME_")
}
func feeName(t fundingv1.FeeType) string { return kebab(t.String(), "FEE_TYPE_") }
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
	// The places of the sessions still to come.
	var coming []*Session
	for _, ss := range w.Sessions {
		if !ss.started {
			coming = append(coming, ss)
		}
	}
	if err := s.parallel(ctx, len(coming), func(ctx context.Context, i int) error {
		places, err := s.places(ctx, coming[i])
		coming[i].Places = places
		return err
	}); err != nil {
		return err
	}
	// Open statements.
	for _, c := range w.Contracts {
		for m := civil.MonthOf(s.opts.From); m.Compare(civil.MonthOf(s.today)) <= 0; m = m.Next() {
			k := stmtKey{c.ID, m}
			if s.books.isClosed(k) {
				continue
			}
			st, err := s.waitStatement(ctx, k)
			if err != nil {
				return err
			}
			s.books.open(k, st.GetTotals().GetAmountCents())
			sum.addTotals(st.GetTotals())
			sum.Anomalies += int(st.GetTotals().GetAnomalyCount())
		}
	}
	// Budgets of the contracts' years.
	contractFrom := civil.MonthOf(s.opts.From).First()
	for _, c := range w.Contracts {
		for year := 1; !contractFrom.AddDays(365 * (year - 1)).After(s.today); year++ {
			var b *fundingv1.Budget
			err := s.call(ctx, funderP, "get budget", func(ctx context.Context, o grpc.CallOption) error {
				resp, err := s.c.funding.GetBudget(ctx, &fundingv1.GetBudgetRequest{ContractId: c.ID, ContractYear: int32(year)}, o)
				b = resp.GetBudget()
				return err
			})
			if err != nil {
				return err
			}
			sum.Budgets = append(sum.Budgets, BudgetLine{
				OperatorID: c.OperatorID, Programme: c.Programme, Reference: c.Reference, Year: year, EnvelopeCents: b.GetEnvelopeCents(),
				ConsumedCents: b.GetConsumedCents(), Percent: int(b.GetConsumedPercent()),
			})
		}
	}
	if err := s.funderMonth(ctx); err != nil {
		return err
	}
	if err := s.programmeBudgets(ctx); err != nil {
		return err
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
	sum.Beneficiaries = w.Beneficiaries()
	sum.Public = w.Entries()
	sum.ExitsByOperator = w.ExitsByOperator()
	sum.ImmersionsByHost = w.ImmersionsByHost()
	return nil
}

// readModelSettling bounds how long the end of the run waits for the
// funder's read models to show the statements it knows.
const readModelSettling = 15 * time.Second

// funderMonth reads, as the funder, the statements of the run's last
// complete month across every contract in one call, once the read model
// shows every statement's billed amount and status as the run left them.
func (s *sim) funderMonth(ctx context.Context) error {
	w := s.world
	m, complete := civil.MonthOf(w.Last()), true
	if w.Last() != m.Last() {
		m = civil.MonthOf(m.First().AddDays(-1))
		if m.Compare(civil.MonthOf(w.From)) < 0 {
			m, complete = civil.MonthOf(w.Last()), false
		}
	}
	var ids []string
	for _, c := range w.Contracts {
		ids = append(ids, c.ID)
	}
	billed := s.books.billedIn(ids, m.Year, m.Month)
	var resp *fundingv1.ListStatementsResponse
	deadline := time.Now().Add(readModelSettling)
	for attempt := 0; ; attempt++ {
		err := s.call(ctx, funderP, "list statements", func(ctx context.Context, o grpc.CallOption) error {
			var err error
			resp, err = s.c.funding.ListStatements(ctx, &fundingv1.ListStatementsRequest{Period: periodOf(m), PageSize: 500}, o)
			return err
		})
		if err != nil {
			return err
		}
		settled := int(resp.GetStatementCount()) == len(w.Contracts) && resp.GetTotals().GetAmountCents() == billed && resp.GetNextPageToken() == ""
		for _, st := range resp.GetStatements() {
			closed := st.GetStatus() == fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED
			settled = settled && closed == s.books.isClosed(stmtKey{st.GetContractId(), m})
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			s.log.Warn("the funder's month is not caught up", "period", m, "statements", resp.GetStatementCount(), "contracts", len(w.Contracts),
				"billed", resp.GetTotals().GetAmountCents(), "expected", billed)
			break
		}
		if err := settle(ctx, attempt); err != nil {
			return err
		}
	}
	fm := FunderMonth{
		Period: m, Complete: complete, Statements: int(resp.GetStatementCount()), ByStatus: map[string]int{},
		ByProgramme: map[commonv1.FundingProgramme]ProgrammeMonth{}, BilledCents: resp.GetTotals().GetAmountCents(),
	}
	for _, st := range resp.GetStatements() {
		fm.ByStatus[kebab(st.GetStatus().String(), "STATEMENT_STATUS_")]++
		pm := fm.ByProgramme[st.GetProgramme()]
		pm.Statements++
		pm.BilledCents += st.GetTotals().GetAmountCents()
		fm.ByProgramme[st.GetProgramme()] = pm
		fm.Lines += int(st.GetLineCount())
		fm.Anomalies += int(st.GetAnomalyCount())
		fm.Late += int(st.GetLateCount())
	}
	s.sum.FunderMonth = fm
	return nil
}

// programmeBudgets reads, as the funder, each programme's budget for the
// calendar years of the run, once the read model shows what the run's
// statements billed.
func (s *sim) programmeBudgets(ctx context.Context) error {
	w := s.world
	for year := w.From.Year; year <= w.Last().Year; year++ {
		for _, p := range []commonv1.FundingProgramme{commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR, commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION} {
			var ids []string
			for _, c := range w.contractsOf(p) {
				ids = append(ids, c.ID)
			}
			billed := s.books.billedIn(ids, year, 0)
			var b *fundingv1.ProgrammeBudget
			deadline := time.Now().Add(readModelSettling)
			for attempt := 0; ; attempt++ {
				err := s.call(ctx, funderP, "get programme budget", func(ctx context.Context, o grpc.CallOption) error {
					resp, err := s.c.funding.GetProgrammeBudget(ctx, &fundingv1.GetProgrammeBudgetRequest{Programme: p, Year: int32(year)}, o)
					b = resp.GetBudget()
					return err
				})
				if err != nil {
					return err
				}
				if b.GetConsumedCents() == billed {
					break
				}
				if time.Now().After(deadline) {
					s.log.Warn("the programme's budget is not caught up", "programme", p, "year", year, "consumed", b.GetConsumedCents(), "expected", billed)
					break
				}
				if err := settle(ctx, attempt); err != nil {
					return err
				}
			}
			y := b.GetProgrammeYear()
			s.sum.ProgrammeBudgets = append(s.sum.ProgrammeBudgets, ProgrammeBudget{
				Programme: p, Year: year, EnvelopeCents: y.GetEnvelopeCents(), Target: int(y.GetBeneficiariesTarget()), SchemeDefault: y.GetSchemeDefault(),
				ConsumedCents: b.GetConsumedCents(), Percent: int(b.GetConsumedPercent()), ForecastCents: b.GetForecastCents(),
				ForecastOverCents: b.GetForecastOverCents(), Contracts: int(b.GetContractCount()),
			})
		}
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
	p("  enrolments\t%s", counts(s.Enrolments))
	p("  needs analyses completed\t%d", s.Analyses)
	p("  exited\t%d (%d recorded late)", s.Exits, s.LateExits)
	p("  Qualif outcomes after the exit\t%d", s.QualifOutcomes)
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
	p("  mistakes made on purpose, rejected\t%d", total(s.Rejected))
	for _, k := range sortedKeys(s.Rejected) {
		p("    %s\t%d", k, s.Rejected[k])
	}
	p("  unexpected (due lines rejected, mistakes accepted)\t%d", total(s.Unexpected))
	for _, k := range sortedKeys(s.Unexpected) {
		p("    %s\t%d", k, s.Unexpected[k])
	}
	p("  anomalies (late exits)\t%d approved, %d open", s.AnomaliesApproved, s.Anomalies)
	p("  rejected on review\t%d", s.ReviewRejected)
	p("  statements closed\t%d", s.StatementsClosed)
	p("")
	fm := s.FunderMonth
	title := "The funder's month"
	if !fm.Complete {
		title += " (not over)"
	}
	p("%s, %s, in one call\t", title, fm.Period)
	var statuses []string
	for _, k := range sortedKeys(fm.ByStatus) {
		statuses = append(statuses, fmt.Sprintf("%d %s", fm.ByStatus[k], k))
	}
	p("  statements\t%d (%s)", fm.Statements, strings.Join(statuses, ", "))
	for _, prog := range slices.Sorted(maps.Keys(fm.ByProgramme)) {
		pm := fm.ByProgramme[prog]
		p("    %s\t%d\t%s", programmeName(prog), pm.Statements, euros(pm.BilledCents))
	}
	p("  billed\t\t%s", euros(fm.BilledCents))
	p("  lines\t%d (%d late, %d anomalies)", fm.Lines, fm.Late, fm.Anomalies)
	p("")
	p("Programmes\t")
	for _, b := range s.ProgrammeBudgets {
		over := "within the envelope"
		if b.ForecastOverCents > 0 {
			over = "over the envelope by " + euros(b.ForecastOverCents)
		}
		p("  %s %d\t%s of %s\t%d %%, forecast %s, %s (%d contracts)", programmeName(b.Programme), b.Year, euros(b.ConsumedCents), euros(b.EnvelopeCents),
			b.Percent, euros(b.ForecastCents), over, b.Contracts)
	}
	for _, b := range s.Beneficiaries {
		target := ""
		for _, pb := range s.ProgrammeBudgets {
			if pb.Programme == b.Programme && pb.Year == b.Year && pb.Target > 0 {
				target = fmt.Sprintf(" of %d (%d %%)", pb.Target, b.Learners*100/pb.Target)
			}
		}
		p("  %s %d beneficiaries\t%d%s", programmeName(b.Programme), b.Year, b.Learners, target)
	}
	p("")
	pub := s.Public
	p("Entries by public\t%d", pub.Entries)
	for _, c := range []struct {
		name string
		n    int
	}{{"RQTH", pub.RQTH}, {"QPV", pub.QPV}, {"ZRR", pub.ZRR}, {"RSA", pub.RSA}} {
		p("  %s\t%d\t%s", c.name, c.n, percent(int64(c.n), int64(pub.Entries)))
	}
	for _, band := range slices.Sorted(maps.Keys(pub.AgeBands)) {
		p("  age %s\t%d\t%s", kebab(band.String(), "AGE_BAND_"), pub.AgeBands[band], percent(int64(pub.AgeBands[band]), int64(pub.Entries)))
	}
	for _, level := range slices.Sorted(maps.Keys(pub.Education)) {
		name := kebab(level.String(), "EDUCATION_LEVEL_")
		if name[0] >= '0' && name[0] <= '9' {
			name = "level " + name
		}
		p("  education %s\t%d\t%s", name, pub.Education[level], percent(int64(pub.Education[level]), int64(pub.Entries)))
	}
	p("")
	p("Outcomes per operator\texits\temployment\ttraining\tabandonment\tother\timmersions hosted\tcompleted\tpartially")
	operators := map[string]bool{}
	for op := range s.ExitsByOperator {
		operators[op] = true
	}
	for op := range s.ImmersionsByHost {
		operators[op] = true
	}
	for _, op := range slices.Sorted(maps.Keys(operators)) {
		groups := map[string]int{}
		n := 0
		for reason, c := range s.ExitsByOperator[op] {
			groups[exitGroup(reason)] += c
			n += c
		}
		im := s.ImmersionsByHost[op]
		name := op
		if name == "" {
			name = "(none)"
		}
		p("  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d", name, n, groups["employment"], groups["training"], groups["abandonment"], groups["other"],
			im.WithOutcome, im.Completed, im.Partial)
	}
	p("")
	p("Contract budgets\t#Avenir\t\t#Action\t")
	type opYear struct {
		op   string
		year int
	}
	var rows []opYear
	cells := map[opYear]map[commonv1.FundingProgramme]BudgetLine{}
	for _, b := range s.Budgets {
		k := opYear{b.OperatorID, b.Year}
		if cells[k] == nil {
			cells[k] = map[commonv1.FundingProgramme]BudgetLine{}
			rows = append(rows, k)
		}
		cells[k][b.Programme] = b
	}
	slices.SortFunc(rows, func(a, b opYear) int { return cmp.Or(cmp.Compare(a.op, b.op), cmp.Compare(a.year, b.year)) })
	for _, k := range rows {
		line := fmt.Sprintf("  %s year %d", k.op, k.year)
		for _, prog := range []commonv1.FundingProgramme{commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR, commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION} {
			if b, ok := cells[k][prog]; ok {
				line += fmt.Sprintf("\t%s of %s\t%d %%", euros(b.ConsumedCents), euros(b.EnvelopeCents), b.Percent)
			} else {
				line += "\t–\t"
			}
		}
		p("%s", line)
	}
	if s.Elapsed > 0 {
		p("")
		p("Simulated in %s", s.Elapsed.Round(time.Millisecond))
	}
	return tw.Flush()
}

// exitGroup gathers exit reasons for the table of outcomes.
func exitGroup(r pathwayv1.ExitReason) string {
	switch r {
	case pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG,
		pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_TEMPORARY_AGENCY,
		pathwayv1.ExitReason_EXIT_REASON_SELF_EMPLOYED:
		return "employment"
	case pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, pathwayv1.ExitReason_EXIT_REASON_OTHER_TRAINING:
		return "training"
	case pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT:
		return "abandonment"
	}
	return "other"
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// counts prints a count by name: "12 a, 3 b".
func counts(m map[string]int) string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, fmt.Sprintf("%d %s", m[k], k))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
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

package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/grpc"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// MaxRejectedInStream bounds the rejected lines a streamed report answers.
const MaxRejectedInStream = 100_000

func lineFromProto(index int, l *fundingv1.ReportedLine) domain.ReportedLine {
	return domain.ReportedLine{
		Index: index, ID: l.GetOperatorLineId(), LearnerID: l.GetLearnerId(), Date: civilpb.Date(l.GetDate()),
		Minutes: int(l.GetMinutes()), Activity: domain.Activity(l.GetActivity()),
	}
}

// checkLearner is the service's own check of a reported line: learner ids
// are canonical UUIDs.
func checkLearner(ln domain.ReportedLine) string {
	if problem := ident.CheckID(ln.LearnerID); problem != "" {
		return "learner_id " + problem
	}
	return ""
}

// ReportTraineeHours implements fundingv1.FundingServiceServer.
func (s *Service) ReportTraineeHours(ctx context.Context, req *fundingv1.ReportTraineeHoursRequest) (*fundingv1.ReportTraineeHoursResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "contract_id", req.GetContractId())
	if n := len(req.GetLines()); n < 1 || n > domain.MaxBatchLines {
		v.Addf("lines", "1 to %d lines per call (ReportTraineeHoursStream takes more)", domain.MaxBatchLines)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), reports)
	if err != nil {
		return nil, err
	}
	lines := make([]domain.ReportedLine, len(req.GetLines()))
	for i, l := range req.GetLines() {
		lines[i] = lineFromProto(i, l)
	}
	out, err := s.report(ctx, c, req.GetRequestId(), lines)
	if err != nil {
		return nil, err
	}
	resp := &fundingv1.ReportTraineeHoursResponse{
		Results: make([]*fundingv1.LineResult, len(out.results)), Accepted: int32(out.accepted), Rejected: int32(out.rejected),
		AcceptedAmountCents: out.amount, BudgetWarning: out.warning,
	}
	for i, r := range out.results {
		resp.Results[i] = resultToProto(r)
	}
	return resp, nil
}

// ReportTraineeHoursStream implements fundingv1.FundingServiceServer. Lines
// are decided in batches of up to 10,000 as they arrive, whatever the
// chunks' sizes (a batch's request id is request_id and the position of
// its first line, so the same file sent again replays the same batches),
// and only the rejected lines are kept for the answer.
func (s *Service) ReportTraineeHoursStream(stream grpc.ClientStreamingServer[fundingv1.ReportTraineeHoursStreamRequest, fundingv1.ReportTraineeHoursStreamResponse]) error {
	ctx := stream.Context()
	var (
		requestID string
		c         domain.Contract
		pending   []domain.ReportedLine
		offset    int // index of pending[0] in the stream
		received  int
	)
	resp := &fundingv1.ReportTraineeHoursStreamResponse{}
	flush := func(n int) error {
		out, err := s.report(ctx, c, requestID+"/"+strconv.Itoa(offset), pending[:n])
		if err != nil {
			return err
		}
		resp.Accepted += int32(out.accepted)
		resp.Rejected += int32(out.rejected)
		resp.AcceptedAmountCents += out.amount
		resp.BudgetWarning = resp.BudgetWarning || out.warning
		for _, r := range out.results {
			if r.Accepted {
				continue
			}
			if len(resp.RejectedLines) >= MaxRejectedInStream {
				resp.RejectedTruncated = true
				continue
			}
			resp.RejectedLines = append(resp.RejectedLines, resultToProto(r))
		}
		pending = slices.Clone(pending[n:])
		offset += n
		return nil
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		resp.Chunks++
		var v apperr.Violations
		if resp.Chunks == 1 {
			ident.RequestID(&v, req.GetRequestId())
			ident.ID(&v, "contract_id", req.GetContractId())
		} else {
			if id := req.GetRequestId(); id != "" && id != requestID {
				v.Addf("request_id", "chunk %d names another request than the first chunk", resp.Chunks-1)
			}
			if id := req.GetContractId(); id != "" && id != c.ID {
				v.Addf("contract_id", "chunk %d names another contract than the first chunk", resp.Chunks-1)
			}
		}
		if len(req.GetLines()) > domain.MaxBatchLines {
			v.Addf("lines", "at most %d lines per chunk", domain.MaxBatchLines)
		}
		if err := v.Err(); err != nil {
			return err
		}
		if resp.Chunks == 1 {
			requestID = req.GetRequestId()
			if c, err = s.contractFor(ctx, req.GetContractId(), reports); err != nil {
				return err
			}
		}
		for _, l := range req.GetLines() {
			pending = append(pending, lineFromProto(received, l))
			received++
		}
		for len(pending) >= domain.MaxBatchLines {
			if err := flush(domain.MaxBatchLines); err != nil {
				return err
			}
		}
	}
	if resp.Chunks == 0 {
		return apperr.Invalid(apperr.FieldViolation{Field: "request_id", Description: "is required: the stream sent no chunk"})
	}
	if len(pending) > 0 {
		if err := flush(len(pending)); err != nil {
			return err
		}
	}
	return stream.SendAndClose(resp)
}

// reportOutcome is the fate of one report's lines.
type reportOutcome struct {
	results            []domain.Result // in line order
	accepted, rejected int
	amount             int64 // of the lines accepted by this report
	warning            bool
}

// report decides a report's lines: split by ledger (learner, ISO week),
// each ledger decided and appended alone with domain.DecideHours, up to
// Config.Workers at once. The caps are exact under concurrency, since each
// is decided by one aggregate (commands of this process on a ledger queue,
// other processes' conflict and retry). Enrolment, closed periods, line
// ids used elsewhere in the contract and the budget come from the read
// models. A request already applied to a ledger answers what it answered.
func (s *Service) report(ctx context.Context, c domain.Contract, requestID string, lines []domain.ReportedLine) (reportOutcome, error) {
	groups, results := domain.SplitReport(lines, checkLearner)
	var learners, ids []string
	for _, g := range groups {
		learners = append(learners, g.LearnerID)
		for _, l := range g.Lines {
			ids = append(ids, l.ID)
		}
	}
	enrolled, _, err := s.enrolment(ctx, learners)
	if err != nil {
		return reportOutcome{}, err
	}
	owners, err := s.owners(ctx, c.ID, ids)
	if err != nil {
		return reportOutcome{}, err
	}
	snap, err := s.snapshot(ctx, c.ID)
	if err != nil {
		return reportOutcome{}, err
	}

	var (
		mu      sync.Mutex
		spent   = map[int]int64{} // accepted by this report, per contract year
		perLine = make([][]domain.Result, len(groups))
	)
	budget := func() *domain.Budget {
		mu.Lock()
		defer mu.Unlock()
		b := budgetOf(c.Terms, snap.Used)
		for y, n := range spent {
			b.Used[y] += n
		}
		return b
	}
	meta := s.deps.Command(ctx, requestID)
	err = s.parallel(ctx, len(groups), func(ctx context.Context, i int) error {
		g := groups[i]
		ledgerID := hoursLedgerID(c.ID, g.LearnerID, g.Week)
		cmd := domain.ReportHours{
			LedgerID: ledgerID, ContractID: c.ID, LearnerID: g.LearnerID, RequestID: requestID, Week: g.Week,
			Terms: c.Terms, Lines: g.Lines, Enrolment: enrolled, Closed: snap.Closed,
			TakenElsewhere: takenElsewhere(owners, hoursOwner(ledgerID)),
		}
		var decided []domain.Result
		out, err := s.hours.Execute(ctx, ledgerID, meta, func(l *domain.HoursLedger) ([]domain.Event, error) {
			cmd.Budget = budget()
			evs, rs := domain.DecideHours(l, cmd)
			decided = rs
			return evs, nil
		})
		if err != nil {
			return err
		}
		if out.Replayed {
			decided = replayedHours(out, cmd, budget())
		}
		mu.Lock()
		defer mu.Unlock()
		perLine[i] = decided
		if !out.Replayed {
			for _, r := range decided {
				if r.Accepted && !r.Already {
					spent[c.Terms.PeriodYear(r.Period)] += r.AmountCts
				}
			}
		}
		return nil
	})
	if err != nil {
		return reportOutcome{}, err
	}
	for _, rs := range perLine {
		results = append(results, rs...)
	}
	slices.SortFunc(results, func(a, b domain.Result) int { return cmp.Compare(a.Index, b.Index) })
	out := reportOutcome{results: results}
	years := map[int]bool{}
	for _, r := range results {
		if !r.Accepted {
			out.rejected++
			continue
		}
		out.accepted++
		years[c.Terms.PeriodYear(r.Period)] = true
		if !r.Already {
			out.amount += r.AmountCts
		}
	}
	for y := range years {
		if (snap.Used[y]+spent[y])*100 >= domain.WarningPercent*c.Terms.AnnualEnvelopeCents {
			out.warning = true
		}
	}
	return out, nil
}

// replayedHours answers a report already applied to a ledger as its first
// run answered: its lines decided again on the ledger as it stood before
// the report (the outcome's history up to the report's first event), the
// lines it stored answered as stored.
func replayedHours(out eventstore.Outcome[*domain.HoursLedger, domain.Event], cmd domain.ReportHours, budget *domain.Budget) []domain.Result {
	first := out.Stored[0].Sequence
	var before []event.Event
	for _, ev := range out.History {
		if ev.Sequence < first {
			before = append(before, ev)
		}
	}
	cmd.Budget = budget
	_, rs := domain.DecideHours(hoursKind.Fold(before), cmd)
	stored := map[string]domain.HourLine{}
	for _, e := range out.Events {
		if r, ok := e.(domain.TraineeHoursReported); ok {
			for _, l := range r.Lines {
				stored[l.ID] = l
			}
		}
	}
	for i, r := range rs {
		if l, ok := stored[r.LineID]; ok {
			rs[i] = domain.Result{Index: r.Index, LineID: r.LineID, Accepted: true, Period: l.Period, Late: l.Late, AmountCts: l.Amount}
		}
	}
	return rs
}

// parallel runs job for 0..n-1 on up to Config.Workers goroutines; the
// first error cancels the others' context and is returned.
func (s *Service) parallel(ctx context.Context, n int, job func(context.Context, int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, s.cfg.Workers) {
		wg.Go(func() {
			for i := range next {
				if err := job(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// CorrectLine implements fundingv1.FundingServiceServer: the correction is
// a new event of the corrected line's ledger.
func (s *Service) CorrectLine(ctx context.Context, req *fundingv1.CorrectLineRequest) (*fundingv1.CorrectLineResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "contract_id", req.GetContractId())
	ident.ID(&v, "learner_id", req.GetLearnerId())
	day := civilpb.Date(req.GetDate())
	if !day.Valid() {
		v.Add("date", "is required: the date of the line corrected")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), reports)
	if err != nil {
		return nil, err
	}
	learner := req.GetLearnerId()
	enrolled, _, err := s.enrolment(ctx, []string{learner})
	if err != nil {
		return nil, err
	}
	owners, err := s.owners(ctx, c.ID, []string{req.GetOperatorLineId()})
	if err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	ledgerID := hoursLedgerID(c.ID, learner, domain.WeekOf(day))
	cmd := domain.CorrectLine{
		LedgerID: ledgerID, ContractID: c.ID, LearnerID: learner, CorrectsID: req.GetCorrectsLineId(), LineID: req.GetOperatorLineId(),
		Minutes: int(req.GetMinutes()), Activity: domain.Activity(req.GetActivity()), Reason: req.GetReason(), Terms: c.Terms,
		Enrolment: enrolled, Closed: snap.Closed, TakenElsewhere: takenElsewhere(owners, hoursOwner(ledgerID)),
	}
	var result domain.Result
	out, err := s.hours.Execute(ctx, ledgerID, s.deps.Command(ctx, req.GetRequestId()), func(l *domain.HoursLedger) ([]domain.Event, error) {
		cmd.Budget = budgetOf(c.Terms, snap.Used)
		evs, r, err := domain.DecideCorrection(l, cmd)
		result = r
		return evs, err
	})
	if err != nil {
		return nil, err
	}
	if out.Replayed {
		for _, e := range out.Events {
			if co, ok := e.(domain.TraineeLineCorrected); ok {
				result = domain.Result{LineID: co.LineID, Accepted: true, Period: co.Period, Late: co.Late, AmountCts: co.Delta}
			}
		}
	}
	return &fundingv1.CorrectLineResponse{Result: resultToProto(result), AmountDeltaCents: result.AmountCts}, nil
}

// onExitBackdated re-evaluates the trainee hours of a learner whose exit
// was recorded late: in each of its ledgers from the exit's week on, the
// accepted lines dated after the exit on a day it was not enrolled become
// anomalies on the open statement (domain.DecideFlag); nothing is deleted.
// The learners read model already knows the exit (the consumer comes after
// it). Request ids derive from the consumed event, so a redelivery changes
// nothing.
func (s *Service) onExitBackdated(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*pathwayv1.ExitBackdated)
	if !ok {
		return nil
	}
	learner, exit := m.GetLearnerId(), civilpb.Date(m.GetExitDate())
	if !exit.Valid() {
		s.log.WarnContext(ctx, "back-dated exit without a valid exit date, ignored", "learner_id", learner, "event_id", ev.ID)
		return nil
	}
	// The books must know every ledger stored so far.
	last, err := s.lastSequence(ctx, Stream)
	if err != nil {
		return err
	}
	if err := s.waitBooks(ctx, last); err != nil {
		return err
	}
	enrolled, _, err := s.enrolment(ctx, []string{learner})
	if err != nil {
		return err
	}
	from := domain.WeekOf(exit)
	type ledger struct{ contract, id string }
	var ledgers []ledger
	err = projection.Scan(ctx, s.store, booksProjection, learnerLedgersIndex(learner), projection.RangeQuery{Limit: scanPage}, func(members []string) (bool, error) {
		for _, mb := range members {
			c, w, id, ok := splitMember(mb)
			if !ok || w.Year < from.Year || (w.Year == from.Year && w.Week < from.Week) {
				continue
			}
			ledgers = append(ledgers, ledger{c, id})
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	contracts := map[string]domain.Contract{}
	snaps := map[string]snapshot{}
	meta := eventstore.Command{RequestID: "exit/" + ev.ID, Actor: "service:" + Name, Time: s.deps.Now()}
	flagged := 0
	for _, l := range ledgers {
		c, ok := contracts[l.contract]
		if !ok {
			loaded, err := s.contracts.Load(ctx, l.contract)
			if err != nil {
				return err
			}
			c = loaded.State
			contracts[l.contract] = c
			if snaps[l.contract], err = s.snapshot(ctx, l.contract); err != nil {
				return err
			}
		}
		cmd := domain.FlagUnenrolled{
			ExitDate: exit, Episode: int(m.GetEpisodeNumber()), Enrolment: enrolled, Terms: c.Terms,
			Closed: snaps[l.contract].Closed, Today: s.deps.Today(),
		}
		out, err := s.hours.Execute(ctx, l.id, meta, func(l *domain.HoursLedger) ([]domain.Event, error) {
			return domain.DecideFlag(l, cmd), nil
		})
		if err != nil {
			return fmt.Errorf("funding: flag ledger %s: %w", l.id, err)
		}
		for _, e := range out.Events {
			if f, ok := e.(domain.TraineeLinesFlagged); ok && !out.Replayed {
				flagged += len(f.LineIDs)
			}
		}
	}
	if flagged > 0 {
		s.log.InfoContext(ctx, "back-dated exit turned lines into anomalies", "learner_id", learner, "exit_date", exit.String(), "lines", flagged)
	}
	return nil
}

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
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/ident"
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

// commandID scopes a client's request id by contract: the learners'
// ledgers are shared by every contract, and two operators (or one, on two
// contracts) may well use the same request id.
func commandID(contractID, requestID string) string { return contractID + "/" + requestID }

// report decides a report's lines: split by ledger (learner, ISO week),
// each ledger decided and appended alone with domain.DecideHours, up to
// Config.Workers at once. The caps, the scheme's across contracts and the
// contract's own, are exact under concurrency, since they are decided by
// the learner's one ledger of the week, whatever the contract (commands of
// this process on a ledger queue, other processes' conflict and retry);
// the former ledgers of one contract, learner and week are read with it.
// Enrolments, territories, immersion days, closed periods, line ids used
// elsewhere in the contract and the budget come from the read models. A
// request already applied to a ledger answers what it answered.
func (s *Service) report(ctx context.Context, c domain.Contract, requestID string, lines []domain.ReportedLine) (reportOutcome, error) {
	groups, results := domain.SplitReport(lines, checkLearner)
	var learners, ids []string
	for _, g := range groups {
		learners = append(learners, g.LearnerID)
		for _, l := range g.Lines {
			ids = append(ids, l.ID)
		}
	}
	placed, _, err := s.placements(ctx, learners, true)
	if err != nil {
		return reportOutcome{}, err
	}
	former, err := s.formerLedgers(ctx, learners)
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
	today := s.deps.Today()
	meta := s.deps.Command(ctx, commandID(c.ID, requestID))
	err = s.parallel(ctx, len(groups), func(ctx context.Context, i int) error {
		g := groups[i]
		ledgerID := hoursLedgerID(g.LearnerID, g.Week)
		cmd := domain.ReportHours{
			LedgerID: ledgerID, ContractID: c.ID, LearnerID: g.LearnerID, RequestID: requestID, Week: g.Week,
			Terms: c.Terms, Lines: g.Lines, Learner: placed.Get(g.LearnerID), Closed: snap.Closed,
			TakenElsewhere: takenElsewhere(owners, hoursOwner(ledgerID)), Today: today,
		}
		var decided []domain.Result
		out, err := s.executeHours(ctx, ledgerID, former[domain.LedgerBatchKey{LearnerID: g.LearnerID, Week: g.Week}], meta, func(l *domain.HoursLedger) ([]domain.Event, error) {
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

// hoursOutcome is the outcome of a command on a learner's ledger of a
// week, with the events of the former ledgers read with it.
type hoursOutcome struct {
	eventstore.Outcome[*domain.HoursLedger, domain.Event]
	former []event.Event
}

// executeHours runs a command on a learner's ledger of a week: the ledger
// is decided on with the lines of the former ledgers of the same learner
// and week (one contract's each), loaded read-only in the decision — they
// are never appended to any more — so that their lines count against the
// caps and can be corrected and flagged; every new event goes to the
// learner's ledger.
func (s *Service) executeHours(ctx context.Context, ledgerID string, former []string, meta eventstore.Command, decide func(*domain.HoursLedger) ([]domain.Event, error)) (hoursOutcome, error) {
	filters := []string{hoursKind.Filter(ledgerID)}
	for _, id := range former {
		filters = append(filters, hoursKind.Filter(id))
	}
	res, err := s.hours.Store().ExecuteAll(ctx, Stream, filters, meta, func(hs []eventstore.History) ([]event.Draft, error) {
		evs, err := decide(hoursKind.Fold(merged(hs[1:], hs[0].Events)))
		if err != nil || len(evs) == 0 {
			return nil, err
		}
		return hoursKind.Encode(evs)
	})
	if err != nil {
		return hoursOutcome{}, err
	}
	return hoursOutcome{Outcome: s.hours.Outcome(ledgerID, res), former: merged(res.Histories[1:], nil)}, nil
}

// merged is the former ledgers' events, in stream order, then own.
func merged(former []eventstore.History, own []event.Event) []event.Event {
	var out []event.Event
	for _, h := range former {
		out = append(out, h.Events...)
	}
	slices.SortFunc(out, func(a, b event.Event) int { return cmp.Compare(a.Sequence, b.Sequence) })
	return append(out, own...)
}

// replayedHours answers a report already applied to a ledger as its first
// run answered: its lines decided again on the ledger as it stood before
// the report (the former ledgers and the outcome's history up to the
// report's first event), the lines it stored answered as stored.
func replayedHours(out hoursOutcome, cmd domain.ReportHours, budget *domain.Budget) []domain.Result {
	first := out.Stored[0].Sequence
	var before []event.Event
	for _, ev := range out.History {
		if ev.Sequence < first {
			before = append(before, ev)
		}
	}
	cmd.Budget = budget
	_, rs := domain.DecideHours(hoursKind.Fold(append(slices.Clone(out.former), before...)), cmd)
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
// a new event of the learner's ledger of the corrected line's week. Its
// reason is personal data, sealed with the learner's key: once the
// learner's personal data is erased, corrections are refused
// (FailedPrecondition LEARNER_ERASED).
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
	placed, _, err := s.placements(ctx, []string{learner}, true)
	if err != nil {
		return nil, err
	}
	former, err := s.formerLedgers(ctx, []string{learner})
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
	week := domain.WeekOf(day)
	ledgerID := hoursLedgerID(learner, week)
	cmd := domain.CorrectLine{
		LedgerID: ledgerID, ContractID: c.ID, LearnerID: learner, CorrectsID: req.GetCorrectsLineId(), LineID: req.GetOperatorLineId(),
		Minutes: int(req.GetMinutes()), Activity: domain.Activity(req.GetActivity()), Reason: req.GetReason(), Terms: c.Terms,
		Learner: placed.Get(learner), Closed: snap.Closed, TakenElsewhere: takenElsewhere(owners, hoursOwner(ledgerID)), Today: s.deps.Today(),
	}
	var result domain.Result
	meta := s.deps.Command(ctx, commandID(c.ID, req.GetRequestId()))
	out, err := s.executeHours(ctx, ledgerID, former[domain.LedgerBatchKey{LearnerID: learner, Week: week}], meta, func(l *domain.HoursLedger) ([]domain.Event, error) {
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
// accepted lines dated after the exit on a day it was in no episode become
// anomalies on the open statement (domain.DecideFlag, EXIT_BACKDATED);
// nothing is deleted. The learners read model already knows the exit (the
// consumer comes after it). Request ids derive from the consumed event, so
// a redelivery changes nothing.
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
	return s.flag(ctx, "exit/"+ev.ID, learner, exit, "", domain.AnomalyExitBackdated, int(m.GetEpisodeNumber()),
		func(l domain.Learner, _ string, day civil.Date) bool { return l.InScheme(day) })
}

// onEnrolmentEnded re-evaluates the trainee hours of a learner under the
// contract of an enrolment that ended: the accepted lines of the contract
// dated after its last day, on a day no enrolment with the contract
// covers, become anomalies (ENROLMENT_ENDED). An enrolment ended by the
// learner's exit is left to the back-dated exit (its lines after the exit
// are EXIT_BACKDATED anomalies; an exit recorded on its day leaves no line
// after it, lines being never dated after today).
func (s *Service) onEnrolmentEnded(ctx context.Context, ev event.Event) error {
	m, ok := ev.Data.(*pathwayv1.EnrolmentEnded)
	if !ok || m.GetReason() == pathwayv1.EnrolmentEndReason_ENROLMENT_END_REASON_PATHWAY_EXIT {
		return nil
	}
	learner, last := m.GetLearnerId(), civilpb.Date(m.GetToDate())
	if !last.Valid() {
		s.log.WarnContext(ctx, "enrolment ended without a valid last day, ignored", "learner_id", learner, "event_id", ev.ID)
		return nil
	}
	return s.flag(ctx, "enrolment-ended/"+ev.ID, learner, last, m.GetContractId(), domain.AnomalyEnrolmentEnded, int(m.GetEpisodeNumber()),
		func(l domain.Learner, contract string, day civil.Date) bool { return l.EnrolledWith(contract, day) })
}

// flag turns a learner's accepted lines dated after a day (of one contract,
// or any when contract is "") that are no longer billable into anomalies,
// in each of its ledgers of the weeks from that day's on.
func (s *Service) flag(ctx context.Context, requestID, learner string, after civil.Date, contract string, reason domain.Anomaly, episode int,
	billable func(l domain.Learner, contract string, day civil.Date) bool) error {
	// The books must know every ledger stored so far.
	last, err := s.lastSequence(ctx, Stream)
	if err != nil {
		return err
	}
	if err := s.waitBooks(ctx, last); err != nil {
		return err
	}
	placed, _, err := s.placements(ctx, []string{learner}, false)
	if err != nil {
		return err
	}
	l := placed.Get(learner)
	weeks, err := s.learnerWeeks(ctx, learner, domain.WeekOf(after))
	if err != nil {
		return err
	}
	closed := map[string]domain.Closed{}
	for _, w := range weeks {
		for _, c := range w.contracts {
			if _, ok := closed[c]; ok || (contract != "" && c != contract) {
				continue
			}
			snap, err := s.snapshot(ctx, c)
			if err != nil {
				return err
			}
			closed[c] = snap.Closed
		}
	}
	meta := eventstore.Command{RequestID: requestID, Actor: "service:" + Name, Time: s.deps.Now()}
	flagged := 0
	for _, w := range weeks {
		if contract != "" && !slices.Contains(w.contracts, contract) {
			continue
		}
		ledgerID := hoursLedgerID(learner, w.week)
		cmd := domain.FlagLines{
			LedgerID: ledgerID, After: after, ContractID: contract, Reason: reason, Episode: episode, Today: s.deps.Today(),
			Billable: func(c string, day civil.Date) bool { return billable(l, c, day) },
			Closed:   func(c string) domain.Closed { return closed[c] },
		}
		out, err := s.executeHours(ctx, ledgerID, w.former, meta, func(l *domain.HoursLedger) ([]domain.Event, error) {
			return domain.DecideFlag(l, cmd), nil
		})
		if err != nil {
			return fmt.Errorf("funding: flag ledger %s: %w", ledgerID, err)
		}
		for _, e := range out.Events {
			if f, ok := e.(domain.TraineeLinesFlagged); ok && !out.Replayed {
				flagged += len(f.LineIDs)
			}
		}
	}
	if flagged > 0 {
		s.log.InfoContext(ctx, "lines turned into anomalies", "learner_id", learner, "after", after.String(), "reason", int(reason), "lines", flagged)
	}
	return nil
}

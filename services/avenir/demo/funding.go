package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"time"

	"google.golang.org/grpc"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// ---- flat fees ----------------------------------------------------------------

// fees: operators claim the flat fees whose facts happened.
func (s *sim) fees(ctx context.Context) error {
	var due []*pendingFee
	for _, l := range s.world.Learners {
		for i := range l.plan.fees {
			if !l.plan.fees[i].due.After(s.today) {
				due = append(due, &l.plan.fees[i])
			}
		}
	}
	done := make([]bool, len(due))
	rivals := make([]*pendingFee, len(due))
	err := s.parallel(ctx, len(due), func(ctx context.Context, i int) error {
		ok, rival, err := s.claim(ctx, due[i])
		done[i], rivals[i] = ok, rival
		return err
	})
	if err != nil {
		return err
	}
	for _, l := range s.world.Learners {
		l.plan.fees = slices.DeleteFunc(l.plan.fees, func(f pendingFee) bool {
			for i, d := range due {
				if d.learner == f.learner && d.typ == f.typ && d.ref == f.ref {
					return done[i]
				}
			}
			return false
		})
	}
	for _, r := range rivals {
		if r != nil {
			r.learner.plan.fees = append(r.learner.plan.fees, *r)
		}
	}
	return nil
}

// claim claims a fee; false: try again tomorrow. Now and then, once a
// needs analysis's fee is paid, another operator of the learner's
// territory claims it too the next day (a mistake made on purpose, the
// rival fee returned): a fact pays its fee once.
func (s *sim) claim(ctx context.Context, f *pendingFee) (bool, *pendingFee, error) {
	l, op := f.learner, f.op
	lineID := fmt.Sprintf("F-%d-%d-%s", l.Index, int(f.typ), f.ref)
	var res *fundingv1.LineResult
	for attempt := 0; ; attempt++ {
		err := s.call(ctx, operatorP(op), "claim fee", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.funding.ClaimFlatFee(ctx, &fundingv1.ClaimFlatFeeRequest{
				RequestId: s.rid("fee", lineID, f.tries, attempt), ContractId: f.contract, LearnerId: l.ID,
				FeeType: f.typ, OperatorLineId: lineID,
			}, o)
			res = resp.GetResult()
			return err
		})
		if err != nil {
			return false, nil, err
		}
		if res.GetAccepted() || res.GetReason() == f.expect || !settling(res.GetReason()) || attempt >= 8 {
			break
		}
		if err := settle(ctx, attempt); err != nil {
			return false, nil, err
		}
	}
	if !res.GetAccepted() && res.GetReason() != f.expect && settling(res.GetReason()) && f.tries < 3 {
		f.tries++
		f.due = s.today.AddDays(1)
		return false, nil, nil
	}
	if res.GetAccepted() && !res.GetAlreadyReported() {
		s.books.accepted(f.contract, res)
	}
	s.tally(f.expect, res, "fee", l.ID, feeName(f.typ))
	if res.GetAccepted() {
		s.count(func(sum *Summary) { sum.FeesClaimed[feeName(f.typ)]++ })
	}
	var rival *pendingFee
	if res.GetAccepted() && f.expect == fundingv1.RejectionReason_REJECTION_REASON_UNSPECIFIED &&
		f.typ == fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED {
		if other := s.rival(l, op, fmt.Sprint("fee", lineID)); other != nil && s.rng("rival-fee", lineID).IntN(25) == 0 {
			rival = &pendingFee{
				learner: l, op: other, contract: other.ContractID, typ: f.typ, ref: f.ref + "-rival", due: s.today.AddDays(1),
				expect: fundingv1.RejectionReason_REJECTION_REASON_FACT_ALREADY_PAID,
			}
		}
	}
	return true, rival, nil
}

// settling reports whether the rejection of a fee due may only be
// funding's read models not having seen its fact or the enrolment yet: no
// fact, no enrolment, or only the learner's earlier facts of the type, paid
// already (FACT_ALREADY_PAID, when the fee of a second episode's fact is
// claimed before funding has seen that fact).
func settling(r fundingv1.RejectionReason) bool {
	switch r {
	case fundingv1.RejectionReason_REJECTION_REASON_FACT_NOT_FOUND, fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED,
		fundingv1.RejectionReason_REJECTION_REASON_FACT_ALREADY_PAID:
		return true
	}
	return false
}

// rival is another operator whose #Avenir lot covers the learner's
// territory, drawn for a decision; nil when its operator is alone there.
func (s *sim) rival(l *Learner, op *Operator, decision string) *Operator {
	var others []*Operator
	for _, o := range s.world.operatorsOf(l.Territory) {
		if o != op {
			others = append(others, o)
		}
	}
	if len(others) == 0 {
		return nil
	}
	return others[s.rng("rival", decision).IntN(len(others))]
}

// tally counts the fate of a line: accepted (a mistake accepted is
// unexpected), rejected as meant, or rejected unexpectedly (logged).
func (s *sim) tally(expect fundingv1.RejectionReason, res *fundingv1.LineResult, what, learner, detail string) {
	meant := expect != fundingv1.RejectionReason_REJECTION_REASON_UNSPECIFIED
	switch {
	case res.GetAccepted() && !meant:
		s.count(func(sum *Summary) { sum.LinesAccepted++ })
	case res.GetAccepted():
		s.log.Warn("a mistake made on purpose was accepted", "what", what, "line", res.GetOperatorLineId(), "learner", learner, "meant", expect)
		s.count(func(sum *Summary) { sum.LinesAccepted++; sum.Unexpected["accepted"]++ })
	case res.GetReason() == expect:
		s.count(func(sum *Summary) { sum.Rejected[rejectionName(res.GetReason())]++ })
	default:
		s.log.Warn("line rejected unexpectedly", "what", what, "line", res.GetOperatorLineId(), "learner", learner, "about", detail,
			"reason", res.GetReason(), "detail", res.GetDetail(), "meant", expect)
		s.count(func(sum *Summary) { sum.Unexpected[rejectionName(res.GetReason())]++ })
	}
}

// ---- hours -----------------------------------------------------------------

var activities = []fundingv1.ActivityType{
	fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE,
	fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE, fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE,
	fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, fundingv1.ActivityType_ACTIVITY_TYPE_INDIVIDUAL_INTERVIEW,
	fundingv1.ActivityType_ACTIVITY_TYPE_ASSESSMENT, fundingv1.ActivityType_ACTIVITY_TYPE_WORKPLACE,
}

// hours: on weekdays each learner in training, and not on an immersion's
// platform, gets a line with its operator; operators report daily or on
// Mondays for the week before, and report a group session on Wednesdays.
// About one line in fifty comes with a mistake made on purpose: the same
// line id again with other minutes, a second session over the daily cap,
// a line reported by another operator of the territory the learner is not
// enrolled with, a line dated tomorrow (daily reporters).
func (s *sim) hours(ctx context.Context) error {
	d := s.today
	if !isWeekend(d) {
		wd := int(d.Weekday()) - 1
		for _, l := range s.world.Learners {
			if !l.Active() || !l.plan.trainDays[wd] || l.busyOn(d) {
				continue
			}
			r := s.rng("hours", l.Index, d)
			op := s.world.operator(l.OperatorID)
			id := fmt.Sprintf("H-%d-%s", l.Index, d)
			minutes := l.plan.trainMinutes
			act := activities[r.IntN(len(activities))]
			line := func(id string, day civil.Date, minutes int) *fundingv1.ReportedLine {
				return &fundingv1.ReportedLine{OperatorLineId: id, LearnerId: l.ID, Date: civilpb.FromDate(day), Minutes: int32(minutes), Activity: act}
			}
			op.pending = append(op.pending, pendingLine{learner: l, line: line(id, d, minutes)})
			switch r.IntN(200) {
			case 0: // the same line id again, with other minutes
				op.pending = append(op.pending, pendingLine{l, line(id, d, minutes+30), fundingv1.RejectionReason_REJECTION_REASON_DUPLICATE_LINE_ID})
			case 1: // a second session the same day, over the daily cap
				op.pending = append(op.pending, pendingLine{l, line(id+"-b", d, 420-minutes+60), fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED})
			case 2: // another operator of the territory bills the learner
				if other := s.rival(l, op, id); other != nil {
					other.pending = append(other.pending, pendingLine{l, line(id+"-x", d, minutes), fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED})
				}
			case 3: // tomorrow's session reported today
				if !op.Weekly {
					op.pending = append(op.pending, pendingLine{l, line(id+"-next", d.AddDays(1), minutes), fundingv1.RejectionReason_REJECTION_REASON_DATE_IN_FUTURE})
				}
			}
		}
	}
	var flush []*Operator
	for _, op := range s.world.Operators {
		if len(op.pending) > 0 && (!op.Weekly || d.Weekday() == time.Monday) {
			flush = append(flush, op)
		}
	}
	if err := s.parallel(ctx, len(flush), func(ctx context.Context, i int) error {
		op := flush[i]
		var lines []pendingLine
		if op.Weekly {
			for _, p := range op.pending {
				if civilpb.Date(p.line.GetDate()).Before(d) {
					lines = append(lines, p)
				}
			}
		} else {
			lines = op.pending
		}
		return s.report(ctx, op, lines, fmt.Sprint(d))
	}); err != nil {
		return err
	}
	for _, op := range flush {
		op.pending = slices.DeleteFunc(op.pending, func(p pendingLine) bool {
			return !op.Weekly || civilpb.Date(p.line.GetDate()).Before(d)
		})
	}
	if d.Weekday() == time.Wednesday {
		return s.parallel(ctx, len(s.world.Operators), func(ctx context.Context, i int) error {
			return s.groupHours(ctx, s.world.Operators[i])
		})
	}
	return nil
}

// flushAll reports every line still pending (at the end of the run).
func (s *sim) flushAll(ctx context.Context) error {
	return s.parallel(ctx, len(s.world.Operators), func(ctx context.Context, i int) error {
		op := s.world.Operators[i]
		lines := op.pending
		op.pending = nil
		return s.report(ctx, op, lines, "final")
	})
}

// settleLines bounds how many times a report sends again the lines
// refused only because funding has not seen an enrolment yet.
const settleLines = 30

// report sends lines in one call, under the operator's #Avenir contract;
// lines refused only because the funding service has not seen an
// enrolment yet (the learner entered a moment ago) are sent again after a
// moment.
func (s *sim) report(ctx context.Context, op *Operator, lines []pendingLine, batch string) error {
	for attempt := 0; len(lines) > 0; attempt++ {
		req := &fundingv1.ReportTraineeHoursRequest{RequestId: s.rid("hours", op.ID, batch, attempt), ContractId: op.ContractID}
		for _, p := range lines {
			req.Lines = append(req.Lines, p.line)
		}
		var resp *fundingv1.ReportTraineeHoursResponse
		err := s.call(ctx, operatorP(op), "report hours", func(ctx context.Context, o grpc.CallOption) error {
			var err error
			resp, err = s.c.funding.ReportTraineeHours(ctx, req, o)
			return err
		})
		if err != nil {
			return err
		}
		var again []pendingLine
		for _, res := range resp.GetResults() {
			p := lines[res.GetIndex()]
			date := civilpb.Date(p.line.GetDate())
			if res.GetAccepted() && !res.GetAlreadyReported() {
				s.books.acceptedHour(op.ContractID, p.learner.ID, date, res)
			}
			if !res.GetAccepted() && res.GetReason() != p.expect && res.GetReason() == fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED &&
				p.learner.EnrolledWith(op.ContractID, date) && attempt < settleLines {
				again = append(again, p)
				continue
			}
			s.tally(p.expect, res, "trainee hours", p.learner.ID, op.ID)
		}
		lines = again
		if len(lines) > 0 {
			if err := settle(ctx, attempt); err != nil {
				return err
			}
		}
	}
	return nil
}

// groupHours: on Wednesdays each operator reports a group session of some
// of the learners it accompanies (those not on an immersion's platform).
func (s *sim) groupHours(ctx context.Context, op *Operator) error {
	d := s.today
	var attendees []string
	var learners []*Learner
	for _, l := range s.world.Learners {
		if l.OperatorID == op.ID && l.Active() && !l.busyOn(d) {
			learners = append(learners, l)
		}
	}
	if len(learners) < 3 {
		return nil
	}
	r := s.rng("group", op.ID, d)
	r.Shuffle(len(learners), func(i, j int) { learners[i], learners[j] = learners[j], learners[i] })
	learners = learners[:min(len(learners), 4+r.IntN(9))]
	sort.Slice(learners, func(i, j int) bool { return learners[i].Index < learners[j].Index })
	enrolled := true
	for _, l := range learners {
		attendees = append(attendees, l.ID)
		enrolled = enrolled && l.EnrolledWith(op.ContractID, d)
	}
	id := fmt.Sprintf("G-%s-%s", op.ID, d)
	for attempt := 0; ; attempt++ {
		var res *fundingv1.LineResult
		err := s.call(ctx, operatorP(op), "report group hours", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.funding.ReportGroupHours(ctx, &fundingv1.ReportGroupHoursRequest{
				RequestId: s.rid("group", op.ID, d, attempt), ContractId: op.ContractID, GroupSessionId: id, OperatorLineId: id,
				Date: civilpb.FromDate(d), Minutes: 180, Trainer: "Formateur " + op.Name, AttendeeLearnerIds: attendees,
			}, o)
			res = resp.GetResult()
			return err
		})
		if err != nil {
			return err
		}
		if res.GetAccepted() {
			if !res.GetAlreadyReported() {
				s.books.accepted(op.ContractID, res)
			}
			s.count(func(sum *Summary) { sum.GroupSessions++ })
		}
		if !res.GetAccepted() && res.GetReason() == fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED && enrolled && attempt < settleLines {
			if err := settle(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		s.tally(fundingv1.RejectionReason_REJECTION_REASON_UNSPECIFIED, res, "group hours", "", op.ID)
		return nil
	}
}

// ---- statements ---------------------------------------------------------------

// review: on the first working day of a month, the funder reviews and
// closes the statements of the months over.
func (s *sim) review(ctx context.Context) error {
	d := s.today
	first := !isWeekend(d) && (d.Day == 1 || (d.Weekday() == time.Monday && d.Day <= 3))
	if !first || s.dayIdx == 0 {
		return nil
	}
	var keys []stmtKey
	for _, c := range s.world.Contracts {
		start := civil.MonthOf(s.opts.From)
		for m := start; m.Compare(civil.MonthOf(d)) < 0; m = m.Next() {
			k := stmtKey{c.ID, m}
			if !s.books.isClosed(k) {
				keys = append(keys, k)
			}
		}
	}
	return s.parallel(ctx, len(keys), func(ctx context.Context, i int) error { return s.closeStatement(ctx, keys[i]) })
}

// waitStatement waits until the statement's read model holds the lines the
// simulation saw accepted, and the anomalies it expects.
func (s *sim) waitStatement(ctx context.Context, k stmtKey) (*fundingv1.Statement, error) {
	lines, anomalies := s.books.expect(k)
	var st *fundingv1.Statement
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 0; ; attempt++ {
		err := s.call(ctx, funderP, "get statement", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.funding.GetStatement(ctx, &fundingv1.GetStatementRequest{ContractId: k.contract, Period: periodOf(k.period), PageSize: 1}, o)
			st = resp.GetStatement()
			return err
		})
		if err != nil {
			return nil, err
		}
		if int(st.GetLineCount()) >= lines && int(st.GetTotals().GetAnomalyCount()) >= anomalies {
			return st, nil
		}
		if time.Now().After(deadline) {
			s.log.Warn("statement not caught up", "contract", k.contract, "period", k.period, "lines", st.GetLineCount(), "expected", lines,
				"anomalies", st.GetTotals().GetAnomalyCount(), "expected_anomalies", anomalies)
			return st, nil
		}
		if err := settle(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

var reviewReasons = []string{"Feuille d'émargement manquante", "Absence non justifiée ce jour-là"}

func (s *sim) closeStatement(ctx context.Context, k stmtKey) error {
	if _, err := s.waitStatement(ctx, k); err != nil {
		return err
	}
	// The anomalies, approved.
	var reviews []*fundingv1.LineReview
	token := ""
	for {
		var resp *fundingv1.GetStatementResponse
		err := s.call(ctx, funderP, "get statement", func(ctx context.Context, o grpc.CallOption) error {
			var err error
			resp, err = s.c.funding.GetStatement(ctx, &fundingv1.GetStatementRequest{ContractId: k.contract, Period: periodOf(k.period), PageSize: 200, PageToken: token}, o)
			return err
		})
		if err != nil {
			return err
		}
		for _, ln := range resp.GetStatement().GetLines() {
			if ln.GetStatus() == fundingv1.LineStatus_LINE_STATUS_ANOMALY {
				reviews = append(reviews, &fundingv1.LineReview{Unit: ln.GetUnit(), OperatorLineId: ln.GetOperatorLineId(), Approved: true})
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	approved := len(reviews)
	// A couple of trainee-hour lines rejected, the same for a seed.
	ids := s.books.traineeLines(k)
	rejected := 0
	if n := []int{0, 0, 0, 0, 1, 1, 1, 2}[s.hash(s.operatorOf(k.contract)+k.period.String())%8]; len(ids) >= 30 && n > 0 {
		sort.Slice(ids, func(i, j int) bool { return s.hash(ids[i]) < s.hash(ids[j]) })
		for _, id := range ids[:n] {
			if slices.ContainsFunc(reviews, func(r *fundingv1.LineReview) bool { return r.GetOperatorLineId() == id }) {
				continue
			}
			reviews = append(reviews, &fundingv1.LineReview{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, OperatorLineId: id, Reason: reviewReasons[s.hash(id)%2]})
			rejected++
		}
	}
	if len(reviews) > 0 {
		err := s.call(ctx, funderP, "review statement", func(ctx context.Context, o grpc.CallOption) error {
			_, err := s.c.funding.ReviewStatement(ctx, &fundingv1.ReviewStatementRequest{RequestId: s.rid("review", k.contract, k.period), ContractId: k.contract, Period: periodOf(k.period), Reviews: reviews}, o)
			return err
		})
		if err != nil {
			return fmt.Errorf("review %s %s: %w", k.contract, k.period, err)
		}
	}
	var st *fundingv1.Statement
	err := s.call(ctx, funderP, "close statement", func(ctx context.Context, o grpc.CallOption) error {
		resp, err := s.c.funding.CloseStatement(ctx, &fundingv1.CloseStatementRequest{RequestId: s.rid("close", k.contract, k.period), ContractId: k.contract, Period: periodOf(k.period)}, o)
		st = resp.GetStatement()
		return err
	})
	if err != nil {
		return fmt.Errorf("close %s %s: %w", k.contract, k.period, err)
	}
	s.books.close(k, st.GetTotals().GetAmountCents())
	s.count(func(sum *Summary) {
		sum.StatementsClosed++
		sum.AnomaliesApproved += approved
		sum.ReviewRejected += rejected
		sum.addTotals(st.GetTotals())
	})
	return nil
}

func (s *sim) hash(id string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", s.opts.Seed, id)
	return h.Sum64()
}

// operatorOf names the operator of a contract.
func (s *sim) operatorOf(contract string) string {
	if c := s.world.contract(contract); c != nil {
		return c.OperatorID
	}
	return contract
}

package service

import (
	"context"
	"strconv"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// MaxStatementPage caps GetStatement's page_size.
const MaxStatementPage = 5000

func entryToProto(e domain.Entry) *fundingv1.StatementLine {
	return &fundingv1.StatementLine{
		Unit: fundingv1.Unit(e.Unit), OperatorLineId: e.LineID, LearnerId: e.LearnerID, GroupSessionId: e.GroupSessionID,
		AttendeeLearnerIds: e.Attendees, Date: civilpb.FromDate(e.Date), Minutes: int32(e.Minutes), Activity: fundingv1.ActivityType(e.Activity),
		FeeType: fundingv1.FeeType(e.FeeType), CustomCode: e.CustomCode, FactRef: e.FactRef, CorrectsLineId: e.CorrectsID,
		RateCents: e.Rate, AmountCents: e.Amount, Status: fundingv1.LineStatus(e.Status), Late: e.Late,
		Anomaly: fundingv1.AnomalyReason(e.Anomaly), ReviewReason: e.ReviewReason, Reversal: e.Reversal, CorrectedByLineId: e.CorrectedBy,
	}
}

// statementView is a statement as answered, with its lines from offset
// (size of them; 0: totals only).
func statementView(c domain.Contract, st domain.Statement, offset, size int) *fundingv1.Statement {
	out := &fundingv1.Statement{
		StatementId: statementID(c.ID, st.Period), ContractId: c.ID, OperatorId: c.Terms.OperatorID, Period: civilpb.FromMonth(st.Period),
		Closed: st.Closed, ClosedOn: civilpb.FromDate(st.ClosedOn), Totals: totalsToProto(st.Totals), LineCount: int32(len(st.Lines)),
		Status: statementStatus(st),
	}
	for i := offset; i < len(st.Lines) && i < offset+size; i++ {
		out.Lines = append(out.Lines, entryToProto(st.Lines[i]))
	}
	return out
}

// statement reads the statement of a contract's period from the books.
func (s *Service) statement(ctx context.Context, contractID string, p civil.Month) (domain.Statement, error) {
	var st domain.Statement
	err := s.withBooks(ctx, contractID, func(b *domain.Books) error {
		st = b.Statement(p)
		return nil
	})
	return st, err
}

// GetStatement implements fundingv1.FundingServiceServer, from the books
// read model.
func (s *Service) GetStatement(ctx context.Context, req *fundingv1.GetStatementRequest) (*fundingv1.GetStatementResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "contract_id", req.GetContractId())
	p := civilpb.CheckMonth(&v, "period", req.GetPeriod())
	size := int(req.GetPageSize())
	if size < 0 || size > MaxStatementPage {
		v.Addf("page_size", "0 (totals only) to %d lines", MaxStatementPage)
	}
	query := paging.Fingerprint("statement", req.GetContractId(), p.String())
	offset := 0
	if after := paging.Decode(&v, req.GetPageToken(), query); after != "" {
		n, err := strconv.Atoi(after)
		if err != nil || n < 0 {
			v.Add("page_token", "is not a next_page_token of this statement")
		}
		offset = n
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	st, err := s.statement(ctx, c.ID, p)
	if err != nil {
		return nil, err
	}
	resp := &fundingv1.GetStatementResponse{Statement: statementView(c, st, offset, size)}
	if size > 0 && offset+size < len(st.Lines) {
		resp.NextPageToken = paging.Encode(query, strconv.Itoa(offset+size))
	}
	return resp, nil
}

// settle waits, for a bounded time, until the books read model has applied
// a command's stored events, so that what the caller reads or reports next
// (a statement, a line billed after a closure) shows them. The answer does
// not depend on it: a read model late or down is logged, not an error.
func (s *Service) settle(ctx context.Context, stored []event.Event) {
	if len(stored) == 0 {
		return
	}
	if err := s.waitBooks(ctx, stored[len(stored)-1].Sequence); err != nil {
		s.log.WarnContext(ctx, "answered before the books read model applied the command", "error", err)
	}
}

// ReviewStatement implements fundingv1.FundingServiceServer: the lines must
// be on the statement, as the books read model holds it before the
// decision. The answer is that statement with the review applied.
func (s *Service) ReviewStatement(ctx context.Context, req *fundingv1.ReviewStatementRequest) (*fundingv1.ReviewStatementResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "contract_id", req.GetContractId())
	p := civilpb.CheckMonth(&v, "period", req.GetPeriod())
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	st, err := s.statement(ctx, c.ID, p)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	on := st.LineKeys()
	cmd := domain.ReviewStatement{
		StatementID: statementID(c.ID, p), ContractID: c.ID, Period: p, Reviews: reviewsFromProto(req.GetReviews()),
		Reviewer: caller.Subject, Terms: c.Terms, OnStatement: func(k domain.LineKey) bool { return on[k] },
	}
	out, err := s.statements.Execute(ctx, cmd.StatementID, s.deps.Command(ctx, req.GetRequestId()), func(state domain.StatementState) ([]domain.Event, error) {
		return domain.DecideStatement(state, cmd)
	})
	if err != nil {
		return nil, err
	}
	s.settle(ctx, out.Stored)
	for _, e := range out.Events {
		if r, ok := e.(domain.StatementReviewed); ok {
			st = st.Reviewed(r)
		}
	}
	return &fundingv1.ReviewStatementResponse{Statement: statementView(c, st, 0, 0)}, nil
}

// CloseStatement implements fundingv1.FundingServiceServer: the period is
// locked from the day after its last; later lines go to the next open
// period, late. The closure records the statement's totals as the books
// hold them before the decision; the answer is that statement, closed.
func (s *Service) CloseStatement(ctx context.Context, req *fundingv1.CloseStatementRequest) (*fundingv1.CloseStatementResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "contract_id", req.GetContractId())
	p := civilpb.CheckMonth(&v, "period", req.GetPeriod())
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	st, err := s.statement(ctx, c.ID, p)
	if err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	cmd := domain.CloseStatement{
		StatementID: statementID(c.ID, p), ContractID: c.ID, Period: p, Today: s.deps.Today(), Terms: c.Terms,
		Totals: st.Totals, ClosedBy: caller.Subject,
	}
	out, err := s.statements.Execute(ctx, cmd.StatementID, s.deps.Command(ctx, req.GetRequestId()), func(state domain.StatementState) ([]domain.Event, error) {
		return domain.DecideStatement(state, cmd)
	})
	if err != nil {
		return nil, err
	}
	s.settle(ctx, out.Stored)
	st.Closed, st.ClosedOn = out.State.Closed, out.State.ClosedOn
	for _, e := range out.Events {
		if cl, ok := e.(domain.StatementClosed); ok {
			st.Totals = cl.Totals
		}
	}
	return &fundingv1.CloseStatementResponse{Statement: statementView(c, st, 0, 0)}, nil
}

// ExportStatement implements fundingv1.FundingServiceServer: the CSV of
// domain.ExportCSV, whose TOTAL row is the statement's total.
func (s *Service) ExportStatement(ctx context.Context, req *fundingv1.ExportStatementRequest) (*fundingv1.ExportStatementResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "contract_id", req.GetContractId())
	p := civilpb.CheckMonth(&v, "period", req.GetPeriod())
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	st, err := s.statement(ctx, c.ID, p)
	if err != nil {
		return nil, err
	}
	return &fundingv1.ExportStatementResponse{
		Filename: "statement-" + c.ID + "-" + p.String() + ".csv",
		Csv:      domain.ExportCSV(st), Totals: totalsToProto(st.Totals),
	}, nil
}

// GetBudget implements fundingv1.FundingServiceServer: the billed amounts of
// the books against the contract year's envelope (domain.BudgetOf).
func (s *Service) GetBudget(ctx context.Context, req *fundingv1.GetBudgetRequest) (*fundingv1.GetBudgetResponse, error) {
	var v apperr.Violations
	ident.ID(&v, "contract_id", req.GetContractId())
	if req.GetContractYear() < 0 {
		v.Add("contract_year", "must not be negative (0: the year containing today)")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, err := s.contractFor(ctx, req.GetContractId(), nil)
	if err != nil {
		return nil, err
	}
	today := s.deps.Today()
	y := int(req.GetContractYear())
	if y == 0 {
		day := today
		switch {
		case day.Before(c.Terms.From):
			day = c.Terms.From
		case day.After(c.Terms.To):
			day = c.Terms.To
		}
		y = c.Terms.YearOf(day)
	}
	if c.Terms.YearStart(y).After(c.Terms.To) {
		return nil, apperr.Invalid(apperr.FieldViolation{Field: "contract_year", Description: "the contract has no such year"})
	}
	snap, err := s.snapshot(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	b := domain.BudgetOf(c.Terms, snap.Used, y, today)
	return &fundingv1.GetBudgetResponse{Budget: &fundingv1.Budget{
		ContractId: c.ID, ContractYear: int32(b.Year), YearFrom: civilpb.FromDate(b.From), YearTo: civilpb.FromDate(b.To),
		EnvelopeCents: b.Envelope, ConsumedCents: b.Consumed, ConsumedPercent: int32(b.Percent), ForecastCents: b.Forecast,
		Warning: b.Warning, Exhausted: b.Exhausted, ForecastOverCents: b.ForecastOver,
	}}, nil
}

package service

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The scheme seen whole: every contract's statements of a month, and the
// programmes' budgets. Both read the books read model only: the contracts'
// terms and indexes, and each contract's books folded from its log.

// Page sizes of ListStatements.
const (
	DefaultStatementsPage = 100
	MaxStatementsPage     = 500
)

// listedContract is a contract as the books read model holds it.
type listedContract struct {
	id    string
	terms domain.Terms
}

// contractsIn reads the contracts of an index of the books read model
// with their terms, a page of ids and one round trip of terms at a time.
func (s *Service) contractsIn(ctx context.Context, index string) ([]listedContract, error) {
	var out []listedContract
	err := projection.Scan(ctx, s.store, booksProjection, index, projection.RangeQuery{Limit: scanPage}, func(ids []string) (bool, error) {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = contractKey(id)
		}
		vals, err := s.store.GetMany(ctx, booksProjection, keys)
		if err != nil {
			return false, err
		}
		for i, b := range vals {
			if b == nil {
				continue
			}
			var t fundingv1.ContractTerms
			if err := proto.Unmarshal(b, &t); err != nil {
				return false, err
			}
			out = append(out, listedContract{id: ids[i], terms: termsFromProto(&t)})
		}
		return true, nil
	})
	return out, err
}

// meets reports whether the contract's period meets the days from..to.
func (c listedContract) meets(from, to civil.Date) bool {
	return !c.terms.To.Before(from) && !c.terms.From.After(to)
}

// statementStatus is where a statement stands.
func statementStatus(st domain.Statement) fundingv1.StatementStatus {
	switch {
	case st.Closed:
		return fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED
	case st.HasReviews:
		return fundingv1.StatementStatus_STATEMENT_STATUS_REVIEWED
	}
	return fundingv1.StatementStatus_STATEMENT_STATUS_OPEN
}

// ListStatements implements fundingv1.FundingServiceServer: one summary
// per contract the caller sees whose period meets the month (empty
// statements included), filtered, by operator then contract reference,
// with the totals of every statement matching (all pages). Operators see
// their own contracts only, whatever operator_id says.
func (s *Service) ListStatements(ctx context.Context, req *fundingv1.ListStatementsRequest) (*fundingv1.ListStatementsResponse, error) {
	var v apperr.Violations
	p := civilpb.CheckMonth(&v, "period", req.GetPeriod())
	size := DefaultStatementsPage
	switch n := req.GetPageSize(); {
	case n < 0:
		v.Add("page_size", "must not be negative")
	case n > 0:
		size = min(int(n), MaxStatementsPage)
	}
	status := req.GetStatus()
	if _, known := fundingv1.StatementStatus_name[int32(status)]; !known {
		v.Add("status", "is not a known status: open, reviewed or closed")
	}
	programme := domain.Programme(req.GetProgramme())
	if programme != domain.ProgrammeUnspecified && !programme.Valid() {
		v.Add("programme", "is not a known programme: avenir, action or other")
	}
	operator, territory := req.GetOperatorId(), req.GetTerritoryCode()
	ident.OptionalCode(&v, "operator_id", operator)
	ident.OptionalTerritory(&v, "territory_code", territory)
	query := paging.Fingerprint("statements", p.String(), strconv.Itoa(int(status)), operator, territory, strconv.Itoa(int(programme)))
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if caller.Role == auth.RoleOperator {
		if operator != "" && operator != caller.OperatorID {
			// Another operator's statements are none of the caller's.
			return &fundingv1.ListStatementsResponse{Totals: &fundingv1.StatementTotals{}}, nil
		}
		operator = caller.OperatorID
	}
	index := contractsIndex
	switch {
	case operator != "":
		index = operatorIndex(operator)
	case territory != "":
		index = territoryIndex(territory)
	case programme != domain.ProgrammeUnspecified:
		index = programmeIndex(programme)
	}
	contracts, err := s.contractsIn(ctx, index)
	if err != nil {
		return nil, err
	}
	type listed struct {
		key     string // operator, reference and id: the order and the page token
		summary *fundingv1.StatementSummary
		totals  domain.Totals
	}
	var all []listed
	for _, c := range contracts {
		t := c.terms
		switch {
		case operator != "" && t.OperatorID != operator, territory != "" && !slices.Contains(t.Territories, territory),
			programme != domain.ProgrammeUnspecified && t.Programme != programme, !c.meets(p.First(), p.Last()),
			!seesContract(caller, t.OperatorID):
			continue
		}
		var (
			st domain.Statement
			at fundingv1.StatementStatus
		)
		if err := s.withBooks(ctx, c.id, func(b *domain.Books) error {
			st = b.Statement(p)
			at = statementStatus(st)
			return nil
		}); err != nil {
			return nil, err
		}
		if status != fundingv1.StatementStatus_STATEMENT_STATUS_UNSPECIFIED && at != status {
			continue
		}
		sum := st.Summary()
		all = append(all, listed{
			key: t.OperatorID + "\x00" + t.Reference + "\x00" + c.id,
			summary: &fundingv1.StatementSummary{
				StatementId: statementID(c.id, p), ContractId: c.id, OperatorId: t.OperatorID, ContractReference: t.Reference,
				TerritoryCodes: t.Territories, Programme: commonv1.FundingProgramme(t.Programme), Period: civilpb.FromMonth(p),
				Status: at, ClosedOn: civilpb.FromDate(st.ClosedOn), Totals: totalsToProto(st.Totals), LineCount: int32(sum.Lines),
				AnomalyCount: int32(sum.Anomalies), RejectedCount: int32(sum.Rejected), LateCount: int32(sum.Late),
				CorrectionCount: int32(sum.Corrections),
			},
			totals: st.Totals,
		})
	}
	slices.SortFunc(all, func(a, b listed) int { return cmp.Compare(a.key, b.key) })
	var sum domain.Totals
	for _, l := range all {
		sum = addTotals(sum, l.totals)
	}
	out := &fundingv1.ListStatementsResponse{Totals: totalsToProto(sum), StatementCount: int32(len(all))}
	for _, l := range all {
		if after != "" && l.key <= after {
			continue
		}
		if len(out.Statements) == size {
			out.NextPageToken = paging.Encode(query, out.Statements[len(out.Statements)-1].GetOperatorId()+"\x00"+
				out.Statements[len(out.Statements)-1].GetContractReference()+"\x00"+out.Statements[len(out.Statements)-1].GetContractId())
			break
		}
		out.Statements = append(out.Statements, l.summary)
	}
	return out, nil
}

func addTotals(a, b domain.Totals) domain.Totals {
	return domain.Totals{
		TraineeMinutes: a.TraineeMinutes + b.TraineeMinutes, TraineeAmount: a.TraineeAmount + b.TraineeAmount,
		GroupMinutes: a.GroupMinutes + b.GroupMinutes, GroupAmount: a.GroupAmount + b.GroupAmount,
		FeeCount: a.FeeCount + b.FeeCount, FeeAmount: a.FeeAmount + b.FeeAmount, Amount: a.Amount + b.Amount,
		AnomalyCount: a.AnomalyCount + b.AnomalyCount, AnomalyAmount: a.AnomalyAmount + b.AnomalyAmount,
	}
}

// programmeYearView is a programme's figures as answered.
func programmeYearView(y domain.ProgrammeYear) *fundingv1.ProgrammeYear {
	return &fundingv1.ProgrammeYear{
		Programme: commonv1.FundingProgramme(y.Programme), Year: int32(y.Year), EnvelopeCents: y.Envelope,
		BeneficiariesTarget: int32(y.Target), SchemeDefault: y.SchemeDefault,
	}
}

// SetProgrammeYear implements fundingv1.FundingServiceServer: a
// programme's figures for a calendar year, answered from the state the
// decision left.
func (s *Service) SetProgrammeYear(ctx context.Context, req *fundingv1.SetProgrammeYearRequest) (*fundingv1.SetProgrammeYearResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, year := domain.Programme(req.GetProgramme()), int(req.GetYear())
	id := programmeYearID(p, year)
	cmd := domain.SetProgrammeYear{ID: id, Programme: p, Year: year, Envelope: req.GetEnvelopeCents(), Target: int(req.GetBeneficiariesTarget()), Reason: req.GetReason()}
	out, err := s.programmes.Execute(ctx, id, s.deps.Command(ctx, req.GetRequestId()), func(y domain.ProgrammeYear) ([]domain.Event, error) {
		return domain.DecideProgrammeYear(y, cmd)
	})
	if err != nil {
		return nil, err
	}
	return &fundingv1.SetProgrammeYearResponse{ProgrammeYear: programmeYearView(out.State)}, nil
}

// GetProgrammeBudget implements fundingv1.FundingServiceServer, from the
// books read model: the year's figures (as set, else the scheme's), the
// billed amounts of the programme's contracts' statements whose period
// falls in the year, per month, and the forecast.
func (s *Service) GetProgrammeBudget(ctx context.Context, req *fundingv1.GetProgrammeBudgetRequest) (*fundingv1.GetProgrammeBudgetResponse, error) {
	today := s.deps.Today()
	p, year := domain.Programme(req.GetProgramme()), int(req.GetYear())
	if year == 0 {
		year = today.Year
	}
	var v apperr.Violations
	domain.CheckProgrammeYear(&v, p, year)
	if err := v.Err(); err != nil {
		return nil, err
	}
	set, _, err := projection.GetJSON[domain.ProgrammeYear](ctx, s.store, booksProjection, programmeYearKey(p, year))
	if err != nil {
		return nil, err
	}
	contracts, err := s.contractsIn(ctx, programmeIndex(p))
	if err != nil {
		return nil, err
	}
	first, last := civil.Date{Year: year, Month: 1, Day: 1}, civil.Date{Year: year, Month: 12, Day: 31}
	billed := map[civil.Month]int64{}
	count := 0
	for _, c := range contracts {
		if c.terms.Programme != p {
			continue
		}
		if c.meets(first, last) {
			count++
		}
		if err := s.withBooks(ctx, c.id, func(b *domain.Books) error {
			for m, n := range b.BilledByPeriod() {
				if m.Year == year {
					billed[m] += n
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	b := domain.ProgrammeBudgetOf(domain.ProgrammeYearOf(p, year, set), billed, count, today)
	out := &fundingv1.ProgrammeBudget{
		ProgrammeYear: programmeYearView(b.Year), ConsumedCents: b.Consumed, ConsumedPercent: int32(b.Percent),
		ForecastCents: b.Forecast, ForecastOverCents: b.ForecastOver, Warning: b.Warning, ContractCount: int32(b.Contracts),
	}
	for _, m := range b.Months {
		out.Months = append(out.Months, &fundingv1.MonthlyConsumption{Month: civilpb.FromMonth(m.Month), BilledCents: m.Billed})
	}
	return &fundingv1.GetProgrammeBudgetResponse{Budget: out}, nil
}

package console

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/console/sheet"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// statementRoutes are the monthly statements: the month across contracts,
// one statement with its lines, reviews, closing and exports.
func (c *Console) statementRoutes() {
	c.mux.HandleFunc("GET /releves", c.billing(c.statementMatrix))
	c.mux.HandleFunc("GET /releves/export.csv", c.billing(c.monthExport))
	c.mux.HandleFunc("GET /releves/{contract}/{month}", c.billing(c.statementPage))
	c.mux.HandleFunc("GET /releves/{contract}/{month}/export.csv", c.billing(c.statementExport("csv")))
	c.mux.HandleFunc("GET /releves/{contract}/{month}/export.xlsx", c.billing(c.statementExport("xlsx")))
	c.mux.HandleFunc("POST /releves/{contract}/{month}/revue", c.reviewer(c.reviewStatement))
	c.mux.HandleFunc("GET /releves/{contract}/{month}/cloture", c.reviewer(c.closeConfirm))
	c.mux.HandleFunc("POST /releves/{contract}/{month}/cloture", c.reviewer(c.closeStatement))
}

// reviewer wraps the pages that review and close statements: funders only
// (the API's rule: administrators read statements, they do not review).
func (c *Console) reviewer(h handler) http.HandlerFunc {
	return c.withSession(c.only("Seuls les financeurs revoient et clôturent les relevés.", h, auth.RoleFunder))
}

// Statement pages' limits.
const (
	// statementPageSize is the lines asked per GetStatement call.
	statementPageSize = 500
	// linesPerPage is the lines one statement page shows.
	linesPerPage = 200
	// maxReviewReason is the length of a rejection's reason.
	maxReviewReason = 500
	// maxReviewLines is the most lines one review decides.
	maxReviewLines = 1000
)

var matrixMonths = [...]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}

// ---------------------------------------------------------------------------
// The year's matrix: contracts × months.

// matrixRow is one contract of the matrix.
type matrixRow struct {
	ContractID, Reference, Operator string
	Territories                     []string
	Programme                       commonv1.FundingProgramme
	Cells                           []matrixCell
	AmountCents                     int64
}

// matrixCell is the statement of a contract for a month; Summary is nil
// when the month is to come or outside the contract.
type matrixCell struct {
	Month   string // "de mars 2026"
	Href    string
	Future  bool
	Summary *fundingv1.StatementSummary
	Class   string // the status badge's class
}

// matrixMonth is a column of the matrix with its totals.
type matrixMonth struct {
	Short, Name, Of string
	Future          bool
	Totals          *fundingv1.StatementTotals
	Count           int
	Export          string
}

// statementFilters are the matrix's filters.
type statementFilters struct {
	Year                           int
	Territory, Programme, Operator string
}

func (f statementFilters) query(year int) string {
	v := url.Values{"annee": {strconv.Itoa(year)}}
	if f.Territory != "" {
		v.Set("territoire", f.Territory)
	}
	if f.Programme != "" {
		v.Set("programme", f.Programme)
	}
	if f.Operator != "" {
		v.Set("organisme", f.Operator)
	}
	return "/releves?" + v.Encode()
}

// choice is an option of a filter's select.
type choice struct{ Value, Label string }

func (c *Console) statementMatrix(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	today := c.today()
	q := r.URL.Query()
	f := statementFilters{Year: today.Year, Territory: q.Get("territoire"), Programme: q.Get("programme"), Operator: q.Get("organisme")}
	if y := q.Get("annee"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 2000 || n > 2200 {
			c.pages.error(w, r, s, http.StatusBadRequest, "Demande invalide", "L'année doit être comprise entre 2000 et 2200.")
			return
		}
		f.Year = n
	}
	operator := f.Operator
	if s.principal.Role == auth.RoleOperator {
		operator, f.Operator = s.principal.OperatorID, ""
	}
	programme := commonv1.FundingProgramme(commonv1.FundingProgramme_value[f.Programme])
	contracts, err := c.contracts(ctx, "")
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	operators := operatorNames(contracts)

	current := civil.MonthOf(today)
	months := make([]matrixMonth, 12)
	lists := make([][]*fundingv1.StatementSummary, 12)
	errs := make([]error, 12)
	var wg sync.WaitGroup
	for i := range 12 {
		m := civil.Month{Year: f.Year, Month: time.Month(i + 1)}
		months[i] = matrixMonth{Short: matrixMonths[i], Name: fr.CivilMonth(m), Of: ofMonth(m), Future: m.Compare(current) > 0}
		if months[i].Future {
			continue
		}
		months[i].Export = "/releves/export.csv?" + exportQuery(m, f, operator)
		wg.Go(func() {
			list, totals, err := c.statements(ctx, &fundingv1.ListStatementsRequest{
				Period: civilpb.FromMonth(m), OperatorId: operator, TerritoryCode: f.Territory, Programme: programme,
			})
			lists[i], errs[i] = list, err
			months[i].Totals, months[i].Count = totals, len(list)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
	}
	byContract := map[string]*matrixRow{}
	for i, list := range lists {
		m := civil.Month{Year: f.Year, Month: time.Month(i + 1)}
		for _, st := range list {
			row := byContract[st.GetContractId()]
			if row == nil {
				row = &matrixRow{
					ContractID: st.GetContractId(), Reference: st.GetContractReference(), Operator: nameOrID(operators, st.GetOperatorId()),
					Territories: st.GetTerritoryCodes(), Programme: st.GetProgramme(), Cells: make([]matrixCell, 12),
				}
				for j := range row.Cells {
					row.Cells[j] = matrixCell{Future: months[j].Future, Month: ofMonth(civil.Month{Year: f.Year, Month: time.Month(j + 1)})}
				}
				byContract[st.GetContractId()] = row
			}
			row.Cells[i].Summary, row.Cells[i].Class = st, statusBadge(st.GetStatus())
			row.Cells[i].Href = statementPath(st.GetContractId(), m)
			row.AmountCents += st.GetTotals().GetAmountCents()
		}
	}
	rows := make([]matrixRow, 0, len(byContract))
	var total int64
	for _, row := range byContract {
		rows = append(rows, *row)
		total += row.AmountCents
	}
	slices.SortFunc(rows, func(a, b matrixRow) int {
		if n := strings.Compare(a.Operator, b.Operator); n != 0 {
			return n
		}
		return strings.Compare(a.Reference, b.Reference)
	})
	c.pages.render(w, r, s, http.StatusOK, "statements", map[string]any{
		"Title": "Relevés mensuels " + strconv.Itoa(f.Year), "Filters": f, "Rows": rows, "Months": months, "Total": total,
		"Operator": s.principal.Role == auth.RoleOperator, "Territories": c.territoryChoices(),
		"Programmes": fr.Options(commonv1.FundingProgramme(0).Descriptor()), "Operators": operatorChoices(operators),
		"Previous": f.query(f.Year - 1), "Next": f.query(f.Year + 1), "HasNext": f.Year < today.Year,
		"PrevYear": f.Year - 1, "NextYear": f.Year + 1,
	})
}

// ofMonth is "de mars 2026", "d'avril 2026": a month after « de ».
func ofMonth(m civil.Month) string {
	name := fr.CivilMonth(m)
	switch m.Month {
	case time.April, time.August, time.October:
		return "d'" + name
	}
	return "de " + name
}

// statusBadge is the badge class of a statement's status (its label says
// it in words).
func statusBadge(st fundingv1.StatementStatus) string {
	switch st {
	case fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED:
		return "badge--success"
	case fundingv1.StatementStatus_STATEMENT_STATUS_REVIEWED:
		return "badge--warning"
	}
	return "badge--info"
}

// statements lists every page of a month's statements.
func (c *Console) statements(ctx context.Context, req *fundingv1.ListStatementsRequest) ([]*fundingv1.StatementSummary, *fundingv1.StatementTotals, error) {
	var totals *fundingv1.StatementTotals
	list, err := paging.All(func(token string) ([]*fundingv1.StatementSummary, string, error) {
		req.PageSize, req.PageToken = 500, token
		res, err := c.api.Funding.ListStatements(ctx, req)
		if res.GetTotals() != nil {
			totals = res.GetTotals()
		}
		return res.GetStatements(), res.GetNextPageToken(), err
	})
	if totals == nil {
		totals = &fundingv1.StatementTotals{}
	}
	return list, totals, err
}

// operatorNames maps operator ids to their names, from the contracts' terms.
func operatorNames(contracts []*fundingv1.Contract) map[string]string {
	out := map[string]string{}
	for _, k := range contracts {
		if n := k.GetTerms().GetOperatorName(); n != "" {
			out[k.GetTerms().GetOperatorId()] = n
		}
	}
	return out
}

func nameOrID(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

func operatorChoices(names map[string]string) []choice {
	out := make([]choice, 0, len(names))
	for id, n := range names {
		out = append(out, choice{Value: id, Label: n})
	}
	slices.SortFunc(out, func(a, b choice) int { return strings.Compare(a.Label, b.Label) })
	return out
}

func (c *Console) territoryChoices() []choice {
	var out []choice
	for _, t := range c.places.all() {
		out = append(out, choice{Value: t.GetCode(), Label: c.places.label(t.GetCode())})
	}
	return out
}

func exportQuery(m civil.Month, f statementFilters, operator string) string {
	v := url.Values{"mois": {m.String()}}
	if f.Territory != "" {
		v.Set("territoire", f.Territory)
	}
	if f.Programme != "" {
		v.Set("programme", f.Programme)
	}
	if operator != "" {
		v.Set("organisme", operator)
	}
	return v.Encode()
}

// statementPath is the page of a contract's statement of a month.
func statementPath(contractID string, m civil.Month) string {
	return "/releves/" + url.PathEscape(contractID) + "/" + m.String()
}

// ---------------------------------------------------------------------------
// One statement.

// lineFilter is a filter of a statement's lines.
type lineFilter struct {
	Key, Label string
	keep       func(*fundingv1.StatementLine) bool
}

var lineFilters = []lineFilter{
	{"toutes", "Toutes", func(*fundingv1.StatementLine) bool { return true }},
	{"anomalies", "En anomalie", func(l *fundingv1.StatementLine) bool {
		return l.GetStatus() == fundingv1.LineStatus_LINE_STATUS_ANOMALY
	}},
	{"tardives", "Tardives", func(l *fundingv1.StatementLine) bool { return l.GetLate() }},
	{"corrections", "Corrections", func(l *fundingv1.StatementLine) bool {
		return l.GetCorrectsLineId() != "" || l.GetCorrectedByLineId() != ""
	}},
	{"rejetees", "Rejetées", func(l *fundingv1.StatementLine) bool {
		return l.GetStatus() == fundingv1.LineStatus_LINE_STATUS_REJECTED
	}},
}

// filterLink is a filter as the statement page links it.
type filterLink struct {
	Href, Label string
	Count       int
	Current     bool
}

// lineRow is a statement line as the page and the exports show it.
type lineRow struct {
	N       int // position on the statement, from 1
	Line    *fundingv1.StatementLine
	Key     string // unit number:operator line id, the review form's value
	Anchor  string
	Learner string // the learner, or the group's attendees
	// LearnerIDs are the learner's or the attendees' ids.
	LearnerIDs []string
	Attendees  int
	What       string // activity or fee label
	// CorrectsAnchor and CorrectedByAnchor are the anchors of the line a
	// correction corrects, and of the correction of a corrected line.
	CorrectsAnchor, CorrectedByAnchor string
	// Correct is the correction page of a trainee-hour line (operators,
	// open statement).
	Correct string
}

// statementView is a statement with what its pages need.
type statementView struct {
	Statement *fundingv1.Statement
	Contract  *fundingv1.ContractTerms
	Period    civil.Month
	Status    fundingv1.StatementStatus
	Rows      []lineRow
}

// StatusClass is the badge class of the statement's status.
func (v *statementView) StatusClass() string { return statusBadge(v.Status) }

// loadStatement reads a statement with every line, its contract and the
// learners' names; it answers the error page itself and returns false on a
// failure.
func (c *Console) loadStatement(w http.ResponseWriter, r *http.Request, s *session) (*statementView, bool) {
	ctx := c.call(r, s)
	contractID, period, ok := c.statementAddress(w, r, s)
	if !ok {
		return nil, false
	}
	k, err := c.api.Funding.GetContract(ctx, &fundingv1.GetContractRequest{ContractId: contractID})
	if err != nil {
		c.failed(w, r, s, err)
		return nil, false
	}
	var st *fundingv1.Statement
	lines, err := paging.All(func(token string) ([]*fundingv1.StatementLine, string, error) {
		res, err := c.api.Funding.GetStatement(ctx, &fundingv1.GetStatementRequest{
			ContractId: contractID, Period: civilpb.FromMonth(period), PageSize: statementPageSize, PageToken: token,
		})
		if st == nil {
			st = res.GetStatement()
		}
		return res.GetStatement().GetLines(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return nil, false
	}
	st.Lines = lines
	v := &statementView{Statement: st, Contract: k.GetContract().GetTerms(), Period: period, Status: st.GetStatus()}
	var ids []string
	for _, l := range lines {
		if l.GetLearnerId() != "" {
			ids = append(ids, l.GetLearnerId())
		}
		ids = append(ids, l.GetAttendeeLearnerIds()...)
	}
	names, err := c.learnerNames(ctx, ids)
	if err != nil {
		c.log.Warn("console: learner names unavailable", "error", err)
	}
	operator := s.principal.Role == auth.RoleOperator
	for i, l := range lines {
		row := lineRow{N: i + 1, Line: l, Key: fmt.Sprintf("%d:%s", l.GetUnit(), l.GetOperatorLineId()), Anchor: lineAnchor(l.GetUnit(), l.GetOperatorLineId())}
		if id := l.GetCorrectsLineId(); id != "" {
			row.CorrectsAnchor = lineAnchor(l.GetUnit(), id)
		}
		if id := l.GetCorrectedByLineId(); id != "" {
			row.CorrectedByAnchor = lineAnchor(l.GetUnit(), id)
		}
		switch l.GetUnit() {
		case fundingv1.Unit_UNIT_GROUP_HOUR:
			row.LearnerIDs, row.Attendees = l.GetAttendeeLearnerIds(), len(l.GetAttendeeLearnerIds())
			attendees := make([]string, len(row.LearnerIDs))
			for j, id := range row.LearnerIDs {
				attendees[j] = nameOr(names, id)
			}
			slices.Sort(attendees)
			row.Learner = strings.Join(attendees, ", ")
			row.What = "Séance de groupe"
			if l.GetActivity() != fundingv1.ActivityType_ACTIVITY_TYPE_UNSPECIFIED {
				row.What = fr.Label(l.GetActivity())
			}
		case fundingv1.Unit_UNIT_FLAT_FEE:
			row.LearnerIDs, row.Learner = []string{l.GetLearnerId()}, nameOr(names, l.GetLearnerId())
			row.What = fr.Label(l.GetFeeType())
			if l.GetCustomCode() != "" {
				row.What += " (" + l.GetCustomCode() + ")"
			}
		default:
			row.LearnerIDs, row.Learner = []string{l.GetLearnerId()}, nameOr(names, l.GetLearnerId())
			row.What = fr.Label(l.GetActivity())
			if operator && !st.GetClosed() && !l.GetReversal() && l.GetCorrectsLineId() == "" {
				row.Correct = "/declarations/correction?" + url.Values{
					"contrat": {st.GetContractId()}, "periode": {period.String()}, "ligne": {l.GetOperatorLineId()},
				}.Encode()
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return v, true
}

// lineAnchor is the HTML id of a line on its statement page.
func lineAnchor(unit fundingv1.Unit, lineID string) string {
	return fmt.Sprintf("ligne-%d-%s", unit, anchorSafe.ReplaceAllString(lineID, "_"))
}

var anchorSafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// closable reports whether the API would close the statement today: open,
// and its month over.
func (v *statementView) closable(today civil.Date) bool {
	return !v.Statement.GetClosed() && today.After(v.Period.Last())
}

func (c *Console) statementPage(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.loadStatement(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	current := lineFilters[0]
	for _, f := range lineFilters {
		if f.Key == q.Get("lignes") {
			current = f
		}
	}
	base := statementPath(v.Statement.GetContractId(), v.Period)
	var filters []filterLink
	for _, f := range lineFilters {
		n := 0
		for _, row := range v.Rows {
			if f.keep(row.Line) {
				n++
			}
		}
		href := base
		if f.Key != "toutes" {
			href += "?lignes=" + f.Key
		}
		filters = append(filters, filterLink{Href: href, Label: f.Label, Count: n, Current: f.Key == current.Key})
	}
	var shown, rejected []lineRow
	for _, row := range v.Rows {
		if current.keep(row.Line) {
			shown = append(shown, row)
		}
		if row.Line.GetStatus() == fundingv1.LineStatus_LINE_STATUS_REJECTED {
			rejected = append(rejected, row)
		}
	}
	page, pages := 1, max(1, (len(shown)+linesPerPage-1)/linesPerPage)
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p >= 1 && p <= pages {
		page = p
	}
	from, to := (page-1)*linesPerPage, min(page*linesPerPage, len(shown))
	var pageLinks []filterLink
	if pages > 1 {
		for p := 1; p <= pages; p++ {
			pv := url.Values{"page": {strconv.Itoa(p)}}
			if current.Key != "toutes" {
				pv.Set("lignes", current.Key)
			}
			pageLinks = append(pageLinks, filterLink{Href: base + "?" + pv.Encode(), Label: strconv.Itoa(p), Current: p == page})
		}
	}
	here := base
	if r.URL.RawQuery != "" {
		here += "?" + r.URL.RawQuery
	}
	funder := s.principal.Role == auth.RoleFunder
	month := fr.CivilMonth(v.Period)
	c.pages.render(w, r, s, http.StatusOK, "statement", map[string]any{
		"Title": "Relevé " + ofMonth(v.Period) + " — " + v.Contract.GetReference(), "Month": month, "Of": ofMonth(v.Period), "View": v, "Base": base,
		"Filters": filters, "Filter": current.Key, "FilterLabel": current.Label, "Lines": shown[from:to], "Shown": len(shown),
		"From": from + 1, "To": to, "Pages": pageLinks, "Rejected": rejected,
		"Review":   funder && !v.Statement.GetClosed() && len(v.Rows) > 0,
		"Closable": funder && v.closable(c.today()), "Funder": funder, "OperatorView": s.principal.Role == auth.RoleOperator,
		"ClosableFrom": v.Period.Last().AddDays(1), "RequestID": randomToken(), "Here": here,
		"Year": strconv.Itoa(v.Period.Year), "Totals": totalsOf(v.Statement.GetTotals()),
	})
}

// totalsView is a statement's totals as its page shows them.
type totalsView struct {
	TraineeTime, TraineeAmount, GroupTime, GroupAmount string
	FeeCount, FeeAmount, Amount                        string
	AnomalyCount, AnomalyAmount                        string
}

func totalsOf(t *fundingv1.StatementTotals) totalsView {
	v := totalsView{
		TraineeTime: fr.Minutes(t.GetTraineeMinutes()), TraineeAmount: fr.Money(t.GetTraineeAmountCents()),
		GroupTime: fr.Minutes(t.GetGroupMinutes()), GroupAmount: fr.Money(t.GetGroupAmountCents()),
		FeeCount: fr.Int(t.GetFlatFeeCount()), FeeAmount: fr.Money(t.GetFlatFeeAmountCents()), Amount: fr.Money(t.GetAmountCents()),
	}
	if t.GetAnomalyCount() > 0 {
		v.AnomalyCount, v.AnomalyAmount = fr.Int(t.GetAnomalyCount()), fr.Money(t.GetAnomalyAmountCents())
	}
	return v
}

// statementAddress is the contract and month of a statement's page
// (/releves/{contract}/{month}); a month that is not one answers a 404 page.
func (c *Console) statementAddress(w http.ResponseWriter, r *http.Request, s *session) (string, civil.Month, bool) {
	period, err := civil.ParseMonth(r.PathValue("month"))
	if err != nil || !period.Valid() {
		c.pages.error(w, r, s, http.StatusNotFound, "Introuvable", "Ce mois n'existe pas : il s'écrit AAAA-MM, par exemple 2026-03.")
		return "", civil.Month{}, false
	}
	return r.PathValue("contract"), period, true
}

// reviewStatement approves or rejects the lines ticked.
func (c *Console) reviewStatement(w http.ResponseWriter, r *http.Request, s *session) {
	contractID, period, ok := c.statementAddress(w, r, s)
	if !ok {
		return
	}
	base := statementPath(contractID, period)
	back := r.PostFormValue("retour")
	if back != base && !strings.HasPrefix(back, base+"?") {
		back = base
	}
	approve := r.PostFormValue("decision") == "approuver"
	if !approve && r.PostFormValue("decision") != "rejeter" {
		c.refusedAt(w, r, s, back, "Choisissez « Approuver » ou « Rejeter ».")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("motif"))
	keys := r.PostForm["ligne"]
	switch {
	case len(keys) == 0:
		c.refusedAt(w, r, s, back, "Cochez au moins une ligne du relevé.")
		return
	case len(keys) > maxReviewLines:
		c.refusedAt(w, r, s, back, fmt.Sprintf("Une décision porte sur %s lignes au plus.", fr.Int(maxReviewLines)))
		return
	case !approve && reason == "":
		c.refusedAt(w, r, s, back, "Le motif est obligatoire pour rejeter des lignes : l'organisme le lira.")
		return
	case utf8.RuneCountInString(reason) > maxReviewReason:
		c.refusedAt(w, r, s, back, fmt.Sprintf("Le motif compte %d caractères : %d au plus.", utf8.RuneCountInString(reason), maxReviewReason))
		return
	}
	reviews := make([]*fundingv1.LineReview, 0, len(keys))
	for _, k := range keys {
		unit, id, ok := strings.Cut(k, ":")
		n, err := strconv.Atoi(unit)
		if !ok || err != nil || id == "" {
			c.refusedAt(w, r, s, back, "Une des lignes cochées est illisible : rechargez la page puis recommencez.")
			return
		}
		rv := &fundingv1.LineReview{Unit: fundingv1.Unit(n), OperatorLineId: id, Approved: approve}
		if !approve {
			rv.Reason = reason
		}
		reviews = append(reviews, rv)
	}
	_, err := c.api.Funding.ReviewStatement(c.call(r, s), &fundingv1.ReviewStatementRequest{
		RequestId: r.PostFormValue("request_id"), ContractId: contractID, Period: civilpb.FromMonth(period), Reviews: reviews,
	})
	done := plural(len(reviews), "ligne approuvée.", "lignes approuvées.")
	if !approve {
		done = plural(len(reviews), "ligne rejetée.", "lignes rejetées.")
	}
	c.afterStatementAction(w, r, s, back, period, err, done)
}

func plural(n int, one, many string) string {
	if n < 2 {
		return strconv.Itoa(n) + " " + one
	}
	return fr.Int(n) + " " + many
}

// afterStatementAction ends a review or a closing: back to the statement
// with a message, or the refusal explained in French.
func (c *Console) afterStatementAction(w http.ResponseWriter, r *http.Request, s *session, back string, period civil.Month, err error, done string) {
	if err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		c.refusedAt(w, r, s, back, statementRefusal(err, period))
		return
	}
	s.setFlash(done)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// statementRefusal explains in French why the API refused a review or a
// closing.
func statementRefusal(err error, period civil.Month) string {
	switch errorMeta(err, "reason") {
	case "PERIOD_NOT_OVER":
		return "Le mois " + ofMonth(period) + " n'est pas terminé : son relevé pourra être clôturé à partir du " +
			fr.CivilDate(period.Last().AddDays(1)) + "."
	case "STATEMENT_CLOSED":
		return "Le relevé " + ofMonth(period) + " est clôturé : ses lignes ne peuvent plus être revues."
	case "PERIOD_OUTSIDE_CONTRACT":
		return "Le mois " + ofMonth(period) + " est en dehors de la période du marché."
	case "LINE_NOT_ON_STATEMENT":
		return "Une des lignes cochées n'est pas sur ce relevé (il a pu changer) : rechargez la page puis recommencez."
	case "REASON_REQUIRED":
		return "Le motif est obligatoire pour rejeter des lignes."
	}
	return fromAPI(err, nil).General
}

// closeConfirm asks the funder to confirm the closing of a month.
func (c *Console) closeConfirm(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.loadStatement(w, r, s)
	if !ok {
		return
	}
	anomalies := 0
	for _, row := range v.Rows {
		if row.Line.GetStatus() == fundingv1.LineStatus_LINE_STATUS_ANOMALY {
			anomalies++
		}
	}
	month := fr.CivilMonth(v.Period)
	c.pages.render(w, r, s, http.StatusOK, "statement_close", map[string]any{
		"Title": "Clôturer le relevé " + ofMonth(v.Period) + " — " + v.Contract.GetReference(), "Month": month, "Of": ofMonth(v.Period), "View": v,
		"Base": statementPath(v.Statement.GetContractId(), v.Period), "Closable": v.closable(c.today()),
		"ClosableFrom": v.Period.Last().AddDays(1), "Anomalies": anomalies, "RequestID": randomToken(),
		"Totals": totalsOf(v.Statement.GetTotals()),
	})
}

// closeStatement closes a month once confirmed.
func (c *Console) closeStatement(w http.ResponseWriter, r *http.Request, s *session) {
	contractID, period, ok := c.statementAddress(w, r, s)
	if !ok {
		return
	}
	base := statementPath(contractID, period)
	if r.PostFormValue("confirme") != "oui" {
		c.refusedAt(w, r, s, base+"/cloture", "Cochez la case de confirmation pour clôturer le relevé.")
		return
	}
	_, err := c.api.Funding.CloseStatement(c.call(r, s), &fundingv1.CloseStatementRequest{
		RequestId: r.PostFormValue("request_id"), ContractId: contractID, Period: civilpb.FromMonth(period),
	})
	c.afterStatementAction(w, r, s, base, period, err, "Relevé "+ofMonth(period)+" clôturé.")
}

// ---------------------------------------------------------------------------
// Exports.

var statementHeader = []string{
	"Marché", "Organisme", "Mois", "Unité", "Référence de ligne", "Stagiaire", "Identifiant stagiaire", "Date",
	"Durée (minutes)", "Activité / forfait", "Taux", "Montant", "Montant facturé", "Statut", "Motif",
}

// statementRows are the export's rows: every line of the statement with its
// status and its amount, the amount billed (the amount of a billed line, 0
// otherwise), then a TOTAL row whose amount billed is the statement's
// totals.amount_cents — the sum of the column above.
func statementRows(v *statementView) [][]sheet.Cell {
	ref, op, month := v.Contract.GetReference(), v.Contract.GetOperatorName(), v.Period.String()
	out := make([][]sheet.Cell, 0, len(v.Rows)+1)
	for _, row := range v.Rows {
		l := row.Line
		var billed int64
		status, motif := fr.Label(l.GetStatus()), ""
		switch l.GetStatus() {
		case fundingv1.LineStatus_LINE_STATUS_BILLED:
			billed = l.GetAmountCents()
		case fundingv1.LineStatus_LINE_STATUS_ANOMALY:
			motif = fr.Label(l.GetAnomaly())
		case fundingv1.LineStatus_LINE_STATUS_REJECTED:
			motif = l.GetReviewReason()
		}
		if l.GetLate() {
			status += " (tardive)"
		}
		learner := row.Learner
		if row.Attendees > 0 {
			learner = fmt.Sprintf("Groupe de %d : %s", row.Attendees, row.Learner)
		}
		out = append(out, []sheet.Cell{
			sheet.Text(ref), sheet.Text(op), sheet.Text(month), sheet.Text(fr.Label(l.GetUnit())), sheet.Text(l.GetOperatorLineId()),
			sheet.Text(learner), sheet.Text(strings.Join(row.LearnerIDs, ", ")), sheet.Date(civilpb.Date(l.GetDate())),
			sheet.Minutes(l.GetMinutes()), sheet.Text(row.What), sheet.Money(l.GetRateCents()), sheet.Money(l.GetAmountCents()),
			sheet.Money(billed), sheet.Text(status), sheet.Text(motif),
		})
	}
	t := v.Statement.GetTotals()
	out = append(out, []sheet.Cell{
		sheet.Text(ref), sheet.Text(op), sheet.Text(month), sheet.Text("TOTAL"), {}, {}, {}, {},
		sheet.Minutes(t.GetTraineeMinutes() + t.GetGroupMinutes()), {}, {}, {}, sheet.Money(t.GetAmountCents()),
		sheet.Text(fr.Label(v.Status)), {},
	})
	return out
}

// statementExport serves a statement as CSV or xlsx.
func (c *Console) statementExport(format string) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		v, ok := c.loadStatement(w, r, s)
		if !ok {
			return
		}
		name := "releve-" + fileSafe(v.Contract.GetReference()) + "-" + v.Period.String()
		c.writeSheet(w, r, s, format, name, "Relevé "+v.Period.String(), statementHeader, statementRows(v))
	}
}

// writeSheet answers a spreadsheet download.
func (c *Console) writeSheet(w http.ResponseWriter, r *http.Request, s *session, format, name, sheetName string, header []string, rows [][]sheet.Cell) {
	var buf bytes.Buffer
	var err error
	ctype := "text/csv; charset=utf-8"
	if format == "xlsx" {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		err = sheet.WriteXLSX(&buf, sheetName, header, rows)
	} else {
		err = sheet.WriteCSV(&buf, header, rows)
	}
	if err != nil {
		c.log.Error("console: export failed", "path", r.URL.Path, "error", err)
		c.pages.error(w, r, s, http.StatusInternalServerError, "Erreur", "L'export n'a pas pu être produit. Réessayez ; si l'erreur persiste, prévenez l'administrateur.")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

var fileUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// fileSafe is a reference as a file name part: letters, digits, - and _.
func fileSafe(s string) string {
	s = strings.Trim(fileUnsafe.ReplaceAllString(s, "_"), "_")
	if s == "" {
		return "marche"
	}
	return s
}

var monthHeader = []string{
	"Marché", "Organisme", "Territoires", "Programme", "Mois", "Statut", "Clôturé le", "Lignes", "En anomalie", "Rejetées",
	"Heures stagiaires (minutes)", "Montant heures stagiaires", "Heures groupe (minutes)", "Montant heures groupe",
	"Forfaits", "Montant forfaits", "Montant facturé",
}

// monthExport serves a month across contracts as CSV: one row per
// statement, then a TOTAL row of the month's totals.
func (c *Console) monthExport(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	q := r.URL.Query()
	m, err := civil.ParseMonth(q.Get("mois"))
	if err != nil || !m.Valid() {
		c.pages.error(w, r, s, http.StatusBadRequest, "Demande invalide", "Le mois s'écrit AAAA-MM, par exemple 2026-03.")
		return
	}
	operator := q.Get("organisme")
	if s.principal.Role == auth.RoleOperator {
		operator = s.principal.OperatorID
	}
	contracts, err := c.contracts(ctx, "")
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	operators := operatorNames(contracts)
	list, totals, err := c.statements(ctx, &fundingv1.ListStatementsRequest{
		Period: civilpb.FromMonth(m), OperatorId: operator, TerritoryCode: q.Get("territoire"),
		Programme: commonv1.FundingProgramme(commonv1.FundingProgramme_value[q.Get("programme")]),
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	rows := make([][]sheet.Cell, 0, len(list)+1)
	for _, st := range list {
		t := st.GetTotals()
		places := make([]string, len(st.GetTerritoryCodes()))
		for i, code := range st.GetTerritoryCodes() {
			places[i] = c.places.label(code)
		}
		rows = append(rows, []sheet.Cell{
			sheet.Text(st.GetContractReference()), sheet.Text(nameOrID(operators, st.GetOperatorId())), sheet.Text(strings.Join(places, ", ")),
			sheet.Text(fr.Label(st.GetProgramme())), sheet.Text(m.String()), sheet.Text(fr.Label(st.GetStatus())),
			sheet.Date(civilpb.Date(st.GetClosedOn())), sheet.Int(st.GetLineCount()), sheet.Int(st.GetAnomalyCount()), sheet.Int(st.GetRejectedCount()),
			sheet.Minutes(t.GetTraineeMinutes()), sheet.Money(t.GetTraineeAmountCents()), sheet.Minutes(t.GetGroupMinutes()),
			sheet.Money(t.GetGroupAmountCents()), sheet.Int(t.GetFlatFeeCount()), sheet.Money(t.GetFlatFeeAmountCents()), sheet.Money(t.GetAmountCents()),
		})
	}
	rows = append(rows, []sheet.Cell{
		sheet.Text("TOTAL"), {}, {}, {}, sheet.Text(m.String()), {}, {}, {}, sheet.Int(totals.GetAnomalyCount()), {},
		sheet.Minutes(totals.GetTraineeMinutes()), sheet.Money(totals.GetTraineeAmountCents()), sheet.Minutes(totals.GetGroupMinutes()),
		sheet.Money(totals.GetGroupAmountCents()), sheet.Int(totals.GetFlatFeeCount()), sheet.Money(totals.GetFlatFeeAmountCents()),
		sheet.Money(totals.GetAmountCents()),
	})
	c.writeSheet(w, r, s, "csv", "releves-"+m.String(), "Relevés "+m.String(), monthHeader, rows)
}

// ---------------------------------------------------------------------------
// The funder's home.

// monthGlance is a month's statements at a glance.
type monthGlance struct {
	Name, Of, Href                string
	Count, Open, Reviewed, Closed int
	Anomalies, Rejected           int
	Totals                        *fundingv1.StatementTotals
	ToReview                      []reviewItem
	Period                        civil.Month
}

// reviewItem is a statement with anomalies to review.
type reviewItem struct {
	Reference, Operator, Href string
	Anomalies                 int
}

// funderHome is a funder's home: this month and the last at a glance.
func (c *Console) funderHome(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	this := civil.MonthOf(c.today())
	last := civil.Month{Year: this.Year, Month: this.Month - 1}
	if this.Month == time.January {
		last = civil.Month{Year: this.Year - 1, Month: time.December}
	}
	contracts, err := c.contracts(ctx, "")
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	operators := operatorNames(contracts)
	var glances []monthGlance
	for _, m := range []civil.Month{this, last} {
		list, totals, err := c.statements(ctx, &fundingv1.ListStatementsRequest{Period: civilpb.FromMonth(m)})
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		g := monthGlance{Name: fr.CivilMonth(m), Of: ofMonth(m), Href: "/releves?annee=" + strconv.Itoa(m.Year), Count: len(list), Totals: totals, Period: m}
		for _, st := range list {
			switch st.GetStatus() {
			case fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED:
				g.Closed++
			case fundingv1.StatementStatus_STATEMENT_STATUS_REVIEWED:
				g.Reviewed++
			default:
				g.Open++
			}
			g.Anomalies += int(st.GetAnomalyCount())
			g.Rejected += int(st.GetRejectedCount())
			if st.GetAnomalyCount() > 0 && st.GetStatus() != fundingv1.StatementStatus_STATEMENT_STATUS_CLOSED {
				g.ToReview = append(g.ToReview, reviewItem{
					Reference: st.GetContractReference(), Operator: nameOrID(operators, st.GetOperatorId()),
					Href: statementPath(st.GetContractId(), m) + "?lignes=anomalies", Anomalies: int(st.GetAnomalyCount()),
				})
			}
		}
		glances = append(glances, g)
	}
	c.pages.render(w, r, s, http.StatusOK, "home_funder", map[string]any{
		"Title": "Accueil", "Months": glances,
	})
}

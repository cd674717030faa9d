package console_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// stmtScene is a contract of op-1 with hours reported on last month's
// statement: Inès's two lines billed (3 h 30 and 2 h at 12,50 € an hour),
// Marc's line turned into an anomaly by his enrolment ended before it.
type stmtScene struct {
	contract, other string
	last            civil.Month
	path            string // last month's statement page
}

// stmtLastMonth is the month before today's.
func stmtLastMonth() civil.Month {
	m := civil.MonthOf(today())
	if m.Month == time.January {
		return civil.Month{Year: m.Year - 1, Month: time.December}
	}
	return civil.Month{Year: m.Year, Month: m.Month - 1}
}

// stmtOperator is an API client acting as the training operator op.
func (e *env) stmtOperator(t *testing.T, op string) fundingv1.FundingServiceClient {
	t.Helper()
	return e.clients(t, auth.Principal{Subject: "user-" + op, Name: "Organisme " + op, Role: auth.RoleOperator, OperatorID: op}).Funding
}

// stmtReport reports trainee-hour lines as op until funding knows of the
// enrolments (its read model follows pathway).
func stmtReport(t *testing.T, op fundingv1.FundingServiceClient, contract string, lines ...*fundingv1.ReportedLine) {
	t.Helper()
	var res *fundingv1.ReportTraineeHoursResponse
	eventually(t, "the hours are accepted", func() bool {
		var err error
		res, err = op.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{RequestId: uuid.NewString(), ContractId: contract, Lines: lines})
		if err != nil {
			t.Fatalf("report hours: %v", err)
		}
		return int(res.GetAccepted()) == len(lines)
	})
}

// stmtContract creates an #Avenir contract of an operator from the month
// before last to next year.
func (e *env) stmtContract(t *testing.T, operatorID, operatorName, reference, territory string) string {
	t.Helper()
	terms := contractTerms(operatorID, operatorName, reference, territory)
	terms.PeriodFrom = date(stmtLastMonth().First().AddDays(-31))
	return e.contractWith(t, terms)
}

// stmtStart runs a dev server whose clock stands on the first of last
// month, sets the scene there and moves the clock to today.
func stmtStart(t *testing.T) (*env, stmtScene) {
	t.Helper()
	sc := stmtScene{last: stmtLastMonth()}
	first := sc.last.First()
	clock, err := server.NewDemoClock(first, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := startOn(t, clock)
	sc.contract = e.stmtContract(t, "op-1", "AFPA Caen", "AV-2026-T01", "T01")
	sc.other = e.stmtContract(t, "op-2", "GRETA Rouen", "AV-2026-T12", "T12")
	sc.path = "/releves/" + sc.contract + "/" + sc.last.String()
	ines := e.learner(t, "Lefèvre", "Inès", "T01")
	marc := e.learner(t, "Durand", "Marc", "T01")
	for _, l := range []string{ines, marc} {
		e.enter(t, l, first)
		e.enrol(t, l, sc.contract, first)
	}

	e.moveTo(t, first.AddDays(6))
	op := e.stmtOperator(t, "op-1")
	face := fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE
	stmtReport(t, op, sc.contract,
		&fundingv1.ReportedLine{OperatorLineId: "L-INES-1", LearnerId: ines, Date: date(first.AddDays(4)), Minutes: 210, Activity: face},
		&fundingv1.ReportedLine{OperatorLineId: "L-INES-2", LearnerId: ines, Date: date(first.AddDays(5)), Minutes: 120, Activity: face},
		&fundingv1.ReportedLine{OperatorLineId: "L-MARC-1", LearnerId: marc, Date: date(first.AddDays(5)), Minutes: 60, Activity: face},
	)
	// Marc's enrolment ended before his line: it becomes an anomaly.
	if _, err := e.Admin.Pathway.EndEnrolment(ctx(t), &pathwayv1.EndEnrolmentRequest{
		RequestId: uuid.NewString(), LearnerId: marc, EnrolmentNumber: 1, ToDate: date(first.AddDays(2)),
	}); err != nil {
		t.Fatalf("end Marc's enrolment: %v", err)
	}
	eventually(t, "Marc's line is an anomaly", func() bool {
		res, err := e.Admin.Funding.GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: sc.contract, Period: civilpb.FromMonth(sc.last)})
		return err == nil && res.GetStatement().GetTotals().GetAnomalyCount() == 1
	})
	e.moveTo(t, today())
	return e, sc
}

var totalShown = regexp.MustCompile(`id="total-facture">([^<]+)<`)

// stmtTotal is the total billed a statement page shows.
func stmtTotal(t *testing.T, page string) string {
	t.Helper()
	m := totalShown.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no total on the statement page:\n%s", page)
	}
	return m[1]
}

// A funder reconciles a month: the matrix shows the statement's status and
// amount, the statement its lines by filter; she rejects a line with a
// reason the operator then reads, exports the statement (CSV and xlsx,
// whose totals are the page's), and closes the month, once past. Referents
// see none of it, another operator not this statement.
func TestStatements(t *testing.T) {
	e, sc := stmtStart(t)
	funder := e.login(t, "funder")

	matrix := "/releves?annee=" + strconv.Itoa(sc.last.Year)
	eventually(t, "the matrix shows last month's statement", func() bool {
		page := funder.get(matrix)
		return strings.Contains(page, `href="`+sc.path+`"`) && strings.Contains(page, "68,75\u00a0€")
	})
	page := funder.get(matrix)
	for _, want := range []string{"AV-2026-T01", "AFPA Caen", "AV-2026-T12", "GRETA Rouen", ">Ouvert<", "1 anomalie",
		"Relevé " + stmtOf(sc.last) + " du marché AV-2026-T01", "<caption"} {
		if !strings.Contains(page, want) {
			t.Errorf("the matrix lacks %q", want)
		}
	}
	if got := funder.get("/releves?annee=" + strconv.Itoa(sc.last.Year) + "&organisme=op-2"); strings.Contains(got, "AV-2026-T01") {
		t.Error("the matrix filtered on GRETA shows AFPA's contract")
	}

	page = funder.get(sc.path)
	if got := stmtTotal(t, page); got != "68,75\u00a0€" {
		t.Errorf("statement total = %q, want 68,75 €", got)
	}
	for _, want := range []string{"LEFÈVRE Inès", "DURAND Marc", "3\u00a0h\u00a030", "Formation en présentiel", "AFPA Caen",
		"En anomalie (1)", "Rejetées (0)", "Toutes (3)", "Approuver", "Rejeter"} {
		if !strings.Contains(page, want) {
			t.Errorf("the statement lacks %q", want)
		}
	}
	anomalies := funder.get(sc.path + "?lignes=anomalies")
	if !strings.Contains(anomalies, "DURAND Marc") || strings.Contains(anomalies, "LEFÈVRE Inès") ||
		!strings.Contains(anomalies, "Inscription terminée avant les dates déclarées") {
		t.Errorf("the anomalies filter shows:\n%s", anomalies)
	}

	// A rejection needs its reason.
	form := url.Values{"ligne": {"1:L-INES-2"}, "decision": {"rejeter"}, "request_id": {uuid.NewString()}, "retour": {sc.path}}
	if res := funder.post(sc.path+"/revue", form); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Le motif est obligatoire") {
		t.Fatalf("a rejection without reason: %d\n%s", res.status, res.body)
	}
	form.Set("motif", "Feuille d'émargement absente")
	res := funder.post(sc.path+"/revue", form)
	if res.status != http.StatusOK || res.url != sc.path || !strings.Contains(res.body, "1 ligne rejetée.") {
		t.Fatalf("the rejection: %d at %s\n%s", res.status, res.url, res.body)
	}
	if got := stmtTotal(t, res.body); got != "43,75\u00a0€" {
		t.Errorf("after the rejection, total = %q, want 43,75 €", got)
	}
	rejected := funder.get(sc.path + "?lignes=rejetees")
	if !strings.Contains(rejected, "Feuille d&#39;émargement absente") || !strings.Contains(rejected, "Rejetées (1)") || strings.Contains(rejected, "L-INES-1") {
		t.Errorf("the rejected filter shows:\n%s", rejected)
	}

	// The operator reads the reason, and may correct its other lines.
	operator := e.login(t, "operator:op-1")
	opPage := operator.get(sc.path)
	if !strings.Contains(opPage, "Lignes rejetées par le financeur") || !strings.Contains(opPage, "Feuille d&#39;émargement absente") {
		t.Errorf("the operator's statement lacks the rejection's reason:\n%s", opPage)
	}
	if !strings.Contains(opPage, "/declarations/correction?contrat="+sc.contract+"&amp;ligne=L-INES-1&amp;periode="+sc.last.String()) {
		t.Errorf("the operator's statement lacks the correction link of L-INES-1")
	}
	if strings.Contains(opPage, `name="ligne"`) || strings.Contains(opPage, "/cloture") {
		t.Error("the operator is offered the funder's review or closing")
	}
	if got := operator.getResponse("/releves/" + sc.other + "/" + sc.last.String()); got.status != http.StatusNotFound {
		t.Errorf("op-1 opening op-2's statement: %d", got.status)
	}
	if got := operator.get("/releves?annee=" + strconv.Itoa(sc.last.Year)); !strings.Contains(got, "AV-2026-T01") || strings.Contains(got, "AV-2026-T12") {
		t.Errorf("op-1's matrix shows:\n%s", got)
	}

	// Exports: the total is the page's.
	page = funder.get(sc.path)
	shown := strings.TrimSuffix(stmtTotal(t, page), "\u00a0€")
	raw, disposition := stmtDownload(t, funder, sc.path+"/export.csv")
	if !bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		t.Fatalf("the CSV has no BOM: %q", raw[:min(20, len(raw))])
	}
	if want := `attachment; filename="releve-AV-2026-T01-` + sc.last.String() + `.csv"`; disposition != want {
		t.Errorf("Content-Disposition = %q, want %q", disposition, want)
	}
	r := csv.NewReader(bytes.NewReader(raw[3:]))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read the CSV: %v\n%s", err, raw)
	}
	if got := strings.Join(recs[0][:4], ";"); got != "Marché;Organisme;Mois;Unité" {
		t.Errorf("CSV header starts %q", got)
	}
	billedCol := stmtColumn(t, recs[0], "Montant facturé")
	var sum int64
	var total string
	for _, rec := range recs[1:] {
		if rec[3] == "TOTAL" {
			total = rec[billedCol]
			continue
		}
		sum += stmtCents(t, rec[billedCol])
	}
	if total != shown || stmtCents(t, total) != sum {
		t.Errorf("CSV total %q, sum of the lines %d cents, page total %q", total, sum, shown)
	}
	if !strings.Contains(string(raw), "Rejetée") || !strings.Contains(string(raw), "Heure stagiaire") || !strings.Contains(string(raw), "43,75") {
		t.Errorf("the CSV lacks French labels or decimal commas:\n%s", raw)
	}

	raw, _ = stmtDownload(t, funder, sc.path+"/export.xlsx")
	book, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("open the xlsx: %v", err)
	}
	rows, err := book.GetRows(book.GetSheetList()[0], excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	var xlsxTotal string
	for _, row := range rows {
		if len(row) > billedCol && row[3] == "TOTAL" {
			xlsxTotal = row[billedCol]
		}
	}
	if strings.ReplaceAll(xlsxTotal, ".", ",") != shown && xlsxTotal+"0" != strings.ReplaceAll(shown, ",", ".") {
		t.Errorf("xlsx total %q, page total %q", xlsxTotal, shown)
	}

	// Closing: not the current month; last month once confirmed.
	current := civil.MonthOf(today())
	currentPath := "/releves/" + sc.contract + "/" + current.String()
	res = funder.post(currentPath+"/cloture", url.Values{"confirme": {"oui"}, "request_id": {uuid.NewString()}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "n&#39;est pas terminé") {
		t.Errorf("closing the current month: %d\n%s", res.status, res.body)
	}
	if strings.Contains(funder.get(currentPath), "Clôturer le mois") {
		t.Error("the current month offers to close it")
	}
	if !strings.Contains(page, `href="`+sc.path+`/cloture"`) {
		t.Error("last month's statement offers no closing")
	}
	confirm := funder.get(sc.path + "/cloture")
	if !strings.Contains(confirm, "Je confirme la clôture") || !strings.Contains(confirm, "1 ligne reste en anomalie") {
		t.Errorf("the confirmation page:\n%s", confirm)
	}
	if res := funder.post(sc.path+"/cloture", url.Values{"request_id": {uuid.NewString()}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("closing without confirming: %d", res.status)
	}
	res = funder.post(sc.path+"/cloture", url.Values{"confirme": {"oui"}, "request_id": {uuid.NewString()}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "clôturé.") || !strings.Contains(res.body, `id="statut">Clôturé</span> le `) {
		t.Fatalf("closing last month: %d at %s\n%s", res.status, res.url, res.body)
	}
	if strings.Contains(res.body, `name="ligne"`) {
		t.Error("a closed statement still offers its review")
	}
	eventually(t, "the matrix shows the statement closed", func() bool {
		return strings.Contains(funder.get(matrix), ">Clôturé<")
	})

	// Referents see nothing of billing.
	ref := e.referent(t, "Claire Martin", "T01", 20)
	referent := e.login(t, "referent:"+ref)
	for _, p := range []string{"/releves", sc.path, sc.path + "/export.csv"} {
		if got := referent.getResponse(p); got.status != http.StatusForbidden {
			t.Errorf("a referent GET %s: %d", p, got.status)
		}
	}
}

// The funder's home shows last month's statement at a glance; the month's
// export across contracts sums as the matrix does.
func TestFunderHomeAndMonthExport(t *testing.T) {
	e, sc := stmtStart(t)
	funder := e.login(t, "funder")
	var home string
	eventually(t, "the home shows last month's amount", func() bool {
		home = funder.get("/")
		return strings.Contains(home, "68,75\u00a0€")
	})
	for _, want := range []string{"Le mois dernier : " + frMonth(sc.last), "AV-2026-T01 (AFPA Caen) : 1 ligne en anomalie", `href="/programmes"`} {
		if !strings.Contains(home, want) {
			t.Errorf("the funder's home lacks %q", want)
		}
	}
	raw, _ := stmtDownload(t, funder, "/releves/export.csv?mois="+sc.last.String())
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := stmtColumn(t, recs[0], "Montant facturé")
	if len(recs) != 4 || recs[3][0] != "TOTAL" || recs[3][col] != "68,75" {
		t.Errorf("the month's export:\n%s", raw)
	}
}

func stmtDownload(t *testing.T, u *user, path string) ([]byte, string) {
	t.Helper()
	res, err := u.c.Get(u.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, res.StatusCode, b)
	}
	return b, res.Header.Get("Content-Disposition")
}

func stmtColumn(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %q", name, header)
	return 0
}

// stmtCents reads "1234,50" as cents.
func stmtCents(t *testing.T, s string) int64 {
	t.Helper()
	euros, cents, ok := strings.Cut(s, ",")
	e, err1 := strconv.ParseInt(euros, 10, 64)
	c, err2 := strconv.ParseInt(cents, 10, 64)
	if !ok || err1 != nil || err2 != nil || len(cents) != 2 {
		t.Fatalf("not an amount with a decimal comma: %q", s)
	}
	if strings.HasPrefix(euros, "-") {
		return e*100 - c
	}
	return e*100 + c
}

var frMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

func frMonth(m civil.Month) string { return frMonths[m.Month-1] + " " + strconv.Itoa(m.Year) }

// stmtOf is "de mars 2026", "d&#39;avril 2026" (as HTML escapes it).
func stmtOf(m civil.Month) string {
	if m.Month == time.April || m.Month == time.August || m.Month == time.October {
		return "d&#39;" + frMonth(m)
	}
	return "de " + frMonth(m)
}

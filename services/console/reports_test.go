package console_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/console/sheet"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// repScene is an operator with a contract, two learners enrolled with it
// (and known so to funding) and one learner not enrolled.
type repScene struct {
	e                *env
	today            civil.Date // the services' today
	contract         string
	ines, marc, paul string
}

func repSetup(t *testing.T) repScene {
	t.Helper()
	// Learners enter the pathway on their registration's day at the
	// earliest: they are registered today, and the scene goes on a month
	// later (sc.today).
	e := startWithClock(t)
	from := today()
	sc := repScene{e: e, today: from.AddDays(30), contract: e.contract(t, "op-1", "AFPA Caen", "AV-2026-T01", "T01")}
	e.contract(t, "op-2", "GRETA Rouen", "AV-2026-T12", "T12")
	sc.ines = e.learner(t, "Lefèvre", "Inès", "T01")
	sc.marc = e.learner(t, "Durand", "Marc", "T01")
	sc.paul = e.learner(t, "Petit", "Paul", "T01")
	for _, id := range []string{sc.ines, sc.marc, sc.paul} {
		e.enter(t, id, from)
	}
	e.moveTo(t, sc.today)
	operator := e.clients(t, auth.Principal{Subject: "op-1-test", Name: "AFPA Caen", Role: auth.RoleOperator, OperatorID: "op-1"})
	for _, id := range []string{sc.ines, sc.marc} {
		e.enrol(t, id, sc.contract, from)
		// Funding learns of enrolments from pathway's stream: a line over
		// the daily cap is refused for the cap, not the enrolment, once it
		// knows (and is recorded nowhere).
		eventually(t, "funding knows the enrolment", func() bool {
			res, err := operator.Funding.ReportTraineeHours(ctx(t), &fundingv1.ReportTraineeHoursRequest{
				RequestId: uuid.NewString(), ContractId: sc.contract, Lines: []*fundingv1.ReportedLine{{
					OperatorLineId: "probe-" + uuid.NewString()[:8], LearnerId: id, Date: date(sc.today.AddDays(-20)), Minutes: 1000,
					Activity: fundingv1.ActivityType_ACTIVITY_TYPE_FACE_TO_FACE,
				}},
			})
			return err == nil && res.GetResults()[0].GetReason() == fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED
		})
	}
	return sc
}

// repUpload sends a file to the hour upload form as a browser does; csrf
// "" sends none. It does not follow the redirection.
func repUpload(t *testing.T, u *user, csrf, contract, name string, data []byte) response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		_ = mw.WriteField("_csrf", csrf)
	}
	_ = mw.WriteField("contrat", contract)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="fichier"; filename=%q`, name))
	h.Set("Content-Type", "application/octet-stream")
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, u.base+"/declarations/heures", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return repNoFollow(t, u, req)
}

func repNoFollow(t *testing.T, u *user, req *http.Request) response {
	t.Helper()
	c := *u.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return response{status: res.StatusCode, body: b.String(), url: res.Header.Get("Location")}
}

// repImport uploads a file, waits for its import to finish and returns the
// import's path and its page.
func repImport(t *testing.T, u *user, contract, name string, data []byte) (string, string) {
	t.Helper()
	res := repUpload(t, u, u.csrf, contract, name, data)
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.url, "/declarations/import/") {
		t.Fatalf("upload of %s: %d %s\n%s", name, res.status, res.url, res.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Done, Total int
			Finished    bool
			Text        string
		}
		if err := json.Unmarshal([]byte(u.get(res.url+"/etat")), &st); err != nil {
			t.Fatal(err)
		}
		if st.Finished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s unfinished after 30s: %+v", res.url, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return res.url, u.get(res.url)
}

var repTags = regexp.MustCompile(`<[^>]+>`)

// repRow is the text of the report's row of a file line ("" when absent).
func repRow(page string, line int) string {
	start := strings.Index(page, fmt.Sprintf(`<tr id="ligne-%d">`, line))
	if start < 0 {
		return ""
	}
	end := strings.Index(page[start:], "</tr>")
	text := html.UnescapeString(repTags.ReplaceAllString(page[start:start+end], " "))
	return strings.Join(strings.Fields(text), " ")
}

// repText is a page's text, tags removed and spaces (no-break ones too)
// collapsed to one space.
func repText(page string) string {
	return strings.Join(strings.Fields(html.UnescapeString(repTags.ReplaceAllString(page, " "))), " ")
}

func repCP1252(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func repDay(d civil.Date) string { return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year) }

// repStatementAmount is the billed trainee amount of the contract's
// statements of the months of days (the API's word).
func repStatementAmount(t *testing.T, e *env, contract string, days ...civil.Date) int64 {
	t.Helper()
	seen := map[civil.Month]bool{}
	var total int64
	for _, d := range days {
		m := civil.MonthOf(d)
		if seen[m] {
			continue
		}
		seen[m] = true
		res, err := e.Admin.Funding.GetStatement(ctx(t), &fundingv1.GetStatementRequest{ContractId: contract, Period: civilpb.FromMonth(m)})
		if err != nil {
			t.Fatalf("statement %s: %v", m, err)
		}
		total += res.GetStatement().GetTotals().GetTraineeAmountCents()
	}
	return total
}

// An operator reports a Windows-1252 CSV with good and bad lines and reads
// each line's fate by its line number, in French; downloads the rejected
// lines in the same encoding, fixes and sends them again: all accepted.
// The same file sent twice bills nothing twice; an .xlsx file works the
// same way; another operator cannot open the import.
func TestReportHoursSpreadsheet(t *testing.T) {
	sc := repSetup(t)
	e := sc.e
	u := e.login(t, "operator:op-1")
	d1, d2, d3 := sc.today.AddDays(-10), sc.today.AddDays(-9), sc.today.AddDays(-8)

	// The model names the enrolled learners and reads back as hour columns.
	model := u.getResponse("/declarations/modele.csv?contrat=" + sc.contract)
	if model.status != http.StatusOK || !strings.HasPrefix(model.body, "\ufeff") {
		t.Fatalf("model: %d %q", model.status, model.body[:min(len(model.body), 80)])
	}
	for _, want := range []string{"Identifiant;Nom;Date;Heures;Activité;Référence", sc.ines + ";LEFÈVRE Inès", sc.marc + ";DURAND Marc"} {
		if !strings.Contains(model.body, want) {
			t.Errorf("the model lacks %q:\n%s", want, model.body)
		}
	}
	if strings.Contains(model.body, sc.paul) {
		t.Errorf("the model names a learner not enrolled:\n%s", model.body)
	}
	table, err := sheet.Read(strings.NewReader(model.body), "modele.csv", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, problems := sheet.HourLines(table); len(problems) == 0 || problems[0].Column == "" {
		t.Errorf("the model's header is not read as hour columns: %+v", problems)
	}

	hub := u.get("/declarations")
	for _, want := range []string{`enctype="multipart/form-data"`, `accept=".csv,.xlsx,.txt"`, "3,5", "/declarations/groupe", "/declarations/forfaits"} {
		if !strings.Contains(hub, want) {
			t.Errorf("the hub lacks %q", want)
		}
	}

	original := "Identifiant;Nom;Date;Durée (h);Activité\r\n" +
		sc.ines + ";Lefèvre Inès;" + repDay(d1) + ";3,5;Formation en présentiel\r\n" + // 2: accepted
		sc.marc + ";Durand Marc;" + repDay(d1) + ";2;Entretien individuel\r\n" + // 3: accepted
		sc.ines + ";Lefèvre Inès;" + repDay(sc.today.AddDays(5)) + ";1;Formation en présentiel\r\n" + // 4: future
		sc.paul + ";Petit Paul;" + repDay(d1) + ";1;Formation en présentiel\r\n" + // 5: not enrolled
		sc.marc + ";Durand Marc;" + repDay(d2) + ";trois heures;Formation en présentiel\r\n" + // 6: unreadable
		sc.ines + ";Lefèvre Inès;" + repDay(d2) + ";3,5;Évaluation\r\n" // 7: accepted
	file := repCP1252(t, original)
	path, page := repImport(t, u, sc.contract, "heures-mars.csv", file)
	wantRows := map[int][]string{
		2: {"LEFÈVRE Inès", repDay(d1), "3 h 30", "Formation en présentiel", "Acceptée"},
		3: {"DURAND Marc", "2 h", "Entretien individuel", "Acceptée"},
		4: {"Rejetée", "Date postérieure à aujourd'hui"},
		5: {"Rejetée", "pas inscrit sur ce marché à cette date"},
		6: {"Ligne illisible", "trois heures", "Rejetée", "Durée (h) : durée invalide"},
		7: {"LEFÈVRE Inès", "3 h 30", "Évaluation, positionnement", "Acceptée"},
	}
	for line, wants := range wantRows {
		row := repRow(page, line)
		for _, want := range wants {
			if !strings.Contains(row, want) {
				t.Errorf("line %d: %q lacks %q", line, row, want)
			}
		}
	}
	text := repText(page)
	for _, want := range []string{"3 lignes acceptées", "3 lignes rejetées", "112,50 € montant accepté"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "PETIT") {
		t.Errorf("the report names a learner not enrolled with the operator:\n%s", text)
	}
	if strings.Contains(text, "enrolled") || strings.Contains(text, "is after today") {
		t.Errorf("the report shows the API's English:\n%s", text)
	}
	eventually(t, "the statements bill the 3 lines", func() bool {
		return repStatementAmount(t, e, sc.contract, d1, d2) == 11250
	})

	// The rejects: Windows-1252 as sent, the 3 rejected lines with reasons.
	rej := u.getResponse(path + "/rejets")
	if rej.status != http.StatusOK {
		t.Fatalf("rejects: %d", rej.status)
	}
	decoded, _ := charmap.Windows1252.NewDecoder().String(rej.body)
	if !strings.Contains(rej.body, string(repCP1252(t, "Motif du rejet"))) || strings.HasPrefix(rej.body, "\ufeff") {
		t.Fatalf("the rejects are not in Windows-1252:\n%q", rej.body)
	}
	cr := csv.NewReader(strings.NewReader(decoded))
	cr.Comma = ';'
	records, err := cr.ReadAll()
	if err != nil || len(records) != 4 {
		t.Fatalf("rejects: %v\n%s", err, decoded)
	}
	if !strings.Contains(records[2][len(records[2])-1], "inscrit") {
		t.Errorf("the not-enrolled line's reason: %q", records[2])
	}
	// Fixed: the future day is a past one, the line was Marc's, the
	// duration a number; the reason column stays.
	records[1][2] = repDay(d3)
	records[2][0], records[2][1] = sc.marc, "Durand Marc"
	records[3][3] = "3"
	var fixed bytes.Buffer
	cw := csv.NewWriter(&fixed)
	cw.Comma = ';'
	_ = cw.WriteAll(records)
	_, page = repImport(t, u, sc.contract, "heures-mars-rejets.csv", repCP1252(t, fixed.String()))
	if text := repText(page); !strings.Contains(text, "3 lignes acceptées") || !strings.Contains(text, "Aucune ligne rejetée") {
		t.Fatalf("the fixed rejects are not all accepted:\n%s", text)
	}
	eventually(t, "the statements bill the 3 fixed lines too", func() bool {
		return repStatementAmount(t, e, sc.contract, d1, d2, d3) == 11250+1250+1250+3750
	})

	// The same file again: already reported, nothing billed twice.
	_, page = repImport(t, u, sc.contract, "heures-mars.csv", file)
	if row := repRow(page, 2); !strings.Contains(row, "Déjà déclarée") {
		t.Errorf("line 2 sent again: %q", row)
	}
	if text := repText(page); !strings.Contains(text, "0 ligne acceptée") || !strings.Contains(text, "0,00 € montant accepté") || !strings.Contains(text, "3 déjà déclarées") {
		t.Errorf("the same file again:\n%s", text)
	}
	time.Sleep(300 * time.Millisecond)
	if got := repStatementAmount(t, e, sc.contract, d1, d2, d3); got != 11250+1250+1250+3750 {
		t.Errorf("after the same file again, the statements bill %d", got)
	}

	// An .xlsx file: a date cell, minutes, an unknown activity.
	x := excelize.NewFile()
	sh := x.GetSheetName(0)
	_ = x.SetSheetRow(sh, "A1", &[]any{"Identifiant", "Date", "Minutes", "Activité"})
	_ = x.SetSheetRow(sh, "A2", &[]any{sc.ines, time.Date(d3.Year, d3.Month, d3.Day, 0, 0, 0, 0, time.UTC), 90, "Formation à distance"})
	_ = x.SetSheetRow(sh, "A3", &[]any{sc.marc, time.Date(d3.Year, d3.Month, d3.Day, 0, 0, 0, 0, time.UTC), 60, "Cuisine"})
	style, _ := x.NewStyle(&excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy")})
	_ = x.SetCellStyle(sh, "B2", "B3", style)
	var xb bytes.Buffer
	if err := x.Write(&xb); err != nil {
		t.Fatal(err)
	}
	xpath, page := repImport(t, u, sc.contract, "heures.xlsx", xb.Bytes())
	if row := repRow(page, 2); !strings.Contains(row, "Acceptée") || !strings.Contains(row, "1 h 30") {
		t.Errorf("xlsx line 2: %q", row)
	}
	if row := repRow(page, 3); !strings.Contains(row, "Rejetée") || !strings.Contains(row, "activité inconnue") {
		t.Errorf("xlsx line 3: %q", row)
	}
	xrej := u.getResponse(xpath + "/rejets")
	back, err := sheet.Read(strings.NewReader(xrej.body), "rejets.xlsx", 0)
	if err != nil || back.Format != sheet.FormatXLSX || len(back.Rows) != 1 || back.Header[len(back.Header)-1] != sheet.RejectColumn {
		t.Fatalf("xlsx rejects: %v %+v", err, back)
	}

	// Another operator does not find the import.
	other := e.login(t, "operator:op-2")
	for _, p := range []string{path, path + "/etat", path + "/rejets"} {
		if res := other.getResponse(p); res.status != http.StatusNotFound {
			t.Errorf("another operator opening %s: %d", p, res.status)
		}
	}
	if res := e.login(t, "funder").getResponse(path); res.status != http.StatusForbidden {
		t.Errorf("a funder opening an import: %d", res.status)
	}
}

func ptr[T any](v T) *T { return &v }

// The upload form carries its CSRF token in the multipart body: without it
// or with a wrong one the file is refused; too big a body is refused 413.
func TestReportUploadCSRF(t *testing.T) {
	sc := repSetup(t)
	u := sc.e.login(t, "operator:op-1")
	file := []byte("Identifiant;Date;Minutes;Activité\n" + sc.ines + ";" + repDay(sc.today.AddDays(-3)) + ";60;1\n")
	if res := repUpload(t, u, "", sc.contract, "h.csv", file); res.status != http.StatusForbidden {
		t.Errorf("without _csrf: %d", res.status)
	}
	if res := repUpload(t, u, "not-the-token", sc.contract, "h.csv", file); res.status != http.StatusForbidden || !strings.Contains(res.body, "Formulaire refusé") {
		t.Errorf("with a wrong _csrf: %d", res.status)
	}
	if res := repUpload(t, u, u.csrf, sc.contract, "h.csv", file); res.status != http.StatusSeeOther {
		t.Errorf("with the right _csrf: %d\n%s", res.status, res.body)
	}
	res := repUpload(t, u, u.csrf, sc.contract, "big.csv", bytes.Repeat([]byte("a;b;c;d\n"), 21<<20/8))
	if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, "Fichier trop volumineux") {
		t.Errorf("a 21 MiB upload: %d", res.status)
	}
	// A file that is not a table of hours: the header's problems, nothing sent.
	res = repUpload(t, u, u.csrf, sc.contract, "h.csv", []byte("Nom;Prénom\nLefèvre;Inès\n"))
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(res.body), "colonnes manquantes") {
		t.Errorf("a file without hour columns: %d\n%s", res.status, res.body)
	}
}

// A correction changes the statement's line (checked through the API); a
// double submit is one correction; a correction without its reason is
// refused next to the field, in French.
func TestReportCorrection(t *testing.T) {
	sc := repSetup(t)
	e := sc.e
	u := e.login(t, "operator:op-1")
	d1 := sc.today.AddDays(-6)
	_, page := repImport(t, u, sc.contract, "h.csv", []byte("Identifiant;Date;Heures;Activité\n"+sc.ines+";"+repDay(d1)+";3,5;1\n"))
	link := regexp.MustCompile(`href="(/declarations/correction\?[^"]+)"`).FindStringSubmatch(repRow2HTML(page, 2))
	if link == nil {
		t.Fatalf("no correction link on the accepted line:\n%s", page)
	}
	form := u.get(html.UnescapeString(link[1]))
	for _, want := range []string{"LEFÈVRE Inès", repDay(d1), "3\u00a0h\u00a030", "0 annule la ligne"} {
		if !strings.Contains(html.UnescapeString(form), want) {
			t.Errorf("the correction page lacks %q", want)
		}
	}
	q, _ := url.ParseQuery(strings.SplitN(html.UnescapeString(link[1]), "?", 2)[1])
	requestID := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindStringSubmatch(form)[1]
	values := url.Values{
		"_csrf": {u.csrf}, "request_id": {requestID}, "contrat": {q.Get("contrat")}, "periode": {q.Get("periode")}, "ligne": {q.Get("ligne")},
		"duree": {"2 h"}, "activite": {"ACTIVITY_TYPE_FACE_TO_FACE"}, "motif": {""},
	}
	post := func(v url.Values) response {
		req, _ := http.NewRequest(http.MethodPost, u.base+"/declarations/correction", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return repNoFollow(t, u, req)
	}
	res := post(values)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(res.body), `id="motif-error">Motif refusé`) {
		t.Fatalf("a correction without reason: %d\n%s", res.status, res.body)
	}
	values.Set("motif", "Erreur de saisie : la séance a duré deux heures.")
	for range 2 { // a double submit
		res = post(values)
		if want := "/releves/" + sc.contract + "/" + civil.MonthOf(d1).String(); res.status != http.StatusSeeOther || res.url != want {
			t.Fatalf("the correction: %d %s, want 303 %s\n%s", res.status, res.url, want, res.body)
		}
	}
	var corrections []*fundingv1.StatementLine
	eventually(t, "the statement shows the correction", func() bool {
		st, err := e.Admin.Funding.GetStatement(ctx(t), &fundingv1.GetStatementRequest{
			ContractId: sc.contract, Period: civilpb.FromMonth(civil.MonthOf(d1)), PageSize: 100,
		})
		if err != nil {
			return false
		}
		corrections = corrections[:0]
		for _, l := range st.GetStatement().GetLines() {
			if l.GetCorrectsLineId() == q.Get("ligne") {
				corrections = append(corrections, l)
			}
		}
		return len(corrections) > 0 && st.GetStatement().GetTotals().GetTraineeAmountCents() == 2500
	})
	if len(corrections) != 1 || corrections[0].GetMinutes() != -90 || corrections[0].GetAmountCents() != 2500-4375 {
		t.Errorf("corrections %v", corrections)
	}
}

// repRow2HTML is the HTML of the report's row of a file line.
func repRow2HTML(page string, line int) string {
	start := strings.Index(page, fmt.Sprintf(`<tr id="ligne-%d">`, line))
	if start < 0 {
		return ""
	}
	return page[start : start+strings.Index(page[start:], "</tr>")]
}

package sheet

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/xuri/excelize/v2"
)

// rejectAll writes the rejects of a table's hour lines and reads them back.
func rejectsOf(t *testing.T, tb *Table) ([]byte, *Table) {
	t.Helper()
	_, problems := HourLines(tb)
	var out bytes.Buffer
	if err := WriteRejects(&out, tb, RejectReasons(problems)); err != nil {
		t.Fatalf("WriteRejects: %v", err)
	}
	return out.Bytes(), mustRead(t, out.Bytes())
}

func TestWriteRejectsCSV1252(t *testing.T) {
	src := cp1252(t, "Ville;Identifiant;Date;Heures;Activité\r\n"+
		"Évreux;"+theo+";05/03/2026;3,5;présentiel\r\n"+
		"Théville;"+zoe+";31/02/2026;3,5;présentiel\r\n"+
		"\r\n"+
		"Caen;"+zoe+";06/03/2026;3,33;\"Évaluation; positionnement\"\r\n")
	tb := mustRead(t, src)
	out, back := rejectsOf(t, tb)

	if utf8.Valid(out) || bytes.HasPrefix(out, []byte("\xef\xbb\xbf")) {
		t.Errorf("rejects are not Windows-1252 without BOM: %q", out)
	}
	want := cp1252(t, "Ville;Identifiant;Date;Heures;Activité;Motif du rejet\r\n"+
		"Théville;"+zoe+";31/02/2026;3,5;présentiel;Date\u00a0: date invalide\u00a0: le 31/02/2026 n'existe pas\r\n"+
		"Caen;"+zoe+";06/03/2026;3,33;\"Évaluation; positionnement\";"+
		"Heures\u00a0: durée invalide\u00a0: « 3,33 » heures ne font pas un nombre entier de minutes (3,5 fait 210\u00a0min, 3,25 fait 195\u00a0min)\r\n")
	if !bytes.Equal(out, want) {
		t.Errorf("rejects\n got %q\nwant %q", out, want)
	}
	if back.Encoding != EncodingWindows1252 || back.Delimiter != ';' || back.BOM {
		t.Errorf("read back as %s %q BOM %v", back.Encoding, back.Delimiter, back.BOM)
	}
	// The person fixes the file and uploads it again: the reason column is
	// ignored, the lines are new line numbers of the rejects file.
	fixed := bytes.Replace(out, []byte("31/02/2026"), []byte("28/02/2026"), 1)
	fixed = bytes.Replace(fixed, []byte(";3,33;"), []byte(";3 h 20;"), 1)
	lines, problems := HourLines(mustRead(t, fixed))
	if problems != nil || len(lines) != 2 || lines[0].Line != 2 || lines[1].Minutes != 200 {
		t.Errorf("fixed rejects: %+v, %+v", lines, problems)
	}
	// Rejected again, the reason column is filled, not doubled.
	out2, back2 := rejectsOf(t, back)
	if len(back2.Header) != 6 || back2.Header[5] != RejectColumn || len(back2.Rows) != 2 {
		t.Errorf("rejects of rejects: header %q, %d rows\n%q", back2.Header, len(back2.Rows), out2)
	}
}

func TestWriteRejectsCSVUTF8(t *testing.T) {
	cases := []struct {
		name, src string
		bom       bool
		delimiter string
	}{
		{"BOM and commas stay", "\ufeffidentifiant,date,minutes,activité\r\nx,05/03/2026,60,1\r\n", true, ","},
		{"no BOM, accents: UTF-8 without BOM", "identifiant\tdate\tminutes\tactivité\nx\t05/03/2026\t60\t1\n", false, "\t"},
		{"ASCII only: a BOM so that Excel reads the French reasons", "identifiant;date;minutes;activite\nx;05/03/2026;60;1\n", true, ";"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, back := rejectsOf(t, mustRead(t, []byte(c.src)))
			if bytes.HasPrefix(out, []byte(utf8BOM)) != c.bom || back.Encoding != EncodingUTF8 || string(back.Delimiter) != c.delimiter {
				t.Errorf("rejects %q read back as %s %q", out, back.Encoding, back.Delimiter)
			}
			if len(back.Rows) != 1 || back.Rows[0].Cell(0) != "x" || !strings.HasPrefix(back.Rows[0].Cell(4), "identifiant\u00a0: identifiant du stagiaire invalide") {
				t.Errorf("rows read back: %q", rowsOf(back))
			}
		})
	}
}

func TestWriteRejectsKeepsDelimiterDetection(t *testing.T) {
	// Header cells holding other delimiters are quoted, so that reading the
	// rejects detects ";" again.
	src := "\"a,b,c,d\";\"e\tf\";identifiant\n1;2;x\n3;4;y\n"
	tb := mustRead(t, []byte(src))
	var out bytes.Buffer
	if err := WriteRejects(&out, tb, map[int]string{3: "motif, avec virgule", 1: "l'en-tête est ignoré", 99: "absente"}); err != nil {
		t.Fatal(err)
	}
	back := mustRead(t, out.Bytes())
	if back.Delimiter != ';' || !reflect.DeepEqual(back.Header, []string{"a,b,c,d", "e\tf", "identifiant", RejectColumn}) {
		t.Errorf("read back %q header %q from %q", back.Delimiter, back.Header, out.String())
	}
	if got, want := rowsOf(back), []string{"2: 3|4|y|motif, avec virgule"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

func TestWriteRejectsXLSX(t *testing.T) {
	src := workbook(t, func(f *excelize.File, sh string) {
		must(t, f.SetSheetName(sh, "Mars"))
		sh = "Mars"
		must(t, f.SetSheetRow(sh, "A1", &[]any{"Identifiant", "Date", "Heures", "Activité", "Référence"}))
		must(t, f.SetSheetRow(sh, "A2", &[]any{theo, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), 3.5, "Formation en présentiel", 1001}))
		must(t, f.SetSheetRow(sh, "A3", &[]any{zoe, time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC), 3.33, 2, "0012"}))
		must(t, f.SetSheetRow(sh, "A4", &[]any{"Théo", time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), nil, 2, 1003}))
		must(t, f.SetCellFloat(sh, "C4", 3.5/24, -1, 64))
		must(t, f.SetCellStyle(sh, "B2", "B4", style(t, f, custom("dd/mm/yyyy"))))
		must(t, f.SetCellStyle(sh, "C4", "C4", style(t, f, custom("[h]:mm"))))
	})
	tb := mustRead(t, src)
	out, back := rejectsOf(t, tb)
	if !bytes.HasPrefix(out, []byte("PK\x03\x04")) || back.Format != FormatXLSX || back.SheetName != "Mars" {
		t.Fatalf("rejects are %s, sheet %q", back.Format, back.SheetName)
	}
	want := []string{
		"2: " + zoe + "|06/03/2026|3,33|2|0012|" + sp("Heures_: durée invalide_: « 3,33 » heures ne font pas un nombre entier de minutes (3,5 fait 210_min, 3,25 fait 195_min)"),
		"3: Théo|07/03/2026|3:30|2|1003|" + sp("Identifiant_: identifiant du stagiaire invalide_: « Théo »_; attendu l'identifiant avenir du stagiaire, 32 chiffres et lettres de a à f en groupes 8-4-4-4-12"),
	}
	if got := rowsOf(back); !reflect.DeepEqual(got, want) {
		t.Errorf("rows\n got %q\nwant %q", got, want)
	}
	if want := []string{"Identifiant", "Date", "Heures", "Activité", "Référence", RejectColumn}; !reflect.DeepEqual(back.Header, want) {
		t.Errorf("header %q", back.Header)
	}
	// Dates, numbers and durations are written back as numbers.
	f, err := excelize.OpenReader(bytes.NewReader(out))
	must(t, err)
	defer f.Close()
	srcFile, err := excelize.OpenReader(bytes.NewReader(src))
	must(t, err)
	defer srcFile.Close()
	duration, err := srcFile.GetCellValue("Mars", "C4", excelize.Options{RawCellValue: true})
	must(t, err)
	for ref, want := range map[string]string{"B2": "46087", "C2": "3.33", "C3": duration, "E2": "0012", "D2": "2"} {
		got, err := f.GetCellValue("Mars", ref, excelize.Options{RawCellValue: true})
		must(t, err)
		if got != want {
			t.Errorf("%s raw = %q, want %q", ref, got, want)
		}
	}
	if typ, _ := f.GetCellType("Mars", "E2"); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
		t.Errorf("E2 (text 0012) has type %v", typ)
	}
	if got, _ := f.GetCellValue("Mars", "B2"); got != "06/03/2026" {
		t.Errorf("B2 formatted = %q", got)
	}
	// Fixed and uploaded again, the reason column is ignored.
	must(t, f.SetCellValue("Mars", "C2", 3.5))
	must(t, f.SetCellValue("Mars", "A3", theo))
	var fixed bytes.Buffer
	must(t, f.Write(&fixed))
	lines, problems := HourLines(mustRead(t, fixed.Bytes()))
	if problems != nil || len(lines) != 2 || lines[0].Minutes != 210 || lines[1].Minutes != 210 || lines[1].Date != day(2026, 3, 7) {
		t.Errorf("fixed rejects: %+v, %+v", lines, problems)
	}
}

func TestWriteCSV(t *testing.T) {
	header := []string{"Stagiaire", "Montant", "Date", "Minutes", "Lignes", "Note"}
	rows := [][]Cell{
		{Text("Théo; « Évreux »"), Money(123450), Date(day(2026, 3, 5)), Minutes(int32(210)), Int(12345), Text("=1+1")},
		{Text(`dit "Zoé"`), Money(-5), Date(day(1999, 12, 31)), Minutes(0), Int(int64(-7)), Text("-")},
		{Text(""), Money(math.MinInt64), Date(day(0, 0, 0)), {}, Int(0), Text("@x")},
		{Money(math.MaxInt64)},
	}
	var out bytes.Buffer
	if err := WriteCSV(&out, header, rows); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffStagiaire;Montant;Date;Minutes;Lignes;Note\r\n" +
		"\"Théo; « Évreux »\";1234,50;05/03/2026;210;12345;'=1+1\r\n" +
		"\"dit \"\"Zoé\"\"\";-0,05;31/12/1999;0;-7;-\r\n" +
		";-92233720368547758,08;;;0;'@x\r\n" +
		"92233720368547758,07\r\n"
	if out.String() != want {
		t.Errorf("CSV\n got %q\nwant %q", out.String(), want)
	}
	// It reads back as it was written.
	back := mustRead(t, out.Bytes())
	if !back.BOM || back.Delimiter != ';' || back.Rows[0].Cell(1) != "1234,50" {
		t.Errorf("read back: BOM %v %q %q", back.BOM, back.Delimiter, rowsOf(back))
	}
}

func TestWriteXLSX(t *testing.T) {
	header := []string{"Stagiaire", "Montant", "Date", "Minutes", "Lignes"}
	rows := [][]Cell{
		{Text("=SUM(A1)"), Money(123450), Date(day(2026, 3, 5)), Minutes(210), Int(12345)},
		{Text("Zoé"), Money(-5), Date(day(1900, 2, 28)), {}, Int(0)},
		{Text("Max"), Money(math.MaxInt64), Date(day(1900, 3, 1))},
	}
	var out bytes.Buffer
	if err := WriteXLSX(&out, "Relevé [mars]/2026: lot 1 et lot 2 et lot 3", header, rows); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(out.Bytes()))
	must(t, err)
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 1 || sheets[0] != "Relevé -mars--2026- lot 1 et lo" {
		t.Fatalf("sheets %q", sheets)
	}
	sh := sheets[0]
	raw := map[string]string{
		"A1": "Stagiaire", "E1": "Lignes",
		"A2": "=SUM(A1)", "B2": "1234.50", "C2": "46086", "D2": "210", "E2": "12345",
		"B3": "-0.05", "C3": "59", "D3": "", "E3": "0",
		"B4": "92233720368547758.07", "C4": "61",
	}
	for ref, want := range raw {
		got, err := f.GetCellValue(sh, ref, excelize.Options{RawCellValue: true})
		must(t, err)
		if got != want {
			t.Errorf("%s raw = %q, want %q", ref, got, want)
		}
	}
	if formula, _ := f.GetCellFormula(sh, "A2"); formula != "" {
		t.Errorf("text became a formula: %q", formula)
	}
	for ref, want := range map[string]excelize.CellType{"B2": excelize.CellTypeUnset, "C2": excelize.CellTypeUnset, "D2": excelize.CellTypeUnset} {
		if got, _ := f.GetCellType(sh, ref); got != want {
			t.Errorf("%s type %v, want a number (%v)", ref, got, want)
		}
	}
	numFmt := func(ref string) string {
		id, err := f.GetCellStyle(sh, ref)
		must(t, err)
		st, err := f.GetStyle(id)
		must(t, err)
		if st.CustomNumFmt == nil {
			return ""
		}
		return *st.CustomNumFmt
	}
	for ref, want := range map[string]string{"B2": `#,##0.00\ "€"`, "B4": `#,##0.00\ "€"`, "C2": "dd/mm/yyyy", "C3": "dd/mm/yyyy", "D2": "", "E2": ""} {
		if got := numFmt(ref); got != want {
			t.Errorf("%s number format %q, want %q", ref, got, want)
		}
	}
	if got, _ := f.GetCellValue(sh, "C2"); got != "05/03/2026" {
		t.Errorf("C2 formatted = %q", got)
	}
	if id, _ := f.GetCellStyle(sh, "A1"); true {
		st, _ := f.GetStyle(id)
		if st.Font == nil || !st.Font.Bold {
			t.Errorf("header not bold")
		}
	}
	// Read by this package, the export gives French text.
	back := mustRead(t, out.Bytes())
	want := []string{"2: =SUM(A1)|1234,50|05/03/2026|210|12345", "3: Zoé|-0,05|28/02/1900||0", "4: Max|92233720368547800|01/03/1900"}
	if got := rowsOf(back); !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n got %q\nwant %q", got, want)
	}
}

func TestDateSerial(t *testing.T) {
	for d := day(1900, 1, 1); d.Year < 2201; d = d.AddDays(97) {
		n := dateSerial(d)
		if back, ok := serialDate(int64(n), false); !ok || back != d {
			t.Fatalf("%v → %d → %v, %v", d, n, back, ok)
		}
	}
	for d, want := range map[string]int{"1900-01-01": 1, "1900-02-28": 59, "1900-03-01": 61, "2026-03-05": 46086, "2200-12-31": 109939} {
		if got := dateSerial(mustDate(t, d)); got != want {
			t.Errorf("dateSerial(%s) = %d, want %d", d, got, want)
		}
	}
}

func mustDate(t *testing.T, s string) civil.Date {
	t.Helper()
	d, err := civil.Parse(s)
	must(t, err)
	return d
}

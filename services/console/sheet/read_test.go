package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

// cp1252 encodes a test text in Windows-1252.
func cp1252(t testing.TB, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

func mustRead(t testing.TB, data []byte) *Table {
	t.Helper()
	tb, err := Read(bytes.NewReader(data), "test", 0)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return tb
}

// rowsOf lists a table's rows as "line: cell|cell".
func rowsOf(tb *Table) []string {
	var out []string
	for _, r := range tb.Rows {
		out = append(out, fmt.Sprintf("%d: %s", r.Line, strings.Join(r.Cells, "|")))
	}
	return out
}

func TestReadCSV(t *testing.T) {
	cases := []struct {
		name       string
		data       []byte
		encoding   Encoding
		delimiter  rune
		bom, sep   bool
		headerLine int
		header     []string
		rows       []string
	}{
		{
			name:     "UTF-8 with BOM, semicolons, CRLF, trailing empty lines",
			data:     []byte("\ufeffIdentifiant;Date;Heures\r\nabc;05/03/2026;3,5\r\ndef;06/03/2026;7\r\n\r\n\r\n"),
			encoding: EncodingUTF8, delimiter: ';', bom: true, headerLine: 1,
			header: []string{"Identifiant", "Date", "Heures"},
			rows:   []string{"2: abc|05/03/2026|3,5", "3: def|06/03/2026|7"},
		},
		{
			name:     "UTF-8 without BOM, commas, quoted fields with the delimiter and quotes inside",
			data:     []byte("learner_id,date,minutes,activity\n\"a,b\",2026-03-05,210,\"Formation \"\"présentiel\"\"\"\nc,2026-03-06,60,Théo"),
			encoding: EncodingUTF8, delimiter: ',', headerLine: 1,
			header: []string{"learner_id", "date", "minutes", "activity"},
			rows:   []string{`2: a,b|2026-03-05|210|Formation "présentiel"`, "3: c|2026-03-06|60|Théo"},
		},
		{
			name:     "Windows-1252, semicolons, accents",
			data:     cp1252(t, "Ville;Prénom;Note\r\nÉvreux;Théo;« très bien »\r\nCaen;Zoé;10 €\r\n"),
			encoding: EncodingWindows1252, delimiter: ';', headerLine: 1,
			header: []string{"Ville", "Prénom", "Note"},
			rows:   []string{"2: Évreux|Théo|« très bien »", "3: Caen|Zoé|10 €"},
		},
		{
			name:     "tabs",
			data:     []byte("a\tb\tc\n1\t2\t3\n"),
			encoding: EncodingUTF8, delimiter: '\t', headerLine: 1,
			header: []string{"a", "b", "c"},
			rows:   []string{"2: 1|2|3"},
		},
		{
			name:     "delimiter inside a quoted header is not counted",
			data:     []byte("\"a;b;c\",d,e\nx,y,z\n"),
			encoding: EncodingUTF8, delimiter: ',', headerLine: 1,
			header: []string{"a;b;c", "d", "e"},
			rows:   []string{"2: x|y|z"},
		},
		{
			name:     "Excel's sep= line",
			data:     []byte("sep=,\r\na;b,c\r\n1;2,3\r\n"),
			encoding: EncodingUTF8, delimiter: ',', sep: true, headerLine: 2,
			header: []string{"a;b", "c"},
			rows:   []string{"3: 1;2|3"},
		},
		{
			name:     "blank lines and empty records skipped, line numbers kept, multi-line field",
			data:     []byte("a;b\n\n1;2\n;;\n \n\"x\ny\";3\n4;5;;\n"),
			encoding: EncodingUTF8, delimiter: ';', headerLine: 1,
			header: []string{"a", "b"},
			rows:   []string{"3: 1|2", "6: x\ny|3", "8: 4|5"},
		},
		{
			name:     "leading empty lines: the header is the first non-empty row",
			data:     []byte("\n;;\n a ; b \n1;2\n"),
			encoding: EncodingUTF8, delimiter: ';', headerLine: 3,
			header: []string{"a", "b"},
			rows:   []string{"4: 1|2"},
		},
		{
			name:     "one column, no delimiter: semicolon by default",
			data:     []byte("identifiant\nabc\n"),
			encoding: EncodingUTF8, delimiter: ';', headerLine: 1,
			header: []string{"identifiant"},
			rows:   []string{"2: abc"},
		},
		{
			name:     "header only",
			data:     []byte("a;b\r\n"),
			encoding: EncodingUTF8, delimiter: ';', headerLine: 1,
			header: []string{"a", "b"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := mustRead(t, c.data)
			if tb.Format != FormatCSV || tb.Encoding != c.encoding || tb.Delimiter != c.delimiter || tb.BOM != c.bom || tb.SepLine != c.sep {
				t.Errorf("format %s encoding %s delimiter %q BOM %v sep %v; want csv %s %q %v %v",
					tb.Format, tb.Encoding, tb.Delimiter, tb.BOM, tb.SepLine, c.encoding, c.delimiter, c.bom, c.sep)
			}
			if tb.HeaderLine != c.headerLine || !reflect.DeepEqual(tb.Header, c.header) {
				t.Errorf("header at %d %q, want at %d %q", tb.HeaderLine, tb.Header, c.headerLine, c.header)
			}
			if got := rowsOf(tb); !reflect.DeepEqual(got, c.rows) {
				t.Errorf("rows\n got %q\nwant %q", got, c.rows)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	many := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString("a;b\n")
		for i := range n {
			fmt.Fprintf(&b, "%d;x\n", i)
		}
		return b.Bytes()
	}
	cases := []struct {
		name     string
		data     []byte
		maxBytes int64
		want     error
		message  string
	}{
		{"empty", nil, 0, ErrEmpty, "fichier vide"},
		{"BOM only", []byte("\ufeff"), 0, ErrEmpty, "fichier vide"},
		{"blank lines only", []byte("\r\n\r\n;;;\r\n  \r\n"), 0, ErrEmpty, "fichier vide"},
		{"too large", []byte("a;b\n1;2\n"), 5, ErrTooLarge, "fichier trop volumineux\u00a0: 5\u00a0octets au plus"},
		{"too large in Mo", bytes.Repeat([]byte("a;b\n"), 1<<18+1), 1 << 20, ErrTooLarge, "fichier trop volumineux\u00a0: 1\u00a0Mo au plus"},
		{"too many rows", many(MaxRows + 1), 0, ErrTooManyRows, "trop de lignes\u00a0: 20\u00a0000 lignes au plus sous l'en-tête\u00a0; découpez le fichier"},
		{"too many columns", []byte(strings.Repeat("a;", MaxColumns) + "a\n"), 0, ErrTooManyColumns, "trop de colonnes\u00a0: ligne 1, 257 colonnes, 256 au plus"},
		{"binary", []byte("%PDF-1.4\x00\x01\x02"), 0, ErrFormat, "format non reconnu\u00a0: ce n'est ni un fichier CSV ni un classeur .xlsx"},
		{"xls", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest"), 0, ErrFormat, "format non reconnu\u00a0: classeur Excel 97-2003 (.xls)"},
		{"UTF-16", []byte("\xff\xfea\x00;\x00b\x00"), 0, ErrFormat, "format non reconnu\u00a0: texte Unicode (UTF-16)"},
		{"broken zip", []byte("PK\x03\x04garbage"), 0, ErrFormat, "format non reconnu\u00a0: fichier compressé (zip) qui n'est pas un classeur .xlsx lisible"},
		{"zip that is no workbook", zipOf(t, "hello.txt", "bonjour"), 0, ErrFormat, "format non reconnu"},
		{"unclosed quote", []byte("a;b\n1;2\n\"3;4\n5;6\n"), 0, ErrMalformed, "fichier CSV mal formé\u00a0: ligne 3, guillemet ouvert jamais refermé"},
		{"bare quote", []byte("a;b\n1;2\"x\n"), 0, ErrMalformed, "fichier CSV mal formé\u00a0: ligne 2, guillemet au milieu d'un champ"},
		{"quote error after a sep line", []byte("sep=;\na;b\n1;2\"x\n"), 0, ErrMalformed, "ligne 3,"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb, err := Read(bytes.NewReader(c.data), "relevé.csv", c.maxBytes)
			if !errors.Is(err, c.want) {
				t.Fatalf("Read = %v, %v; want %v", tb, err, c.want)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("message %q does not contain %q", err, c.message)
			}
		})
	}
	// The limits themselves are allowed.
	if tb := mustRead(t, many(MaxRows)); len(tb.Rows) != MaxRows {
		t.Errorf("%d rows, want %d", len(tb.Rows), MaxRows)
	}
	exact := []byte("a;b\n1;2\n")
	if _, err := Read(bytes.NewReader(exact), "x", int64(len(exact))); err != nil {
		t.Errorf("file of exactly maxBytes: %v", err)
	}
}

func zipOf(t testing.TB, name, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// workbook builds an xlsx file in a test: fill gets the file and the name
// of its first sheet.
func workbook(t testing.TB, fill func(f *excelize.File, sheet string)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	fill(f, "Sheet1")
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func style(t testing.TB, f *excelize.File, s *excelize.Style) int {
	t.Helper()
	id, err := f.NewStyle(s)
	must(t, err)
	return id
}

func custom(code string) *excelize.Style { return &excelize.Style{CustomNumFmt: &code} }

func TestReadXLSX(t *testing.T) {
	data := workbook(t, func(f *excelize.File, sh string) {
		must(t, f.SetSheetName(sh, "Heures mars"))
		sh = "Heures mars"
		frDate := style(t, f, custom("dd/mm/yyyy"))
		builtin := style(t, f, &excelize.Style{NumFmt: 14})
		duration := style(t, f, custom("[h]:mm"))
		dateTime := style(t, f, custom("dd/mm/yyyy hh:mm"))
		money := style(t, f, custom(`#,##0.00\ "€"`))
		longDate := style(t, f, custom(`[$-40C]dddd d mmmm yyyy`))
		must(t, f.SetSheetRow(sh, "A1", &[]any{"Identifiant", "Date", "Heures", "Activité", "Référence", "Montant"}))
		must(t, f.SetSheetRow(sh, "A2", &[]any{"Théo", time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), 3.5, "Formation en présentiel", 1001, 12.5}))
		must(t, f.SetCellStyle(sh, "B2", "B2", frDate))
		must(t, f.SetCellStyle(sh, "F2", "F2", money))
		// Row 3 is empty; row 4 has a built-in date format, a float with
		// binary noise and a text that looks like a number.
		must(t, f.SetSheetRow(sh, "A4", &[]any{"Évreux", time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), 0.1 + 0.2, "2", "0012", 7}))
		must(t, f.SetCellStyle(sh, "B4", "B4", builtin))
		// Row 5: a duration typed 3:30, a date and time, a long date.
		must(t, f.SetCellFloat(sh, "C5", 3.5/24, -1, 64))
		must(t, f.SetCellStyle(sh, "C5", "C5", duration))
		must(t, f.SetCellValue(sh, "B5", time.Date(2026, 3, 5, 14, 30, 0, 0, time.UTC)))
		must(t, f.SetCellStyle(sh, "B5", "B5", dateTime))
		must(t, f.SetCellValue(sh, "D5", time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)))
		must(t, f.SetCellStyle(sh, "D5", "D5", longDate))
		// Formatted but empty cells below the data are not rows.
		must(t, f.SetCellStyle(sh, "A8", "F30", frDate))
		must(t, f.SetCellValue(sh, "A9", "   "))
		// Another sheet is ignored.
		_, err := f.NewSheet("Autre")
		must(t, err)
		must(t, f.SetCellValue("Autre", "A1", "ignoré"))
	})
	tb := mustRead(t, data)
	if tb.Format != FormatXLSX || tb.SheetName != "Heures mars" || tb.HeaderLine != 1 {
		t.Errorf("format %s sheet %q header line %d", tb.Format, tb.SheetName, tb.HeaderLine)
	}
	if want := []string{"Identifiant", "Date", "Heures", "Activité", "Référence", "Montant"}; !reflect.DeepEqual(tb.Header, want) {
		t.Errorf("header %q, want %q", tb.Header, want)
	}
	want := []string{
		"2: Théo|05/03/2026|3,5|Formation en présentiel|1001|12,5",
		"4: Évreux|31/12/2026|0,3|2|0012|7",
		"5: |05/03/2026 14:30|3:30|06/03/2026",
	}
	if got := rowsOf(tb); !reflect.DeepEqual(got, want) {
		t.Errorf("rows\n got %q\nwant %q", got, want)
	}
	if k := tb.Rows[0].kinds; k[1] != kindDate || k[2] != kindNumber || k[0] != kindText || k[5] != kindNumber {
		t.Errorf("kinds of row 2: %v", k)
	}
}

func TestReadXLSX1904(t *testing.T) {
	data := workbook(t, func(f *excelize.File, sh string) {
		yes := true
		must(t, f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}))
		must(t, f.SetSheetRow(sh, "A1", &[]any{"date"}))
		must(t, f.SetCellDefault(sh, "A2", "44985")) // 1 March 2027 counted from 1904
		must(t, f.SetCellStyle(sh, "A2", "A2", style(t, f, custom("dd/mm/yyyy"))))
	})
	if got, want := rowsOf(mustRead(t, data)), []string{"2: 01/03/2027"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

func TestReadXLSXErrors(t *testing.T) {
	empty := workbook(t, func(f *excelize.File, sh string) {})
	if _, err := Read(bytes.NewReader(empty), "vide.xlsx", 0); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty workbook: %v", err)
	}
	big := workbook(t, func(f *excelize.File, sh string) {
		sw, err := f.NewStreamWriter(sh)
		must(t, err)
		for i := 1; i <= MaxRows+2; i++ {
			ref, _ := excelize.CoordinatesToCellName(1, i)
			must(t, sw.SetRow(ref, []any{i}))
		}
		must(t, sw.Flush())
	})
	if _, err := Read(bytes.NewReader(big), "gros.xlsx", 0); !errors.Is(err, ErrTooManyRows) {
		t.Errorf("too many rows: %v", err)
	}
	// A cell far away: the row is read without expanding the sheet.
	far := workbook(t, func(f *excelize.File, sh string) {
		must(t, f.SetSheetRow(sh, "A1", &[]any{"a", "b"}))
		must(t, f.SetCellValue(sh, "A1048576", 1))
	})
	if _, err := Read(bytes.NewReader(far), "loin.xlsx", 0); err != nil {
		t.Errorf("far cell: %v", err)
	}
	// A workbook that unzips to more than the limit is refused before it is
	// expanded.
	var bomb bytes.Buffer
	zr, err := zip.NewReader(bytes.NewReader(far), int64(len(far)))
	must(t, err)
	zw := zip.NewWriter(&bomb)
	for _, f := range zr.File {
		must(t, zw.Copy(f))
	}
	w, err := zw.Create("xl/media/zeros.bin")
	must(t, err)
	_, err = io.CopyN(w, zeros{}, maxUnzipped+1)
	must(t, err)
	must(t, zw.Close())
	if _, err := Read(bytes.NewReader(bomb.Bytes()), "bombe.xlsx", 0); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "64\u00a0Mo une fois décompressé") {
		t.Errorf("zip bomb (%d bytes): %v", bomb.Len(), err)
	}
	wide := workbook(t, func(f *excelize.File, sh string) {
		must(t, f.SetSheetRow(sh, "A1", &[]any{"a", "b"}))
		must(t, f.SetCellValue(sh, "XFD2", 1))
	})
	if _, err := Read(bytes.NewReader(wide), "large.xlsx", 0); !errors.Is(err, ErrTooManyColumns) {
		t.Errorf("wide row: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestFormatKind(t *testing.T) {
	cases := map[string]cellKind{
		"General":                    kindNumber,
		"0.00":                       kindNumber,
		`#,##0.00\ "€"`:              kindNumber,
		`[$€-40C]#,##0.00`:           kindNumber,
		`0" jours"`:                  kindNumber,
		"0.00E+00":                   kindNumber,
		"dd/mm/yyyy":                 kindDate,
		"d-mmm-yy":                   kindDate,
		"mmmm":                       kindDate,
		`[$-40C]dddd d mmmm yyyy`:    kindDate,
		"dd/mm/yyyy hh:mm":           kindDateTime,
		"hh:mm":                      kindTime,
		"[h]:mm":                     kindTime,
		"mm:ss":                      kindTime,
		"[Red][<=100]0;[Blue]0":      kindNumber,
		`"Le "dd/mm;@`:               kindDate,
		`h" h "mm`:                   kindTime,
		`[Color10]0.0;[Red]-0.0;"-"`: kindNumber,
	}
	for code, want := range cases {
		if got := formatKind(code); got != want {
			t.Errorf("formatKind(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestRenderNumber(t *testing.T) {
	cases := []struct {
		raw  string
		kind cellKind
		want string
	}{
		{"3.5", kindNumber, "3,5"},
		{"7", kindNumber, "7"},
		{"0.30000000000000004", kindNumber, "0,3"},
		{"-12.25", kindNumber, "-12,25"},
		{"1E-3", kindNumber, "0,001"},
		{"1.23456789012345678E+20", kindNumber, "123456789012346000000"},
		{"1", kindDate, "01/01/1900"},
		{"59", kindDate, "28/02/1900"},
		{"60", kindDate, "60"}, // 29 February 1900 never was
		{"61", kindDate, "01/03/1900"},
		{"46086", kindDate, "05/03/2026"},
		{"46086.99999", kindDate, "06/03/2026"}, // 23:59:59.1 rounds to the next minute
		{"46086.604166666664", kindDateTime, "05/03/2026 14:30"},
		{"46086", kindDateTime, "05/03/2026"},
		{"0.14583333333333334", kindTime, "3:30"},
		{"1.5", kindTime, "36:00"},
		{"-1", kindDate, "-1"},
		{"3000000", kindDate, "3000000"},
		{"1E+999999999", kindDate, "1E+999999999"},
	}
	for _, c := range cases {
		if got := renderNumber(c.raw, c.kind, false); got != c.want {
			t.Errorf("renderNumber(%q, %d) = %q, want %q", c.raw, c.kind, got, c.want)
		}
	}
}

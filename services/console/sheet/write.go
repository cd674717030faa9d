package sheet

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// RejectColumn is the header of the column WriteRejects adds.
const RejectColumn = "Motif du rejet"

const utf8BOM = "\ufeff"

// WriteRejects writes the rows of t whose line is in rejected, in file
// order, with the header and a last column « Motif du rejet » holding the
// line's reason, in the format t was read from, so that the person fixes
// the rows and uploads the file again (HourLines ignores the column; a
// header that already has it, from an earlier rejects file, gets it
// filled rather than doubled). Lines of rejected that are not rows of t
// (the header's) are ignored.
//
// CSV: same delimiter, encoding, BOM and "sep=" line as read, CRLF line
// ends; a UTF-8 file that was pure ASCII gets a BOM, without which Excel
// would misread the accents of the reasons; characters Windows-1252 cannot
// hold become "?". XLSX: one sheet named as the one read, numbers, dates and
// times written back as the numbers they were with a date or time format.
func WriteRejects(w io.Writer, t *Table, rejected map[int]string) error {
	header := append([]string(nil), t.Header...)
	reasonCol := -1
	for i, h := range header {
		if normalise(h) == normalise(RejectColumn) {
			reasonCol = i
		}
	}
	var rows []Row
	width := len(header)
	for _, r := range t.Rows {
		if _, ok := rejected[r.Line]; ok {
			rows = append(rows, r)
			width = max(width, len(r.Cells))
		}
	}
	if reasonCol < 0 {
		reasonCol = width
		width++
	}
	for len(header) < width {
		header = append(header, "")
	}
	header[reasonCol] = RejectColumn
	if t.Format == FormatXLSX {
		return writeRejectsXLSX(w, t, header, rows, reasonCol, rejected)
	}

	var buf bytes.Buffer
	if t.SepLine {
		fmt.Fprintf(&buf, "sep=%c\r\n", delimiter(t))
	}
	writeRecord(&buf, header, delimiter(t), true)
	for _, r := range rows {
		rec := make([]string, width)
		copy(rec, r.Cells)
		rec[reasonCol] = rejected[r.Line]
		writeRecord(&buf, rec, delimiter(t), false)
	}
	out := buf.Bytes()
	switch {
	case t.Encoding == EncodingWindows1252:
		out = windows1252(out)
	case t.BOM || t.ascii:
		out = append([]byte(utf8BOM), out...)
	}
	_, err := w.Write(out)
	return err
}

// writeRecord writes one CSV record ending in CRLF, quoting as
// encoding/csv does: fields holding the delimiter, a quote or a line break,
// or spaces at either end (which some spreadsheets trim). A header record
// also has fields holding any delimiter Read detects quoted, so that
// reading the file again detects the same delimiter.
func writeRecord(buf *bytes.Buffer, rec []string, comma rune, header bool) {
	special := "\"\r\n"
	if header {
		special += ";,\t"
	}
	for i, f := range rec {
		if i > 0 {
			buf.WriteRune(comma)
		}
		if !strings.ContainsAny(f, special) && !strings.ContainsRune(f, comma) && strings.Trim(f, spaces) == f {
			buf.WriteString(f)
			continue
		}
		buf.WriteByte('"')
		buf.WriteString(strings.ReplaceAll(f, `"`, `""`))
		buf.WriteByte('"')
	}
	buf.WriteString("\r\n")
}

func delimiter(t *Table) rune {
	if t.Delimiter == 0 {
		return ';'
	}
	return t.Delimiter
}

// windows1252 encodes UTF-8 text, "?" for what the code page lacks (a
// narrow no-break space becomes a no-break space first).
func windows1252(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r == '\u202f' {
			r = '\u00a0'
		}
		if c, ok := charmap.Windows1252.EncodeRune(r); ok {
			out = append(out, c)
		} else {
			out = append(out, '?')
		}
	}
	return out
}

func writeRejectsXLSX(w io.Writer, t *Table, header []string, rows []Row, reasonCol int, rejected map[int]string) error {
	x, err := newXLSX(t.SheetName, header)
	if err != nil {
		return err
	}
	defer x.f.Close()
	for i, r := range rows {
		line := i + 2
		for c, v := range r.Cells {
			if v == "" {
				continue
			}
			kind, raw := kindText, ""
			if c < len(r.kinds) && c < len(r.raws) {
				kind, raw = r.kinds[c], r.raws[c]
			}
			if kind == kindText || raw == "" {
				err = x.text(c+1, line, v)
			} else {
				err = x.number(c+1, line, raw, x.kindStyles[kind])
			}
			if err != nil {
				return err
			}
		}
		if err := x.text(reasonCol+1, line, rejected[r.Line]); err != nil {
			return err
		}
	}
	if err := x.f.SetColWidth(x.sheet, colName(reasonCol+1), colName(reasonCol+1), 60); err != nil {
		return err
	}
	return x.f.Write(w)
}

// xlsxWriter is a workbook of one sheet being written, with its styles.
type xlsxWriter struct {
	f          *excelize.File
	sheet      string
	kindStyles map[cellKind]int
	money      int
}

// newXLSX starts a workbook of one sheet, its header in bold on a frozen
// first row.
func newXLSX(sheetName string, header []string) (*xlsxWriter, error) {
	x := &xlsxWriter{f: excelize.NewFile(), sheet: sheetTitle(sheetName), kindStyles: map[cellKind]int{}}
	fail := func(err error) (*xlsxWriter, error) {
		_ = x.f.Close()
		return nil, err
	}
	if err := x.f.SetSheetName(x.f.GetSheetName(0), x.sheet); err != nil {
		return fail(err)
	}
	bold, err := x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fail(err)
	}
	for kind, code := range map[cellKind]string{
		kindDate: "dd/mm/yyyy", kindDateTime: "dd/mm/yyyy hh:mm", kindTime: "[h]:mm",
	} {
		if x.kindStyles[kind], err = x.f.NewStyle(&excelize.Style{CustomNumFmt: &code}); err != nil {
			return fail(err)
		}
	}
	// Format codes are written with "," for thousands and "." for decimals
	// whatever the language; a French spreadsheet shows « 1 234,50 € ».
	money := `#,##0.00\ "€"`
	if x.money, err = x.f.NewStyle(&excelize.Style{CustomNumFmt: &money}); err != nil {
		return fail(err)
	}
	for i, h := range header {
		ref, err := excelize.CoordinatesToCellName(i+1, 1)
		if err != nil {
			return fail(err)
		}
		if err := x.f.SetCellStr(x.sheet, ref, h); err != nil {
			return fail(err)
		}
		if err := x.f.SetCellStyle(x.sheet, ref, ref, bold); err != nil {
			return fail(err)
		}
	}
	if err := x.f.SetPanes(x.sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fail(err)
	}
	return x, nil
}

func (x *xlsxWriter) text(col, row int, s string) error {
	ref, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return err
	}
	return x.f.SetCellStr(x.sheet, ref, s)
}

// number writes a number given as decimal text, stored as is in the file
// (no float on our side), with a style (0 for none).
func (x *xlsxWriter) number(col, row int, decimal string, style int) error {
	ref, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return err
	}
	if err := x.f.SetCellDefault(x.sheet, ref, decimal); err != nil {
		return err
	}
	if style == 0 {
		return nil
	}
	return x.f.SetCellStyle(x.sheet, ref, ref, style)
}

func colName(col int) string {
	s, _ := excelize.ColumnNumberToName(col)
	return s
}

// sheetTitle makes a valid sheet name: at most 31 characters, none of
// : \ / ? * [ ], not blank, not starting or ending with an apostrophe.
func sheetTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) || r < ' ' {
			return '-'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 31 {
		s = string(r[:31])
	}
	s = strings.Trim(s, "' ")
	if s == "" {
		return "Feuille1"
	}
	return s
}

// Cell is one cell of an export: text, an integer, an amount, a date or a
// duration. The zero Cell is empty.
type Cell struct {
	kind exportKind
	text string
	n    int64
	date civil.Date
}

type exportKind uint8

const (
	exportEmpty exportKind = iota
	exportText
	exportInt
	exportMoney
	exportDate
	exportMinutes
)

// Text is a text cell.
func Text(s string) Cell { return Cell{kind: exportText, text: s} }

// Int is an integer cell: « 12345 », no thousands separator in CSV.
func Int[N fr.Integer](n N) Cell { return Cell{kind: exportInt, n: int64(n)} }

// Money is an amount in euro cents: « 1234,50 » in CSV (decimal comma, no
// thousands separator, no unit, so that spreadsheets read a number), a
// number formatted « 1 234,50 € » in xlsx.
func Money(cents int64) Cell { return Cell{kind: exportMoney, n: cents} }

// Date is a date cell: « JJ/MM/AAAA » in CSV, a date formatted dd/mm/yyyy in
// xlsx; the zero date is an empty cell.
func Date(d civil.Date) Cell {
	if d.IsZero() {
		return Cell{}
	}
	return Cell{kind: exportDate, date: d}
}

// Minutes is a duration cell in whole minutes, « 210 »: an integer; a
// column in hours is the caller's choice (a Text of fr.Minutes, say).
func Minutes[N fr.Integer](n N) Cell { return Cell{kind: exportMinutes, n: int64(n)} }

// cents writes an amount as decimal text with sep before the cents:
// "1234,50", "-0,05". Integer arithmetic, exact to the most negative int64.
func cents(c int64, sep string) string {
	u, sign := uint64(c), ""
	if c < 0 {
		u, sign = uint64(-(c+1))+1, "-"
	}
	return fmt.Sprintf("%s%d%s%02d", sign, u/100, sep, u%100)
}

// csvText is a cell as WriteCSV writes it.
func (c Cell) csvText() string {
	switch c.kind {
	case exportText:
		return defuse(c.text)
	case exportInt, exportMinutes:
		return strconv.FormatInt(c.n, 10)
	case exportMoney:
		return cents(c.n, ",")
	case exportDate:
		return fr.CivilDate(c.date)
	}
	return ""
}

// defuse keeps a spreadsheet from taking a text for a formula (CSV
// injection): a text starting with = + - @ (and more than that sign) gets
// a leading apostrophe, which spreadsheets show as text.
func defuse(s string) string {
	if len(s) > 1 && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV writes a French CSV export: UTF-8 with a BOM (so that Excel reads
// the accents), ";" between fields, CRLF line ends, the header then the
// rows; see Cell for each kind's text.
func WriteCSV(w io.Writer, header []string, rows [][]Cell) error {
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	writeRecord(&buf, header, ';', true)
	for _, row := range rows {
		rec := make([]string, len(row))
		for i, c := range row {
			rec[i] = c.csvText()
		}
		writeRecord(&buf, rec, ';', false)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteXLSX writes a French export as a workbook of one sheet (sheetName,
// made valid): the header in bold on a frozen first row, then the rows.
// Texts are text cells (never formulas); integers and minutes are numbers;
// amounts are numbers formatted « 1 234,50 € »; dates are dates formatted
// dd/mm/yyyy.
//
// An amount is written into the file as the decimal text of its cents
// ("1234.50", by integer arithmetic): xlsx stores numbers as text, and only
// the spreadsheet turns it into its binary double when it opens the file.
// Our code never holds money in a float.
func WriteXLSX(w io.Writer, sheetName string, header []string, rows [][]Cell) error {
	x, err := newXLSX(sheetName, header)
	if err != nil {
		return err
	}
	defer x.f.Close()
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for r, row := range rows {
		for c, cell := range row {
			col, line := c+1, r+2
			var err error
			var text string
			switch cell.kind {
			case exportEmpty:
				continue
			case exportText:
				text = cell.text
				err = x.text(col, line, text)
			case exportInt, exportMinutes:
				text = strconv.FormatInt(cell.n, 10)
				err = x.number(col, line, text, 0)
			case exportMoney:
				text = fr.Money(cell.n)
				err = x.number(col, line, cents(cell.n, "."), x.money)
			case exportDate:
				text = fr.CivilDate(cell.date)
				err = x.number(col, line, strconv.Itoa(dateSerial(cell.date)), x.kindStyles[kindDate])
			}
			if err != nil {
				return err
			}
			for len(widths) <= c {
				widths = append(widths, 0)
			}
			widths[c] = max(widths[c], utf8.RuneCountInString(text))
		}
	}
	for i, n := range widths {
		if err := x.f.SetColWidth(x.sheet, colName(i+1), colName(i+1), float64(min(max(n+2, 10), 60))); err != nil {
			return err
		}
	}
	return x.f.Write(w)
}

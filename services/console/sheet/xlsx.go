package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// cellKind is what an xlsx cell holds, as its type and number format say.
type cellKind uint8

const (
	kindText     cellKind = iota // text, or anything not a number
	kindNumber                   // a number in a number format
	kindDate                     // a date (a serial day number)
	kindDateTime                 // a date with a time of day
	kindTime                     // a time or a duration (a fraction of a day)
)

// xlsxOptions bound what opening a workbook may unzip, and keep every part
// in memory (no temporary files).
var xlsxOptions = excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzipped}

func readXLSX(data []byte, name string) (*Table, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), xlsxOptions)
	if err != nil {
		if errors.Is(err, excelize.ErrOptionsUnzipSizeLimit) || strings.Contains(err.Error(), "unzip size") {
			return nil, fmt.Errorf("%w%s: classeur de plus de %s une fois décompressé", ErrTooLarge, nbsp, sizeText(maxUnzipped))
		}
		return nil, fmt.Errorf("%w%s: fichier compressé (zip) qui n'est pas un classeur .xlsx lisible%s; enregistrez-le au format .xlsx ou en CSV", ErrFormat, nbsp, nbsp)
	}
	defer f.Close()

	x := &xlsxReader{f: f, styles: map[int]cellKind{}}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		x.date1904 = *props.Date1904
	}
	var rows *excelize.Rows
	for _, s := range f.GetSheetList() {
		if rows, err = f.Rows(s); err == nil {
			x.sheet = s
			break
		}
	}
	if rows == nil {
		return nil, fmt.Errorf("%w%s: le classeur n'a aucune feuille lisible", ErrFormat, nbsp)
	}
	attrs := newAttrScanner(data, x.sheet)
	defer attrs.close()
	t := &Table{Name: name, Format: FormatXLSX, SheetName: x.sheet}
	raw := excelize.Options{RawCellValue: true}
	for line := 1; rows.Next(); line++ {
		// Next stops on every row number, empty or not: line is the row's
		// number in the sheet.
		cells, err := rows.Columns(raw)
		if err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("%w%s: ligne %d illisible", ErrFormat, nbsp, line)
		}
		if blank(cells) {
			continue
		}
		cells = trimTrailing(cells)
		if len(cells) > MaxColumns {
			_ = rows.Close()
			return nil, fmt.Errorf("%w%s: ligne %d, %d colonnes, %d au plus", ErrTooManyColumns, nbsp, line, len(cells), MaxColumns)
		}
		x.cells = attrs.row(line)
		if t.Header == nil {
			row := x.row(line, cells)
			t.HeaderLine, t.Header = line, trimAll(row.Cells)
			continue
		}
		if len(t.Rows) == MaxRows {
			_ = rows.Close()
			return nil, tooManyRows()
		}
		t.Rows = append(t.Rows, x.row(line, cells))
	}
	if err := rows.Close(); err != nil {
		if errors.Is(err, excelize.ErrMaxRows) {
			return nil, tooManyRows()
		}
		return nil, fmt.Errorf("%w%s: feuille « %s » illisible", ErrFormat, nbsp, x.sheet)
	}
	if t.Header == nil {
		return nil, ErrEmpty
	}
	return t, nil
}

type xlsxReader struct {
	f        *excelize.File
	sheet    string
	date1904 bool
	cells    map[int]cellAttr // the current row's number and date cells by column
	styles   map[int]cellKind // style id → kind of its number format
}

var (
	// plainDecimal is a number as Excel writes most: no exponent, few
	// digits. Only these go through exact rational arithmetic (an exponent
	// such as 1E+999999999 would make big.Rat compute a giant power).
	plainDecimal = regexp.MustCompile(`^-?\d{1,20}(\.\d{1,30})?$`)
	isoDateTime  = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)`)
)

// row renders the raw values of one sheet row (raw: numbers as stored,
// strings as they are) as text, looking up each number's format.
func (x *xlsxReader) row(line int, raw []string) Row {
	r := Row{Line: line, Cells: make([]string, len(raw)), kinds: make([]cellKind, len(raw)), raws: make([]string, len(raw))}
	for i, v := range raw {
		r.Cells[i] = v
		a, ok := x.cells[i+1]
		if v == "" || !ok {
			continue
		}
		if a.date {
			// An ISO 8601 date cell (t="d"), rare: excelize gives it as is.
			if p := isoDateTime.FindStringSubmatch(v); p != nil {
				r.Cells[i] = p[3] + "/" + p[2] + "/" + p[1]
			}
			continue
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			continue
		}
		kind := x.kind(a.style)
		r.Cells[i], r.kinds[i], r.raws[i] = renderNumber(v, kind, x.date1904), kind, v
	}
	return r
}

// kind returns what the number format of style id makes of a number.
func (x *xlsxReader) kind(id int) cellKind {
	if id == 0 {
		return kindNumber // the default style, General
	}
	if k, ok := x.styles[id]; ok {
		return k
	}
	k := kindNumber
	if st, err := x.f.GetStyle(id); err == nil && st != nil {
		if st.CustomNumFmt != nil {
			k = formatKind(*st.CustomNumFmt)
		} else {
			k = builtinKind(st.NumFmt)
		}
	}
	x.styles[id] = k
	return k
}

// builtinKind classifies Excel's built-in number formats.
func builtinKind(id int) cellKind {
	switch {
	case 14 <= id && id <= 17, 27 <= id && id <= 31, 34 <= id && id <= 36, 50 <= id && id <= 58:
		return kindDate
	case id == 22:
		return kindDateTime
	case 18 <= id && id <= 21, 32 <= id && id <= 33, 45 <= id && id <= 47:
		return kindTime
	}
	return kindNumber
}

// formatKind classifies a custom number format code by its first section:
// day or year tokens make a date (with hours, a date and time), hours or
// seconds alone a time, a lone month token a date. Quoted text, escaped
// characters and bracketed colours, locales and conditions are skipped;
// the elapsed-time tokens [h], [mm], [ss] count as hours.
func formatKind(code string) cellKind {
	var date, clock, month bool
	rs := []rune(strings.ToLower(code))
loop:
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case ';':
			break loop
		case '"':
			for i++; i < len(rs) && rs[i] != '"'; i++ {
			}
		case '\\', '_', '*':
			i++
		case '[':
			j := i + 1
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if in := strings.Trim(string(rs[i+1:min(j, len(rs))]), "hms"); in == "" && j > i+1 {
				clock = true
			}
			i = j
		case 'y', 'd':
			date = true
		case 'h', 's':
			clock = true
		case 'm':
			month = true
		}
	}
	switch {
	case date && clock:
		return kindDateTime
	case date:
		return kindDate
	case clock:
		return kindTime
	case month:
		return kindDate
	}
	return kindNumber
}

// excelEpoch is day 0 of Excel's 1900 date system for serials from 61 (1
// March 1900) on; Excel counts a 29 February 1900 that never was.
var excelEpoch = civil.Date{Year: 1899, Month: time.December, Day: 30}

// maxSerial is 31 December 9999, Excel's last day.
const maxSerial = 2958465

// serialDate turns a day number of the workbook's date system into a date.
func serialDate(serial int64, date1904 bool) (civil.Date, bool) {
	switch {
	case serial < 0 || serial > maxSerial:
		return civil.Date{}, false
	case date1904:
		return civil.Date{Year: 1904, Month: time.January, Day: 1}.AddDays(int(serial)), true
	case serial == 0 || serial == 60: // 0 January 1900, 29 February 1900
		return civil.Date{}, false
	case serial < 60:
		return excelEpoch.AddDays(int(serial) + 1), true
	}
	return excelEpoch.AddDays(int(serial)), true
}

// dateSerial is the day number of d in Excel's 1900 date system.
func dateSerial(d civil.Date) int {
	n := fr.DaysBetween(excelEpoch, d)
	if n < 61 {
		n--
	}
	return n
}

// renderNumber writes a number cell's raw value as people read it: a date
// « JJ/MM/AAAA » (« JJ/MM/AAAA HH:MM » with a time of day), a time or
// duration « H:MM », any other number with a decimal comma. A date or time
// that does not fit (negative, past year 9999) is written as a number.
func renderNumber(raw string, kind cellKind, date1904 bool) string {
	if kind == kindNumber || !plainDecimal.MatchString(raw) {
		return decimalText(raw)
	}
	v, ok := new(big.Rat).SetString(raw)
	if !ok || v.Sign() < 0 {
		return decimalText(raw)
	}
	// Minutes since day 0, rounded half up: exact rational arithmetic on the
	// decimal text, no float.
	m := new(big.Rat).Mul(v, big.NewRat(24*60, 1))
	m.Add(m, big.NewRat(1, 2))
	total := new(big.Int).Quo(m.Num(), m.Denom())
	if !total.IsInt64() {
		return decimalText(raw)
	}
	minutes := total.Int64()
	if kind == kindTime {
		return fmt.Sprintf("%d:%02d", minutes/60, minutes%60)
	}
	d, ok := serialDate(minutes/1440, date1904)
	if !ok {
		return decimalText(raw)
	}
	text := fr.CivilDate(d)
	if kind == kindDateTime && minutes%1440 != 0 {
		text += fmt.Sprintf(" %02d:%02d", minutes%1440/60, minutes%60)
	}
	return text
}

// decimalText writes a number as stored in an xlsx file (the shortest
// decimal text of a binary double, "0.30000000000000004" for what people
// typed as 0,3) with at most 15 significant digits, as spreadsheets show
// it, and a decimal comma. Parsing the stored double is the one float in
// this package: it undoes the file format's representation, and the text
// it gives is then read with integer arithmetic.
func decimalText(raw string) string {
	if plainDecimal.MatchString(raw) && significantDigits(raw) <= 15 {
		return strings.Replace(raw, ".", ",", 1)
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return raw
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	return strings.Replace(strconv.FormatFloat(f, 'f', -1, 64), ".", ",", 1)
}

func significantDigits(s string) int {
	s = strings.TrimLeft(strings.TrimPrefix(s, "-"), "0.")
	return len(strings.ReplaceAll(s, ".", ""))
}

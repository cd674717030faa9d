// Package sheet turns the spreadsheets people already have into typed rows,
// and typed rows into spreadsheets they can open.
//
// Reading: Read accepts an Excel workbook (.xlsx, its first worksheet) or a
// CSV file (UTF-8 with or without BOM, else Windows-1252; delimiter ";", ","
// or tab) and gives a Table of text cells, each row with the line number the
// person sees in the file. HourLines maps a Table to the trainee-hour lines
// of FundingService.ReportTraineeHours, with French problems by line.
//
// Writing: WriteRejects writes the rows a report refused back in the format
// they came in, with a last column « Motif du rejet », for the person to fix
// and upload again; WriteCSV and WriteXLSX write French exports.
//
// Money is int64 cents, durations whole minutes and dates civil dates: the
// package computes nothing in floating point. The two places where a file
// format's binary number is met are named where they happen (rendering an
// xlsx number cell as text; the spreadsheet parsing our decimal text).
//
// The package makes no network call: callers send the lines over gRPC and
// turn the answers into rejects.
package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/avenir-normandie/avenir/services/console/fr"
)

// Limits of Read.
const (
	// DefaultMaxBytes is the size limit Read applies when given none.
	DefaultMaxBytes = 10 << 20
	// MaxRows is the most data rows (header excluded) a table may have.
	MaxRows = 20_000
	// MaxColumns is the most columns a row may have.
	MaxColumns = 256
	// maxUnzipped bounds the uncompressed size of an xlsx workbook, so that
	// a small zip cannot expand into gigabytes.
	maxUnzipped = 64 << 20
)

// The errors of Read, to test with errors.Is. Their messages are French and
// shown as they are; Read wraps them with details (« trop de lignes : … »).
var (
	ErrEmpty          = errors.New("fichier vide")
	ErrFormat         = errors.New("format non reconnu")
	ErrMalformed      = errors.New("fichier CSV mal formé")
	ErrTooManyRows    = errors.New("trop de lignes")
	ErrTooManyColumns = errors.New("trop de colonnes")
	ErrTooLarge       = errors.New("fichier trop volumineux")
)

// nbsp is U+00A0 NO-BREAK SPACE, before French double punctuation.
const nbsp = "\u00a0"

// Format is the kind of file a Table was read from.
type Format string

// The formats Read recognises.
const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
)

// Encoding is the character encoding of a CSV file.
type Encoding string

// The encodings Read recognises.
const (
	EncodingUTF8        Encoding = "utf-8"
	EncodingWindows1252 Encoding = "windows-1252"
)

// Table is a file read by Read: a header and rows of text cells, with what
// it takes to write rows back the same way (WriteRejects).
type Table struct {
	Name   string // the file name given to Read
	Format Format
	// CSV only.
	Encoding  Encoding
	Delimiter rune // ';', ',' or '\t'
	BOM       bool // the file began with a UTF-8 byte order mark
	SepLine   bool // the file began with Excel's "sep=;" line
	// XLSX only: the worksheet read.
	SheetName string

	// HeaderLine is the line of the header: 1, unless a "sep=" line or
	// empty rows come first.
	HeaderLine int
	// Header is the first non-empty row, each cell trimmed of spaces.
	Header []string
	// Rows are the rows under the header, without the empty ones (all
	// cells blank): they are skipped wherever they are.
	Rows []Row

	ascii bool // CSV: no byte above 0x7F, so no evidence of the encoding
}

// Row is one row of a Table.
type Row struct {
	// Line is the line number the person sees: the row number in Excel,
	// the line in a text editor for CSV (the first line of a record whose
	// quoted field spans several lines). The header is line 1.
	Line int
	// Cells are the row's cells as text, trailing blank cells removed. CSV
	// cells are as in the file (not trimmed); xlsx cells are rendered:
	// dates « JJ/MM/AAAA », times « H:MM », numbers with a decimal comma.
	Cells []string

	// xlsx only: the kind of each cell, and the raw number of numeric
	// cells, to write them back as they were.
	kinds []cellKind
	raws  []string
}

// Cell returns the i-th cell of the row, "" past its end.
func (r Row) Cell(i int) string {
	if i < 0 || i >= len(r.Cells) {
		return ""
	}
	return r.Cells[i]
}

// Read reads a spreadsheet of at most maxBytes bytes (DefaultMaxBytes when
// maxBytes <= 0). The format comes from the content: an xlsx workbook is a
// zip file ("PK\x03\x04"), anything else is read as CSV text; name (the
// uploaded file's) is only kept in Table.Name. The first non-empty row is
// the header. Errors wrap
// ErrEmpty, ErrFormat, ErrMalformed, ErrTooManyRows, ErrTooManyColumns or
// ErrTooLarge, or are the reader's own.
func Read(r io.Reader, name string, maxBytes int64) (*Table, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w%s: %s au plus", ErrTooLarge, nbsp, sizeText(maxBytes))
	}
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return readXLSX(data, name)
	case bytes.HasPrefix(data, []byte("\xd0\xcf\x11\xe0")):
		return nil, fmt.Errorf("%w%s: classeur Excel 97-2003 (.xls) ou protégé par mot de passe%s; enregistrez-le au format .xlsx sans mot de passe, ou en CSV", ErrFormat, nbsp, nbsp)
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		return nil, fmt.Errorf("%w%s: texte Unicode (UTF-16)%s; enregistrez le fichier en « CSV UTF-8 » ou au format .xlsx", ErrFormat, nbsp, nbsp)
	case bytes.HasPrefix(data, []byte("PK")):
		return nil, fmt.Errorf("%w%s: archive zip endommagée%s; enregistrez le fichier au format .xlsx ou en CSV", ErrFormat, nbsp, nbsp)
	}
	return readCSV(data, name)
}

// sizeText writes a byte count in French: "10 Mo", "1 500 octets".
func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fr.Int(n>>20) + nbsp + "Mo"
	}
	if n%(1<<10) == 0 {
		return fr.Int(n>>10) + nbsp + "Ko"
	}
	return fr.Int(n) + nbsp + "octets"
}

func readCSV(data []byte, name string) (*Table, error) {
	t := &Table{Name: name, Format: FormatCSV, Encoding: EncodingUTF8}
	if b, ok := bytes.CutPrefix(data, []byte("\xef\xbb\xbf")); ok {
		data, t.BOM = b, true
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%w%s: ce n'est ni un fichier CSV ni un classeur .xlsx", ErrFormat, nbsp)
	}
	t.ascii = !t.BOM && isASCII(data)
	var text string
	if t.BOM || utf8.Valid(data) {
		text = string(data)
	} else {
		// Windows-1252 decodes every byte: it cannot fail.
		b, _ := charmap.Windows1252.NewDecoder().Bytes(data)
		text, t.Encoding = string(b), EncodingWindows1252
	}

	offset := 0 // lines before what the csv reader sees
	if first, rest, ok := strings.Cut(text, "\n"); ok || first == text {
		f := strings.TrimSuffix(first, "\r")
		if len(f) == 5 && strings.HasPrefix(strings.ToLower(f), "sep=") && strings.ContainsRune(";,\t|", rune(f[4])) {
			t.Delimiter, t.SepLine, offset, text = rune(f[4]), true, 1, rest
		}
	}
	if t.Delimiter == 0 {
		t.Delimiter = detectDelimiter(text)
	}

	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = t.Delimiter
	cr.FieldsPerRecord = -1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err, offset)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		rec = trimTrailing(rec)
		if len(rec) > MaxColumns {
			return nil, fmt.Errorf("%w%s: ligne %d, %d colonnes, %d au plus", ErrTooManyColumns, nbsp, line+offset, len(rec), MaxColumns)
		}
		if t.Header == nil {
			t.HeaderLine, t.Header = line+offset, trimAll(rec)
			continue
		}
		if len(t.Rows) == MaxRows {
			return nil, tooManyRows()
		}
		t.Rows = append(t.Rows, Row{Line: line + offset, Cells: rec})
	}
	if t.Header == nil {
		return nil, ErrEmpty
	}
	return t, nil
}

func tooManyRows() error {
	return fmt.Errorf("%w%s: %s lignes au plus sous l'en-tête%s; découpez le fichier", ErrTooManyRows, nbsp, fr.Int(MaxRows), nbsp)
}

func csvError(err error, offset int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%w%s: %v", ErrMalformed, nbsp, err)
	}
	line := pe.StartLine + offset
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Errorf("%w%s: ligne %d, guillemet ouvert jamais refermé (un guillemet dans un champ entre guillemets s'écrit \"\")", ErrMalformed, nbsp, line)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Errorf("%w%s: ligne %d, guillemet au milieu d'un champ (mettez le champ entre guillemets et doublez ses guillemets)", ErrMalformed, nbsp, line)
	default:
		return fmt.Errorf("%w%s: ligne %d", ErrMalformed, nbsp, line)
	}
}

// detectDelimiter counts ';', ',' and tabs outside quotes on the first line
// (which ends at the first line break outside quotes) and picks the most
// frequent; ';' wins ties and a line with none, as in French CSV files.
func detectDelimiter(text string) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range text {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if c == '\n' {
			break
		}
		counts[c]++
	}
	best := ';'
	for _, c := range []rune{',', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// spaces are trimmed from headers and values: ordinary and no-break spaces.
const spaces = " \t\r\n\u00a0\u202f\ufeff"

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.Trim(c, spaces) != "" {
			return false
		}
	}
	return true
}

func trimTrailing(rec []string) []string {
	n := len(rec)
	for n > 0 && strings.Trim(rec[n-1], spaces) == "" {
		n--
	}
	return rec[:n]
}

func trimAll(rec []string) []string {
	out := make([]string, len(rec))
	for i, c := range rec {
		out[i] = strings.Trim(c, spaces)
	}
	return out
}

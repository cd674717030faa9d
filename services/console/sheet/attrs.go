package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// cellAttr is what excelize's row iterator does not tell of a cell: its
// style, and whether it is an ISO 8601 date cell.
type cellAttr struct {
	style int
	date  bool
}

// attrScanner reads the cell attributes of a worksheet row by row, in step
// with excelize's row iterator, from the worksheet's XML: loading the whole
// worksheet through excelize (GetCellStyle) would expand it to its last row
// and column in memory, which a small crafted file can make huge. It keeps
// one row at a time. Any trouble makes it answer nothing: cells are then
// taken as text.
type attrScanner struct {
	rc      io.ReadCloser
	d       *xml.Decoder
	at      int               // number of the last row started
	pending *xml.StartElement // a row read ahead of the one asked
}

func newAttrScanner(data []byte, sheet string) *attrScanner {
	s := &attrScanner{}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return s
	}
	name := sheetPath(zr, sheet)
	for _, f := range zr.File {
		if name != "" && strings.EqualFold(f.Name, name) {
			if s.rc, err = f.Open(); err == nil {
				s.d = xml.NewDecoder(io.LimitReader(s.rc, maxUnzipped))
			}
			break
		}
	}
	return s
}

func (s *attrScanner) close() {
	if s.rc != nil {
		_ = s.rc.Close()
	}
}

// row returns the attributes of the number and date cells of row line, by
// column, for the first MaxColumns columns. Rows must be asked in order.
func (s *attrScanner) row(line int) map[int]cellAttr {
	for s.d != nil {
		start := s.pending
		s.pending = nil
		if start == nil {
			if start = s.nextRow(); start == nil {
				s.d = nil
				return nil
			}
			s.at = rowNumber(start, s.at)
		}
		switch {
		case s.at < line:
			if s.d.Skip() != nil {
				s.d = nil
			}
		case s.at > line:
			s.pending = start
			return nil
		default:
			return s.cells()
		}
	}
	return nil
}

// nextRow reads up to the next row element.
func (s *attrScanner) nextRow() *xml.StartElement {
	for {
		tok, err := s.d.Token()
		if err != nil {
			return nil
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "row" {
			return &el
		}
	}
}

func rowNumber(el *xml.StartElement, previous int) int {
	for _, a := range el.Attr {
		if a.Name.Local == "r" {
			if n, err := strconv.Atoi(a.Value); err == nil && n > previous {
				return n
			}
		}
	}
	return previous + 1
}

// cells reads the current row's cells, up to the row's end.
func (s *attrScanner) cells() map[int]cellAttr {
	out := map[int]cellAttr{}
	col := 0
	for {
		tok, err := s.d.Token()
		if err != nil {
			s.d = nil
			return out
		}
		switch el := tok.(type) {
		case xml.EndElement:
			if el.Name.Local == "row" {
				return out
			}
		case xml.StartElement:
			if el.Name.Local != "c" {
				continue
			}
			var typ string
			var style int
			col++
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "r":
					if c, _, err := excelize.CellNameToCoordinates(a.Value); err == nil {
						col = c
					}
				case "s":
					style, _ = strconv.Atoi(a.Value)
				case "t":
					typ = a.Value
				}
			}
			if col <= MaxColumns {
				switch typ {
				case "", "n":
					out[col] = cellAttr{style: style}
				case "d":
					out[col] = cellAttr{date: true}
				}
			}
			if s.d.Skip() != nil {
				s.d = nil
				return out
			}
		}
	}
}

// sheetPath finds the part of the worksheet named sheet, through the
// workbook and its relationships ("" when it cannot).
func sheetPath(zr *zip.Reader, sheet string) string {
	var rid string
	scan(zr, "xl/workbook.xml", func(el xml.StartElement) bool {
		if el.Name.Local != "sheet" {
			return true
		}
		var name, id string
		for _, a := range el.Attr {
			switch {
			case a.Name.Local == "name" && a.Name.Space == "":
				name = a.Value
			case a.Name.Local == "id" && a.Name.Space != "":
				id = a.Value
			}
		}
		if name == sheet {
			rid = id
			return false
		}
		return true
	})
	if rid == "" {
		return ""
	}
	var target string
	scan(zr, "xl/_rels/workbook.xml.rels", func(el xml.StartElement) bool {
		if el.Name.Local != "Relationship" {
			return true
		}
		var id, tg string
		for _, a := range el.Attr {
			switch a.Name.Local {
			case "Id":
				id = a.Value
			case "Target":
				tg = a.Value
			}
		}
		if id == rid {
			target = tg
			return false
		}
		return true
	})
	switch {
	case target == "":
		return ""
	case strings.HasPrefix(target, "/"):
		return strings.TrimPrefix(path.Clean(target), "/")
	default:
		return path.Clean("xl/" + target)
	}
}

// scan calls fn on each start element of the zip part name until fn
// returns false.
func scan(zr *zip.Reader, name string, fn func(xml.StartElement) bool) {
	for _, f := range zr.File {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return
		}
		defer rc.Close()
		d := xml.NewDecoder(io.LimitReader(rc, maxUnzipped))
		for {
			tok, err := d.Token()
			if err != nil {
				return
			}
			if el, ok := tok.(xml.StartElement); ok && !fn(el) {
				return
			}
		}
	}
}

package sheet

import (
	"bytes"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// FuzzRead reads anything without panicking; what it reads maps to hour
// lines, and its rows written as rejects read back as as many rows.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"",
		"\ufeffIdentifiant;Date;Heures;Activité\r\n" + theo + ";05/03/2026;3,5;1\r\n",
		"learner_id,date,minutes,activity\n\"a,b\",2026-03-05,210,\"x\"\"y\"\n",
		"sep=,\na,b\n1,2\n",
		"a\tb\n\"x\ny\"\t2\n",
		"a;b\n\"open\n",
		"\xd0\xcf\x11\xe0",
		"PK\x03\x04",
	} {
		f.Add([]byte(s))
	}
	f.Add(cp1252(f, "Ville;Prénom\r\nÉvreux;Théo\r\n"))
	f.Add(workbook(f, func(x *excelize.File, sh string) {
		_ = x.SetSheetRow(sh, "A1", &[]any{"Identifiant", "Date", "Heures", "Activité"})
		_ = x.SetSheetRow(sh, "A2", &[]any{theo, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), 3.5, 1})
		id, _ := x.NewStyle(custom("dd/mm/yyyy"))
		_ = x.SetCellStyle(sh, "B2", "B2", id)
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Read(bytes.NewReader(data), "fuzz", 1<<20)
		if err != nil {
			if tb != nil {
				t.Fatalf("table and error %v", err)
			}
			return
		}
		if len(tb.Header) == 0 || tb.HeaderLine < 1 || len(tb.Rows) > MaxRows {
			t.Fatalf("header %q at %d, %d rows", tb.Header, tb.HeaderLine, len(tb.Rows))
		}
		prev := tb.HeaderLine
		for _, r := range tb.Rows {
			if r.Line <= prev {
				t.Fatalf("line %d after %d", r.Line, prev)
			}
			prev = r.Line
		}
		lines, problems := HourLines(tb)
		for _, l := range lines {
			if l.Minutes < 0 || !l.Date.Valid() || l.Activity == 0 {
				t.Fatalf("invalid line %+v", l)
			}
		}
		rejected := RejectReasons(problems)
		for _, r := range tb.Rows {
			rejected[r.Line] = "motif"
		}
		var out bytes.Buffer
		if err := WriteRejects(&out, tb, rejected); err != nil {
			t.Fatalf("WriteRejects: %v", err)
		}
		back, err := Read(bytes.NewReader(out.Bytes()), "rejets", 0)
		if err != nil {
			t.Fatalf("rejects unreadable: %v\n%q", err, out.Bytes())
		}
		if len(back.Rows) != len(tb.Rows) || back.Format != tb.Format {
			t.Fatalf("rejects read back as %s with %d rows, want %s with %d\n%q", back.Format, len(back.Rows), tb.Format, len(tb.Rows), out.Bytes())
		}
	})
}

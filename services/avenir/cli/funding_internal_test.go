package cli

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// readAll reads every line of a trainee-hours file after its header.
func readAll(t *testing.T, file string) []hoursRow {
	t.Helper()
	r, err := newHoursReader(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var rows []hoursRow
	for {
		row, err := r.next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

func TestHoursReaderReadsTheFileAndNamesTheLinesItCannotRead(t *testing.T) {
	rows := readAll(t, "\ufeffoperator_line_id;learner_id;date;minutes;activity\n"+
		"L-1;l-a;2026-11-03;210;face-to-face\n"+
		"L-2;l-a;03/11/2026;60;face-to-face\n"+
		"L-3;l-b;2026-11-04;deux heures;distance\n"+
		"L-4;l-b;2026-11-04;60;knitting\n"+
		"\"L-5;x\";l-c;2026-11-05;30;assessment\r\n"+
		"L-6;l-c;2026-11-05\n"+
		"L-7;l-c;2026-11-06;30;assessment")
	var read []int
	var problems []string
	for _, row := range rows {
		if row.problem != "" {
			problems = append(problems, row.problem)
			continue
		}
		read = append(read, row.number)
		if row.number == 6 && row.line.GetOperatorLineId() != "L-5;x" {
			t.Fatalf("quoted field: %q", row.line.GetOperatorLineId())
		}
	}
	if !slices.Equal(read, []int{2, 6, 8}) {
		t.Fatalf("read lines %v, want 2, 6 and 8 (the last without its newline)", read)
	}
	if len(problems) != 4 || !strings.Contains(problems[0], "YYYY-MM-DD") || !strings.Contains(problems[1], "whole number") ||
		!strings.Contains(problems[2], "knitting") || !strings.Contains(problems[3], "3 fields") {
		t.Fatalf("problems %q", problems)
	}

	// Commas work too; a header without the columns is refused.
	if _, err := newHoursReader(strings.NewReader("operator_line_id,learner_id,date,minutes,activity\n")); err != nil {
		t.Fatalf("comma-separated: %v", err)
	}
	if _, err := newHoursReader(strings.NewReader("line;learner;day\n")); err == nil || !strings.Contains(err.Error(), "operator_line_id") {
		t.Fatalf("bad header: %v", err)
	}
	if _, err := newHoursReader(strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty file: %v", err)
	}
}

// A stray quote spoils its own line only: the reader names it by its line
// number and reads every following line; blank lines are said blank.
func TestHoursReaderAccountsForEveryLineAroundStrayQuotes(t *testing.T) {
	file := "operator_line_id;learner_id;date;minutes;activity\n" + // 1
		"L-1;l-a;2026-11-02;60;face-to-face\n" + // 2
		"L-2;l-a;2026-11-02;\"210;face-to-face\n" + // 3: a quote left open
		"L-3;l-b;2026-11-02;60;distance\n" + // 4
		"L-4;l-b;2026-11-03;60;distance\n" + // 5
		"\n" + // 6: blank
		"L-5;l-c;2026-11-0\"3;60;workplace\n" + // 7: a quote in a field not quoted
		"L-6;l-c;2026-11-04;60;workplace\n" + // 8
		";;;;\n" + // 9: blank too
		"L-7;l-d;2026-11-04;\"30\";assessment\n" + // 10: a quoted field, fine
		"L-8;l-d;2026-11-05;30\";assessment\n" + // 11: a quote closing nothing
		"L-9;l-d;2026-11-05;45;assessment\n" // 12
	rows := readAll(t, file)
	if len(rows) != 11 {
		t.Fatalf("%d rows after the header, want 11", len(rows))
	}
	want := map[int]string{3: "left open", 6: "blank", 7: "stray quote", 9: "blank", 11: "stray quote"}
	for i, row := range rows {
		if row.number != i+2 {
			t.Fatalf("row %d has number %d", i, row.number)
		}
		switch w := want[row.number]; {
		case w == "blank":
			if !row.blank {
				t.Errorf("line %d: %+v, want blank", row.number, row)
			}
		case w != "":
			if !strings.Contains(row.problem, w) || row.line != nil {
				t.Errorf("line %d: problem %q, want %q", row.number, row.problem, w)
			}
		default:
			if row.problem != "" || row.blank || row.line == nil {
				t.Errorf("line %d: %+v, want read", row.number, row)
			}
		}
	}
	if rows[8].line.GetMinutes() != 30 {
		t.Fatalf("line 10: %v", rows[8].line)
	}
}

func TestHoursReaderCutsALineTooLong(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes+10)
	rows := readAll(t, "operator_line_id;learner_id;date;minutes;activity\n"+long+"\nL-1;l-a;2026-11-02;60;face-to-face\n")
	if len(rows) != 2 || !strings.Contains(rows[0].problem, "longer than") || rows[1].number != 3 || rows[1].line == nil {
		t.Fatalf("%+v", rows)
	}
}

func TestEurosUseADecimalCommaAndGroupThousands(t *testing.T) {
	for cents, want := range map[int64]string{0: "0,00 €", 5: "0,05 €", 123456: "1 234,56 €", -250: "-2,50 €", 100000000: "1 000 000,00 €"} {
		if got := euros(cents); got != want {
			t.Errorf("euros(%d) = %q, want %q", cents, got, want)
		}
	}
}

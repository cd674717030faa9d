package cli

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestHoursReaderReadsTheFileAndNamesTheLinesItCannotRead(t *testing.T) {
	file := "\ufeffoperator_line_id;learner_id;date;minutes;activity\n" +
		"L-1;l-a;2026-11-03;210;face-to-face\n" +
		"L-2;l-a;03/11/2026;60;face-to-face\n" +
		"L-3;l-b;2026-11-04;deux heures;distance\n" +
		"L-4;l-b;2026-11-04;60;knitting\n" +
		"\"L-5;x\";l-c;2026-11-05;30;assessment\n"
	r, err := newHoursReader(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var read []int
	var problems []string
	for {
		l, problem, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if problem != "" {
			problems = append(problems, problem)
			continue
		}
		read = append(read, l.number)
		if l.number == 6 && l.line.GetOperatorLineId() != "L-5;x" {
			t.Fatalf("quoted field: %q", l.line.GetOperatorLineId())
		}
	}
	if len(read) != 2 || read[0] != 2 || read[1] != 6 {
		t.Fatalf("read lines %v, want 2 and 6", read)
	}
	if len(problems) != 3 || !strings.Contains(problems[0], "YYYY-MM-DD") || !strings.Contains(problems[1], "whole number") || !strings.Contains(problems[2], "knitting") {
		t.Fatalf("problems %q", problems)
	}

	// Commas work too; a header without the columns is refused.
	if _, err := newHoursReader(strings.NewReader("operator_line_id,learner_id,date,minutes,activity\n")); err != nil {
		t.Fatalf("comma-separated: %v", err)
	}
	if _, err := newHoursReader(strings.NewReader("line;learner;day\n")); err == nil || !strings.Contains(err.Error(), "operator_line_id") {
		t.Fatalf("bad header: %v", err)
	}
}

func TestEurosUseADecimalCommaAndGroupThousands(t *testing.T) {
	for cents, want := range map[int64]string{0: "0,00 €", 5: "0,05 €", 123456: "1 234,56 €", -250: "-2,50 €", 100000000: "1 000 000,00 €"} {
		if got := euros(cents); got != want {
			t.Errorf("euros(%d) = %q, want %q", cents, got, want)
		}
	}
}

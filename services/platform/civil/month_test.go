package civil_test

import (
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestMonth(t *testing.T) {
	m, err := civil.ParseMonth("2026-12")
	if err != nil || m.String() != "2026-12" {
		t.Fatalf("%v %v", m, err)
	}
	if n := m.Next(); n != (civil.Month{Year: 2027, Month: 1}) {
		t.Errorf("Next = %v", n)
	}
	if m.First() != (civil.Date{Year: 2026, Month: 12, Day: 1}) || m.Last() != (civil.Date{Year: 2026, Month: 12, Day: 31}) {
		t.Errorf("First/Last %v %v", m.First(), m.Last())
	}
	if feb := (civil.Month{Year: 2028, Month: 2}); feb.Last().Day != 29 {
		t.Errorf("leap February ends on %v", feb.Last())
	}
	jan := civil.MonthOf(civil.Date{Year: 2026, Month: 1, Day: 15})
	if jan.Compare(m) != -1 || m.Compare(jan) != 1 || m.Compare(m) != 0 {
		t.Error("Compare")
	}
	if m.MonthsFrom(jan) != 12 || jan.MonthsFrom(m) != 0 {
		t.Errorf("MonthsFrom %d %d", m.MonthsFrom(jan), jan.MonthsFrom(m))
	}
	for _, bad := range []string{"2026-13", "26-01", "2026/01", "1800-01", ""} {
		if _, err := civil.ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		}
	}
}

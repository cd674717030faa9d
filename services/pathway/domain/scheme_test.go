package domain_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func month(y, m int) civil.Month { return civil.MonthOf(day(y, m, 1)) }

func TestSchemeTargetsAndPercents(t *testing.T) {
	for _, tc := range []struct {
		programme domain.FundingProgramme
		want      int
	}{
		{domain.FundingAvenir, 4500}, {domain.FundingAction, 3000}, {domain.FundingOther, 0}, {domain.FundingUnspecified, 0},
	} {
		if got := domain.SchemeTarget(tc.programme); got != tc.want {
			t.Errorf("target of %q: %d, want %d", tc.programme, got, tc.want)
		}
	}
	for _, tc := range []struct{ n, target, want int }{
		{0, 4500, 0}, {44, 4500, 0}, {45, 4500, 1}, {4499, 4500, 99}, {4500, 4500, 100}, {6000, 3000, 200}, {12, 0, 0},
	} {
		if got := domain.PercentOf(tc.n, tc.target); got != tc.want {
			t.Errorf("%d of %d: %d%%, want %d%%", tc.n, tc.target, got, tc.want)
		}
	}
}

func TestReportedMonths(t *testing.T) {
	today := day(2026, 11, 26)
	tests := []struct {
		year        int
		first, last civil.Month
		n           int
	}{
		{2025, month(2025, 1), month(2025, 12), 12},
		{2026, month(2026, 1), month(2026, 11), 11},
		{2027, civil.Month{}, civil.Month{}, 0},
	}
	for _, tc := range tests {
		got := domain.ReportedMonths(tc.year, today)
		if len(got) != tc.n || (tc.n > 0 && (got[0] != tc.first || got[tc.n-1] != tc.last)) {
			t.Errorf("year %d: %v", tc.year, got)
		}
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1].Next() {
				t.Errorf("year %d: %v then %v", tc.year, got[i-1], got[i])
			}
		}
	}
	if got := domain.ReportedMonths(2026, day(2026, 1, 1)); len(got) != 1 || got[0] != month(2026, 1) {
		t.Errorf("on the 1st of January: %v", got)
	}
}

func TestFirstDayIn(t *testing.T) {
	tests := []struct {
		name        string
		entry, exit civil.Date
		want        civil.Date
		ok          bool
	}{
		{"entered during the year", day(2026, 3, 14), civil.Date{}, day(2026, 3, 14), true},
		{"open since an earlier year", day(2024, 6, 1), civil.Date{}, day(2026, 1, 1), true},
		{"exited during the year, entered before", day(2025, 10, 1), day(2026, 2, 3), day(2026, 1, 1), true},
		{"exited on the year's first day", day(2025, 10, 1), day(2026, 1, 1), day(2026, 1, 1), true},
		{"exited the day before the year", day(2025, 10, 1), day(2025, 12, 31), civil.Date{}, false},
		{"entered on the year's last day", day(2026, 12, 31), civil.Date{}, day(2026, 12, 31), true},
		{"entered after the year", day(2027, 1, 1), civil.Date{}, civil.Date{}, false},
		{"within the year", day(2026, 5, 2), day(2026, 5, 20), day(2026, 5, 2), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := domain.FirstDayIn(tc.entry, tc.exit, 2026)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// monthly lists a row's months as "new/cumulative".
func monthly(r domain.ProgressRow) []string {
	var out []string
	for _, m := range r.Months {
		out = append(out, fmt.Sprintf("%s %d/%d", m.Month, m.New, m.Cumulative))
	}
	return out
}

func TestProgress(t *testing.T) {
	months := []civil.Month{month(2026, 1), month(2026, 2), month(2026, 3)}
	bd := func(learner, territory string, d civil.Date) domain.BeneficiaryDay {
		return domain.BeneficiaryDay{Learner: learner, Territory: territory, Day: d}
	}
	days := []domain.BeneficiaryDay{
		// a counts once, in January in T05, though it has days later.
		bd("a", "T05", day(2026, 1, 1)), bd("a", "T05", day(2026, 3, 10)),
		// b counts in the month of its earliest day, whatever the order.
		bd("b", "T06", day(2026, 3, 2)), bd("b", "T06", day(2026, 2, 20)),
		// c moved: it counts in the territory it had on its first day.
		bd("c", "T06", day(2026, 3, 1)), bd("c", "T05", day(2026, 2, 1)),
		// d's only day is after the months reported: not counted yet.
		bd("d", "T05", day(2026, 4, 1)),
		// e has a day before them, and one within: the one within counts.
		bd("e", "T05", day(2025, 12, 31)), bd("e", "T07", day(2026, 3, 31)),
		// f has two territories on one day: the smaller code.
		bd("f", "T09", day(2026, 2, 5)), bd("f", "T08", day(2026, 2, 5)),
	}
	rows, total := domain.Progress(days, months, []string{"T01", "T05"})
	got := map[string][]string{}
	var order []string
	for _, r := range rows {
		got[r.Territory] = monthly(r)
		order = append(order, r.Territory)
		if r.Beneficiaries != r.Months[len(r.Months)-1].Cumulative {
			t.Errorf("%s: %d beneficiaries, cumulative %v", r.Territory, r.Beneficiaries, monthly(r))
		}
	}
	want := map[string][]string{
		"T01": {"2026-01 0/0", "2026-02 0/0", "2026-03 0/0"},
		"T05": {"2026-01 1/1", "2026-02 1/2", "2026-03 0/2"},
		"T06": {"2026-01 0/0", "2026-02 1/1", "2026-03 0/1"},
		"T07": {"2026-01 0/0", "2026-02 0/0", "2026-03 1/1"},
		"T08": {"2026-01 0/0", "2026-02 1/1", "2026-03 0/1"},
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(order, []string{"T01", "T05", "T06", "T07", "T08"}) {
		t.Fatalf("rows %v (%v)\nwant %v", got, order, want)
	}
	if total.Territory != "" || total.Beneficiaries != 5 ||
		!reflect.DeepEqual(monthly(total), []string{"2026-01 1/1", "2026-02 3/4", "2026-03 1/5"}) {
		t.Fatalf("total %d %v", total.Beneficiaries, monthly(total))
	}

	// A year to come has no months: nothing is counted, listed rows stay.
	rows, total = domain.Progress(days, nil, []string{"T05"})
	if len(rows) != 1 || rows[0].Territory != "T05" || rows[0].Beneficiaries != 0 || len(rows[0].Months) != 0 || total.Beneficiaries != 0 {
		t.Fatalf("no months: %+v %+v", rows, total)
	}
}

func TestAccompanimentAtExit(t *testing.T) {
	exit := day(2026, 11, 20)
	en := func(n int, op string, kind domain.EnrolmentKind, from, to civil.Date, why domain.EndReason) domain.Enrolment {
		return domain.Enrolment{Number: n, OperatorID: op, Kind: kind, From: from, To: to, EndReason: why}
	}
	acc, sav := domain.KindAccompaniment, domain.KindSavoirs
	tests := []struct {
		name       string
		exit       civil.Date
		enrolments []domain.Enrolment
		want       string
	}{
		{"an open episode", civil.Date{}, []domain.Enrolment{en(1, "op-a", acc, day(2026, 11, 2), civil.Date{}, "")}, ""},
		{"no enrolment", exit, nil, ""},
		{"the accompaniment the exit ended", exit, []domain.Enrolment{en(1, "op-a", acc, day(2026, 11, 2), exit, domain.EndPathwayExit)}, "op-a"},
		{"an accompaniment ended before the exit", exit, []domain.Enrolment{en(1, "op-a", acc, day(2026, 11, 2), day(2026, 11, 10), domain.EndEnded)}, ""},
		{"another kind ended by the exit", exit, []domain.Enrolment{en(1, "op-s", sav, day(2026, 11, 2), exit, domain.EndPathwayExit)}, ""},
		{"one that would have started after the exit", exit, []domain.Enrolment{en(1, "op-a", acc, day(2026, 12, 1), day(2026, 11, 30), domain.EndPathwayExit)}, ""},
		{"the latest of two", exit, []domain.Enrolment{
			en(1, "op-a", acc, day(2026, 11, 2), exit, domain.EndPathwayExit), en(2, "op-b", acc, day(2026, 11, 10), exit, domain.EndPathwayExit),
		}, "op-b"},
		{"handed over before the exit", exit, []domain.Enrolment{
			en(1, "op-a", acc, day(2026, 11, 2), day(2026, 11, 9), domain.EndEnded), en(2, "op-b", acc, day(2026, 11, 10), exit, domain.EndPathwayExit),
			en(3, "op-s", sav, day(2026, 11, 10), exit, domain.EndPathwayExit),
		}, "op-b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := domain.Episode{Number: 1, Entry: day(2026, 11, 2), Exit: tc.exit, Enrolments: tc.enrolments}
			if got := ep.AccompanimentAtExit(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOutcomeReport(t *testing.T) {
	ex := func(op, territory string, reason domain.ExitReason, days int) domain.ExitFact {
		return domain.ExitFact{Operator: op, Territory: territory, Reason: reason, Days: days}
	}
	im := func(op, territory string, s domain.ImmersionStatus) domain.ImmersionFact {
		return domain.ImmersionFact{Operator: op, Territory: territory, Status: s}
	}
	rows, total := domain.OutcomeReport(
		[]domain.ExitFact{
			ex("op-b", "T05", domain.ExitAbandonment, 10),
			ex("op-a", "T05", domain.ExitEmploymentPermanent, 30),
			ex("op-a", "T05", domain.ExitEmploymentPermanent, 90),
			ex("op-a", "T05", domain.ExitHealth, 200),
			ex("op-a", "T05", domain.ExitQualifyingTraining, 60),
			ex("", "T06", domain.ExitRelocation, 5),
		},
		[]domain.ImmersionFact{
			im("op-a", "T05", domain.ImmersionCompleted), im("op-a", "T05", domain.ImmersionPartial), im("op-a", "T05", domain.ImmersionNoShow),
			im("op-h", "T06", domain.ImmersionCompleted),
		},
	)
	type row struct {
		op, territory                  string
		exits                          int
		reasons                        map[domain.ExitReason]int
		median                         int
		hasMedian                      bool
		immersions, completed, partial int
		percent                        int
		hasPercent                     bool
	}
	view := func(r domain.OutcomeRow) row {
		return row{r.Operator, r.Territory, r.Exits, r.ExitsByReason, r.MedianDays, r.HasMedian,
			r.Immersions, r.Completed, r.Partial, r.CompletionPercent, r.HasCompletion}
	}
	var got []row
	for _, r := range rows {
		got = append(got, view(r))
	}
	want := []row{
		{"", "T06", 1, map[domain.ExitReason]int{domain.ExitRelocation: 1}, 5, true, 0, 0, 0, 0, false},
		// Four exits: the lower middle of 30, 60, 90, 200.
		{"op-a", "T05", 4, map[domain.ExitReason]int{domain.ExitEmploymentPermanent: 2, domain.ExitHealth: 1, domain.ExitQualifyingTraining: 1}, 60, true, 3, 1, 1, 33, true},
		{"op-b", "T05", 1, map[domain.ExitReason]int{domain.ExitAbandonment: 1}, 10, true, 0, 0, 0, 0, false},
		// Immersions only: no exits, no median.
		{"op-h", "T06", 0, map[domain.ExitReason]int{}, 0, false, 1, 1, 0, 100, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows\n%+v\nwant\n%+v", got, want)
	}
	wantTotal := row{"", "", 6, map[domain.ExitReason]int{
		domain.ExitEmploymentPermanent: 2, domain.ExitHealth: 1, domain.ExitQualifyingTraining: 1, domain.ExitAbandonment: 1, domain.ExitRelocation: 1,
	}, 30, true, 4, 2, 1, 50, true}
	if g := view(total); !reflect.DeepEqual(g, wantTotal) {
		t.Fatalf("total %+v\nwant  %+v", g, wantTotal)
	}

	rows, total = domain.OutcomeReport(nil, nil)
	if len(rows) != 0 || total.Exits != 0 || total.HasMedian || total.HasCompletion {
		t.Fatalf("nothing: %+v %+v", rows, total)
	}
}

func TestSituationOn(t *testing.T) {
	reg := domain.Situation{From: day(2026, 3, 1), RSA: true, Education: domain.EducationLevel3}
	up1 := domain.Situation{From: day(2026, 6, 1), RSA: false, RQTH: true, Education: domain.EducationLevel3}
	up2 := domain.Situation{From: day(2026, 6, 1), QPV: true, Education: domain.EducationLevel4}
	up3 := domain.Situation{From: day(2026, 9, 15), ZRR: true}
	l := domain.Learner{ID: "l", Situations: []domain.Situation{reg, up1, up2, up3}}
	tests := []struct {
		on   civil.Date
		want domain.Situation
	}{
		{day(2026, 2, 1), reg}, // before the registration: the registration's
		{day(2026, 3, 1), reg},
		{day(2026, 5, 31), reg},
		{day(2026, 6, 1), up2}, // two changes on a day: the later recorded
		{day(2026, 9, 14), up2},
		{day(2026, 9, 15), up3},
		{day(2027, 1, 1), up3},
	}
	for _, tc := range tests {
		if got := l.SituationOn(tc.on); got != tc.want {
			t.Errorf("on %s: %+v, want %+v", tc.on, got, tc.want)
		}
	}
	if got := (domain.Learner{ID: "unknown"}).SituationOn(day(2026, 6, 1)); got != (domain.Situation{}) {
		t.Errorf("a learner without situation: %+v", got)
	}
}

func TestAgeBandOn(t *testing.T) {
	birth := day(2000, 6, 15)
	tests := []struct {
		birth, on civil.Date
		want      domain.AgeBand
	}{
		{birth, day(2026, 6, 14), domain.AgeUnder26}, // 25, the day before the birthday
		{birth, day(2026, 6, 15), domain.Age26To49},
		{birth, day(2050, 6, 14), domain.Age26To49}, // 49
		{birth, day(2050, 6, 15), domain.Age50AndOver},
		{day(2010, 1, 1), day(2026, 1, 1), domain.AgeUnder26},
		{civil.Date{}, day(2026, 1, 1), domain.AgeUnknown},
	}
	for _, tc := range tests {
		if got := domain.AgeBandOn(tc.birth, tc.on); got != tc.want {
			t.Errorf("born %s, on %s: %q, want %q", tc.birth, tc.on, got, tc.want)
		}
	}
}

func TestBreakdownReport(t *testing.T) {
	// A learner's public is read on the entry date: RQTH recorded in June
	// counts for an entry in July, not for one in May.
	l := domain.Learner{ID: "l", BirthDate: day(1975, 1, 10), Situations: []domain.Situation{
		{From: day(2026, 3, 1), RSA: true, Education: domain.EducationNoDiploma},
		{From: day(2026, 6, 1), RSA: true, RQTH: true, Education: domain.EducationNoDiploma},
	}}
	may, july := domain.EntryOf(l, "T05", day(2026, 5, 4)), domain.EntryOf(l, "T05", day(2026, 7, 6))
	if may.Situation.RQTH || !july.Situation.RQTH || may.Band != domain.Age50AndOver || july.Band != domain.Age50AndOver || may.Territory != "T05" {
		t.Fatalf("entries %+v %+v", may, july)
	}
	young := domain.EntryOf(domain.Learner{ID: "y", BirthDate: day(2004, 2, 2), Situations: []domain.Situation{
		{From: day(2026, 1, 5), QPV: true, ZRR: true, Education: domain.EducationLevel4},
	}}, "T06", day(2026, 2, 1))
	unknown := domain.EntryOf(domain.Learner{ID: "u"}, "T06", day(2026, 2, 1))

	rows, total := domain.BreakdownReport([]domain.EntryFact{may, july, young, unknown}, []string{"T01"})
	type row struct {
		territory                    string
		entries, rqth, qpv, zrr, rsa int
		bands                        map[domain.AgeBand]int
		education                    map[domain.EducationLevel]int
	}
	view := func(r domain.BreakdownRow) row {
		return row{r.Territory, r.Entries, r.RQTH, r.QPV, r.ZRR, r.RSA, r.Bands, r.Education}
	}
	var got []row
	for _, r := range rows {
		got = append(got, view(r))
	}
	want := []row{
		{"T01", 0, 0, 0, 0, 0, map[domain.AgeBand]int{}, map[domain.EducationLevel]int{}},
		{"T05", 2, 1, 0, 0, 2, map[domain.AgeBand]int{domain.Age50AndOver: 2}, map[domain.EducationLevel]int{domain.EducationNoDiploma: 2}},
		// The unknown learner is an entry, in no band and no level.
		{"T06", 2, 0, 1, 1, 0, map[domain.AgeBand]int{domain.AgeUnder26: 1}, map[domain.EducationLevel]int{domain.EducationLevel4: 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows\n%+v\nwant\n%+v", got, want)
	}
	wantTotal := row{"", 4, 1, 1, 1, 2, map[domain.AgeBand]int{domain.Age50AndOver: 2, domain.AgeUnder26: 1},
		map[domain.EducationLevel]int{domain.EducationNoDiploma: 2, domain.EducationLevel4: 1}}
	if g := view(total); !reflect.DeepEqual(g, wantTotal) {
		t.Fatalf("total %+v, want %+v", g, wantTotal)
	}
}

func TestFreezeDay(t *testing.T) {
	tests := []struct {
		month      civil.Month
		freeze     civil.Date
		lastFrozen civil.Month // on the freeze day
	}{
		{civil.Month{Year: 2026, Month: 9}, day(2026, 11, 1), civil.Month{Year: 2026, Month: 9}},
		{civil.Month{Year: 2026, Month: 11}, day(2027, 1, 1), civil.Month{Year: 2026, Month: 11}},
		{civil.Month{Year: 2026, Month: 12}, day(2027, 2, 1), civil.Month{Year: 2026, Month: 12}},
		{civil.Month{Year: 2027, Month: 1}, day(2027, 3, 1), civil.Month{Year: 2027, Month: 1}},
	}
	for _, tc := range tests {
		if got := domain.FreezeDay(tc.month); got != tc.freeze {
			t.Errorf("FreezeDay(%s) = %s, want %s", tc.month, got, tc.freeze)
		}
		if got := domain.LastFrozenMonth(tc.freeze); got != tc.lastFrozen {
			t.Errorf("LastFrozenMonth(%s) = %s, want %s", tc.freeze, got, tc.lastFrozen)
		}
		// The day before, the month before is the last frozen.
		if got := domain.LastFrozenMonth(tc.freeze.AddDays(-1)); got.Next() != tc.lastFrozen {
			t.Errorf("LastFrozenMonth(%s) = %s, want the month before %s", tc.freeze.AddDays(-1), got, tc.lastFrozen)
		}
	}
}

func TestBreakdownReportWithFrozenMonths(t *testing.T) {
	l := domain.Learner{ID: "l", BirthDate: day(1975, 1, 10), Situations: []domain.Situation{{RQTH: true, Education: domain.EducationLevel3}}}
	live := []domain.EntryFact{domain.EntryOf(l, "T05", day(2026, 11, 4)), domain.EntryOf(domain.Learner{ID: "u"}, "T07", day(2026, 11, 5))}
	// A frozen month of T05 and T06: 3 entries, one of unknown age and
	// level; the rows' unknowns are what the bands and levels leave.
	sep := domain.NewBreakdownRow("T05")
	sep.Entries, sep.RQTH, sep.QPV = 3, 1, 2
	sep.Bands[domain.AgeUnder26], sep.Bands[domain.Age50AndOver] = 1, 1
	sep.Education[domain.EducationLevel3] = 2
	if sep.UnknownBand() != 1 || sep.UnknownEducation() != 1 {
		t.Fatalf("unknowns %d %d, want 1 1", sep.UnknownBand(), sep.UnknownEducation())
	}
	oct := domain.NewBreakdownRow("T06")
	oct.Entries, oct.ZRR = 1, 1

	rows, total := domain.BreakdownReportWith(live, []domain.BreakdownRow{sep, oct}, []string{"T01"})
	var got []string
	for _, r := range append(rows, total) {
		got = append(got, fmt.Sprintf("%s %d %d %d %d %d %v %v", r.Territory, r.Entries, r.RQTH, r.QPV, r.ZRR, r.RSA, r.Bands, r.Education))
	}
	want := []string{
		"T01 0 0 0 0 0 map[] map[]",
		"T05 4 2 2 0 0 map[50_and_over:2 under_26:1] map[3:3]",
		"T06 1 0 0 1 0 map[] map[]",
		"T07 1 0 0 0 0 map[] map[]",
		" 6 2 2 1 0 map[50_and_over:2 under_26:1] map[3:3]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

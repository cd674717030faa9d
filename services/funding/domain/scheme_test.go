package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// A new contract names its programme; an update that leaves it out keeps
// it, one that names another changes it.
func TestContractProgramme(t *testing.T) {
	tm := terms()
	tm.Programme = domain.ProgrammeUnspecified
	_, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
	if !hasField(err, "terms.programme") {
		t.Fatalf("a contract without a programme: %v", err)
	}
	tm.Programme = 9
	if _, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm}); !hasField(err, "terms.programme") {
		t.Fatalf("an unknown programme: %v", err)
	}
	tm.Programme = domain.ProgrammeAction
	evs, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
	if err != nil {
		t.Fatal(err)
	}
	c := domain.EvolveContract(domain.Contract{}, evs[0])
	kept := tm
	kept.Programme = domain.ProgrammeUnspecified
	if evs, err := domain.DecideContract(c, domain.UpdateContract{ContractID: "c-1", Terms: kept}); err != nil || len(evs) != 0 {
		t.Fatalf("an update leaving the programme out changed %v %v", evs, err)
	}
	kept.TraineeHourCents++
	evs, err = domain.DecideContract(c, domain.UpdateContract{ContractID: "c-1", Terms: kept})
	if err != nil || evs[0].(domain.ContractUpdated).Terms.Programme != domain.ProgrammeAction {
		t.Fatalf("the programme is kept by an update: %v %v", evs, err)
	}
	moved := tm
	moved.Programme = domain.ProgrammeOther
	evs, err = domain.DecideContract(c, domain.UpdateContract{ContractID: "c-1", Terms: moved})
	if err != nil || evs[0].(domain.ContractUpdated).Terms.Programme != domain.ProgrammeOther {
		t.Fatalf("a programme changed: %v %v", evs, err)
	}
	// A contract stored before programmes existed stays unspecified until
	// an update names one.
	old := domain.EvolveContract(domain.Contract{}, domain.ContractCreated{ContractID: "c-0", Terms: kept})
	if old.Terms.Programme != domain.ProgrammeUnspecified {
		t.Fatalf("old contract %+v", old.Terms)
	}
	if _, err := domain.DecideContract(old, domain.UpdateContract{ContractID: "c-0", Terms: kept}); err != nil {
		t.Fatalf("an old contract updated without a programme: %v", err)
	}
}

func TestSetProgrammeYear(t *testing.T) {
	set := domain.EvolveProgrammeYear(domain.ProgrammeYear{}, domain.ProgrammeYearSet{ID: "py", Programme: domain.ProgrammeAvenir, Year: 2026, Envelope: 100, Target: 10})
	for _, tc := range []struct {
		name   string
		given  domain.ProgrammeYear
		cmd    domain.SetProgrammeYear
		fields []string
		events int
	}{
		{name: "set", cmd: domain.SetProgrammeYear{ID: "py", Programme: domain.ProgrammeAvenir, Year: 2026, Envelope: 100, Target: 10, Reason: "vote du budget"}, events: 1},
		{name: "the same again", given: set, cmd: domain.SetProgrammeYear{ID: "py", Programme: domain.ProgrammeAvenir, Year: 2026, Envelope: 100, Target: 10, Reason: "again"}},
		{name: "changed", given: set, cmd: domain.SetProgrammeYear{ID: "py", Programme: domain.ProgrammeAvenir, Year: 2026, Envelope: 200, Target: 10, Reason: "DM 1"}, events: 1},
		{name: "invalid", cmd: domain.SetProgrammeYear{Programme: domain.ProgrammeUnspecified, Year: 1999, Envelope: -1, Target: -1, Reason: " "},
			fields: []string{"programme", "year", "envelope_cents", "beneficiaries_target", "reason"}},
		{name: "year after 2200", cmd: domain.SetProgrammeYear{Programme: domain.ProgrammeOther, Year: 2201, Reason: "x"}, fields: []string{"year"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := domain.DecideProgrammeYear(tc.given, tc.cmd)
			if len(tc.fields) > 0 {
				if apperr.KindOf(err) != apperr.KindInvalidArgument {
					t.Fatalf("error %v", err)
				}
				for _, f := range tc.fields {
					if !hasField(err, f) {
						t.Fatalf("error %v does not name %s", err, f)
					}
				}
				return
			}
			if err != nil || len(evs) != tc.events {
				t.Fatalf("events %+v %v, want %d", evs, err, tc.events)
			}
		})
	}
	if d := domain.ProgrammeYearOf(domain.ProgrammeAction, 2027, domain.ProgrammeYear{}); !d.SchemeDefault || d.Envelope != 160_000_000 || d.Target != 3000 || d.Year != 2027 {
		t.Fatalf("#Action's default %+v", d)
	}
	if d := domain.ProgrammeYearOf(domain.ProgrammeAvenir, 2027, domain.ProgrammeYear{}); d.Envelope != 3_300_000_000 || d.Target != 4500 {
		t.Fatalf("#Avenir's default %+v", d)
	}
	if d := domain.ProgrammeYearOf(domain.ProgrammeOther, 2027, domain.ProgrammeYear{}); d.Envelope != 0 || d.Target != 0 || !d.SchemeDefault {
		t.Fatalf("another programme's default %+v", d)
	}
	if d := domain.ProgrammeYearOf(domain.ProgrammeAvenir, 2026, set); d.SchemeDefault || d.Envelope != 100 {
		t.Fatalf("a set year %+v", d)
	}
}

func TestProgrammeBudget(t *testing.T) {
	m := func(y int, mo time.Month) civil.Month { return civil.Month{Year: y, Month: mo} }
	billed := map[civil.Month]int64{m(2025, time.December): 999, m(2026, time.January): 100, m(2026, time.March): 200, m(2027, time.January): 7}
	year := domain.ProgrammeYear{Programme: domain.ProgrammeAvenir, Year: 2026, Envelope: 500}
	for _, tc := range []struct {
		name               string
		year               domain.ProgrammeYear
		today              civil.Date
		consumed, forecast int64
		over               int64
		percent, months    int
		warning            bool
		lastBilled         int64
	}{
		// 300 in three months: 1,200 over the year, 700 over 500.
		{name: "in March", year: year, today: day(time.March, 15), consumed: 300, forecast: 1200, over: 700, percent: 60, months: 3, lastBilled: 200},
		{name: "the year over", year: year, today: civil.Date{Year: 2027, Month: time.February, Day: 1}, consumed: 300, forecast: 300, percent: 60, months: 12},
		{name: "a future year", year: domain.ProgrammeYear{Year: 2028, Envelope: 500}, today: day(time.March, 15), months: 0},
		{name: "warning at 80 %", year: domain.ProgrammeYear{Year: 2026, Envelope: 375}, today: day(time.December, 1), consumed: 300, forecast: 300, percent: 80, months: 12, warning: true},
		{name: "nothing of nothing", year: domain.ProgrammeYear{Year: 2028}, today: day(time.March, 15)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := domain.ProgrammeBudgetOf(tc.year, billed, 2, tc.today)
			if v.Consumed != tc.consumed || v.Forecast != tc.forecast || v.ForecastOver != tc.over || v.Percent != tc.percent ||
				len(v.Months) != tc.months || v.Warning != tc.warning || v.Contracts != 2 {
				t.Fatalf("budget %+v", v)
			}
			if tc.months > 0 && tc.lastBilled != 0 && v.Months[tc.months-1].Billed != tc.lastBilled {
				t.Fatalf("months %+v", v.Months)
			}
			for i, mo := range v.Months {
				if mo.Month != m(tc.year.Year, time.Month(i+1)) {
					t.Fatalf("months %+v", v.Months)
				}
			}
		})
	}
}

// A completed immersion counts its daily minutes every scheduled day, a
// partially completed one up to the last day present, a no-show none.
func TestImmersionDays(t *testing.T) {
	from, to := day(time.March, 9), day(time.March, 11)
	if got := domain.ImmersionDays(from, to, 420, true, civil.Date{}); !reflect.DeepEqual(got, map[civil.Date]int{from: 420, from.AddDays(1): 420, to: 420}) {
		t.Fatalf("completed %v", got)
	}
	if got := domain.ImmersionDays(from, to, 300, false, from.AddDays(1)); !reflect.DeepEqual(got, map[civil.Date]int{from: 300, from.AddDays(1): 300}) {
		t.Fatalf("partially completed %v", got)
	}
	if got := domain.ImmersionDays(from, to, 300, false, civil.Date{}); len(got) != 0 {
		t.Fatalf("no-show %v", got)
	}
}

// A statement's summary counts its lines; a review of an open period marks
// it reviewed; billed amounts add up per period.
func TestStatementSummaryAndReview(t *testing.T) {
	b := books(
		accepted(hl("a", mon, 60), hl("b", mon.AddDays(1), 60)),
		domain.TraineeLineCorrected{ContractID: "c-1", CorrectsID: "a", LineID: "a-fix", Date: mon, PreviousMinutes: 60, Minutes: 30, Rate: 1500, Delta: -750, Period: month(time.March)},
		domain.TraineeLinesFlagged{ContractID: "c-1", LineIDs: []string{"b"}, Reason: domain.AnomalyEnrolmentEnded, Period: month(time.March)},
		domain.FlatFeeClaimed{LineID: "f", Period: month(time.April), Late: true, Amount: 100},
	)
	if b.Reviewed[month(time.March)] {
		t.Fatal("reviewed before any review")
	}
	b.Apply(domain.StatementReviewed{Period: month(time.March), Reviews: []domain.Review{{Key: domain.LineKey{Unit: domain.UnitTraineeHour, ID: "a"}, Reason: "no sheet"}}})
	if !b.Reviewed[month(time.March)] {
		t.Fatal("not reviewed")
	}
	sum := b.Statement(month(time.March)).Summary()
	if sum != (domain.Summary{Lines: 3, Anomalies: 1, Rejected: 1, Corrections: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	if st := b.Statement(month(time.March)); st.Lines[1].Anomaly != domain.AnomalyEnrolmentEnded {
		t.Fatalf("the ended enrolment's anomaly %+v", st.Lines[1])
	}
	if got := b.BilledByPeriod(); got[month(time.March)] != -750 || got[month(time.April)] != 100 {
		t.Fatalf("billed %v", got)
	}
	if sum := b.Statement(month(time.April)).Summary(); sum.Late != 1 || sum.Lines != 1 {
		t.Fatalf("april %+v", sum)
	}
}

package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func TestCreateContractAppliesDefaultCaps(t *testing.T) {
	tm := terms()
	tm.DailyCapMinutes, tm.WeeklyCapMinutes = 0, 0
	evs, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
	if err != nil {
		t.Fatal(err)
	}
	got := evs[0].(domain.ContractCreated).Terms
	if got.DailyCapMinutes != 420 || got.WeeklyCapMinutes != 2100 {
		t.Fatalf("caps %d/%d, want the defaults 420/2100", got.DailyCapMinutes, got.WeeklyCapMinutes)
	}
	c := domain.EvolveContract(domain.Contract{}, evs[0])
	if !c.Exists() || c.Terms.OperatorID != "op-1" {
		t.Fatalf("contract %+v", c)
	}
	if _, err := domain.DecideContract(c, domain.CreateContract{ContractID: "c-1", Terms: tm}); err == nil {
		t.Fatal("created twice")
	} else {
		wantErr(t, err, apperr.KindAlreadyExists, "")
	}
}

func TestContractValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*domain.Terms)
		field string
	}{
		{"operator required", func(t *domain.Terms) { t.OperatorID = "" }, "terms.operator_id"},
		{"reference required", func(t *domain.Terms) { t.Reference = " " }, "terms.reference"},
		{"a territory", func(t *domain.Terms) { t.Territories = nil }, "terms.territory_codes"},
		{"territory twice", func(t *domain.Terms) { t.Territories = []string{"T05", "t05"} }, "terms.territory_codes[1]"},
		{"territory not T and two digits", func(t *domain.Terms) { t.Territories = []string{"T05", "T5"} }, "terms.territory_codes[1]"},
		{"territory as a department", func(t *domain.Terms) { t.Territories = []string{"14"} }, "terms.territory_codes[0]"},
		{"operator not a code", func(t *domain.Terms) { t.OperatorID = "op.5" }, "terms.operator_id"},
		{"period from required", func(t *domain.Terms) { t.From = civil.Date{} }, "terms.period_from"},
		{"period reversed", func(t *domain.Terms) { t.To = t.From.AddDays(-1) }, "terms.period_to"},
		{"trainee rate negative", func(t *domain.Terms) { t.TraineeHourCents = -1 }, "terms.trainee_hour_rate_cents"},
		{"group rate negative", func(t *domain.Terms) { t.GroupHourCents = -1 }, "terms.group_hour_rate_cents"},
		{"fee negative", func(t *domain.Terms) { t.FlatFees[0].AmountCents = -1 }, "terms.flat_fees[0].amount_cents"},
		{"fee type unknown", func(t *domain.Terms) { t.FlatFees[0].Type = 99 }, "terms.flat_fees[0].fee_type"},
		{"fee priced twice", func(t *domain.Terms) { t.FlatFees[1].Type = t.FlatFees[0].Type }, "terms.flat_fees[1]"},
		{"custom fee without code", func(t *domain.Terms) { t.FlatFees[5].CustomCode = "" }, "terms.flat_fees[5].custom_code"},
		{"code on a standard fee", func(t *domain.Terms) { t.FlatFees[0].CustomCode = "X" }, "terms.flat_fees[0].custom_code"},
		{"envelope negative", func(t *domain.Terms) { t.AnnualEnvelopeCents = -1 }, "terms.annual_envelope_cents"},
		{"daily cap over a day", func(t *domain.Terms) { t.DailyCapMinutes = 1441 }, "terms.daily_cap_minutes"},
		{"weekly cap under daily", func(t *domain.Terms) { t.WeeklyCapMinutes = 400 }, "terms.weekly_cap_minutes"},
		{"weekly cap over a week", func(t *domain.Terms) { t.WeeklyCapMinutes = 10081 }, "terms.weekly_cap_minutes"},
		{"group size required", func(t *domain.Terms) { t.MaxGroupSize = 0 }, "terms.max_group_size"},
		{"group size too big", func(t *domain.Terms) { t.MaxGroupSize = 501 }, "terms.max_group_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := terms()
			tc.edit(&tm)
			_, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
			if !hasField(err, tc.field) {
				t.Fatalf("error %v does not name %s", err, tc.field)
			}
		})
	}
	// Zero rates are valid (a contract may pay only flat fees).
	tm := terms()
	tm.TraineeHourCents, tm.GroupHourCents = 0, 0
	if _, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm}); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateContract(t *testing.T) {
	c := domain.EvolveContract(domain.Contract{}, domain.ContractCreated{ContractID: "c-1", Terms: terms()})
	for _, tc := range []struct {
		name   string
		c      domain.Contract
		edit   func(*domain.Terms)
		reason string
		kind   apperr.Kind
		code   string
		want   []domain.Event
	}{
		{name: "not found", c: domain.Contract{}, edit: func(*domain.Terms) {}, kind: apperr.KindNotFound},
		{name: "operator changed", c: c, edit: func(t *domain.Terms) { t.OperatorID = "op-2" }, kind: apperr.KindFailedPrecondition, code: domain.ReasonOperatorChanged},
		{name: "start moved", c: c, edit: func(t *domain.Terms) { t.From = t.From.AddDays(1) }, kind: apperr.KindFailedPrecondition, code: domain.ReasonPeriodStartMoved},
		{name: "envelope without reason", c: c, edit: func(t *domain.Terms) { t.AnnualEnvelopeCents++ }, kind: apperr.KindFailedPrecondition, code: domain.ReasonReasonRequired},
		{name: "same terms", c: c, edit: func(*domain.Terms) {}},
		{name: "rate and envelope", c: c, reason: "avenant 1", edit: func(t *domain.Terms) { t.TraineeHourCents = 1600; t.AnnualEnvelopeCents = 120_000_000 },
			want: []domain.Event{domain.ContractUpdated{ContractID: "c-1", PreviousEnvelopeCents: 100_000_000, Reason: "avenant 1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := terms()
			tc.edit(&tm)
			evs, err := domain.DecideContract(tc.c, domain.UpdateContract{ContractID: "c-1", Terms: tm, Reason: tc.reason})
			if tc.kind != apperr.KindInternal {
				wantErr(t, err, tc.kind, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(tc.want) {
				t.Fatalf("events %v, want %v", evs, tc.want)
			}
			for i := range evs {
				got := evs[i].(domain.ContractUpdated)
				want := tc.want[i].(domain.ContractUpdated)
				want.Terms = domain.NormalizeTerms(tm)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("event %+v, want %+v", got, want)
				}
			}
		})
	}
}

func TestContractYears(t *testing.T) {
	tm := terms()
	tm.From, tm.To = day(time.July, 1), civil.Date{Year: 2028, Month: time.June, Day: 30}
	for _, tc := range []struct {
		day  civil.Date
		want int
	}{
		{day(time.July, 1), 1},
		{civil.Date{Year: 2027, Month: time.June, Day: 30}, 1},
		{civil.Date{Year: 2027, Month: time.July, Day: 1}, 2},
		{civil.Date{Year: 2028, Month: time.June, Day: 30}, 2},
	} {
		if got := tm.YearOf(tc.day); got != tc.want {
			t.Errorf("YearOf(%s) = %d, want %d", tc.day, got, tc.want)
		}
	}
	if got := tm.PeriodYear(civil.Month{Year: 2027, Month: time.July}); got != 2 {
		t.Errorf("PeriodYear(2027-07) = %d, want 2", got)
	}
}

func TestAmountRoundsHalfDownPerLine(t *testing.T) {
	for _, tc := range []struct {
		minutes int
		rate    int64
		want    int64
	}{
		{60, 1500, 1500},
		{1, 1500, 25},
		{0, 1500, 0},
		{1, 1, 0},        // 0.0167 cent
		{29, 1, 0},       // 0.483
		{30, 1, 0},       // 0.5: half goes down
		{31, 1, 1},       // 0.517
		{90, 1, 1},       // 1.5: half goes down
		{91, 1, 2},       // 1.517
		{45, 1333, 1000}, // 999.75
		{7, 1999, 233},   // 233.22
		{420, 0, 0},
		{1440, 10_000_000, 240_000_000},
	} {
		if got := domain.Amount(tc.minutes, tc.rate); got != tc.want {
			t.Errorf("Amount(%d, %d) = %d, want %d", tc.minutes, tc.rate, got, tc.want)
		}
	}
}

func TestWeekOfIsISO(t *testing.T) {
	for _, tc := range []struct {
		day  civil.Date
		want domain.Week
	}{
		{day(time.January, 1), domain.Week{Year: 2026, Week: 1}},
		{civil.Date{Year: 2027, Month: time.January, Day: 1}, domain.Week{Year: 2026, Week: 53}},
		{civil.Date{Year: 2024, Month: time.December, Day: 30}, domain.Week{Year: 2025, Week: 1}},
		{day(time.March, 9), domain.Week{Year: 2026, Week: 11}},
		{day(time.March, 15), domain.Week{Year: 2026, Week: 11}},
	} {
		if got := domain.WeekOf(tc.day); got != tc.want {
			t.Errorf("WeekOf(%s) = %v, want %v", tc.day, got, tc.want)
		}
	}
}

func TestBillingPeriod(t *testing.T) {
	tm := terms()
	for _, tc := range []struct {
		name   string
		closed domain.Closed
		d      civil.Date
		want   civil.Month
		late   bool
		ok     bool
	}{
		{"open month", nil, day(time.March, 30), month(time.March), false, true},
		{"closed month goes to the next", domain.Closed{month(time.March): true}, day(time.March, 30), month(time.April), true, true},
		{"two closed", domain.Closed{month(time.March): true, month(time.April): true}, day(time.March, 30), month(time.May), true, true},
		{"every month closed", domain.Closed{month(time.November): true, month(time.December): true}, day(time.November, 3), civil.Month{Year: 2027, Month: time.January}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, late, ok := tc.closed.Billing(tm, tc.d)
			if ok != tc.ok || (ok && (p != tc.want || late != tc.late)) {
				t.Fatalf("Billing = %s %v %v, want %s %v %v", p, late, ok, tc.want, tc.late, tc.ok)
			}
		})
	}
}

// A contract's operator name is optional, trimmed, set at creation and
// changed by an update naming another; an update naming none keeps it.
func TestOperatorName(t *testing.T) {
	tm := terms()
	if _, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm}); err != nil {
		t.Fatalf("without an operator name: %v", err)
	}
	tm.OperatorName = "  AFPA Normandie "
	evs, err := domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
	if err != nil || evs[0].(domain.ContractCreated).Terms.OperatorName != "AFPA Normandie" {
		t.Fatalf("created %v %v", evs, err)
	}
	c := domain.EvolveContract(domain.Contract{}, evs[0])
	update := func(name string) []domain.Event {
		t.Helper()
		tm := terms()
		tm.OperatorName = name
		evs, err := domain.DecideContract(c, domain.UpdateContract{ContractID: "c-1", Terms: tm})
		if err != nil {
			t.Fatalf("update to %q: %v", name, err)
		}
		return evs
	}
	if evs := update(""); len(evs) != 0 {
		t.Fatalf("an update without a name changed the contract: %+v", evs)
	}
	if evs := update("AFPA Normandie"); len(evs) != 0 {
		t.Fatalf("the same name changed the contract: %+v", evs)
	}
	evs = update("AFPA Normandie – site d'Évreux")
	if len(evs) != 1 || evs[0].(domain.ContractUpdated).Terms.OperatorName != "AFPA Normandie – site d'Évreux" {
		t.Fatalf("renamed: %+v", evs)
	}
}

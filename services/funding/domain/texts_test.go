package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// Names, labels and references are single lines, reasons free texts: none
// holds a control character or a bidirectional override (which would make
// a line of a statement or an export read as another), and each keeps its
// length limit. A text refused is invalid input naming its field, and
// decides nothing.
func TestTextsRefuseControlsAndBidiOverrides(t *testing.T) {
	created := domain.EvolveContract(domain.Contract{}, domain.ContractCreated{ContractID: "c-1", Terms: terms()})
	ledger := ledger(accepted(hl("a", mon, 120)))
	open := domain.StatementState{}
	onStatement := func(domain.LineKey) bool { return true }
	fields := []struct {
		name   string
		field  string
		max    int
		block  bool // a free text: new lines allowed
		decide func(s string) ([]domain.Event, error)
	}{
		{"contract reference", "terms.reference", domain.MaxReferenceLength, false, func(s string) ([]domain.Event, error) {
			tm := terms()
			tm.Reference = s
			return domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
		}},
		{"operator name", "terms.operator_name", domain.MaxOperatorNameLength, false, func(s string) ([]domain.Event, error) {
			tm := terms()
			tm.OperatorName = s
			return domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
		}},
		{"fee label", "terms.flat_fees[5].label", domain.MaxLabelLength, false, func(s string) ([]domain.Event, error) {
			tm := terms()
			tm.FlatFees[5].Label = s
			return domain.DecideContract(domain.Contract{}, domain.CreateContract{ContractID: "c-1", Terms: tm})
		}},
		{"contract update reason", "reason", domain.MaxReasonLength, true, func(s string) ([]domain.Event, error) {
			tm := terms()
			tm.AnnualEnvelopeCents++
			return domain.DecideContract(created, domain.UpdateContract{ContractID: "c-1", Terms: tm, Reason: s})
		}},
		{"correction reason", "reason", domain.MaxReasonLength, true, func(s string) ([]domain.Event, error) {
			evs, _, err := domain.DecideCorrection(ledger, domain.CorrectLine{ContractID: "c-1", LearnerID: "l-1", CorrectsID: "a", LineID: "a-fix", Minutes: 60,
				Activity: domain.ActivityFaceToFace, Reason: s, Terms: terms(), Learner: enrolled().Get("l-1"), Today: today})
			return evs, err
		}},
		{"review reason", "reviews[0].reason", domain.MaxReasonLength, true, func(s string) ([]domain.Event, error) {
			return domain.DecideStatement(open, domain.ReviewStatement{Period: month(time.March), Terms: terms(), OnStatement: onStatement,
				Reviews: []domain.Review{{Key: domain.LineKey{Unit: domain.UnitTraineeHour, ID: "a"}, Reason: s}}})
		}},
		{"trainer", "trainer", domain.MaxTrainerLength, false, func(s string) ([]domain.Event, error) {
			evs, _, err := domain.DecideGroup(nil, domain.ReportGroup{GroupSessionID: "grp-7", LineID: "g1", Date: mon, Minutes: 60, Trainer: s,
				Attendees: []string{"l-1"}, ContractID: "c-1", Terms: terms(), Learners: enrolled(), Today: today})
			return evs, err
		}},
		{"evidence reference", "evidence_reference", domain.MaxEvidenceLength, false, func(s string) ([]domain.Event, error) {
			evs, _, err := domain.DecideFee(nil, domain.ClaimFee{ContractID: "c-1", LearnerID: "l-1", LineID: "f1", Type: domain.FeeCustom, CustomCode: "BILAN_FINAL", Evidence: s,
				Terms: terms(), Learner: enrolled().Get("l-1"), Today: day(time.April, 15)})
			return evs, err
		}},
	}
	for _, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			for _, bad := range []string{
				"Bilan \u202Eliam",           // RIGHT-TO-LEFT OVERRIDE
				"Bilan \u2066final\u2069",    // isolates
				"Bilan\x07final",             // BEL
				"Bilan\x00",                  // NUL
				"Bilan\x1b[31mfinal",         // an escape sequence
				strings.Repeat("é", f.max+1), // over the limit
			} {
				evs, err := f.decide(bad)
				if apperr.KindOf(err) != apperr.KindInvalidArgument || !hasField(err, f.field) || len(evs) != 0 {
					t.Errorf("%q: %v %v, want InvalidArgument on %s", bad, evs, err, f.field)
				}
			}
			multiline := "Bilan\nfinal"
			evs, err := f.decide(multiline)
			if f.block && (err != nil || len(evs) != 1) {
				t.Errorf("a free text on two lines: %v %v", evs, err)
			}
			if !f.block && (!hasField(err, f.field) || len(evs) != 0) {
				t.Errorf("a single-line text on two lines: %v %v", evs, err)
			}
			if evs, err := f.decide(strings.Repeat("é", f.max)); err != nil || len(evs) != 1 {
				t.Errorf("%d characters: %v %v", f.max, evs, err)
			}
		})
	}
}

func TestRequiredTexts(t *testing.T) {
	_, _, err := domain.DecideGroup(nil, domain.ReportGroup{GroupSessionID: "grp-7", LineID: "g1", Date: mon, Minutes: 60, Trainer: "  ",
		Attendees: []string{"l-1"}, ContractID: "c-1", Terms: terms(), Learners: enrolled(), Today: today})
	if !hasField(err, "trainer") {
		t.Errorf("group hours without a trainer: %v", err)
	}
	_, _, err = domain.DecideCorrection(ledger(accepted(hl("a", mon, 120))), domain.CorrectLine{LearnerID: "l-1", CorrectsID: "a", LineID: "a-fix",
		Minutes: 60, Activity: domain.ActivityFaceToFace, Reason: " ", ContractID: "c-1", Terms: terms(), Learner: enrolled().Get("l-1"), Today: today})
	if !hasField(err, "reason") {
		t.Errorf("a correction without a reason: %v", err)
	}
}

package intakecontract

import (
	"testing"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
)

func TestErasureOf(t *testing.T) {
	e, ok := ErasureOf(&intakev1.LearnerErased{LearnerId: "l-1", TerritoryCode: "T05", ErasedOn: &commonv1.Date{Year: 2026, Month: 12, Day: 2}})
	if !ok || e.LearnerID != "l-1" || e.TerritoryCode != "T05" || e.ErasedOn.GetDay() != 2 {
		t.Fatalf("ErasureOf = %+v, %v", e, ok)
	}
	if _, ok := ErasureOf(&intakev1.LearnerRegistered{LearnerId: "l-1"}); ok {
		t.Error("a registration read as an erasure")
	}
	if _, ok := ErasureOf(&intakev1.LearnerErased{}); ok {
		t.Error("an erasure without a learner read as one")
	}
}

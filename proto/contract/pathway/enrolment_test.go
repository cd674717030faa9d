package pathwaycontract_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pathwaycontract "github.com/avenir-normandie/avenir/proto/contract/pathway"
	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

func TestEnrolmentOf(t *testing.T) {
	to := &commonv1.Date{Year: 2026, Month: 11, Day: 30}
	from := &commonv1.Date{Year: 2026, Month: 11, Day: 2}
	open, ok := pathwaycontract.EnrolmentOf(&pathwayv1.LearnerEnrolled{LearnerId: "l", OperatorId: "op-a", EnrolmentNumber: 2, ContractId: "c", FromDate: from})
	if !ok || open.Learner() != "l" || open.Operator() != "op-a" || open.Enrolment() != 2 || open.LastDay() != nil || !proto.Equal(open.FirstDay(), from) {
		t.Fatalf("enrolled: %+v %v", open, ok)
	}
	ended, ok := pathwaycontract.EnrolmentOf(&pathwayv1.EnrolmentEnded{LearnerId: "l", OperatorId: "op-a", EnrolmentNumber: 2, ToDate: to})
	if !ok || !proto.Equal(ended.LastDay(), to) || ended.GraceDays() != 30 {
		t.Fatalf("ended: %+v %v", ended, ok)
	}
	if _, ok := pathwaycontract.EnrolmentOf(&pathwayv1.PathwayEntered{}); ok {
		t.Fatal("an entry read as an enrolment")
	}
}

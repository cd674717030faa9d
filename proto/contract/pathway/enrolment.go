// Package pathwaycontract is the part of the pathway context's published
// contract that other contexts read in Go: which stream and subjects carry
// the learners' enrolments with operators, what each enrolment event says,
// and how long an operator still reads a learner after an enrolment ended.
// Services guarding learners' data build their access scope from it
// (platform/caseload), without knowing the pathway service.
package pathwaycontract

import (
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

// Stream is the pathway context's stream.
const Stream = "PATHWAY"

// EnrolmentSubjects are the subjects of the enrolment events.
var EnrolmentSubjects = []string{"avenir.pathway.pathway.*.enrolled", "avenir.pathway.pathway.*.enrolment_ended"}

// OperatorReadDays is how many days after an enrolment's last day its
// operator still reads the learner (read-only): the scheme's rule, so that
// an operator can finish reporting the month.
const OperatorReadDays = 30

// Enrolment is what an enrolment event says of an operator's link to a
// learner.
type Enrolment struct {
	LearnerID  string
	OperatorID string
	// Number identifies the enrolment among the learner's.
	Number int32
	// From is the enrolment's first day, told by the enrolled event (nil
	// in the ended event).
	From *commonv1.Date
	// To is the enrolment's last day; nil while it is open (the enrolled
	// event). A day before From cancels the enrolment.
	To *commonv1.Date
}

// Learner, Operator, Enrolment, FirstDay and LastDay give the fields to
// code that reads any enrolment fact (platform/caseload.EnrolmentFact).
func (e Enrolment) Learner() string          { return e.LearnerID }
func (e Enrolment) Operator() string         { return e.OperatorID }
func (e Enrolment) Enrolment() int32         { return e.Number }
func (e Enrolment) FirstDay() *commonv1.Date { return e.From }
func (e Enrolment) LastDay() *commonv1.Date  { return e.To }
func (e Enrolment) GraceDays() int           { return OperatorReadDays }

// EnrolmentOf reads an enrolment event: LearnerEnrolled (open) and
// EnrolmentEnded (To set). It reports false for any other message.
func EnrolmentOf(m proto.Message) (Enrolment, bool) {
	switch m := m.(type) {
	case *pathwayv1.LearnerEnrolled:
		return Enrolment{LearnerID: m.GetLearnerId(), OperatorID: m.GetOperatorId(), Number: m.GetEnrolmentNumber(), From: m.GetFromDate()}, true
	case *pathwayv1.EnrolmentEnded:
		return Enrolment{LearnerID: m.GetLearnerId(), OperatorID: m.GetOperatorId(), Number: m.GetEnrolmentNumber(), To: m.GetToDate()}, true
	}
	return Enrolment{}, false
}

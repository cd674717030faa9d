// Package referentcontract is the part of the referent context's published
// contract that other contexts read in Go: which stream and subjects carry
// the learners' assignments, and what each assignment event says of who
// follows a learner. Services guarding learners' data build their access
// scope from it (platform/caseload), without knowing the referent service.
//
// It lives next to the generated messages because it is contract, not
// code: it changes only with avenir/referent/v1/events.proto.
package referentcontract

import (
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
)

// Stream is the referent context's stream.
const Stream = "REFERENT"

// AssignmentSubjects are the subjects of the learners' assignment events.
var AssignmentSubjects = []string{"avenir.referent.assignment.*.>"}

// Follow is what an assignment event says of who follows a learner.
type Follow struct {
	LearnerID string
	// ReferentID follows the learner from now on; "" when nobody does (the
	// learner left the pathway or waits in a queue).
	ReferentID string
	// PreviousReferentID followed the learner before, and still reads it
	// until PreviousReadsUntil (the handover's grace period), when set.
	PreviousReferentID string
	PreviousReadsUntil *commonv1.Date
	// InterimReferentID stands in for ReferentID, absent, from InterimFrom
	// to InterimTo (both included): on those days it acts for the learner
	// as ReferentID does. "" when nobody does: every assignment event but
	// InterimAssigned says so, since each ends any interim before it.
	InterimReferentID      string
	InterimFrom, InterimTo *commonv1.Date
}

// Learner, Referent, Previous and ReadsUntil give the fields to code that
// reads any follow fact (platform/caseload.Fact).
func (f Follow) Learner() string            { return f.LearnerID }
func (f Follow) Referent() string           { return f.ReferentID }
func (f Follow) Previous() string           { return f.PreviousReferentID }
func (f Follow) ReadsUntil() *commonv1.Date { return f.PreviousReadsUntil }

// Interim and InterimDays give the interim to code that reads any follow
// fact (platform/caseload.Fact).
func (f Follow) Interim() string                        { return f.InterimReferentID }
func (f Follow) InterimDays() (from, to *commonv1.Date) { return f.InterimFrom, f.InterimTo }

// FollowOf reads an assignment event: ReferentAssigned, AssignmentPending
// (nobody follows, the former referent may still read), AssignmentEnded
// (nobody follows), InterimAssigned (the referent stays; an interim stands
// in for it on the days given) and InterimCleared (the referent stays,
// without interim). It reports false for any other message.
func FollowOf(m proto.Message) (Follow, bool) {
	switch m := m.(type) {
	case *referentv1.ReferentAssigned:
		return Follow{
			LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId(),
			PreviousReferentID: m.GetPreviousReferentId(), PreviousReadsUntil: m.GetPreviousReferentReadsUntil(),
		}, true
	case *referentv1.AssignmentPending:
		return Follow{
			LearnerID: m.GetLearnerId(), PreviousReferentID: m.GetPreviousReferentId(),
			PreviousReadsUntil: m.GetPreviousReferentReadsUntil(),
		}, true
	case *referentv1.AssignmentEnded:
		return Follow{LearnerID: m.GetLearnerId()}, true
	case *referentv1.InterimAssigned:
		return Follow{
			LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId(),
			InterimReferentID: m.GetInterimReferentId(), InterimFrom: m.GetFromDate(), InterimTo: m.GetToDate(),
		}, true
	case *referentv1.InterimCleared:
		return Follow{LearnerID: m.GetLearnerId(), ReferentID: m.GetReferentId()}, true
	}
	return Follow{}, false
}

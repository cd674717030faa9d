package referentcontract_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	referentcontract "github.com/avenir-normandie/avenir/proto/contract/referent"
	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
)

func TestFollowOf(t *testing.T) {
	until := &commonv1.Date{Year: 2026, Month: 12, Day: 27}
	from := &commonv1.Date{Year: 2026, Month: 12, Day: 21}
	for _, tc := range []struct {
		msg  proto.Message
		want referentcontract.Follow
		ok   bool
	}{
		{&referentv1.ReferentAssigned{LearnerId: "l", ReferentId: "r2", PreviousReferentId: "r1", PreviousReferentReadsUntil: until},
			referentcontract.Follow{LearnerID: "l", ReferentID: "r2", PreviousReferentID: "r1", PreviousReadsUntil: until}, true},
		{&referentv1.AssignmentPending{LearnerId: "l", PreviousReferentId: "r1", PreviousReferentReadsUntil: until},
			referentcontract.Follow{LearnerID: "l", PreviousReferentID: "r1", PreviousReadsUntil: until}, true},
		{&referentv1.AssignmentEnded{LearnerId: "l"}, referentcontract.Follow{LearnerID: "l"}, true},
		{&referentv1.InterimAssigned{LearnerId: "l", ReferentId: "r1", InterimReferentId: "r3", FromDate: from, ToDate: until},
			referentcontract.Follow{LearnerID: "l", ReferentID: "r1", InterimReferentID: "r3", InterimFrom: from, InterimTo: until}, true},
		{&referentv1.InterimCleared{LearnerId: "l", ReferentId: "r1", InterimReferentId: "r3"}, referentcontract.Follow{LearnerID: "l", ReferentID: "r1"}, true},
		{&referentv1.InterimTaken{ReferentId: "r3", AbsentReferentId: "r1"}, referentcontract.Follow{}, false},
		{&referentv1.ReferentRegistered{}, referentcontract.Follow{}, false},
	} {
		got, ok := referentcontract.FollowOf(tc.msg)
		from, to := got.InterimDays()
		if ok != tc.ok || got.LearnerID != tc.want.LearnerID || got.Referent() != tc.want.ReferentID ||
			got.Previous() != tc.want.PreviousReferentID || !proto.Equal(got.ReadsUntil(), tc.want.PreviousReadsUntil) ||
			got.Interim() != tc.want.InterimReferentID || !proto.Equal(from, tc.want.InterimFrom) || !proto.Equal(to, tc.want.InterimTo) {
			t.Errorf("FollowOf(%T) = %+v, %v; want %+v, %v", tc.msg, got, ok, tc.want, tc.ok)
		}
	}
}

package service

import (
	"context"
	"slices"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// An operator's listing reads every page of its learners from the
// caseload, however many pages they take.
func TestOperatorListingReadsEveryPageOfTheCaseload(t *testing.T) {
	t.Parallel()
	env := servicetest.Start(t, servicetest.Options{}, func(d platform.Deps) (platform.Service, error) {
		s, err := New(d, Config{})
		if err == nil {
			s.enrolledPage = 2
		}
		return s, err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := needsv1.NewNeedsServiceClient(env.Conn)
	var want []string
	for range 5 {
		learner := event.NewID()
		env.Publish(t, "avenir.pathway.pathway."+learner+".entered", &pathwayv1.PathwayEntered{
			LearnerId: learner, EpisodeNumber: 1, EntryDate: &commonv1.Date{Year: 2026, Month: 11, Day: 2}, TerritoryCode: "T05",
		})
		env.Publish(t, "avenir.pathway.pathway."+learner+".enrolled", &pathwayv1.LearnerEnrolled{
			LearnerId: learner, EpisodeNumber: 1, EnrolmentNumber: 1, ContractId: "c-a", OperatorId: "op-a",
			FromDate: &commonv1.Date{Year: 2026, Month: 11, Day: 2}, TerritoryCode: "T05",
		})
		env.CaughtUp(t)
		resp, err := admin.StartAnalysis(ctx, &needsv1.StartAnalysisRequest{RequestId: event.NewID(), LearnerId: learner})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, resp.GetAnalysis().GetAnalysisId())
	}
	env.CaughtUp(t)
	slices.Sort(want) // started the same day: by id
	op := needsv1.NewNeedsServiceClient(env.ConnAs(t, auth.Principal{Subject: "u-op-a", Role: auth.RoleOperator, OperatorID: "op-a"}))
	for _, size := range []int32{2, 50} {
		var got []string
		req := &needsv1.ListAnalysesRequest{TerritoryCode: "T05", PageSize: size}
		for {
			resp, err := op.ListAnalyses(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range resp.GetAnalyses() {
				got = append(got, a.GetAnalysisId())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
			if len(got) > len(want) {
				t.Fatalf("pages of %d go on: %v", size, got)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d: %v, want %v", size, got, want)
		}
	}
}

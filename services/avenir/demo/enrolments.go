package demo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// contractSettling is how long an enrolment waits for pathway to know a
// contract made a moment ago (CONTRACT_UNKNOWN).
const contractSettling = 30 * time.Second

// enrol enrols the learner's open episode with a contract from a day, as
// the coordinator of its territory acting for it, and records the
// enrolment. A contract pathway has not seen yet is waited for; an
// enrolment the learner already has with the contract (a request retried
// after a restart) is taken as made.
func (s *sim) enrol(ctx context.Context, l *Learner, contractID, operatorID string, kind pathwayv1.EnrolmentKind, from civil.Date, rid string) (*Enrolment, error) {
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	req := &pathwayv1.EnrolRequest{RequestId: rid, LearnerId: l.ID, ContractId: contractID, Kind: kind, FromDate: civilpb.FromDate(from)}
	var number int32
	deadline := time.Now().Add(contractSettling)
	for attempt := 0; ; attempt++ {
		err := s.callSettling(ctx, coord, "enrol", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.pathway.Enrol(ctx, req, o)
			if status.Code(err) == codes.AlreadyExists {
				if n, perr := strconv.Atoi(metaOf(err, "enrolment_number")); perr == nil && n > 0 {
					number = int32(n)
					return nil
				}
			}
			if err != nil {
				return err
			}
			number = resp.GetEnrolment().GetNumber()
			return nil
		})
		if err != nil && reasonOf(err) == "CONTRACT_UNKNOWN" && time.Now().Before(deadline) {
			if err := settle(ctx, attempt); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	e := &Enrolment{Number: number, Episode: l.current().Number, ContractID: contractID, OperatorID: operatorID, Kind: kind, From: from}
	l.Enrolments = append(l.Enrolments, e)
	s.count(func(sum *Summary) { sum.Enrolments[enrolmentKindName(kind)]++ })
	return e, nil
}

// endEnrolment ends an enrolment on a day, as the coordinator of the
// learner's territory. One an exit ended already stays as the exit left it.
func (s *sim) endEnrolment(ctx context.Context, l *Learner, e *Enrolment, to civil.Date, rid string) error {
	if !e.To.IsZero() {
		return nil
	}
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	err := s.call(ctx, coord, "end enrolment", func(ctx context.Context, o grpc.CallOption) error {
		_, err := s.c.pathway.EndEnrolment(ctx, &pathwayv1.EndEnrolmentRequest{
			RequestId: rid, LearnerId: l.ID, EnrolmentNumber: e.Number, ToDate: civilpb.FromDate(to),
		}, o)
		return err
	})
	if err != nil {
		return fmt.Errorf("learner %d: end enrolment %d: %w", l.Index, e.Number, err)
	}
	e.To = to
	return nil
}

func enrolmentKindName(k pathwayv1.EnrolmentKind) string { return kebab(k.String(), "ENROLMENT_KIND_") }

package service

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// Contacts gives a learner's e-mail address when a notification is sent.
type Contacts interface {
	// LearnerEmail returns the learner's address ("" when it has none),
	// and whether its personal data was erased. An error is worth
	// retrying.
	LearnerEmail(ctx context.Context, learnerID string) (email string, erased bool, err error)
}

// Principal is notify's own identity when it calls intake: a service
// principal allowed by intake to read a learner's e-mail address and
// nothing else (auth.RoleService).
var Principal = auth.Principal{Subject: Name, Role: auth.RoleService}

// IntakeContacts reads learners' addresses through intake's public API
// (GetLearner), on a connection that carries notify's own token. The
// connection is given once the server serves (Use); until then, and while
// intake cannot be reached, sending waits and is retried.
type IntakeContacts struct {
	conn atomic.Pointer[grpc.ClientConnInterface]
}

// Use sets the connection to intake.
func (c *IntakeContacts) Use(conn grpc.ClientConnInterface) { c.conn.Store(&conn) }

// LearnerEmail implements Contacts.
func (c *IntakeContacts) LearnerEmail(ctx context.Context, learnerID string) (string, bool, error) {
	conn := c.conn.Load()
	if conn == nil {
		return "", false, apperr.Unavailable("notify: intake is not connected yet")
	}
	resp, err := intakev1.NewIntakeServiceClient(*conn).GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: learnerID})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		// Unknown to intake: nobody to write to.
		return "", false, nil
	default:
		return "", false, apperr.Unavailable("notify: intake: %v", status.Convert(err).Message()).WithCause(err)
	}
	l := resp.GetLearner()
	return l.GetContact().GetEmail(), l.GetErased(), nil
}

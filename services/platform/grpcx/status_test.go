package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

func TestStatus(t *testing.T) {
	downstream := status.New(codes.NotFound, "downstream: no such learner")
	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
	}{
		{"nil", nil, codes.OK, ""},
		{"status error", downstream.Err(), codes.NotFound, "downstream: no such learner"},
		{"wrapped status error", fmt.Errorf("calling intake: %w", downstream.Err()), codes.NotFound, "downstream: no such learner"},
		{"invalid", apperr.Invalid(apperr.FieldViolation{Field: "f", Description: "bad"}), codes.InvalidArgument, "invalid argument: f: bad"},
		{"not found", apperr.NotFound("learner %s not found", "l-1"), codes.NotFound, "learner l-1 not found"},
		{"already exists", apperr.AlreadyExists("exists"), codes.AlreadyExists, "exists"},
		{"failed precondition", apperr.FailedPrecondition("closed"), codes.FailedPrecondition, "closed"},
		{"aborted", apperr.Aborted("stale"), codes.Aborted, "stale"},
		{"resource exhausted", apperr.ResourceExhausted("the INTAKE stream is full: raise --stream-max-bytes"), codes.ResourceExhausted, "the INTAKE stream is full: raise --stream-max-bytes"},
		{"permission denied", apperr.PermissionDenied("no"), codes.PermissionDenied, "no"},
		{"unauthenticated", apperr.Unauthenticated("who"), codes.Unauthenticated, "who"},
		{"unavailable", apperr.Unavailable("down"), codes.Unavailable, "down"},
		{"empty message", &apperr.Error{Kind: apperr.KindNotFound}, codes.NotFound, "not found"},
		{"wrapped app error", fmt.Errorf("handler: %w", apperr.NotFound("gone")), codes.NotFound, "gone"},
		{"app error hides its cause", apperr.Unavailable("store down").WithCause(errors.New("dial 10.0.0.1: refused")), codes.Unavailable, "store down"},
		{"app error wins over wrapped status", apperr.Aborted("retry").WithCause(downstream.Err()), codes.Aborted, "retry"},
		{"internal kind", apperr.New(apperr.KindInternal, "secret detail"), codes.Internal, "internal error"},
		{"unknown kind", &apperr.Error{Kind: apperr.Kind(99), Message: "secret"}, codes.Internal, "internal error"},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, context.DeadlineExceeded.Error()},
		{"wrapped deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "query: context deadline exceeded"},
		{"canceled", context.Canceled, codes.Canceled, context.Canceled.Error()},
		{"unknown error", errors.New("password=hunter2"), codes.Internal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := grpcx.Status(tt.err)
			if st.Code() != tt.wantCode || st.Message() != tt.wantMsg {
				t.Errorf("Status() = %v %q, want %v %q", st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestStatusDetails(t *testing.T) {
	t.Run("bad request lists every violation", func(t *testing.T) {
		var v apperr.Violations
		v.Add("name", "must not be empty")
		v.Add("email", "is malformed")
		err := grpcx.Status(v.Err()).Err()

		want := []apperr.FieldViolation{
			{Field: "name", Description: "must not be empty"},
			{Field: "email", Description: "is malformed"},
		}
		if got := grpcx.FieldViolations(err); !reflect.DeepEqual(got, want) {
			t.Errorf("FieldViolations() = %v, want %v", got, want)
		}
		if got := grpcx.Metadata(err); got != nil {
			t.Errorf("Metadata() = %v, want nil", got)
		}
	})

	t.Run("already exists carries error info", func(t *testing.T) {
		st := grpcx.Status(apperr.AlreadyExists("exists").WithMeta("existing_id", "l-1"))
		info := errorInfo(t, st)
		if info.GetReason() != "ALREADY_EXISTS" || info.GetDomain() != grpcx.ErrorDomain {
			t.Errorf("ErrorInfo = %v, want reason ALREADY_EXISTS and domain %q", info, grpcx.ErrorDomain)
		}
		if got, want := grpcx.Metadata(st.Err()), map[string]string{"existing_id": "l-1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Metadata() = %v, want %v", got, want)
		}
	})

	t.Run("already exists without meta still carries a reason", func(t *testing.T) {
		info := errorInfo(t, grpcx.Status(apperr.AlreadyExists("exists")))
		if info.GetReason() != "ALREADY_EXISTS" {
			t.Errorf("Reason = %q, want ALREADY_EXISTS", info.GetReason())
		}
	})

	t.Run("meta of other kinds is kept", func(t *testing.T) {
		info := errorInfo(t, grpcx.Status(apperr.FailedPrecondition("closed").WithMeta("pathway_id", "p-1")))
		if info.GetReason() != "FAILED_PRECONDITION" || info.GetMetadata()["pathway_id"] != "p-1" {
			t.Errorf("ErrorInfo = %v", info)
		}
	})

	t.Run("internal errors carry no detail", func(t *testing.T) {
		st := grpcx.Status(apperr.New(apperr.KindInternal, "x").WithMeta("secret", "s"))
		if len(st.Details()) != 0 {
			t.Errorf("Details() = %v, want none", st.Details())
		}
	})

	t.Run("no details on plain errors", func(t *testing.T) {
		err := errors.New("boom")
		if got := grpcx.FieldViolations(err); got != nil {
			t.Errorf("FieldViolations() = %v, want nil", got)
		}
		if got := grpcx.Metadata(err); got != nil {
			t.Errorf("Metadata() = %v, want nil", got)
		}
	})
}

func errorInfo(t *testing.T, st *status.Status) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	t.Fatalf("status %v has no ErrorInfo", st)
	return nil
}

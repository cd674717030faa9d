package apperr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

func TestConstructors(t *testing.T) {
	tests := []struct {
		name     string
		err      *apperr.Error
		wantKind apperr.Kind
		wantMsg  string
	}{
		{"not found", apperr.NotFound("learner %q not found", "l-1"), apperr.KindNotFound, `learner "l-1" not found`},
		{"already exists", apperr.AlreadyExists("learner %s exists", "x"), apperr.KindAlreadyExists, "learner x exists"},
		{"failed precondition", apperr.FailedPrecondition("pathway is closed"), apperr.KindFailedPrecondition, "pathway is closed"},
		{"aborted", apperr.Aborted("version %d is stale", 3), apperr.KindAborted, "version 3 is stale"},
		{"permission denied", apperr.PermissionDenied("not your learner"), apperr.KindPermissionDenied, "not your learner"},
		{"unauthenticated", apperr.Unauthenticated("missing token"), apperr.KindUnauthenticated, "missing token"},
		{"unavailable", apperr.Unavailable("store is down"), apperr.KindUnavailable, "store is down"},
		{"resource exhausted", apperr.ResourceExhausted("the %s stream is full", "INTAKE"), apperr.KindResourceExhausted, "the INTAKE stream is full"},
		{"new", apperr.New(apperr.KindInternal, "boom %d", 1), apperr.KindInternal, "boom 1"},
		{"invalid none", apperr.Invalid(), apperr.KindInvalidArgument, "invalid argument"},
		{
			"invalid several",
			apperr.Invalid(
				apperr.FieldViolation{Field: "name", Description: "must not be empty"},
				apperr.FieldViolation{Field: "email", Description: "is malformed"},
			),
			apperr.KindInvalidArgument,
			"invalid argument: name: must not be empty; email: is malformed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Kind != tt.wantKind {
				t.Errorf("Kind = %v, want %v", tt.err.Kind, tt.wantKind)
			}
			if tt.err.Message != tt.wantMsg {
				t.Errorf("Message = %q, want %q", tt.err.Message, tt.wantMsg)
			}
			if tt.err.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.wantMsg)
			}
		})
	}
}

func TestErrorWithCause(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := apperr.Unavailable("reading stream").WithCause(cause)

	if got, want := err.Error(), "reading stream: unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("errors.Is(err, cause) = false, want true")
	}
	if err.Message != "reading stream" {
		t.Errorf("Message = %q, the cause must not leak into it", err.Message)
	}
}

func TestErrorEmptyMessageUsesKind(t *testing.T) {
	err := &apperr.Error{Kind: apperr.KindNotFound}
	if got, want := err.Error(), "not found"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestWithMeta(t *testing.T) {
	err := apperr.AlreadyExists("exists").WithMeta("existing_id", "l-1").WithMeta("email", "a@b.c")
	want := map[string]string{"existing_id": "l-1", "email": "a@b.c"}
	if !reflect.DeepEqual(err.Meta, want) {
		t.Errorf("Meta = %v, want %v", err.Meta, want)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want apperr.Kind
	}{
		{"nil", nil, apperr.KindInternal},
		{"plain error", errors.New("boom"), apperr.KindInternal},
		{"context canceled", context.Canceled, apperr.KindInternal},
		{"direct", apperr.NotFound("x"), apperr.KindNotFound},
		{"wrapped", fmt.Errorf("loading: %w", apperr.Aborted("x")), apperr.KindAborted},
		{"joined", errors.Join(errors.New("a"), apperr.Unavailable("x")), apperr.KindUnavailable},
		{"violations", func() error {
			var v apperr.Violations
			v.Add("f", "bad")
			return v.Err()
		}(), apperr.KindInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		kind apperr.Kind
		want string
	}{
		{apperr.KindInternal, "internal"},
		{apperr.KindInvalidArgument, "invalid argument"},
		{apperr.KindNotFound, "not found"},
		{apperr.KindAlreadyExists, "already exists"},
		{apperr.KindFailedPrecondition, "failed precondition"},
		{apperr.KindAborted, "aborted"},
		{apperr.KindPermissionDenied, "permission denied"},
		{apperr.KindUnauthenticated, "unauthenticated"},
		{apperr.KindUnavailable, "unavailable"},
		{apperr.KindResourceExhausted, "resource exhausted"},
		{apperr.Kind(200), "kind(200)"},
	}
	for _, tt := range tests {
		if got := tt.kind.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(tt.kind), got, tt.want)
		}
	}
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name       string
		add        func(*apperr.Violations)
		wantNil    bool
		wantMsg    string
		wantFields []apperr.FieldViolation
	}{
		{name: "empty", add: func(*apperr.Violations) {}, wantNil: true},
		{
			name:    "one",
			add:     func(v *apperr.Violations) { v.Add("name", "must not be empty") },
			wantMsg: "invalid argument: name: must not be empty",
			wantFields: []apperr.FieldViolation{
				{Field: "name", Description: "must not be empty"},
			},
		},
		{
			name: "several, in order",
			add: func(v *apperr.Violations) {
				v.Add("name", "must not be empty")
				v.Addf("age", "must be at least %d, got %d", 16, 12)
			},
			wantMsg: "invalid argument: name: must not be empty; age: must be at least 16, got 12",
			wantFields: []apperr.FieldViolation{
				{Field: "name", Description: "must not be empty"},
				{Field: "age", Description: "must be at least 16, got 12"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v apperr.Violations
			tt.add(&v)
			err := v.Err()
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			e, ok := errors.AsType[*apperr.Error](err)
			if !ok {
				t.Fatalf("Err() = %T, want *apperr.Error", err)
			}
			if e.Kind != apperr.KindInvalidArgument {
				t.Errorf("Kind = %v, want %v", e.Kind, apperr.KindInvalidArgument)
			}
			if e.Message != tt.wantMsg {
				t.Errorf("Message = %q, want %q", e.Message, tt.wantMsg)
			}
			if !reflect.DeepEqual(e.Fields, tt.wantFields) {
				t.Errorf("Fields = %v, want %v", e.Fields, tt.wantFields)
			}
		})
	}
}

func TestViolationsErrIsASnapshot(t *testing.T) {
	var v apperr.Violations
	v.Add("a", "bad")
	err := v.Err()
	v.Add("b", "bad too")

	e, _ := errors.AsType[*apperr.Error](err)
	if len(e.Fields) != 1 {
		t.Errorf("Fields = %v, later additions must not change an error already returned", e.Fields)
	}
}

// Package apperr defines the typed errors that domain code returns.
//
// An *Error carries a Kind that transport layers translate into a protocol
// status (see package grpcx for the gRPC mapping), a message that is safe to
// show to clients, optional field violations and metadata, and an optional
// cause that is kept for logs and never shown to clients.
//
// The package deliberately has no transport dependency so that domain
// packages can import it freely.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// The kinds of error. They mirror the gRPC status codes that clients can act
// upon; anything else is KindInternal.
const (
	// KindInternal is an unexpected failure; its message is never shown.
	KindInternal Kind = iota
	// KindInvalidArgument reports a request that is invalid whatever the
	// state of the system; see Invalid and Violations.
	KindInvalidArgument
	// KindNotFound reports that a requested entity does not exist.
	KindNotFound
	// KindAlreadyExists reports that an entity the caller tried to create
	// already exists.
	KindAlreadyExists
	// KindFailedPrecondition reports that the system is not in a state
	// required for the operation.
	KindFailedPrecondition
	// KindAborted reports a concurrency conflict; the caller may retry at a
	// higher level (for example after re-reading the entity).
	KindAborted
	// KindPermissionDenied reports that the caller is not allowed to
	// perform the operation.
	KindPermissionDenied
	// KindUnauthenticated reports missing or invalid credentials.
	KindUnauthenticated
	// KindUnavailable reports a transient failure; the caller may retry.
	KindUnavailable
	// KindResourceExhausted reports that a resource the operation needs is
	// used up (a full stream, a full disk): retrying only helps once an
	// operator has made room.
	KindResourceExhausted
)

var kindNames = [...]string{
	KindInternal:           "internal",
	KindInvalidArgument:    "invalid argument",
	KindNotFound:           "not found",
	KindAlreadyExists:      "already exists",
	KindFailedPrecondition: "failed precondition",
	KindAborted:            "aborted",
	KindPermissionDenied:   "permission denied",
	KindUnauthenticated:    "unauthenticated",
	KindUnavailable:        "unavailable",
	KindResourceExhausted:  "resource exhausted",
}

// String returns the lower-case, human-readable name of the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// FieldViolation describes one problem with one field of a request.
type FieldViolation struct {
	// Field is the path of the offending field, for example "learner.email".
	Field string
	// Description explains what is wrong with the field.
	Description string
}

// Error is a classified application error.
type Error struct {
	// Kind classifies the error.
	Kind Kind
	// Message is shown to clients, except for KindInternal.
	Message string
	// Fields lists the offending fields of a KindInvalidArgument error.
	Fields []FieldViolation
	// Meta carries machine-readable details for clients, such as the
	// existing_id of a KindAlreadyExists error.
	Meta map[string]string
	// Err is the underlying cause. It is logged but never shown to clients.
	Err error
}

// Error returns the message followed by the cause, if any. It is meant for
// logs: transports build client-facing messages from Message only.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause of the error.
func (e *Error) Unwrap() error { return e.Err }

// WithMeta records a metadata entry and returns e, so that calls can be
// chained:
//
//	return apperr.AlreadyExists("learner %q already exists", email).WithMeta("existing_id", id)
func (e *Error) WithMeta(key, value string) *Error {
	if e.Meta == nil {
		e.Meta = make(map[string]string)
	}
	e.Meta[key] = value
	return e
}

// WithCause records the underlying cause of e and returns e. The cause is
// visible to errors.Is and errors.As and in logs, never to clients.
func (e *Error) WithCause(err error) *Error {
	e.Err = err
	return e
}

// New returns an error of the given kind whose message is formatted with
// fmt.Sprintf.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a KindInvalidArgument error listing fields. Its message
// reads "invalid argument: <field>: <description>; ...".
func Invalid(fields ...FieldViolation) *Error {
	var b strings.Builder
	b.WriteString(KindInvalidArgument.String())
	for i, f := range fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Description)
	}
	return &Error{
		Kind:    KindInvalidArgument,
		Message: b.String(),
		Fields:  fields,
	}
}

// NotFound returns a KindNotFound error with a formatted message.
func NotFound(format string, args ...any) *Error {
	return New(KindNotFound, format, args...)
}

// AlreadyExists returns a KindAlreadyExists error with a formatted message.
func AlreadyExists(format string, args ...any) *Error {
	return New(KindAlreadyExists, format, args...)
}

// FailedPrecondition returns a KindFailedPrecondition error with a formatted
// message.
func FailedPrecondition(format string, args ...any) *Error {
	return New(KindFailedPrecondition, format, args...)
}

// Aborted returns a KindAborted error with a formatted message.
func Aborted(format string, args ...any) *Error {
	return New(KindAborted, format, args...)
}

// PermissionDenied returns a KindPermissionDenied error with a formatted
// message.
func PermissionDenied(format string, args ...any) *Error {
	return New(KindPermissionDenied, format, args...)
}

// Unauthenticated returns a KindUnauthenticated error with a formatted
// message.
func Unauthenticated(format string, args ...any) *Error {
	return New(KindUnauthenticated, format, args...)
}

// Unavailable returns a KindUnavailable error with a formatted message.
func Unavailable(format string, args ...any) *Error {
	return New(KindUnavailable, format, args...)
}

// ResourceExhausted returns a KindResourceExhausted error with a formatted
// message.
func ResourceExhausted(format string, args ...any) *Error {
	return New(KindResourceExhausted, format, args...)
}

// KindOf returns the kind of the first *Error in err's chain, or
// KindInternal when there is none (including when err is nil). Context
// cancellation and deadlines are not classified here: the transport layer
// recognises them itself.
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return KindInternal
}

// Violations collects field problems so that validation can report all of
// them at once. The zero value is ready to use.
//
//	var v apperr.Violations
//	if req.Name == "" {
//		v.Add("name", "must not be empty")
//	}
//	if err := v.Err(); err != nil {
//		return err
//	}
type Violations struct {
	fields []FieldViolation
}

// Add records a problem with field.
func (v *Violations) Add(field, description string) {
	v.fields = append(v.fields, FieldViolation{Field: field, Description: description})
}

// Addf records a problem with field, formatting the description with
// fmt.Sprintf.
func (v *Violations) Addf(field, format string, args ...any) {
	v.Add(field, fmt.Sprintf(format, args...))
}

// Err returns nil when no problem was recorded, and otherwise a
// KindInvalidArgument *Error listing every problem in the order they were
// added.
func (v *Violations) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return Invalid(append([]FieldViolation(nil), v.fields...)...)
}

// Package event is the envelope of every avenir event on NATS: a protobuf
// payload in CloudEvents binary mode, with the attributes in NATS headers and
// the trace context carried alongside.
package event

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"google.golang.org/protobuf/proto"
)

// Header names. NATS headers are case-sensitive: always use these constants.
const (
	HeaderSpecVersion     = "ce-specversion"
	HeaderID              = "ce-id"
	HeaderType            = "ce-type"
	HeaderSource          = "ce-source"
	HeaderSubject         = "ce-subject"
	HeaderTime            = "ce-time"
	HeaderDataContentType = "ce-datacontenttype"
	HeaderActor           = "avenir-actor"
	HeaderRequestID       = "avenir-request-id"

	SpecVersion     = "1.0"
	DataContentType = "application/protobuf"
)

// ErrUndecodable marks a message that can never be decoded (missing or unknown
// type, corrupt payload). Consumers terminate such messages instead of retrying.
var ErrUndecodable = errors.New("event: undecodable")

// ErrErased is wrapped by a Sealer's errors when the data key is erased:
// what it sealed can never be opened again (crypto-shredding). The key
// store's privacy.ErrErased is this error.
var ErrErased = errors.New("event: the data key is erased")

// ReasonErased is the reason code (error metadata "reason") of a command
// refused because the learner's personal data was erased.
const ReasonErased = "LEARNER_ERASED"

// Event is one decoded event.
type Event struct {
	ID          string // ce-id, equal to Nats-Msg-Id
	Type        string // ce-type: the protobuf full name of Data
	Source      string // ce-source: the producing service
	AggregateID string // ce-subject
	Time        time.Time
	Actor       string // who caused it
	RequestID   string // the command's idempotency key
	Subject     string // NATS subject
	Stream      string
	Sequence    uint64 // stream sequence
	Data        proto.Message
	Header      nats.Header
	// Erased: the personal fields could not be opened: the learner's data
	// key is erased; they read empty.
	Erased bool
}

// Draft is an event about to be appended.
type Draft struct {
	Subject     string // avenir.<ctx>.<aggregate>.<id>.<event>
	AggregateID string
	Data        proto.Message
	// Unique marks a uniqueness claim appended with an aggregate's events
	// (e.g. avenir.intake.identity.<key>.claimed): its subject lies outside
	// the aggregate and must hold no message yet, or nothing is appended.
	Unique bool
	// ExpectFilter, when set, makes an atomic batch conditional on a second
	// aggregate too: the last message matching ExpectFilter (that
	// aggregate's filter) must have the stream sequence ExpectLastSeq (0:
	// the aggregate has no event yet), or nothing is appended. The draft's
	// subject must match ExpectFilter, it cannot be the first draft (which
	// carries the primary aggregate's expectation), and no earlier draft of
	// the batch may write a subject matching ExpectFilter (ADR-50); later
	// drafts may then write into that aggregate.
	ExpectFilter  string
	ExpectLastSeq uint64
}

// Meta is what a command adds to each of its events.
type Meta struct {
	ID        string // event id, see ID
	Source    string
	Actor     string
	RequestID string
	Time      time.Time
}

var idNamespace = uuid.MustParse("7b0f3a52-45e4-4c47-9a0e-5b8c3a0d5f11")

// ID derives the id of the index-th event of a command from its request id and
// scope (the aggregate's subject filter), so a retried command yields the
// same ids and JetStream deduplicates them.
func ID(scope, requestID string, index int) string {
	return uuid.NewSHA1(idNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", scope, requestID, index)).String()
}

// DeriveID derives a stable identifier (for instance a new aggregate's id)
// from a request id, so retrying a creating command addresses the same
// aggregate.
func DeriveID(kind, requestID string) string {
	return uuid.NewSHA1(idNamespace, fmt.Appendf(nil, "%s\x00%s", kind, requestID)).String()
}

// NewID returns a fresh time-ordered identifier.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidSubject checks that s is a concrete NATS subject (no wildcards, no
// empty tokens, no white space).
func ValidSubject(s string) error {
	if s == "" {
		return errors.New("event: empty subject")
	}
	for tok := range strings.SplitSeq(s, ".") {
		if err := ValidToken(tok); err != nil {
			return fmt.Errorf("event: subject %q: %w", s, err)
		}
	}
	return nil
}

// ValidToken checks one subject token, such as an aggregate id.
func ValidToken(tok string) error {
	if tok == "" {
		return errors.New("empty token")
	}
	if tok == "*" || tok == ">" || strings.ContainsAny(tok, ". \t\r\n*>") {
		return fmt.Errorf("token %q has a reserved character", tok)
	}
	return nil
}

// HeaderCarrier adapts nats.Header to OpenTelemetry propagation without
// changing the case of keys (an http.Header carrier would canonicalise
// "traceparent" into "Traceparent").
type HeaderCarrier nats.Header

// Get returns the first value of key.
func (c HeaderCarrier) Get(key string) string { return nats.Header(c).Get(key) }

// Set replaces the values of key.
func (c HeaderCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Context extracts the trace context carried by h into ctx.
func Context(ctx context.Context, h nats.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier(h))
}

// Fold folds the events that decode recognises into a state, from its zero
// value, with evolve: an aggregate's state from its history.
func Fold[S, E any](evs []Event, decode func(Event) (E, bool), evolve func(S, E) S) S {
	var s S
	for _, ev := range evs {
		if d, ok := decode(ev); ok {
			s = evolve(s, d)
		}
	}
	return s
}

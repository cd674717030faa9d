package natsx

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamSpec declares a stream owned by a service. The remaining settings are
// the project's defaults, applied by EnsureStream: file storage, deny delete
// and purge, discard new, a 10 minute duplicate window, atomic batch publish
// and direct get allowed.
type StreamSpec struct {
	Name        string   // UPPER_SNAKE, e.g. INTAKE
	Subjects    []string // e.g. avenir.intake.>
	Description string
	// MaxBytes bounds the stream; a full stream refuses writes (discard new)
	// rather than dropping history. Default: the topology's StreamMaxBytes.
	MaxBytes int64
	// MaxAge expires messages (0 = keep forever). Only for non-record streams
	// such as the dead-letter stream.
	MaxAge time.Duration
	// AllowMsgDelete lets clients delete single messages (DenyDelete off):
	// only for the key store, whose erasure destroys keys. Purging stays
	// denied.
	AllowMsgDelete bool
}

// DuplicateWindow is how long JetStream remembers message ids for deduplication.
const DuplicateWindow = 10 * time.Minute

// DefaultStreamMaxBytes bounds a stream when neither its spec nor the
// topology gives a size.
const DefaultStreamMaxBytes = 8 << 30

// Topology says how streams are placed and sized in a deployment.
type Topology struct {
	// Replicas is 1 on a single node, 3 in a cluster.
	Replicas int
	// StreamMaxBytes bounds each stream whose spec gives no MaxBytes;
	// default DefaultStreamMaxBytes.
	StreamMaxBytes int64
}

var streamName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,62}$`)

// Config turns the spec into a JetStream stream configuration.
func (s StreamSpec) Config(t Topology) (jetstream.StreamConfig, error) {
	if !streamName.MatchString(s.Name) {
		return jetstream.StreamConfig{}, fmt.Errorf("natsx: stream name %q is not UPPER_SNAKE", s.Name)
	}
	if len(s.Subjects) == 0 {
		return jetstream.StreamConfig{}, fmt.Errorf("natsx: stream %s has no subjects", s.Name)
	}
	replicas := t.Replicas
	if replicas <= 0 {
		replicas = 1
	}
	maxBytes := s.MaxBytes
	if maxBytes <= 0 {
		maxBytes = t.StreamMaxBytes
	}
	if maxBytes <= 0 {
		maxBytes = DefaultStreamMaxBytes
	}
	return jetstream.StreamConfig{
		Name:               s.Name,
		Description:        s.Description,
		Subjects:           s.Subjects,
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Discard:            jetstream.DiscardNew,
		MaxBytes:           maxBytes,
		MaxAge:             s.MaxAge,
		MaxMsgs:            -1,
		MaxMsgsPerSubject:  -1,
		Duplicates:         DuplicateWindow,
		Replicas:           replicas,
		DenyDelete:         !s.AllowMsgDelete,
		DenyPurge:          true,
		AllowDirect:        true,
		AllowAtomicPublish: true,
	}, nil
}

// EnsureStream creates the stream, or updates it when its configuration
// differs from the declared one. A stream as declared is only read, so a
// client that may not administer streams (a service's identity) passes
// over it.
func EnsureStream(ctx context.Context, js jetstream.JetStream, spec StreamSpec, t Topology) (jetstream.Stream, error) {
	st, _, err := EnsureStreamChange(ctx, js, spec, t)
	return st, err
}

// StreamChange is what EnsureStreamChange did to a stream.
type StreamChange int

// What EnsureStreamChange did.
const (
	StreamUnchanged StreamChange = iota
	StreamCreated
	StreamUpdated
)

func (c StreamChange) String() string {
	switch c {
	case StreamCreated:
		return "created"
	case StreamUpdated:
		return "updated"
	default:
		return "unchanged"
	}
}

// EnsureStreamChange is EnsureStream, also saying what it did.
func EnsureStreamChange(ctx context.Context, js jetstream.JetStream, spec StreamSpec, t Topology) (jetstream.Stream, StreamChange, error) {
	cfg, err := spec.Config(t)
	if err != nil {
		return nil, StreamUnchanged, err
	}
	var (
		st     jetstream.Stream
		change StreamChange
	)
	err = retryAPI(ctx, func(actx context.Context) (err error) {
		// Twice at most: a stream created by another process between the
		// lookup and the creation is looked up again.
		for range 2 {
			st, err = js.Stream(actx, spec.Name)
			switch {
			case errors.Is(err, jetstream.ErrStreamNotFound):
				st, err = js.CreateStream(actx, cfg)
				if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
					continue
				}
				change = StreamCreated
				return err
			case err != nil:
				return err
			case !StreamDiffers(st.CachedInfo().Config, cfg):
				change = StreamUnchanged
				return nil
			}
			st, err = js.UpdateStream(actx, cfg)
			change = StreamUpdated
			return err
		}
		return err
	})
	if err != nil {
		return nil, StreamUnchanged, fmt.Errorf("natsx: ensure stream %s: %w", spec.Name, err)
	}
	return st, change, nil
}

// StreamDiffers reports whether a stream configured as have differs from
// want in any setting a StreamSpec governs (the server fills in others).
func StreamDiffers(have, want jetstream.StreamConfig) bool {
	return !reflect.DeepEqual(governed(have), governed(want))
}

// governed keeps the settings StreamSpec.Config sets.
func governed(c jetstream.StreamConfig) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               c.Name,
		Description:        c.Description,
		Subjects:           c.Subjects,
		Storage:            c.Storage,
		Retention:          c.Retention,
		Discard:            c.Discard,
		MaxBytes:           c.MaxBytes,
		MaxAge:             c.MaxAge,
		MaxMsgs:            c.MaxMsgs,
		MaxMsgsPerSubject:  c.MaxMsgsPerSubject,
		Duplicates:         c.Duplicates,
		Replicas:           c.Replicas,
		DenyDelete:         c.DenyDelete,
		DenyPurge:          c.DenyPurge,
		AllowDirect:        c.AllowDirect,
		AllowAtomicPublish: c.AllowAtomicPublish,
	}
}

// WaitForStreams returns once every named stream exists, or ctx ends. The
// streams are created by the admin identity (`avenir streams ensure`, or
// the dev server before its services start), never by a service: a
// missing one is looked up again, with backoff up to 5 seconds, and
// waiting is called with the names still missing before each wait.
func WaitForStreams(ctx context.Context, js jetstream.JetStream, names []string, waiting func(missing []string)) error {
	delay := 100 * time.Millisecond
	for {
		var missing []string
		for _, name := range names {
			actx, cancel := context.WithTimeout(ctx, ensureAttemptTimeout)
			_, err := js.Stream(actx, name)
			cancel()
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return fmt.Errorf("natsx: streams %v may not exist (create them with the admin identity: avenir streams ensure): %w", names, ctx.Err())
			case errors.Is(err, jetstream.ErrStreamNotFound) || retryableAPI(err):
				missing = append(missing, name)
			default:
				return fmt.Errorf("natsx: stream %s: %w", name, err)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if waiting != nil {
			waiting(missing)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsx: streams %v do not exist (create them with the admin identity: avenir streams ensure): %w", missing, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// retryAPI makes a JetStream API request until it is answered. In a
// cluster, processes starting together create the same streams at once, and
// the meta leader may leave some of those requests unanswered: each attempt
// is bounded, then made again (the requests made this way are idempotent).
func retryAPI(ctx context.Context, request func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, ensureAttemptTimeout)
		err := request(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryableAPI(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond):
		}
	}
}

// ensureAttemptTimeout bounds one attempt to create or update a stream.
const ensureAttemptTimeout = 3 * time.Second

// retryableAPI reports whether a JetStream API request may succeed if made
// again: it went unanswered, or no server could answer yet.
func retryableAPI(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// IsAPIError reports whether err carries one of the JetStream API error codes.
func IsAPIError(err error, codes ...jetstream.ErrorCode) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode == c {
			return true
		}
	}
	return false
}

// CreateStreamIfAbsent creates the stream when it does not exist, and
// leaves an existing one as it is: for a stream consumed by a service that
// does not own it, whose owner (maybe another process, maybe a later
// version) keeps its configuration.
func CreateStreamIfAbsent(ctx context.Context, js jetstream.JetStream, spec StreamSpec, t Topology) error {
	cfg, err := spec.Config(t)
	if err != nil {
		return err
	}
	err = retryAPI(ctx, func(actx context.Context) error {
		_, err := js.Stream(actx, spec.Name)
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		_, err = js.CreateStream(actx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("natsx: create stream %s: %w", spec.Name, err)
	}
	return nil
}

// LastSequence returns the sequence of the last message stored in stream,
// 0 when it holds none.
func LastSequence(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("natsx: stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("natsx: stream %s: %w", stream, err)
	}
	return info.State.LastSeq, nil
}

package consumer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

// The dead-letter stream.
const (
	// DLQStream is the name of the dead-letter stream.
	DLQStream = "AVENIR_DLQ"
	// DLQSubjectPrefix prefixes the consumer name in dead-letter subjects.
	DLQSubjectPrefix = "avenir.dlq."
	// DLQMaxAge is how long dead letters are kept.
	DLQMaxAge = 30 * 24 * time.Hour
	// DLQMaxBytes bounds the dead-letter stream. Dead letters should be rare;
	// the bound is what the stream reserves on servers with storage limits.
	// When it is full, dead-lettering fails and messages are retried.
	DLQMaxBytes = 1 << 30
)

// Headers added to dead letters, next to the original headers.
const (
	HeaderDLQStream     = "avenir-dlq-stream"     // stream of the original message
	HeaderDLQSubject    = "avenir-dlq-subject"    // its subject
	HeaderDLQSequence   = "avenir-dlq-sequence"   // its stream sequence
	HeaderDLQConsumer   = "avenir-dlq-consumer"   // the consumer that gave up
	HeaderDLQSource     = "avenir-dlq-source"     // the service running it
	HeaderDLQReason     = "avenir-dlq-reason"     // the error text
	HeaderDLQDeliveries = "avenir-dlq-deliveries" // deliveries made
)

// DLQSpec declares the dead-letter stream shared by all consumers.
func DLQSpec() natsx.StreamSpec {
	return natsx.StreamSpec{
		Name:        DLQStream,
		Subjects:    []string{DLQSubjectPrefix + ">"},
		Description: "avenir dead letters: messages consumers could not handle, on avenir.dlq.<consumer>",
		MaxAge:      DLQMaxAge,
		MaxBytes:    DLQMaxBytes,
	}
}

// Spec defaults.
const (
	defaultMaxDeliver = 10
	defaultAckWait    = 30 * time.Second
	defaultBatch      = 100
)

var defaultBackOff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

// priorityGroup is the only priority group of Ordered consumers.
const priorityGroup = "avenir"

// minPinnedTTL is the shortest time an Ordered consumer keeps a silent runner
// pinned.
const minPinnedTTL = 2 * time.Minute

var consumerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// withDefaults validates s and fills in its defaults. The slices of the
// result are copies.
func (s Spec) withDefaults() (Spec, error) {
	if s.Stream == "" {
		return s, errors.New("consumer: spec needs a stream")
	}
	if !consumerName.MatchString(s.Name) {
		return s, fmt.Errorf("consumer: name %q must be lower-case letters, digits and dashes", s.Name)
	}
	for _, f := range s.FilterSubjects {
		if f == "" {
			return s, fmt.Errorf("consumer %s: empty filter subject", s.Name)
		}
	}
	switch {
	case s.MaxDeliver < 0:
		return s, fmt.Errorf("consumer %s: negative MaxDeliver", s.Name)
	case s.MaxDeliver == 0:
		s.MaxDeliver = defaultMaxDeliver
	}
	if len(s.BackOff) == 0 {
		s.BackOff = defaultBackOff
	}
	for _, d := range s.BackOff {
		if d <= 0 {
			return s, fmt.Errorf("consumer %s: BackOff delays must be positive", s.Name)
		}
	}
	switch {
	case s.AckWait < 0:
		return s, fmt.Errorf("consumer %s: negative AckWait", s.Name)
	case s.AckWait == 0:
		s.AckWait = defaultAckWait
	}
	switch {
	case s.Batch < 0:
		return s, fmt.Errorf("consumer %s: negative Batch", s.Name)
	case s.Batch == 0:
		s.Batch = defaultBatch
	}
	s.FilterSubjects = slices.Clone(s.FilterSubjects)
	s.BackOff = slices.Clone(s.BackOff)
	return s, nil
}

// backoff is the delay before redelivering a message that failed on its
// delivered-th delivery.
func (s Spec) backoff(delivered uint64) time.Duration {
	i := min(int(max(delivered, 1)-1), len(s.BackOff)-1)
	return s.BackOff[i]
}

// serverBackOff is the consumer's BackOff on the server: how long the server
// waits for an answer to each delivery before redelivering. The server
// replaces AckWait by the first entry, so every entry includes AckWait, the
// time the handler may take.
func (s Spec) serverBackOff() []time.Duration {
	bo := make([]time.Duration, len(s.BackOff))
	for i, d := range s.BackOff {
		bo[i] = s.AckWait + d
	}
	return bo
}

// config is the configuration of a new consumer.
func (s Spec) config(source string) jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:       s.Name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
	}
	if s.StartSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = s.StartSeq
	}
	return s.managed(cfg, source)
}

// managed sets on cfg the fields that follow the spec. The others, among
// which the immutable DeliverPolicy, OptStartSeq and MaxWaiting, are kept, so
// that an existing consumer can be updated.
func (s Spec) managed(cfg jetstream.ConsumerConfig, source string) jetstream.ConsumerConfig {
	cfg.Description = fmt.Sprintf("%s consumer, dead letters on %s%s", source, DLQSubjectPrefix, s.Name)
	cfg.AckPolicy = jetstream.AckExplicitPolicy
	cfg.FilterSubject = ""
	cfg.FilterSubjects = slices.Clone(s.FilterSubjects)
	cfg.BackOff = s.serverBackOff()
	cfg.AckWait = cfg.BackOff[0]
	// The runner counts deliveries itself; see the package documentation.
	cfg.MaxDeliver = -1
	cfg.MaxAckPending = 0
	cfg.PriorityPolicy = jetstream.PriorityPolicyNone
	cfg.PriorityGroups = nil
	cfg.PinnedTTL = 0
	if s.Ordered {
		cfg.MaxAckPending = s.Batch
		cfg.PriorityPolicy = jetstream.PriorityPolicyPinned
		cfg.PriorityGroups = []string{priorityGroup}
		cfg.PinnedTTL = max(minPinnedTTL, 2*s.AckWait)
	}
	return cfg
}

// behind reports whether a consumer in state info must restart at
// StartSeq: it has acked messages at or past StartSeq, which the caller
// needs again, or, for an Exclusive caller, it has anything in flight.
func (s Spec) behind(info *jetstream.ConsumerInfo) bool {
	if s.StartSeq == 0 {
		return false
	}
	if info.AckFloor.Stream >= s.StartSeq {
		return true
	}
	return s.Exclusive && (info.NumAckPending > 0 || info.Delivered.Stream >= s.StartSeq)
}

// ensureConsumer creates the consumer or brings it in line with the spec.
// With restart, a consumer past StartSeq is recreated from StartSeq.
func (r *Runner) ensureConsumer(ctx context.Context, restart bool) (jetstream.Consumer, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		c, err := r.upsertConsumer(ctx, restart)
		if errors.Is(err, jetstream.ErrConsumerExists) && attempt < attempts {
			// Another process created it between our lookup and creation.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("consumer %s: ensure on stream %s: %w", r.spec.Name, r.spec.Stream, err)
		}
		return c, nil
	}
}

func (r *Runner) upsertConsumer(ctx context.Context, restart bool) (jetstream.Consumer, error) {
	s := r.spec
	c, err := r.js.Consumer(ctx, s.Stream, s.Name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return r.js.CreateConsumer(ctx, s.Stream, s.config(r.source))
	case err != nil:
		return nil, err
	}
	info := c.CachedInfo()
	if restart && s.behind(info) {
		r.log.Info("consumer is not where the caller resumes, recreating it",
			"ack_floor", info.AckFloor.Stream, "delivered", info.Delivered.Stream,
			"ack_pending", info.NumAckPending, "start_seq", s.StartSeq)
		if err := r.js.DeleteConsumer(ctx, s.Stream, s.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, err
		}
		return r.js.CreateConsumer(ctx, s.Stream, s.config(r.source))
	}
	return r.js.UpdateConsumer(ctx, s.Stream, s.managed(info.Config, r.source))
}

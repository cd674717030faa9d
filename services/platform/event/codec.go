package event

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
)

// Sealer encrypts and decrypts personal data with named data keys: the key
// store (privacy.Keyring) implements it. Open's errors wrap ErrErased when
// the key is erased.
type Sealer interface {
	Seal(ctx context.Context, keyID string, plaintext, aad []byte) (*commonv1.Sealed, error)
	Open(ctx context.Context, s *commonv1.Sealed, aad []byte) ([]byte, error)
}

// Codec encodes drafts into NATS messages and decodes stored messages into
// events. Messages whose type marks personal fields
// ((avenir.common.v1.personal) = true) are stored with those fields sealed,
// with the data key of the learner the message names (see
// LearnerKeyID), in the message's avenir.common.v1.Sealed field; reading
// them opens it again. Other messages are encoded and decoded as they are,
// and need no Sealer.
//
// The zero Codec has no Sealer: it refuses to encode personal data and to
// decode sealed data.
type Codec struct {
	Sealer Sealer
}

// LearnerKeyID is the id of the data key of a learner's personal data.
func LearnerKeyID(learnerID string) string { return "learner." + learnerID }

// Encode builds the NATS message for d with CloudEvents headers and the trace
// context of ctx, the personal fields of its payload sealed.
func (c Codec) Encode(ctx context.Context, d Draft, m Meta) (*nats.Msg, error) {
	if d.Data == nil {
		return nil, errors.New("event: draft without data")
	}
	if err := ValidSubject(d.Subject); err != nil {
		return nil, err
	}
	if m.ID == "" || m.Source == "" {
		return nil, errors.New("event: meta needs an id and a source")
	}
	md := d.Data.ProtoReflect().Descriptor()
	payload := d.Data
	if p := planOf(md); p != nil {
		var err error
		if payload, err = c.seal(ctx, p, d.Data); err != nil {
			return nil, err
		}
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("event: marshal %s: %w", md.FullName(), err)
	}
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	msg := nats.NewMsg(d.Subject)
	msg.Data = data
	h := msg.Header
	h.Set(jetstream.MsgIDHeader, m.ID)
	h.Set(HeaderSpecVersion, SpecVersion)
	h.Set(HeaderID, m.ID)
	h.Set(HeaderType, string(md.FullName()))
	h.Set(HeaderSource, m.Source)
	h.Set(HeaderSubject, d.AggregateID)
	h.Set(HeaderTime, t.UTC().Format(time.RFC3339Nano))
	h.Set(HeaderDataContentType, DataContentType)
	if m.Actor != "" {
		h.Set(HeaderActor, m.Actor)
	}
	if m.RequestID != "" {
		h.Set(HeaderRequestID, m.RequestID)
	}
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier(h))
	return msg, nil
}

// seal returns the message to store for msg, whose type has personal
// fields: msg itself when none is set, else a copy without them and with
// them sealed in its Sealed field. msg is not modified; the copy shares its
// other fields' values.
func (c Codec) seal(ctx context.Context, p *plan, msg proto.Message) (proto.Message, error) {
	name := p.md.FullName()
	if p.err != nil {
		return nil, fmt.Errorf("event: %s: %w", name, p.err)
	}
	m := msg.ProtoReflect()
	if !p.anySet(m) {
		return msg, nil
	}
	if c.Sealer == nil {
		return nil, fmt.Errorf("event: %s has personal fields and the codec has no sealer", name)
	}
	if m.Has(p.sealed) {
		return nil, fmt.Errorf("event: %s has personal fields set and is already sealed", name)
	}
	learner := m.Get(p.key).String()
	if learner == "" {
		return nil, fmt.Errorf("event: %s has personal fields and no %s to seal them with", name, p.key.Name())
	}
	personal := m.Type().New()
	out := m.Type().New()
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if p.personal(fd) {
			personal.Set(fd, v)
		} else {
			out.Set(fd, v)
		}
		return true
	})
	if u := m.GetUnknown(); len(u) > 0 {
		out.SetUnknown(u)
	}
	plain, err := proto.MarshalOptions{Deterministic: true}.Marshal(personal.Interface())
	if err != nil {
		return nil, fmt.Errorf("event: marshal the personal fields of %s: %w", name, err)
	}
	s, err := c.Sealer.Seal(ctx, LearnerKeyID(learner), plain, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("event: seal the personal fields of %s: %w", name, err)
	}
	out.Set(p.sealed, protoreflect.ValueOfMessage(s.ProtoReflect()))
	return out.Interface(), nil
}

// Decode reads an event from a stored message and opens its sealed personal
// fields. A message that can never be decoded gives an error wrapping
// ErrUndecodable. Sealed fields that cannot be opened give another error
// (a codec without a Sealer, a key store unreachable, a key missing or
// corrupt), which retrying or reconfiguring may fix; sealed with an erased
// key, they read empty and the event is marked Erased.
func (c Codec) Decode(ctx context.Context, subject string, h nats.Header, data []byte) (Event, error) {
	typ := h.Get(HeaderType)
	if typ == "" {
		return Event{}, fmt.Errorf("%w: %s has no %s header", ErrUndecodable, subject, HeaderType)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typ))
	if err != nil {
		return Event{}, fmt.Errorf("%w: unknown type %q on %s", ErrUndecodable, typ, subject)
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(data, msg); err != nil {
		return Event{}, fmt.Errorf("%w: %s payload: %v", ErrUndecodable, typ, err)
	}
	ev := Event{
		ID:          h.Get(HeaderID),
		Type:        typ,
		Source:      h.Get(HeaderSource),
		AggregateID: h.Get(HeaderSubject),
		Actor:       h.Get(HeaderActor),
		RequestID:   h.Get(HeaderRequestID),
		Subject:     subject,
		Data:        msg,
		Header:      h,
	}
	if ts := h.Get(HeaderTime); ts != "" {
		if ev.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return Event{}, fmt.Errorf("%w: %s time %q: %v", ErrUndecodable, subject, ts, err)
		}
	}
	if p := planOf(mt.Descriptor()); p != nil {
		if ev.Erased, err = c.open(ctx, p, msg); err != nil {
			return Event{}, fmt.Errorf("event: %s on %s: %w", typ, subject, err)
		}
	}
	return ev, nil
}

// open opens the Sealed field of msg, if set, into its personal fields and
// clears it. It reports whether the key was erased.
func (c Codec) open(ctx context.Context, p *plan, msg proto.Message) (bool, error) {
	if p.err != nil {
		return false, p.err
	}
	m := msg.ProtoReflect()
	if !m.Has(p.sealed) {
		return false, nil
	}
	if c.Sealer == nil {
		return false, errors.New("sealed personal data and the codec has no sealer (a configuration error)")
	}
	s, err := asSealed(m.Get(p.sealed).Message())
	if err != nil {
		return false, err
	}
	if want := LearnerKeyID(m.Get(p.key).String()); s.GetKeyId() != want {
		return false, fmt.Errorf("sealed with key %q, the message names %q", s.GetKeyId(), want)
	}
	plain, err := c.Sealer.Open(ctx, s, []byte(p.md.FullName()))
	m.Clear(p.sealed)
	if errors.Is(err, ErrErased) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("open the personal fields: %w", err)
	}
	if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(plain, msg); err != nil {
		return false, fmt.Errorf("the opened personal fields: %w", err)
	}
	return false, nil
}

// asSealed returns the Sealed message held in a field (a generated
// *commonv1.Sealed, or another representation of it, e.g. dynamic).
func asSealed(m protoreflect.Message) (*commonv1.Sealed, error) {
	if s, ok := m.Interface().(*commonv1.Sealed); ok {
		return s, nil
	}
	b, err := proto.Marshal(m.Interface())
	if err != nil {
		return nil, err
	}
	s := &commonv1.Sealed{}
	return s, proto.Unmarshal(b, s)
}

// FromRaw decodes a message read with a direct or stream get.
func (c Codec) FromRaw(ctx context.Context, stream string, m *jetstream.RawStreamMsg) (Event, error) {
	ev, err := c.Decode(ctx, m.Subject, m.Header, m.Data)
	if err != nil {
		return Event{}, err
	}
	ev.Stream, ev.Sequence = stream, m.Sequence
	return ev, nil
}

// FromMsg decodes a message delivered to a consumer.
func (c Codec) FromMsg(ctx context.Context, m jetstream.Msg) (Event, error) {
	ev, err := c.Decode(ctx, m.Subject(), m.Headers(), m.Data())
	if err != nil {
		return Event{}, err
	}
	if md, mdErr := m.Metadata(); mdErr == nil {
		ev.Stream, ev.Sequence = md.Stream, md.Sequence.Stream
	}
	return ev, nil
}

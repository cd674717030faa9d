package privacy

import (
	"cmp"
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
)

// ErrErased is wrapped by the errors about an erased data key: what it
// sealed can never be opened again, and nothing more is sealed with it. It
// is event.ErrErased, which the event codec recognises.
var ErrErased = event.ErrErased

// DefaultCacheSize bounds the number of data keys a Keyring keeps
// unwrapped in memory when Options.CacheSize is zero.
const DefaultCacheSize = 100_000

// dataKeySize is the size of a data key: AES-256.
const dataKeySize = 32

// Options configure a Keyring.
type Options struct {
	// Master wraps the data keys. Required.
	Master MasterKey
	// Logger receives the keyring's logs. Default slog.Default().
	Logger *slog.Logger
	// Stream is the key store's stream. Default Stream (AVENIR_KEYS); it
	// must exist (StreamSpec).
	Stream string
	// CacheSize bounds the data keys kept unwrapped in memory. Default
	// DefaultCacheSize.
	CacheSize int
}

// Keyring seals and opens data with per-learner data keys kept in the key
// store, creating a key the first time it seals with it, and erases them.
// Unwrapped keys live only in its memory. It is safe for concurrent use,
// and by several processes on one key store: a key erased by one is dropped
// from the others' memory within about a second.
type Keyring struct {
	js     jetstream.JetStream
	stream string
	master MasterKey
	log    *slog.Logger
	cache  *cache

	mu      sync.Mutex
	flights map[string]*flight // loads in progress, by key id and mode

	// The stream's handle and the erasure watch are set up on first use
	// (the stream may be created after the Keyring): st is set, under
	// initMu, before ready.
	initMu sync.Mutex
	ready  atomic.Bool
	st     jetstream.Stream
	watch  jetstream.ConsumeContext
	closed bool
}

// entry is an unwrapped data key.
type entry struct {
	aead cipher.AEAD
	key  []byte
}

// flight is a load of a data key that concurrent callers wait for.
type flight struct {
	done chan struct{}
	e    *entry
	err  error
}

// New returns a Keyring on the key store's stream in js. It makes no
// request: the stream may be created later, and must exist when the
// Keyring is first used, which starts watching erasures.
func New(js jetstream.JetStream, opts Options) (*Keyring, error) {
	if js == nil {
		return nil, errors.New("privacy: nil JetStream context")
	}
	if opts.Master == nil {
		return nil, errors.New("privacy: options need a master key")
	}
	if opts.Stream == "" {
		opts.Stream = Stream
	}
	if opts.CacheSize < 0 {
		return nil, fmt.Errorf("privacy: negative CacheSize %d", opts.CacheSize)
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Keyring{
		js: js, stream: opts.Stream, master: opts.Master,
		log: opts.Logger.With("component", "keyring"), cache: newCache(opts.CacheSize),
		flights: map[string]*flight{},
	}, nil
}

// streamHandle returns the key store's stream, looking it up and starting
// the erasure watch the first time: before any key is read, so none is
// cached unwatched.
func (k *Keyring) streamHandle(ctx context.Context) (jetstream.Stream, error) {
	if k.ready.Load() {
		return k.st, nil
	}
	k.initMu.Lock()
	defer k.initMu.Unlock()
	if k.ready.Load() {
		return k.st, nil
	}
	if k.closed {
		return nil, errors.New("privacy: keyring closed")
	}
	st, err := k.js.Stream(ctx, k.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, apperr.Unavailable("the key store is not ready").
			WithCause(fmt.Errorf("privacy: the key store's stream %s does not exist (the admin identity creates it: avenir streams ensure): %w", k.stream, err))
	}
	if err != nil {
		return nil, k.fail(ctx, "look up the stream", err)
	}
	if err := k.watchErasures(ctx, st); err != nil {
		return nil, err
	}
	k.st = st
	k.ready.Store(true)
	return st, nil
}

// lastMsg returns the last message stored on subject.
func (k *Keyring) lastMsg(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	st, err := k.streamHandle(ctx)
	if err != nil {
		return nil, err
	}
	return st.GetLastMsgForSubject(ctx, subject)
}

// watchErasures drops from the cache every key erased from now on, by any
// process: an ordered consumer of the tombstones, starting after the last
// message stored now (it resumes after the last one it saw when it has to
// be recreated, so a disconnection loses none).
func (k *Keyring) watchErasures(ctx context.Context, st jetstream.Stream) error {
	info := st.CachedInfo()
	cons, err := k.js.OrderedConsumer(ctx, k.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{erasedPrefix + ">"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    info.State.LastSeq + 1,
	})
	if err != nil {
		return k.fail(ctx, "watch erasures", err)
	}
	k.watch, err = cons.Consume(func(msg jetstream.Msg) {
		if id, ok := strings.CutPrefix(msg.Subject(), erasedPrefix); ok {
			k.Forget(id)
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		k.log.Debug("keyring: erasure watch", "error", err)
	}))
	if err != nil {
		return fmt.Errorf("privacy: watch erasures: %w", err)
	}
	return nil
}

// Close stops watching erasures; the Keyring is not used afterwards.
func (k *Keyring) Close() {
	k.initMu.Lock()
	defer k.initMu.Unlock()
	if k.closed {
		return
	}
	k.closed = true
	if k.watch != nil {
		k.watch.Stop()
		<-k.watch.Closed()
	}
}

// Seal encrypts plaintext with the data key keyID, creating the key if it
// does not exist yet: AES-256-GCM, a random 12-byte nonce before the
// ciphertext, with keyID, a zero byte and aad as additional data. An erased
// key gives an error wrapping ErrErased.
func (k *Keyring) Seal(ctx context.Context, keyID string, plaintext, aad []byte) (*commonv1.Sealed, error) {
	if err := validKeyID(keyID); err != nil {
		return nil, err
	}
	e, err := k.key(ctx, keyID, true)
	if err != nil {
		return nil, err
	}
	return &commonv1.Sealed{KeyId: keyID, Ciphertext: seal(e.aead, plaintext, additional(keyID, aad))}, nil
}

// Open decrypts what Seal sealed with the same aad. An erased key gives an
// error wrapping ErrErased; a key that is missing without having been
// erased, or a ciphertext that does not authenticate, another error.
func (k *Keyring) Open(ctx context.Context, s *commonv1.Sealed, aad []byte) ([]byte, error) {
	if s == nil {
		return nil, errors.New("privacy: nothing sealed to open")
	}
	if err := validKeyID(s.GetKeyId()); err != nil {
		return nil, err
	}
	e, err := k.key(ctx, s.GetKeyId(), false)
	if err != nil {
		return nil, err
	}
	plain, err := open(e.aead, s.GetCiphertext(), additional(s.GetKeyId(), aad))
	if err != nil {
		return nil, fmt.Errorf("privacy: open data sealed with %s: %w", s.GetKeyId(), err)
	}
	return plain, nil
}

// additional is the additional data of a sealing: keyID, a zero byte, aad.
func additional(keyID string, aad []byte) []byte {
	ad := make([]byte, 0, len(keyID)+1+len(aad))
	ad = append(ad, keyID...)
	ad = append(ad, 0)
	return append(ad, aad...)
}

// Hash returns the keyed hash (hex HMAC-SHA256) of value for purpose, under
// the scheme's HMAC key (HMACKey, created on first use): equal values give
// equal hashes, and nobody without the key can test a guess.
func (k *Keyring) Hash(ctx context.Context, purpose, value string) (string, error) {
	if err := validPurpose(purpose); err != nil {
		return "", err
	}
	e, err := k.key(ctx, HMACKey, true)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, e.key)
	mac.Write([]byte(purpose))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// Erase destroys the data key keyID: it records the erasure (a tombstone,
// so the key is never created again), then deletes every stored copy of
// the key, overwriting it on disk, and drops it from memory. Other
// processes drop it within about a second. Erasing an erased key, or a key
// never created, succeeds (and records the erasure). The HMAC key is never
// erased.
func (k *Keyring) Erase(ctx context.Context, keyID string) error {
	if err := validKeyID(keyID); err != nil {
		return err
	}
	if keyID == HMACKey {
		return fmt.Errorf("privacy: %s is not erased: every uniqueness claim depends on it", HMACKey)
	}
	msg := nats.NewMsg(erasedSubject(keyID))
	_, err := k.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(k.stream), jetstream.WithExpectLastSequencePerSubject(0))
	if err != nil && !conflict(err) {
		return k.fail(ctx, "record the erasure of "+keyID, err)
	}
	if err := k.deleteAll(ctx, dataSubject(keyID)); err != nil {
		return k.fail(ctx, "delete the data key "+keyID, err)
	}
	k.Forget(keyID)
	k.log.InfoContext(ctx, "keyring: data key erased", "key_id", keyID)
	return nil
}

// deleteAll securely deletes every message stored on subject.
func (k *Keyring) deleteAll(ctx context.Context, subject string) error {
	for range 1000 {
		raw, err := k.lastMsg(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := k.secureDelete(ctx, raw.Sequence); err != nil {
			return err
		}
	}
	return fmt.Errorf("still messages on %s after deleting 1000", subject)
}

// secureDelete deletes the message at seq, overwriting it on disk; a
// message already deleted is fine.
func (k *Keyring) secureDelete(ctx context.Context, seq uint64) error {
	st, err := k.streamHandle(ctx)
	if err != nil {
		return err
	}
	err = st.SecureDeleteMsg(ctx, seq)
	if err == nil {
		return nil
	}
	// The server says why only in text: whether the message is still
	// there decides.
	if _, gerr := st.GetMsg(ctx, seq); errors.Is(gerr, jetstream.ErrMsgNotFound) {
		return nil
	}
	return err
}

// Erased reports whether the data key keyID was erased.
func (k *Keyring) Erased(ctx context.Context, keyID string) (bool, error) {
	if err := validKeyID(keyID); err != nil {
		return false, err
	}
	_, err := k.lastMsg(ctx, erasedSubject(keyID))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, k.fail(ctx, "read the erasure of "+keyID, err)
	}
	return true, nil
}

// Forget drops the data key keyID from this process's memory; it is read
// from the key store again when needed.
func (k *Keyring) Forget(keyID string) { k.cache.drop(keyID) }

// key returns the data key keyID: from memory, else from the key store,
// else, with create, a new one. Concurrent callers share one load.
func (k *Keyring) key(ctx context.Context, keyID string, create bool) (*entry, error) {
	if e, ok := k.cache.get(keyID); ok {
		return e, nil
	}
	fk := keyID
	if create {
		fk += "\x00create"
	}
	k.mu.Lock()
	if f, ok := k.flights[fk]; ok {
		k.mu.Unlock()
		select {
		case <-f.done:
			return f.e, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	k.flights[fk] = f
	k.mu.Unlock()

	// A key dropped while it loads (erased meanwhile) is not cached.
	epoch := k.cache.epochNow()
	f.e, f.err = k.load(ctx, keyID, create)
	if f.err == nil {
		k.cache.put(keyID, f.e, epoch)
	}
	k.mu.Lock()
	delete(k.flights, fk)
	k.mu.Unlock()
	close(f.done)
	return f.e, f.err
}

// load reads the data key keyID from the key store or, with create,
// creates it.
func (k *Keyring) load(ctx context.Context, keyID string, create bool) (*entry, error) {
	raw, err := k.lastMsg(ctx, dataSubject(keyID))
	if err == nil {
		return k.found(ctx, keyID, raw)
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, k.fail(ctx, "read the data key "+keyID, err)
	}
	erased, err := k.Erased(ctx, keyID)
	switch {
	case err != nil:
		return nil, err
	case erased:
		return nil, erasedError(keyID)
	case !create:
		return nil, fmt.Errorf("privacy: no data key %s in stream %s, and it was not erased: the key store lost it, or this process reads another key store", keyID, k.stream)
	}
	return k.create(ctx, keyID)
}

// create stores a new data key keyID, unless another process stored one
// first, which it then reads.
func (k *Keyring) create(ctx context.Context, keyID string) (*entry, error) {
	dk := randomBytes(dataKeySize)
	wrapped, err := k.master.Wrap(ctx, keyID, dk)
	if err != nil {
		return nil, fmt.Errorf("privacy: wrap the data key %s: %w", keyID, err)
	}
	msg := nats.NewMsg(dataSubject(keyID))
	msg.Data = wrapped
	msg.Header.Set(HeaderMasterKey, k.master.ID())
	ack, err := k.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(k.stream), jetstream.WithExpectLastSequencePerSubject(0))
	if conflict(err) {
		// Another process created it: use that one.
		raw, err := k.lastMsg(ctx, dataSubject(keyID))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			// Created and erased since, or not readable yet (a lagging
			// replica answered).
			if erased, eerr := k.Erased(ctx, keyID); eerr != nil || erased {
				return nil, cmp.Or(eerr, erasedError(keyID))
			}
			return nil, apperr.Unavailable("the key store is catching up, retry").
				WithCause(fmt.Errorf("privacy: the data key %s was created concurrently and cannot be read yet", keyID))
		}
		if err != nil {
			return nil, k.fail(ctx, "read the data key "+keyID, err)
		}
		return k.found(ctx, keyID, raw)
	}
	if err != nil {
		return nil, k.fail(ctx, "store the data key "+keyID, err)
	}
	// An erasure that recorded its tombstone after this key was found
	// missing, and deleted the key's messages before it was stored, missed
	// it: the creator checks again and deletes it.
	erased, err := k.Erased(ctx, keyID)
	if err != nil {
		return nil, err
	}
	if erased {
		if err := k.secureDelete(ctx, ack.Sequence); err != nil {
			return nil, k.fail(ctx, "delete the data key "+keyID+" created during its erasure", err)
		}
		return nil, erasedError(keyID)
	}
	return newEntry(dk)
}

// found returns the data key keyID read from the key store, unless it is
// being erased: an erasure records its tombstone before it deletes the key,
// so a key read while it deletes is refused here (and one read before the
// tombstone is dropped from the cache by the erasure watch).
func (k *Keyring) found(ctx context.Context, keyID string, raw *jetstream.RawStreamMsg) (*entry, error) {
	e, err := k.unwrap(ctx, keyID, raw)
	if err != nil {
		return nil, err
	}
	erased, err := k.Erased(ctx, keyID)
	switch {
	case err != nil:
		return nil, err
	case erased:
		return nil, erasedError(keyID)
	}
	return e, nil
}

// unwrap decrypts a stored data key.
func (k *Keyring) unwrap(ctx context.Context, keyID string, raw *jetstream.RawStreamMsg) (*entry, error) {
	if id := raw.Header.Get(HeaderMasterKey); id != k.master.ID() {
		return nil, fmt.Errorf("privacy: the data key %s was wrapped by master key %q, this process has master key %q", keyID, id, k.master.ID())
	}
	dk, err := k.master.Unwrap(ctx, keyID, raw.Data)
	if err != nil {
		return nil, err
	}
	return newEntry(dk)
}

func newEntry(dk []byte) (*entry, error) {
	if len(dk) != dataKeySize {
		return nil, fmt.Errorf("privacy: a data key has %d bytes, got %d", dataKeySize, len(dk))
	}
	aead, err := newAEAD(dk)
	if err != nil {
		return nil, err
	}
	return &entry{aead: aead, key: dk}, nil
}

// erasedError is the error of using the erased key keyID: a failed
// precondition for the API, wrapping ErrErased.
func erasedError(keyID string) error {
	return apperr.FailedPrecondition("the personal data sealed with %s is erased", keyID).
		WithCause(fmt.Errorf("privacy: data key %s: %w", keyID, ErrErased))
}

// conflict reports whether a publish was refused because its subject
// already held a message (wrong last subject sequence).
func conflict(err error) bool {
	return err != nil && natsx.IsAPIError(err, jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// fail describes a failed request to the key store; one the server did not
// answer is Unavailable, which callers retry.
func (k *Keyring) fail(ctx context.Context, what string, err error) error {
	err = fmt.Errorf("privacy: %s in stream %s: %w", what, k.stream, err)
	if ctx.Err() == nil && unreachable(err) {
		return apperr.Unavailable("the key store did not answer").WithCause(err)
	}
	return err
}

// unreachable reports whether err says the server could not be reached or
// did not answer in time.
func unreachable(err error) bool {
	for _, target := range []error{
		nats.ErrTimeout, nats.ErrConnectionClosed, nats.ErrConnectionReconnecting, nats.ErrDisconnected,
		nats.ErrConnectionDraining, nats.ErrNoResponders, jetstream.ErrNoStreamResponse, context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// DefaultRedisPrefix is the key prefix used when RedisOptions.Prefix is empty.
const DefaultRedisPrefix = "avenir:"

// resetScanCount is the SCAN COUNT hint and the UNLINK batch size of Reset.
const resetScanCount = 1000

// applyScriptSource is the Lua script of Apply: atomically, it checks the
// generation and the checkpoint, performs the ops and sets the checkpoint.
//
// KEYS[1] is the checkpoint key and KEYS[2] the generation key; KEYS[i] for
// i >= 3 is the key of op i-2. ARGV[1] is the sequence in decimal, ARGV[2]
// the writer's generation; ARGV[2i-3] and ARGV[2i-2] are the op code and
// the argument (value or member) of the op on KEYS[i]. It returns 1 when it
// applied, 0 when the sequence is not newer, -1 when the generation is not
// the writer's (the projection was lost or reset).
//
// Sequences are compared as canonical decimal strings, by length then
// lexicographically (digits collate in the same order in every locale), which
// is exact over the whole uint64 range where Lua numbers (doubles) are not.
const applyScriptSource = `
if redis.call('GET', KEYS[2]) ~= ARGV[2] then
  return -1
end
local seq = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and (#cur > #seq or (#cur == #seq and cur >= seq)) then
  return 0
end
for i = 3, #KEYS do
  local op, arg = ARGV[2 * i - 3], ARGV[2 * i - 2]
  if op == 'p' then
    redis.call('SET', KEYS[i], arg)
  elseif op == 'd' then
    redis.call('DEL', KEYS[i])
  elseif op == 'a' then
    redis.call('ZADD', KEYS[i], 0, arg)
  elseif op == 'r' then
    redis.call('ZREM', KEYS[i], arg)
  end
end
redis.call('SET', KEYS[1], seq)
return 1
`

// generationScript returns the generation of KEYS[1], setting it to ARGV[1]
// when there is none.
var generationScript = redis.NewScript(`
local g = redis.call('GET', KEYS[1])
if g then
  return g
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`)

// applyScript runs applyScriptSource with EVALSHA, or EVAL when the server
// does not have it cached.
var applyScript = redis.NewScript(applyScriptSource)

// opCodes maps op kinds to their code in applyScriptSource.
var opCodes = [...]string{
	opPut:         "p",
	opDelete:      "d",
	opIndexAdd:    "a",
	opIndexRemove: "r",
}

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// URL locates the server, as accepted by redis.ParseURL:
	// redis://[[user]:password@]host[:port][/db] or rediss:// for TLS.
	// Required.
	URL string
	// Prefix starts every key the store writes. Default DefaultRedisPrefix.
	// It must not contain '{' or '}', which would break the hash tags that
	// keep each projection in one cluster slot.
	Prefix string
}

// Redis is a Store backed by Redis. All keys of a projection share one hash
// tag, so they live in one cluster slot:
//
//	<prefix>{<projection>}:cp          checkpoint, decimal string
//	<prefix>{<projection>}:gen         generation marker
//	<prefix>{<projection>}:k:<key>     value (string)
//	<prefix>{<projection>}:i:<index>   index (sorted set, every score 0)
//
// Apply runs one Lua script that checks the generation and the checkpoint,
// performs the ops and sets the checkpoint; every key it touches is passed
// in KEYS.
type Redis struct {
	client *redis.Client
	prefix string
	// script is applyScript; tests swap it to exercise the EVAL fallback.
	script *redis.Script
	// stopMetrics unregisters the OpenTelemetry pool metrics on Close.
	stopMetrics chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

var _ Store = (*Redis)(nil)

// NewRedis connects to the server at opts.URL, checks it answers PING and
// instruments the client with OpenTelemetry tracing and metrics, using the
// global tracer and meter providers. Spans do not record command arguments:
// they would carry projection values.
func NewRedis(ctx context.Context, opts RedisOptions) (*Redis, error) {
	if opts.URL == "" {
		return nil, errors.New("projection: redis: empty URL")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("projection: redis: prefix %q must not contain '{' or '}'", opts.Prefix)
	}
	redisOpts, err := redis.ParseURL(opts.URL)
	if err != nil {
		// The URL may hold a password: drop it from url.Parse errors.
		if urlErr, ok := errors.AsType[*url.Error](err); ok {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("projection: redis: parse URL: %w", err)
	}
	// With Redis down, a call must fail in a fraction of a second (the
	// services answer Unavailable and their consumers retry), not after
	// the client's default rounds of dial retries.
	if redisOpts.DialerRetries == 0 {
		redisOpts.DialerRetries = 2
		redisOpts.DialerRetryTimeout = 50 * time.Millisecond
	}
	if redisOpts.MaxRetries == 0 {
		redisOpts.MaxRetries = 1
	}
	quietClientLog.Do(func() { redis.SetLogger(debugLog{}) })
	client := redis.NewClient(redisOpts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("projection: redis: ping %s: %w", redisOpts.Addr, err)
	}
	if err := redisotel.InstrumentTracing(client, redisotel.WithDBStatement(false)); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("projection: redis: instrument tracing: %w", err)
	}
	stopMetrics := make(chan struct{})
	if err := redisotel.InstrumentMetrics(client, redisotel.WithCloseChan(stopMetrics)); err != nil {
		close(stopMetrics)
		_ = client.Close()
		return nil, fmt.Errorf("projection: redis: instrument metrics: %w", err)
	}
	return &Redis{
		client:      client,
		prefix:      opts.Prefix,
		script:      applyScript,
		stopMetrics: stopMetrics,
	}, nil
}

// Generation implements Store.
func (r *Redis) Generation(ctx context.Context, projection string) (string, error) {
	if err := validateName(projection); err != nil {
		return "", fmt.Errorf("projection: generation: %w", err)
	}
	g, err := generationScript.Run(ctx, r.client, []string{r.generationKey(projection)}, newGeneration()).Text()
	if err != nil {
		return "", fmt.Errorf("projection: generation %s: %w", projection, r.fail(ctx, err))
	}
	return g, nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("projection: redis: ping: %w", r.fail(ctx, err))
	}
	return nil
}

// quietClientLog routes the Redis client's own log lines, once per process.
var quietClientLog sync.Once

// debugLog writes the Redis client's log lines (a failed dial on every
// call while Redis is down) at debug level: the store's errors already say
// what failed, once, where it matters.
type debugLog struct{}

func (debugLog) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// Checkpoint implements Store.
func (r *Redis) Checkpoint(ctx context.Context, projection string) (uint64, error) {
	if err := validateName(projection); err != nil {
		return 0, fmt.Errorf("projection: checkpoint: %w", err)
	}
	s, err := r.client.Get(ctx, r.checkpointKey(projection)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projection: checkpoint %s: %w", projection, r.fail(ctx, err))
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("projection: checkpoint %s: corrupt value %q: %w", projection, s, err)
	}
	return seq, nil
}

// Apply implements Store. It runs the apply script with EVALSHA, falling
// back to EVAL when the server does not have the script cached.
func (r *Redis) Apply(ctx context.Context, projection, gen string, seq uint64, ops ...Op) (bool, error) {
	if err := validateName(projection); err != nil {
		return false, fmt.Errorf("projection: apply: %w", err)
	}
	if err := validateChange(seq, ops); err != nil {
		return false, fmt.Errorf("projection: apply %s seq %d: %w", projection, seq, err)
	}
	keys, args := r.scriptInput(projection, gen, seq, ops)
	n, err := r.script.Run(ctx, r.client, keys, args...).Int()
	switch {
	case err != nil:
		return false, fmt.Errorf("projection: apply %s seq %d: %w", projection, seq, r.fail(ctx, err))
	case n < 0:
		return false, fmt.Errorf("projection: apply %s seq %d: %w", projection, seq, ErrGenerationChanged)
	}
	return n == 1, nil
}

// ApplyBatch implements Store. It sends one script call per change inside a
// MULTI/EXEC transaction, in a single round trip. The transaction makes the
// EVALSHA fast path safe: if the script cache was flushed, every call of the
// batch fails with NOSCRIPT and none ran, so the batch is sent again with
// EVAL, which also caches the script for the next batches. Readers see
// either none or all of a batch.
func (r *Redis) ApplyBatch(ctx context.Context, projection, gen string, changes []Change) (int, error) {
	if err := validateBatch(projection, changes); err != nil {
		return 0, fmt.Errorf("projection: apply batch: %w", err)
	}
	if len(changes) == 0 {
		return 0, nil
	}
	calls := make([]scriptCall, len(changes))
	for i, c := range changes {
		calls[i].keys, calls[i].args = r.scriptInput(projection, gen, c.Seq, c.Ops)
	}
	applied, err := r.runBatch(ctx, calls, true)
	if isNoScript(err) {
		applied, err = r.runBatch(ctx, calls, false)
	}
	if err != nil {
		if !errors.Is(err, ErrGenerationChanged) {
			err = r.fail(ctx, err)
		}
		return applied, fmt.Errorf("projection: apply batch %s (seq %d to %d): %w",
			projection, changes[0].Seq, changes[len(changes)-1].Seq, err)
	}
	return applied, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, projection, key string) ([]byte, error) {
	if err := validateName(projection); err != nil {
		return nil, fmt.Errorf("projection: get: %w", err)
	}
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("projection: get %s: %w", projection, err)
	}
	v, err := r.client.Get(ctx, r.valueKey(projection, key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("projection: get %s %q: %w", projection, key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("projection: get %s %q: %w", projection, key, r.fail(ctx, err))
	}
	return v, nil
}

// GetMany implements Store with one MGET.
func (r *Redis) GetMany(ctx context.Context, projection string, keys []string) ([][]byte, error) {
	if err := validateName(projection); err != nil {
		return nil, fmt.Errorf("projection: get many: %w", err)
	}
	redisKeys := make([]string, len(keys))
	for i, k := range keys {
		if err := validateKey(k); err != nil {
			return nil, fmt.Errorf("projection: get many %s: key %d: %w", projection, i, err)
		}
		redisKeys[i] = r.valueKey(projection, k)
	}
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := r.client.MGet(ctx, redisKeys...).Result()
	if err != nil {
		return nil, fmt.Errorf("projection: get many %s: %w", projection, r.fail(ctx, err))
	}
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
		case string:
			out[i] = []byte(v)
		default:
			return nil, fmt.Errorf("projection: get many %s: unexpected %T reply for key %q", projection, v, keys[i])
		}
	}
	return out, nil
}

// Range implements Store with ZRANGE BYLEX (the non-deprecated form of
// ZRANGEBYLEX). The prefix upper bound is the exclusive successor of the
// prefix (see prefixEnd), so no escaping is needed and members containing
// 0xff bytes are handled exactly.
func (r *Redis) Range(ctx context.Context, projection, index string, q RangeQuery) ([]string, error) {
	if err := validateName(projection); err != nil {
		return nil, fmt.Errorf("projection: range: %w", err)
	}
	if err := validateIndex(index); err != nil {
		return nil, fmt.Errorf("projection: range %s: %w", projection, err)
	}
	start, stop := lexBounds(q.Prefix, q.After)
	members, err := r.client.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key:   r.indexKey(projection, index),
		Start: start,
		Stop:  stop,
		ByLex: true,
		Count: int64(rangeLimit(q.Limit)),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("projection: range %s %q: %w", projection, index, r.fail(ctx, err))
	}
	return members, nil
}

// Count implements Store with ZCARD.
func (r *Redis) Count(ctx context.Context, projection, index string) (int64, error) {
	if err := validateName(projection); err != nil {
		return 0, fmt.Errorf("projection: count: %w", err)
	}
	if err := validateIndex(index); err != nil {
		return 0, fmt.Errorf("projection: count %s: %w", projection, err)
	}
	n, err := r.client.ZCard(ctx, r.indexKey(projection, index)).Result()
	if err != nil {
		return 0, fmt.Errorf("projection: count %s %q: %w", projection, index, r.fail(ctx, err))
	}
	return n, nil
}

// Reset implements Store. It deletes the generation and the checkpoint
// first, so that writers of the old generation stop at once and an
// interrupted Reset leaves a projection that rebuilds from the start rather
// than one that looks up to date with missing data, then SCANs the
// projection's keys and UNLINKs them in batches.
func (r *Redis) Reset(ctx context.Context, projection string) error {
	if err := validateName(projection); err != nil {
		return fmt.Errorf("projection: reset: %w", err)
	}
	if err := r.client.Unlink(ctx, r.generationKey(projection), r.checkpointKey(projection)).Err(); err != nil {
		return fmt.Errorf("projection: reset %s: unlink checkpoint: %w", projection, r.fail(ctx, err))
	}
	pattern := globEscape(r.projectionPrefix(projection)) + "*"
	iter := r.client.Scan(ctx, 0, pattern, resetScanCount).Iterator()
	batch := make([]string, 0, resetScanCount)
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == resetScanCount {
			if err := r.client.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("projection: reset %s: unlink: %w", projection, err)
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("projection: reset %s: scan: %w", projection, err)
	}
	if len(batch) > 0 {
		if err := r.client.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("projection: reset %s: unlink: %w", projection, err)
		}
	}
	return nil
}

// Close stops the metrics and closes the connection pool. Calls after the
// first return nil.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		close(r.stopMetrics)
		if err := r.client.Close(); err != nil {
			r.closeErr = fmt.Errorf("projection: redis: close: %w", err)
		}
	})
	return r.closeErr
}

// scriptCall is the input of one apply script call.
type scriptCall struct {
	keys []string
	args []any
}

// runBatch sends calls in one MULTI/EXEC transaction, with EVALSHA when
// cached is true and EVAL otherwise, and counts the calls that applied.
func (r *Redis) runBatch(ctx context.Context, calls []scriptCall, cached bool) (int, error) {
	cmds := make([]*redis.Cmd, len(calls))
	_, err := r.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, c := range calls {
			if cached {
				cmds[i] = r.script.EvalSha(ctx, pipe, c.keys, c.args...)
			} else {
				cmds[i] = r.script.Eval(ctx, pipe, c.keys, c.args...)
			}
		}
		return nil
	})
	applied := 0
	for _, cmd := range cmds {
		n, cmdErr := cmd.Int()
		switch {
		case cmdErr == nil && n == 1:
			applied++
		case cmdErr == nil && n < 0 && err == nil:
			// One transaction: every call saw the same generation.
			err = ErrGenerationChanged
		}
	}
	return applied, err
}

// scriptInput builds the KEYS and ARGV of the apply script for validated
// input.
func (r *Redis) scriptInput(projection, gen string, seq uint64, ops []Op) ([]string, []any) {
	keys := make([]string, 2, 2+len(ops))
	keys[0], keys[1] = r.checkpointKey(projection), r.generationKey(projection)
	args := make([]any, 2, 2+2*len(ops))
	args[0], args[1] = strconv.FormatUint(seq, 10), gen
	for _, op := range ops {
		switch op.kind {
		case opPut:
			keys = append(keys, r.valueKey(projection, op.target))
			args = append(args, opCodes[op.kind], op.value)
		case opDelete:
			keys = append(keys, r.valueKey(projection, op.target))
			args = append(args, opCodes[op.kind], "")
		default:
			keys = append(keys, r.indexKey(projection, op.target))
			args = append(args, opCodes[op.kind], op.member)
		}
	}
	return keys, args
}

// projectionPrefix returns the prefix of every key of a projection, hash tag
// included.
func (r *Redis) projectionPrefix(projection string) string {
	return r.prefix + "{" + projection + "}:"
}

// checkpointKey returns the key holding a projection's checkpoint.
func (r *Redis) checkpointKey(projection string) string {
	return r.projectionPrefix(projection) + "cp"
}

// generationKey returns the key holding a projection's generation.
func (r *Redis) generationKey(projection string) string {
	return r.projectionPrefix(projection) + "gen"
}

// valueKey returns the key holding one value of a projection.
func (r *Redis) valueKey(projection, key string) string {
	return r.projectionPrefix(projection) + "k:" + key
}

// indexKey returns the key holding one index of a projection.
func (r *Redis) indexKey(projection, index string) string {
	return r.projectionPrefix(projection) + "i:" + index
}

// lexBounds returns the ZRANGE BYLEX bounds selecting the members that start
// with prefix and are greater than after.
func lexBounds(prefix, after string) (start, stop string) {
	switch {
	case after != "" && after >= prefix:
		start = "(" + after
	case prefix != "":
		start = "[" + prefix
	default:
		start = "-"
	}
	stop = "+"
	if end, ok := prefixEnd(prefix); ok {
		stop = "(" + end
	}
	return start, stop
}

// globEscape escapes the glob metacharacters of s for a SCAN MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isNoScript reports whether err means the server does not have the script
// cached.
func isNoScript(err error) bool {
	return errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")
}

// fail classifies an error of the Redis client: the server or the network
// failing is apperr.Unavailable (the caller may retry); the caller's own
// deadline or cancellation, and replies refusing a command, pass unchanged.
func (r *Redis) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if re, ok := errors.AsType[redis.Error](err); ok {
		// Replies a retry can outlive: loading a dump, a busy script, a
		// failover, and out of memory under maxmemory-policy noeviction.
		for _, transient := range []string{"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "OOM"} {
			if strings.HasPrefix(re.Error(), transient) {
				return apperr.Unavailable("the read-model store is not ready: retry shortly").WithCause(err)
			}
		}
		return err
	}
	return apperr.Unavailable("the read-model store is unreachable: retry shortly").WithCause(err)
}

package natsx_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
)

// table is a permission table of two services: intake follows PATHWAY
// with one durable consumer, pathway follows INTAKE with one.
var table = natsx.Identities([]natsx.ServiceWiring{
	{Name: "intake", Consumers: []natsx.ConsumerRef{{Stream: "PATHWAY", Name: "intake-pathways"}}},
	{Name: "pathway", Consumers: []natsx.ConsumerRef{{Stream: "INTAKE", Name: "pathway-learners"}}},
})

var testStreams = []natsx.StreamSpec{
	{Name: "INTAKE", Subjects: []string{"avenir.intake.>"}, MaxBytes: 1 << 20},
	{Name: "PATHWAY", Subjects: []string{"avenir.pathway.>"}, MaxBytes: 1 << 20},
	{Name: "AVENIR_DLQ", Subjects: []string{natsx.DLQSubjects}, MaxBytes: 1 << 20},
	{Name: natsx.KeysStream, Subjects: []string{"avenir.keys.>"}, MaxBytes: 1 << 20, AllowMsgDelete: true},
}

// violations records the asynchronous errors of a connection: a denied
// publication is reported that way (the message is dropped).
type violations struct {
	mu   sync.Mutex
	errs []error
}

func (v *violations) option() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.errs = append(v.errs, err)
	})
}

// denied waits for a permission violation on subject.
func (v *violations) denied(subject string) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		v.mu.Lock()
		found := slices.ContainsFunc(v.errs, func(err error) bool {
			return errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`)
		})
		v.mu.Unlock()
		if found {
			return true
		}
	}
	return false
}

// start runs a server accepting only the table's identities, the streams
// created by admin.
func start(t *testing.T) (*natstest.Secured, jetstream.JetStream) {
	t.Helper()
	srv := natstest.StartSecured(t, table)
	admin := srv.JetStreamAs(t, natsx.IdentityAdmin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, spec := range testStreams {
		if _, change, err := natsx.EnsureStreamChange(ctx, admin, spec, natsx.Topology{}); err != nil || change != natsx.StreamCreated {
			t.Fatalf("admin creates %s: %v %v", spec.Name, change, err)
		}
	}
	return srv, admin
}

// connAs connects as identity, recording its permission violations.
func connAs(t *testing.T, srv *natstest.Secured, identity string) (*nats.Conn, jetstream.JetStream, *violations) {
	t.Helper()
	v := &violations{}
	nc := srv.ConnAs(t, identity, v.option())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, v
}

// short is the deadline of a request expected to be denied: the server
// drops it, so it goes unanswered (the violation is what the tests check).
func short(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func msgs(t *testing.T, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	st, err := js.Stream(ctx10(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.Msgs
}

func TestUnauthenticatedAndUnknownClientsAreRefused(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	if nc, err := nats.Connect(srv.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("a client without credentials was accepted")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("refused with %v, want an authorization violation", err)
	}
	// A seed the server does not know.
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	path := filepath.Join(t.TempDir(), "stranger.nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	nk, err := natsx.NKeyOption(path)
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(srv.ClientURL(), nk); err == nil {
		nc.Close()
		t.Fatal("an unknown NKey was accepted")
	}
	// A user and password (no such user: only NKeys are accepted).
	if nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("intake", "intake")); err == nil {
		nc.Close()
		t.Fatal("a user and password were accepted")
	}
}

func TestAServiceWritesOnlyItsOwnContext(t *testing.T) {
	t.Parallel()
	srv, admin := start(t)
	pathway, pjs, v := connAs(t, srv, "pathway")

	// A forged intake event: refused, and INTAKE holds nothing.
	forged := nats.NewMsg("avenir.intake.learner.x.registered")
	forged.Header.Set("avenir-actor", "admin:attacker")
	if err := pathway.PublishMsg(forged); err != nil {
		t.Fatal(err)
	}
	if !v.denied("avenir.intake.learner.x.registered") {
		t.Error("pathway published on avenir.intake.learner.x.registered")
	}
	if _, err := pjs.PublishMsg(short(t), forged); err == nil {
		t.Error("pathway appended to INTAKE")
	}
	if n := msgs(t, admin, "INTAKE"); n != 0 {
		t.Errorf("INTAKE holds %d messages after pathway's forgeries", n)
	}

	// Its own events and dead letters: accepted.
	if _, err := pjs.Publish(ctx10(t), "avenir.pathway.pathway.p1.entered", []byte("x")); err != nil {
		t.Errorf("pathway appends its own event: %v", err)
	}
	if _, err := pjs.Publish(ctx10(t), "avenir.dlq.pathway-learners", []byte("x")); err != nil {
		t.Errorf("pathway writes a dead letter: %v", err)
	}

	// Stream administration: update, create, delete, purge, delete a message.
	cfg, _ := testStreams[0].Config(natsx.Topology{})
	cfg.Description = "edited by pathway"
	if _, err := pjs.UpdateStream(short(t), cfg); err == nil || !v.denied("$JS.API.STREAM.UPDATE.INTAKE") {
		t.Errorf("pathway updated INTAKE: %v", err)
	}
	if st, err := admin.Stream(ctx10(t), "INTAKE"); err != nil || st.CachedInfo().Config.Description != "" {
		t.Errorf("INTAKE after pathway's update: %+v %v", st.CachedInfo().Config, err)
	}
	if _, err := pjs.CreateStream(short(t), jetstream.StreamConfig{Name: "FORGED", Subjects: []string{"forged.>"}}); err == nil ||
		!v.denied("$JS.API.STREAM.CREATE.FORGED") {
		t.Errorf("pathway created a stream: %v", err)
	}
	if _, err := admin.Stream(ctx10(t), "FORGED"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("stream FORGED: %v", err)
	}
	st, err := pjs.Stream(ctx10(t), "PATHWAY")
	if err != nil {
		t.Fatalf("pathway reads its stream's info: %v", err)
	}
	if err := st.DeleteMsg(short(t), 1); err == nil || !v.denied("$JS.API.STREAM.MSG.DELETE.PATHWAY") {
		t.Errorf("pathway deleted a message of PATHWAY: %v", err)
	}
	if err := st.Purge(short(t)); err == nil || !v.denied("$JS.API.STREAM.PURGE.PATHWAY") {
		t.Errorf("pathway purged PATHWAY: %v", err)
	}
	if err := pjs.DeleteStream(short(t), "PATHWAY"); err == nil || !v.denied("$JS.API.STREAM.DELETE.PATHWAY") {
		t.Errorf("pathway deleted PATHWAY: %v", err)
	}
	if n := msgs(t, admin, "PATHWAY"); n != 1 {
		t.Errorf("PATHWAY holds %d messages, want 1", n)
	}
}

func TestAServiceRunsItsConsumersAndReadsAnyStream(t *testing.T) {
	t.Parallel()
	srv, admin := start(t)
	_, intake, iv := connAs(t, srv, "intake")
	_, pathway, pv := connAs(t, srv, "pathway")

	// intake appends an atomic batch to INTAKE, as its event store does.
	var batch []*nats.Msg
	for _, ev := range []string{"registered", "contact_changed"} {
		m := nats.NewMsg("avenir.intake.learner.l1." + ev)
		m.Header.Set(jetstream.MsgIDHeader, "l1-"+ev)
		m.Data = []byte(ev)
		batch = append(batch, m)
	}
	batch[0].Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, "avenir.intake.learner.l1.>")
	batch[0].Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	ack, err := jetstreamext.PublishMsgBatch(ctx10(t), intake, batch)
	if err != nil {
		t.Fatalf("intake appends an atomic batch: %v", err)
	}
	if ack.BatchSize != 2 || msgs(t, admin, "INTAKE") != 2 {
		t.Fatalf("batch ack %+v, INTAKE holds %d", ack, msgs(t, admin, "INTAKE"))
	}
	// Loading an aggregate: a batched direct get, as the event store does.
	got, err := jetstreamext.GetBatch(ctx10(t), pathway, "INTAKE", 10, jetstreamext.GetBatchSubject("avenir.intake.learner.l1.>"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range got {
		if err != nil {
			t.Fatalf("pathway direct-gets INTAKE: %v", err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("pathway read %d events of l1", n)
	}
	st, err := pathway.Stream(ctx10(t), "INTAKE")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.GetLastMsgForSubject(ctx10(t), "avenir.intake.learner.l1.registered"); err != nil || string(m.Data) != "registered" {
		t.Fatalf("pathway's last-message direct get: %v %v", m, err)
	}

	// pathway creates its durable consumer on INTAKE, fetches and acks.
	cons, err := pathway.CreateOrUpdateConsumer(ctx10(t), "INTAKE", jetstream.ConsumerConfig{
		Durable: "pathway-learners", AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{"avenir.intake.learner.*.registered"},
	})
	if err != nil {
		t.Fatalf("pathway creates its consumer: %v", err)
	}
	fetched, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for m := range fetched.Messages() {
		n++
		if err := m.DoubleAck(ctx10(t)); err != nil {
			t.Fatalf("pathway acks: %v", err)
		}
	}
	if err := fetched.Error(); err != nil || n != 1 {
		t.Fatalf("pathway fetched %d: %v", n, err)
	}
	if info, err := cons.Info(ctx10(t)); err != nil || info.AckFloor.Stream != 1 {
		t.Fatalf("consumer info %+v %v", info, err)
	}
	// A single filter subject goes in the request's subject.
	if _, err := pathway.UpdateConsumer(ctx10(t), "INTAKE", jetstream.ConsumerConfig{
		Durable: "pathway-learners", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "avenir.intake.learner.*.registered",
	}); err != nil {
		t.Fatalf("pathway updates its consumer: %v", err)
	}

	// Another service's consumer, or a name of its own choosing: refused.
	if _, err := intake.CreateOrUpdateConsumer(short(t), "INTAKE", jetstream.ConsumerConfig{Durable: "pathway-learners", AckPolicy: jetstream.AckExplicitPolicy}); err == nil ||
		!iv.denied("$JS.API.CONSUMER.CREATE.INTAKE.pathway-learners") {
		t.Errorf("intake created or updated pathway's consumer: %v", err)
	}
	if err := intake.DeleteConsumer(short(t), "INTAKE", "pathway-learners"); err == nil || !iv.denied("$JS.API.CONSUMER.DELETE.INTAKE.pathway-learners") {
		t.Errorf("intake deleted pathway's consumer: %v", err)
	}
	if _, err := pathway.CreateOrUpdateConsumer(short(t), "INTAKE", jetstream.ConsumerConfig{Durable: "anything", AckPolicy: jetstream.AckExplicitPolicy}); err == nil ||
		!pv.denied("$JS.API.CONSUMER.CREATE.INTAKE.anything") {
		t.Errorf("pathway created a consumer it does not declare: %v", err)
	}
	if err := pathway.DeleteConsumer(ctx10(t), "INTAKE", "pathway-learners"); err != nil {
		t.Errorf("pathway deletes its own consumer: %v", err)
	}
}

func TestTheKeyStoreRules(t *testing.T) {
	t.Parallel()
	srv, admin := start(t)
	pathwayNC, pathway, v := connAs(t, srv, "pathway")
	_, intake, iv := connAs(t, srv, "intake")

	// Every service creates data keys.
	for i, js := range []jetstream.JetStream{intake, pathway} {
		if _, err := js.Publish(ctx10(t), "avenir.keys.data.learner.k"+string(rune('0'+i)), []byte("wrapped")); err != nil {
			t.Errorf("a service creates a data key: %v", err)
		}
	}
	// Only intake erases: tombstones, claims, deletion.
	for _, subj := range []string{"avenir.keys.erased.learner.l1", "avenir.keys.claim.identity.0123"} {
		if err := pathwayNC.Publish(subj, nil); err != nil {
			t.Fatal(err)
		}
		if !v.denied(subj) {
			t.Errorf("pathway published on %s", subj)
		}
		if _, err := intake.Publish(ctx10(t), subj, nil); err != nil {
			t.Errorf("intake publishes on %s: %v", subj, err)
		}
	}
	keys, err := pathway.Stream(ctx10(t), natsx.KeysStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.SecureDeleteMsg(short(t), 1); err == nil || !v.denied("$JS.API.STREAM.MSG.DELETE."+natsx.KeysStream) {
		t.Errorf("pathway deleted a key: %v", err)
	}
	ikeys, err := intake.Stream(ctx10(t), natsx.KeysStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := ikeys.SecureDeleteMsg(ctx10(t), 1); err != nil {
		t.Errorf("intake deletes a key: %v", err)
	}
	if n := msgs(t, admin, natsx.KeysStream); n != 3 {
		t.Errorf("%s holds %d messages, want 3", natsx.KeysStream, n)
	}
	// intake deletes no message of another stream.
	if _, err := intake.Publish(ctx10(t), "avenir.intake.learner.l2.registered", nil); err != nil {
		t.Fatal(err)
	}
	ist, err := intake.Stream(ctx10(t), "INTAKE")
	if err != nil {
		t.Fatal(err)
	}
	if err := ist.DeleteMsg(short(t), 1); err == nil || !iv.denied("$JS.API.STREAM.MSG.DELETE.INTAKE") {
		t.Errorf("intake deleted an event: %v", err)
	}
	// Every service watches erasures with an ordered consumer.
	oc, err := pathway.OrderedConsumer(ctx10(t), natsx.KeysStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"avenir.keys.erased.>"}})
	if err != nil {
		t.Fatalf("pathway watches erasures: %v", err)
	}
	m, err := oc.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil || m.Subject() != "avenir.keys.erased.learner.l1" {
		t.Fatalf("erasure watch: %v %v", m, err)
	}
}

func TestAdminAdministersStreamsAndOpsDoesAnything(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	adminNC, admin, v := connAs(t, srv, natsx.IdentityAdmin)

	// admin updates a stream (an unchanged one is left alone)...
	spec := testStreams[0]
	if _, change, err := natsx.EnsureStreamChange(ctx10(t), admin, spec, natsx.Topology{}); err != nil || change != natsx.StreamUnchanged {
		t.Fatalf("ensure an unchanged stream: %v %v", change, err)
	}
	spec.MaxBytes = 2 << 20
	if _, change, err := natsx.EnsureStreamChange(ctx10(t), admin, spec, natsx.Topology{}); err != nil || change != natsx.StreamUpdated {
		t.Fatalf("admin updates INTAKE: %v %v", change, err)
	}
	// ... but publishes no event, and destroys nothing.
	if err := adminNC.Publish("avenir.intake.learner.x.registered", nil); err != nil {
		t.Fatal(err)
	}
	if !v.denied("avenir.intake.learner.x.registered") {
		t.Error("admin published an event")
	}
	if err := admin.DeleteStream(short(t), "INTAKE"); err == nil || !v.denied("$JS.API.STREAM.DELETE.INTAKE") {
		t.Errorf("admin deleted a stream: %v", err)
	}

	// ops: everything in the account.
	ops := srv.JetStreamAs(t, natsx.IdentityOps)
	if _, err := ops.Publish(ctx10(t), "avenir.pathway.pathway.p.entered", nil); err != nil {
		t.Errorf("ops publishes: %v", err)
	}
	if _, err := ops.CreateStream(ctx10(t), jetstream.StreamConfig{Name: "SCRATCH", Subjects: []string{"scratch.>"}}); err != nil {
		t.Errorf("ops creates a stream: %v", err)
	}
	if err := ops.DeleteStream(ctx10(t), "SCRATCH"); err != nil {
		t.Errorf("ops deletes a stream: %v", err)
	}
}

// A service identity waits for its streams: they appear when admin
// creates them.
func TestWaitForStreams(t *testing.T) {
	t.Parallel()
	srv := natstest.StartSecured(t, table)
	pathway := srv.JetStreamAs(t, "pathway")
	admin := srv.JetStreamAs(t, natsx.IdentityAdmin)
	var mu sync.Mutex
	var waited [][]string
	done := make(chan error, 1)
	go func() {
		done <- natsx.WaitForStreams(ctx10(t), pathway, []string{"INTAKE", "PATHWAY"}, func(missing []string) {
			mu.Lock()
			waited = append(waited, missing)
			mu.Unlock()
		})
	}()
	for _, spec := range testStreams[:2] {
		time.Sleep(150 * time.Millisecond)
		if _, err := natsx.EnsureStream(ctx10(t), admin, spec, natsx.Topology{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waited) == 0 || !slices.Equal(waited[0], []string{"INTAKE", "PATHWAY"}) {
		t.Fatalf("waited for %v", waited)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := natsx.WaitForStreams(ctx, pathway, []string{"NEVER"}, nil); err == nil || !strings.Contains(err.Error(), "avenir streams ensure") {
		t.Fatalf("waiting for a stream nobody creates: %v", err)
	}
}

func TestNKeysAreCreatedOnceAndKeptPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ids")
	first, err := natsx.LoadOrCreateNKeys(dir, []string{"intake", "admin"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := natsx.LoadOrCreateNKeys(dir, []string{"intake", "admin"})
	if err != nil || again["intake"] != first["intake"] || again["admin"] != first["admin"] || first["intake"] == first["admin"] {
		t.Fatalf("keys %v then %v (%v)", first, again, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir %v %v", fi.Mode(), err)
	}
	path := natsx.NKeyFile(dir, "intake")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file %v %v", fi.Mode(), err)
	}
	if !nkeys.IsValidPublicUserKey(first["intake"]) {
		t.Fatalf("public key %q", first["intake"])
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.LoadOrCreateNKeys(dir, []string{"intake"}); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a seed readable by others: %v", err)
	}
}

// The accounts RenderAccounts writes load in nats-server with the table's
// permissions.
func TestRenderAccountsLoadsWithTheTablesPermissions(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "avenir.conf")
	body := "listen: 127.0.0.1:-1\n" + natsx.GeneratedBegin + "\n" + natsx.RenderAccounts(table) + natsx.GeneratedEnd + "\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range table {
		t.Setenv(natsx.PasswordVariable(id.Name), "pw-"+id.Name)
	}
	t.Setenv("SYS_PASSWORD", "pw-sys")
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	for _, id := range table {
		u := users[id.Name]
		if u == nil || u.Password != "pw-"+id.Name || u.Account == nil || u.Account.Name != natsx.Account {
			t.Fatalf("user %s: %+v", id.Name, u)
		}
		want := id.ServerPermissions()
		switch {
		case want == nil && u.Permissions != nil:
			t.Errorf("%s: permissions %+v, want none", id.Name, u.Permissions)
		case want != nil && (u.Permissions == nil || !slices.Equal(u.Permissions.Publish.Allow, want.Publish.Allow) ||
			!slices.Equal(u.Permissions.Publish.Deny, want.Publish.Deny) || !slices.Equal(u.Permissions.Subscribe.Allow, want.Subscribe.Allow)):
			t.Errorf("%s: permissions %+v, want %+v", id.Name, u.Permissions, want)
		}
	}
	if opts.SystemAccount != natsx.SystemAccount {
		t.Errorf("system account %q", opts.SystemAccount)
	}
	replaced, err := natsx.ReplaceGenerated("a\n"+natsx.GeneratedBegin+" (x)\nold\n"+natsx.GeneratedEnd+"\nb\n", "new\n")
	if err != nil || replaced != "a\n"+natsx.GeneratedBegin+" (x)\nnew\n"+natsx.GeneratedEnd+"\nb\n" {
		t.Fatalf("replace: %q %v", replaced, err)
	}
}

// The streams of a data dir written before the server required
// authentication are found again by its identities (same account).
func TestIdentitiesFindTheStreamsWrittenWithoutAuthentication(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := natstest.StartDir(t, dir)
	if _, err := natsx.EnsureStream(ctx10(t), open.JetStream(t), testStreams[0], natsx.Topology{}); err != nil {
		t.Fatal(err)
	}
	open.Shutdown()

	keysDir := filepath.Join(t.TempDir(), natsx.IdentitiesDir)
	keys, err := natsx.LoadOrCreateNKeys(keysDir, natsx.IdentityNames(table))
	if err != nil {
		t.Fatal(err)
	}
	var users []natsx.User
	for _, id := range table {
		users = append(users, natsx.User{Identity: id, NKey: keys[id.Name]})
	}
	secured, err := natsx.StartEmbedded(natsx.EmbeddedOptions{DataDir: dir, Listen: "127.0.0.1:0", Users: users, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(secured.Shutdown)
	nk, err := natsx.NKeyOption(natsx.NKeyFile(keysDir, "pathway"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := secured.Connect("pathway", nk)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Stream(ctx10(t), "INTAKE"); err != nil {
		t.Fatalf("the stream written without authentication: %v", err)
	}
}

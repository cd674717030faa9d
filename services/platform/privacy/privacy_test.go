package privacy_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

// keyStore starts a server with the key store's stream.
func keyStore(tb testing.TB) (*natstest.Server, jetstream.JetStream) {
	tb.Helper()
	srv := natstest.Start(tb)
	js := srv.JetStream(tb)
	if _, err := natsx.EnsureStream(context.Background(), js, privacy.StreamSpec(), natsx.Topology{Replicas: 1}); err != nil {
		tb.Fatal(err)
	}
	return srv, js
}

// keyring opens a Keyring on js with master m, as one process would.
func keyring(tb testing.TB, js jetstream.JetStream, m privacy.MasterKey) *privacy.Keyring {
	tb.Helper()
	k, err := privacy.New(js, privacy.Options{Master: m, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(k.Close)
	return k
}

func masterKey(tb testing.TB) privacy.MasterKey {
	tb.Helper()
	m, err := privacy.GenerateMasterKey()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

var ctx = context.Background()

func TestSealOpenRoundTrip(t *testing.T) {
	srv, js := keyStore(t)
	m := masterKey(t)
	k := keyring(t, js, m)
	plain := []byte("Dupont-Distinctif, Jeanne, 1970-01-02")
	s, err := k.Seal(ctx, privacy.LearnerKey("l1"), plain, []byte("avenir.test.v1.Person"))
	if err != nil {
		t.Fatal(err)
	}
	if s.GetKeyId() != "learner.l1" || bytes.Contains(s.GetCiphertext(), plain) || len(s.GetCiphertext()) != 12+len(plain)+16 {
		t.Fatalf("sealed %v", s)
	}
	got, err := k.Open(ctx, s, []byte("avenir.test.v1.Person"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open = %q, %v", got, err)
	}
	again, err := k.Seal(ctx, "learner.l1", plain, nil)
	if err != nil || bytes.Equal(again.GetCiphertext()[:12], s.GetCiphertext()[:12]) {
		t.Fatalf("a second sealing reuses the nonce or fails: %v", err)
	}

	for name, tc := range map[string]struct {
		s   *commonv1.Sealed
		aad string
	}{
		"wrong aad":         {s, "avenir.test.v1.Other"},
		"other key id":      {&commonv1.Sealed{KeyId: "learner.l2", Ciphertext: s.GetCiphertext()}, "avenir.test.v1.Person"},
		"altered":           {&commonv1.Sealed{KeyId: "learner.l1", Ciphertext: flip(s.GetCiphertext(), 20)}, "avenir.test.v1.Person"},
		"short":             {&commonv1.Sealed{KeyId: "learner.l1", Ciphertext: s.GetCiphertext()[:10]}, "avenir.test.v1.Person"},
		"invalid key id":    {&commonv1.Sealed{KeyId: "learner.L1", Ciphertext: s.GetCiphertext()}, "avenir.test.v1.Person"},
		"subject injection": {&commonv1.Sealed{KeyId: "learner.l1.>", Ciphertext: s.GetCiphertext()}, "avenir.test.v1.Person"},
	} {
		if name == "other key id" {
			if _, err := k.Seal(ctx, "learner.l2", []byte("x"), nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := k.Open(ctx, tc.s, []byte(tc.aad)); err == nil || errors.Is(err, privacy.ErrErased) {
			t.Errorf("%s: open gave %v, want a failure other than erasure", name, err)
		}
	}

	// Another process with the same master key opens it; one with another
	// master key cannot, and says why.
	k2 := keyring(t, js, m)
	if got, err := k2.Open(ctx, s, []byte("avenir.test.v1.Person")); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("second keyring: open = %q, %v", got, err)
	}
	k3 := keyring(t, js, masterKey(t))
	if _, err := k3.Open(ctx, s, []byte("avenir.test.v1.Person")); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("another master key: %v", err)
	}
	// A key missing without a tombstone is not an erasure.
	if _, err := k.Open(ctx, &commonv1.Sealed{KeyId: "learner.never", Ciphertext: s.GetCiphertext()}, nil); err == nil || errors.Is(err, privacy.ErrErased) {
		t.Fatalf("missing key: %v", err)
	}
	_ = srv
}

func TestTheStreamMayComeAfterTheKeyring(t *testing.T) {
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	k := keyring(t, js, masterKey(t))
	if _, err := k.Seal(ctx, "learner.l1", []byte("x"), nil); apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("seal before the key store exists: %v", err)
	}
	if _, err := natsx.EnsureStream(ctx, js, privacy.StreamSpec(), natsx.Topology{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := k.Seal(ctx, "learner.l1", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(ctx, s, nil); err != nil || string(got) != "x" {
		t.Fatalf("open: %q %v", got, err)
	}
	k.Close()
	k.Close() // closing twice is fine
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestKeyIDsAreValidated(t *testing.T) {
	_, js := keyStore(t)
	k := keyring(t, js, masterKey(t))
	for _, id := range []string{"", "learner.", "learner.A", "learner.a.b", "learner.a b", "learner.*", "learner.>", "other.x", "scheme.other", "learner"} {
		if _, err := k.Seal(ctx, id, []byte("x"), nil); err == nil {
			t.Errorf("Seal accepted key id %q", id)
		}
		if err := k.Erase(ctx, id); err == nil {
			t.Errorf("Erase accepted key id %q", id)
		}
	}
	if err := k.Erase(ctx, privacy.HMACKey); err == nil {
		t.Error("the HMAC key was erased")
	}
	if _, err := k.Hash(ctx, "a.b", "x"); err == nil {
		t.Error("Hash accepted purpose a.b")
	}
	if _, err := k.Claim(ctx, "identity", "abc", "l1"); err == nil {
		t.Error("Claim accepted a hash that is not 64 hex characters")
	}
}

func TestEraseShredsTheKeyEverywhere(t *testing.T) {
	srv, js := keyStore(t)
	m := masterKey(t)
	k1, k2 := keyring(t, js, m), keyring(t, js, m)
	id := privacy.LearnerKey("0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89")
	s, err := k1.Seal(ctx, id, []byte("personal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Open(ctx, s, nil); err != nil { // k2 caches the key
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, privacy.Stream)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetLastMsgForSubject(ctx, "avenir.keys.data."+id)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Header.Get(privacy.HeaderMasterKey) != m.ID() || len(raw.Data) != 12+32+16 {
		t.Fatalf("stored data key: header %v, %d bytes", raw.Header, len(raw.Data))
	}
	wrapped := raw.Data
	if !onDisk(t, srv.Dir, wrapped) {
		t.Fatal("the wrapped key is not found on disk before erasure: the disk check cannot work")
	}

	if erased, err := k1.Erased(ctx, id); err != nil || erased {
		t.Fatalf("erased before erasure: %v %v", erased, err)
	}
	if err := k1.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := k1.Erase(ctx, id); err != nil {
		t.Fatalf("erasing again: %v", err)
	}
	if erased, err := k2.Erased(ctx, id); err != nil || !erased {
		t.Fatalf("Erased = %v, %v", erased, err)
	}
	if _, err := k1.Open(ctx, s, nil); !errors.Is(err, privacy.ErrErased) {
		t.Fatalf("open after erasure: %v", err)
	}
	if _, err := k1.Seal(ctx, id, []byte("more"), nil); !errors.Is(err, privacy.ErrErased) || apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("seal after erasure: %v", err)
	}
	// The other process learns of it through the tombstone watch.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := k2.Open(ctx, s, nil)
		if errors.Is(err, privacy.ErrErased) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second keyring still opens 2s after erasure: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := k2.Seal(ctx, id, []byte("more"), nil); !errors.Is(err, privacy.ErrErased) {
		t.Fatalf("second keyring seals after erasure: %v", err)
	}
	if !errors.Is(privacy.ErrErased, event.ErrErased) {
		t.Fatal("privacy.ErrErased is not what the event codec recognises")
	}

	// The key's message is gone from the stream and overwritten on disk.
	if _, err := st.GetMsg(ctx, raw.Sequence); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("the data key's message at %d: %v", raw.Sequence, err)
	}
	if onDisk(t, srv.Dir, wrapped) {
		t.Fatal("the wrapped key bytes are still on disk after erasure")
	}

	// A key never created can be erased, and is then never created.
	never := privacy.LearnerKey("never-sealed")
	if err := k1.Erase(ctx, never); err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Seal(ctx, never, []byte("x"), nil); !errors.Is(err, privacy.ErrErased) {
		t.Fatalf("seal with a key erased before creation: %v", err)
	}
}

// onDisk reports whether b appears in a file under dir.
func onDisk(t *testing.T, dir string, b []byte) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, b) {
			t.Logf("found in %s", path)
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestConcurrentCreationMakesOneKey(t *testing.T) {
	_, js := keyStore(t)
	m := masterKey(t)
	rings := []*privacy.Keyring{keyring(t, js, m), keyring(t, js, m)}
	id := privacy.LearnerKey("concurrent")
	sealed := make([]*commonv1.Sealed, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { sealed[i], errs[i] = rings[i%2].Seal(ctx, id, []byte{byte(i)}, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("seal %d: %v", i, err)
		}
	}
	for i, s := range sealed {
		for r, k := range rings {
			if got, err := k.Open(ctx, s, nil); err != nil || !bytes.Equal(got, []byte{byte(i)}) {
				t.Fatalf("keyring %d opening sealing %d: %q %v", r, i, got, err)
			}
		}
	}
	st, err := js.Stream(ctx, privacy.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("avenir.keys.data.>"))
	if err != nil {
		t.Fatal(err)
	}
	if n := info.State.Subjects["avenir.keys.data."+id]; n != 1 || len(info.State.Subjects) != 1 {
		t.Fatalf("data keys stored: %v", info.State.Subjects)
	}
}

func TestHash(t *testing.T) {
	_, js := keyStore(t)
	m := masterKey(t)
	k1, k2 := keyring(t, js, m), keyring(t, js, m)
	a, err := k1.Hash(ctx, "identity", "dupont\x00jeanne\x001970-01-02")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hex.DecodeString(a); err != nil || len(a) != 64 {
		t.Fatalf("hash %q", a)
	}
	b, err := k2.Hash(ctx, "identity", "dupont\x00jeanne\x001970-01-02")
	if err != nil || a != b {
		t.Fatalf("two processes hash differently: %s %s %v", a, b, err)
	}
	c, _ := k1.Hash(ctx, "france-travail", "dupont\x00jeanne\x001970-01-02")
	d, _ := k1.Hash(ctx, "identity", "dupont\x00jeanne\x001970-01-03")
	if c == a || d == a || c == "" || d == "" {
		t.Fatal("hashes do not depend on purpose and value")
	}
	// Another key store (another HMAC key) hashes differently: the hash is
	// keyed.
	_, js2 := keyStore(t)
	other, err := keyring(t, js2, m).Hash(ctx, "identity", "dupont\x00jeanne\x001970-01-02")
	if err != nil || other == a {
		t.Fatalf("hash not keyed: %v", err)
	}
}

func TestClaims(t *testing.T) {
	_, js := keyStore(t)
	k := keyring(t, js, masterKey(t))
	h, err := k.Hash(ctx, "identity", "dupont jeanne 1970-01-02")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := k.Holder(ctx, "identity", h); ok || err != nil {
		t.Fatalf("holder before any claim: %v %v", ok, err)
	}
	for _, tc := range []struct{ owner, want string }{{"a", "a"}, {"b", "a"}, {"a", "a"}} {
		if got, err := k.Claim(ctx, "identity", h, tc.owner); err != nil || got != tc.want {
			t.Fatalf("claim by %s: holder %q, %v; want %s", tc.owner, got, err, tc.want)
		}
	}
	holder := func() string {
		t.Helper()
		got, ok, err := k.Holder(ctx, "identity", h)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		return got
	}
	if err := k.Release(ctx, "identity", h, "b"); err != nil || holder() != "a" {
		t.Fatalf("release by a non-holder: %v, holder %q", err, holder())
	}
	if err := k.Reassign(ctx, "identity", h, "b", "c"); !errors.Is(err, privacy.ErrNotHolder) {
		t.Fatalf("reassign from a non-holder: %v", err)
	}
	if err := k.Reassign(ctx, "identity", h, "a", "c"); err != nil || holder() != "c" {
		t.Fatalf("reassign: %v, holder %q", err, holder())
	}
	if err := k.Reassign(ctx, "identity", h, "a", "c"); err != nil {
		t.Fatalf("reassign retried: %v", err)
	}
	st, err := js.Stream(ctx, privacy.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("avenir.keys.claim.>"))
	if err != nil {
		t.Fatal(err)
	}
	if n := info.State.Subjects["avenir.keys.claim.identity."+h]; n != 1 {
		t.Fatalf("messages on the claim after reassigning: %d, want 1 (the old one deleted)", n)
	}
	if err := k.Release(ctx, "identity", h, "c"); err != nil || holder() != "" {
		t.Fatalf("release: %v, holder %q", err, holder())
	}
	if err := k.Reassign(ctx, "identity", h, "c", "d"); !errors.Is(err, privacy.ErrNotHolder) {
		t.Fatalf("reassign a released claim: %v", err)
	}
	if got, err := k.Claim(ctx, "identity", h, "d"); err != nil || got != "d" {
		t.Fatalf("claim after release: %q %v", got, err)
	}
	// Claims of another purpose are another claim.
	if got, err := k.Claim(ctx, "france-travail", h, "e"); err != nil || got != "e" {
		t.Fatalf("claim for another purpose: %q %v", got, err)
	}
}

func TestMasterKeyFiles(t *testing.T) {
	dir := t.TempDir()
	keyHex := strings.Repeat("0123456789abcdef", 4)
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok.key", keyHex+"\n", 0o600)
	m, err := privacy.LoadMasterKeyFile(ok)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ID()) != 16 || strings.Contains(keyHex, m.ID()) {
		t.Fatalf("ID %q", m.ID())
	}
	fromEnv, err := privacy.ParseMasterKey(keyHex)
	if err != nil || fromEnv.ID() != m.ID() {
		t.Fatalf("the same key from the environment: %v", err)
	}
	if other, _ := privacy.ParseMasterKey(strings.Repeat("f", 64)); other == nil || other.ID() == m.ID() {
		t.Fatal("two keys, one ID")
	}
	wrapped, err := m.Wrap(ctx, "learner.x", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fromEnv.Unwrap(ctx, "learner.x", wrapped); err != nil || string(got) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := m.Unwrap(ctx, "learner.y", wrapped); err == nil {
		t.Fatal("a wrapped key unwraps under another key id")
	}

	for name, tc := range map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"group readable": {keyHex, 0o640, "chmod 600"},
		"world writable": {keyHex, 0o602, "chmod 600"},
		"short":          {keyHex[:62], 0o600, "64 hex"},
		"long":           {keyHex + "00", 0o600, "64 hex"},
		"not hex":        {"zz" + keyHex[2:], 0o600, "hex"},
	} {
		p := write(strings.ReplaceAll(name, " ", "-")+".key", tc.content, tc.mode)
		_, err := privacy.LoadMasterKeyFile(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), keyHex[2:20]) {
			t.Errorf("%s: the error quotes the key: %v", name, err)
		}
	}
	if _, err := privacy.LoadMasterKeyFile(filepath.Join(dir, "absent.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("absent file: %v", err)
	}
}

func TestDevMasterKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	m1, err := privacy.LoadOrCreateDevMasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, privacy.DevMasterKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev master key file: %v %v", fi, err)
	}
	m2, err := privacy.LoadOrCreateDevMasterKey(dir)
	if err != nil || m2.ID() != m1.ID() {
		t.Fatalf("the dev master key changed: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, privacy.DevMasterKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := privacy.LoadOrCreateDevMasterKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("readable dev master key: %v", err)
	}
	if other, err := privacy.LoadOrCreateDevMasterKey(t.TempDir()); err != nil || other.ID() == m1.ID() {
		t.Fatalf("two dev master keys alike: %v", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	_, js := keyStore(b)
	k := keyring(b, js, masterKey(b))
	plain := bytes.Repeat([]byte("x"), 200)
	aad := []byte("avenir.intake.v1.LearnerRegistered")
	if _, err := k.Seal(ctx, "learner.bench", plain, aad); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal(ctx, "learner.bench", plain, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	_, js := keyStore(b)
	k := keyring(b, js, masterKey(b))
	plain := bytes.Repeat([]byte("x"), 200)
	aad := []byte("avenir.intake.v1.LearnerRegistered")
	s, err := k.Seal(ctx, "learner.bench", plain, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(ctx, s, aad); err != nil {
			b.Fatal(err)
		}
	}
}

package auth_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

func TestLoadOrCreateDevKey(t *testing.T) {
	dir := t.TempDir()
	key, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, auth.DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("dev key file mode = %v, want 0600", perm)
	}

	again, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(again) {
		t.Error("second LoadOrCreateDevKey returned another key")
	}
	loaded, err := auth.LoadDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(loaded) {
		t.Error("LoadDevKey returned another key")
	}
}

func TestLoadDevKeyMissing(t *testing.T) {
	_, err := auth.LoadDevKey(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want one wrapping fs.ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), "avenir server --dev") {
		t.Errorf("error %q does not tell how to create the key", err)
	}
}

func TestLoadDevKeyCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, auth.DevKeyFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadOrCreateDevKey(dir); err == nil || !strings.Contains(err.Error(), "not a PEM private key") {
		t.Errorf("error = %v, want a corrupt key file reported", err)
	}
}

func TestMintStaticVerifierRoundTrip(t *testing.T) {
	key, err := auth.LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	want := auth.Principal{
		Subject: "dev-referent", Name: "Dev Referent", Role: auth.RoleReferent,
		ReferentID: "ref-1", Territories: []string{"T14"}, Coordinator: true,
	}
	token, err := auth.Mint(key, auth.DevClaims(want, time.Hour, now))
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewStaticVerifier(auth.DevIssuer, auth.DefaultAudience, nil, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != want.Subject || got.Name != want.Name || got.Role != want.Role ||
		got.ReferentID != want.ReferentID || !slices.Equal(got.Territories, want.Territories) || got.Coordinator != want.Coordinator {
		t.Errorf("principal = %+v, want %+v", got, want)
	}

	expired, err := auth.Mint(key, auth.DevClaims(want, time.Hour, now.Add(-3*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), expired)
	refused(t, p, err, expired, "expired")
}

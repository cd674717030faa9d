package natsx

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// IdentitiesDir is the directory, under the data dir of `avenir server
// --dev`, holding one NKey seed file per NATS identity.
const IdentitiesDir = "nats-identities"

// NKeyFile is the seed file of identity in dir: what `nats --nkey` and
// `avenir ... --nats-nkey` take.
func NKeyFile(dir, identity string) string {
	return filepath.Join(dir, identity+".nk")
}

// LoadOrCreateNKeys returns the public NKey of each named identity, read
// from its seed file in dir, or generated and written there (the directory
// mode 0700, each file 0600) when it has none yet. A seed file readable by
// others than its owner is refused.
func LoadOrCreateNKeys(dir string, names []string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("natsx: identities dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("natsx: identities dir: %w", err)
	}
	keys := make(map[string]string, len(names))
	for _, name := range names {
		kp, err := loadOrCreateNKey(NKeyFile(dir, name))
		if err != nil {
			return nil, err
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("natsx: identity %s: %w", name, err)
		}
		keys[name] = pub
	}
	return keys, nil
}

func loadOrCreateNKey(path string) (nkeys.KeyPair, error) {
	kp, err := readNKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return kp, err
	}
	kp, err = nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("natsx: new nkey: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, err
	}
	// Write a complete file aside, then link it into place: a process
	// starting at the same time either wins the link or reads a whole seed,
	// and a failed write leaves nothing behind.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nkey-*")
	if err != nil {
		return nil, fmt.Errorf("natsx: create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(seed, '\n'))
	err = errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close())
	if err != nil {
		return nil, fmt.Errorf("natsx: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readNKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("natsx: create %s: %w", path, err)
	}
	return kp, nil
}

// readNKey reads a user seed file.
func readNKey(path string) (nkeys.KeyPair, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("natsx: %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("natsx: read %s: %w", path, err)
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("natsx: %s is not an NKey seed: %w", path, err)
	}
	if pub, err := kp.PublicKey(); err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return nil, fmt.Errorf("natsx: %s is not the seed of a NATS user", path)
	}
	return kp, nil
}

// NKeyOption authenticates a connection with the NKey seed file at path.
func NKeyOption(path string) (nats.Option, error) {
	if _, err := readNKey(path); err != nil {
		return nil, err
	}
	o, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("natsx: nkey %s: %w", path, err)
	}
	return o, nil
}

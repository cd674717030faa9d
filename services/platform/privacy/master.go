package privacy

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKey wraps and unwraps data keys. The local implementation holds an
// AES-256 key read from a file or the environment; a KMS can implement it
// later.
type MasterKey interface {
	// Wrap encrypts the data key of keyID.
	Wrap(ctx context.Context, keyID string, dataKey []byte) ([]byte, error)
	// Unwrap decrypts a wrapped data key of keyID.
	Unwrap(ctx context.Context, keyID string, wrapped []byte) ([]byte, error)
	// ID names the master key (never the key itself): a data key records
	// the master key that wrapped it, so a rotation can tell them apart.
	ID() string
}

// MasterKeyEnv is the environment variable that may hold the master key,
// 64 hex characters.
const MasterKeyEnv = "AVENIR_MASTER_KEY"

// DevMasterKeyFile is the master key file of the dev mode, in its data dir.
const DevMasterKeyFile = "master.key"

// masterKeySize is the size of a local master key: AES-256.
const masterKeySize = 32

// localMaster is a MasterKey held in memory: AES-256-GCM with the key id as
// additional data, a random 12-byte nonce before the ciphertext.
type localMaster struct {
	aead cipher.AEAD
	id   string
}

// NewLocalMasterKey returns the master key made of the 32 bytes of key.
func NewLocalMasterKey(key []byte) (MasterKey, error) {
	if len(key) != masterKeySize {
		return nil, fmt.Errorf("privacy: a master key has %d bytes, got %d", masterKeySize, len(key))
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &localMaster{aead: aead, id: hex.EncodeToString(sum[:])[:16]}, nil
}

// GenerateMasterKey returns a new random master key (for tests; a
// production master key must be kept, or every data key is lost with it).
func GenerateMasterKey() (MasterKey, error) {
	return NewLocalMasterKey(randomBytes(masterKeySize))
}

func (m *localMaster) ID() string { return m.id }

func (m *localMaster) Wrap(_ context.Context, keyID string, dataKey []byte) ([]byte, error) {
	return seal(m.aead, dataKey, []byte(keyID)), nil
}

func (m *localMaster) Unwrap(_ context.Context, keyID string, wrapped []byte) ([]byte, error) {
	key, err := open(m.aead, wrapped, []byte(keyID))
	if err != nil {
		return nil, fmt.Errorf("privacy: unwrap the data key %s with master key %s: %w", keyID, m.id, err)
	}
	return key, nil
}

// ParseMasterKey reads a master key from its text form: 64 hex characters,
// optionally followed by a newline (the content of AVENIR_MASTER_KEY or of
// a master key file).
func ParseMasterKey(s string) (MasterKey, error) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	if len(s) != 2*masterKeySize {
		return nil, fmt.Errorf("privacy: a master key is %d hex characters, got %d characters", 2*masterKeySize, len(s))
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		// The error would quote the key: say only what is wrong.
		return nil, errors.New("privacy: a master key is hex (0-9, a-f): it holds another character")
	}
	return NewLocalMasterKey(key)
}

// LoadMasterKeyFile reads the master key in the file at path (see
// ParseMasterKey), which only its owner may read or write.
func LoadMasterKeyFile(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("privacy: master key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("privacy: master key file: %w", err)
	}
	if err := ownerOnly(path, fi); err != nil {
		return nil, err
	}
	b := make([]byte, 2*masterKeySize+3)
	n, err := f.Read(b)
	if err != nil {
		return nil, fmt.Errorf("privacy: master key file %s: %w", path, err)
	}
	m, err := ParseMasterKey(string(b[:n]))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return m, nil
}

// ownerOnly refuses a file that group or others may read or write.
func ownerOnly(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("privacy: master key file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o066 != 0 {
		return fmt.Errorf("privacy: master key file %s may be read or written by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}

// LoadOrCreateDevMasterKey reads the dev mode's master key, dataDir/master.key,
// creating it (mode 0600, 32 random bytes in hex) when absent.
func LoadOrCreateDevMasterKey(dataDir string) (MasterKey, error) {
	path := filepath.Join(dataDir, DevMasterKeyFile)
	m, err := LoadMasterKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("privacy: dev master key dir: %w", err)
	}
	// Write a complete file aside, then link it into place: the link fails
	// when the file exists, so a process starting at the same time either
	// wins it or reads a whole key, and a failed write leaves nothing behind.
	tmp, err := os.CreateTemp(dataDir, ".master-key-*")
	if err != nil {
		return nil, fmt.Errorf("privacy: create dev master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.WriteString(hex.EncodeToString(randomBytes(masterKeySize)) + "\n")
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: create dev master key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("privacy: create dev master key: %w", err)
	}
	return LoadMasterKeyFile(path)
}

// newAEAD returns AES-256-GCM with key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext with a random nonce, which it puts before the
// ciphertext.
func seal(aead cipher.AEAD, plaintext, ad []byte) []byte {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(out) // crypto/rand.Read never fails
	return aead.Seal(out, out, plaintext, ad)
}

// open decrypts what seal made.
func open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("ciphertext too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, errors.New("authentication failed: wrong key or additional data, or altered ciphertext")
	}
	return plain, nil
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// Package seal encrypts the secrets the API must read back (webhook
// signing secrets) under SECRETS_KEY: AES-256-GCM with a random nonce, the
// key's id in each sealed value, and associated data binding a secret to
// its record, so a sealed value copied onto another row does not open.
// Previous keys (SECRETS_PREVIOUS_KEYS) only open, so the key can be
// rotated and every value re-sealed under the current one.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// ParseKey reads a key written as exactly 64 hex digits, or as base64
// (standard or URL alphabet, padded or not) of exactly 32 bytes. Errors
// never quote the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("must be 32 bytes, got %d", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("must be 64 hex digits or the base64 of 32 bytes")
}

// ErrCannotOpen is any failure to open a sealed value: unknown key,
// tampering, wrong associated data, garbled bytes.
var ErrCannotOpen = errors.New("seal: cannot open the sealed value")

const (
	version   = 1
	idSize    = 8
	nonceSize = 12
)

type key struct {
	id   [idSize]byte
	aead cipher.AEAD
}

func newKey(raw []byte) (key, error) {
	if len(raw) != KeySize {
		return key{}, fmt.Errorf("seal: a key must be %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, err
	}
	// The id names the key without revealing it.
	sum := sha256.Sum256(append([]byte("epic-events secrets key id\x00"), raw...))
	k := key{aead: aead}
	copy(k.id[:], sum[:idSize])
	return k, nil
}

// Keyring seals under its current key and opens under any of its keys.
type Keyring struct {
	current key
	all     []key
}

// NewKeyring builds a keyring; previous keys only open.
func NewKeyring(current []byte, previous ...[]byte) (*Keyring, error) {
	c, err := newKey(current)
	if err != nil {
		return nil, err
	}
	r := &Keyring{current: c, all: []key{c}}
	for _, p := range previous {
		k, err := newKey(p)
		if err != nil {
			return nil, err
		}
		r.all = append(r.all, k)
	}
	return r, nil
}

// Seal encrypts plaintext bound to associated (the record's id): version,
// key id, nonce, then the ciphertext and its tag.
func (r *Keyring) Seal(plaintext, associated []byte) ([]byte, error) {
	out := make([]byte, 1+idSize+nonceSize, 1+idSize+nonceSize+len(plaintext)+r.current.aead.Overhead())
	out[0] = version
	copy(out[1:], r.current.id[:])
	if _, err := rand.Read(out[1+idSize:]); err != nil {
		return nil, err
	}
	header := out[:1+idSize]
	nonce := out[1+idSize:]
	return r.current.aead.Seal(out, nonce, plaintext, append(bytes.Clone(header), associated...)), nil
}

// Open decrypts a value sealed by Seal under any key of the ring.
func (r *Keyring) Open(sealed, associated []byte) ([]byte, error) {
	if len(sealed) < 1+idSize+nonceSize || sealed[0] != version {
		return nil, ErrCannotOpen
	}
	header, nonce, body := sealed[:1+idSize], sealed[1+idSize:1+idSize+nonceSize], sealed[1+idSize+nonceSize:]
	for _, k := range r.all {
		if !bytes.Equal(k.id[:], header[1:]) {
			continue
		}
		plain, err := k.aead.Open(nil, nonce, body, append(bytes.Clone(header), associated...))
		if err != nil {
			return nil, ErrCannotOpen
		}
		return plain, nil
	}
	return nil, ErrCannotOpen
}

// SealedUnderCurrent reports whether a sealed value already uses the
// current key (re-encryption skips it).
func (r *Keyring) SealedUnderCurrent(sealed []byte) bool {
	return len(sealed) > 1+idSize && sealed[0] == version && bytes.Equal(sealed[1:1+idSize], r.current.id[:])
}

package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"epicevents/internal/seal"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, seal.KeySize) }

func TestParseKeyTakesHexOrBase64OfExactly32Bytes(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	for _, s := range []string{
		hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw), " " + base64.RawURLEncoding.EncodeToString(raw) + "\n",
	} {
		got, err := seal.ParseKey(s)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(raw[:31]), hex.EncodeToString(raw) + "00",
		base64.StdEncoding.EncodeToString(raw[:31]), base64.StdEncoding.EncodeToString(append(raw, 1)),
		strings.Repeat("g", 64)} {
		if _, err := seal.ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}

func TestSealOpensOnlyWithItsKeyAndRecord(t *testing.T) {
	t.Parallel()
	ring, err := seal.NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	secret, record := []byte("whsec_the-signing-secret"), []byte("4b1c0f6e-0000-4000-8000-000000000001")
	a, err := ring.Seal(secret, record)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ring.Seal(secret, record)
	if bytes.Equal(a, b) || bytes.Contains(a, secret) {
		t.Fatal("two seals are equal (nonce reused) or hold the plaintext")
	}
	if got, err := ring.Open(a, record); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	other, _ := seal.NewKeyring(key(2))
	for name, open := range map[string]func() ([]byte, error){
		"another record": func() ([]byte, error) { return ring.Open(a, []byte("another-id")) },
		"tampered":       func() ([]byte, error) { return ring.Open(tampered, record) },
		"another key":    func() ([]byte, error) { return other.Open(a, record) },
		"truncated":      func() ([]byte, error) { return ring.Open(a[:10], record) },
		"empty":          func() ([]byte, error) { return ring.Open(nil, record) },
	} {
		if _, err := open(); !errors.Is(err, seal.ErrCannotOpen) {
			t.Errorf("%s: %v, want ErrCannotOpen", name, err)
		}
	}
}

// After a rotation the previous key still opens; re-sealing moves a value
// to the current key, which the old ring alone cannot open.
func TestRotationKeepsOldValuesReadable(t *testing.T) {
	t.Parallel()
	old, _ := seal.NewKeyring(key(1))
	sealed, _ := old.Seal([]byte("s"), []byte("id"))
	rotated, err := seal.NewKeyring(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if rotated.SealedUnderCurrent(sealed) || !old.SealedUnderCurrent(sealed) {
		t.Fatal("SealedUnderCurrent does not tell the keys apart")
	}
	plain, err := rotated.Open(sealed, []byte("id"))
	if err != nil || string(plain) != "s" {
		t.Fatalf("previous key: %q, %v", plain, err)
	}
	resealed, _ := rotated.Seal(plain, []byte("id"))
	if !rotated.SealedUnderCurrent(resealed) {
		t.Fatal("a new seal is not under the current key")
	}
	if _, err := old.Open(resealed, []byte("id")); !errors.Is(err, seal.ErrCannotOpen) {
		t.Fatalf("the old ring opened a value of the new key: %v", err)
	}
	if _, err := seal.NewKeyring(key(1)[:31]); err == nil {
		t.Fatal("a short key was accepted")
	}
}

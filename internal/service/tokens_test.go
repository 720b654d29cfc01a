package service

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A token verified once is remembered, but its times are checked again
// on every use, and any other string (a tampered token) is verified in
// full.
func TestVerifiedAccessTokensKeepTheirTimes(t *testing.T) {
	t.Parallel()
	keys := newTokenKeys(TokenConfig{Secret: []byte("0123456789abcdef0123456789abcdef"), Issuer: "epic-events",
		Audience: "epic-events-api", AccessTTL: 15 * time.Minute})
	who, session := uuid.New(), uuid.New()
	issued := time.Now().UTC().Truncate(time.Second)
	token, err := keys.issueAccess(who, session, issued)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second use is answered from memory
		c, s, err := keys.verifyAccess(token, issued.Add(time.Minute))
		if err != nil || c != who || s != session {
			t.Fatalf("use %d: %v %v %v", i+1, c, s, err)
		}
	}
	if _, ok := keys.verified.get(sha256.Sum256([]byte(token))); !ok {
		t.Fatal("a verified token is not remembered")
	}
	for name, at := range map[string]time.Time{
		"at its expiry":    issued.Add(15 * time.Minute),
		"after its expiry": issued.Add(time.Hour),
		"before its issue": issued.Add(-time.Second),
	} {
		if _, _, err := keys.verifyAccess(token, at); !errors.Is(err, errBadToken) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	tampered := token[:len(token)-2] + "AA"
	if tampered == token {
		tampered = token[:len(token)-2] + "BB"
	}
	if _, _, err := keys.verifyAccess(tampered, issued.Add(time.Minute)); err == nil {
		t.Error("a tampered token was accepted")
	}
}

func TestVerifiedTokensAreBounded(t *testing.T) {
	t.Parallel()
	v := newVerifiedTokens(3)
	for i := range 10 {
		v.put(sha256.Sum256([]byte{byte(i)}), verifiedToken{})
	}
	if n := len(v.tokens); n != 3 {
		t.Errorf("%d remembered, want at most 3", n)
	}
	if _, ok := v.get(sha256.Sum256([]byte{9})); !ok {
		t.Error("the newest token was not kept")
	}
}

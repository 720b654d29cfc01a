package service

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// TokenConfig holds the signing keys and lifetimes of tokens.
type TokenConfig struct {
	Secret          []byte
	PreviousSecrets [][]byte
	Issuer          string
	Audience        string
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
}

// tokenKeys signs with the current key and verifies with any listed key,
// picked by kid.
type tokenKeys struct {
	cfg      TokenConfig
	kid      string
	byKid    map[string][]byte
	verified *verifiedTokens
}

func newTokenKeys(cfg TokenConfig) *tokenKeys {
	k := &tokenKeys{cfg: cfg, kid: keyID(cfg.Secret), byKid: map[string][]byte{}, verified: newVerifiedTokens(verifiedTokensKept)}
	k.byKid[k.kid] = cfg.Secret
	for _, s := range cfg.PreviousSecrets {
		k.byKid[keyID(s)] = s
	}
	return k
}

// keyID derives a key's public name from a digest of it, so the kid never
// reveals the key.
func keyID(secret []byte) string {
	sum := sha256.Sum256(append([]byte("epic-events kid:"), secret...))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

type accessClaims struct {
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// issueAccess signs an access token for a session.
func (k *tokenKeys) issueAccess(collaboratorID, sessionID uuid.UUID, now time.Time) (string, error) {
	claims := accessClaims{
		SessionID: sessionID.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    k.cfg.Issuer,
			Subject:   collaboratorID.String(),
			Audience:  jwt.ClaimStrings{k.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(k.cfg.AccessTTL)),
			ID:        uuid.NewString(),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["typ"] = "at+jwt"
	t.Header["kid"] = k.kid
	return t.SignedString(k.cfg.Secret)
}

var errBadToken = errors.New("invalid access token")

// verifyAccess checks signature, algorithm, type, issuer, audience and
// times, and returns the collaborator and session ids. A token verified
// before is only checked for its times again: its signature and claims
// cannot have changed, and the keys are fixed for the process's life.
// Whether its session is still open is the caller's check, on every
// request.
func (k *tokenKeys) verifyAccess(token string, now time.Time) (collaboratorID, sessionID uuid.UUID, err error) {
	digest := sha256.Sum256([]byte(token))
	if v, ok := k.verified.get(digest); ok {
		if !now.Before(v.expiresAt) || now.Before(v.issuedAt) {
			return uuid.Nil, uuid.Nil, fmt.Errorf("%w: expired or not yet issued", errBadToken)
		}
		return v.collaboratorID, v.sessionID, nil
	}
	collaboratorID, sessionID, issuedAt, expiresAt, err := k.parseAccess(token, now)
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	k.verified.put(digest, verifiedToken{collaboratorID: collaboratorID, sessionID: sessionID,
		issuedAt: issuedAt, expiresAt: expiresAt})
	return collaboratorID, sessionID, nil
}

// parseAccess is the full check of verifyAccess.
func (k *tokenKeys) parseAccess(token string, now time.Time) (collaboratorID, sessionID uuid.UUID, issuedAt, expiresAt time.Time, err error) {
	var claims accessClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(k.cfg.Issuer),
		jwt.WithAudience(k.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err = parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" {
			return nil, fmt.Errorf("%w: typ %q", errBadToken, typ)
		}
		kid, _ := t.Header["kid"].(string)
		key, ok := k.byKid[kid]
		if !ok {
			return nil, fmt.Errorf("%w: unknown kid", errBadToken)
		}
		return key, nil
	})
	if err != nil {
		return uuid.Nil, uuid.Nil, time.Time{}, time.Time{}, err
	}
	if claims.IssuedAt == nil {
		return uuid.Nil, uuid.Nil, time.Time{}, time.Time{}, fmt.Errorf("%w: no iat", errBadToken)
	}
	// The contract requires every claim we issue, jti included.
	if claims.ID == "" {
		return uuid.Nil, uuid.Nil, time.Time{}, time.Time{}, fmt.Errorf("%w: no jti", errBadToken)
	}
	collaboratorID, err1 := uuid.Parse(claims.Subject)
	sessionID, err2 := uuid.Parse(claims.SessionID)
	if err1 != nil || err2 != nil {
		return uuid.Nil, uuid.Nil, time.Time{}, time.Time{}, fmt.Errorf("%w: bad sub or sid", errBadToken)
	}
	return collaboratorID, sessionID, claims.IssuedAt.Time, claims.ExpiresAt.Time, nil
}

// verifiedTokensKept bounds the verified tokens remembered: about 100
// bytes each.
const verifiedTokensKept = 10000

type verifiedToken struct {
	collaboratorID, sessionID uuid.UUID
	issuedAt, expiresAt       time.Time
}

// verifiedTokens remembers access tokens whose signature and claims were
// checked, by the SHA-256 of the token (so the lookup compares digests,
// never the credential itself). When full, one remembered token is
// forgotten to make room.
type verifiedTokens struct {
	mu     sync.Mutex
	max    int
	tokens map[[sha256.Size]byte]verifiedToken
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{max: max, tokens: make(map[[sha256.Size]byte]verifiedToken)}
}

func (v *verifiedTokens) get(digest [sha256.Size]byte) (verifiedToken, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.tokens[digest]
	return t, ok
}

func (v *verifiedTokens) put(digest [sha256.Size]byte, t verifiedToken) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.tokens) >= v.max {
		for d := range v.tokens { // a map's order is random: any one goes
			delete(v.tokens, d)
			break
		}
	}
	v.tokens[digest] = t
}

// newRefreshToken returns an opaque token and the digest stored for it.
func newRefreshToken() (token string, digest []byte) {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	token = base64.RawURLEncoding.EncodeToString(buf)
	return token, refreshDigest(token)
}

func refreshDigest(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

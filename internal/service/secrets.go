package service

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"strings"
)

// base62 is the alphabet of personal access tokens and feed tokens, in
// the order the checksum's digits take.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n characters drawn uniformly from base62: bytes of
// 248 and above (62 × 4) are thrown away, so no character is likelier.
func randomBase62(n int) string {
	var out strings.Builder
	out.Grow(n)
	buf := make([]byte, 2*n)
	for out.Len() < n {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if b < 248 && out.Len() < n {
				out.WriteByte(base62[b%62])
			}
		}
	}
	return out.String()
}

// base62Checksum is the CRC-32 (IEEE) of s in base62, left-padded with 0
// to 6 digits (62^6 > 2^32, so it always fits).
func base62Checksum(s string) string {
	sum := crc32.ChecksumIEEE([]byte(s))
	digits := []byte("000000")
	for i := len(digits) - 1; sum > 0; i-- {
		digits[i] = base62[sum%62]
		sum /= 62
	}
	return string(digits)
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(base62, s[i]) < 0 {
			return false
		}
	}
	return true
}

// Personal access tokens: the prefix, 30 random characters and their
// 6-character checksum. A secret scanner matches ^eet_[0-9A-Za-z]{36}$
// and checks the checksum without asking us.
const (
	patPrefix       = "eet_"
	patRandomLength = 30
	patLength       = len(patPrefix) + patRandomLength + 6
	// TokenPrefixLength is how much of a token is kept in clear to name it.
	TokenPrefixLength = 8
)

// IsPersonalAccessToken tells a personal access token from a JWT by its
// prefix; whether it is a valid one is for Authenticate to say.
func IsPersonalAccessToken(token string) bool { return strings.HasPrefix(token, patPrefix) }

// newPersonalAccessToken returns a fresh token.
func newPersonalAccessToken() string {
	random := randomBase62(patRandomLength)
	return patPrefix + random + base62Checksum(random)
}

// wellFormedPersonalAccessToken checks the format and the checksum, so a
// mistyped or made-up token is refused without a database round trip.
func wellFormedPersonalAccessToken(token string) bool {
	if len(token) != patLength || !strings.HasPrefix(token, patPrefix) || !isBase62(token[len(patPrefix):]) {
		return false
	}
	random := token[len(patPrefix) : len(patPrefix)+patRandomLength]
	return base62Checksum(random) == token[len(patPrefix)+patRandomLength:]
}

// Feed tokens name a calendar feed in its URL.
const (
	feedPrefix = "eef_"
	feedLength = len(feedPrefix) + 32
)

func newFeedToken() string { return feedPrefix + randomBase62(32) }

func wellFormedFeedToken(token string) bool {
	return len(token) == feedLength && strings.HasPrefix(token, feedPrefix) && isBase62(token[len(feedPrefix):])
}

// secretDigest is what is stored of a bearer secret, and what a request's
// secret is looked up by: an index lookup on a digest leaks nothing about
// the secret through timing, so no comparison needs to be constant-time
// and nothing sleeps.
func secretDigest(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

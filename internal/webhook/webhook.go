// Package webhook holds what a delivery needs apart from the queue: the
// whsec_ secrets, the Standard Webhooks signature, one attempt through the
// guarded dialer (10 s, no redirects, at most 64 KiB of the answer read,
// Retry-After understood) and the retry ladder. The queue's worker calls
// it; it knows no database and no HTTP server.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"epicevents/internal/netguard"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// NewSecret makes a signing secret: whsec_ and the base64 of 32 random
// bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// SecretBytes is the key a secret signs with (the bytes after whsec_).
func SecretBytes(secret string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || !strings.HasPrefix(secret, SecretPrefix) || len(b) == 0 {
		return nil, errors.New("webhook: not a whsec_ secret")
	}
	return b, nil
}

// Signature is the webhook-signature header of a message: "v1,<base64 of
// HMAC-SHA256(secret, id.timestamp.body)>" per secret, space-separated
// (two while a rotated secret still signs).
func Signature(id string, at time.Time, body []byte, secrets ...[]byte) string {
	signed := fmt.Sprintf("%s.%d.", id, at.Unix())
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		mac := hmac.New(sha256.New, s)
		mac.Write([]byte(signed))
		mac.Write(body)
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, " ")
}

// Outcome is what an attempt leads to.
type Outcome int

const (
	// Succeeded: a 2xx answer.
	Succeeded Outcome = iota
	// Failed: anything else; another attempt follows, if any is left.
	Failed
	// Gone: a 410, which disables the webhook.
	Gone
)

// Attempt is the result of one delivery attempt.
type Attempt struct {
	Outcome Outcome
	// Status is the answer's status, 0 when none came.
	Status int
	// Error says why a failed attempt failed, for the delivery log.
	Error string
	// RetryAfter is the receiver's minimum wait (429 and 503), capped.
	RetryAfter time.Duration
}

// Limits of an attempt.
const (
	AttemptTimeout = 10 * time.Second
	MaxAnswerBytes = 64 << 10
	MaxRetryAfter  = 24 * time.Hour
)

// Sender posts deliveries through a guard.
type Sender struct {
	client  *http.Client
	timeout time.Duration
}

// NewSender builds a sender whose connections the guard checks; no proxy
// from the environment is used and redirects are not followed. A zero
// timeout is AttemptTimeout.
func NewSender(guard *netguard.Guard, timeout time.Duration) *Sender {
	if timeout <= 0 {
		timeout = AttemptTimeout
	}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         guard.DialContext,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: timeout,
		MaxIdleConns:        16,
		IdleConnTimeout:     time.Minute,
	}
	return &Sender{timeout: timeout, client: &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Send makes one attempt: a POST of body with the Standard Webhooks
// headers, signed with every secret given, at the instant at.
func (s *Sender) Send(ctx context.Context, url, id string, at time.Time, body []byte, secrets ...[]byte) Attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return Attempt{Outcome: Failed, Error: "the URL cannot be requested"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "epic-events-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", Signature(id, at, body, secrets...))
	res, err := s.client.Do(req)
	if err != nil {
		return Attempt{Outcome: Failed, Error: describe(err, s.timeout)}
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, MaxAnswerBytes))
	a := Attempt{Status: res.StatusCode, Outcome: Failed}
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		a.Outcome = Succeeded
	case res.StatusCode == http.StatusGone:
		a.Outcome, a.Error = Gone, "410 Gone: the webhook is disabled"
	default:
		a.Error = fmt.Sprintf("answered %d", res.StatusCode)
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
			a.RetryAfter = retryAfter(res.Header.Get("Retry-After"), at)
		}
	}
	return a
}

// describe says why no answer came, without internals.
func describe(err error, timeout time.Duration) string {
	var timeoutErr interface{ Timeout() bool }
	switch {
	case errors.Is(err, netguard.ErrNotAllowed):
		return "address not allowed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeoutErr) && timeoutErr.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	}
	return "connection failed"
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped at 24 h.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(max(n, 0)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// DefaultSchedule is the contract's ladder: the waits after each failed
// attempt, then gave_up.
var DefaultSchedule = Schedule{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// Schedule is the ladder of waits after failed attempts.
type Schedule []time.Duration

// ParseSchedule reads WEBHOOK_RETRY_SCHEDULE: comma-separated positive
// durations ("5s,30s,2m").
func ParseSchedule(s string) (Schedule, error) {
	var out Schedule
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not a positive duration", strings.TrimSpace(part))
		}
		out = append(out, d)
	}
	return out, nil
}

// Next is the wait before the attempt after failed attempt number n
// (1-based), at least the receiver's Retry-After; ok is false when the
// ladder is exhausted (gave_up).
func (s Schedule) Next(n int, retryAfter time.Duration) (wait time.Duration, ok bool) {
	if n < 1 || n > len(s) {
		return 0, false
	}
	return max(s[n-1], min(retryAfter, MaxRetryAfter)), true
}

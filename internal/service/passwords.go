package service

import (
	"bufio"
	_ "embed"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords with bcrypt.
type Passwords struct {
	cost int

	// dummy is a hash at the same cost, compared against when a login
	// names nobody, so that an unknown name costs what a wrong password does.
	dummyOnce sync.Once
	dummy     []byte

	comparisons atomic.Int64
}

// NewPasswords uses the given bcrypt cost.
func NewPasswords(cost int) *Passwords {
	return &Passwords{cost: cost}
}

// Hash hashes a password that passed the policy.
func (p *Passwords) Hash(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), p.cost)
	return string(h), err
}

// Matches compares in constant time.
func (p *Passwords) Matches(hash, password string) bool {
	p.comparisons.Add(1)
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// MatchesNobody spends the time of a comparison and always fails.
func (p *Passwords) MatchesNobody(password string) bool {
	p.dummyOnce.Do(func() {
		p.dummy, _ = bcrypt.GenerateFromPassword([]byte("no collaborator has this password"), p.cost)
	})
	p.comparisons.Add(1)
	_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(password))
	return false
}

// Comparisons counts the bcrypt comparisons made so far. Every login path
// must cost exactly one, whatever the name designates; tests read this to
// prove it by construction rather than with a stopwatch.
func (p *Passwords) Comparisons() int64 {
	return p.comparisons.Load()
}

//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{})
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			set[strings.ToLower(line)] = struct{}{}
		}
	}
	return set
})

// passwordProblem explains why a password is refused, or returns "".
// Lengths are in bytes: bcrypt reads at most 72.
func passwordProblem(password string) string {
	switch {
	case len(password) < 12:
		return "must be at least 12 bytes"
	case len(password) > 72:
		return "must be at most 72 bytes"
	}
	if _, common := commonPasswords()[strings.ToLower(password)]; common {
		return "is too common; choose another"
	}
	return ""
}

package service

import (
	"strings"
	"testing"
)

func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	list := commonPasswords()
	for _, p := range []string{"password1234", "123456789012"} {
		if _, ok := list[p]; !ok {
			t.Errorf("the list lacks %q", p)
		}
	}
	// An entry the length policy refuses anyway is dead weight, or a typo.
	for p := range list {
		if len(p) < 12 || len(p) > 72 || strings.TrimSpace(p) != p {
			t.Errorf("entry %q can never be chosen", p)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"":                      false,
		"elevenbytes":           false,
		"twelve bytes":          true,
		strings.Repeat("é", 6):  true, // 12 bytes
		strings.Repeat("é", 36): true, // 72 bytes
		strings.Repeat("é", 37): false,
		strings.Repeat("x", 73): false,
		"Password1234":          false,
		"123456789012":          false,
		"correct horse battery": true,
	}
	for p, ok := range cases {
		if got := passwordProblem(p) == ""; got != ok {
			t.Errorf("%q (%d bytes): accepted=%v, want %v", p, len(p), got, ok)
		}
	}
}

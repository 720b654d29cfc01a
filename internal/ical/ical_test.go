package ical

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestEscapeText(t *testing.T) {
	t.Parallel()
	got := EscapeText("a,b;c\\d\r\ne\rf\ng\th")
	if diff := cmp.Diff(`a\,b\;c\\d\ne\nf\ng`+"\th", got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Lines are folded at 75 octets, continuation lines start with one space,
// no UTF-8 sequence is split, and unfolding gives the line back.
func TestFoldingKeepsOctetLimitAndCharacters(t *testing.T) {
	t.Parallel()
	values := []string{
		"",
		strings.Repeat("a", 63), // SUMMARY: + 63 = 72
		strings.Repeat("a", 66), // exactly 75
		strings.Repeat("a", 67), // 76
		strings.Repeat("é", 100),
		strings.Repeat("日本語", 70),
		strings.Repeat("x😀", 60),
		"a" + strings.Repeat("😀", 40),
	}
	for _, v := range values {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.Raw("SUMMARY", v)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.HasSuffix(out, "\r\n") {
			t.Fatalf("%q does not end in CRLF", out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
		for i, l := range lines {
			if len(l) > maxLineOctets {
				t.Errorf("line %d has %d octets", i, len(l))
			}
			if i > 0 && (!strings.HasPrefix(l, " ") || len(l) < 2) {
				t.Errorf("continuation line %q", l)
			}
			if !utf8.ValidString(l) {
				t.Errorf("line %d splits a character: %q", i, l)
			}
			if strings.ContainsAny(l, "\r\n") {
				t.Errorf("bare line break in %q", l)
			}
		}
		if got := strings.ReplaceAll(strings.TrimSuffix(out, "\r\n"), "\r\n ", ""); got != "SUMMARY:"+v {
			t.Errorf("unfolded %q, want %q", got, "SUMMARY:"+v)
		}
	}
}

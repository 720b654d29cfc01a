package service

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// Whatever a parser accepts can be stored and written back out: an instant
// is in years 0001 to 9999 in UTC, at microseconds, and encodes as JSON and
// parses again to itself.
func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{
		"2027-06-04T11:00:00Z", "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999999999Z",
		"0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "0000-01-01T00:00:00Z", "2027-01-01T00:00:00+24:00",
		"2027-01-01T00:00:00.123456789012Z", "2027-01-01T00:00:00", "2027-02-29T00:00:00Z", "2027-06-04t11:00:00z",
		"2027-01-01T00:00:60Z", "2027-01-01T00:00:00Z\x00", "٢٠٢٧-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, err := ParseInstant(s)
		if err != nil {
			var v valueError
			if !errors.As(err, &v) || v == "" {
				t.Fatalf("%q: an error the caller cannot read: %v", s, err)
			}
			return
		}
		if at.Location() != time.UTC || at.Before(minInstant) || at.After(maxInstant) || at.Nanosecond()%1000 != 0 {
			t.Fatalf("%q accepted as %v", s, at)
		}
		raw, err := json.Marshal(at)
		if err != nil {
			t.Fatalf("%q accepted as %v, which cannot be encoded: %v", s, at, err)
		}
		var back time.Time
		if err := json.Unmarshal(raw, &back); err != nil || !back.Equal(at) {
			t.Fatalf("%q: %s does not read back (%v)", s, raw, err)
		}
		if again, err := ParseInstant(formatInstant(at)); err != nil || !again.Equal(at) {
			t.Fatalf("%q: its own rendering %q is refused or moves (%v)", s, formatInstant(at), err)
		}
	})
}

// An accepted amount has the contract's form, fits numeric(12,2), and its
// rendering parses back to the same number of cents.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"15000", "15000.5", "15000.50", "0", "0.00", "9999999999.99", "99999999999", "1e3",
		"-1", "1.234", " 1", "1.", ".5", "１２", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			return
		}
		if !amountPattern.MatchString(s) || m < 0 || m > 999999999999 {
			t.Fatalf("%q accepted as %d", s, m)
		}
		if back, err := ParseMoney(m.String()); err != nil || back != m {
			t.Fatalf("%q: %s does not parse back (%v)", s, m, err)
		}
		whole, frac, _ := strings.Cut(m.String(), ".")
		if len(frac) != 2 || len(whole) > 10 {
			t.Fatalf("%q renders as %s", s, m)
		}
	})
}

// A cursor from a client is opaque bytes: any of them is either a position
// of this very list or a 400, never a panic or another list's position.
func FuzzListCursor(f *testing.F) {
	good := listQuery{collection: "clients", sort: "-created_at"}
	q, _ := newListQuery("clients", PageInput{}, []string{"-created_at", "full_name"}, "")
	good.filters = q.filters
	for _, s := range []string{"", "garbled!", "eyJjIjoiY2xpZW50cyJ9", good.next("2027-01-01T00:00:00Z", [16]byte{1}),
		cursor{Collection: "events", Sort: "start_at", Filters: q.filters, Key: "x", ID: [16]byte{1}}.encode()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lq, err := newListQuery("clients", PageInput{Cursor: s}, []string{"-created_at", "full_name"}, "")
		if err != nil {
			if ErrorCode(err) != CodeMalformedRequest {
				t.Fatalf("%q: %v, want 400", s, err)
			}
			return
		}
		if s != "" && (lq.after == nil || lq.after.Collection != "clients" || lq.after.Filters != q.filters) {
			t.Fatalf("%q accepted as %+v", s, lq.after)
		}
		if lq.after != nil && lq.sort == "-created_at" {
			if _, err := afterInstant(lq); err != nil && ErrorCode(err) != CodeMalformedRequest {
				t.Fatalf("%q: %v", s, err)
			}
		}
	})
}

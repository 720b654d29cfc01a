package ical_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"epicevents/internal/ical"
)

// Any text the API stores (valid UTF-8, no control character but tab, CR
// and LF) comes back from a third-party RFC 5545 parser as written, line
// breaks of every kind read as \n.
func FuzzTextReadsBack(f *testing.F) {
	for _, s := range []string{"", "a,b;c\\d", "x\r\ny\rz\nw", "\t tab", strings.Repeat("日本😀é", 40), `\n is not a break`, "\\,\\;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
			return unicode.Is(unicode.Cc, r) && r != '\t' && r != '\r' && r != '\n'
		}) {
			return
		}
		var buf bytes.Buffer
		w := ical.NewWriter(&buf)
		w.Raw("BEGIN", "VCALENDAR")
		w.Raw("VERSION", "2.0")
		w.Raw("PRODID", "-//test//EN")
		w.Raw("BEGIN", "VEVENT")
		w.Text("UID", "1@test")
		w.Text("SUMMARY", s)
		w.Raw("END", "VEVENT")
		w.Raw("END", "VCALENDAR")
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		cal, err := ics.ParseCalendar(&buf)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		events := cal.Events()
		if len(events) != 1 {
			t.Fatalf("%d events", len(events))
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
		if got := events[0].GetProperty(ics.ComponentPropertySummary).Value; got != want {
			t.Fatalf("read back %q, want %q", got, want)
		}
	})
}

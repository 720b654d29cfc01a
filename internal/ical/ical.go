// Package ical writes RFC 5545 iCalendar content: content lines ended by
// CRLF and folded at 75 octets on UTF-8 boundaries, TEXT values escaped,
// instants in UTC. It writes as it goes, so a calendar streams.
package ical

import (
	"bufio"
	"io"
	"strings"
	"time"
)

// maxLineOctets is the longest content line RFC 5545 §3.1 wants, CRLF
// excluded; a folded line's leading space counts.
const maxLineOctets = 75

// Writer writes content lines; the first error sticks and Flush reports it.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 32<<10)} }

// Raw writes a property whose value is already in its RFC 5545 form.
func (w *Writer) Raw(name, value string) { w.line(name + ":" + value) }

// Text writes a TEXT property, escaped.
func (w *Writer) Text(name, value string) { w.line(name + ":" + EscapeText(value)) }

// Time writes a DATE-TIME property in UTC ("20270604T110000Z").
func (w *Writer) Time(name string, t time.Time) { w.Raw(name, FormatTime(t)) }

// FormatTime renders an instant as a UTC DATE-TIME.
func FormatTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// Flush writes what is buffered and reports the first error.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// line writes one content line, folded.
func (w *Writer) line(s string) {
	if w.err != nil {
		return
	}
	for first := true; ; first = false {
		limit := maxLineOctets
		if !first {
			limit-- // the leading space
			w.w.WriteByte(' ')
		}
		if len(s) <= limit {
			w.w.WriteString(s)
			break
		}
		cut := limit
		// Never split a UTF-8 sequence: back off to the start of the
		// character the limit falls in.
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		w.w.WriteString(s[:cut])
		w.w.WriteString("\r\n")
		s = s[cut:]
	}
	_, w.err = w.w.WriteString("\r\n")
}

var textEscaper = strings.NewReplacer(
	`\`, `\\`, `;`, `\;`, `,`, `\,`,
	"\r\n", `\n`, "\r", `\n`, "\n", `\n`,
)

// EscapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash,
// semicolon, comma, and line breaks (CRLF, CR or LF) as \n.
func EscapeText(s string) string { return textEscaper.Replace(s) }

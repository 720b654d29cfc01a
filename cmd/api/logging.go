package main

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"
)

// newLogger writes every log record of the process to w in one format:
// LOG_FORMAT's, else human text when w is a terminal and JSON otherwise.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// terminal is a writer that knows whether a person reads it; tests use it
// to stand for a terminal.
type terminal interface{ IsTerminal() bool }

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	switch w := w.(type) {
	case terminal:
		return w.IsTerminal()
	case *os.File:
		return term.IsTerminal(int(w.Fd()))
	}
	return false
}

// terminalOf is the first of ws that is a terminal, or nil.
func terminalOf(ws ...io.Writer) io.Writer {
	for _, w := range ws {
		if isTerminal(w) {
			return w
		}
	}
	return nil
}

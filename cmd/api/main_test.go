package main

import (
	"os"
	"testing"

	"epicevents/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// envMap is a getenv over a fixed set of variables.
func envMap(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// raceEnabled is set when the tests run under the race detector.
var raceEnabled bool

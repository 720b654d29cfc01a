package main

import (
	"os"
	"testing"

	"epicevents/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// raceEnabled is set when the tests run under the race detector.
var raceEnabled bool

package db_test

import (
	"os"
	"testing"

	"epicevents/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// Command api serves the Epic Events CRM API.
//
//	api [serve]                 run the HTTP server (default)
//	api migrate up|down|status  manage the schema
//	api create-manager          add a manager (-username, -email, -employee-number;
//	                            password from BOOTSTRAP_MANAGER_PASSWORD[_FILE])
//	api healthcheck             exit 0 when the local server is ready (for Docker)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// Event time zones are IANA names; the image has no zoneinfo of its own.
	_ "time/tzdata"

	"github.com/joho/godotenv"
)

// version names this build; the release build stamps it with
// -ldflags "-X main.version=...". It is logged at start and exported as
// epicevents_build_info.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], envWithDotEnv(".env", os.LookupEnv), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

// envWithDotEnv reads a .env file in the working directory when present;
// the real environment wins over it.
func envWithDotEnv(path string, lookup func(string) (string, bool)) func(string) string {
	file, err := godotenv.Read(path)
	if err != nil {
		file = nil
	}
	return func(name string) string {
		if v, ok := lookup(name); ok {
			return v
		}
		return file[name]
	}
}

// run is the whole program; main only turns its error into an exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	command := "serve"
	if len(args) > 0 {
		command, args = args[0], args[1:]
	}
	switch command {
	case "serve":
		return serve(ctx, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "create-manager":
		return createManager(ctx, args, getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, args, getenv)
	case "seed":
		return seedCommand(ctx, args, getenv, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q (serve, migrate, create-manager, healthcheck)", command)
	}
}

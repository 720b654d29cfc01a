// Command api serves the Epic Events CRM API.
//
//	api [serve]                 run the HTTP server (default)
//	api migrate up|down|status  manage the schema
//	api create-manager          add a manager (-username, -email, -employee-number;
//	                            password from BOOTSTRAP_MANAGER_PASSWORD[_FILE])
//	api healthcheck             exit 0 when the local server is ready (for Docker)
//	api version                 print the version
//	api help [command]          print the usage
//
// Without DATABASE_URL every command works on the embedded database in
// ./.data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
	err := run(ctx, os.Args[1:], envWithDotEnv(".env", os.LookupEnv), os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		var usage *usageError
		if errors.As(err, &usage) {
			fmt.Fprint(os.Stderr, usage.usage)
		}
	}
	stop()
	os.Exit(exitCode(err))
}

// exitCode is 0 on success, 2 for a command line that makes no sense (as
// the flag package does), 1 for every other failure.
func exitCode(err error) int {
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	default:
		return 1
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

// command is one subcommand of the binary; a new one is one more entry in
// commands. Its run parses its own flags with inv.parse.
type command struct {
	name    string
	args    string // what follows the name in the usage line
	summary string
	run     func(ctx context.Context, inv invocation) error
}

// invocation is what a command runs with.
type invocation struct {
	command        command
	args           []string
	getenv         func(string) string
	stdout, stderr io.Writer
}

// commands lists the subcommands in the order the usage shows them.
var commands []command

func init() {
	commands = []command{
		{name: "serve", summary: "run the HTTP server (the default command)", run: serve},
		{name: "migrate", args: "up|down|status", summary: "apply, roll back (the latest one) or list the migrations", run: migrate},
		{name: "create-manager", args: "[-username U] [-email E] [-employee-number N]",
			summary: "add a manager; the password comes from BOOTSTRAP_MANAGER_PASSWORD or its _FILE", run: createManager},
		{name: "healthcheck", args: "[-url URL]", summary: "exit 0 when the local server's /readyz answers 200 (for Docker)", run: healthcheck},
		{name: "seed", args: "[-collaborators N] [-clients N] [-contracts N] [-events N]",
			summary: "fill an empty database with a large generated data set, for benchmarks (see BENCHMARKS.md)", run: seedCommand},
		{name: "secrets", args: "reencrypt", summary: "seal every webhook secret under SECRETS_KEY (SECRETS_PREVIOUS_KEYS open the old ones)", run: secretsCommand},
		{name: "version", summary: "print the version", run: printVersion},
		{name: "help", args: "[command]", summary: "print this help, or a command's", run: help},
	}
}

// usageError is a command line that makes no sense; main prints the usage
// after it and exits 2.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

// errHelped ends a command whose help was asked for and printed.
var errHelped = errors.New("help printed")

// run is the whole program; main only turns its error into an exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := lookupCommand(name)
	if !ok {
		return &usageError{msg: fmt.Sprintf("unknown command %q", name), usage: usage()}
	}
	err := cmd.run(ctx, invocation{command: cmd, args: args, getenv: getenv, stdout: stdout, stderr: stderr})
	if errors.Is(err, errHelped) {
		return nil
	}
	return err
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// parse reads the command's flags, declared on fs (nil for none), and
// returns the arguments after them, at most maxArgs of them. -h prints the
// command's usage on stdout and returns errHelped.
func (inv invocation) parse(fs *flag.FlagSet, maxArgs int) ([]string, error) {
	if fs == nil {
		fs = flag.NewFlagSet(inv.command.name, flag.ContinueOnError)
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(inv.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(inv.stdout, commandUsage(inv.command, fs))
			return nil, errHelped
		}
		return nil, &usageError{msg: inv.command.name + ": " + err.Error(), usage: commandUsage(inv.command, fs)}
	}
	if fs.NArg() > maxArgs {
		return nil, &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", inv.command.name, fs.Arg(maxArgs)),
			usage: commandUsage(inv.command, fs)}
	}
	return fs.Args(), nil
}

// usage is the help of the binary.
func usage() string {
	var b strings.Builder
	b.WriteString("Usage: api [command] [flags]\n\nThe Epic Events CRM API. Commands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-16s %s\n", c.name, c.summary)
	}
	b.WriteString("\nSettings come from the environment (and ./.env); see README.md. Without DATABASE_URL,\n" +
		"every command works on the embedded PostgreSQL whose data is in ./.data.\n" +
		"`api help COMMAND` or `api COMMAND -h` shows a command's flags.\n")
	return b.String()
}

// commandUsage is the help of one command, with the flags of fs.
func commandUsage(c command, fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: api %s", c.name)
	if c.args != "" {
		b.WriteString(" " + c.args)
	}
	fmt.Fprintf(&b, "\n\n%s.\n", strings.ToUpper(c.summary[:1])+c.summary[1:])
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		b.WriteString("\nFlags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return b.String()
}

func printVersion(_ context.Context, inv invocation) error {
	if _, err := inv.parse(nil, 0); err != nil {
		return err
	}
	fmt.Fprintln(inv.stdout, "api", version)
	return nil
}

// help prints the usage, or a command's (as `api COMMAND -h` does).
func help(ctx context.Context, inv invocation) error {
	args, err := inv.parse(nil, 1)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		fmt.Fprint(inv.stdout, usage())
		return nil
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		return &usageError{msg: fmt.Sprintf("help: unknown command %q", args[0]), usage: usage()}
	}
	return c.run(ctx, invocation{command: c, args: []string{"-h"}, getenv: inv.getenv, stdout: inv.stdout, stderr: inv.stderr})
}

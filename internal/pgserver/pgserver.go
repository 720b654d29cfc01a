// Package pgserver runs a private PostgreSQL from the machine's own server
// binaries: the embedded database of `go run ./cmd/api` and the throwaway
// one of the tests. PostgreSQL refuses to run as root, so as root the server
// runs as an unprivileged user, in a directory that user can reach.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Options say where the data lives and how to reach the server.
type Options struct {
	// DataDir holds the cluster; it is created (initdb) when empty.
	DataDir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Log receives the server's output; nil discards it.
	Log *os.File
}

// Server is a running PostgreSQL.
type Server struct {
	DataDir string
	Port    int
	cmd     *exec.Cmd
	done    chan error
	stop    sync.Once
}

// URL connects as the superuser "postgres" over TCP.
func (s *Server) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, database)
}

// ErrNoBinaries says that no PostgreSQL server is installed.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and PATH): " +
	"install them, for example with `apt-get install postgresql`, or set DATABASE_URL")

// BinDir finds initdb and postgres: the newest Debian version directory,
// else PATH.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&0o111 != 0
}

// runAs is who the server runs as: nil for the current user, or an
// unprivileged account when the current user is root.
type runAs struct {
	uid, gid uint32
	name     string
}

func serverUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &runAs{uid: uint32(uid), gid: uint32(gid), name: name}, nil
	}
	return nil, errors.New("running as root, and no unprivileged user (postgres or nobody) exists to run PostgreSQL")
}

// Reachable reports whether every directory above path lets others pass,
// which an unprivileged server user needs.
func Reachable(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return false
		}
		if st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == "/" {
			return true
		}
	}
}

// NeedsUnprivilegedUser reports whether the server will run as another
// user than the current one.
func NeedsUnprivilegedUser() bool { return os.Geteuid() == 0 }

// Start initialises the data directory if needed and starts the server,
// waiting until it accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	as, err := serverUser()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if as != nil {
		if err := os.Chown(opts.DataDir, int(as.uid), int(as.gid)); err != nil {
			return nil, fmt.Errorf("hand the data directory to %s: %w", as.name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(opts.DataDir, "PG_VERSION")); os.IsNotExist(err) {
		initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
			"-D", opts.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
		setUser(initdb, as)
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", opts.DataDir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "max_connections=200",
		// Development and test data only: speed over surviving a power cut.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	}
	setUser(cmd, as)
	// The server ends with the process that started it.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &Server{DataDir: opts.DataDir, Port: port, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func setUser(cmd *exec.Cmd, as *runAs) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if as != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: as.uid, Gid: as.gid}
		cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("postgres exited during start: %v (is port %d free?)", err, s.Port)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgconn.Connect(pingCtx, s.URL("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("postgres did not start within 30 s")
}

// Stop shuts the server down quickly (fast shutdown) and waits for it.
// Calling it again does nothing.
func (s *Server) Stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	s.stop.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	return nil
}

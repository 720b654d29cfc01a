// Package pgserver runs a private PostgreSQL from the machine's own server
// binaries: the embedded database of `go run ./cmd/api` and the throwaway
// one of the tests. PostgreSQL refuses to run as root, so as root the server
// runs as an unprivileged user, in a directory that user can reach.
package pgserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	// Log receives the server's output; nil discards it. The last lines
	// are kept too, to say why a start failed.
	Log io.Writer
	// Throwaway turns fsync off: faster, but a crash of the machine may
	// lose or corrupt the data. For test databases only; by default the
	// server is as durable as any PostgreSQL.
	Throwaway bool
}

// Server is a running PostgreSQL.
type Server struct {
	DataDir string
	Port    int
	cmd     *exec.Cmd
	output  *tail
	// exited is closed once the process has ended; waitErr is its status.
	exited  chan struct{}
	waitErr error
	stop    sync.Once
	stopErr error
}

// URL connects as the superuser "postgres" over TCP.
func (s *Server) URL(database string) string {
	return URL(s.Port, database)
}

// URL connects as the superuser "postgres" to the server on port.
func URL(port int, database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, database)
}

// ErrNoBinaries says that no PostgreSQL server is installed, and how to get
// one.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb and postgres, in /usr/lib/postgresql/*/bin, Homebrew or PATH): " +
	"install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql), " +
	"or run `docker compose up`, or set DATABASE_URL")

// InUseError says that another server already runs on the data directory.
type InUseError struct {
	DataDir string
	// PID is the other server's, from its postmaster.pid (0 if unreadable).
	PID int
}

func (e *InUseError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("another PostgreSQL is using %s", e.DataDir)
	}
	return fmt.Sprintf("another PostgreSQL (pid %d, from %s) is using %s",
		e.PID, filepath.Join(e.DataDir, "postmaster.pid"), e.DataDir)
}

// binGlobs are where server binaries are looked for before PATH: Debian's
// versioned directories, then Homebrew's (Apple silicon and Intel).
var binGlobs = []string{
	"/usr/lib/postgresql/*/bin",
	"/opt/homebrew/opt/postgresql*/bin",
	"/usr/local/opt/postgresql*/bin",
}

// BinDir finds initdb and postgres: the newest version directory, else
// PATH.
func BinDir() (string, error) {
	for _, glob := range binGlobs {
		dirs, _ := filepath.Glob(glob)
		sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
		for _, d := range dirs {
			if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
				return d, nil
			}
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", ErrNoBinaries
}

// versionOf reads the major version in /usr/lib/postgresql/17/bin or
// /opt/homebrew/opt/postgresql@17/bin.
func versionOf(binDir string) int {
	name := filepath.Base(filepath.Dir(binDir))
	v, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(name, "postgresql"), "@"))
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

// Running reports the port of a server already running on dataDir, read
// from its postmaster.pid, when its process is alive.
func Running(dataDir string) (port int, ok bool) {
	pid, port := readPidFile(dataDir)
	if pid <= 0 || port <= 0 || !alive(pid) {
		return 0, false
	}
	return port, true
}

// InUse returns an *InUseError when a server runs on dataDir, and nil
// otherwise; Start would fail the same way, later.
func InUse(dataDir string) error {
	pid, _ := readPidFile(dataDir)
	if pid <= 0 || !alive(pid) {
		return nil
	}
	return &InUseError{DataDir: dataDir, PID: pid}
}

// readPidFile reads the pid (line 1) and port (line 4) of postmaster.pid.
func readPidFile(dataDir string) (pid, port int) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, 0
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 0 {
		pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	}
	if len(lines) > 3 {
		port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	return pid, port
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Start initialises the data directory if needed and starts the server,
// waiting until it accepts connections. It returns within about 30 s
// whatever happens, or as soon as ctx ends; the error of a server that
// exited says why, from the server's own output.
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
		args := []string{"-D", opts.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"}
		if opts.Throwaway {
			args = append(args, "--no-sync")
		}
		initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), args...)
		setUser(initdb, as)
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	// A free port may be taken between choosing and binding it: choose
	// again a few times.
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		s, err := start(ctx, bin, as, port, opts)
		var bind *bindError
		if errors.As(err, &bind) && opts.Port == 0 && attempt < 3 {
			continue
		}
		return s, err
	}
}

func start(ctx context.Context, bin string, as *runAs, port int, opts Options) (*Server, error) {
	args := []string{"-D", opts.DataDir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "max_connections=200"}
	if opts.Throwaway {
		// Test data only: speed over surviving a power cut.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	output := &tail{max: 16 << 10}
	var w io.Writer = output
	if opts.Log != nil {
		w = io.MultiWriter(opts.Log, output)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// The server's children hold its output pipe too: never wait on them
	// long once the server itself has exited.
	cmd.WaitDelay = 5 * time.Second
	setUser(cmd, as)
	endWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &Server{DataDir: opts.DataDir, Port: port, cmd: cmd, output: output, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
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
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgconn.Connect(pingCtx, s.URL("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-s.exited:
			return s.exitError()
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("postgres did not accept connections within 30 s%s", s.output.cause(": "))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// bindError is a server that could not listen on its port.
type bindError struct{ msg string }

func (e *bindError) Error() string { return e.msg }

// exitError says why the server exited during its start, from its output.
func (s *Server) exitError() error {
	lines := s.output.lines()
	for _, l := range lines {
		if strings.Contains(l, `lock file "postmaster.pid" already exists`) {
			pid, _ := readPidFile(s.DataDir)
			return &InUseError{DataDir: s.DataDir, PID: pid}
		}
	}
	cause := s.output.cause("")
	if cause == "" {
		cause = fmt.Sprint(s.waitErr)
	}
	msg := "postgres exited during start: " + cause
	for _, l := range lines {
		if strings.Contains(l, "could not bind") || strings.Contains(l, "could not create any TCP/IP sockets") {
			return &bindError{msg: fmt.Sprintf("%s (port %d)", msg, s.Port)}
		}
	}
	return errors.New(msg)
}

// Stop shuts the server down quickly (fast shutdown) and waits for it, at
// most about 20 s. Calling it again, or on a server that has already
// exited, does nothing more.
func (s *Server) Stop() error {
	s.stop.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
			return
		case <-time.After(15 * time.Second):
		}
		_ = s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.stopErr = fmt.Errorf("postgres (pid %d) did not exit after SIGKILL", s.cmd.Process.Pid)
		}
	})
	return s.stopErr
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(t.buf))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// cause is the server's own account of a failure: its FATAL or PANIC
// lines with the HINT that follows, else its last line; prefix goes before
// it when there is one.
func (t *tail) cause(prefix string) string {
	lines := t.lines()
	var parts []string
	for i, l := range lines {
		// Refused connection attempts of waitReady itself are no cause.
		if strings.Contains(l, "the database system is starting up") || strings.Contains(l, "the database system is shutting down") {
			continue
		}
		for _, level := range []string{"FATAL:", "PANIC:"} {
			if at := strings.Index(l, level); at >= 0 {
				parts = append(parts, strings.Join(strings.Fields(l[at:]), " "))
				if i+1 < len(lines) {
					if h := strings.Index(lines[i+1], "HINT:"); h >= 0 {
						parts = append(parts, strings.Join(strings.Fields(lines[i+1][h:]), " "))
					}
				}
			}
		}
	}
	if len(parts) == 0 && len(lines) > 0 {
		parts = []string{lines[len(lines)-1]}
	}
	if len(parts) == 0 {
		return ""
	}
	return prefix + strings.Join(parts, " ")
}

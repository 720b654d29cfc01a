package main

// These keep the Dockerfile, the Compose file and the proxy configuration
// consistent with what the binary reads and does, without a container
// engine; deploy/compose-test.sh (CI's last step) runs them for real.

import (
	"bufio"
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"epicevents/internal/seal"
)

const repoRoot = "../.."

func repoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// namesRead lists every environment variable the binary asks for: the
// configuration, and the healthcheck command's HTTP_ADDR.
func namesRead(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"HTTP_ADDR": true}
	_, _ = loadConfig(func(name string) string { names[name] = true; return "" })
	return names
}

func defaultHTTPPort(t *testing.T) string {
	t.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// imageHasNoHost holds for references by name only ("postgres:18-alpine",
// "library/golang"), not for ones naming a registry ("host.tld/x", "host:5000/x").
func imageHasNoHost(ref string) bool {
	first, _, found := strings.Cut(ref, "/")
	return !found || (!strings.ContainsAny(first, ".:") && first != "localhost")
}

type dockerInstruction struct {
	cmd, args string
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// continued lines and skipping comments.
func parseDockerfile(t *testing.T, text string) [][]dockerInstruction {
	t.Helper()
	var stages [][]dockerInstruction
	var pending string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line = pending + line
		pending = ""
		cmd, args, _ := strings.Cut(line, " ")
		in := dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %s", line)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

func instructions(stage []dockerInstruction, cmd string) []string {
	var out []string
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func execForm(t *testing.T, args string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		t.Fatalf("not in exec form %q: %v", args, err)
	}
	return out
}

func TestDockerfileMatchesTheBinary(t *testing.T) {
	t.Parallel()
	stages := parseDockerfile(t, repoFile(t, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stages", len(stages))
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(repoFile(t, "go.mod"))[1]
	for _, stage := range stages {
		image := strings.Fields(stage[0].args)[0]
		if !imageHasNoHost(image) {
			t.Fatalf("image %q names a registry host", image)
		}
		if strings.HasPrefix(image, "golang:") && !strings.HasPrefix(image, "golang:"+goVersion) {
			t.Fatalf("build image %s, go.mod says go %s", image, goVersion)
		}
	}

	build := strings.Join(instructions(stages[0], "RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/api"} {
		if !strings.Contains(build, want) {
			t.Fatalf("the build does not use %s:\n%s", want, build)
		}
	}
	_ = version // the variable the build stamps

	final := stages[len(stages)-1]
	if base := strings.Fields(final[0].args)[0]; base != "scratch" && !strings.Contains(base, "distroless") {
		t.Fatalf("final image based on %s, want a minimal base", base)
	}
	users := instructions(final, "USER")
	if len(users) == 0 {
		t.Fatal("the final image runs as root")
	}
	if uid, _, _ := strings.Cut(users[len(users)-1], ":"); uid == "0" || uid == "root" {
		t.Fatalf("the final image runs as %s", users[len(users)-1])
	}
	copies := strings.Join(instructions(final, "COPY"), "\n")
	if !strings.Contains(copies, "ca-certificates.crt") {
		t.Fatal("the final image has no CA certificates (Sentry is reached over TLS)")
	}

	entry := execForm(t, instructions(final, "ENTRYPOINT")[0])
	out := regexp.MustCompile(`-o (\S+) \./cmd/api`).FindStringSubmatch(build)
	if out == nil || !strings.Contains(copies, out[1]+" "+entry[0]) {
		t.Fatalf("ENTRYPOINT %s is not the binary built at %v:\n%s", entry[0], out, copies)
	}
	if cmd := execForm(t, instructions(final, "CMD")[0]); !slices.Equal(cmd, []string{"serve"}) {
		t.Fatalf("CMD %v", cmd)
	}

	port := defaultHTTPPort(t)
	if exposed := instructions(final, "EXPOSE"); !slices.Equal(exposed, []string{port}) {
		t.Fatalf("EXPOSE %v, the binary listens on %s by default", exposed, port)
	}
	read := namesRead(t)
	env := map[string]string{}
	for _, e := range instructions(final, "ENV") {
		name, value, _ := strings.Cut(e, "=")
		if !read[name] {
			t.Fatalf("the image sets %s, which the binary does not read", name)
		}
		env[name] = value
	}
	if addr := env["HTTP_ADDR"]; addr != "" && !strings.HasSuffix(addr, ":"+port) {
		t.Fatalf("the image sets HTTP_ADDR=%s but exposes %s", addr, port)
	}

	// The HEALTHCHECK runs the healthcheck subcommand, which follows /readyz.
	hc := instructions(final, "HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatal("no HEALTHCHECK")
	}
	_, cmdPart, _ := strings.Cut(hc[0], "CMD ")
	check := execForm(t, cmdPart)
	if check[0] != entry[0] || !slices.Equal(check[1:], []string{"healthcheck"}) {
		t.Fatalf("HEALTHCHECK runs %v", check)
	}
	for _, c := range []struct {
		status int
		ok     bool
	}{{http.StatusOK, true}, {http.StatusServiceUnavailable, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.WriteHeader(c.status)
		}))
		env := map[string]string{"HTTP_ADDR": srv.Listener.Addr().String()}
		err := run(context.Background(), check[1:], envOf(env), nil, nil)
		srv.Close()
		if (err == nil) != c.ok {
			t.Fatalf("healthcheck with /readyz %d: %v", c.status, err)
		}
	}
}

func TestDockerignoreKeepsSecretsOutAndEmbeddedFilesIn(t *testing.T) {
	t.Parallel()
	var ignored []string
	for _, line := range strings.Split(repoFile(t, ".dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, strings.TrimPrefix(line, "/"))
		}
	}
	for _, must := range []string{".git", ".env", ".data", "secrets"} {
		if !slices.Contains(ignored, must) {
			t.Fatalf(".dockerignore does not exclude %s", must)
		}
	}
	isIgnored := func(rel string) bool {
		parts := strings.Split(filepath.ToSlash(rel), "/")
		for i := range parts {
			for _, pattern := range ignored {
				if ok, _ := path.Match(pattern, strings.Join(parts[:i+1], "/")); ok {
					return true
				}
			}
		}
		return false
	}
	// Files the binary embeds must reach the build.
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		if d.IsDir() && (rel == ".git" || rel == "tools" || rel == ".data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		if isIgnored(rel) {
			t.Errorf("source %s is excluded from the build context", rel)
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(src), "\n") {
			patterns, ok := strings.CutPrefix(strings.TrimSpace(line), "//go:embed ")
			if !ok {
				continue
			}
			for _, pattern := range strings.Fields(patterns) {
				target := filepath.Join(filepath.Dir(rel), strings.TrimPrefix(pattern, "all:"))
				if isIgnored(target) {
					t.Errorf("%s embeds %s, which .dockerignore excludes", rel, target)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes  map[string]any `yaml:"volumes"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet  string `yaml:"subnet"`
				IPRange string `yaml:"ip_range"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context string `yaml:"context"`
	} `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	Secrets     []string          `yaml:"secrets"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Restart         string    `yaml:"restart"`
	Profiles        []string  `yaml:"profiles"`
	Volumes         []string  `yaml:"volumes"`
	Ports           []string  `yaml:"ports"`
	StopGracePeriod string    `yaml:"stop_grace_period"`
	Networks        yaml.Node `yaml:"networks"`
}

// interpolate applies Compose's ${NAME:-default} with nothing set.
var interpolation = regexp.MustCompile(`\$\{([A-Z_]+)(:-([^}]*))?\}`)

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	text := interpolation.ReplaceAllString(repoFile(t, "docker-compose.yml"), "$3")
	var c composeFile
	if err := yaml.Unmarshal([]byte(text), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// apiServices are the services built from this repository.
func apiServices(c composeFile) []string {
	var out []string
	for name, s := range c.Services {
		if s.Build != nil && s.Build.Context == "." {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestComposeRunsTheAPIWithItsSecretsAndAHealthyDatabase(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	apis := apiServices(c)
	if len(apis) == 0 {
		t.Fatal("no service builds the API")
	}
	for name, s := range c.Services {
		if s.Image == "" || !imageHasNoHost(s.Image) {
			t.Fatalf("service %s: image %q", name, s.Image)
		}
		if s.Restart == "" {
			t.Fatalf("service %s has no restart policy", name)
		}
	}

	db, ok := c.Services["db"]
	if !ok || db.Healthcheck == nil || len(db.Healthcheck.Test) == 0 {
		t.Fatal("no db service with a health check")
	}
	major, _ := strconv.Atoi(regexp.MustCompile(`^postgres:(\d+)`).FindStringSubmatch(db.Image)[1])
	if major < 18 {
		t.Fatalf("PostgreSQL %d is not a current major version", major)
	}
	// 18+ images keep data under /var/lib/postgresql/<major>/docker.
	volume := ""
	for _, v := range db.Volumes {
		if src, dst, _ := strings.Cut(v, ":"); dst == "/var/lib/postgresql" && c.Volumes != nil {
			if _, named := c.Volumes[src]; named {
				volume = src
			}
		}
	}
	if volume == "" {
		t.Fatalf("the database has no named volume at /var/lib/postgresql: %v", db.Volumes)
	}
	if !strings.Contains(repoFile(t, ".gitignore"), "secrets/") {
		t.Fatal("secrets/ is not ignored by git")
	}
	script := repoFile(t, "deploy/make-secrets.sh")
	for name, s := range c.Secrets {
		if !strings.HasPrefix(s.File, "./secrets/") {
			t.Fatalf("secret %s is read from %s, outside ./secrets", name, s.File)
		}
		if !strings.Contains(script, "make_secret "+name+" ") {
			t.Fatalf("deploy/make-secrets.sh does not create %s", name)
		}
	}

	read := namesRead(t)
	port := defaultHTTPPort(t)
	published := false
	for _, name := range apis {
		s := c.Services[name]
		var dependsOn map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := s.DependsOn.Decode(&dependsOn); err != nil || dependsOn["db"].Condition != "service_healthy" {
			t.Fatalf("%s does not wait for a healthy database: %v", name, err)
		}
		for _, p := range s.Ports {
			published = published || strings.HasSuffix(p, ":"+port)
		}

		// Every variable is one the binary reads; every file one of the
		// service's secrets, the same as the database's for its password.
		env := map[string]string{}
		secretsDir := t.TempDir()
		for k, v := range s.Environment {
			if !read[k] {
				t.Fatalf("%s sets %s, which the binary does not read", name, k)
			}
			env[k] = v
			if !strings.HasSuffix(k, "_FILE") {
				continue
			}
			secret, ok := strings.CutPrefix(v, "/run/secrets/")
			if _, declared := c.Secrets[secret]; !ok || !declared || !slices.Contains(s.Secrets, secret) {
				t.Fatalf("%s: %s=%s is not one of its secrets", name, k, v)
			}
			// Stand-in values, as make-secrets.sh would write them.
			local := filepath.Join(secretsDir, secret)
			value := strings.Repeat("x", 40)
			if secret == "secrets_key" { // the base64 of 32 bytes
				value = strings.Repeat("x", 43)
			}
			if err := os.WriteFile(local, []byte(value+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			env[k] = local
		}
		if db.Environment["POSTGRES_PASSWORD_FILE"] != s.Environment["DATABASE_PASSWORD_FILE"] {
			t.Fatalf("%s and the database read the password from different files", name)
		}
		cfg, err := loadServeConfig(envOf(env))
		if err != nil {
			t.Fatalf("%s: the binary refuses its configuration: %v", name, err)
		}
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		password, _ := u.User.Password()
		if u.Hostname() != "db" || u.User.Username() != db.Environment["POSTGRES_USER"] ||
			strings.TrimPrefix(u.Path, "/") != db.Environment["POSTGRES_DB"] || password != strings.Repeat("x", 40) {
			t.Fatalf("%s: DATABASE_URL does not reach the db service as its user", name)
		}
		if len(cfg.JWTSecret) < 32 || cfg.BootstrapPassword == "" {
			t.Fatalf("%s: secrets not read", name)
		}
		if !strings.HasSuffix(cfg.HTTPAddr, ":"+port) {
			t.Fatalf("%s listens on %s, the image exposes %s", name, cfg.HTTPAddr, port)
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || grace <= cfg.ShutdownDelay+cfg.ShutdownTimeout {
			t.Fatalf("%s: stop_grace_period %q must exceed SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT (%s)", name,
				s.StopGracePeriod, cfg.ShutdownDelay+cfg.ShutdownTimeout)
		}
	}
	if !published {
		t.Fatalf("no API service publishes port %s", port)
	}
}

// The replicas' secrets are checked by
// TestComposeRunsTheAPIWithItsSecretsAndAHealthyDatabase.
func TestScaledProfileRoundRobinsOverThreeReplicasBehindATrustedProxy(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	var replicas []string
	for _, name := range apiServices(c) {
		if p := c.Services[name].Profiles; len(p) == 0 || slices.Contains(p, "scaled") {
			replicas = append(replicas, name)
		}
	}
	if len(replicas) != 3 {
		t.Fatalf("the scaled profile runs %d API replicas: %v", len(replicas), replicas)
	}
	proxy, ok := c.Services["proxy"]
	if !ok || !slices.Contains(proxy.Profiles, "scaled") {
		t.Fatal("no proxy service in the scaled profile")
	}
	if !slices.Contains(proxy.Volumes, "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro") {
		t.Fatalf("the proxy does not read deploy/Caddyfile: %v", proxy.Volumes)
	}

	caddy := repoFile(t, "deploy/Caddyfile")
	directive := func(name string) []string {
		m := regexp.MustCompile(`(?m)^\s*` + name + `\s+(.*)$`).FindStringSubmatch(caddy)
		if m == nil {
			t.Fatalf("Caddyfile has no %s", name)
		}
		return strings.Fields(strings.TrimSuffix(strings.TrimSpace(m[1]), "{"))
	}
	port := defaultHTTPPort(t)
	var want []string
	for _, r := range replicas {
		want = append(want, r+":"+port)
	}
	upstreams := directive("reverse_proxy")
	slices.Sort(upstreams)
	slices.Sort(want)
	if !slices.Equal(upstreams, want) {
		t.Fatalf("the proxy sends to %v, the replicas are %v", upstreams, want)
	}
	if p := directive("lb_policy"); p[0] != "round_robin" {
		t.Fatalf("lb_policy %v", p)
	}
	if u := directive("health_uri"); u[0] != "/readyz" {
		t.Fatalf("health_uri %v", u)
	}
	interval, err := time.ParseDuration(directive("health_interval")[0])
	if err != nil {
		t.Fatal(err)
	}

	var networks map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	}
	if err := proxy.Networks.Decode(&networks); err != nil {
		t.Fatal(err)
	}
	for netName, n := range networks {
		addr, err := netip.ParseAddr(n.IPv4)
		if err != nil {
			t.Fatalf("the proxy has no fixed address on %s: %v", netName, err)
		}
		ipam := c.Networks[netName].IPAM.Config[0]
		subnet := netip.MustParsePrefix(ipam.Subnet)
		if !subnet.Contains(addr) {
			t.Fatalf("proxy address %s outside %s", addr, subnet)
		}
		// Compose hands the other containers addresses from ip_range: the
		// proxy's must not be one of them, or a replica or the database
		// may take it first.
		dynamic, err := netip.ParsePrefix(ipam.IPRange)
		if err != nil {
			t.Fatalf("network %s has no ip_range keeping the proxy's address out: %v", netName, err)
		}
		if dynamic.Contains(addr) || !subnet.Contains(dynamic.Addr()) || dynamic.Bits() < subnet.Bits() {
			t.Fatalf("ip_range %s of %s must lie inside the subnet and leave out the proxy's %s", dynamic, subnet, addr)
		}
		// Nor may it hand out the subnet's broadcast address, which a
		// container cannot be reached at.
		broadcast := lastAddr(subnet)
		if dynamic.Contains(broadcast) {
			t.Fatalf("ip_range %s of %s holds the broadcast address %s", dynamic, subnet, broadcast)
		}
		for _, r := range replicas {
			env := map[string]string{}
			for k, v := range c.Services[r].Environment {
				if !strings.HasSuffix(k, "_FILE") { // secrets are checked above
					env[k] = v
				}
			}
			cfg, err := loadConfig(envOf(env))
			if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			if !slices.ContainsFunc(cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(addr) }) {
				t.Fatalf("%s does not trust the proxy at %s: %v", r, addr, cfg.TrustedProxies)
			}
			// Drained replicas leave rotation before their listener closes.
			if cfg.ShutdownDelay < interval {
				t.Fatalf("%s: SHUTDOWN_DELAY %s is shorter than the proxy's health-check interval %s", r, cfg.ShutdownDelay, interval)
			}
		}
	}
}

// The operations guide documents every variable the binary reads.
func TestOperationsGuideListsEveryVariable(t *testing.T) {
	t.Parallel()
	var docs strings.Builder
	for _, name := range []string{"README.md"} {
		if b, err := os.ReadFile(filepath.Join(repoRoot, name)); err == nil {
			docs.Write(b)
		}
	}
	var missing []string
	for name := range namesRead(t) {
		base := strings.TrimSuffix(name, "_FILE")
		if !strings.Contains(docs.String(), "| `"+base+"`") {
			missing = append(missing, base)
		}
	}
	slices.Sort(missing)
	if missing = slices.Compact(missing); len(missing) > 0 {
		t.Fatalf("the environment table of README.md lacks %v", missing)
	}
}

func TestMakeSecretsCreatesEachSecretOnceAndKeepsIt(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "deploy", "make-secrets.sh")
	if err := os.WriteFile(script, []byte(repoFile(t, "deploy/make-secrets.sh")), 0o755); err != nil {
		t.Fatal(err)
	}
	runScript := func() map[string]string {
		if out, err := exec.Command(sh, script).CombinedOutput(); err != nil {
			t.Fatalf("make-secrets.sh: %v\n%s", err, out)
		}
		values := map[string]string{}
		for name := range loadCompose(t).Secrets {
			p := filepath.Join(dir, "secrets", name)
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o644 {
				t.Fatalf("%s has mode %v", name, st.Mode().Perm())
			}
			b, _ := os.ReadFile(p)
			if len(b) < 24 || strings.ContainsAny(string(b), "\n/+= ") {
				t.Fatalf("%s: %d bytes, want a long URL-safe value", name, len(b))
			}
			values[name] = string(b)
		}
		return values
	}
	first := runScript()
	if st, _ := os.Stat(filepath.Join(dir, "secrets")); st.Mode().Perm() != 0o700 {
		t.Fatalf("secrets/ has mode %v", st.Mode().Perm())
	}
	if len(first["jwt_secret"]) < 32 {
		t.Fatal("the JWT secret is shorter than the binary accepts")
	}
	if _, err := seal.ParseKey(first["secrets_key"]); err != nil {
		t.Fatalf("the secrets key is not one the binary accepts: %v", err)
	}
	if again := runScript(); !maps.Equal(first, again) {
		t.Fatal("a second run changed existing secrets")
	}
}

// lastAddr is the highest address of an IPv4 prefix (its broadcast).
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := 32 - p.Bits()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= 1<<host - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

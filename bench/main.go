// Command bench measures the API against a bare ceiling, side by side, in
// one interleaved run on one PostgreSQL. See BENCHMARKS.md.
//
//	go run ./bench -db postgres://postgres@127.0.0.1:5432/epic_bench?sslmode=disable
//
// It builds the API, seeds the database when it is empty (api seed), starts
// the API and the bare handler (bench bare), measures the API's readiness,
// the first and a deep page of every list filter and sort one request at a
// time, then loads each scenario against both servers in turn, for several
// rounds, and prints one table. Loads go to 127.0.0.1 only and are bounded
// by -duration × -rounds per scenario.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		if err := runBare(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bare:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// The password every seeded login shares (internal/seed.Password).
const seedPassword = "seeded-collaborator-password"

type options struct {
	db, apiBin, pprof, only string
	lists                   string
	duration                time.Duration
	rounds, workers, deep   int
	skipLists, skipLoad     bool
}

func run() error {
	var o options
	flag.StringVar(&o.db, "db", "postgres://postgres@127.0.0.1:5432/epic_bench?sslmode=disable", "database (seeded when empty)")
	flag.StringVar(&o.apiBin, "api", "", "API binary (built from ./cmd/api when empty)")
	flag.StringVar(&o.pprof, "pprof", "", "PPROF_ADDR for the API, to profile it during the run")
	flag.StringVar(&o.only, "only", "", "run only the load scenarios whose name matches this regexp")
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "length of one attack")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of interleaved attacks")
	flag.IntVar(&o.workers, "workers", 32, "concurrent connections per attack")
	flag.IntVar(&o.deep, "deep", 50, "page number of the deep pages")
	flag.BoolVar(&o.skipLists, "skip-lists", false, "skip the one-at-a-time list latencies")
	flag.StringVar(&o.lists, "lists", "", "time only the lists whose path matches this regexp")
	flag.BoolVar(&o.skipLoad, "skip-load", false, "skip the load scenarios")
	flag.Parse()
	if u, err := url.Parse(o.db); err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		return errors.New("-db must be a database on 127.0.0.1")
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "epic-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.apiBin == "" {
		o.apiBin = filepath.Join(tmp, "api")
		build := exec.Command("go", "build", "-o", o.apiBin, "./cmd/api")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build the API: %w", err)
		}
	}
	secret := randomHex(32)
	env := append(os.Environ(), "DATABASE_URL="+o.db, "JWT_SECRET="+secret, "SECRETS_KEY="+randomHex(32),
		"LOGIN_ACCOUNT_LIMIT=1000000", "LOGIN_ADDRESS_LIMIT=1000000")

	if empty, err := databaseEmpty(ctx, o.db); err != nil {
		return err
	} else if empty {
		fmt.Fprintln(os.Stderr, "seeding", o.db)
		seed := exec.Command(o.apiBin, "seed")
		seed.Env, seed.Stdout, seed.Stderr = env, os.Stderr, os.Stderr
		if err := seed.Run(); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}

	apiAddr := freeAddr()
	apiEnv := append(env, "HTTP_ADDR="+apiAddr)
	if o.pprof != "" {
		apiEnv = append(apiEnv, "PPROF_ADDR="+o.pprof)
	}
	api := exec.Command(o.apiBin, "serve")
	api.Env = apiEnv
	apiLog, err := os.Create(filepath.Join(tmp, "api.log"))
	if err != nil {
		return err
	}
	api.Stdout, api.Stderr = apiLog, apiLog
	started := time.Now()
	if err := api.Start(); err != nil {
		return err
	}
	defer stop(api)
	apiURL := "http://" + apiAddr
	if err := waitReady(apiURL+"/readyz", 20*time.Second); err != nil {
		return fmt.Errorf("API: %w (log in %s)", err, apiLog.Name())
	}
	readyAfter := time.Since(started)
	idleRSS := rss(api.Process.Pid, "VmRSS")

	self, err := os.Executable()
	if err != nil {
		return err
	}
	bare := exec.Command(self, "bare", "-db", o.db)
	bare.Env = env
	bare.Stderr = os.Stderr
	out, err := bare.StdoutPipe()
	if err != nil {
		return err
	}
	if err := bare.Start(); err != nil {
		return err
	}
	defer stop(bare)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	bareURL := "http://" + strings.TrimSpace(line)

	f, err := prepare(apiURL)
	if err != nil {
		return err
	}
	fmt.Printf("## Run of %s\n\nAPI ready %s after start (migrated, seeded database); idle RSS %s.\n\n",
		time.Now().UTC().Format(time.RFC3339), readyAfter.Round(time.Millisecond), mib(idleRSS))

	if !o.skipLists {
		lists, err := regexp.Compile(o.lists)
		if err != nil {
			return fmt.Errorf("-lists: %w", err)
		}
		if err := listLatencies(apiURL, f, o.deep, lists); err != nil {
			return err
		}
	}
	if !o.skipLoad {
		if err := load(o, apiURL, bareURL, f, api.Process.Pid, bare.Process.Pid); err != nil {
			return err
		}
	}
	fmt.Printf("\nAPI peak RSS over the whole run: %s.\n", mib(rss(api.Process.Pid, "VmHWM")))
	return nil
}

// fixture is what the scenarios need: tokens and record ids.
type fixture struct {
	manager, commercial, support          string // access tokens
	commercialID, supportID               string
	client, contract, event, collaborator string
	contracts                             []string // to patch, one row each in turn
	startsAfter                           string
}

func prepare(apiURL string) (*fixture, error) {
	f := &fixture{startsAfter: time.Now().UTC().Add(-30 * 24 * time.Hour).Format(time.RFC3339)}
	for _, who := range []struct {
		user  string
		token *string
	}{{"manager1", &f.manager}, {"commercial1", &f.commercial}, {"support1", &f.support}} {
		var pair struct {
			AccessToken string `json:"access_token"`
		}
		if err := call(apiURL, "POST", "/v1/auth/login", "", map[string]string{"username": who.user, "password": seedPassword}, &pair); err != nil {
			return nil, fmt.Errorf("login %s: %w", who.user, err)
		}
		*who.token = pair.AccessToken
	}
	var me struct{ ID string }
	if err := call(apiURL, "GET", "/v1/me", f.commercial, nil, &me); err != nil {
		return nil, err
	}
	f.commercialID = me.ID
	if err := call(apiURL, "GET", "/v1/me", f.support, nil, &me); err != nil {
		return nil, err
	}
	f.supportID = me.ID
	var page struct {
		Data []struct {
			ID         string `json:"id"`
			ContractID string `json:"contract_id"`
			Client     struct {
				ID string `json:"id"`
			} `json:"client"`
		} `json:"data"`
	}
	if err := call(apiURL, "GET", "/v1/events?commercial=me&limit=1", f.commercial, nil, &page); err != nil || len(page.Data) == 0 {
		return nil, fmt.Errorf("an event of commercial1: %v", err)
	}
	f.event, f.contract, f.client = page.Data[0].ID, page.Data[0].ContractID, page.Data[0].Client.ID
	if err := call(apiURL, "GET", "/v1/contracts?limit=100", f.manager, nil, &page); err != nil {
		return nil, err
	}
	for _, c := range page.Data {
		f.contracts = append(f.contracts, c.ID)
	}
	if err := call(apiURL, "GET", "/v1/collaborators?limit=1", f.manager, nil, &page); err != nil || len(page.Data) == 0 {
		return nil, fmt.Errorf("a collaborator: %v", err)
	}
	f.collaborator = page.Data[0].ID
	return f, nil
}

// listCase is one filter/sort combination of a list.
type listCase struct{ path, token string }

func listCases(f *fixture) []listCase {
	var cases []listCase
	add := func(token, collection string, queries ...string) {
		for _, q := range queries {
			cases = append(cases, listCase{"/v1/" + collection + "?" + q, token})
		}
	}
	withSorts := func(filters, sorts []string) []string {
		var out []string
		for _, s := range sorts {
			out = append(out, "sort="+s)
			for _, fl := range filters {
				out = append(out, fl+"&sort="+s)
			}
		}
		return out
	}
	c := f.commercial
	add(f.manager, "collaborators", withSorts([]string{"department=support", "active=true", "q=mar", "q=bernard", "q=zzzz",
		"active=true&q=mar"}, []string{"last_name", "-created_at"})...)
	// Searches of the seeded data: a last name (1 client in 28), a company
	// word (1 in 8, none among those without a company, which sort first by
	// company name), a first name (1 in 20, the last of the full-name
	// order), one full name (1 in 560), an email (11 clients), nothing.
	searches := []string{"q=bernard", "q=cool", "q=zo%C3%A9", "q=elena%20bernard", "q=client12345", "q=zzzz"}
	filters := []string{"commercial=me", "commercial=" + f.commercialID}
	filters = append(filters, searches...)
	filters = append(filters, "commercial=me&q=cool", "commercial="+f.commercialID+"&q=bernard", "commercial=me&q=zzzz")
	add(c, "clients", withSorts(filters, []string{"-created_at", "full_name", "company_name", "-last_contact_at"})...)
	add(c, "contracts", withSorts([]string{"client_id=" + f.client, "commercial=me", "signed=true", "signed=false",
		"fully_paid=true", "fully_paid=false", "commercial=me&signed=false", "commercial=me&fully_paid=false",
		"client_id=" + f.client + "&signed=false"}, []string{"-created_at", "-amount_due"})...)
	sa := "starts_after=" + url.QueryEscape(f.startsAfter)
	sb := "starts_before=" + url.QueryEscape(time.Now().UTC().Add(365*24*time.Hour).Format(time.RFC3339))
	add(f.support, "events", withSorts([]string{"contract_id=" + f.contract, "client_id=" + f.client, "commercial=" + f.commercialID,
		"support=me", "support=none", "support=" + f.supportID, sa, sb, "support=me&" + sa, "support=none&" + sa,
		"commercial=" + f.commercialID + "&" + sa, "client_id=" + f.client + "&" + sa}, []string{"start_at", "-start_at"})...)
	return cases
}

// listLatencies prints, one request at a time, the median time of the
// first page and of a deep page (or the last one, for short lists).
func listLatencies(apiURL string, f *fixture, deep int, wanted *regexp.Regexp) error {
	fmt.Printf("### Lists, one request at a time (limit 20, median of 9, the two pages alternating)\n\n")
	fmt.Printf("| list | first page | page reached | that page | ratio |\n|---|---:|---:|---:|---:|\n")
	worst := 0.0
	for _, lc := range listCases(f) {
		if !wanted.MatchString(shorten(lc.path)) {
			continue
		}
		cursor, reached := "", 1
		for reached < deep {
			var page struct {
				Next *string `json:"next_cursor"`
			}
			if err := call(apiURL, "GET", withCursor(lc.path, cursor), lc.token, nil, &page); err != nil {
				return err
			}
			if page.Next == nil {
				break
			}
			cursor, reached = *page.Next, reached+1
		}
		// The two pages alternate, so that the noise of a shared machine
		// falls on both alike.
		var firsts, laters []time.Duration
		for range 9 {
			t, err := timed(apiURL, lc.path, lc.token)
			if err != nil {
				return err
			}
			firsts = append(firsts, t)
			if t, err = timed(apiURL, withCursor(lc.path, cursor), lc.token); err != nil {
				return err
			}
			laters = append(laters, t)
		}
		first, later := medianOf(firsts), medianOf(laters)
		ratio := float64(later) / float64(first)
		worst = max(worst, ratio)
		fmt.Printf("| `%s` | %s | %d | %s | %.2f |\n", shorten(lc.path), ms(first), reached, ms(later), ratio)
	}
	fmt.Printf("\nWorst later/first ratio: %.2f\n\n", worst)
	return nil
}

func withCursor(path, cursor string) string {
	if cursor == "" {
		return path
	}
	return path + "&cursor=" + url.QueryEscape(cursor)
}

var idPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func shorten(path string) string {
	path = idPattern.ReplaceAllString(path, "{id}")
	if i := strings.Index(path, "starts_after="); i >= 0 {
		path = regexp.MustCompile(`starts_after=[^&]*`).ReplaceAllString(path, "starts_after={t}")
	}
	return regexp.MustCompile(`starts_before=[^&]*`).ReplaceAllString(path, "starts_before={t}")
}

func timed(apiURL, path, token string) (time.Duration, error) {
	t0 := time.Now()
	if err := call(apiURL, "GET", path, token, nil, nil); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return time.Since(t0), nil
}

func medianOf(times []time.Duration) time.Duration {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2]
}

// scenario is one load: a target for the API and, when the bare ceiling
// does the same, for it too.
type scenario struct {
	name   string
	target func(base string) vegeta.Targeter
	bare   bool
	// workers overrides -workers (logins: bcrypt takes a core for tens of
	// milliseconds, and 32 at once only queue up to the request timeout).
	workers int
}

func get(path, token string) func(string) vegeta.Targeter {
	return func(base string) vegeta.Targeter {
		h := http.Header{"Authorization": {"Bearer " + token}}
		return func(t *vegeta.Target) error {
			t.Method, t.URL, t.Header = "GET", base+path, h
			return nil
		}
	}
}

func scenarios(apiURL string, f *fixture, deep int, wanted func(string) bool) ([]scenario, error) {
	deepCursor := func(path, token string) (string, error) {
		cursor := ""
		for range deep - 1 {
			var page struct {
				Next *string `json:"next_cursor"`
			}
			if err := call(apiURL, "GET", withCursor(path, cursor), token, nil, &page); err != nil {
				return "", err
			}
			if page.Next == nil {
				break
			}
			cursor = *page.Next
		}
		return withCursor(path, cursor), nil
	}
	s := []scenario{
		{"GET /v1/clients/{id}", get("/v1/clients/"+f.client, f.commercial), true, 0},
		{"GET /v1/contracts/{id}", get("/v1/contracts/"+f.contract, f.commercial), true, 0},
		{"GET /v1/events/{id}", get("/v1/events/"+f.event, f.commercial), true, 0},
		{"GET /v1/collaborators/{id}", get("/v1/collaborators/"+f.collaborator, f.commercial), true, 0},
		{"GET /v1/me", get("/v1/me", f.commercial), true, 0},
	}
	for _, l := range []struct{ path, token string }{
		{"/v1/clients?limit=20", f.commercial},
		{"/v1/clients?commercial=me&limit=20", f.commercial},
		{"/v1/contracts?commercial=me&signed=false&limit=20", f.commercial},
		{"/v1/events?commercial=me&limit=20", f.commercial},
		{"/v1/events?support=me&limit=20", f.support},
	} {
		s = append(s, scenario{name: "GET " + l.path + " (page 1)", target: get(l.path, l.token)})
		name := fmt.Sprintf("GET %s (page %d)", l.path, deep)
		if !wanted(name) {
			continue
		}
		p, err := deepCursor(l.path, l.token)
		if err != nil {
			return nil, err
		}
		s = append(s, scenario{name: name, target: get(p, l.token)})
	}
	nonce := randomHex(4)
	var n atomic.Int64
	s = append(s,
		scenario{name: "POST /v1/clients", target: func(base string) vegeta.Targeter {
			h := http.Header{"Authorization": {"Bearer " + f.commercial}, "Content-Type": {"application/json"}}
			return func(t *vegeta.Target) error {
				i := n.Add(1)
				t.Method, t.URL, t.Header = "POST", base+"/v1/clients", h
				t.Body = fmt.Appendf(nil, `{"full_name":"Bench Client %d","email":"bench-%s-%d@example.test","phone":"+33 6 00 00 00 00","company_name":"Bench"}`, i, nonce, i)
				return nil
			}
		}},
		scenario{name: "PATCH /v1/contracts/{id}", target: func(base string) vegeta.Targeter {
			h := http.Header{"Authorization": {"Bearer " + f.manager}, "Content-Type": {"application/json"}}
			return func(t *vegeta.Target) error {
				i := n.Add(1)
				t.Method, t.URL, t.Header = "PATCH", base+"/v1/contracts/"+f.contracts[int(i)%len(f.contracts)], h
				t.Body = fmt.Appendf(nil, `{"amount_due":"%d.00"}`, 1+i%400)
				return nil
			}
		}},
		scenario{name: "POST /v1/auth/login (4 connections)", workers: 4, target: func(base string) vegeta.Targeter {
			h := http.Header{"Content-Type": {"application/json"}}
			return func(t *vegeta.Target) error {
				i := n.Add(1)
				t.Method, t.URL, t.Header = "POST", base+"/v1/auth/login", h
				t.Body = fmt.Appendf(nil, `{"username":"commercial%d","password":%q}`, 1+i%100, seedPassword)
				return nil
			}
		}},
	)
	return s, nil
}

// result gathers the attacks of one scenario on one server over the
// rounds: latencies and status codes over all of them, and the rate as
// successful requests over the time spent attacking (not the time between
// the first round and the last).
type result struct {
	metrics vegeta.Metrics
	ok      float64
	elapsed time.Duration
	peakRSS int64
	rounds  []float64 // the rate of each round
}

func (r *result) rate() float64 {
	if r.elapsed == 0 {
		return 0
	}
	return r.ok / r.elapsed.Seconds()
}

func load(o options, apiURL, bareURL string, f *fixture, apiPid, barePid int) error {
	var only *regexp.Regexp
	if o.only != "" {
		var err error
		if only, err = regexp.Compile(o.only); err != nil {
			return err
		}
	}
	wanted := func(name string) bool { return only == nil || only.MatchString(name) }
	all, err := scenarios(apiURL, f, o.deep, wanted)
	if err != nil {
		return err
	}
	var chosen []scenario
	for _, s := range all {
		if wanted(s.name) {
			chosen = append(chosen, s)
		}
	}
	api := make([]result, len(chosen))
	bare := make([]result, len(chosen))
	attack := func(base string, s scenario, pid int, into *result) {
		resetPeak(pid)
		workers := o.workers
		if s.workers > 0 {
			workers = s.workers
		}
		attacker := vegeta.NewAttacker(vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)),
			vegeta.Connections(workers), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
		var one vegeta.Metrics
		for res := range attacker.Attack(s.target(base), vegeta.Rate{Freq: 0}, o.duration, s.name) {
			into.metrics.Add(res)
			one.Add(res)
		}
		one.Close()
		into.ok += float64(one.Requests) * one.Success
		into.elapsed += one.Duration + one.Wait
		into.rounds = append(into.rounds, float64(one.Requests)*one.Success/(one.Duration+one.Wait).Seconds())
		into.peakRSS = max(into.peakRSS, rss(pid, "VmHWM"))
	}
	for round := range o.rounds {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", round+1, o.rounds)
		for i, s := range chosen {
			// Alternate which server goes first, so neither always meets
			// the other's leftovers (autovacuum, checkpoints).
			if s.bare && round%2 == 0 {
				attack(bareURL, s, barePid, &bare[i])
			}
			attack(apiURL, s, apiPid, &api[i])
			if s.bare && round%2 == 1 {
				attack(bareURL, s, barePid, &bare[i])
			}
		}
	}
	fmt.Printf("### Under load (%d connections, %d rounds × %s per server, interleaved)\n\n", o.workers, o.rounds, o.duration)
	fmt.Printf("| scenario | server | req/s | p50 | p90 | p99 | errors | peak RSS | req/s vs bare | p99 vs bare | median of round ratios |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	// The ceiling for scenarios the bare handler does not serve is its
	// GET of a client.
	ceiling := 0
	for i := range chosen {
		bare[i].metrics.Close()
		api[i].metrics.Close()
		if chosen[i].bare && ceiling == 0 {
			ceiling = i
		}
	}
	for i, s := range chosen {
		a := &api[i].metrics
		ref := &bare[ceiling]
		if s.bare {
			ref = &bare[i]
			b := &bare[i].metrics
			fmt.Printf("| %s | bare | %.0f | %s | %s | %s | %d | %s | 1.00 | 1.00 | |\n", s.name, bare[i].rate(),
				ms(b.Latencies.P50), ms(b.Latencies.P90), ms(b.Latencies.P99), errorsOf(b), mib(bare[i].peakRSS))
		}
		rr, pr := 0.0, 0.0
		if ref.rate() > 0 {
			rr = api[i].rate() / ref.rate()
			pr = float64(a.Latencies.P99) / float64(ref.metrics.Latencies.P99)
		}
		label := "API"
		if !s.bare {
			label = "API (vs bare GET client)"
		}
		ratios := "– | – | –"
		if rr > 0 {
			ratios = fmt.Sprintf("%.2f | %.2f | %s", rr, pr, roundRatios(api[i].rounds, ref.rounds))
		}
		fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %d | %s | %s |\n", s.name, label, api[i].rate(),
			ms(a.Latencies.P50), ms(a.Latencies.P90), ms(a.Latencies.P99), errorsOf(a), mib(api[i].peakRSS), ratios)
	}
	for i, s := range chosen {
		if n := errorsOf(&api[i].metrics); n > 0 {
			fmt.Printf("\n%s: status codes %v; errors %v\n", s.name, api[i].metrics.StatusCodes, api[i].metrics.Errors)
		}
	}
	return nil
}

// roundRatios is the median over rounds of the API's rate over the
// ceiling's in the same round: a burst of other work on the machine then
// spoils one round, not the figure.
func roundRatios(api, ref []float64) string {
	var r []float64
	for i := range min(len(api), len(ref)) {
		if ref[i] > 0 {
			r = append(r, api[i]/ref[i])
		}
	}
	if len(r) == 0 {
		return "–"
	}
	sort.Float64s(r)
	m := r[len(r)/2]
	if len(r)%2 == 0 {
		m = (r[len(r)/2-1] + r[len(r)/2]) / 2
	}
	return fmt.Sprintf("%.2f", m)
}

func errorsOf(m *vegeta.Metrics) int {
	n := 0
	for code, count := range m.StatusCodes {
		if c, _ := strconv.Atoi(code); c == 0 || c >= 400 {
			n += count
		}
	}
	return n
}

func call(base, method, path, token string, body, into any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

func databaseEmpty(ctx context.Context, dbURL string) (bool, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	var exists bool
	err = conn.QueryRow(ctx, "SELECT to_regclass('collaborators') IS NOT NULL").Scan(&exists)
	if err != nil || !exists {
		return true, err
	}
	var any bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM collaborators)").Scan(&any)
	return !any, err
}

func waitReady(u string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s", within)
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// rss reads a memory figure (VmRSS, VmHWM) of a process, in bytes.
func rss(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeak starts a new peak RSS for the process (Linux clear_refs 5).
func resetPeak(pid int) {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"epicevents/internal/dbtest"
)

func TestStartNeedsTheFirstManagersPassword(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.URL(t), "JWT_SECRET": testSecret})
	_, err := startApp(context.Background(), env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "BOOTSTRAP_MANAGER_PASSWORD") {
		t.Fatalf("err = %v", err)
	}
}

func TestStartOnADatabaseURL(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.URL(t), "JWT_SECRET": testSecret,
		"BCRYPT_COST": "5", "BOOTSTRAP_MANAGER_USERNAME": "boss", "BOOTSTRAP_MANAGER_PASSWORD": "boss-password-long"})
	var stdout, stderr bytes.Buffer
	a, err := startApp(context.Background(), env, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.cleanup()
	if strings.Contains(stdout.String()+stderr.String(), "boss-password-long") {
		t.Fatal("the bootstrap password reached the output")
	}
	login(t, a, "boss", "boss-password-long")
	// BCRYPT_COST reaches the hashes.
	var hash string
	if err := a.pool.QueryRow(context.Background(), `SELECT password_hash FROM collaborators WHERE username = 'boss'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 5 {
		t.Fatalf("bcrypt cost %d (%v), want BCRYPT_COST 5", cost, err)
	}
	ready := httptest.NewRecorder()
	a.handler.ServeHTTP(ready, httptest.NewRequest("GET", "/readyz", nil))
	if ready.Code != 200 {
		t.Fatalf("readyz = %d", ready.Code)
	}
	a.draining.Store(true)
	ready = httptest.NewRecorder()
	a.handler.ServeHTTP(ready, httptest.NewRequest("GET", "/readyz", nil))
	if ready.Code != 503 || ready.Header().Get("Retry-After") == "" {
		t.Fatalf("readyz while draining = %d", ready.Code)
	}
}

// With no DATABASE_URL the binary runs its own PostgreSQL with data kept in
// ./.data, and prints the first manager's password on the first run only.
func TestStartOnTheEmbeddedDatabase(t *testing.T) {
	dir := t.TempDir()
	// As root the server runs unprivileged: let it reach ./.data here.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	env := envOf(map[string]string{"BCRYPT_COST": "4", "HTTP_ADDR": "127.0.0.1:0"})
	var stdout, stderr bytes.Buffer
	a, err := startApp(context.Background(), env, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`username "manager", password "([^"]+)"`).FindStringSubmatch(stderr.String())
	if m == nil || !strings.Contains(stderr.String(), "Embedded PostgreSQL: postgres://") {
		a.cleanup()
		t.Fatalf("first run output:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "(data in "+filepath.Join(dir, ".data")+")") {
		t.Fatalf("data not kept in ./.data:\n%s", stderr.String())
	}
	token := login(t, a, "manager", m[1])
	a.cleanup()

	stderr.Reset()
	a, err = startApp(context.Background(), env, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.cleanup()
	if strings.Contains(stderr.String(), "password") {
		t.Fatalf("second run printed a password:\n%s", stderr.String())
	}
	// Data and signing key survived the restart: the old token still works.
	res := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	a.handler.ServeHTTP(res, req)
	if res.Code != 200 {
		t.Fatalf("me after restart: %d %s", res.Code, res.Body)
	}
}

func login(t *testing.T, a *app, username, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res := httptest.NewRecorder()
	a.handler.ServeHTTP(res, req)
	if res.Code != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, res.Code, res.Body)
	}
	var tokens map[string]any
	_ = json.Unmarshal(res.Body.Bytes(), &tokens)
	return tokens["access_token"].(string)
}

func TestEmbeddedStartAnnouncesTheAPIAndDocsAddresses(t *testing.T) {
	for addr, base := range map[string]string{
		"127.0.0.1:18080": "http://127.0.0.1:18080",
		"[::]:8080":       "http://localhost:8080",
		"0.0.0.0:8080":    "http://localhost:8080",
		"[::1]:9000":      "http://[::1]:9000",
	} {
		var out bytes.Buffer
		announce(&out, addr)
		if want := "API on " + base + "\nDocs at " + base + "/docs\n"; out.String() != want {
			t.Errorf("%s: %q, want %q", addr, out.String(), want)
		}
	}
}

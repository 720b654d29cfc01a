package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The bare ceiling: net/http, pgx and jwt/v5 and nothing else. Each request
// checks the access token as the API does (HS256, typ, issuer, audience,
// expiry), checks the session in one query (open, collaborator active, the
// department's permissions) and reads the record in a second: the same
// checks in two round trips, without router, middleware, service layer or
// observability.

const bareSessionSQL = `SELECT c.id,
       array(SELECT rp.permission FROM role_permissions rp
             WHERE rp.role = c.department ORDER BY rp.permission)::text[]
FROM sessions s JOIN collaborators c ON c.id = s.collaborator_id
WHERE s.id = $1 AND s.collaborator_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3
  AND c.is_active AND c.deleted_at IS NULL`

var bareRecordSQL = map[string]string{
	"clients": `SELECT id, full_name, email, phone, company_name, commercial_id, commercial_full_name,
       first_contact_at, last_contact_at, version, created_at, updated_at FROM client_details WHERE id = $1`,
	"contracts": `SELECT id, client_id, client_full_name, client_company_name, commercial_id, commercial_full_name,
       total_amount::text, amount_due::text, currency, signed, signed_at, version, created_at, updated_at
       FROM contract_details WHERE id = $1`,
	"events": `SELECT id, name, contract_id, client_id, client_full_name, client_email, client_phone, support_id,
       support_full_name, start_at, end_at, timezone, location, attendees, notes, version, created_at, updated_at
       FROM event_details WHERE id = $1`,
	"collaborators": `SELECT id, employee_number, first_name, last_name, email, username, department, is_active,
       deleted_at, version, created_at, updated_at FROM collaborators WHERE id = $1`,
}

type bareClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

type bareServer struct {
	pool   *pgxpool.Pool
	secret []byte
}

func runBare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	dbURL := fs.String("db", "", "database URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := pgxpool.New(context.Background(), *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	s := &bareServer{pool: pool, secret: []byte(os.Getenv("JWT_SECRET"))}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/me", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "collaborators", "") })
	for kind := range bareRecordSQL {
		mux.HandleFunc("GET /v1/"+kind+"/{id}", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, kind, r.PathValue("id")) })
	}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Println(listener.Addr().String())
	return (&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}).Serve(listener)
}

func (s *bareServer) serve(w http.ResponseWriter, r *http.Request, kind, id string) {
	ctx := r.Context()
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	var claims bareClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" {
			return nil, errors.New("typ")
		}
		return s.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("epic-events"), jwt.WithAudience("epic-events-api"),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	sub, err1 := uuid.Parse(claims.Subject)
	sid, err2 := uuid.Parse(claims.SessionID)
	if err1 != nil || err2 != nil {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	var caller uuid.UUID
	var permissions []string
	if err := s.pool.QueryRow(ctx, bareSessionSQL, sid, sub, time.Now()).Scan(&caller, &permissions); err != nil {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	if id == "" {
		id = caller.String()
	}
	recordID, err := uuid.Parse(id)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	rows, _ := s.pool.Query(ctx, bareRecordSQL[kind], recordID)
	record, err := pgx.CollectExactlyOneRow(rows, pgx.RowToMap)
	if errors.Is(err, pgx.ErrNoRows) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if id == caller.String() && kind == "collaborators" && r.URL.Path == "/v1/me" {
		record["permissions"] = permissions
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", fmt.Sprintf(`"%v"`, record["version"]))
	_ = json.NewEncoder(w).Encode(record)
}

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
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
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
       total_amount, amount_due, currency, signed, signed_at, version, created_at, updated_at
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
	cfg, err := pgxpool.ParseConfig(*dbURL)
	if err != nil {
		return err
	}
	// The API's pool settings (internal/db.OpenPool): its size, so that both
	// wait alike, and UUIDs sent as bytes.
	cfg.MaxConns = max(8, int32(runtime.NumCPU()*4))
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxuuid.Register(conn.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
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
	record, version, err := scanRecord(s.pool.QueryRow(ctx, bareRecordSQL[kind], recordID), kind)
	if errors.Is(err, pgx.ErrNoRows) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if c, ok := record.(*bareCollaborator); ok && r.URL.Path == "/v1/me" {
		c.Permissions = permissions
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"`+strconv.Itoa(int(version))+`"`)
	_ = json.NewEncoder(w).Encode(record)
}

// The records as the API shows them, scanned field by field.
type (
	bareRef struct {
		ID       uuid.UUID `json:"id"`
		FullName string    `json:"full_name"`
	}
	bareClient struct {
		ID             uuid.UUID `json:"id"`
		FullName       string    `json:"full_name"`
		Email          string    `json:"email"`
		Phone          string    `json:"phone"`
		CompanyName    string    `json:"company_name"`
		Commercial     bareRef   `json:"commercial"`
		FirstContactAt time.Time `json:"first_contact_at"`
		LastContactAt  time.Time `json:"last_contact_at"`
		Version        int32     `json:"version"`
		CreatedAt      time.Time `json:"created_at"`
		UpdatedAt      time.Time `json:"updated_at"`
	}
	bareContract struct {
		ID     uuid.UUID `json:"id"`
		Client struct {
			ID          uuid.UUID `json:"id"`
			FullName    string    `json:"full_name"`
			CompanyName string    `json:"company_name"`
		} `json:"client"`
		Commercial  bareRef    `json:"commercial"`
		TotalAmount string     `json:"total_amount"`
		AmountDue   string     `json:"amount_due"`
		Currency    string     `json:"currency"`
		Signed      bool       `json:"signed"`
		SignedAt    *time.Time `json:"signed_at"`
		Version     int32      `json:"version"`
		CreatedAt   time.Time  `json:"created_at"`
		UpdatedAt   time.Time  `json:"updated_at"`
	}
	bareEvent struct {
		ID         uuid.UUID `json:"id"`
		Name       string    `json:"name"`
		ContractID uuid.UUID `json:"contract_id"`
		Client     struct {
			ID       uuid.UUID `json:"id"`
			FullName string    `json:"full_name"`
			Email    string    `json:"email"`
			Phone    string    `json:"phone"`
		} `json:"client"`
		Support   *bareRef  `json:"support"`
		StartAt   time.Time `json:"start_at"`
		EndAt     time.Time `json:"end_at"`
		Timezone  string    `json:"timezone"`
		Location  string    `json:"location"`
		Attendees int32     `json:"attendees"`
		Notes     string    `json:"notes"`
		Version   int32     `json:"version"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	bareCollaborator struct {
		ID             uuid.UUID  `json:"id"`
		EmployeeNumber int32      `json:"employee_number"`
		FirstName      string     `json:"first_name"`
		LastName       string     `json:"last_name"`
		FullName       string     `json:"full_name"`
		Email          string     `json:"email"`
		Username       string     `json:"username"`
		Department     string     `json:"department"`
		IsActive       bool       `json:"is_active"`
		DeletedAt      *time.Time `json:"deleted_at"`
		Version        int32      `json:"version"`
		CreatedAt      time.Time  `json:"created_at"`
		UpdatedAt      time.Time  `json:"updated_at"`
		Permissions    []string   `json:"permissions,omitempty"`
	}
)

func scanRecord(row pgx.Row, kind string) (any, int32, error) {
	switch kind {
	case "clients":
		var c bareClient
		err := row.Scan(&c.ID, &c.FullName, &c.Email, &c.Phone, &c.CompanyName, &c.Commercial.ID, &c.Commercial.FullName,
			&c.FirstContactAt, &c.LastContactAt, &c.Version, &c.CreatedAt, &c.UpdatedAt)
		return &c, c.Version, err
	case "contracts":
		var k bareContract
		err := row.Scan(&k.ID, &k.Client.ID, &k.Client.FullName, &k.Client.CompanyName, &k.Commercial.ID, &k.Commercial.FullName,
			&k.TotalAmount, &k.AmountDue, &k.Currency, &k.Signed, &k.SignedAt, &k.Version, &k.CreatedAt, &k.UpdatedAt)
		return &k, k.Version, err
	case "events":
		var e bareEvent
		var supportID *uuid.UUID
		var supportName string
		err := row.Scan(&e.ID, &e.Name, &e.ContractID, &e.Client.ID, &e.Client.FullName, &e.Client.Email, &e.Client.Phone,
			&supportID, &supportName, &e.StartAt, &e.EndAt, &e.Timezone, &e.Location, &e.Attendees, &e.Notes,
			&e.Version, &e.CreatedAt, &e.UpdatedAt)
		if supportID != nil {
			e.Support = &bareRef{ID: *supportID, FullName: supportName}
		}
		return &e, e.Version, err
	default:
		var c bareCollaborator
		err := row.Scan(&c.ID, &c.EmployeeNumber, &c.FirstName, &c.LastName, &c.Email, &c.Username, &c.Department,
			&c.IsActive, &c.DeletedAt, &c.Version, &c.CreatedAt, &c.UpdatedAt)
		c.FullName = c.FirstName + " " + c.LastName
		return &c, c.Version, err
	}
}

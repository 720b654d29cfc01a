package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"epicevents"
)

// Contract is openapi.yaml, loaded for checking exchanges against it.
type Contract struct {
	Doc    *openapi3.T
	router routers.Router
}

// Calendar feeds (text/calendar) are checked as the strings their schema
// says they are; what is inside them, the feed tests read with an RFC 5545
// parser.
func init() { openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.PlainBodyDecoder) }

// LoadContract parses openapi.yaml once per test binary.
var LoadContract = sync.OnceValues(func() (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(epicevents.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	// The document's server ("/") is for the docs page; tests reach the
	// router under any host.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml router: %w", err)
	}
	return &Contract{Doc: doc, router: router}, nil
})

// Formats the document uses that kin-openapi leaves unchecked by default.
var formatOptions = []openapi3.SchemaValidationOption{
	openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
	openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)),
}

// bearerPresent stands for the server's authentication when a request is
// checked: the contract only says a bearer token must be sent.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// Check compares one exchange with the contract and returns every breach.
// The response is always checked: its status must be one the operation
// lists, with the documented headers and body. The request is checked when
// checkRequest is set: a request the server accepted must be one the
// contract describes.
func (c *Contract) Check(req *http.Request, reqBody []byte, res Response, checkRequest bool) error {
	ctx := context.Background()
	// HEAD mirrors GET; a CORS preflight belongs to the CORS protocol, which
	// the document mentions but does not describe as operations.
	if req.Method == http.MethodHead || (req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "") {
		return nil
	}
	route, params, err := c.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return c.checkUnrouted(res, http.StatusNotFound, "NotFound")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return c.checkUnrouted(res, http.StatusMethodNotAllowed, "MethodNotAllowed")
	case err != nil:
		return err
	}
	clone := req.Clone(ctx)
	clone.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{
		Request: clone, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			MultiError: true, SkipSettingDefaults: true, AuthenticationFunc: bearerPresent,
			SchemaValidationOptions: formatOptions,
		},
	}
	var errs []error
	if checkRequest {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("request %s %s breaks openapi.yaml: %w", req.Method, req.URL, err))
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.Status, Header: res.Header,
		Options: &openapi3filter.Options{
			MultiError: true, IncludeResponseStatus: true, SchemaValidationOptions: formatOptions,
		},
	}
	out.SetBodyBytes(res.Body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("response %d to %s %s breaks openapi.yaml: %w\nbody: %s", res.Status, req.Method, req.URL, err, excerpt(res.Body)))
	}
	return errors.Join(errs...)
}

// checkUnrouted checks an answer to a path or method the document does not
// have: only the router's own 404 or 405 may answer it, as the named
// response of the document's components describes.
func (c *Contract) checkUnrouted(res Response, status int, response string) error {
	if res.Status != status {
		return fmt.Errorf("status %d for a path or method openapi.yaml does not describe (want %d)", res.Status, status)
	}
	return c.CheckResponse(response, res)
}

// CheckResponse checks an answer against one of the document's component
// responses: its required headers, their values, and its body.
func (c *Contract) CheckResponse(name string, res Response) error {
	ref := c.Doc.Components.Responses[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("openapi.yaml has no response %s", name)
	}
	opts := append([]openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()}, formatOptions...)
	var errs []error
	for header, h := range ref.Value.Headers {
		value := res.Header.Get(header)
		if value == "" {
			if h.Value.Required {
				errs = append(errs, fmt.Errorf("header %s missing", header))
			}
			continue
		}
		var v any = value
		if h.Value.Schema.Value.Type.Is("integer") {
			n, err := strconv.Atoi(value)
			if err != nil {
				errs = append(errs, fmt.Errorf("header %s: %q is not an integer", header, value))
				continue
			}
			v = n
		}
		if err := h.Value.Schema.Value.VisitJSON(v, opts...); err != nil {
			errs = append(errs, fmt.Errorf("header %s: %w", header, err))
		}
	}
	ct := res.Header.Get("Content-Type")
	media := ref.Value.Content.Get(ct)
	if media == nil {
		return errors.Join(append(errs, fmt.Errorf("content type %q is not one of response %s", ct, name))...)
	}
	var body any
	if err := json.Unmarshal(res.Body, &body); err != nil {
		return errors.Join(append(errs, fmt.Errorf("body is not JSON: %w", err))...)
	}
	if err := media.Schema.Value.VisitJSON(body, opts...); err != nil {
		errs = append(errs, fmt.Errorf("body breaks response %s: %w", name, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("response %d breaks openapi.yaml: %w\nbody: %s", res.Status, errors.Join(errs...), excerpt(res.Body))
	}
	return nil
}

// wellFormed reports whether an answer implies that the request itself was
// valid: it was accepted, or refused only for the state of stored records
// (a failed precondition, a conflict).
func wellFormed(status int) bool {
	return status < 400 || status == http.StatusPreconditionFailed || status == http.StatusConflict
}

// checked runs one exchange through h and checks it against the contract.
func (a *API) checked(h http.Handler, w http.ResponseWriter, r *http.Request, checkRequest bool) Response {
	a.T.Helper()
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			a.T.Errorf("read request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if w != nil {
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.Status)
		if rec.Flushed {
			// A handler that flushed its headers before its body (a
			// stream) sends no length; the relay keeps it so.
			_ = http.NewResponseController(w).Flush()
		}
		_, _ = w.Write(res.Body)
	}
	contract, err := LoadContract()
	if err != nil {
		a.T.Errorf("%v", err)
		return res
	}
	if err := contract.Check(r, body, res, checkRequest && wellFormed(res.Status)); err != nil {
		a.T.Errorf("%v", err)
	}
	return res
}

// Server serves the API over HTTP for a client under test, checking every
// exchange against openapi.yaml like Do does. It stops with the test.
func (a *API) Server() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.checked(a.Handler, w, r, true)
	}))
	a.T.Cleanup(srv.Close)
	return srv
}

// excerpt keeps error messages readable when a body is large.
func excerpt(body []byte) []byte {
	const limit = 2000
	if len(body) > limit {
		return append(body[:limit:limit], "…"...)
	}
	return body
}

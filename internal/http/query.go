package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"epicevents/internal/service"
)

// wellFormedQuery answers 400 for a query string that cannot be decoded
// (%zz, a ';' separator) or is not UTF-8, whatever route it is sent to. It
// runs after authentication and the route's permission, as the contract
// orders 401 and 403 first.
func (s *server) wellFormedQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			values, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil || !utf8Values(values) {
				s.writeError(w, r, service.Errorf(service.CodeMalformedRequest,
					"The query string cannot be decoded: send UTF-8, percent-encoded, with '&' between parameters."))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func utf8Values(values url.Values) bool {
	for k, vs := range values {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

// queryReader reads query parameters into typed values, collecting every
// malformed, unknown or repeated one, so that one 422 names them all.
type queryReader struct {
	values url.Values
	p      *fieldParser
}

// pagingParams are accepted by every list.
var pagingParams = []string{"limit", "cursor", "sort"}

func newQueryReader(r *http.Request, known ...string) *queryReader {
	// wellFormedQuery has already refused what does not parse.
	values, _ := url.ParseQuery(r.URL.RawQuery)
	q := &queryReader{values: values, p: newFieldParser(nil)}
	allowed := map[string]bool{}
	for _, k := range append(known, pagingParams...) {
		allowed[k] = true
	}
	for k, vs := range q.values {
		switch {
		case !allowed[k]:
			q.p.fail(k, "is not a parameter of this request")
		case len(vs) > 1:
			q.p.fail(k, "must be given once")
		}
	}
	return q
}

// refuse names a parameter this request does not take, though lists do.
func (q *queryReader) refuse(name string) {
	if q.values.Has(name) && !q.p.named[name] {
		q.p.fail(name, "is not a parameter of this request")
	}
}

// raw is a parameter's value, nil when absent or already refused.
func (q *queryReader) raw(name string) *string {
	if !q.values.Has(name) || q.p.named[name] {
		return nil
	}
	v := q.values.Get(name)
	return &v
}

// text reads a free-text parameter (a search term).
func (q *queryReader) text(name string) string {
	return or(optional(q.p, name, q.raw(name), service.Text(0, 200)), "")
}

func (q *queryReader) boolean(name string) *bool {
	return optional(q.p, name, q.raw(name), func(s string) (bool, error) {
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, errMessage("must be true or false")
	})
}

// id reads a UUID filter.
func (q *queryReader) id(name string) *uuid.UUID {
	v := q.raw(name)
	if v != nil && *v == "" {
		q.p.fail(name, "must not be empty")
		return nil
	}
	return optional(q.p, name, v, service.ParseID)
}

// collaborator reads a filter on a collaborator: "me" (the caller), a
// UUID, and with allowNone "none" (no collaborator at all).
func (q *queryReader) collaborator(name string, caller service.Caller, allowNone bool) service.CollaboratorFilter {
	message := "must be me or a UUID"
	if allowNone {
		message = "must be me, none or a UUID"
	}
	v := optional(q.p, name, q.raw(name), func(s string) (service.CollaboratorFilter, error) {
		switch {
		case s == "me":
			return service.CollaboratorFilter{ID: &caller.ID}, nil
		case s == "none" && allowNone:
			return service.CollaboratorFilter{None: true}, nil
		}
		id, err := service.ParseID(s)
		if err != nil {
			return service.CollaboratorFilter{}, errMessage(message)
		}
		return service.CollaboratorFilter{ID: &id}, nil
	})
	return or(v, service.CollaboratorFilter{})
}

func (q *queryReader) instant(name string) *time.Time {
	return optional(q.p, name, q.raw(name), service.ParseInstant)
}

func (q *queryReader) page() service.PageInput {
	in := service.PageInput{Cursor: q.values.Get("cursor"), Sort: q.values.Get("sort")}
	if q.values.Has("sort") && in.Sort == "" && !q.p.named["sort"] {
		q.p.fail("sort", "must name one of the list's sorts; leave it out for the default")
	}
	in.Limit = optional(q.p, "limit", q.raw("limit"), func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, errMessage("must be an integer between 1 and 100")
		}
		return n, nil
	})
	return in
}

// found hands what could not be read to the service, which names it with
// the list's other invalid parameters (after a garbled cursor's 400).
func (q *queryReader) found() service.Unreadable {
	return service.Unreadable{Fields: q.p.fields}
}

func (q *queryReader) err() error { return q.p.err() }

type errMessage string

func (e errMessage) Error() string { return string(e) }

// parseIfMatch reads If-Match. Weak tags never match, so they are dropped;
// a header of only weak tags still fails the precondition.
func parseIfMatch(r *http.Request) service.IfMatch {
	var m service.IfMatch
	for _, header := range r.Header.Values("If-Match") {
		m.Present = true
		for _, tag := range strings.Split(header, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				m.Any = true
				continue
			}
			if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
				continue
			}
			if v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 32); err == nil {
				m.Versions = append(m.Versions, int32(v))
			}
		}
	}
	return m
}

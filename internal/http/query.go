package http

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"epicevents/internal/service"
)

// queryReader reads query parameters, collecting every malformed or unknown
// one into a single 422.
type queryReader struct {
	values url.Values
	fields []service.FieldError
}

// pagingParams are accepted by every list.
var pagingParams = []string{"limit", "cursor", "sort"}

func newQueryReader(r *http.Request, known ...string) *queryReader {
	q := &queryReader{values: r.URL.Query()}
	allowed := map[string]bool{}
	for _, k := range append(known, pagingParams...) {
		allowed[k] = true
	}
	for k, vs := range q.values {
		switch {
		case !allowed[k]:
			q.fail(k, "is not a parameter of this request")
		case len(vs) > 1:
			q.fail(k, "must be given once")
		}
	}
	return q
}

func (q *queryReader) fail(field, msg string) {
	q.fields = append(q.fields, service.FieldError{Field: field, Message: msg})
}

func (q *queryReader) str(name string) string { return q.values.Get(name) }

func (q *queryReader) optionalStr(name string) *string {
	if !q.values.Has(name) {
		return nil
	}
	v := q.values.Get(name)
	return &v
}

func (q *queryReader) boolean(name string) *bool {
	if !q.values.Has(name) {
		return nil
	}
	b, err := strconv.ParseBool(q.values.Get(name))
	if err != nil || (q.values.Get(name) != "true" && q.values.Get(name) != "false") {
		q.fail(name, "must be true or false")
		return nil
	}
	return &b
}

func (q *queryReader) page() service.PageInput {
	in := service.PageInput{Cursor: q.values.Get("cursor"), Sort: q.values.Get("sort")}
	if q.values.Has("sort") && in.Sort == "" {
		q.fail("sort", "must name one of the list's sorts; leave it out for the default")
	}
	if q.values.Has("limit") {
		n, err := strconv.Atoi(q.values.Get("limit"))
		if err != nil {
			q.fail("limit", "must be an integer between 1 and 100")
		} else {
			in.Limit = &n
		}
	}
	return in
}

// unreadable hands the parameters that could not be read to the service,
// which names them with the list's other invalid parameters.
func (q *queryReader) unreadable() service.Unreadable {
	return service.Unreadable{Fields: q.fields}
}

func (q *queryReader) err() error {
	if len(q.fields) == 0 {
		return nil
	}
	return service.Invalid(q.fields...)
}

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

// nonEmpty reads a filter whose value may not be empty when given.
func (q *queryReader) nonEmpty(name string) string {
	if q.values.Has(name) && q.values.Get(name) == "" {
		q.fail(name, "must not be empty")
	}
	return q.values.Get(name)
}

// instant reads an RFC 3339 instant, which must carry an offset.
func (q *queryReader) instant(name string) *time.Time {
	if !q.values.Has(name) {
		return nil
	}
	t, err := service.ParseInstantParam(name, q.values.Get(name))
	if err != nil {
		var e *service.Error
		if errors.As(err, &e) {
			q.fields = append(q.fields, e.Fields...)
		}
		return nil
	}
	return t
}

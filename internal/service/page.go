package service

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Page is one page of a list, with the cursor of the next one ("" at the end).
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// PageInput is the paging part of every list request. Its Unreadable
// names the query parameters that could not be read (unknown, repeated,
// of the wrong form), reported with the list's other invalid parameters.
type PageInput struct {
	Unreadable
	Limit  *int
	Cursor string
	Sort   string
}

const (
	defaultLimit = 20
	maxLimit     = 100
)

// cursor is the position after the last row of a page. It names the
// collection, sort and filters it belongs to, so it cannot be replayed
// against another list.
type cursor struct {
	Collection string    `json:"c"`
	Sort       string    `json:"s"`
	Filters    string    `json:"f"`
	Key        string    `json:"k"`
	ID         uuid.UUID `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// listQuery is a validated paging request.
type listQuery struct {
	collection string
	sort       string
	filters    string
	limit      int
	after      *cursor
}

// newListQuery checks limit and sort, and decodes the cursor against the
// collection, sort and filter fingerprint. filters is a canonical rendering
// of the filter values.
func newListQuery(collection string, in PageInput, sorts []string, filters ...string) (listQuery, error) {
	q := listQuery{collection: collection, sort: in.Sort, limit: defaultLimit}
	if q.sort == "" {
		q.sort = sorts[0]
	}
	sum := sha256.Sum256([]byte(strings.Join(filters, "\x00")))
	q.filters = base64.RawURLEncoding.EncodeToString(sum[:9])
	// A cursor that is garbled, or from another list, sort or filters, is
	// a malformed request (400), which comes before invalid values (422).
	if in.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.Cursor)
		var c cursor
		if err != nil || json.Unmarshal(raw, &c) != nil || c.Collection != collection ||
			c.Sort != q.sort || c.Filters != q.filters || c.ID == uuid.Nil || controlProblem(c.Key, false) != nil {
			return q, errBadCursor
		}
		q.after = &c
		// A cursor is only ever given out for valid filters: one sent with
		// a filter that could not be read was made for other filters.
		for _, f := range in.Unreadable.Fields {
			if f.Field != "limit" && f.Field != "sort" {
				return q, errBadCursor
			}
		}
	}
	fields := slices.Clone(in.Unreadable.Fields)
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxLimit {
			fields = append(fields, FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", maxLimit)})
		}
		q.limit = *in.Limit
	}
	if !slices.Contains(sorts, q.sort) {
		fields = append(fields, FieldError{Field: "sort", Message: "must be one of " + strings.Join(sorts, ", ")})
	}
	if len(fields) > 0 {
		return q, Invalid(fields...)
	}
	return q, nil
}

// next builds the cursor after a row, when the page is full.
func (q listQuery) next(key string, id uuid.UUID) string {
	return cursor{Collection: q.collection, Sort: q.sort, Filters: q.filters, Key: key, ID: id}.encode()
}

// fetchLimit asks for one row more than the page, to learn whether another
// page follows.
func (q listQuery) fetchLimit() int32 { return int32(q.limit + 1) }

// paginate trims the extra row and sets the next cursor from the last row.
func paginate[R any, T any](q listQuery, rows []R, toItem func(R) T, keyOf func(R) (string, uuid.UUID)) Page[T] {
	page := Page[T]{Items: make([]T, 0, min(len(rows), q.limit))}
	for i, r := range rows {
		if i == q.limit {
			key, id := keyOf(rows[i-1])
			page.NextCursor = q.next(key, id)
			break
		}
		page.Items = append(page.Items, toItem(r))
	}
	return page
}

// likePattern escapes a search term for LIKE '%' || term || '%'.
func likePattern(q string) string { return likeEscaper.Replace(q) }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

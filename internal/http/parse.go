package http

import (
	"strconv"

	"github.com/google/uuid"

	"epicevents/internal/service"
)

// fieldParser is the one parse step of a request: it turns the raw members
// of a body (or the parameters of a query) into the typed values a service
// takes, and collects every field error on the way, those the decoder
// already found included, so that one 422 names them all.
type fieldParser struct {
	fields []service.FieldError
	named  map[string]bool
}

func newFieldParser(found []service.FieldError) *fieldParser {
	p := &fieldParser{named: map[string]bool{}}
	for _, f := range found {
		p.fail(f.Field, f.Message)
	}
	return p
}

func (p *fieldParser) fail(field, message string) {
	p.fields = append(p.fields, service.FieldError{Field: field, Message: message})
	p.named[field] = true
}

// err is the 422 naming every bad field, or nil.
func (p *fieldParser) err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return service.Invalid(p.fields...)
}

// required parses a member that must be present.
func required[R, T any](p *fieldParser, field string, raw *R, parse func(R) (T, error)) T {
	var zero T
	if p.named[field] {
		return zero
	}
	if raw == nil {
		p.fail(field, "is required")
		return zero
	}
	v, err := parse(*raw)
	if err != nil {
		p.fail(field, err.Error())
		return zero
	}
	return v
}

// optional parses a member that may be absent (nil).
func optional[T any](p *fieldParser, field string, raw *string, parse func(string) (T, error)) *T {
	if raw == nil || p.named[field] {
		return nil
	}
	v, err := parse(*raw)
	if err != nil {
		p.fail(field, err.Error())
		return nil
	}
	return &v
}

// intIn checks an integer member against its range; absent is nil.
func (p *fieldParser) intIn(field string, v *int, lo, hi int) *int {
	if v == nil || p.named[field] {
		return nil
	}
	if *v < lo || *v > hi {
		p.fail(field, "must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
		return nil
	}
	return v
}

// requiredInt is intIn for a member that must be present.
func (p *fieldParser) requiredInt(field string, v *int, lo, hi int) int {
	if v == nil && !p.named[field] {
		p.fail(field, "is required")
	}
	if n := p.intIn(field, v, lo, hi); n != nil {
		return *n
	}
	return 0
}

// id parses a body id; absent is nil.
func (p *fieldParser) id(field string, raw *string) *uuid.UUID {
	return optional(p, field, raw, service.ParseID)
}

func or[T any](v *T, fallback T) T {
	if v == nil {
		return fallback
	}
	return *v
}

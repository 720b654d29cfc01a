package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"epicevents/internal/service"
)

const maxBodyBytes = 1 << 20

// decodeBody reads a JSON object into dst, a pointer to a request DTO whose
// fields are pointers (absent = nil). In the contract's order: a body that
// is not JSON is 415, too large 413, not UTF-8 or not one JSON object 400.
// Every unknown field, explicit null, wrongly typed value and lone
// surrogate escape is returned as a field error: the request's parse step
// names them in its 422 beside the values that break a rule.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) ([]service.FieldError, error) {
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, service.Errorf(service.CodePayloadTooLarge, "The body is larger than 1 MiB.")
		}
		return nil, service.Errorf(service.CodeMalformedRequest, "The body could not be read.")
	}
	// The decoder would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(raw) {
		return nil, service.Errorf(service.CodeMalformedRequest, "The body is not valid UTF-8.")
	}
	members, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	return assignMembers(members, dst), nil
}

// loneSurrogate reports a \uD800-\uDFFF escape in a JSON value that is
// not half of a pair: it names no character, and the decoder would turn it
// into U+FFFD without a word.
func loneSurrogate(value []byte) bool {
	inString := false
	for i := 0; i < len(value); i++ {
		c := value[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(value) && value[i+1] == 'u' {
				r, ok := hex4(value, i+2)
				switch {
				case !ok:
				case r >= 0xD800 && r <= 0xDBFF:
					if i+7 >= len(value) || value[i+6] != '\\' || value[i+7] != 'u' {
						return true
					}
					low, ok := hex4(value, i+8)
					if !ok || low < 0xDC00 || low > 0xDFFF {
						return true
					}
					i += 11
					continue
				case r >= 0xDC00 && r <= 0xDFFF:
					return true
				}
				i += 5
				continue
			}
			i++ // the escaped character
		}
	}
	return false
}

// hex4 reads the four hex digits at value[i:].
func hex4(value []byte, i int) (rune, bool) {
	if i+4 > len(value) {
		return 0, false
	}
	var r rune
	for _, c := range value[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// readInput decodes a request body and parses it into a service input, in
// the contract's order: 415, 413, 400, then one 422 naming every bad field.
func readInput[Req, In any](w http.ResponseWriter, r *http.Request, parse func(Req, []service.FieldError) (In, error)) (In, error) {
	var req Req
	found, err := decodeBody(w, r, &req)
	if err != nil {
		var zero In
		return zero, err
	}
	return parse(req, found)
}

// checkContentType answers 415 unless the body is declared JSON.
func checkContentType(r *http.Request) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mediaType != "application/json" && !strings.HasSuffix(mediaType, "+json")) {
		return service.Errorf(service.CodeUnsupportedMediaType, "Send the body as application/json.")
	}
	return nil
}

// jsonObject parses exactly one JSON object and nothing after it.
func jsonObject(raw []byte) (map[string]json.RawMessage, error) {
	malformed := service.Errorf(service.CodeMalformedRequest, "The body must be one JSON object.")
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, malformed
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		return nil, malformed
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed
	}
	return members, nil
}

// assignMembers sets dst's fields from the members by their json names and
// names the members it could not read.
func assignMembers(members map[string]json.RawMessage, dst any) []service.FieldError {
	v := reflect.ValueOf(dst).Elem()
	byName := map[string][]int{}
	for _, sf := range reflect.VisibleFields(v.Type()) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.Anonymous && name != "" && name != "-" {
			byName[name] = sf.Index
		}
	}
	var fields []service.FieldError
	for name, value := range members {
		i, ok := byName[name]
		if !ok {
			fields = append(fields, service.FieldError{Field: name, Message: "is not a field of this request"})
			continue
		}
		if loneSurrogate(value) {
			fields = append(fields, service.FieldError{Field: name, Message: "must not hold a lone UTF-16 surrogate escape"})
			continue
		}
		f := v.FieldByIndex(i)
		_, handlesNull := f.Addr().Interface().(json.Unmarshaler)
		if string(bytes.TrimSpace(value)) == "null" && !handlesNull {
			fields = append(fields, service.FieldError{Field: name, Message: "must not be null"})
			continue
		}
		if err := json.Unmarshal(value, f.Addr().Interface()); err != nil {
			f.SetZero() // nothing half-read reaches the service
			fields = append(fields, service.FieldError{Field: name, Message: "must be " + jsonKind(f.Type())})
		}
	}
	return fields
}

// jsonKind names the JSON type a Go type expects, for error messages.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array"
	}
	return "a valid value"
}

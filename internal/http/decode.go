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

	"epicevents/internal/service"
)

const maxBodyBytes = 1 << 20

// decodeBody reads a JSON object into dst, a pointer to a request DTO whose
// fields are pointers (absent = nil). In the contract's order: a body that
// is not JSON is 415, too large 413, not one JSON object 400. Every unknown
// field, explicit null and wrongly typed value is returned as unreadable:
// the service names them in its 422 beside the values that break a rule.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) (service.Unreadable, error) {
	if err := checkContentType(r); err != nil {
		return service.Unreadable{}, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return service.Unreadable{}, service.Errorf(service.CodePayloadTooLarge, "The body is larger than 1 MiB.")
		}
		return service.Unreadable{}, service.Errorf(service.CodeMalformedRequest, "The body could not be read.")
	}
	members, err := jsonObject(raw)
	if err != nil {
		return service.Unreadable{}, err
	}
	return service.Unreadable{Fields: assignMembers(members, dst)}, nil
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

package service

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"github.com/go-playground/validator/v10"
)

// The validator checks input structs; field names in its errors are the
// snake_case names the API uses, derived from the Go field names.
var validate = newValidator()

var (
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,50}$`)
)

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name := f.Tag.Get("field"); name != "" {
			return name
		}
		return snakeCase(f.Name)
	})
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(v.RegisterValidation("personname", func(fl validator.FieldLevel) bool {
		for _, r := range fl.Field().String() {
			if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) && r != ' ' && r != '-' && r != '\'' && r != '’' {
				return false
			}
		}
		return true
	}))
	must(v.RegisterValidation("username", func(fl validator.FieldLevel) bool {
		return usernamePattern.MatchString(fl.Field().String())
	}))
	must(v.RegisterValidation("department", func(fl validator.FieldLevel) bool {
		return isDepartment(fl.Field().String())
	}))
	must(v.RegisterValidation("notblank", func(fl validator.FieldLevel) bool {
		return strings.TrimSpace(fl.Field().String()) != ""
	}))
	must(v.RegisterValidation("instant", func(fl validator.FieldLevel) bool {
		_, ok := parseInstant(fl.Field().String())
		return ok
	}))
	must(v.RegisterValidation("amount", func(fl validator.FieldLevel) bool {
		_, err := ParseMoney(fl.Field().String())
		return err == nil
	}))
	must(v.RegisterValidation("currency", func(fl validator.FieldLevel) bool {
		return currencies[fl.Field().String()]
	}))
	must(v.RegisterValidation("timezone", func(fl validator.FieldLevel) bool {
		return validTimezone(fl.Field().String())
	}))
	must(v.RegisterValidation("phone", func(fl validator.FieldLevel) bool {
		return validPhone(fl.Field().String())
	}))
	must(v.RegisterValidation("id", func(fl validator.FieldLevel) bool {
		_, ok := parseID(fl.Field().String())
		return ok
	}))
	return v
}

// snakeCase turns EmployeeNumber into employee_number and CommercialID into
// commercial_id.
func snakeCase(s string) string {
	var b strings.Builder
	runes := []rune(s)
	for i, r := range runes {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && unicode.IsLower(runes[i-1])
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1]) && i > 0 && unicode.IsUpper(runes[i-1])
			if i > 0 && (prevLower || nextLower) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Unreadable names the fields of a request that could not be read at all
// (an unknown name, a wrong JSON type, null where a value is needed).
// Inputs embed it so that one 422 names them together with the values that
// break a rule, and a request with any of them changes nothing.
type Unreadable struct {
	Fields []FieldError
}

func (u Unreadable) unreadableFields() []FieldError { return u.Fields }

// check validates an input struct and returns a validation error naming
// every bad field, unreadable ones included, or nil.
func check(input any) error {
	var fields []FieldError
	unread := map[string]bool{}
	if u, ok := input.(interface{ unreadableFields() []FieldError }); ok {
		for _, f := range u.unreadableFields() {
			fields = append(fields, f)
			unread[f.Field] = true
		}
	}
	if err := validate.Struct(input); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return err
		}
		for _, fe := range verrs {
			// A field that could not be read is named once, for that.
			if name := fieldPath(fe); !unread[name] {
				fields = append(fields, FieldError{Field: name, Message: describe(fe)})
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return Invalid(fields...)
}

// fieldPath drops the struct name from the namespace: Input.name → name.
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if i := strings.IndexByte(ns, '.'); i >= 0 {
		return ns[i+1:]
	}
	return fe.Field()
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required", "notblank":
		return "is required"
	case "min":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at least %s characters", fe.Param())
		}
		return "must be at least " + fe.Param()
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at most %s characters", fe.Param())
		}
		return "must be at most " + fe.Param()
	case "email":
		return "must be an email address"
	case "personname":
		return "may hold only letters, spaces, hyphens and apostrophes"
	case "username":
		return "must be 3 to 50 characters of letters, digits, '_', '.' and '-'"
	case "department":
		return "must be one of commercial, support, management"
	case "instant":
		return instantMessage
	case "amount":
		return "must be a decimal string of at most 10 digits and 2 decimals, such as \"15000.00\""
	case "currency":
		return "must be an ISO 4217 currency code, such as EUR"
	case "timezone":
		return "must be an IANA time zone name, such as Europe/Paris"
	case "phone":
		return "must be 6 to 30 characters of digits, spaces and +-()."
	case "id":
		return "must be a UUID"
	case "oneof":
		return "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	}
	return "is invalid (" + fe.Tag() + ")"
}

// Departments, which are also the roles.
const (
	DepartmentCommercial = "commercial"
	DepartmentSupport    = "support"
	DepartmentManagement = "management"
)

func isDepartment(s string) bool {
	return s == DepartmentCommercial || s == DepartmentSupport || s == DepartmentManagement
}

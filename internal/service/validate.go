package service

import (
	"github.com/go-playground/validator/v10"
)

// validate checks the forms no hand-written pattern should (email
// addresses, for ParseEmail).
var validate = validator.New(validator.WithRequiredStructEnabled())

// Unreadable names the query parameters of a list that could not be read
// at the edge (unknown, repeated, of the wrong form). The list names them
// in one 422 with its own invalid parameters, after a garbled cursor's 400.
type Unreadable struct {
	Fields []FieldError
}

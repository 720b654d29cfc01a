package service_test

import (
	"errors"
	"fmt"
	"testing"

	"epicevents/internal/db"
	"epicevents/internal/service"
)

// The HTTP layer reads every failure through AsError: a database loss that
// a service passed up untranslated is still 503, never 500.
func TestAsErrorNamesDatabaseErrorsWhoeverForgotThem(t *testing.T) {
	t.Parallel()
	cases := map[error]service.Code{
		fmt.Errorf("load: %w", db.ErrUnavailable):                    service.CodeUnavailable,
		&db.UniqueViolationError{Constraint: "clients_email_key"}:    service.CodeDuplicate,
		fmt.Errorf("save: %w", db.ErrInvalidText):                    service.CodeValidation,
		&db.CheckViolationError{Constraint: "anything"}:              service.CodeValidation,
		errors.New("something else"):                                 service.CodeInternal,
		service.Errorf(service.CodeContractSigned, "already signed"): service.CodeContractSigned,
	}
	for err, want := range cases {
		got := service.AsError(err)
		if got.Code != want {
			t.Errorf("%v: %s, want %s", err, got.Code, want)
		}
		if got.Code == service.CodeValidation && len(got.Fields) == 0 {
			t.Errorf("%v: a 422 without errors[]", err)
		}
		if got.Code == service.CodeUnavailable && got.RetryAfter <= 0 {
			t.Errorf("%v: 503 without Retry-After", err)
		}
	}
}

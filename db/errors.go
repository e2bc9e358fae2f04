package db

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes of the domain. The web layer maps them to HTTP statuses in one
// place (handlers.statusOf).
const (
	ECONFLICT     = "conflict"
	EFORBIDDEN    = "forbidden"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	ELOCKED       = "locked"
	// ESTEPUP: the action needs a fresh code from the second factor.
	ESTEPUP = "step_up"
	// EUNAVAILABLE: the server cannot take this now, and the same request
	// will do in a moment (all password-hashing slots busy).
	EUNAVAILABLE = "unavailable"
)

// Error is a domain error: a code for the machine and a message for a person.
type Error struct {
	Code    string
	Message string
	// Fields holds per-field messages for EINVALID, keyed by form field name.
	Fields map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("paydesk: %s: %s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return fmt.Sprintf("paydesk: %s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf returns a domain error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a domain error, EINTERNAL for anything else.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the person-facing message of a domain error, or a
// generic one for internal errors (whose details belong in the log only).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. The error was logged; please try again."
}

// FieldErrors returns the per-field messages of a validation error.
func FieldErrors(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// fieldErrors collects validation messages and becomes an EINVALID error.
type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: f}
}

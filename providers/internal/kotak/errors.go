package kotak

import (
	"errors"
	"strings"

	"paydesk/providers"
)

// Error is what the Kotak clients return for every failed call. Kind is one
// of the providers sentinels, so errors.Is(err, providers.ErrOutcomeUnknown)
// and friends work; Code is Kotak's own code when the bank gave one.
type Error struct {
	Provider string // "kotakcms" or "kotakva"
	Op       string // the client method, e.g. "Pay"
	Code     string // the bank's code ("002", "006", "Data Not Found" …), empty for transport failures
	Message  string // the bank's words, or ours for transport failures
	Status   int    // HTTP status when the failure came from HTTP, else 0
	Kind     error  // providers.ErrOutcomeUnknown, ErrTransient, ErrDuplicate, ErrRejected, ErrNotFound or ErrAuth
	Err      error  // underlying cause, if any
}

// Error reads like "kotakcms: Pay: 002 Duplicate Message Id".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
		if e.Message != "" {
			b.WriteByte(' ')
		}
	}
	b.WriteString(e.Message)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the sentinel kind and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// KindOf returns the providers sentinel err wraps, or nil.
func KindOf(err error) error {
	for _, k := range []error{
		providers.ErrOutcomeUnknown, providers.ErrTransient, providers.ErrDuplicate,
		providers.ErrRejected, providers.ErrNotFound, providers.ErrAuth,
	} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

package kotak

import (
	"fmt"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field patterns both sandboxes check the way the bank does.
var (
	AmountPattern = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,2})?$`) // rupees, at most 2 decimals
	EmailPattern  = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$`)
)

// FieldLen checks a string's length in characters (min 0 means optional) and
// that it is clean text. It returns the fault in the bank's words, or "".
func FieldLen(name, v string, min, max int) string {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v):
		return name + " is not valid UTF-8"
	case n == 0 && min > 0:
		return name + " is required"
	case n < min:
		return fmt.Sprintf("%s shorter than %d", name, min)
	case n > max:
		return fmt.Sprintf("%s longer than %d", name, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return name + " has control characters"
		}
	}
	return ""
}

// FirstFault returns the first non-empty fault, so a request is refused for
// the earliest field the bank would complain about.
func FirstFault(checks ...string) string {
	for _, c := range checks {
		if c != "" {
			return c
		}
	}
	return ""
}

// Today is the start of now's day in IST: the bank dates everything in IST,
// whatever the host's zone.
func Today(now time.Time) time.Time {
	t := now.In(IST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, IST)
}

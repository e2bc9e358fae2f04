// Package views holds Paydesk's templ components. Every component takes typed
// props; nothing here reads the database or the request.
package views

import (
	"strconv"
	"time"
)

// INR formats paise as rupees with Indian digit grouping: 123456700 →
// "₹12,34,567.00".
func INR(paise int64) string {
	sign := ""
	u := uint64(paise)
	if paise < 0 {
		sign = "-"
		u = uint64(-(paise + 1)) + 1
	}
	rupees := strconv.FormatUint(u/100, 10)
	frac := u % 100
	return sign + "₹" + groupIndian(rupees) + "." + string([]byte{byte('0' + frac/10), byte('0' + frac%10)})
}

// groupIndian puts commas after the last three digits, then every two.
func groupIndian(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	head, tail := digits[:len(digits)-3], digits[len(digits)-3:]
	out := make([]byte, 0, len(digits)+len(digits)/2)
	first := len(head) % 2
	if first > 0 {
		out = append(out, head[:first]...)
	}
	for i := first; i < len(head); i += 2 {
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, head[i:i+2]...)
	}
	return string(append(append(out, ','), tail...))
}

// When formats a time for tables: date and minute in UTC, blank for zero.
func When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// WhenPrecise formats a time to the second, for audit rows.
func WhenPrecise(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Count writes a count with Indian grouping, as amounts are: 1,00,000.
func Count(n int) string {
	if n < 0 {
		return "-" + groupIndian(strconv.Itoa(-n))
	}
	return groupIndian(strconv.Itoa(n))
}

// Itoa is strconv.Itoa for templates.
func Itoa(n int) string { return strconv.Itoa(n) }

// I64 formats an int64 for templates.
func I64(n int64) string { return strconv.FormatInt(n, 10) }

// CountLabel shows a count that the database stops counting at 1000
// (db.MaxWaitingCount) as "999+".
func CountLabel(n int) string {
	if n >= 1000 {
		return "999+"
	}
	return strconv.Itoa(n)
}

// Plural picks the word for n: one when n is 1, many otherwise. Text never
// says "approval(s)".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// CountOf writes n and its noun in the right number: "1 approval",
// "2 approvals", "1,200 rows".
func CountOf(n int, one, many string) string {
	return Count(n) + " " + Plural(n, one, many)
}

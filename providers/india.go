package providers

import "strings"

// IsIFSC reports whether s is an Indian Financial System Code:
// ^[A-Z]{4}0[A-Z0-9]{6}$ (bank, a zero, branch).
func IsIFSC(s string) bool {
	if len(s) != 11 || s[4] != '0' {
		return false
	}
	for i := 0; i < 11; i++ {
		c := s[i]
		switch {
		case i < 4 && !isUpper(c):
			return false
		case i > 4 && !isUpper(c) && !isDigit(c):
			return false
		}
	}
	return true
}

// IsGSTIN reports whether s has the shape of a GSTIN: a two-digit state code
// (not 00), a PAN (five letters, four digits, a letter), an entity number
// (1–9 or a letter), then two alphanumerics. The check digit is not verified:
// PayMate's own sample (27ATYPR6435K1N0) would fail it.
func IsGSTIN(s string) bool {
	if len(s) != 15 || s[:2] == "00" {
		return false
	}
	for i := 0; i < 15; i++ {
		c := s[i]
		var ok bool
		switch {
		case i < 2, i >= 7 && i < 11:
			ok = isDigit(c)
		case i < 7, i == 11:
			ok = isUpper(c)
		case i == 12:
			ok = (isDigit(c) && c != '0') || isUpper(c)
		default:
			ok = isDigit(c) || isUpper(c)
		}
		if !ok {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// NormalizeMobile turns the ways people type an Indian mobile number
// ("+91 98765 43210", "098765-43210", "919876543210") into the ten digits
// providers take. Anything else comes back without its spaces, dashes and
// brackets, for the caller (or the provider) to refuse.
func NormalizeMobile(s string) string {
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	switch {
	case len(d) == 13 && strings.HasPrefix(d, "+91"):
		return d[3:]
	case len(d) == 12 && strings.HasPrefix(d, "91"):
		return d[2:]
	case len(d) == 11 && strings.HasPrefix(d, "0"):
		return d[1:]
	}
	return d
}

package providers

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Amount errors, returned by ParseAmount.
var (
	ErrAmountSyntax    = errors.New("amount is not a number")
	ErrAmountPrecision = errors.New("amount has more than two decimals")
	ErrAmountRange     = errors.New("amount is too large")
)

// ParseAmount reads a rupee amount written in text ("1234", "1234.5",
// "1,23,456.78") into paise, exactly: no float ever touches it. A sign is
// refused; commas are accepted only as digit-group separators.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrAmountSyntax
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if hasDot && frac == "" {
		return 0, ErrAmountSyntax
	}
	if strings.Contains(whole, ",") {
		if !wellGrouped(whole) {
			return 0, ErrAmountSyntax
		}
		whole = strings.ReplaceAll(whole, ",", "")
	}
	if whole == "" {
		whole = "0"
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, ErrAmountSyntax
	}
	if len(frac) > 2 {
		return 0, ErrAmountPrecision
	}
	for len(frac) < 2 {
		frac += "0"
	}
	rupees, err := strconv.ParseInt(whole, 10, 64)
	paise, _ := strconv.ParseInt(frac, 10, 64)
	if err != nil || rupees > math.MaxInt64/100 || rupees*100 > math.MaxInt64-paise {
		return 0, ErrAmountRange
	}
	return rupees*100 + paise, nil
}

// FormatAmount writes paise as the plain decimal providers expect on the wire:
// 123456 → "1234.56", -5 → "-0.05".
func FormatAmount(paise int64) string {
	sign := ""
	u := uint64(paise)
	if paise < 0 {
		sign = "-"
		u = uint64(-(paise + 1)) + 1 // safe for MinInt64
	}
	frac := u % 100
	return sign + strconv.FormatUint(u/100, 10) + "." + string([]byte{byte('0' + frac/10), byte('0' + frac%10)})
}

// wellGrouped reports whether the commas in whole separate digit groups as
// Indian (12,34,567) or international (1,234,567) writing does: three digits
// after the last comma, twos or threes between commas, and a first group no
// longer than those. Anything else is refused rather than read by dropping
// the commas: "10,50", a decimal comma, would be ₹1,050, a hundred times
// what was meant.
func wellGrouped(whole string) bool {
	groups := strings.Split(whole, ",")
	first, middle, last := groups[0], groups[1:len(groups)-1], groups[len(groups)-1]
	if len(last) != 3 || len(first) == 0 || len(first) > 3 {
		return false
	}
	if len(middle) == 0 {
		return true
	}
	size := len(middle[0])
	if size != 2 && size != 3 {
		return false
	}
	for _, g := range middle {
		if len(g) != size {
			return false
		}
	}
	return len(first) <= size
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package providers

import (
	"errors"
	"testing"
)

func TestParseAmount(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1": 100, "1.5": 150, "1.05": 105, "0.01": 1, ".5": 50, "1234.56": 123456,
		"12,34,567.00": 123456700, "1,000": 100000, " 250 ": 25000, "1,00,00,000": 1000000000, "1,234,567.50": 123456750,
		"12,345": 1234500, "123,456": 12345600, "10,00,000": 100000000, "92233720368547758.07": 9223372036854775807,
	}
	for in, want := range good {
		got, err := ParseAmount(in)
		if err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]error{
		"": ErrAmountSyntax, "-1": ErrAmountSyntax, "+1": ErrAmountSyntax, "1.": ErrAmountSyntax, "1e3": ErrAmountSyntax,
		"1,,000": ErrAmountSyntax, ",100": ErrAmountSyntax, "100,": ErrAmountSyntax, "1.2.3": ErrAmountSyntax, "₹10": ErrAmountSyntax,
		"10,50": ErrAmountSyntax, "1,5": ErrAmountSyntax, "1,5000": ErrAmountSyntax, "1000,000": ErrAmountSyntax,
		"123,45,678": ErrAmountSyntax, "1,00,000,000": ErrAmountSyntax, "1,0,000": ErrAmountSyntax, "5,": ErrAmountSyntax, "1,000.5,0": ErrAmountSyntax,
		"1.001": ErrAmountPrecision, "0.125": ErrAmountPrecision, "92233720368547758.08": ErrAmountRange, "99999999999999999999": ErrAmountRange,
	}
	for in, want := range bad {
		if _, err := ParseAmount(in); !errors.Is(err, want) {
			t.Errorf("ParseAmount(%q) err = %v, want %v", in, err, want)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	cases := map[int64]string{0: "0.00", 5: "0.05", 150: "1.50", 123456: "1234.56", -5: "-0.05",
		-9223372036854775808: "-92233720368547758.08", 9223372036854775807: "92233720368547758.07"}
	for in, want := range cases {
		if got := FormatAmount(in); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", in, got, want)
		}
	}
}

// FuzzAmountRoundTrip: whatever parses formats back to the same paise.
func FuzzAmountRoundTrip(f *testing.F) {
	for _, s := range []string{"0", "1.5", "12,34,567.89", ".01", "9,99,999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseAmount(s)
		if err != nil {
			return
		}
		if p < 0 {
			t.Fatalf("negative %d from %q", p, s)
		}
		back, err := ParseAmount(FormatAmount(p))
		if err != nil || back != p {
			t.Fatalf("%q → %d → %q → %d, %v", s, p, FormatAmount(p), back, err)
		}
	})
}

package views

import "testing"

func TestINR(t *testing.T) {
	cases := map[int64]string{
		0:                   "₹0.00",
		5:                   "₹0.05",
		100:                 "₹1.00",
		99999:               "₹999.99",
		100000:              "₹1,000.00",
		123456700:           "₹12,34,567.00",
		1000000000:          "₹1,00,00,000.00",
		12345678901:         "₹12,34,56,789.01",
		-250050:             "-₹2,500.50",
		9223372036854775807: "₹92,23,37,20,36,85,47,758.07",
	}
	for in, want := range cases {
		if got := INR(in); got != want {
			t.Errorf("INR(%d) = %q, want %q", in, got, want)
		}
	}
	if got := INR(-9223372036854775808); got != "-₹92,23,37,20,36,85,47,758.08" {
		t.Errorf("INR(min) = %q", got)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 5000: "5,000", 10000: "10,000", 100000: "1,00,000", 12345678: "1,23,45,678", -1500: "-1,500"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

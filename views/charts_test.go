package views

import (
	"slices"
	"testing"
)

func TestAxisTicksReadDifferently(t *testing.T) {
	cases := []struct {
		name   string
		lo, hi int64
		want   []string
	}{
		{"a large balance that moved little", 40_00_80_000_00, 40_00_97_000_00,
			[]string{"₹40.0080Cr", "₹40.0085Cr", "₹40.0090Cr", "₹40.0095Cr"}},
		{"crores", 0, 3_20_00_000_00, []string{"₹0", "₹1Cr", "₹2Cr", "₹3Cr"}},
		{"lakhs", 12_00_000_00, 14_00_000_00, []string{"₹12.0L", "₹12.5L", "₹13.0L", "₹13.5L", "₹14.0L"}},
		{"a crore balance that moved by rupees", 40_00_00_000_00, 40_00_00_020_00,
			[]string{"₹40,00,00,000", "₹40,00,00,005", "₹40,00,00,010", "₹40,00,00,015", "₹40,00,00,020"}},
		{"lakhs that moved by hundreds", 12_00_000_00, 12_02_000_00, []string{"₹12.000L", "₹12.005L", "₹12.010L", "₹12.015L", "₹12.020L"}},
		{"a range that fits three steps of 5", 40_00_00_000_00, 40_01_16_000_00,
			[]string{"₹40.000Cr", "₹40.002Cr", "₹40.004Cr", "₹40.006Cr", "₹40.008Cr", "₹40.010Cr"}},
		{"a range that fits two steps of 1", 10_050_00, 12_900_00, []string{"₹10.5k", "₹11.0k", "₹11.5k", "₹12.0k", "₹12.5k"}},
		{"rupees", 0, 900_00, []string{"₹0", "₹200", "₹400", "₹600", "₹800"}},
		{"below zero", -5_000_00, 5_000_00, []string{"-₹4k", "-₹2k", "₹0", "₹2k", "₹4k"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, tk := range axisTicks(c.lo, c.hi) {
				if tk.Value < c.lo || tk.Value > c.hi {
					t.Errorf("tick %d outside [%d, %d]", tk.Value, c.lo, c.hi)
				}
				got = append(got, tk.Label)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("labels %q, want %q", got, c.want)
			}
		})
	}
}

func TestLineChartOfAnOverdrawnAccount(t *testing.T) {
	days := []string{"2026-12-01", "2026-12-02", "2026-12-03"}
	known := []bool{true, true, true}
	for _, values := range [][]int64{
		{-5_000_00, -3_000_00, -1_000_00}, // overdrawn throughout
		{-2_000_00, 1_000_00, 4_000_00},   // into credit
		{-7_00, -7_00, -7_00},             // flat, below zero
	} {
		c := LineChart("Account", "", days, values, known, 0, "")
		if len(c.YTicks) < 2 {
			t.Fatalf("%v: %d gridlines, want at least 2", values, len(c.YTicks))
		}
		for _, m := range c.Markers {
			if m.Y < chartTop-0.01 || m.Y > chartH-chartBottom+0.01 {
				t.Errorf("%v: a point at y=%.1f is outside the plot", values, m.Y)
			}
		}
		for _, tk := range c.YTicks {
			if tk.Pos < chartTop-0.01 || tk.Pos > chartH-chartBottom+0.01 {
				t.Errorf("%v: gridline %q at y=%.1f is outside the plot", values, tk.Label, tk.Pos)
			}
		}
	}
}

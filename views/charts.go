package views

import (
	"fmt"
	"strconv"
	"strings"
)

// Charts are SVG drawn on the server. Geometry lives in SVG attributes (the
// CSP refuses inline style attributes); colours come from app.css classes;
// every series is also told apart without colour (solid against hatched,
// above against below the axis, point markers), and every chart has a table
// beside it with the same numbers.

// Chart sizes, in SVG user units (the SVG scales to its box).
const (
	chartW      = 640
	chartH      = 220
	chartLeft   = 78 // room for the y labels
	chartRight  = 10
	chartTop    = 12
	chartBottom = 28
)

// Tick is one axis label at a position.
type Tick struct {
	Pos   float64
	Label string
}

// Bar is one bar: its box, its series class and its tooltip.
type Bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// Marker is one point of a line, with its tooltip.
type Marker struct {
	X, Y  float64
	Title string
}

// Chart is a chart ready to draw: a line (Points, Markers) and/or bars,
// axes, and an optional reference line (a threshold).
type Chart struct {
	Title   string // the accessible name
	Desc    string // what it shows, for screen readers
	W, H    int
	Points  string
	Markers []Marker
	Bars    []Bar
	YTicks  []Tick
	XTicks  []Tick
	ZeroY   float64
	HasZero bool
	// RefY/RefLabel draw a dashed reference line (the threshold).
	RefY     float64
	RefLabel string
	HasRef   bool
	Empty    bool
	Legend   []LegendItem
}

// LegendItem names a series and how it is drawn.
type LegendItem struct {
	Class string
	Label string
}

// Series is one named sequence of values over the chart's days.
type Series struct {
	Label  string
	Class  string // "in", "out", "paid", "other", "line"
	Values []int64
	// Below draws the series under the axis (outflows).
	Below bool
}

// Short formats an amount in minor units compactly for an axis: ₹12.5L,
// ₹3.2Cr, ₹950.
func Short(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	r := float64(minor) / 100
	switch {
	case r >= 1e7:
		return sign + "₹" + trimFloat(r/1e7) + "Cr"
	case r >= 1e5:
		return sign + "₹" + trimFloat(r/1e5) + "L"
	case r >= 1e3:
		return sign + "₹" + trimFloat(r/1e3) + "k"
	}
	return sign + "₹" + strconv.FormatFloat(r, 'f', 0, 64)
}

// axisTick is one gridline of an amount axis: its value in paise and its
// label.
type axisTick struct {
	Value int64
	Label string
}

// axisTicks picks the gridlines of an amount axis over [lo, hi]: as a rule
// four to eight round values a step of 1, 2 or 5 × 10ⁿ apart, each labelled
// in one unit (crore, lakh, thousand or rupees, by the largest) with as many
// decimals as the step needs, so neighbouring labels never read the same.
// A balance of ₹40 crore that moved by ₹15,000 over the days gets ₹40.0080Cr,
// ₹40.0085Cr, … rather than five labels of ₹40Cr.
func axisTicks(lo, hi int64) []axisTick {
	if hi <= lo {
		return []axisTick{{lo, axisLabel(lo, axisUnits[len(axisUnits)-1], 2)}}
	}
	step := niceMax(max(hi-lo, 5) / 5)
	values := gridValues(lo, hi, step)
	if len(values) < 4 && step > 1 {
		// The next round step down: 5 → 2, 2 → 1, 1 → 0.5.
		if firstDigit(step) == 5 {
			step = step * 2 / 5
		} else {
			step /= 2
		}
		values = gridValues(lo, hi, step)
	}
	top := max(abs(values[0]), abs(values[len(values)-1]))
	for i, u := range axisUnits {
		if top < u.paise && i < len(axisUnits)-1 || u.below > 0 && top >= u.below {
			continue
		}
		// The decimals of this unit the step needs; up to four for a large
		// unit, else the next smaller unit reads better.
		d, q := 0, u.paise
		for d < u.maxDecimals && step%q != 0 {
			d, q = d+1, q/10
		}
		if step%q != 0 {
			continue
		}
		out := make([]axisTick, len(values))
		for j, v := range values {
			out[j] = axisTick{v, axisLabel(v, u, d)}
		}
		return out
	}
	panic("unreachable: rupees with two decimals divide every step")
}

// gridValues lists the multiples of step in [lo, hi].
func gridValues(lo, hi, step int64) []int64 {
	first := (lo + step - 1) / step * step
	if lo < 0 {
		first = lo / step * step
	}
	var values []int64
	for v := first; v <= hi; v += step {
		values = append(values, v)
	}
	return values
}

// firstDigit is the leading digit of a positive number.
func firstDigit(v int64) int64 {
	for v >= 10 {
		v /= 10
	}
	return v
}

// axisUnit is one unit an axis may be labelled in.
type axisUnit struct {
	paise       int64
	suffix      string
	maxDecimals int
	below       int64 // used only for axes below this (0: any)
}

// axisUnits are tried largest first; rupees with paise always fit. A
// thousand is no unit for crores ("₹4,00,000.1k"): those fall to rupees.
var axisUnits = []axisUnit{{1e9, "Cr", 4, 0}, {1e7, "L", 3, 0}, {1e5, "k", 2, 1e7}, {100, "", 2, 0}}

// axisLabel writes v in unit u with d decimals, exactly (no float); rupees
// with Indian grouping.
func axisLabel(v int64, u axisUnit, d int) string {
	if v == 0 {
		return "₹0"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	whole, frac := v/u.paise, v%u.paise
	s := sign + "₹" + groupIndian(strconv.FormatInt(whole, 10))
	if d > 0 {
		f := strconv.FormatInt(frac, 10)
		f = strings.Repeat("0", len(strconv.FormatInt(u.paise, 10))-1-len(f)) + f
		s += "." + f[:d]
	}
	return s + u.suffix
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func trimFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

func plotW() float64 { return chartW - chartLeft - chartRight }
func plotH() float64 { return chartH - chartTop - chartBottom }

// niceMax rounds v up to 1, 2 or 5 × 10ⁿ, for even gridlines.
func niceMax(v int64) int64 {
	if v <= 0 {
		return 1
	}
	p := int64(1)
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// xTicks labels about six of the days.
func xTicks(days []string, x func(i int) float64) []Tick {
	var out []Tick
	step := max(1, (len(days)+5)/6)
	for i := 0; i < len(days); i += step {
		out = append(out, Tick{Pos: x(i), Label: shortDay(days[i])})
	}
	return out
}

// shortDay writes 2026-11-21 as "21 Nov".
func shortDay(day string) string {
	if len(day) != 10 {
		return day
	}
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	m, _ := strconv.Atoi(day[5:7])
	if m < 1 || m > 12 {
		return day
	}
	return strings.TrimPrefix(day[8:], "0") + " " + months[m-1]
}

// LineChart draws values per day (known[i] false: no figure yet) as a
// step-free line with a marker per day, scaled from the lowest to the
// highest value (and the reference, when given).
func LineChart(title, desc string, days []string, values []int64, known []bool, ref int64, refLabel string) Chart {
	c := Chart{Title: title, Desc: desc, W: chartW, H: chartH, Legend: []LegendItem{{"line", "Closing balance"}}}
	lo, hi, any := int64(0), int64(0), false
	for i, v := range values {
		if !known[i] {
			continue
		}
		if !any || v < lo {
			lo = v
		}
		if !any || v > hi {
			hi = v
		}
		any = true
	}
	if !any {
		c.Empty = true
		return c
	}
	if ref > 0 {
		lo, hi = min(lo, ref), max(hi, ref)
	}
	// Pad the range so a flat line sits mid-chart.
	span := hi - lo
	if span == 0 {
		span = max(hi/10, 100_00)
	}
	// A balance near zero starts the axis at zero; an overdrawn one (below
	// zero) keeps its own range.
	lo, hi = lo-span/10, hi+span/10
	if lo >= 0 && lo < span || lo < 0 && lo+span/10 >= 0 {
		lo = 0
	}
	y := func(v int64) float64 { return chartTop + plotH()*(1-float64(v-lo)/float64(hi-lo)) }
	x := func(i int) float64 {
		if len(days) == 1 {
			return chartLeft + plotW()/2
		}
		return chartLeft + plotW()*float64(i)/float64(len(days)-1)
	}
	var pts []string
	for i, v := range values {
		if !known[i] {
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		c.Markers = append(c.Markers, Marker{X: x(i), Y: y(v), Title: shortDay(days[i]) + ": " + INR(v)})
	}
	c.Points = strings.Join(pts, " ")
	for _, t := range axisTicks(lo, hi) {
		c.YTicks = append(c.YTicks, Tick{Pos: y(t.Value), Label: t.Label})
	}
	c.XTicks = xTicks(days, x)
	if ref > 0 {
		c.HasRef, c.RefY, c.RefLabel = true, y(ref), refLabel
		c.Legend = append(c.Legend, LegendItem{"ref", refLabel})
	}
	return c
}

// BarChart draws one bar per series per day, side by side; series marked
// Below hang under the axis. format labels the axis and the tooltips.
func BarChart(title, desc string, days []string, series []Series, format func(int64) string) Chart {
	c := Chart{Title: title, Desc: desc, W: chartW, H: chartH}
	var up, down int64
	for _, s := range series {
		c.Legend = append(c.Legend, LegendItem{s.Class, s.Label})
		for _, v := range s.Values {
			if s.Below {
				down = max(down, v)
			} else {
				up = max(up, v)
			}
		}
	}
	if up == 0 && down == 0 {
		c.Empty = true
		return c
	}
	// Both directions share one scale, so a day's bars compare by length.
	top, bottom := niceMax(up), int64(0)
	switch {
	case down > 0 && up == 0:
		top, bottom = 0, niceMax(down)
	case down > 0:
		top = niceMax(max(up, down))
		bottom = top
	}
	y := func(v int64) float64 { return chartTop + plotH()*float64(top-v)/float64(top+bottom) }
	slot := plotW() / float64(max(len(days), 1))
	above := 0
	for _, s := range series {
		if !s.Below {
			above++
		}
	}
	barW := min(slot*0.8/float64(max(above, 1)), 48)
	x := func(i int) float64 { return chartLeft + slot*(float64(i)+0.5) }
	c.ZeroY, c.HasZero = y(0), true
	k := 0
	for _, s := range series {
		// Bars are centred in their day's slot.
		off := (slot-barW*float64(max(above, 1)))/2 + barW*float64(k)
		w := barW
		if s.Below {
			w = min(slot*0.8, 48)
			off = (slot - w) / 2
		} else {
			k++
		}
		for i, v := range s.Values {
			if v == 0 {
				continue
			}
			b := Bar{X: chartLeft + slot*float64(i) + off, W: max(w-1, 1), Class: s.Class,
				Title: shortDay(days[i]) + " · " + s.Label + ": " + format(v)}
			if s.Below {
				b.Y, b.H = y(0), y(-v)-y(0)
			} else {
				b.Y, b.H = y(v), y(0)-y(v)
			}
			c.Bars = append(c.Bars, b)
		}
	}
	var ticks []int64
	if top > 0 {
		ticks = append(ticks, top)
		if top/2 > 0 && top/2 != top {
			ticks = append(ticks, top/2)
		}
	}
	ticks = append(ticks, 0)
	if bottom > 0 {
		if bottom/2 > 0 {
			ticks = append(ticks, -bottom/2)
		}
		ticks = append(ticks, -bottom)
	}
	for _, v := range ticks {
		label := format(v)
		if v < 0 {
			label = "−" + format(-v)
		}
		c.YTicks = append(c.YTicks, Tick{Pos: y(v), Label: label})
	}
	c.XTicks = xTicks(days, x)
	return c
}

// Spark is a sparkline: a polyline in a 100×24 box.
type Spark struct {
	Points string
	Label  string
}

// Sparkline draws values (oldest first) as a small line; empty for fewer
// than two values.
func Sparkline(values []int64, label string) Spark {
	if len(values) < 2 {
		return Spark{}
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := float64(hi - lo)
	if span == 0 {
		span = 1
	}
	pts := make([]string, len(values))
	for i, v := range values {
		pts[i] = fmt.Sprintf("%.1f,%.1f", 100*float64(i)/float64(len(values)-1), 22-20*float64(v-lo)/span)
	}
	return Spark{Points: strings.Join(pts, " "), Label: label}
}

// F1 formats a chart coordinate.
func F1(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// Percent formats basis points: 8750 → "87.5 %"; "—" for -1.
func Percent(bp int) string {
	if bp < 0 {
		return "—"
	}
	return trimFloat(float64(bp)/100) + " %"
}

// CountShort labels a count axis.
func CountShort(n int64) string { return Count(int(n)) }

// chartID names a chart's SVG parts (title, pattern) uniquely on a page.
func chartID(c Chart) string {
	h := uint32(2166136261)
	for i := 0; i < len(c.Title); i++ {
		h = (h ^ uint32(c.Title[i])) * 16777619
	}
	return strconv.FormatUint(uint64(h), 36)
}

func rangeURL(base string, days int) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "days=" + strconv.Itoa(days)
}

func inflowNames(in []InflowSourceView) string {
	names := make([]string, len(in))
	for i, s := range in {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

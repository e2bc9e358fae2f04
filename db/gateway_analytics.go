package db

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// GatewayDayStat is one IST day of gateway transactions (by day created).
type GatewayDayStat struct {
	Day         string
	Txns        int
	Paid        int
	Failed      int // failed, expired or refused
	Open        int // not final yet
	VolumeMinor int64
}

// GatewayMethodStat is one payment method over the chosen range.
type GatewayMethodStat struct {
	MethodID    string
	Name        string
	Txns        int
	Paid        int
	Failed      int
	Open        int
	VolumeMinor int64
	PaidMS      int64 // sum of the time from creation to payment
}

// SuccessRate is paid over decided (paid, failed, expired or refused), in
// basis points (10000 = 100 %); -1 when nothing was decided.
func (m GatewayMethodStat) SuccessRate() int {
	if d := m.Paid + m.Failed; d > 0 {
		return m.Paid * 10000 / d
	}
	return -1
}

// AvgToPaid is the average time from creation to payment; 0 when none paid.
func (m GatewayMethodStat) AvgToPaid() time.Duration {
	if m.Paid == 0 {
		return 0
	}
	return time.Duration(m.PaidMS/int64(m.Paid)) * time.Millisecond
}

// GatewayAnalytics is the analytics of one currency over IST days [From, To).
type GatewayAnalytics struct {
	From, To string
	Currency string
	Days     []GatewayDayStat // every day of the range, oldest first
	Methods  []GatewayMethodStat
	Total    GatewayMethodStat
}

// Analytics sums the per-day summaries (gateway_method_days, kept by
// triggers in the transaction of each change) over [from, to) for one
// currency: two GROUP BYs over at most days × methods rows, whatever the
// number of transactions.
func (g *Gateway) Analytics(ctx context.Context, from, to, currency string) (GatewayAnalytics, error) {
	a := GatewayAnalytics{From: from, To: to, Currency: currency}
	days, err := queryAll(ctx, g.db.read, "gateway analytics days", func(s scanner) (GatewayDayStat, error) {
		var d GatewayDayStat
		return d, s.Scan(&d.Day, &d.Txns, &d.Paid, &d.Failed, &d.Open, &d.VolumeMinor)
	}, `SELECT day, sum(paid + failed + open), sum(paid), sum(failed), sum(open), sum(paid_minor)
		FROM gateway_method_days WHERE day >= ? AND day < ? AND currency_code = ? GROUP BY day`, from, to, currency)
	if err != nil {
		return a, err
	}
	byDay := map[string]GatewayDayStat{}
	for _, d := range days {
		byDay[d.Day] = d
	}
	for _, day := range DaysBetween(from, to) {
		d := byDay[day]
		d.Day = day
		a.Days = append(a.Days, d)
	}
	a.Methods, err = queryAll(ctx, g.db.read, "gateway analytics methods", func(s scanner) (GatewayMethodStat, error) {
		var m GatewayMethodStat
		return m, s.Scan(&m.MethodID, &m.Name, &m.Txns, &m.Paid, &m.Failed, &m.Open, &m.VolumeMinor, &m.PaidMS)
	}, `SELECT method_id, max(method_name), sum(paid + failed + open), sum(paid), sum(failed), sum(open), sum(paid_minor), sum(paid_ms)
		FROM gateway_method_days WHERE day >= ? AND day < ? AND currency_code = ? GROUP BY method_id HAVING sum(paid + failed + open) > 0`,
		from, to, currency)
	if err != nil {
		return a, err
	}
	// A few methods: the busiest first.
	slices.SortFunc(a.Methods, func(x, y GatewayMethodStat) int {
		return cmp.Or(cmp.Compare(y.Txns, x.Txns), cmp.Compare(x.MethodID, y.MethodID))
	})
	a.Total.Name = "All methods"
	for _, m := range a.Methods {
		a.Total.Txns += m.Txns
		a.Total.Paid += m.Paid
		a.Total.Failed += m.Failed
		a.Total.Open += m.Open
		a.Total.VolumeMinor += m.VolumeMinor
		a.Total.PaidMS += m.PaidMS
	}
	return a, nil
}

// AnalyticsCurrencies lists the currency codes KS Pay offers or ever
// offered (the catalogue keeps them), for the analytics page's choice.
func (g *Gateway) AnalyticsCurrencies(ctx context.Context) ([]string, error) {
	codes, err := queryAll(ctx, g.db.read, "gateway analytics currencies", scanValue[string],
		`SELECT DISTINCT code FROM gateway_currencies`)
	slices.Sort(codes) // a handful
	return codes, err
}

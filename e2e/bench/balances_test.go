package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"paydesk/db"
)

// withBalances wires the balances and KS Pay domains into the fixture's
// server once (the threshold approval kind registers once).
func (fx *fixture) withBalances() {
	if fx.Srv.Balances != nil {
		return
	}
	fx.Srv.Balances = db.NewBalances(fx.DB, fx.Srv.Approvals, []db.AccountSpec{
		{Source: db.SourcePayMate, HasBalance: true}, {Source: db.SourceKotakCMS}})
	fx.Srv.Gateway = db.NewGateway(fx.DB, nil, db.GatewayOptions{})
	fx.Srv.Inflows = []db.InflowSource{fx.Srv.Gateway}
}

// seedBalanceHistory gives PayMate a year of history: a change of its
// figure every five minutes (105,120 rows), each day's summary, and a year
// of payouts per day from both accounts.
func seedBalanceHistory(tb testing.TB, fx *fixture, _ int) {
	tb.Helper()
	fx.withBalances()
	now := time.Now().UnixMilli()
	const changes = 365 * 24 * 12
	exec(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO balance_history (source, account, available_paise, as_of, fetched_at, confirmed_at)
		SELECT 'paymate', 'Xpress Account X1', 40000000000 + (i * 7919) % 2000000000, ? - i * 300000, ? - i * 300000, ? - i * 300000 + 240000
		FROM n`, changes, now, now, now)
	exec(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 365)
		INSERT OR REPLACE INTO balance_days (source, day, open_paise, close_paise, low_paise, high_paise, changes)
		SELECT 'paymate', date(? / 1000 - i * 86400, 'unixepoch', '+330 minutes'),
			40000000000 + (i * 7919) % 2000000000, 40000000000 + (i * 104729) % 2000000000, 40000000000, 42000000000, 288 FROM n`, now)
	exec(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 365)
		INSERT OR REPLACE INTO payout_outflow_days (source, day, paise, count)
		SELECT s.source, date(? / 1000 - i * 86400, 'unixepoch', '+330 minutes'), 10000000 + i * 9973, 40 + i % 17
		FROM n, (SELECT 'paymate' AS source UNION ALL SELECT 'kotakcms') s`, now)
	exec(tb, fx, `INSERT OR REPLACE INTO balances (source, account, available_paise, as_of, fetched_at)
		VALUES ('paymate', 'Xpress Account X1', 41234567800, ?, ?)`, now, now)
	exec(tb, fx, `INSERT OR REPLACE INTO balance_status (source, attempted_at, ok_at, error) VALUES ('paymate', ?, ?, '')`, now, now)
}

// seedGateway makes n KS Pay transactions over the last 365 days, in every
// method and state (the per-day summaries follow by trigger).
func seedGateway(tb testing.TB, fx *fixture, n int) {
	tb.Helper()
	fx.withBalances()
	var have int
	if err := fx.DB.Writer().QueryRow(`SELECT count(*) FROM gateway_transactions`).Scan(&have); err != nil {
		tb.Fatal(err)
	}
	if have >= n {
		return // an earlier page seeded them
	}
	now := time.Now().UnixMilli()
	exec(tb, fx, `INSERT OR IGNORE INTO gateway_currencies (id, code, name, active, refreshed_at) VALUES
		('c_WkmEe23LeI', 'INR', 'Rupees', 1, ?), ('c_JdzYuwqF6O', 'USD', 'US Dollar', 1, ?)`, now, now)
	exec(tb, fx, `INSERT OR IGNORE INTO gateway_methods (id, currency_id, name, active, refreshed_at) VALUES
		('pm_5LR93Agwv', 'c_WkmEe23LeI', 'UPI', 1, ?), ('pm_QtgkfiiWb', 'c_WkmEe23LeI', 'DEBIT CARD', 1, ?),
		('pm_Mk55VGvFm', 'c_WkmEe23LeI', 'NET BANKING', 1, ?), ('pm_67NoP7JaQ', 'c_WkmEe23LeI', 'CREDIT CARD', 1, ?),
		('pm_CardUSD01', 'c_JdzYuwqF6O', 'CARD', 1, ?)`, now, now, now, now, now)
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	exec(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO gateway_transactions (id, reference_number, customer_ref, provider_txn_id, currency_id, currency_code,
			method_id, method_name, amount_minor, status, origin, maker_id, paid_at, created_at, updated_at)
		SELECT 'KP' || i, 'KP' || i, 'INV-' || i, printf('tx_%09d', i),
			CASE WHEN i % 20 = 0 THEN 'c_JdzYuwqF6O' ELSE 'c_WkmEe23LeI' END, CASE WHEN i % 20 = 0 THEN 'USD' ELSE 'INR' END,
			CASE WHEN i % 20 = 0 THEN 'pm_CardUSD01' ELSE (CASE i % 4 WHEN 0 THEN 'pm_5LR93Agwv' WHEN 1 THEN 'pm_QtgkfiiWb'
				WHEN 2 THEN 'pm_Mk55VGvFm' ELSE 'pm_67NoP7JaQ' END) END,
			CASE WHEN i % 20 = 0 THEN 'CARD' ELSE (CASE i % 4 WHEN 0 THEN 'UPI' WHEN 1 THEN 'DEBIT CARD'
				WHEN 2 THEN 'NET BANKING' ELSE 'CREDIT CARD' END) END,
			100 + (i * 7919) % 5000000,
			CASE WHEN i % 7 = 0 THEN 'failed' WHEN i % 11 = 0 THEN 'expired' WHEN i % 97 = 0 THEN 'pending' ELSE 'paid' END,
			'paydesk', ?,
			CASE WHEN i % 7 <> 0 AND i % 11 <> 0 AND i % 97 <> 0 THEN ? - (i * ?) / ? + 60000 + (i % 600) * 1000 END,
			? - (i * ?) / ?, ? - (i * ?) / ?
		FROM n`, n, fx.Maker.ID, now, span, n, now, span, n, now, span, n)
}

func exec(tb testing.TB, fx *fixture, q string, args ...any) {
	tb.Helper()
	if _, err := fx.DB.Writer().Exec(q, args...); err != nil {
		tb.Fatalf("seed: %v\n%s", err, q)
	}
}

// TestBalancesBench measures the balances page over a year of history, the
// KS Pay list and the analytics over 100,000 transactions: latency with one
// client at a time (p50, p99) and capacity with eight (req/s).
func TestBalancesBench(t *testing.T) {
	if os.Getenv("PAYDESK_BENCH") != "1" {
		t.Skip("load measurements; run with PAYDESK_BENCH=1 (make bench)")
	}
	n := envInt("PAYDESK_BENCH_ROWS", 100_000)
	dur := time.Duration(envInt("PAYDESK_BENCH_SECONDS", 5)) * time.Second
	fx := newServer(t)
	pages := map[string]benchPage{}
	var names []string
	for _, p := range benchPages() {
		if p.Name == "balances" || strings.HasPrefix(p.Name, "kspay") {
			start := time.Now()
			p.Seed(t, fx, n)
			t.Logf("seeded %s in %v", p.Name, time.Since(start).Round(time.Millisecond))
			pages[p.Name] = p
			names = append(names, p.Name)
		}
	}
	c := newClient(fx.BaseURL, 16)
	defer c.close()
	if err := c.signIn("admin"); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "page\tpath\tbytes\tp50 (1 client)\tp99 (1 client)\treq/s (8 clients)\terrors\n")
	for _, name := range names {
		p := pages[name]
		for _, path := range []string{p.First, p.Filtered} {
			status, body, err := c.get(context.Background(), path)
			if err != nil || status != 200 {
				t.Fatalf("GET %s: %d %v", path, status, err)
			}
			one := closedLoop(c, path, 1, dur)
			eight := closedLoop(c, path, 8, dur)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.0f\t%d\n", name, path, len(body), ms(one.P50), ms(one.P99), eight.RPS, one.Errors+eight.Errors)
		}
	}
	tw.Flush()
	t.Logf("balances and KS Pay pages, %d gateway transactions, a year of balance history:\n%s", n, b.String())
}

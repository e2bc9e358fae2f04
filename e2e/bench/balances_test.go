package bench

import (
	"testing"
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
	execSQL(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO balance_history (source, account, available_paise, as_of, fetched_at, confirmed_at)
		SELECT 'paymate', 'Xpress Account X1', 40000000000 + (i * 7919) % 2000000000, ? - i * 300000, ? - i * 300000, ? - i * 300000 + 240000
		FROM n`, changes, now, now, now)
	execSQL(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 365)
		INSERT OR REPLACE INTO balance_days (source, day, open_paise, close_paise, low_paise, high_paise, changes)
		SELECT 'paymate', date(? / 1000 - i * 86400, 'unixepoch', '+330 minutes'),
			40000000000 + (i * 7919) % 2000000000, 40000000000 + (i * 104729) % 2000000000, 40000000000, 42000000000, 288 FROM n`, now)
	execSQL(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 365)
		INSERT OR REPLACE INTO payout_outflow_days (source, day, paise, count)
		SELECT s.source, date(? / 1000 - i * 86400, 'unixepoch', '+330 minutes'), 10000000 + i * 9973, 40 + i % 17
		FROM n, (SELECT 'paymate' AS source UNION ALL SELECT 'kotakcms') s`, now)
	execSQL(tb, fx, `INSERT OR REPLACE INTO balances (source, account, available_paise, as_of, fetched_at)
		VALUES ('paymate', 'Xpress Account X1', 41234567800, ?, ?)`, now, now)
	execSQL(tb, fx, `INSERT OR REPLACE INTO balance_status (source, attempted_at, ok_at, error) VALUES ('paymate', ?, ?, '')`, now, now)
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
	execSQL(tb, fx, `INSERT OR IGNORE INTO gateway_currencies (id, code, name, active, refreshed_at) VALUES
		('c_WkmEe23LeI', 'INR', 'Rupees', 1, ?), ('c_JdzYuwqF6O', 'USD', 'US Dollar', 1, ?)`, now, now)
	execSQL(tb, fx, `INSERT OR IGNORE INTO gateway_methods (id, currency_id, name, active, refreshed_at) VALUES
		('pm_5LR93Agwv', 'c_WkmEe23LeI', 'UPI', 1, ?), ('pm_QtgkfiiWb', 'c_WkmEe23LeI', 'DEBIT CARD', 1, ?),
		('pm_Mk55VGvFm', 'c_WkmEe23LeI', 'NET BANKING', 1, ?), ('pm_67NoP7JaQ', 'c_WkmEe23LeI', 'CREDIT CARD', 1, ?),
		('pm_CardUSD01', 'c_JdzYuwqF6O', 'CARD', 1, ?)`, now, now, now, now, now)
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	execSQL(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
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

// execSQL runs one seeding statement on the writer.
func execSQL(tb testing.TB, fx *fixture, q string, args ...any) {
	tb.Helper()
	if _, err := fx.DB.Writer().Exec(q, args...); err != nil {
		tb.Fatalf("seed: %v\n%s", err, q)
	}
}

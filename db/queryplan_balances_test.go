package db

import (
	"context"
	"testing"
	"time"

	"paydesk/providers"
)

// balancesPlans: the balances page (accounts with reservations, history by
// day, outflows, every change for CSV), the refresh's own queries, the KS
// Pay list with each filter, its exports, analytics, inflows, the sync's and
// the sweep's queries, and the transaction page.
func balancesPlans(t *testing.T, fx *planFixture) []planCase {
	now := fx.DB.nowMS()
	// Payouts from both sources in every state; a tenth in flight.
	fx.seedRows(t, planRows, `INSERT INTO payouts (id, beneficiary_name, account_no, ifsc, amount_paise, rail, source, state,
		maker_id, created_at, updated_at, processing_at)
		SELECT 'BP' || i, 'Vendor ' || i, printf('5010%08d', i), 'HDFC0001234', 1000 + i, 'NEFT',
			CASE WHEN i % 2 = 0 THEN 'paymate' ELSE 'kotakcms' END,
			CASE i % 10 WHEN 0 THEN 'queued' WHEN 1 THEN 'processing' WHEN 2 THEN 'pending_approval' WHEN 3 THEN 'failed' ELSE 'processed' END,
			?, ? - i * 60000, ? - i * 60000, CASE WHEN i % 10 = 1 THEN ? - i * 60000 END
		FROM n`, fx.Maker.ID, now, now, now)
	// A change of the PayMate figure every few minutes for a long while.
	fx.seedRows(t, planRows, `INSERT INTO balance_history (source, account, available_paise, as_of, fetched_at, confirmed_at)
		SELECT 'paymate', 'Xpress Account X1', 5000000000 + (i * 7919) % 100000000, ? - i * 300000, ? - i * 300000, ? - i * 300000 + 60000
		FROM n`, now, now, now)
	fx.seedRows(t, planRows, `INSERT INTO balance_days (source, day, open_paise, close_paise, low_paise, high_paise, changes)
		SELECT CASE WHEN i % 2 = 0 THEN 'paymate' ELSE 'kotakcms' END, date(? / 1000 - i * 43200, 'unixepoch'), 1, 2, 1, 2, 3 FROM n`, now)
	fx.seedRows(t, planRows, `INSERT OR IGNORE INTO payout_outflow_days (source, day, paise, count)
		SELECT CASE WHEN i % 2 = 0 THEN 'paymate' ELSE 'kotakcms' END, date(? / 1000 - i * 43200, 'unixepoch'), i, 1 FROM n`, now)
	if _, err := fx.DB.write.Exec(`INSERT INTO balances (source, account, available_paise, as_of, fetched_at) VALUES ('paymate', 'X1', 5000000000, ?, ?)`, now, now); err != nil {
		t.Fatal(err)
	}
	// KS Pay: the catalogue and transactions of every method and state.
	if _, err := fx.DB.write.Exec(`INSERT INTO gateway_currencies (id, code, name, active, refreshed_at) VALUES
		('c_WkmEe23LeI', 'INR', 'Rupees', 1, ?), ('c_JdzYuwqF6O', 'USD', 'US Dollar', 1, ?);
		INSERT INTO gateway_methods (id, currency_id, name, active, refreshed_at) VALUES
		('pm_5LR93Agwv', 'c_WkmEe23LeI', 'UPI', 1, ?), ('pm_QtgkfiiWb', 'c_WkmEe23LeI', 'DEBIT CARD', 1, ?),
		('pm_Mk55VGvFm', 'c_WkmEe23LeI', 'NET BANKING', 1, ?), ('pm_CardUSD01', 'c_JdzYuwqF6O', 'CARD', 1, ?)`,
		now, now, now, now, now, now); err != nil {
		t.Fatal(err)
	}
	fx.seedRows(t, planRows, `INSERT INTO gateway_transactions (id, reference_number, customer_ref, provider_txn_id, currency_id,
		currency_code, method_id, method_name, amount_minor, status, origin, maker_id, paid_at, created_at, updated_at)
		SELECT 'KP' || i, 'KP' || i, 'INV-' || (i % 5000), printf('tx_%09d', i), 'c_WkmEe23LeI', 'INR',
			CASE i % 3 WHEN 0 THEN 'pm_5LR93Agwv' WHEN 1 THEN 'pm_QtgkfiiWb' ELSE 'pm_Mk55VGvFm' END, 'M', 100 + (i * 7919) % 10000000,
			CASE i % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'failed' WHEN 2 THEN 'expired' ELSE 'paid' END, 'paydesk', ?,
			CASE WHEN i % 5 >= 3 THEN ? - i * 60000 + 90000 END, ? - i * 60000, ? - i * 60000
		FROM n`, fx.Maker.ID, now, now, now)

	fx.seedRows(t, planRows, `INSERT INTO gateway_events (txn_id, at, kind, state) SELECT 'KP' || i, ?, 'created', 'pending' FROM n`, now)
	b := NewBalances(fx.DB, fx.Approvals, []AccountSpec{{Source: SourcePayMate, HasBalance: true}, {Source: SourceKotakCMS}})
	g := NewGateway(fx.DB, nil, GatewayOptions{})
	nowT := fx.DB.Now()
	from, to := ISTDay(nowT.AddDate(0, 0, -89)), ISTDay(nowT.AddDate(0, 0, 1))
	watcher := NewBalanceWatcher(fx.DB, map[string]providers.Balances{SourcePayMate: &fixedBalance{paise: 5_000_000_00}})
	list := func(f GatewayFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			f.Limit = 50
			_, _, err := g.List(ctx, f)
			return err
		}
	}
	each := func(f GatewayFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			return g.Each(ctx, f, func(GatewayTxn) error { return nil })
		}
	}
	amountOrder := walk("SEARCH t USING INDEX gateway_txn_amount (amount_minor>? AND amount_minor<?)",
		"an amount range is listed largest first: a range of the amount index, stopped by LIMIT")
	week := walk("SEARCH t USING INDEX gateway_txn_list (created_at>? AND created_at<?)", "the week's transactions in the list's order, stopped by LIMIT")
	exports := map[string]string{"steps": "an export reads every row it exports, in the list's order"}
	cases := []planCase{
		{Name: "balances: accounts (reservations, status, threshold)", Allow: map[string]string{
			"steps": "reserved sums every payout in flight (approved, not yet final): bounded by what is in flight, not by the table",
		}, Run: func(ctx context.Context) error {
			_, err := b.Accounts(ctx)
			return err
		}},
		{Name: "balances: 90 days of history and outflows", Run: func(ctx context.Context) error {
			_, err := b.Days(ctx, SourcePayMate, from, to)
			return err
		}},
		{Name: "balances: every change, CSV page", Run: func(ctx context.Context) error {
			list, _, err := b.Changes(ctx, SourcePayMate, nowT.Add(-90*24*time.Hour), nowT, 0, 1000)
			if err == nil && len(list) > 0 {
				_, _, err = b.Changes(ctx, SourcePayMate, nowT.Add(-90*24*time.Hour), nowT, list[len(list)-1].ID, 1000)
			}
			return err
		}},
		{Name: "balances: refresh writes history", Run: func(ctx context.Context) error { return watcher.Refresh(ctx) }},
		{Name: "kspay list: newest", Allow: walk("SCAN t USING INDEX gateway_txn_list", listOrder), Run: list(GatewayFilter{})},
		{Name: "kspay list: next page", Allow: cursor("t", "gateway_txn_list", "created_at", "<"), Run: list(GatewayFilter{After: "KP500"})},
		{Name: "kspay list: status=paid", Run: list(GatewayFilter{Status: GatewayPaid})},
		{Name: "kspay list: method=UPI", Run: list(GatewayFilter{MethodID: "pm_5LR93Agwv"})},
		{Name: "kspay list: currency=USD", Run: list(GatewayFilter{Currency: "USD"})},
		{Name: "kspay list: amount range, largest first", Allow: amountOrder, Run: list(GatewayFilter{MinMinor: 1_000_00, MaxMinor: 5_000_00})},
		{Name: "kspay list: amount range, next page", Allow: amountOrder, Run: list(GatewayFilter{MinMinor: 1_000_00, After: "KP77"})},
		{Name: "kspay list: created in a week", Allow: week, Run: list(GatewayFilter{From: nowT.Add(-7 * 24 * time.Hour), To: nowT})},
		{Name: "kspay list: status and week", Run: list(GatewayFilter{Status: GatewayPending, From: nowT.Add(-7 * 24 * time.Hour)})},
		{Name: "kspay list: exact reference", Run: list(GatewayFilter{Query: "INV-42"})},
		{Name: "kspay list: exact KS Pay id", Run: list(GatewayFilter{Query: "tx_000000042"})},
		{Name: "kspay export: status=failed", Allow: exports, Run: each(GatewayFilter{Status: GatewayFailed})},
		{Name: "kspay export: method=UPI", Allow: exports, Run: each(GatewayFilter{MethodID: "pm_5LR93Agwv"})},
		{Name: "kspay export: currency=USD", Allow: exports, Run: each(GatewayFilter{Currency: "USD"})},
		{Name: "kspay export: amount range", Allow: allow(exports, amountOrder), Run: each(GatewayFilter{MinMinor: 1_000_00, MaxMinor: 1_100_00})},
		{Name: "kspay export: a week", Allow: allow(exports, week), Run: each(GatewayFilter{From: nowT.Add(-7 * 24 * time.Hour), To: nowT})},
		{Name: "kspay export: exact reference", Run: each(GatewayFilter{Query: "INV-42"})},
		{Name: "kspay analytics: 90 days", Run: func(ctx context.Context) error {
			_, err := g.Analytics(ctx, from, to, "INR")
			return err
		}},
		{Name: "kspay analytics: currencies", Run: func(ctx context.Context) error {
			_, err := g.AnalyticsCurrencies(ctx)
			return err
		}},
		{Name: "kspay inflows by day", Run: func(ctx context.Context) error {
			_, err := g.InflowsByDay(ctx, nowT.AddDate(0, 0, -90), nowT)
			return err
		}},
		{Name: "kspay transaction page", Run: func(ctx context.Context) error {
			_, _, err := g.Get(ctx, "KP42")
			if err == nil {
				_, err = g.ByProviderID(ctx, "tx_000000042")
			}
			return err
		}},
		{Name: "kspay catalogue", Run: func(ctx context.Context) error {
			if _, _, err := g.Currencies(ctx); err != nil {
				return err
			}
			if _, err := g.Methods(ctx, "c_WkmEe23LeI"); err != nil {
				return err
			}
			_, err := g.AllMethods(ctx)
			return err
		}},
		{Name: "kspay sync: apply a page", Run: func(ctx context.Context) error {
			_, _, err := g.apply(ctx, []providers.GatewayTransaction{{ID: "tx_000000042", Reference: "KP42", Status: "paid", Paid: true}})
			return err
		}},
		{Name: "kspay sync: open ones past the pages", Run: func(ctx context.Context) error {
			_, err := g.openBefore(ctx, nowT.Add(-48*time.Hour))
			return err
		}},
		{Name: "kspay sweep", Run: func(ctx context.Context) error {
			_, err := g.Sweep(ctx)
			return err
		}},
	}
	return cases
}

package db

import (
	"context"
	"strconv"
	"testing"
	"time"

	"paydesk/providers"
)

// vaPlans: the virtual accounts list with each filter, search and export;
// an account's page; a request's rows; the credits list with each filter,
// its totals and export; the unmatched list; storing a batch; the sweep.
func vaPlans(t *testing.T, fx *planFixture) []planCase {
	now := fx.DB.nowMS()
	fx.seedRows(t, 200, `INSERT INTO contacts (id, kind, company_name, sync_state, created_at, updated_at)
		SELECT printf('CTVA%06d', i), 'customer', 'Customer ' || i, 'synced', ?, ? FROM n`, now, now)
	fx.seedRows(t, planRows, `INSERT INTO virtual_accounts (number, suffix, name, purpose, contact_id, state, credits, credits_paise,
		last_credit_at, created_by, created_at, updated_at)
		SELECT printf('90909010V%07d', i), printf('V%07d', i), 'Payer ' || i, 'Invoice ' || (i % 500),
			CASE WHEN i % 4 = 0 THEN printf('CTVA%06d', 1 + i % 200) END,
			CASE i % 10 WHEN 0 THEN 'pending_approval' WHEN 1 THEN 'failed' WHEN 2 THEN 'closed' ELSE 'active' END,
			i % 3, (i % 3) * 1000, CASE WHEN i % 3 > 0 THEN ? - i * 1000 END, ?, ? - i * 60000, ? - i * 60000
		FROM n`, now, fx.Admin.ID, now, now)
	v := NewVirtualAccounts(fx.DB, fx.Approvals, nil, VAOptions{Prefix: "90909010"})
	// One request of many rows.
	req, err := fx.Approvals.Propose(context.Background(), fx.Admin, Proposal{Kind: VACreateKind, TargetID: "upload-plan", Summary: "Create many"})
	if err != nil {
		t.Fatal(err)
	}
	fx.seedRows(t, planRows/4, `INSERT INTO va_changes (request_id, op, line, number, name, state, updated_at)
		SELECT ?, 'create', i + 1, printf('90909010V%07d', i), 'Payer ' || i,
			CASE WHEN i % 10 = 1 THEN 'failed' WHEN i % 10 = 0 THEN 'pending_approval' ELSE 'done' END, ? FROM n`, req.ID, now)
	fx.seedRows(t, planRows*2, `INSERT INTO va_credits (txn_ref, batch_id, utr, va_number, account, contact_id, state, amount_paise,
		remitter_name, remitter_account, remitter_ifsc, mode, credited_at, received_at)
		SELECT printf('KVA261121%08d', i), 'B' || (i / 100), printf('UTR%09d', i), printf('90909010V%07d', 1 + i % 5000),
			CASE WHEN i % 20 = 0 THEN NULL ELSE printf('90909010V%07d', 1 + i % 5000) END,
			CASE WHEN i % 20 <> 0 AND (1 + i % 5000) % 4 = 0 THEN printf('CTVA%06d', 1 + (1 + i % 5000) % 200) END,
			CASE WHEN i % 20 = 0 THEN 'unmatched' ELSE 'matched' END, 100 + (i * 7919) % 10000000,
			CASE i % 4 WHEN 0 THEN 'Meera Textiles' WHEN 1 THEN 'Rao and Sons' WHEN 2 THEN 'Sharma Agencies' ELSE 'Nair Logistics' END,
			printf('%012d', i), 'HDFC0001234', CASE i % 4 WHEN 0 THEN 'NEFT' WHEN 1 THEN 'IMPS' WHEN 2 THEN 'UPI' ELSE 'RTGS' END,
			? - i * 30000, ? - i * 30000
		FROM n`, now, now)
	fx.seedRows(t, 400, `INSERT INTO va_credit_sums (day, mode, state, paise, count)
		SELECT date(? / 1000 - i * 86400, 'unixepoch'), m.mode, s.state, i * 100, i
		FROM n, (SELECT 'NEFT' AS mode UNION ALL SELECT 'IMPS' UNION ALL SELECT 'UPI' UNION ALL SELECT 'RTGS') m,
			(SELECT 'matched' AS state UNION ALL SELECT 'unmatched') s`, now)
	fx.seedRows(t, 2000, `INSERT INTO va_refunds (id, credit_id, amount_paise, reason, state, maker_id, created_at, updated_at)
		SELECT printf('VRPLAN%08d', i), i * 7, 100, 'Plan', CASE i % 5 WHEN 0 THEN 'processing' WHEN 1 THEN 'approved' ELSE 'processed' END,
			?, ? - i * 1000, ? - i * 1000 FROM n`, fx.Maker.ID, now, now)
	fx.seedRows(t, 2000, `INSERT INTO va_events (subject, at, kind, state, message) SELECT printf('va:90909010V%07d', i % 500), ?, 'created', 'active', 'x' FROM n`, now)
	nowT := fx.DB.Now()
	week := nowT.Add(-7 * 24 * time.Hour)
	yes, no := true, false
	list := func(f VAFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			f.Limit = 50
			_, _, err := v.List(ctx, f)
			return err
		}
	}
	each := func(f VAFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error { return v.Each(ctx, f, func(VirtualAccount) error { return nil }) }
	}
	credits := func(f CreditFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			f.Limit = 50
			if _, _, err := v.Credits(ctx, f); err != nil {
				return err
			}
			_, err := v.CreditTotals(ctx, f)
			return err
		}
	}
	eachCredit := func(f CreditFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error { return v.EachCredit(ctx, f, func(Credit) error { return nil }) }
	}
	vaOrder := walk("SCAN a USING INDEX va_list", listOrder)
	// The per-day sums hold at most rails × states rows a day, whatever the
	// number of credits: totals read a range of days, or all of them.
	why := "per-day sums: at most 15 rows a day (rails × states), however many credits"
	sums := map[string]string{
		"SCAN va_credit_sums": why, "SEARCH va_credit_sums USING PRIMARY KEY (day>?)": why,
		"SEARCH va_credit_sums USING PRIMARY KEY (day>? AND day<?)": why,
	}
	creditOrder := allow(walk("SCAN k USING INDEX va_credits_list", listOrder), sums)
	exports := map[string]string{"steps": "an export reads every row it exports, in the list's order"}
	prefix := "a search's prefix range, read up to MaxVASearch rows (LIMIT) and sorted in Go"
	vaSearch := map[string]string{
		"SEARCH virtual_accounts USING COVERING INDEX va_name (name>? AND name<?)":          prefix,
		"SEARCH virtual_accounts USING COVERING INDEX va_purpose (purpose>? AND purpose<?)": prefix,
		"SEARCH contacts USING COVERING INDEX contacts_company (company_name>? AND company_name<?)": prefix +
			" (at most 50 contacts, their accounts by va_contact)",
	}
	creditSearch := walk("SEARCH va_credits USING COVERING INDEX va_credits_remitter (remitter_name>? AND remitter_name<?)", prefix)
	totals := map[string]string{"steps": "the totals of a filtered set read the set's covering-index range, once per page view"}
	return []planCase{
		{Name: "virtual accounts: newest", Allow: vaOrder, Run: list(VAFilter{})},
		{Name: "virtual accounts: next page", Allow: cursor("a", "va_list", "created_at", "<"), Run: list(VAFilter{After: "90909010V0000500"})},
		{Name: "virtual accounts: state=failed", Run: list(VAFilter{State: VAFailed})},
		{Name: "virtual accounts: state, next page", Allow: cursor("a", "va_state", "state=? AND created_at", "<"),
			Run: list(VAFilter{State: VAActive, After: "90909010V0000505"})},
		{Name: "virtual accounts: contact", Run: list(VAFilter{ContactID: "CTVA000004"})},
		{Name: "virtual accounts: with credits", Allow: walk("SCAN a USING INDEX va_with_credits", listOrder), Run: list(VAFilter{HasCredits: &yes})},
		{Name: "virtual accounts: without credits", Allow: walk("SCAN a USING INDEX va_without_credits", listOrder), Run: list(VAFilter{HasCredits: &no})},
		{Name: "virtual accounts: created in a week", Allow: walk("SEARCH a USING INDEX va_list (created_at>?)", "the week's accounts in the list's order, stopped by LIMIT"),
			Run: list(VAFilter{From: week})},
		{Name: "virtual accounts: search by name", Allow: vaSearch, Run: list(VAFilter{Query: "Payer 12"})},
		{Name: "virtual accounts: search by number", Allow: vaSearch, Run: list(VAFilter{Query: "90909010V0000042"})},
		{Name: "virtual accounts: search by contact", Allow: vaSearch, Run: list(VAFilter{Query: "Customer 4"})},
		{Name: "virtual accounts export: state=closed", Allow: exports, Run: each(VAFilter{State: VAClosed})},
		{Name: "virtual accounts export: search", Allow: vaSearch, Run: each(VAFilter{Query: "Invoice 42"})},
		{Name: "virtual account page", Allow: walk("USE TEMP B-TREE FOR ORDER BY",
			"the refunds of the account's latest 1,000 credits (a handful each) sorted by date, at most 100 shown"), Run: func(ctx context.Context) error {
			if _, err := v.Get(ctx, "90909010V0000042"); err != nil {
				return err
			}
			if _, err := v.ChangesOf(ctx, "90909010V0000042"); err != nil {
				return err
			}
			if _, err := v.Timeline(ctx, "90909010V0000042"); err != nil {
				return err
			}
			if _, err := v.RefundsOfAccount(ctx, "90909010V0000042"); err != nil {
				return err
			}
			_, _, err := v.Credits(ctx, CreditFilter{Account: "90909010V0000042", Limit: 20})
			return err
		}},
		{Name: "contact's virtual accounts", Run: func(ctx context.Context) error {
			_, err := v.ForContact(ctx, "CTVA000004")
			return err
		}},
		{Name: "va request: rows and counts", Allow: map[string]string{"steps": "the counts read the request's rows once, by its index"},
			Run: func(ctx context.Context) error {
				if _, _, err := v.RequestChanges(ctx, req.ID, 0, false, 200); err != nil {
					return err
				}
				if _, _, err := v.RequestChanges(ctx, req.ID, 100, true, 200); err != nil {
					return err
				}
				_, err := v.RequestCounts(ctx, req.ID)
				return err
			}},
		{Name: "credits: newest", Allow: creditOrder, Run: credits(CreditFilter{})},
		{Name: "credits: next page", Allow: allow(sums, cursor("k", "va_credits_list", "credited_at", "<")), Run: credits(CreditFilter{After: 900})},
		{Name: "credits: an account", Run: credits(CreditFilter{Account: "90909010V0000042"})},
		{Name: "credits: unmatched", Allow: sums, Run: credits(CreditFilter{State: CreditUnmatched})},
		{Name: "credits: mode=UPI", Allow: sums, Run: credits(CreditFilter{Mode: "UPI"})},
		{Name: "credits: contact", Allow: totals, Run: credits(CreditFilter{ContactID: "CTVA000004"})},
		{Name: "credits: a week", Allow: allow(sums, walk("SEARCH k USING INDEX va_credits_list (credited_at>?)", "the week's credits in the list's order, stopped by LIMIT")),
			Run: credits(CreditFilter{From: week})},
		{Name: "credits: search UTR", Allow: creditSearch, Run: credits(CreditFilter{Query: "UTR000000042"})},
		{Name: "credits: search remitter", Allow: creditSearch, Run: credits(CreditFilter{Query: "Meera"})},
		{Name: "credits export: mode=NEFT", Allow: exports, Run: eachCredit(CreditFilter{Mode: "NEFT"})},
		{Name: "home: accounts waiting for a checker or refused", Run: func(ctx context.Context) error {
			_, err := v.CountToReview(ctx)
			return err
		}},
		{Name: "credits: unmatched count, today", Run: func(ctx context.Context) error {
			if _, err := v.CountUnmatched(ctx); err != nil {
				return err
			}
			_, err := v.CreditsOn(ctx, nowT)
			return err
		}},
		{Name: "credits: inflows by day", Allow: sums, Run: func(ctx context.Context) error {
			_, err := v.InflowsByDay(ctx, nowT.AddDate(0, 0, -90), nowT)
			return err
		}},
		{Name: "credits: store a batch", Run: func(ctx context.Context) error {
			b := providers.CreditBatch{BatchID: "BPLAN1"}
			for i := range 100 {
				b.Credits = append(b.Credits, providers.Credit{TxnRef: "KVAPLAN" + strconv.Itoa(i), VirtualAccount: "90909010V0000042", AmountPaise: 100,
					Mode: providers.RailNEFT, CreditedAt: nowT})
			}
			_, err := v.StoreBatch(ctx, b)
			return err
		}},
		{Name: "credit page", Run: func(ctx context.Context) error {
			if _, err := v.Credit(ctx, 42); err != nil {
				return err
			}
			if _, err := v.RefundsOf(ctx, 42); err != nil {
				return err
			}
			_, err := v.CreditTimeline(ctx, 42)
			return err
		}},
		{Name: "virtual accounts sweep", Run: func(ctx context.Context) error {
			_, err := v.Sweep(ctx)
			return err
		}},
	}
}

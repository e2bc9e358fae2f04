package db

import (
	"context"
	"testing"
)

// linksPlans: the templates page, the payment links list with each filter
// and order, its totals and export, a link's page, a contact's links, the
// home page's figures, the inflows, the expiry sweep and the job sweep.
func linksPlans(t *testing.T, fx *planFixture) []planCase {
	now := fx.DB.nowMS()
	if _, err := fx.DB.write.Exec(`INSERT INTO link_templates (id, name, fields, refreshed_at, changed_at) VALUES
		('1001', 'Standard Invoice', '[]', ?, ?), ('1002', 'School Fee', '[]', ?, ?), ('1003', 'Subscription', '[]', ?, ?)`,
		now, now, now, now, now, now); err != nil {
		t.Fatal(err)
	}
	fx.seedRows(t, 200, `INSERT INTO contacts (id, kind, company_name, first_name, last_name, email, mobile, reference_code,
		sync_state, created_by, created_at, updated_at)
		SELECT printf('CTL%06d', i), 'customer', 'Customer ' || i, 'Asha', 'Rao', 'c' || i || '@example.in', printf('98%08d', i),
			printf('CTL%06d', i), 'unsynced', ?, ?, ? FROM n`, fx.Maker.ID, now, now)
	// Links over the last year in every state, due a week after they were made.
	fx.seedRows(t, planRows, `INSERT INTO payment_links (id, template_id, template_name, contact_id, customer_name, customer_email,
		customer_mobile, send_by, amount_paise, due_date, state, invoice_no, paid_at, maker_id, created_at, updated_at)
		SELECT printf('PL%014d', i), CASE i % 3 WHEN 0 THEN '1001' WHEN 1 THEN '1002' ELSE '1003' END, 'T',
			CASE WHEN i % 10 = 0 THEN printf('CTL%06d', i % 200 + 1) END, 'Customer ' || (i % 5000), 'c' || (i % 5000) || '@example.in',
			printf('98%08d', i % 5000), 'email', 100 * (100 + (i * 7919) % 500000),
			date((? - i * 1500000) / 1000 + 7 * 86400, 'unixepoch', '+330 minutes'),
			CASE i % 7 WHEN 0 THEN 'creating' WHEN 1 THEN 'sent' WHEN 2 THEN 'resent' WHEN 3 THEN 'paid' WHEN 4 THEN 'cancelled'
				WHEN 5 THEN 'expired' ELSE 'failed' END,
			CASE WHEN i % 7 <> 0 THEN printf('INV%09d', i) END, CASE WHEN i % 7 = 3 THEN ? - i * 1500000 + 3600000 END,
			?, ? - i * 1500000, ? - i * 1500000
		FROM n`, now, now, fx.Maker.ID, now, now)
	fx.seedRows(t, planRows, `INSERT INTO link_events (link_id, at, kind, state) SELECT printf('PL%014d', i), ?, 'created', 'creating' FROM n`, now)
	l := NewLinks(fx.DB, fx.Approvals, nil, LinksOptions{})
	nowT := fx.DB.Now()
	today := ISTDay(nowT)
	week := ISTDay(nowT.AddDate(0, 0, 6))
	list := func(f LinkFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			f.Limit = 50
			page, more, err := l.List(ctx, f)
			if err == nil && more {
				f.After = page[len(page)-1].ID
				_, _, err = l.List(ctx, f)
			}
			return err
		}
	}
	totals := func(f LinkFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := l.Totals(ctx, f)
			return err
		}
	}
	each := func(f LinkFilter) func(ctx context.Context) error {
		return func(ctx context.Context) error { return l.Each(ctx, f, func(PaymentLink) error { return nil }) }
	}
	amountOrder := allow(walk("SEARCH k USING INDEX payment_links_amount (amount_paise>? AND amount_paise<?)",
		"an amount range is listed largest first: a range of the amount index, stopped by LIMIT"),
		cursor("k", "payment_links_amount", "amount_paise", "<"))
	dueOrder := allow(walk("SEARCH k USING INDEX payment_links_due (due_date>? AND due_date<?)",
		"a due range is listed soonest first: a range of the due index, stopped by LIMIT"),
		cursor("k", "payment_links_due", "due_date", ">"))
	newest := allow(walk("SCAN k USING INDEX payment_links_list", listOrder), cursor("k", "payment_links_list", "created_at", "<"))
	exports := map[string]string{"steps": "an export reads every row it exports, in the list's order"}
	dueDays := walk("SEARCH link_days USING PRIMARY KEY (due_date>? AND due_date<?)",
		"a due range reads the per-day summary of those days only (a few rows per day)")
	capped := map[string]string{"steps": "the totals of an amount range sum at most 10,000 matching links"}
	return []planCase{
		{Name: "templates page", Run: func(ctx context.Context) error {
			if _, err := l.Templates(ctx); err != nil {
				return err
			}
			_, err := l.LastRefresh(ctx)
			return err
		}},
		{Name: "links list: newest", Allow: newest, Run: list(LinkFilter{})},
		{Name: "links list: state=paid", Run: list(LinkFilter{State: LinkPaid})},
		{Name: "links list: template", Run: list(LinkFilter{TemplateID: "1002"})},
		{Name: "links list: customer", Run: list(LinkFilter{ContactID: "CTL000011"})},
		{Name: "links list: amount range, largest first", Allow: amountOrder, Run: list(LinkFilter{MinPaise: 1_000_00, MaxPaise: 5_000_00})},
		{Name: "links list: due this week", Allow: dueOrder, Run: list(LinkFilter{DueFrom: today, DueTo: week})},
		{Name: "links list: search invoice number", Run: list(LinkFilter{Query: "INV000000042"})},
		{Name: "links list: search customer name", Run: list(LinkFilter{Query: "customer 42"})},
		{Name: "links list: search email", Run: list(LinkFilter{Query: "c42@example.in"})},
		{Name: "links list: search mobile", Run: list(LinkFilter{Query: "9800000042"})},
		{Name: "links totals: all", Run: totals(LinkFilter{})},
		{Name: "links totals: state and template", Run: totals(LinkFilter{State: LinkSent, TemplateID: "1001"})},
		{Name: "links totals: due this week", Allow: dueDays, Run: totals(LinkFilter{DueFrom: today, DueTo: week})},
		{Name: "links totals: amount range", Allow: allow(capped, walk("SEARCH k USING COVERING INDEX payment_links_amount (amount_paise>? AND amount_paise<?)",
			"the totals of an amount range read its index range, at most 10,000 links"),
			walk("SEARCH k USING INDEX payment_links_amount (amount_paise>? AND amount_paise<?)",
				"the totals of an amount range read its index range, at most 10,000 links")), Run: totals(LinkFilter{MinPaise: 1_000_00, MaxPaise: 1_500_00})},
		{Name: "links totals: customer", Run: totals(LinkFilter{ContactID: "CTL000011"})},
		{Name: "links export: state=sent", Allow: exports, Run: each(LinkFilter{State: LinkSent})},
		{Name: "links export: due this week", Allow: allow(exports, dueOrder), Run: each(LinkFilter{DueFrom: today, DueTo: week})},
		{Name: "link page", Run: func(ctx context.Context) error {
			_, _, err := l.Get(ctx, "PL00000000000042")
			return err
		}},
		{Name: "home: links paid today and due this week", Allow: dueDays, Run: func(ctx context.Context) error {
			if _, err := l.PaidOn(ctx, today); err != nil {
				return err
			}
			_, err := l.DueBetween(ctx, today, week)
			return err
		}},
		{Name: "links inflows by day", Run: func(ctx context.Context) error {
			_, err := l.InflowsByDay(ctx, nowT.AddDate(0, 0, -90), nowT)
			return err
		}},
		{Name: "links expiry sweep", Allow: allow(map[string]string{"steps": "each overdue link is expired in its own transaction, up to 1,000 a pass"},
			walk("SEARCH payment_links USING INDEX payment_links_open_due (due_date<?)", "the open links past their due date, oldest first, stopped by LIMIT 1000")),
			Run: func(ctx context.Context) error {
				_, err := l.ExpireOverdue(ctx)
				return err
			}},
		{Name: "links job sweep: links on their way", Allow: walk("SEARCH payment_links USING INDEX payment_links_busy (updated_at<?)",
			"only links on their way are in this partial index; stopped by LIMIT 1000"), Run: func(ctx context.Context) error {
			_, err := l.stuck(ctx)
			return err
		}},
	}
}

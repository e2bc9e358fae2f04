package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// The plan suites of the areas that existed before wave 2: payouts and
// their jobs, contacts and their sync, collections and vendor requests, the
// audit log, bank-side items, users, sessions and sign-in.

// sortsFewMatches excuses the sort of a search that matches fewer than
// searchSortLimit rows (db/search.go): the sort is bounded by that limit,
// and at or above it the list's own order is walked instead.
var sortsFewMatches = map[string]string{
	"USE TEMP B-TREE FOR ORDER BY": "sorts fewer than searchSortLimit matches (a common search walks the list's order instead)",
}

// allow merges reasons for plan lines.
func allow(sets ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, s := range sets {
		for k, v := range s {
			out[k] = v
		}
	}
	return out
}

// walk excuses walking index in the list's own order: unfiltered, or with a
// filter that matches a large share of the rows (why says which), LIMIT
// stops the walk at a page.
func walk(line, why string) map[string]string { return map[string]string{line: why} }

const (
	listOrder   = "the list's own order, unfiltered: LIMIT stops the walk at a page"
	denseSearch = "a search matching at least searchSortLimit rows walks the list's order and stops at a page"
	fromCursor  = "the next page: the list's order from the cursor, stopped by LIMIT"
	fewMatches  = "a search's range: counted up to searchSortLimit, and read whole only when it holds fewer"
)

// cursor excuses the next page's range of a list read in index order.
func cursor(alias, index, column, op string) map[string]string {
	return walk(fmt.Sprintf("SEARCH %s USING INDEX %s (%s%s?)", alias, index, column, op), fromCursor)
}

// rowidCursor excuses the next page of a list in its table's rowid order.
func rowidCursor(alias string) map[string]string {
	return walk(fmt.Sprintf("SEARCH %s USING INTEGER PRIMARY KEY (rowid<?)", alias), fromCursor)
}

// prefixRanges excuses the prefix ranges of a text search on each index
// (an expression index shows as <expr>), plain and covering.
func prefixRanges(alias string, indexes ...string) map[string]string {
	out := map[string]string{}
	for _, idx := range indexes {
		for _, how := range []string{"INDEX", "COVERING INDEX"} {
			out[fmt.Sprintf("SEARCH %s USING %s %s (<expr>>? AND <expr><?)", alias, how, idx)] = fewMatches
		}
	}
	return out
}

func payoutPlans(t *testing.T, fx *planFixture) []planCase {
	p := NewPayouts(fx.DB, fx.Approvals)
	now := fx.DB.nowMS()
	// Most payouts are final; a few wait, fail or are on their way.
	fx.seedRows(t, planRows, `INSERT INTO contacts (id, kind, company_name, created_at, updated_at)
		SELECT printf('CTP%09d', i), 'vendor', 'Vendor ' || i, ? - i, ? - i FROM n WHERE i <= 200`, now, now)
	fx.seedRows(t, planRows, `INSERT INTO payouts (id, beneficiary_name, account_no, ifsc, amount_paise, rail, source, state,
			maker_id, created_at, updated_at, batch_id, contact_id)
		SELECT printf('PO%012d', i), 'Beneficiary ' || (i % 500), printf('%012d', i % 3000), 'HDFC0000001', 100 * (1 + (i * 7919) % 2500000),
			'NEFT', CASE WHEN i % 3 = 0 THEN 'paymate' ELSE 'kotakcms' END,
			CASE WHEN i % 97 = 0 THEN 'failed' WHEN i % 89 = 0 THEN 'unknown' WHEN i % 50 = 0 THEN 'pending_approval'
				WHEN i % 71 = 0 THEN 'processing' WHEN i % 13 = 0 THEN 'rejected' ELSE 'processed' END,
			?, ? - (20000 - i) * 60000, ? - (20000 - i) * 60000, NULL,
			CASE WHEN i % 100 = 0 THEN printf('CTP%09d', 1 + i % 200) END
		FROM n`, fx.Maker.ID, now, now)
	fx.seedRows(t, planRows, `INSERT INTO payout_events (payout_id, at, kind, state) SELECT printf('PO%012d', i), ?, 'proposed', 'pending_approval' FROM n`, now)
	lakh := int64(1_00_000_00)
	amounts := map[string]string{
		"SEARCH p USING INDEX payouts_amount (amount_paise>? AND amount_paise<?)":          fewMatches,
		"SEARCH p USING COVERING INDEX payouts_amount (amount_paise>? AND amount_paise<?)": fewMatches,
	}
	// The pending payouts of the fixture are few, so a range within them
	// is sparse: the amount index within the state, sorted.
	newest := allow(walk("SCAN p USING INDEX payouts_list", listOrder), cursor("p", "payouts_list", "created_at", "<"))
	list := func(name string, f PayoutFilter, allowed map[string]string) planCase {
		return planCase{Name: "payouts: " + name, Allow: allowed, Run: func(ctx context.Context) error {
			f.Limit = 50
			if _, _, err := p.List(ctx, f); err != nil {
				return err
			}
			// The next page, by the keyset cursor.
			f.After = fmt.Sprintf("PO%012d", 15000)
			_, _, err := p.List(ctx, f)
			return err
		}}
	}
	return []planCase{
		list("newest", PayoutFilter{}, newest),
		list("state=failed", PayoutFilter{State: providers.StateFailed}, nil),
		list("state=pending_approval, ₹1–5 lakh", PayoutFilter{State: providers.StatePendingApproval, MinPaise: lakh, MaxPaise: 5 * lakh},
			allow(sortsFewMatches, amounts)),
		list("source=paymate", PayoutFilter{Source: SourcePayMate}, allow(newest, walk("SCAN p USING INDEX payouts_list",
			"two sources share the payouts: either is a large part of them, found within a few rows of the walk"))),
		list("maker", PayoutFilter{MakerID: fx.Maker.ID}, nil),
		list("a broad amount range", PayoutFilter{MinPaise: lakh, MaxPaise: 5 * lakh}, allow(sortsFewMatches, amounts, newest,
			walk("SCAN p USING INDEX payouts_list", "an amount range matching at least searchSortLimit payouts walks the list's order"))),
		list("a narrow amount range", PayoutFilter{MinPaise: 7_777_77, MaxPaise: 7_777_77}, allow(sortsFewMatches, amounts, newest,
			walk("SCAN p USING INDEX payouts_list", "an amount range matching at least searchSortLimit payouts walks the list's order"))),
		list("created in a week", PayoutFilter{From: time.UnixMilli(now).Add(-7 * 24 * time.Hour), To: time.UnixMilli(now)},
			walk("SEARCH p USING INDEX payouts_list (created_at>? AND created_at<?)", "the week's payouts in the list's order, stopped by LIMIT")),
		list("batch", PayoutFilter{BatchID: "PBXXXXXXXXXXXX"}, nil),
		list("contact", PayoutFilter{ContactID: "CTP000000001"}, nil),
		{Name: "payouts: needs attention (list page, home)", Run: func(ctx context.Context) error {
			_, _, err := p.NeedsAttention(ctx, time.Hour, 20)
			return err
		}},
		{Name: "payout page: payout and its timeline", Run: func(ctx context.Context) error {
			_, _, err := p.Get(ctx, fmt.Sprintf("PO%012d", 50))
			return err
		}},
		{Name: "queue and payout page: checker's context (duplicates, first payout)", Run: func(ctx context.Context) error {
			ids := make([]string, 50)
			for i := range ids {
				ids[i] = fmt.Sprintf("PO%012d", 50*(i+1))
			}
			_, err := p.QueueContext(ctx, ids)
			return err
		}},
		{Name: "dispatch janitor: stuck payouts", Run: func(ctx context.Context) error {
			ds, err := NewDispatcher(fx.DB, p, map[string]providers.Payouts{}, DispatchOptions{})
			if err != nil {
				return err
			}
			_, err = ds.Sweep(ctx)
			return err
		}},
	}
}

func contactPlans(t *testing.T, fx *planFixture) []planCase {
	c := NewContacts(fx.DB, fx.Approvals)
	now := fx.DB.nowMS()
	fx.seedRows(t, planRows, `INSERT INTO contacts (id, kind, company_name, first_name, last_name, reference_code,
			approved_account_no, approved_ifsc, sync_state, created_at, updated_at)
		SELECT printf('CT%010d', i), CASE WHEN i % 3 = 0 THEN 'customer' ELSE 'vendor' END,
			json_extract('["Sharma Traders","Iyer & Sons","शर्मा ट्रेडर्स","O''Brien Ltd"]', '$[' || (i % 4) || ']') || ' ' || i,
			CASE WHEN i % 3 = 0 THEN 'Asha' ELSE 'Ravi' END, CASE WHEN i % 7 = 0 THEN 'Menon' ELSE 'Pillai' END, printf('R%08d', i),
			CASE WHEN i % 10 = 0 THEN NULL ELSE printf('%012d', i) END, CASE WHEN i % 10 = 0 THEN NULL ELSE 'HDFC0000001' END,
			CASE WHEN i % 50 = 0 THEN 'unsynced' WHEN i % 70 = 0 THEN 'failed' ELSE 'synced' END, ? - i, ? - i
		FROM n`, now, now)
	hasBank, noBank := true, false
	byCompany := "SCAN contacts USING INDEX contacts_company"
	// A sparse search reads its matches by prefix and sorts them; a dense
	// one (at least searchSortLimit matches in the fixture) may walk.
	sparse := allow(sortsFewMatches, prefixRanges("contacts", "contacts_full_name_key", "contacts_last_name_key"),
		walk("SEARCH contacts USING INDEX contacts_company (company_name>? AND company_name<?)",
			"a company-name prefix is a range of the list's own order, stopped by LIMIT"))
	dense := allow(sparse, walk(byCompany, denseSearch))
	// The next page starts at the cursor's company name.
	next := allow(cursor("contacts", "contacts_company", "company_name", ">"), cursor("contacts", "contacts_without_bank", "company_name", ">"))
	list := func(name string, f ContactFilter, allowed map[string]string) planCase {
		return planCase{Name: "contacts: " + name, Allow: allow(allowed, next), Run: func(ctx context.Context) error {
			f.Limit = 50
			if _, _, err := c.List(ctx, f); err != nil {
				return err
			}
			f.After = "CT0000010000"
			_, _, err := c.List(ctx, f)
			return err
		}}
	}
	return []planCase{
		list("by company", ContactFilter{}, walk(byCompany, listOrder)),
		list("search a common company name", ContactFilter{Query: "sharma"}, dense),
		list("search a rare company name", ContactFilter{Query: "sharma traders 1234"}, sparse),
		list("search a person", ContactFilter{Query: "asha menon"}, dense),
		list("search a last name", ContactFilter{Query: "menon"}, dense),
		list("search Indian script", ContactFilter{Query: "शर्मा"}, dense),
		list("search reference code", ContactFilter{Query: "R00001234"}, sparse),
		list("search account", ContactFilter{Query: "000000001234"}, sparse),
		list("search IFSC", ContactFilter{Query: "hdfc0000001"}, dense),
		list("search nothing matches", ContactFilter{Query: "zzz"}, sparse),
		list("vendors", ContactFilter{Kind: ContactVendor}, nil),
		list("customers", ContactFilter{Kind: ContactCustomer}, nil),
		list("with bank details", ContactFilter{HasBank: &hasBank}, walk(byCompany, "most contacts have approved bank details")),
		list("without bank details", ContactFilter{HasBank: &noBank}, walk("SCAN contacts USING INDEX contacts_without_bank",
			"the partial index holds only the contacts without approved details, in the list's order")),
		list("sync failed", ContactFilter{SyncState: "failed"}, nil),
		{Name: "contact page", Run: func(ctx context.Context) error {
			_, err := c.Get(ctx, "CT0000000042")
			return err
		}},
	}
}

func collectionPlans(t *testing.T, fx *planFixture) []planCase {
	c := NewCollections(fx.DB, nil)
	now := fx.DB.nowMS()
	fx.seedRows(t, planRows, `INSERT INTO collection_requests (id, payer_name, payer_email, amount_paise, state, utr, provider_ref,
			created_by, created_at, updated_at, checked_at)
		SELECT printf('CR%012d', i), 'Payer ' || i, 'p' || i || '@example.in', 100 * i,
			CASE WHEN i % 40 = 0 THEN 'pending' WHEN i % 3 = 0 THEN 'expired' ELSE 'paid' END, printf('UTR%09d', i), printf('TR%09d', i),
			?, ? - i * 1000, ? - i * 1000, ? - i
		FROM n`, fx.Maker.ID, now, now, now)
	fx.seedRows(t, planRows, `INSERT INTO collection_events (request_id, at, kind, state) SELECT printf('CR%012d', i), ?, 'created', 'queued' FROM n`, now)
	fx.seedRows(t, planRows, `INSERT INTO vendor_requests (provider, order_id, vendor_name, amount_paise, state, created_at, updated_at)
		SELECT 'paymate', printf('VO%08d', i), 'Vendor ' || ((i * 7919) % 20011), 100 * i, CASE WHEN i % 40 = 0 THEN 'open' ELSE 'paid' END, ? - i, ? - i FROM n`, now, now)
	newest := "SCAN r USING INDEX collection_requests_list"
	next := cursor("r", "collection_requests_list", "created_at", "<")
	list := func(name string, f CollectionFilter) planCase {
		var allowed map[string]string
		switch {
		case f == (CollectionFilter{}):
			allowed = allow(walk(newest, listOrder), next)
		case f.Query == "payer":
			allowed = allow(sortsFewMatches, walk(newest, denseSearch), next, prefixRanges("r", "collection_requests_payer_key"))
		case f.Query != "":
			allowed = allow(sortsFewMatches, prefixRanges("r", "collection_requests_payer_key"))
		}
		return planCase{Name: "collections: " + name, Allow: allowed, Run: func(ctx context.Context) error {
			f.Limit = 50
			if _, _, err := c.List(ctx, f); err != nil {
				return err
			}
			f.After = "CR000000010000"
			_, _, err := c.List(ctx, f)
			return err
		}}
	}
	vendors := func(name string, f VendorRequestFilter) planCase {
		var allowed map[string]string
		switch {
		case f == (VendorRequestFilter{}):
			// Newest first is the table's own rowid order.
			allowed = allow(walk("SCAN v", listOrder), rowidCursor("v"))
		case f.Query == "vendor 12":
			allowed = allow(sortsFewMatches, walk("SCAN v", denseSearch), rowidCursor("v"), prefixRanges("v", "vendor_requests_name_key"))
		case f.Query != "":
			allowed = allow(sortsFewMatches, prefixRanges("v", "vendor_requests_name_key"))
		}
		return planCase{Name: "vendor requests: " + name, Allow: allowed, Run: func(ctx context.Context) error {
			f.Limit = 50
			if _, _, err := c.ListVendorRequests(ctx, f); err != nil {
				return err
			}
			f.After = 10000
			_, _, err := c.ListVendorRequests(ctx, f)
			return err
		}}
	}
	return []planCase{
		list("newest", CollectionFilter{}),
		list("state=paid", CollectionFilter{State: CollectionPaid}),
		list("state=pending", CollectionFilter{State: CollectionPending}),
		list("contact", CollectionFilter{ContactID: "CT0000000001"}),
		list("search a common payer name", CollectionFilter{Query: "payer"}),
		list("search a rare payer name", CollectionFilter{Query: "payer 1234"}),
		list("search UTR", CollectionFilter{Query: "UTR000001234"}),
		list("search email", CollectionFilter{Query: "p1234@example.in"}),
		vendors("newest", VendorRequestFilter{}),
		vendors("open", VendorRequestFilter{State: VendorRequestOpen}),
		vendors("search a common vendor name", VendorRequestFilter{Query: "vendor 12"}),
		vendors("search a rare vendor name", VendorRequestFilter{Query: "vendor 12345"}),
		vendors("search an OrderID", VendorRequestFilter{Query: "VO00001234"}),
		vendors("contact", VendorRequestFilter{ContactID: "CT0000000001"}),
		{Name: "collection page: request and its timeline", Run: func(ctx context.Context) error {
			_, _, err := c.Get(ctx, "CR000000001234")
			return err
		}},
		{Name: "navigation: open vendor requests badge", Run: func(ctx context.Context) error {
			_, err := c.CountOpenVendorRequests(ctx)
			return err
		}},
		{Name: "collections tracker: work list", Allow: walk("SCAN r USING INDEX collection_requests_open",
			"the partial index holds only the requests not yet final, in the order they are worked"), Run: func(ctx context.Context) error {
			c.prov = emptyCollections{}
			defer func() { c.prov = nil }()
			_, err := c.SyncOnce(ctx)
			return err
		}},
	}
}

// emptyCollections is PayMate with nothing to say: the tracker runs its
// queries and each request's inquiry finds it still pending.
type emptyCollections struct{}

func (emptyCollections) RequestPayment(context.Context, providers.CollectionRequest) (providers.CollectionStatus, error) {
	return providers.CollectionStatus{State: providers.CollectionPending}, nil
}
func (emptyCollections) CollectionStatus(context.Context, string) (providers.CollectionStatus, error) {
	return providers.CollectionStatus{State: providers.CollectionPending}, nil
}
func (emptyCollections) VendorRequests(context.Context) ([]providers.VendorRequest, error) {
	return nil, nil
}

func auditPlans(t *testing.T, fx *planFixture) []planCase {
	now := fx.DB.nowMS()
	// Appended through the chain's own writer, as the app appends.
	tx, err := fx.DB.write.Begin()
	if err != nil {
		t.Fatal(err)
	}
	aw, err := fx.DB.newAuditWriter(context.Background(), tx)
	if err != nil {
		t.Fatal(err)
	}
	actions := []string{"payout.proposed", "approval.proposed", "approval.approved", "payout.processed", "contact.updated", "user.created"}
	for i := range planRows {
		action := actions[i%4]
		if i%500 == 0 {
			action = actions[4+i/500%2]
		}
		if err := aw.append(context.Background(), fx.Maker.Actor(), action, "payout", fmt.Sprintf("PO%012d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := aw.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	aw.close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	families := map[string]string{
		"SEARCH audit_log USING INDEX audit_action (action>? AND action<?)":          fewMatches,
		"SEARCH audit_log USING COVERING INDEX audit_action (action>? AND action<?)": fewMatches,
	}
	list := func(name string, f AuditFilter) planCase {
		var allowed map[string]string
		switch {
		case f == (AuditFilter{}):
			// Newest first is the log's own rowid order.
			allowed = allow(walk("SCAN audit_log", listOrder), rowidCursor("audit_log"))
		case f.Action == "payout." || f.Target == "payout":
			allowed = allow(sortsFewMatches, walk("SCAN audit_log", denseSearch), rowidCursor("audit_log"), families)
		case f.Action == "user." || f.Target == "PO000000001234":
			allowed = allow(sortsFewMatches, families)
		case !f.From.IsZero():
			allowed = map[string]string{
				"SEARCH audit_log USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)": "the ids of the time range, newest first, stopped by LIMIT",
				"SEARCH audit_log USING COVERING INDEX audit_at (at>?)":            "the first entry at or after a time (LIMIT 1)",
			}
		}
		return planCase{Name: "audit log: " + name, Allow: allowed, Run: func(ctx context.Context) error {
			f.Limit = 50
			if _, _, err := fx.DB.ListAudit(ctx, f); err != nil {
				return err
			}
			f.Before = 10000
			_, _, err := fx.DB.ListAudit(ctx, f)
			return err
		}}
	}
	week := time.UnixMilli(now).Add(-7 * 24 * time.Hour)
	return []planCase{
		list("newest", AuditFilter{}),
		list("actor", AuditFilter{Actor: "maker"}),
		list("action", AuditFilter{Action: "contact.updated"}),
		list("a rare action family", AuditFilter{Action: "user."}),
		list("a common action family", AuditFilter{Action: "payout."}),
		list("target type and id", AuditFilter{Target: "payout:PO000000001234"}),
		list("target id alone", AuditFilter{Target: "PO000000001234"}),
		list("target type alone", AuditFilter{Target: "payout"}),
		list("a week", AuditFilter{From: week, To: time.UnixMilli(now)}),
		{Name: "audit log: the action menu", Allow: walk("SEARCH audit_log USING COVERING INDEX audit_action (action>?)",
			"the next action after one (min, one index step per distinct action)"), Run: func(ctx context.Context) error {
			_, err := fx.DB.AuditActions(ctx)
			return err
		}},
		{Name: "home: my recent activity", Run: func(ctx context.Context) error {
			_, _, err := fx.DB.ListAudit(ctx, AuditFilter{Actor: fx.Checker.Username, Limit: 10})
			return err
		}},
		{Name: "audit log: CSV export of an action", Run: func(ctx context.Context) error {
			return fx.DB.EachAudit(ctx, AuditFilter{Action: "user.created"}, func(AuditEntry) error { return nil })
		}},
		{Name: "audit log: CSV export of everything", Allow: map[string]string{
			"SCAN audit_log": "the export of the whole log reads every row, in id order (no sort)",
			"steps":          "the export of the whole log reads every row",
		}, Run: func(ctx context.Context) error {
			return fx.DB.EachAudit(ctx, AuditFilter{}, func(AuditEntry) error { return nil })
		}},
	}
}

func sessionPlans(t *testing.T, fx *planFixture) []planCase {
	now := fx.DB.nowMS()
	// Sessions of many people, a few each, as a busy office has them.
	fx.seedRows(t, 2000, `INSERT INTO users (username, display_name, password_hash, created_at, updated_at, password_changed_at)
		SELECT 'person' || i, 'Person ' || i, 'x', ?, ?, ? FROM n`, now, now, now)
	fx.seedRows(t, planRows, `INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at)
		SELECT printf('S%031d', i), CASE WHEN i % 2000 = 0 THEN ? ELSE (SELECT id FROM users WHERE username = 'person' || (i % 2000)) END,
			'csrf', ? - i * 1000, ? - i * 1000, ? + 3600000 - i * 1000 FROM n`, fx.Checker.ID, now, now, now)
	// Within the throttle's window, so the sign-in case counts them, from
	// a few addresses each.
	fx.seedRows(t, planRows, `INSERT INTO login_failures (username, client, at)
		SELECT 'user' || (i % 2000), '203.0.113.' || (i % 7), ? - i * 40 FROM n`, now)
	// So many failures slow sign-in down; the plan is what is measured.
	fx.DB.Login.Wait = func(context.Context, time.Duration) error { return nil }
	return []planCase{
		{Name: "every page: the session", Run: func(ctx context.Context) error {
			_, err := fx.DB.Session(ctx, fmt.Sprintf("S%031d", 42))
			if err == ErrNoSession {
				err = nil
			}
			return err
		}},
		{Name: "every page: the signed-in user", Run: func(ctx context.Context) error {
			_, err := fx.DB.SessionUser(ctx, fx.Checker.ID)
			return err
		}},
		{Name: "home: my sessions", Run: func(ctx context.Context) error {
			_, err := fx.DB.CountUserSessions(ctx, fx.Checker.ID)
			return err
		}},
		{Name: "sweep: expired sessions and old failures", Allow: map[string]string{
			"SEARCH sessions USING INDEX sessions_expiry (expires_at<?)":          "reads exactly the sessions it deletes",
			"SEARCH sessions USING INDEX sessions_last_seen (last_seen_at<?)":     "reads exactly the sessions it deletes",
			"SEARCH login_failures USING INDEX login_failures_at (at<?)":          "reads exactly the failures it deletes",
			"SEARCH login_failures USING COVERING INDEX login_failures_at (at<?)": "reads exactly the failures it deletes",
		}, Run: func(ctx context.Context) error {
			_, err := fx.DB.Sweep(ctx, 30*time.Minute)
			return err
		}},
		{Name: "sign-in: a failure counted", Run: func(ctx context.Context) error {
			_, err := fx.DB.Authenticate(ctx, NewHasher(1), "user7", "wrong-password-here", LoginMeta{RemoteAddr: "203.0.113.3"})
			if ErrorCode(err) == EUNAUTHORIZED || ErrorCode(err) == ELOCKED {
				err = nil
			}
			return err
		}},
		{Name: "users page", Allow: map[string]string{
			"SCAN u USING INDEX sqlite_autoindex_users_1": "the users page lists everyone: an office has tens of people (the fixture's 2,000 are there to spread sessions)",
			"steps": "the users page lists everyone: an office has tens of people (the fixture's 2,000 are there to spread sessions)",
		}, Run: func(ctx context.Context) error {
			_, err := fx.DB.ListUsers(ctx)
			return err
		}},
	}
}

func bankSidePlans(t *testing.T, fx *planFixture) []planCase {
	now := fx.DB.nowMS()
	fx.seedRows(t, planRows, `INSERT INTO bank_pending (source, ref, provider_id, amount_paise, state, first_seen_at, last_seen_at, updated_at, decided_at)
		SELECT CASE WHEN i % 2 = 0 THEN 'kotakcms' ELSE 'paymate' END, 'REF' || i, 'P' || i, 100 * i,
			CASE WHEN i % 100 = 0 THEN 'gone' WHEN i % 101 = 0 THEN 'approved' ELSE 'authorised' END, ? - i, ? - i, ? - i,
			CASE WHEN i % 101 = 0 THEN ? - i END
		FROM n`, now, now, now, now)
	b := NewBankSide(fx.DB, fx.Approvals, map[string]providers.Payouts{SourceKotakCMS: noPending{}, SourcePayMate: noPending{}})
	return []planCase{
		{Name: "bank side: poll finds nothing pending", Run: func(ctx context.Context) error {
			_, err := b.Poll(ctx)
			return err
		}},
		{Name: "bank side: decided items to send", Run: func(ctx context.Context) error {
			_, err := b.ProcessDecided(ctx)
			return err
		}},
	}
}

// noPending is a bank whose pending list is empty and that knows no payout.
type noPending struct{}

func (noPending) InitiatePayout(context.Context, providers.Payout) (providers.PayoutStatus, error) {
	return providers.PayoutStatus{}, providers.ErrTransient
}
func (noPending) PayoutStatus(context.Context, string) (providers.PayoutStatus, error) {
	return providers.PayoutStatus{}, providers.ErrNotFound
}
func (noPending) PendingApprovals(context.Context) ([]providers.PendingPayout, error) {
	return nil, nil
}
func (noPending) Authorise(context.Context, []string, providers.Decision, string) error {
	return providers.ErrTransient
}

// TestQueueSearchReadsOnlyItsWalk checks that a text filter over common
// words, which walks one of the person's list indexes and checks every row
// it passes, reads that index alone: a walk of a few thousand rows that
// also sought each row in the table cost twice to eight times as much.
// (The plan test passes either way; both plans show the same SEARCH.)
func TestQueueSearchReadsOnlyItsWalk(t *testing.T) {
	fx := newPlanFixture(t)
	queuePlans(t, fx)
	ctx := context.Background()
	for _, c := range []struct {
		name, index string
		f           QueueFilter
	}{
		{"newest", "approval_waiting_newest", QueueFilter{Query: "ravi kum"}},
		{"kind=payout", "approval_waiting_kind", QueueFilter{Query: "ravi kum", Kind: PayoutKind}},
		{"largest first", "approval_waiting_amount", QueueFilter{Query: "ravi kum", Sort: SortAmount}},
	} {
		from, where, order, args, err := fx.Approvals.queueQuery(ctx, fx.Checker, c.f)
		if err != nil {
			t.Fatal(err)
		}
		q := `SELECT ` + requestColumns + from + ` JOIN users m ON m.id = r.maker_id` + where + ` ORDER BY ` + order + ` LIMIT 51`
		plan, err := explainQueryPlan(ctx, fx.DB.read, Statement{SQL: q, Args: args})
		if err != nil {
			t.Fatal(err)
		}
		want := "SEARCH w USING COVERING INDEX " + c.index + " "
		if !slices.ContainsFunc(plan, func(line string) bool { return strings.HasPrefix(line, want) }) {
			t.Errorf("queue search, %s: the walk reads the table for every row; want %q…\n  plan: %s", c.name, want, strings.Join(plan, " | "))
		}
	}
}

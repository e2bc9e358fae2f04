package db

import (
	"context"
	"testing"
	"time"
)

// opsPlans: what /metrics reads at each scrape, the overview's section
// counts, the collections' export, sweep and open count, the payout form's
// contact picker, a bulk upload's contact references and one-time token,
// and a bank-side retry. It runs after the suites that seed payouts,
// contacts and collections.
func opsPlans(t *testing.T, fx *planFixture) []planCase {
	c := NewCollections(fx.DB, nil)
	// The payouts and contacts suites registered their kinds already.
	p := &Payouts{db: fx.DB, approvals: fx.Approvals}
	contacts := &Contacts{db: fx.DB, approvals: fx.Approvals}
	if err := MigrateQueue(context.Background(), fx.DB); err != nil {
		t.Fatal(err)
	}
	yes := true
	return []planCase{
		// Each count stops at MetricsCountCap rows of one state's index.
		{Name: "metrics: state figures at a scrape", Run: func(ctx context.Context) error {
			_, err := fx.DB.OpsFigures(ctx, fx.Approvals.KindNames())
			return err
		}},
		{Name: "home: contact changes waiting on a checker", Run: func(ctx context.Context) error {
			_, err := fx.DB.PendingRequests(ctx, ContactBankKind, MaxWaitingCount)
			return err
		}},
		{Name: "home: collections open", Run: func(ctx context.Context) error {
			_, err := c.CountOpen(ctx)
			return err
		}},
		{Name: "home: KS Pay payments waiting for their payers", Run: func(ctx context.Context) error {
			_, err := NewGateway(fx.DB, nil, GatewayOptions{}).CountAwaitingPayer(ctx)
			return err
		}},
		{Name: "home: audit entries today", Allow: walk("SEARCH audit_log USING COVERING INDEX audit_at (at>?)",
			"today's entries, in time order, counted up to the cap"), Run: func(ctx context.Context) error {
			_, err := fx.DB.CountAuditSince(ctx, fx.DB.Now().Add(-24*time.Hour))
			return err
		}},
		{Name: "collections: CSV export page", Allow: map[string]string{
			"SCAN r USING INDEX collection_requests_list": listOrder,
			"steps": "an export reads every row it exports, in the list's order, 500 at a time",
		}, Run: func(ctx context.Context) error {
			_, _, err := c.List(ctx, CollectionFilter{Limit: 500})
			return err
		}},
		{Name: "collections: sweep of stale open requests", Allow: walk("SEARCH r USING INDEX collection_requests_open (<expr><?)",
			"the open requests' own partial index, oldest check first, stopped by LIMIT"), Run: func(ctx context.Context) error {
			_, err := queryAll(ctx, fx.DB.read, "stale collection requests", scanValue[string],
				`SELECT r.id FROM collection_requests r INDEXED BY collection_requests_open
				WHERE r.state IN ('queued', 'pending', 'unknown') AND coalesce(r.checked_at, 0) < ?
				ORDER BY coalesce(r.checked_at, 0), r.id LIMIT ?`, fx.DB.nowMS(), maxCollectionsPerRound)
			return err
		}},
		{Name: "payout form: contact picker as the maker types", Allow: allow(sortsFewMatches,
			prefixRanges("contacts", "contacts_full_name_key", "contacts_last_name_key"),
			walk("SEARCH contacts USING INDEX contacts_company (company_name>? AND company_name<?)",
				"a company-name prefix is a range of the list's own order, stopped by LIMIT")), Run: func(ctx context.Context) error {
			_, _, err := contacts.List(ctx, ContactFilter{Query: "vendor 1", HasBank: &yes, Limit: 20})
			return err
		}},
		{Name: "bulk upload: a row's contact reference", Run: func(ctx context.Context) error {
			_, _, err := p.CheckRow(ctx, PayoutInput{ContactRef: "NOSUCHREF", Amount: "1", Rail: "NEFT", Source: SourceKotakCMS}, fx.DB.Now())
			return err
		}},
		{Name: "bulk upload: the one-time token", Run: func(ctx context.Context) error {
			tx, err := fx.DB.beginWrite(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			_, _, err = batchByToken(ctx, tx, "no-such-token")
			return err
		}},
	}
}

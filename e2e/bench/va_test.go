package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"paydesk/db"
	"paydesk/providers/kotakva"
)

// withVirtualAccounts wires the virtual-accounts domain as main.go does,
// without a bank (pages only read).
func (fx *fixture) withVirtualAccounts() {
	if fx.Srv.VirtualAccounts != nil {
		return
	}
	fx.Srv.VirtualAccounts = db.NewVirtualAccounts(fx.DB, fx.Srv.Approvals, nil, db.VAOptions{Prefix: kotakva.DemoPrefix})
}

// seedVirtualAccounts adds n accounts in every state, a quarter linked to
// contacts, two thirds with credits.
func seedVirtualAccounts(tb testing.TB, fx *fixture, n int) {
	tb.Helper()
	fx.withVirtualAccounts()
	var have int
	if err := fx.DB.Writer().QueryRow(`SELECT count(*) FROM virtual_accounts`).Scan(&have); err != nil {
		tb.Fatal(err)
	}
	if have >= n {
		return // an earlier page seeded them
	}
	now := nowMS()
	execSQL(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
		INSERT OR IGNORE INTO contacts (id, kind, company_name, sync_state, created_at, updated_at)
		SELECT printf('CTVB%06d', i), 'customer', json_extract(`+benchNames+`, '$[' || (i % 20) || ']') || ' VA ' || i, 'synced', ?, ? FROM n`, now, now)
	execSQL(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO virtual_accounts (number, suffix, name, purpose, contact_id, state, credits, credits_paise, last_credit_at,
			created_by, created_at, updated_at)
		SELECT printf('90909010B%07d', i), printf('B%07d', i), json_extract(`+benchNames+`, '$[' || (i % 20) || ']') || ' ' || i,
			'Invoice ' || (i % 5000), CASE WHEN i % 4 = 0 THEN printf('CTVB%06d', 1 + i % 500) END,
			CASE i % 20 WHEN 0 THEN 'pending_approval' WHEN 1 THEN 'failed' WHEN 2 THEN 'closed' ELSE 'active' END,
			i % 3, (i % 3) * 125000, CASE WHEN i % 3 > 0 THEN ? - i * 1000 END, ?, ? - i * 60000, ? - i * 60000
		FROM n`, n, now, fx.Admin.ID, now, now)
}

// seedCredits adds n credits to the seeded accounts over a year, a
// twentieth unmatched, with the per-day sums.
func seedCredits(tb testing.TB, fx *fixture, n int) {
	tb.Helper()
	fx.withVirtualAccounts()
	var have int
	if err := fx.DB.Writer().QueryRow(`SELECT count(*) FROM virtual_accounts`).Scan(&have); err != nil {
		tb.Fatal(err)
	}
	if have < 20_000 {
		seedVirtualAccounts(tb, fx, max(n, 20_000)) // the accounts the credits name
	}
	now := nowMS()
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	execSQL(tb, fx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO va_credits (txn_ref, batch_id, utr, va_number, account, state, amount_paise, remitter_name, remitter_account,
			remitter_ifsc, mode, credited_at, received_at)
		SELECT printf('KVA260101%08d', i), 'B' || (i / 100), printf('HDFCN26%09d', i), printf('90909010B%07d', 1 + i % 20000),
			CASE WHEN i % 20 = 0 THEN NULL ELSE printf('90909010B%07d', 1 + i % 20000) END,
			CASE WHEN i % 20 = 0 THEN 'unmatched' ELSE 'matched' END, 100 + (i * 7919) % 10000000,
			json_extract(`+benchNames+`, '$[' || (i % 20) || ']'), printf('%012d', i), 'HDFC0001234',
			CASE i % 4 WHEN 0 THEN 'NEFT' WHEN 1 THEN 'IMPS' WHEN 2 THEN 'UPI' ELSE 'RTGS' END,
			? - (i * ?) / ?, ? - (i * ?) / ?
		FROM n`, n, now, span, n, now, span, n)
	execSQL(tb, fx, `INSERT OR REPLACE INTO va_credit_sums (day, mode, state, paise, count)
		SELECT date(credited_at / 1000, 'unixepoch', '+330 minutes'), mode, state, sum(amount_paise), count(*) FROM va_credits GROUP BY 1, 2, 3`)
}

// vaCSV is an upload of n accounts to create, every row valid.
func vaCSV(n int) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"action", "suffix", "name", "purpose", "email", "mobile"})
	for i := range n {
		_ = w.Write([]string{"create", fmt.Sprintf("U%08d", i), fmt.Sprintf("Upload Payer %d", i), fmt.Sprintf("Invoice %d", i),
			fmt.Sprintf("payer%d@example.in", i), fmt.Sprintf("98%08d", i)})
	}
	w.Flush()
	return buf.Bytes()
}

// virtualAccounts measures the credit ingest from the in-process sandbox
// (fetch, store in one transaction, acknowledge, 100 a batch) and a
// 10,000-account upload checked and staged as one request.
func (r *report) virtualAccounts(t *testing.T, fx *fixture) {
	ctx := context.Background()
	const credits = 50_000
	sb := kotakva.NewSandbox(kotakva.DefaultSandboxConfig())
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c, err := kotakva.NewClient(kotakva.DemoConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	// A database of its own: the domain registers approval kinds.
	d, err := db.Open(ctx, t.TempDir()+"/va.db")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	admin, err := d.CreateUser(ctx, db.NewHasher(1), db.SystemActor, db.NewUser{Username: "vaadmin", DisplayName: "VA Admin",
		Password: benchPassword, Roles: []db.Role{db.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	v := db.NewVirtualAccounts(d, db.NewApprovals(d, 0), kotakva.NewAdapter(c), db.VAOptions{Prefix: kotakva.DemoPrefix})
	// Accounts both sides hold, so every credit is matched and summed.
	for _, s := range []string{"BENCH1", "BENCH2", "BENCH3"} {
		a, err := sb.AddPortalAccount(kotakva.PortalAccount{Suffix: s, Name: "Bench " + s})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Writer().Exec(`INSERT INTO virtual_accounts (number, suffix, name, state, created_at, updated_at)
			VALUES (?, ?, ?, 'active', ?, ?)`, a.VirtualAccountNo, s, a.Name, nowMS(), nowMS()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sb.AddCredits(kotakva.CreditRequest{Count: credits}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res, err := v.Ingest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	rate := float64(res.New) / took.Seconds()
	r.printf("\n== Virtual accounts\n")
	r.printf("credit ingest from the in-process Kotak VA sandbox over loopback HTTP (AES bodies), %d credits in %d batches "+
		"(fetch, store records + batch + sums in one transaction, acknowledge): %s, %.0f credits/s\n", res.New, res.Batches,
		took.Round(time.Millisecond), rate)
	r.figure("credits ingested per second", "≥ 20,000/s", fmt.Sprintf("%.0f/s", rate), rate >= 20_000)

	raw := vaCSV(10_000)
	t0 = time.Now()
	rows, err := parseVACSV(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.CheckChanges(ctx, rows); err != nil || len(p) != 0 {
		t.Fatalf("check: %v %d problems", err, len(p))
	}
	checked := time.Since(t0)
	out, err := v.Propose(ctx, admin, rows, "bench.csv")
	if err != nil {
		t.Fatal(err)
	}
	staged := time.Since(t0)
	r.printf("10,000-account CSV (%.0f KB): parsed and checked in %s, staged as request #%d (accounts, rows, request, events, audit, one transaction) by %s\n",
		float64(len(raw))/1024, checked.Round(time.Millisecond), out.Requests[0].ID, staged.Round(time.Millisecond))
	r.figure("10,000-account CSV checked and staged", "measured", staged.Round(time.Millisecond).String(), true)
}

func parseVACSV(raw []byte) ([]db.VAChangeInput, error) {
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		return nil, err
	}
	out := make([]db.VAChangeInput, 0, len(recs)-1)
	for i, r := range recs[1:] {
		out = append(out, db.VAChangeInput{Line: i + 2, Op: r[0], Suffix: r[1], Name: r[2], Purpose: r[3], Email: r[4], Mobile: r[5]})
	}
	return out, nil
}

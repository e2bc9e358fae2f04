package db

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
)

func newTestPayouts(t testing.TB, d *DB) (*Payouts, *Approvals) {
	t.Helper()
	a := NewApprovals(d, 72*time.Hour)
	p := NewPayouts(d, a)
	if p.queueErr != nil {
		t.Fatal(p.queueErr)
	}
	return p, a
}

func goodInput() PayoutInput {
	return PayoutInput{BeneficiaryName: "Acme Traders Pvt. Ltd.", AccountNo: "50100012345678", IFSC: "HDFC0001234",
		Amount: "50,000.00", Rail: "NEFT", Source: "kotakcms", Purpose: "Invoice 42"}
}

func TestValidatePayout(t *testing.T) {
	today := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		edit  func(*PayoutInput)
		field string // "" = valid
	}{
		{"valid", func(*PayoutInput) {}, ""},
		{"name empty", func(in *PayoutInput) { in.BeneficiaryName = "  " }, "beneficiary_name"},
		{"name 100", func(in *PayoutInput) { in.BeneficiaryName = strings.Repeat("a", 100) }, ""},
		{"name 101", func(in *PayoutInput) { in.BeneficiaryName = strings.Repeat("a", 101) }, "beneficiary_name"},
		{"name digits", func(in *PayoutInput) { in.BeneficiaryName = "Shop 24" }, "beneficiary_name"},
		{"name punctuation only", func(in *PayoutInput) { in.BeneficiaryName = ".&-" }, "beneficiary_name"},
		{"name symbols ok", func(in *PayoutInput) { in.BeneficiaryName = "O'Brien & Sons - A.B." }, ""},
		{"account 5", func(in *PayoutInput) { in.AccountNo = "12345" }, "account_no"},
		{"account 6", func(in *PayoutInput) { in.AccountNo = "123456" }, ""},
		{"account 20", func(in *PayoutInput) { in.AccountNo = strings.Repeat("9", 20) }, ""},
		{"account 21", func(in *PayoutInput) { in.AccountNo = strings.Repeat("9", 21) }, "account_no"},
		{"account space", func(in *PayoutInput) { in.AccountNo = "5010 0012345" }, "account_no"},
		{"ifsc lower ok", func(in *PayoutInput) { in.IFSC = "hdfc0001234" }, ""},
		{"ifsc no zero", func(in *PayoutInput) { in.IFSC = "HDFC1001234" }, "ifsc"},
		{"ifsc short", func(in *PayoutInput) { in.IFSC = "HDFC000123" }, "ifsc"},
		{"ifsc digit bank", func(in *PayoutInput) { in.IFSC = "HD1C0001234" }, "ifsc"},
		{"amount empty", func(in *PayoutInput) { in.Amount = "" }, "amount"},
		{"amount zero", func(in *PayoutInput) { in.Amount = "0" }, "amount"},
		{"amount 0.01", func(in *PayoutInput) { in.Amount = "0.01" }, ""},
		{"amount 3 decimals", func(in *PayoutInput) { in.Amount = "1.001" }, "amount"},
		{"amount negative", func(in *PayoutInput) { in.Amount = "-5" }, "amount"},
		{"amount words", func(in *PayoutInput) { in.Amount = "five" }, "amount"},
		{"amount max", func(in *PayoutInput) { in.Amount = "99,99,99,999.99" }, ""},
		{"amount over max", func(in *PayoutInput) { in.Amount = "1,00,00,00,000.00" }, "amount"},
		{"paymate max", func(in *PayoutInput) { in.Source, in.Amount = "paymate", "99,99,999.99" }, ""},
		{"paymate over max", func(in *PayoutInput) { in.Source, in.Amount = "paymate", "1,00,00,000" }, "amount"},
		{"rtgs at min", func(in *PayoutInput) { in.Rail, in.Amount = "RTGS", "2,00,000" }, ""},
		{"rtgs below min", func(in *PayoutInput) { in.Rail, in.Amount = "RTGS", "1,99,999.99" }, "amount"},
		{"imps at max", func(in *PayoutInput) { in.Rail, in.Amount = "imps", "5,00,000" }, ""},
		{"imps over max", func(in *PayoutInput) { in.Rail, in.Amount = "IMPS", "5,00,000.01" }, "amount"},
		{"rail unknown", func(in *PayoutInput) { in.Rail = "UPI" }, "rail"},
		{"source unknown", func(in *PayoutInput) { in.Source = "hdfc" }, "source"},
		{"purpose 60", func(in *PayoutInput) { in.Purpose = strings.Repeat("p", 60) }, ""},
		{"purpose 61", func(in *PayoutInput) { in.Purpose = strings.Repeat("p", 61) }, "purpose"},
		{"purpose control", func(in *PayoutInput) { in.Purpose = "a\tb" }, "purpose"},
		{"value date today", func(in *PayoutInput) { in.ValueDate = "2026-11-21" }, ""},
		{"value date yesterday", func(in *PayoutInput) { in.ValueDate = "2026-11-20" }, "value_date"},
		{"value date +30", func(in *PayoutInput) { in.ValueDate = "2026-12-21" }, ""},
		{"value date +31", func(in *PayoutInput) { in.ValueDate = "2026-12-22" }, "value_date"},
		{"value date format", func(in *PayoutInput) { in.ValueDate = "21/11/2026" }, "value_date"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := goodInput()
			c.edit(&in)
			d, fields := ValidatePayout(in, today)
			if c.field == "" {
				if fields != nil {
					t.Fatalf("want valid, got %v", fields)
				}
				if d.AmountPaise <= 0 || d.IFSC != strings.ToUpper(d.IFSC) {
					t.Fatalf("draft %+v", d)
				}
				return
			}
			if _, ok := fields[c.field]; !ok || len(fields) != 1 {
				t.Fatalf("want only %s invalid, got %v", c.field, fields)
			}
		})
	}
	if d, _ := ValidatePayout(goodInput(), today); d.AmountPaise != 50_000_00 {
		t.Fatalf("amount %d", d.AmountPaise)
	}
}

func TestPayoutIDsFitProviders(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newPayoutID()
		if len(id) > 20 || strings.ContainsFunc(id, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
			t.Fatalf("id %q", id)
		}
		if seen[id] {
			t.Fatalf("repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestProposePayout(t *testing.T) {
	d, _ := newTestDB(t)
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)

	bad := goodInput()
	bad.IFSC = "nope"
	if _, _, err := p.Propose(ctx, maker, bad); ErrorCode(err) != EINVALID || FieldErrors(err)["ifsc"] == "" {
		t.Fatalf("invalid: %v", err)
	}
	if _, _, err := p.Propose(ctx, checker, goodInput()); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("checker proposing: %v", err)
	}

	po, warns, err := p.Propose(ctx, maker, goodInput())
	if err != nil || len(warns) != 0 {
		t.Fatalf("propose: %v %v", err, warns)
	}
	if po.State != providers.StatePendingApproval || po.ApprovalRequestID == 0 || po.AmountPaise != 50_000_00 {
		t.Fatalf("payout %+v", po)
	}
	r, _ := mustGet(t, a, po.ApprovalRequestID)
	if r.Kind != PayoutKind || r.TargetID != po.ID || r.RequiredApprovals != 1 {
		t.Fatalf("request %+v", r)
	}
	_, warns, err = p.Propose(ctx, maker, goodInput())
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0].Message, "possible duplicate") {
		t.Fatalf("duplicate warning: %v %v", err, warns)
	}
	other := goodInput()
	other.Amount = "50,000.01"
	if _, warns, _ := p.Propose(ctx, maker, other); len(warns) != 0 {
		t.Fatalf("different amount warned: %v", warns)
	}

	// Rejected: the payout ends rejected with the reason on its timeline.
	if _, err := a.Reject(ctx, checker, po.ApprovalRequestID, "wrong vendor"); err != nil {
		t.Fatal(err)
	}
	got, evs, err := p.Get(ctx, po.ID)
	if err != nil || got.State != providers.StateRejected || got.FailureReason != "wrong vendor" || len(evs) != 2 || evs[1].Kind != "rejected" {
		t.Fatalf("rejected: %+v %+v %v", got, evs, err)
	}
	if n := countJobs(t, d, po.ID); n != 0 {
		t.Fatalf("rejected payout has %d jobs", n)
	}
	list, _, err := p.List(ctx, PayoutFilter{State: providers.StatePendingApproval})
	if err != nil || len(list) != 2 {
		t.Fatalf("list pending: %d %v", len(list), err)
	}
	list, more, err := p.List(ctx, PayoutFilter{Limit: 2})
	if err != nil || len(list) != 2 || !more {
		t.Fatalf("page 1: %d %v %v", len(list), more, err)
	}
	list, more, err = p.List(ctx, PayoutFilter{Limit: 2, After: list[1].ID})
	if err != nil || len(list) != 1 || more {
		t.Fatalf("page 2: %d %v %v", len(list), more, err)
	}
	verifyAudit(t, d)
}

func countJobs(t testing.TB, d *DB, payoutID string) int {
	t.Helper()
	var n int
	if err := d.write.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'payout_dispatch' AND json_extract(args, '$.payout_id') = ?`,
		payoutID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLargePayoutNeedsTwoCheckersBeforeAnyJob(t *testing.T) {
	d, _ := newTestDB(t)
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	c1 := mustCreateUser(t, d, "checker1", RoleChecker)
	c2 := mustCreateUser(t, d, "checker2", RoleChecker)
	in := goodInput()
	in.Amount, in.Rail = "25,00,000", "RTGS"
	po, _, err := p.Propose(ctx, maker, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Approve(ctx, c1, po.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Approve(ctx, c1, po.ApprovalRequestID); ErrorCode(err) != ECONFLICT {
		t.Fatalf("same checker twice: %v", err)
	}
	if got, _, _ := p.Get(ctx, po.ID); got.State != providers.StatePendingApproval || countJobs(t, d, po.ID) != 0 {
		t.Fatalf("after one approval: %s, %d jobs", got.State, countJobs(t, d, po.ID))
	}
	if _, err := a.Approve(ctx, c2, po.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := p.Get(ctx, po.ID); got.State != providers.StateQueued || countJobs(t, d, po.ID) != 1 {
		t.Fatalf("after two approvals: %s, %d jobs", got.State, countJobs(t, d, po.ID))
	}
	verifyAudit(t, d)
}

func TestApprovePayoutRaceInsertsOneJob(t *testing.T) {
	d, _ := newTestDB(t)
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checkers := []User{mustCreateUser(t, d, "checker1", RoleChecker), mustCreateUser(t, d, "checker2", RoleChecker)}
	for trial := range 100 {
		in := goodInput()
		in.Amount = fmt.Sprint(1000 + trial)
		po, _, err := p.Propose(ctx, maker, in)
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, c := range checkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = a.Approve(ctx, c, po.ApprovalRequestID)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case ErrorCode(err) == ECONFLICT:
			default:
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
		if won != 1 || countJobs(t, d, po.ID) != 1 {
			t.Fatalf("trial %d: %d approvals won, %d jobs", trial, won, countJobs(t, d, po.ID))
		}
	}
	verifyAudit(t, d)
}

func TestExpiredAndWithdrawnPayoutsAreCancelled(t *testing.T) {
	d, clk := newTestDB(t)
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	po1, _, _ := p.Propose(ctx, maker, goodInput())
	in := goodInput()
	in.Amount = "1"
	po2, _, _ := p.Propose(ctx, maker, in)
	if _, err := a.Withdraw(ctx, maker, po1.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(73 * time.Hour)
	if n, err := a.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	for _, id := range []string{po1.ID, po2.ID} {
		got, _, _ := p.Get(ctx, id)
		if got.State != providers.StateCancelled || got.FailureReason == "" || got.FinalAt.IsZero() {
			t.Fatalf("%s: %+v", id, got)
		}
	}
}

func batchRows(n int) []PayoutInput {
	rows := make([]PayoutInput, n)
	for i := range rows {
		rows[i] = goodInput()
		rows[i].AccountNo = fmt.Sprintf("5010%08d", i)
		rows[i].Amount = fmt.Sprintf("%d.%02d", 100+i%5000, i%100)
	}
	return rows
}

func TestProposeBatchAllOrNothing(t *testing.T) {
	d, _ := newTestDB(t)
	p, _ := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	rows := batchRows(50)
	rows[37].IFSC = "BAD"
	_, err := p.ProposeBatch(ctx, maker, rows)
	if ErrorCode(err) != EINVALID || FieldErrors(err)["rows.37.ifsc"] == "" || len(FieldErrors(err)) != 1 {
		t.Fatalf("bad row: %v", err)
	}
	var n int
	d.read.QueryRow(`SELECT (SELECT count(*) FROM payouts) + (SELECT count(*) FROM approval_requests) + (SELECT count(*) FROM payout_batches)`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows saved after a bad row", n)
	}
	rows[37].IFSC = "HDFC0001234"
	b, err := p.ProposeBatch(ctx, maker, rows)
	if err != nil || b.Count != 50 || len(b.PayoutIDs) != 50 {
		t.Fatalf("batch: %+v %v", b, err)
	}
	list, _, _ := p.List(ctx, PayoutFilter{BatchID: b.ID, Limit: 500})
	if len(list) != 50 {
		t.Fatalf("listed %d", len(list))
	}
	verifyAudit(t, d)
}

func TestProposeBatch10k(t *testing.T) {
	d, _ := newTestDB(t)
	p, _ := newTestPayouts(t, d)
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	start := time.Now()
	b, err := p.ProposeBatch(context.Background(), maker, batchRows(MaxBatchRows))
	if err != nil || b.Count != MaxBatchRows {
		t.Fatalf("batch: %v", err)
	}
	t.Logf("10,000-row batch in %v", time.Since(start).Round(time.Millisecond))
	var n int
	d.read.QueryRow(`SELECT count(*) FROM approval_requests WHERE kind = 'payout' AND state = 'pending_approval'`).Scan(&n)
	if n != MaxBatchRows {
		t.Fatalf("%d requests", n)
	}
	verifyAudit(t, d)
}

func BenchmarkProposeBatch10k(b *testing.B) {
	d, err := Open(context.Background(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	p, _ := newTestPayouts(b, d)
	maker, err := d.CreateUser(context.Background(), testHasher, SystemActor, NewUser{Username: "maker", DisplayName: "M",
		Password: testPassword, Roles: []Role{RoleMaker}})
	if err != nil {
		b.Fatal(err)
	}
	rows := batchRows(MaxBatchRows)
	b.ResetTimer()
	for range b.N {
		if _, err := p.ProposeBatch(context.Background(), maker, rows); err != nil {
			b.Fatal(err)
		}
	}
}

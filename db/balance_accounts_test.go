package db

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"paydesk/providers"
)

// fixedBalance reports whatever figure the test sets.
type fixedBalance struct{ paise int64 }

func (f *fixedBalance) Balance(context.Context) (providers.Balance, error) {
	return providers.Balance{Account: "Xpress Account X1", AvailablePaise: f.paise}, nil
}

func historyRows(t *testing.T, d *DB, source string) int {
	t.Helper()
	var n int
	if err := d.read.QueryRow(`SELECT count(*) FROM balance_history WHERE source = ?`, source).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBalanceHistoryOnlyOnChange: polls that see the same figure write no
// history row (they confirm the last one); a change writes one, and the
// day's open/close/low/high follow.
func TestBalanceHistoryOnlyOnChange(t *testing.T) {
	d, clk := newTestDB(t)
	ctx := context.Background()
	pm := &fixedBalance{paise: 10_00_000_00}
	w := NewBalanceWatcher(d, map[string]providers.Balances{SourcePayMate: pm})
	for range 5 {
		if err := w.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(30 * time.Second)
	}
	if n := historyRows(t, d, SourcePayMate); n != 1 {
		t.Fatalf("5 polls of one figure: %d history rows, want 1", n)
	}
	b := NewBalances(d, NewApprovals(d, 0), []AccountSpec{{Source: SourcePayMate, HasBalance: true}})
	changes, _, err := b.Changes(ctx, SourcePayMate, clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour), 0, 10)
	if err != nil || len(changes) != 1 || !changes[0].ConfirmedAt.Equal(clk.Now().Add(-30*time.Second)) {
		t.Fatalf("changes = %+v, %v (confirmed at the last poll)", changes, err)
	}
	pm.paise = 7_50_000_00
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	pm.paise = 12_00_000_00
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := historyRows(t, d, SourcePayMate); n != 3 {
		t.Fatalf("3 figures: %d history rows", n)
	}
	today := ISTDay(clk.Now())
	tomorrow := ISTDay(clk.Now().Add(24 * time.Hour))
	days, err := b.Days(ctx, SourcePayMate, ISTDay(clk.Now().Add(-48*time.Hour)), tomorrow)
	if err != nil || len(days) != 3 {
		t.Fatalf("days = %+v, %v", days, err)
	}
	if days[0].Known || days[1].Known {
		t.Fatalf("days before the first figure are not known: %+v", days[:2])
	}
	got := days[2]
	if got.Day != today || got.Open != 10_00_000_00 || got.Close != 12_00_000_00 || got.Low != 7_50_000_00 ||
		got.High != 12_00_000_00 || got.Changes != 3 {
		t.Fatalf("today = %+v", got)
	}
	// A day without changes carries the close forward.
	clk.Advance(48 * time.Hour)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	days, _ = b.Days(ctx, SourcePayMate, today, ISTDay(clk.Now().Add(24*time.Hour)))
	if len(days) != 3 || days[1].Changes != 0 || days[1].Close != 12_00_000_00 || !days[1].Known {
		t.Fatalf("carried day = %+v", days)
	}
	if n := historyRows(t, d, SourcePayMate); n != 3 {
		t.Fatalf("a poll two days later with the same figure added a row: %d", n)
	}
}

// TestReservedEqualsInFlightAcrossRestarts: approved payouts not yet final
// are reserved against the account; one the provider executed after the
// figure was fetched stays reserved until a later figure shows it gone; a
// processed one is an outflow of its day. The same holds after the
// database is closed and opened again (nothing is kept in memory).
func TestReservedEqualsInFlightAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "paydesk.db")
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	d.Now = clk.Now
	p, a := newTestPayouts(t, d)
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	pm := &fixedBalance{paise: 50_00_000_00}
	w := NewBalanceWatcher(d, map[string]providers.Balances{SourcePayMate: pm})
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	amounts := []int64{1_000_00, 2_500_50, 40_000_00, 7_77, 12_345_67}
	var ids []string
	for i, amt := range amounts {
		in := goodInput()
		in.Source, in.Amount = SourcePayMate, providers.FormatAmount(amt)
		in.AccountNo = fmt.Sprintf("5010001234%04d", i)
		po, _, err := p.Propose(ctx, maker, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, po.ID)
	}
	// One waits for approval (never reserved).
	waiting := goodInput()
	waiting.Source = SourcePayMate
	if _, _, err := p.Propose(ctx, maker, waiting); err != nil {
		t.Fatal(err)
	}
	// The provider executes #1 and #2 (processing) and reports #3 unknown;
	// #4 is processed (an outflow).
	for _, ch := range []struct {
		id string
		c  change
	}{
		{ids[1], change{kind: "provider_status", state: providers.StateProcessing}},
		{ids[2], change{kind: "provider_status", state: providers.StateProcessing}},
		{ids[3], change{kind: "unknown", state: providers.StateUnknown}},
		{ids[4], change{kind: "provider_status", state: providers.StateProcessed, utr: "UTR1"}},
	} {
		if _, _, err := p.record(ctx, ch.id, ch.c, nil); err != nil {
			t.Fatal(err)
		}
	}
	inFlight := amounts[0] + amounts[1] + amounts[2] + amounts[3]
	specs := []AccountSpec{{Source: SourcePayMate, HasBalance: true}, {Source: SourceKotakCMS}}
	check := func(d *DB, reserved int64, when string) {
		t.Helper()
		b := NewBalances(d, NewApprovals(d, 0), specs)
		acct, err := b.Account(ctx, SourcePayMate)
		if err != nil {
			t.Fatal(err)
		}
		// The sum in flight, computed here from the rows themselves.
		var want int64
		if err := d.read.QueryRow(`SELECT coalesce(sum(amount_paise), 0) FROM payouts WHERE source = 'paymate'
			AND state IN ('approved', 'queued', 'processing', 'unknown')`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if acct.InFlightPaise != want || want != inFlight || acct.InFlightCount != 4 {
			t.Fatalf("%s: in flight %d (%d), want %d = %d", when, acct.InFlightPaise, acct.InFlightCount, want, inFlight)
		}
		if acct.ReservedPaise != reserved || acct.AvailableAfterPaise() != pm.paise-reserved {
			t.Fatalf("%s: reserved %d, available after %d; want %d", when, acct.ReservedPaise, acct.AvailableAfterPaise(), reserved)
		}
		out, err := b.Outflows(ctx, SourcePayMate, ISTDay(clk.Now()), ISTDay(clk.Now().Add(24*time.Hour)))
		if err != nil || len(out) != 1 || out[0].Paise != amounts[4] || out[0].Count != 1 {
			t.Fatalf("%s: outflows %+v, %v", when, out, err)
		}
	}
	// The figure predates the executions: everything in flight is reserved.
	check(d, inFlight, "before restart")
	d.Close()
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.Now = clk.Now
	check(d, inFlight, "after restart")
	// A new figure fetched after #1 and #2 were executed shows them gone.
	clk.Advance(time.Minute)
	pm.paise -= amounts[1] + amounts[2]
	if err := NewBalanceWatcher(d, map[string]providers.Balances{SourcePayMate: pm}).Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	check(d, amounts[0]+amounts[3], "after a later figure")
}

// TestThresholdFollowsRuleChangeApproval: with one admin a threshold
// applies at once; with two, it waits for the other admin, who alone may
// approve it; the banner list and the account follow.
func TestThresholdFollowsRuleChangeApproval(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	a := NewApprovals(d, 0)
	b := NewBalances(d, a, []AccountSpec{{Source: SourcePayMate, HasBalance: true}, {Source: SourceKotakCMS}})
	admin := mustCreateUser(t, d, "admin1", RoleAdmin)
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	if err := NewBalanceWatcher(d, map[string]providers.Balances{SourcePayMate: &fixedBalance{paise: 5_00_000_00}}).Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.ProposeThreshold(ctx, maker, SourcePayMate, 1_00); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("maker sets threshold: %v", err)
	}
	if _, _, err := b.ProposeThreshold(ctx, admin, SourceKotakCMS, 1_00); FieldErrors(err)["threshold"] == "" {
		t.Fatalf("threshold on an account without a balance: %v", err)
	}
	_, applied, err := b.ProposeThreshold(ctx, admin, SourcePayMate, 6_00_000_00)
	if err != nil || !applied {
		t.Fatalf("single admin: %v, %v", applied, err)
	}
	low, err := b.Low(ctx)
	if err != nil || len(low) != 1 || low[0].ThresholdPaise != 6_00_000_00 || low[0].ThresholdBy != "admin1" {
		t.Fatalf("low = %+v, %v", low, err)
	}
	admin2 := mustCreateUser(t, d, "admin2", RoleAdmin)
	req, applied, err := b.ProposeThreshold(ctx, admin, SourcePayMate, 1_00_000_00)
	if err != nil || applied || req.Kind != ThresholdKind || req.RequiredRole != RoleAdmin {
		t.Fatalf("two admins: %+v %v %v", req, applied, err)
	}
	if _, _, err := b.ProposeThreshold(ctx, admin2, SourcePayMate, 2_00); ErrorCode(err) != ECONFLICT {
		t.Fatalf("second change while one waits: %v", err)
	}
	if ch, ok := b.ThresholdChangeOf(req); !ok || ch.Before != 6_00_000_00 || ch.After != 1_00_000_00 {
		t.Fatalf("diff = %+v %v", ch, ok)
	}
	if acct, _ := b.Account(ctx, SourcePayMate); acct.ThresholdPaise != 6_00_000_00 || acct.PendingThreshold != req.ID {
		t.Fatalf("waiting change applied early: %+v", acct)
	}
	if _, err := a.Approve(ctx, admin, req.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("maker approves own threshold: %v", err)
	}
	if _, err := a.Approve(ctx, admin2, req.ID); err != nil {
		t.Fatal(err)
	}
	acct, _ := b.Account(ctx, SourcePayMate)
	if acct.ThresholdPaise != 1_00_000_00 || acct.Below() || acct.PendingThreshold != 0 {
		t.Fatalf("after approval: %+v", acct)
	}
	if e := lastAudit(t, d); e.Action != "balance_threshold.changed" || e.Actor != "admin1" {
		t.Fatalf("audit = %+v", e)
	}
}

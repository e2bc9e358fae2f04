package db

import (
	"context"
	"testing"
)

// TestBankSideRetryAfterAuthoriseFailed: PayMate refuses a bank-side
// approval for want of funds; the item fails to authorise. A maker cannot
// retry it (refused, audited); a checker can, audited, and the decision
// then reaches the bank once the account is funded.
func TestBankSideRetryAfterAuthoriseFailed(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	setPayMateBalance(t, e.srv, 100_00)
	ref := e.portalPayMate(t, 12_000_00)
	e.poll(t)
	it := e.item(t, SourcePayMate, ref)
	if _, err := e.a.Approve(ctx, e.checker, it.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bs.ProcessDecided(ctx); err != nil {
		t.Fatal(err)
	}
	it = e.item(t, SourcePayMate, ref)
	if it.State != BankPendingAuthoriseFailed || it.LastError == "" {
		t.Fatalf("item = %+v", it)
	}
	if _, err := e.bs.Retry(ctx, e.maker, it.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("maker retry: %v", err)
	}
	if refusals, _, _ := e.d.ListAudit(ctx, AuditFilter{Action: "approval.refused", Actor: "maker"}); len(refusals) != 1 {
		t.Fatalf("refusal audited %d times", len(refusals))
	}
	setPayMateBalance(t, e.srv, 10_00_000_00)
	got, err := e.bs.Retry(ctx, e.checker, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != BankPendingApproved || got.LastError != "" || got.RetryBase != it.Attempts {
		t.Fatalf("after retry: %+v", got)
	}
	if _, err := e.bs.Retry(ctx, e.checker, it.ID); ErrorCode(err) != ECONFLICT {
		t.Fatalf("second retry: %v", err)
	}
	if entries, _, _ := e.d.ListAudit(ctx, AuditFilter{Action: "bank_pending.retry", Actor: "checker"}); len(entries) != 1 {
		t.Fatalf("retry audited %d times", len(entries))
	}
	if n, err := e.bs.ProcessDecided(ctx); n != 1 || err != nil {
		t.Fatalf("process = %d, %v", n, err)
	}
	if it := e.item(t, SourcePayMate, ref); it.State != BankPendingAuthorised {
		t.Fatalf("item = %+v", it)
	}
	if n := e.executions(SourcePayMate, ref); n != 1 {
		t.Fatalf("executed %d times", n)
	}
	verifyAudit(t, e.d)
}

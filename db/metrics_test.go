package db

import (
	"context"
	"testing"
	"time"

	"paydesk/providers"
)

// TestOpsFigures: the figures /metrics reports move with a payout.
func TestOpsFigures(t *testing.T) {
	d, clk := newTestDB(t)
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	po, _, err := p.Propose(ctx, maker, goodInput())
	if err != nil {
		t.Fatal(err)
	}
	f, err := d.OpsFigures(ctx, a.KindNames())
	if err != nil {
		t.Fatal(err)
	}
	if f.Payouts[providers.StatePendingApproval] != 1 || f.ApprovalsWaiting[PayoutKind] != 1 || !f.OldestOpenPayout.IsZero() {
		t.Fatalf("proposed: %+v", f)
	}
	clk.Advance(time.Minute)
	if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	f, err = d.OpsFigures(ctx, a.KindNames())
	if err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for _, j := range f.Jobs {
		if j.Queue == DispatchQueue {
			jobs += j.Count
		}
	}
	if f.Payouts[providers.StateQueued] != 1 || f.ApprovalsWaiting[PayoutKind] != 0 || f.OldestOpenPayout.IsZero() || jobs != 1 {
		t.Fatalf("approved: %+v", f)
	}
}

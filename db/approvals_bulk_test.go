package db

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestApproveManyDecidesEachAsApproveWould: one transaction, yet every
// request gets the outcome and audit entries a single Approve would give
// it, a refused or failing one undoes only itself, and the chain holds.
func TestApproveManyDecidesEachAsApproveWould(t *testing.T) {
	d, clk := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	checker2 := mustCreateUser(t, d, "checker2", RoleChecker)

	expiring := mustPropose(t, a, maker, "expiring", 2_000_00)
	clk.Advance(71 * time.Hour)
	small := mustPropose(t, a, maker, "small", 5_000_00)            // one approval completes it
	big := mustPropose(t, a, maker, "big", 25_00_000_00)            // needs two checkers
	decidedTwice := mustPropose(t, a, maker, "twice", 30_00_000_00) // checker approves it first, alone
	if _, err := a.Approve(ctx, checker, decidedTwice.ID); err != nil {
		t.Fatal(err)
	}
	// A request checker made themselves (as a maker too) is refused.
	both := mustCreateUser(t, d, "both", RoleMaker, RoleChecker)
	own := mustPropose(t, a, both, "own", 3_000_00)

	before := auditCount(t, d)
	res, err := a.ApproveMany(ctx, both, []int64{small.ID, own.ID, 999_999, small.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("results %d, want 3 (a repeated id decided once)", len(res))
	}
	if res[0].Err != nil || res[0].Request.State != ApprovalApproved {
		t.Fatalf("small: %+v", res[0])
	}
	if ErrorCode(res[1].Err) != EFORBIDDEN || !strings.Contains(res[1].Err.Error(), "another person must approve") {
		t.Fatalf("own request: %+v", res[1])
	}
	if ErrorCode(res[2].Err) != ENOTFOUND {
		t.Fatalf("missing request: %+v", res[2])
	}
	// One entry per request: small's deciding vote (approval.approved) and
	// the refusal of own, in the one transaction.
	if got := auditCount(t, d) - before; got != 2 {
		t.Fatalf("%d audit entries, want 2", got)
	}
	if h.count("approved", small.ID) != 1 || h.count("approved", own.ID) != 0 {
		t.Fatalf("hooks: %+v", h.calls)
	}

	// A failing hook undoes only its own request.
	late := mustPropose(t, a, maker, "late", 1_000_00)
	clk.Advance(2 * time.Hour) // expiring is now past its time; the others are not
	h.setFail(nil)
	res, err = a.ApproveMany(ctx, checker, []int64{big.ID, decidedTwice.ID, expiring.ID, late.ID})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Request.State != ApprovalPending || res[0].Request.Approvals != 1 {
		t.Fatalf("big after one checker: %+v", res[0])
	}
	if ErrorCode(res[1].Err) != ECONFLICT || !strings.Contains(res[1].Err.Error(), "already approved") {
		t.Fatalf("second vote by the same checker: %+v", res[1])
	}
	if ErrorCode(res[2].Err) != ECONFLICT || res[2].Request.State != ApprovalExpired {
		t.Fatalf("expired: %+v", res[2])
	}
	if got, _ := mustGet(t, a, expiring.ID); got.State != ApprovalExpired {
		t.Fatalf("the expiry is kept for the record: %s", got.State)
	}
	if res[3].Err != nil || res[3].Request.State != ApprovalApproved {
		t.Fatalf("late: %+v", res[3])
	}

	h.setFail(errors.New("boom"))
	other := mustPropose(t, a, maker, "other", 1_000_00)
	if _, err := a.ApproveMany(ctx, checker2, []int64{big.ID, other.ID}); err == nil {
		t.Fatal("a hook failing with an internal error must end the bulk decision")
	}
	if got, decs := mustGet(t, a, big.ID); got.State != ApprovalPending || len(decs) != 1 {
		t.Fatalf("nothing of the failed bulk decision is kept: %s, %d decisions", got.State, len(decs))
	}
	h.setFail(Errorf(ECONFLICT, "the contact changed"))
	res, err = a.ApproveMany(ctx, checker2, []int64{other.ID, big.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ErrorCode(res[0].Err) != ECONFLICT || res[1].Err == nil {
		t.Fatalf("a hook's domain error is that row's result: %+v", res)
	}
	if got, decs := mustGet(t, a, other.ID); got.State != ApprovalPending || len(decs) != 0 {
		t.Fatalf("the refused row wrote nothing: %s, %d decisions", got.State, len(decs))
	}

	// Rejections need a reason, as one at a time.
	if _, err := a.RejectMany(ctx, checker2, []int64{other.ID}, " "); ErrorCode(err) != EINVALID {
		t.Fatalf("reject without reason: %v", err)
	}
	h.setFail(nil)
	res, err = a.RejectMany(ctx, checker2, []int64{other.ID}, "not this month")
	if err != nil || res[0].Err != nil || res[0].Request.State != ApprovalRejected || h.count("rejected", other.ID) != 1 {
		t.Fatalf("reject many: %+v %v", res, err)
	}
	verifyAudit(t, d)
}

// TestApproveManyRefusesTooMany: one bulk decision holds the writer, so
// its size is bounded.
func TestApproveManyRefusesTooMany(t *testing.T) {
	d, _ := newTestDB(t)
	a, _ := newTestApprovals(t, d)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	ids := make([]int64, MaxBulkDecisions+1)
	if _, err := a.ApproveMany(context.Background(), checker, ids); ErrorCode(err) != EINVALID {
		t.Fatalf("err %v", err)
	}
}

// TestBulkDecisionQueuesEveryJob: a bulk decision inserts its dispatch jobs
// a thousand at a time as it goes (txBatch.settle); every approved payout
// still gets exactly one job, refused requests among them included, and
// the audit chain holds.
func TestBulkDecisionQueuesEveryJob(t *testing.T) {
	f := newBulkFixture(t)
	d, a, p, maker, checker := f.d, f.a, f.p, f.maker, f.checker
	ctx := context.Background()
	n := 2*jobsAtOnce + 1
	proposed := proposePayouts(t, p, maker, n)
	// A refused id right where the first thousand jobs settle.
	ids := slices.Insert(proposed, jobsAtOnce, 999_999_999)
	res, err := a.ApproveMany(ctx, checker, ids)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, r := range res {
		if r.Err != nil {
			refused++
		}
	}
	if refused != 1 || len(res) != n+1 {
		t.Fatalf("%d results, %d refused; want %d and 1", len(res), refused, n+1)
	}
	var jobs, payouts int
	if err := d.read.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT json_extract(args, '$.payout_id')) FROM river_job
		WHERE kind = 'payout_dispatch'`).Scan(&jobs, &payouts); err != nil {
		t.Fatal(err)
	}
	if jobs != n || payouts != n {
		t.Fatalf("%d dispatch jobs for %d payouts; want %d for %d", jobs, payouts, n, n)
	}
	if _, err := d.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

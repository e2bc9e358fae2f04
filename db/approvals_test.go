package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookLog records which hook ran for which request, and can make OnApproved
// fail.
type hookLog struct {
	mu    sync.Mutex
	calls map[string][]int64 // "approved", "rejected", "cancelled", "expired" → request ids
	fail  error              // returned by OnApproved when set
}

func (h *hookLog) record(event string) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		// The hook sees the request as committed with it: read through tx.
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM approval_requests WHERE id = ?`, r.ID).Scan(&state); err != nil {
			return err
		}
		if state != string(r.State) {
			return fmt.Errorf("hook %s: tx state %q, request state %q", event, state, r.State)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if event == "approved" && h.fail != nil {
			return h.fail
		}
		if h.calls == nil {
			h.calls = map[string][]int64{}
		}
		h.calls[event] = append(h.calls[event], r.ID)
		return nil
	}
}

func (h *hookLog) kind(name string) Kind {
	return Kind{Name: name, Label: strings.ToUpper(name[:1]) + name[1:], OnApproved: h.record("approved"),
		OnRejected: h.record("rejected"), OnCancelled: h.record("cancelled"), OnExpired: h.record("expired")}
}

func (h *hookLog) count(event string, id int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, got := range h.calls[event] {
		if got == id {
			n++
		}
	}
	return n
}

func (h *hookLog) setFail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = err
}

func newTestApprovals(t *testing.T, d *DB) (*Approvals, *hookLog) {
	t.Helper()
	h := &hookLog{}
	return NewApprovals(d, 72*time.Hour, h.kind("payout"), h.kind("vendor")), h
}

func paise(v int64) *int64 { return &v }

func mustPropose(t *testing.T, a *Approvals, maker User, target string, amount int64) ApprovalRequest {
	t.Helper()
	r, err := a.Propose(context.Background(), maker, Proposal{Kind: "payout", TargetID: target, AmountPaise: paise(amount),
		Summary: "Pay " + target, Payload: map[string]any{"target": target}})
	if err != nil {
		t.Fatalf("propose %s: %v", target, err)
	}
	return r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func auditCount(t *testing.T, d *DB) int {
	t.Helper()
	var n int
	if err := d.read.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func lastAudit(t *testing.T, d *DB) AuditEntry {
	t.Helper()
	es, _, err := d.ListAudit(context.Background(), AuditFilter{Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("last audit: %v", err)
	}
	return es[0]
}

func auditActionsFor(t *testing.T, d *DB, target string) []string {
	t.Helper()
	es, _, err := d.ListAudit(context.Background(), AuditFilter{Target: target, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e.Action // oldest first
	}
	return out
}

func verifyAudit(t *testing.T, d *DB) {
	t.Helper()
	if _, err := d.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

func mustGet(t *testing.T, a *Approvals, id int64) (ApprovalRequest, []Decision) {
	t.Helper()
	r, decs, err := a.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r, decs
}

func TestApprovalRuleBands(t *testing.T) {
	d, _ := newTestDB(t)
	a, _ := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	cases := []struct {
		amount *int64
		want   int
	}{
		{paise(0), 1},
		{paise(100000000), 1}, // ₹10,00,000 exactly
		{paise(100000001), 2}, // ₹10,00,000.01
		{paise(500000000000), 2},
		{nil, 1}, // no amount: the band from 0
	}
	for i, tc := range cases {
		r, err := a.Propose(ctx, maker, Proposal{Kind: "payout", TargetID: fmt.Sprint("p", i), AmountPaise: tc.amount, Summary: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if r.RequiredApprovals != tc.want || r.RequiredRole != RoleChecker || r.State != ApprovalPending || r.RuleID == 0 {
			t.Errorf("amount %v: %+v, want %d checker(s)", tc.amount, r, tc.want)
		}
		if got := r.ExpiresAt.Sub(r.CreatedAt); got != 72*time.Hour {
			t.Errorf("expires after %v", got)
		}
	}

	// One pending request per target and kind.
	_, err := a.Propose(ctx, maker, Proposal{Kind: "payout", TargetID: "p0", AmountPaise: paise(5), Summary: "again"})
	wantCode(t, err, ECONFLICT)
	// A kind without rules, an unknown kind, bad input.
	_, err = a.Propose(ctx, maker, Proposal{Kind: "vendor", TargetID: "v1", Summary: "x"})
	if ErrorCode(err) != EINVALID || FieldErrors(err)["amount"] == "" {
		t.Fatalf("kind without rules: %v", err)
	}
	_, err = a.Propose(ctx, maker, Proposal{Kind: "nope", TargetID: "x", Summary: "x"})
	if FieldErrors(err)["kind"] == "" {
		t.Fatalf("unknown kind: %v", err)
	}
	_, err = a.Propose(ctx, maker, Proposal{Kind: "payout", TargetID: " ", AmountPaise: paise(-1), Summary: ""})
	if f := FieldErrors(err); f["target_id"] == "" || f["summary"] == "" || f["amount"] == "" {
		t.Fatalf("bad input: %v", err)
	}
	// Only makers propose; the refusal is on the record.
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	_, err = a.Propose(ctx, checker, Proposal{Kind: "payout", TargetID: "c1", AmountPaise: paise(1), Summary: "x"})
	wantCode(t, err, EFORBIDDEN)
	if e := lastAudit(t, d); e.Action != "approval.refused" || e.Actor != "checker" || !strings.Contains(e.Details, `"attempt":"propose"`) {
		t.Fatalf("refusal audit: %+v", e)
	}
	if rupees(100000001) != "₹10,00,000.01" || rupees(12345) != "₹123.45" || rupees(1234567890) != "₹1,23,45,678.90" {
		t.Fatalf("rupees: %s %s %s", rupees(100000001), rupees(12345), rupees(1234567890))
	}
	verifyAudit(t, d)
}

func TestSelfApprovalRefusedAndAudited(t *testing.T) {
	d, _ := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	mc := mustCreateUser(t, d, "makerchecker", RoleMaker, RoleChecker)
	onlyMaker := mustCreateUser(t, d, "onlymaker", RoleMaker)
	r := mustPropose(t, a, mc, "p1", 5000)
	target := "approval_request:" + requestTarget(r.ID)

	before := auditCount(t, d)
	_, err := a.Approve(ctx, mc, r.ID)
	wantCode(t, err, EFORBIDDEN)
	if ErrorMessage(err) != "You proposed this; another person must approve it." {
		t.Fatalf("message = %q", ErrorMessage(err))
	}
	if got := auditCount(t, d); got != before+1 {
		t.Fatalf("audit rows %d → %d, want one refusal", before, got)
	}
	e := lastAudit(t, d)
	if e.Action != "approval.refused" || e.Actor != "makerchecker" || e.TargetID != requestTarget(r.ID) ||
		!strings.Contains(e.Details, "another person must approve") || !strings.Contains(e.Details, `"attempt":"approve"`) {
		t.Fatalf("refusal audit: %+v", e)
	}

	// Wrong role, and the maker rejecting their own: refused and recorded too.
	_, err = a.Approve(ctx, onlyMaker, r.ID)
	wantCode(t, err, EFORBIDDEN)
	if !strings.Contains(lastAudit(t, d).Details, "needs the checker role") {
		t.Fatalf("wrong-role audit: %+v", lastAudit(t, d))
	}
	_, err = a.Reject(ctx, mc, r.ID, "changed my mind")
	wantCode(t, err, EFORBIDDEN)

	// Nothing else changed.
	got, decs := mustGet(t, a, r.ID)
	if got.State != ApprovalPending || got.Approvals != 0 || len(decs) != 0 || h.count("approved", r.ID)+h.count("rejected", r.ID) != 0 {
		t.Fatalf("after refusals: %+v, %v", got, decs)
	}
	want := []string{"approval.proposed", "approval.refused", "approval.refused", "approval.refused"}
	if acts := auditActionsFor(t, d, target); strings.Join(acts, ",") != strings.Join(want, ",") {
		t.Fatalf("audit = %v, want %v", acts, want)
	}
	if _, err := a.Approve(ctx, mc, 9999); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("missing request: %v", err)
	}
	verifyAudit(t, d)
}

func TestTwoApproversCountOnce(t *testing.T) {
	d, _ := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	c1 := mustCreateUser(t, d, "checker1", RoleChecker)
	c2 := mustCreateUser(t, d, "checker2", RoleChecker)
	r := mustPropose(t, a, maker, "big", 100000001)
	if r.RequiredApprovals != 2 {
		t.Fatalf("required = %d", r.RequiredApprovals)
	}

	got, err := a.Approve(ctx, c1, r.ID)
	if err != nil || got.State != ApprovalPending || got.Approvals != 1 {
		t.Fatalf("first approval: %+v, %v", got, err)
	}
	if h.count("approved", r.ID) != 0 {
		t.Fatal("OnApproved ran after one of two approvals")
	}
	// The same approver again counts nothing, approving or rejecting.
	_, err = a.Approve(ctx, c1, r.ID)
	wantCode(t, err, ECONFLICT)
	_, err = a.Reject(ctx, c1, r.ID, "second thoughts")
	wantCode(t, err, ECONFLICT)
	// And the database itself refuses a second row.
	if _, err := d.write.Exec(`INSERT INTO approval_decisions (request_id, user_id, decision, at) VALUES (?, ?, 'approve', 1)`, r.ID, c1.ID); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("a second decision row by the same user: %v", err)
	}
	if got, _ := mustGet(t, a, r.ID); got.Approvals != 1 {
		t.Fatalf("approvals = %d after repeats", got.Approvals)
	}

	got, err = a.Approve(ctx, c2, r.ID)
	if err != nil || got.State != ApprovalApproved || got.Approvals != 2 || got.DecidedAt.IsZero() {
		t.Fatalf("second approval: %+v, %v", got, err)
	}
	if n := h.count("approved", r.ID); n != 1 {
		t.Fatalf("OnApproved ran %d times", n)
	}
	_, err = a.Approve(ctx, c2, r.ID)
	wantCode(t, err, ECONFLICT)
	_, decs := mustGet(t, a, r.ID)
	if len(decs) != 2 || decs[0].Username != "checker1" || decs[1].Username != "checker2" || decs[0].Decision != "approve" {
		t.Fatalf("decisions = %+v", decs)
	}
	// One entry per decision: the deciding vote is the request's end, and
	// carries the count.
	want := []string{"approval.proposed", "approval.approved_by", "approval.approved"}
	if acts := auditActionsFor(t, d, "approval_request:"+requestTarget(r.ID)); strings.Join(acts, ",") != strings.Join(want, ",") {
		t.Fatalf("audit = %v, want %v", acts, want)
	}
	es, _, err := d.ListAudit(ctx, AuditFilter{Target: "approval_request:" + requestTarget(r.ID), Limit: 1})
	if err != nil || len(es) != 1 || es[0].Action != "approval.approved" || es[0].Actor != "checker2" ||
		!strings.Contains(es[0].Details, `"approvals":2`) || !strings.Contains(es[0].Details, `"required":2`) {
		t.Fatalf("the deciding vote's entry: %+v, %v", es, err)
	}
	verifyAudit(t, d)
}

// TestVotesOfDisabledOrDemotedApproversDoNotCount: an approval counts only
// while its approver may still approve. A request needing two checkers, whose
// first checker was disabled or lost the role after voting, is not approved
// by a second checker's vote: it waits at one of two, says so in the vote's
// audit entry, and a third checker completes it. Single and bulk decisions
// alike.
func TestVotesOfDisabledOrDemotedApproversDoNotCount(t *testing.T) {
	for _, how := range []string{"disabled", "demoted"} {
		for _, bulk := range []bool{false, true} {
			name := how + "/single"
			if bulk {
				name = how + "/bulk"
			}
			t.Run(name, func(t *testing.T) {
				d, _ := newTestDB(t)
				a, h := newTestApprovals(t, d)
				ctx := context.Background()
				admin := mustCreateUser(t, d, "admin", RoleAdmin)
				maker := mustCreateUser(t, d, "maker", RoleMaker)
				c1 := mustCreateUser(t, d, "checker1", RoleChecker)
				c2 := mustCreateUser(t, d, "checker2", RoleChecker)
				c3 := mustCreateUser(t, d, "checker3", RoleChecker)
				r := mustPropose(t, a, maker, "big", 100000001) // band: 2 checkers
				if r.RequiredApprovals != 2 {
					t.Fatalf("required = %d", r.RequiredApprovals)
				}
				if _, err := a.Approve(ctx, c1, r.ID); err != nil {
					t.Fatal(err)
				}
				var err error
				if how == "disabled" {
					_, err = d.SetDisabled(ctx, admin.Actor(), c1.ID, true)
				} else {
					_, err = d.SetRoles(ctx, admin.Actor(), c1.ID, []Role{RoleMaker})
				}
				if err != nil {
					t.Fatal(err)
				}
				approve := func(u User) (ApprovalRequest, error) {
					if !bulk {
						return a.Approve(ctx, u, r.ID)
					}
					res, err := a.ApproveMany(ctx, u, []int64{r.ID})
					if err != nil {
						return ApprovalRequest{}, err
					}
					return res[0].Request, res[0].Err
				}

				got, err := approve(c2)
				if err != nil || got.State != ApprovalPending || got.Approvals != 1 {
					t.Fatalf("checker2 after checker1 was %s: %+v, %v", how, got, err)
				}
				if n := h.count("approved", r.ID); n != 0 {
					t.Fatalf("OnApproved ran %d time(s) on one standing vote of two", n)
				}
				if stored, _ := mustGet(t, a, r.ID); stored.State != ApprovalPending || stored.Approvals != 1 {
					t.Fatalf("stored: %s with %d approvals, want pending with 1", stored.State, stored.Approvals)
				}
				e := lastAudit(t, d)
				if e.Action != "approval.approved_by" || e.Actor != "checker2" || !strings.Contains(e.Details, `"approvals":1`) ||
					!strings.Contains(e.Details, `"required":2`) || !strings.Contains(e.Details, `"not_counted":1`) {
					t.Fatalf("checker2's vote on the record: %+v", e)
				}

				got, err = approve(c3)
				if err != nil || got.State != ApprovalApproved || got.Approvals != 2 {
					t.Fatalf("checker3: %+v, %v", got, err)
				}
				if n := h.count("approved", r.ID); n != 1 {
					t.Fatalf("OnApproved ran %d times", n)
				}
				es, _, err := d.ListAudit(ctx, AuditFilter{Target: "approval_request:" + requestTarget(r.ID), Limit: 1})
				if err != nil || len(es) != 1 || es[0].Action != "approval.approved" || !strings.Contains(es[0].Details, `"approvals":2`) ||
					!strings.Contains(es[0].Details, `"not_counted":1`) {
					t.Fatalf("the deciding vote's entry: %+v, %v", es, err)
				}
				verifyAudit(t, d)
			})
		}
	}
}

func TestRejectNeedsReason(t *testing.T) {
	d, _ := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	c1 := mustCreateUser(t, d, "checker1", RoleChecker)
	r := mustPropose(t, a, maker, "p1", 1000)

	for _, reason := range []string{"", "   ", strings.Repeat("x", 501)} {
		_, err := a.Reject(ctx, c1, r.ID, reason)
		if ErrorCode(err) != EINVALID || FieldErrors(err)["reason"] == "" {
			t.Fatalf("reason %q: %v", reason, err)
		}
	}
	got, err := a.Reject(ctx, c1, r.ID, "  Wrong beneficiary account. ")
	if err != nil || got.State != ApprovalRejected || got.Reason != "Wrong beneficiary account." || got.DecidedAt.IsZero() {
		t.Fatalf("reject: %+v, %v", got, err)
	}
	if h.count("rejected", r.ID) != 1 || h.count("approved", r.ID) != 0 {
		t.Fatalf("hooks: %+v", h.calls)
	}
	_, decs := mustGet(t, a, r.ID)
	if len(decs) != 1 || decs[0].Decision != "reject" || decs[0].Reason != "Wrong beneficiary account." {
		t.Fatalf("decisions = %+v", decs)
	}
	e := lastAudit(t, d)
	if e.Action != "approval.rejected" || e.Actor != "checker1" || !strings.Contains(e.Details, "Wrong beneficiary") {
		t.Fatalf("audit: %+v", e)
	}
	_, err = a.Approve(ctx, c1, r.ID)
	wantCode(t, err, ECONFLICT)
	// A decided request frees its target for a new one.
	mustPropose(t, a, maker, "p1", 1000)
	verifyAudit(t, d)
}

func TestWithdrawOnlyByMaker(t *testing.T) {
	d, _ := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	c1 := mustCreateUser(t, d, "checker1", RoleChecker, RoleMaker)
	r := mustPropose(t, a, maker, "p1", 1000)

	_, err := a.Withdraw(ctx, c1, r.ID)
	wantCode(t, err, EFORBIDDEN)
	if e := lastAudit(t, d); e.Action != "approval.refused" || !strings.Contains(e.Details, `"attempt":"withdraw"`) {
		t.Fatalf("refusal audit: %+v", e)
	}
	got, err := a.Withdraw(ctx, maker, r.ID)
	if err != nil || got.State != ApprovalCancelled {
		t.Fatalf("withdraw: %+v, %v", got, err)
	}
	if h.count("cancelled", r.ID) != 1 {
		t.Fatalf("OnCancelled: %+v", h.calls)
	}
	if e := lastAudit(t, d); e.Action != "approval.cancelled" || e.Actor != "maker" {
		t.Fatalf("audit: %+v", e)
	}
	_, err = a.Withdraw(ctx, maker, r.ID)
	wantCode(t, err, ECONFLICT)
	_, err = a.Approve(ctx, c1, r.ID)
	wantCode(t, err, ECONFLICT)
	verifyAudit(t, d)
}

func TestApprovalExpiry(t *testing.T) {
	d, clk := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	c1 := mustCreateUser(t, d, "checker1", RoleChecker)
	r1 := mustPropose(t, a, maker, "p1", 1000)
	r2 := mustPropose(t, a, maker, "p2", 1000)
	clk.Advance(time.Hour)
	r3 := mustPropose(t, a, maker, "p3", 1000)
	clk.Advance(72*time.Hour - 30*time.Minute) // r1, r2 due; r3 has 30 minutes left

	if items, _, _ := a.Queue(ctx, c1, QueueFilter{}); len(items) != 1 || items[0].ID != r3.ID {
		t.Fatalf("queue shows expired requests: %+v", items)
	}
	if n, _ := a.CountWaiting(ctx, c1); n != 1 {
		t.Fatalf("waiting = %d", n)
	}
	_, err := a.Approve(ctx, c1, r1.ID)
	wantCode(t, err, ECONFLICT)
	if !strings.Contains(ErrorMessage(err), "expired") {
		t.Fatalf("message = %q", ErrorMessage(err))
	}
	got, decs := mustGet(t, a, r1.ID)
	if got.State != ApprovalExpired || len(decs) != 0 || h.count("expired", r1.ID) != 1 || h.count("approved", r1.ID) != 0 {
		t.Fatalf("r1 = %+v, %v, hooks %+v", got, decs, h.calls)
	}
	if e := lastAudit(t, d); e.Action != "approval.expired" || e.Actor != "system" || e.TargetID != requestTarget(r1.ID) {
		t.Fatalf("audit: %+v", e)
	}

	n, err := a.ExpireDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ExpireDue = %d, %v; want 1 (r2)", n, err)
	}
	if got, _ := mustGet(t, a, r2.ID); got.State != ApprovalExpired || h.count("expired", r2.ID) != 1 {
		t.Fatalf("r2 = %+v", got)
	}
	if n, err := a.ExpireDue(ctx); n != 0 || err != nil {
		t.Fatalf("second sweep = %d, %v", n, err)
	}
	if got, err := a.Approve(ctx, c1, r3.ID); err != nil || got.State != ApprovalApproved {
		t.Fatalf("r3 within its time: %+v, %v", got, err)
	}
	// Expired frees the target too.
	mustPropose(t, a, maker, "p1", 1000)
	verifyAudit(t, d)
}

func TestRuleChange(t *testing.T) {
	d, _ := newTestDB(t)
	a, _ := newTestApprovals(t, d)
	ctx := context.Background()
	a1 := mustCreateUser(t, d, "admin1", RoleAdmin)
	checker := mustCreateUser(t, d, "checker", RoleChecker, RoleMaker)

	band := func(lo int64, hi *int64, n int, role Role) RuleBand {
		return RuleBand{MinPaise: lo, MaxPaise: hi, Approvals: n, Role: role}
	}
	// A setting only admins propose (as the step-up band is): checkers may
	// not approve changes to what governs them.
	a.RegisterKind(Kind{Name: "test_setting", Label: "Test setting", MakerRoles: []Role{RoleAdmin}})
	bad := []struct {
		c     RuleChange
		field string
	}{
		{RuleChange{Kind: "nope", Bands: []RuleBand{band(0, nil, 1, RoleChecker)}}, "kind"},
		{RuleChange{Kind: "payout"}, "bands"},
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(1, nil, 1, RoleChecker)}}, "bands.0.min_paise"},
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(0, paise(100), 1, RoleChecker), band(102, nil, 1, RoleChecker)}}, "bands.1.min_paise"}, // gap
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(0, paise(100), 1, RoleChecker), band(100, nil, 1, RoleChecker)}}, "bands.1.min_paise"}, // overlap
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(0, paise(100), 1, RoleChecker)}}, "bands.0.max_paise"},                                 // not open-ended
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(0, nil, 1, RoleChecker), band(1, nil, 1, RoleChecker)}}, "bands.0.max_paise"},
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(0, nil, 0, RoleChecker)}}, "bands.0.approvals"},
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(0, nil, 6, RoleChecker)}}, "bands.0.approvals"},
		{RuleChange{Kind: "payout", Bands: []RuleBand{band(0, nil, 1, RoleMaker)}}, "bands.0.role"},
		{RuleChange{Kind: RuleChangeKind, Bands: []RuleBand{band(0, nil, 1, RoleChecker)}}, "bands.0.role"},
		{RuleChange{Kind: "test_setting", Bands: []RuleBand{band(0, nil, 1, RoleChecker)}}, "bands.0.role"},
	}
	for _, tc := range bad {
		_, _, err := a.ProposeRuleChange(ctx, a1, tc.c)
		if ErrorCode(err) != EINVALID || FieldErrors(err)[tc.field] == "" {
			t.Errorf("%+v: %v, want a message on %s", tc.c, err, tc.field)
		}
	}

	change := RuleChange{Kind: "payout", Bands: []RuleBand{
		band(0, paise(5000000), 1, RoleChecker),
		band(5000001, paise(100000000), 2, RoleChecker),
		band(100000001, nil, 3, RoleChecker),
	}}
	_, _, err := a.ProposeRuleChange(ctx, checker, change)
	wantCode(t, err, EFORBIDDEN)
	if e := lastAudit(t, d); e.Action != "approval.refused" || !strings.Contains(e.Details, "change_rules") {
		t.Fatalf("refusal audit: %+v", e)
	}

	// A request made before the change keeps the rule it was made under.
	early := mustPropose(t, a, checker, "early", 6000000)

	// One admin: applied at once.
	req, applied, err := a.ProposeRuleChange(ctx, a1, change)
	if err != nil || !applied || req.ID != 0 {
		t.Fatalf("single admin: %+v, %v, %v", req, applied, err)
	}
	rules, err := a.Rules(ctx, "payout")
	if err != nil || len(rules) != 3 || rules[1].Approvals != 2 || *rules[1].MaxPaise != 100000000 || rules[2].MaxPaise != nil {
		t.Fatalf("rules = %+v, %v", rules, err)
	}
	if e := lastAudit(t, d); e.Action != "approval_rule.changed" || e.Actor != "admin1" || e.TargetID != "payout" {
		t.Fatalf("audit: %+v", e)
	}
	if got, _ := mustGet(t, a, early.ID); got.RequiredApprovals != 1 {
		t.Fatalf("snapshot moved: %+v", got)
	}
	if r := mustPropose(t, a, checker, "later", 6000000); r.RequiredApprovals != 2 {
		t.Fatalf("new rule not used: %+v", r)
	}
	if _, _, err := a.ProposeRuleChange(ctx, a1, change); ErrorCode(err) != EINVALID {
		t.Fatalf("no-op change: %v", err)
	}

	// Two admins: the change is a request another admin must approve.
	a2 := mustCreateUser(t, d, "admin2", RoleAdmin)
	change2 := RuleChange{Kind: "payout", Bands: []RuleBand{band(0, nil, 1, RoleAdmin)}}
	req, applied, err = a.ProposeRuleChange(ctx, a1, change2)
	if err != nil || applied || req.Kind != RuleChangeKind || req.TargetID != "payout" || req.RequiredRole != RoleAdmin || req.State != ApprovalPending {
		t.Fatalf("two admins: %+v, %v, %v", req, applied, err)
	}
	if rules, _ := a.Rules(ctx, "payout"); len(rules) != 3 {
		t.Fatalf("applied before approval: %+v", rules)
	}
	_, _, err = a.ProposeRuleChange(ctx, a2, RuleChange{Kind: "payout", Bands: []RuleBand{band(0, nil, 2, RoleChecker)}})
	wantCode(t, err, ECONFLICT) // one pending change per kind
	_, err = a.Approve(ctx, a1, req.ID)
	wantCode(t, err, EFORBIDDEN)
	_, err = a.Approve(ctx, checker, req.ID)
	wantCode(t, err, EFORBIDDEN)
	if items, _, _ := a.Queue(ctx, a2, QueueFilter{}); len(items) != 1 || items[0].ID != req.ID {
		t.Fatalf("admin2 queue = %+v", items)
	}
	got, err := a.Approve(ctx, a2, req.ID)
	if err != nil || got.State != ApprovalApproved {
		t.Fatalf("approve change: %+v, %v", got, err)
	}
	rules, _ = a.Rules(ctx, "payout")
	if len(rules) != 1 || rules[0].Role != RoleAdmin || rules[0].MaxPaise != nil {
		t.Fatalf("rules after approval = %+v", rules)
	}
	e := lastAudit(t, d)
	if e.Action != "approval_rule.changed" || e.Actor != "admin1" || !strings.Contains(e.Details, fmt.Sprintf(`"request_id":%d`, req.ID)) {
		t.Fatalf("audit: %+v", e)
	}
	verifyAudit(t, d)
}

func TestApprovalQueue(t *testing.T) {
	d, clk := newTestDB(t)
	a, _ := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	c1 := mustCreateUser(t, d, "checker1", RoleChecker, RoleMaker)
	c2 := mustCreateUser(t, d, "checker2", RoleChecker)
	admin := mustCreateUser(t, d, "admin", RoleAdmin)

	// 25 one-checker payouts; pairs share a creation time and amounts repeat,
	// so that the keyset must break ties by id.
	start := clk.Now()
	for i := range 25 {
		if i%2 == 0 {
			clk.Advance(time.Minute)
		}
		mustPropose(t, a, maker, fmt.Sprint("p", i), int64(i%5+1)*100000)
	}
	own := mustPropose(t, a, c1, "own", 1000)               // c1's own
	twice := mustPropose(t, a, maker, "twice", 200000000)   // needs two; c1 approves it
	if _, err := a.Approve(ctx, c1, twice.ID); err != nil { // now waiting on c2 only
		t.Fatal(err)
	}
	// A kind whose rule asks for an admin (one admin, so applied at once).
	if _, applied, err := a.ProposeRuleChange(ctx, admin, RuleChange{Kind: "vendor",
		Bands: []RuleBand{{MinPaise: 0, Approvals: 1, Role: RoleAdmin}}}); err != nil || !applied {
		t.Fatal(applied, err)
	}
	vendor, err := a.Propose(ctx, maker, Proposal{Kind: "vendor", TargetID: "v1", Summary: "New vendor"})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		user User
		want int
	}{{c1, 25}, {c2, 27}, {admin, 1}, {maker, 0}} {
		if n, err := a.CountWaiting(ctx, tc.user); n != tc.want || err != nil {
			t.Errorf("%s waiting = %d, %v; want %d", tc.user.Username, n, err, tc.want)
		}
	}

	for _, sort := range []QueueSort{SortNewest, SortOldest, SortAmount} {
		var all []QueueItem
		var after int64
		for page := 0; ; page++ {
			items, more, err := a.Queue(ctx, c1, QueueFilter{Sort: sort, After: after, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if wantMore := page < 2; more != wantMore || (page < 2 && len(items) != 10) {
				t.Fatalf("%s page %d: %d items, more=%v", sort, page, len(items), more)
			}
			all = append(all, items...)
			if !more {
				break
			}
			after = items[len(items)-1].ID
		}
		seen := map[int64]bool{}
		for i, it := range all {
			if seen[it.ID] || it.ID == own.ID || it.ID == twice.ID || it.ID == vendor.ID || it.Remaining != 1 {
				t.Fatalf("%s: item %+v (duplicate or excluded)", sort, it)
			}
			seen[it.ID] = true
			if i == 0 {
				continue
			}
			p := all[i-1]
			var ok bool
			switch sort {
			case SortNewest:
				ok = p.CreatedAt.After(it.CreatedAt) || p.CreatedAt.Equal(it.CreatedAt) && p.ID > it.ID
			case SortOldest:
				ok = p.CreatedAt.Before(it.CreatedAt) || p.CreatedAt.Equal(it.CreatedAt) && p.ID < it.ID
			case SortAmount:
				ok = *p.AmountPaise > *it.AmountPaise || *p.AmountPaise == *it.AmountPaise && p.ID > it.ID
			}
			if !ok {
				t.Fatalf("%s: out of order at %d: %+v then %+v", sort, i, p.ApprovalRequest, it.ApprovalRequest)
			}
		}
		if len(seen) != 25 {
			t.Fatalf("%s: %d distinct items, want 25", sort, len(seen))
		}
	}

	// c2 sees what c1 cannot, with what is still missing.
	items, _, _ := a.Queue(ctx, c2, QueueFilter{MakerID: c1.ID})
	if len(items) != 1 || items[0].ID != own.ID || items[0].Maker != "checker1" {
		t.Fatalf("c2 by maker = %+v", items)
	}
	items, _, _ = a.Queue(ctx, c2, QueueFilter{MinPaise: paise(100000001)})
	if len(items) != 1 || items[0].ID != twice.ID || items[0].Remaining != 1 || items[0].Approvals != 1 {
		t.Fatalf("c2 big = %+v", items)
	}
	items, _, _ = a.Queue(ctx, admin, QueueFilter{Kind: "vendor"})
	if len(items) != 1 || items[0].ID != vendor.ID {
		t.Fatalf("admin vendor = %+v", items)
	}
	// Filters: amount band, kind, creation window.
	items, _, _ = a.Queue(ctx, c1, QueueFilter{MinPaise: paise(200000), MaxPaise: paise(300000)})
	if len(items) != 10 {
		t.Fatalf("amount filter: %d items", len(items))
	}
	if items, _, _ = a.Queue(ctx, c1, QueueFilter{Kind: "vendor"}); len(items) != 0 {
		t.Fatalf("kind filter: %+v", items)
	}
	items, _, _ = a.Queue(ctx, c1, QueueFilter{CreatedAfter: start.Add(2 * time.Minute), CreatedBefore: start.Add(4 * time.Minute)})
	if len(items) != 4 {
		t.Fatalf("time filter: %d items", len(items))
	}
	verifyAudit(t, d)
}

func TestApproveRace(t *testing.T) {
	d, _ := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checkers := []User{mustCreateUser(t, d, "checker1", RoleChecker), mustCreateUser(t, d, "checker2", RoleChecker)}
	for trial := range 100 {
		r := mustPropose(t, a, maker, fmt.Sprint("race", trial), 1000)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, c := range checkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = a.Approve(ctx, c, r.ID)
			}()
		}
		close(start)
		wg.Wait()
		won, lost := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case ErrorCode(err) == ECONFLICT && strings.Contains(ErrorMessage(err), "already approved"):
				lost++
			default:
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
		if won != 1 || lost != 1 || h.count("approved", r.ID) != 1 {
			t.Fatalf("trial %d: won %d, lost %d, OnApproved %d", trial, won, lost, h.count("approved", r.ID))
		}
		if _, decs := mustGet(t, a, r.ID); len(decs) != 1 {
			t.Fatalf("trial %d: %d decisions", trial, len(decs))
		}
	}
	verifyAudit(t, d)
}

func TestFailingOnApprovedRollsBack(t *testing.T) {
	d, _ := newTestDB(t)
	a, h := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	c1 := mustCreateUser(t, d, "checker1", RoleChecker)
	r := mustPropose(t, a, maker, "p1", 1000)

	boom := errors.New("dispatch queue unavailable")
	h.setFail(boom)
	before := auditCount(t, d)
	if _, err := a.Approve(ctx, c1, r.ID); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	got, decs := mustGet(t, a, r.ID)
	if got.State != ApprovalPending || got.Approvals != 0 || !got.DecidedAt.IsZero() || len(decs) != 0 {
		t.Fatalf("after failed hook: %+v, %v", got, decs)
	}
	if n := auditCount(t, d); n != before {
		t.Fatalf("audit rows %d → %d after rollback", before, n)
	}

	h.setFail(nil)
	if got, err := a.Approve(ctx, c1, r.ID); err != nil || got.State != ApprovalApproved || h.count("approved", r.ID) != 1 {
		t.Fatalf("retry: %+v, %v", got, err)
	}
	verifyAudit(t, d)
}

func TestRegisterKindPanics(t *testing.T) {
	d, _ := newTestDB(t)
	a := NewApprovals(d, 0)
	if a.ExpireAfter != DefaultExpireAfter {
		t.Fatalf("ExpireAfter = %v", a.ExpireAfter)
	}
	for _, k := range []Kind{{Name: ""}, {Name: "Bad Name"}, {Name: RuleChangeKind}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterKind(%q) did not panic", k.Name)
				}
			}()
			a.RegisterKind(k)
		}()
	}
	if ks := a.Kinds(); len(ks) != 1 || ks[0].Name != RuleChangeKind || !slices.Equal(ks[0].MakerRoles, []Role{RoleAdmin}) {
		t.Fatalf("kinds = %+v", ks)
	}
}

// A request that ends leaves its waiting rows and words to housekeeping.
// Until they go, no list, search, count or "all matching" selection
// returns it, whatever order or filter; DropEnded then drops the ended
// requests' rows and words and no others, a chunk at a time.
func TestEndedRequestsLeaveLater(t *testing.T) {
	d, _ := newTestDB(t)
	a, _ := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	mustCreateUser(t, d, "checker2", RoleChecker)
	var reqs []ApprovalRequest
	for i := range 4 {
		reqs = append(reqs, mustPropose(t, a, maker, fmt.Sprintf("zebra-%d", i), 1000))
	}
	if _, err := a.Approve(ctx, checker, reqs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reject(ctx, checker, reqs[1].ID, "duplicate"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Withdraw(ctx, maker, reqs[2].ID); err != nil {
		t.Fatal(err)
	}
	// Enough more ended requests, in one bulk decision, to take three chunks.
	extra := 2*endedChunk + 7
	var bulk []int64
	for i := range extra {
		bulk = append(bulk, mustPropose(t, a, maker, fmt.Sprintf("yak-%d", i), 2000).ID)
	}
	if res, err := a.RejectMany(ctx, checker, bulk, "not this month"); err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	count := func(table string, id int64) int {
		t.Helper()
		var n int
		if err := d.read.QueryRow(`SELECT count(*) FROM `+table+` WHERE request_id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	pending := []int64{reqs[3].ID}
	lists := func(when string) {
		t.Helper()
		for _, f := range []QueueFilter{{}, {Query: "zebra"}, {Sort: SortOldest}, {Sort: SortAmount}, {Kind: "payout"},
			{MinPaise: paise(1000), MaxPaise: paise(2000)}, {Query: "pay", Sort: SortAmount}} {
			items, _, err := a.Queue(ctx, checker, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, it := range items {
				ids = append(ids, it.ID)
			}
			if !slices.Equal(ids, pending) {
				t.Errorf("%s, queue %+v = %v, want only %v", when, f, ids, pending)
			}
			all, err := a.WaitingIDs(ctx, checker, f, MaxBulkDecisions)
			if err != nil || !slices.Equal(all, pending) {
				t.Errorf("%s, all matching %+v = %v, %v; want %v", when, f, all, err, pending)
			}
		}
		if n, err := a.CountWaiting(ctx, checker); n != 1 || err != nil {
			t.Errorf("%s, count waiting = %d, %v; want 1", when, n, err)
		}
	}
	lists("before housekeeping")
	if count("approval_waiting", reqs[0].ID) == 0 || count("approval_words", bulk[0]) == 0 {
		t.Fatal("the decision dropped the rows itself; this test no longer checks the deferred path")
	}

	n, err := a.DropEnded(ctx)
	if err != nil || n != 3+extra {
		t.Fatalf("DropEnded = %d, %v; want %d", n, err, 3+extra)
	}
	for _, id := range append([]int64{reqs[0].ID, reqs[1].ID, reqs[2].ID}, bulk...) {
		if w, r := count("approval_words", id), count("approval_waiting", id); w+r != 0 {
			t.Errorf("request %d keeps %d words and %d waiting rows", id, w, r)
		}
	}
	if count("approval_words", reqs[3].ID) == 0 || count("approval_waiting", reqs[3].ID) != 2 {
		t.Error("the pending request lost its words or its waiting rows")
	}
	lists("after housekeeping")
	if n, err := a.DropEnded(ctx); n != 0 || err != nil {
		t.Fatalf("second round = %d, %v", n, err)
	}
}

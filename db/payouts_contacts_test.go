package db

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/registry"
	"paydesk/providers/sandboxes"
)

type payContactEnv struct {
	d                     *DB
	a                     *Approvals
	p                     *Payouts
	c                     *Contacts
	admin, maker, checker User
}

func newPayContactEnv(t *testing.T) *payContactEnv {
	t.Helper()
	d, _ := newTestDB(t)
	p, a := newTestPayouts(t, d)
	return &payContactEnv{d: d, a: a, p: p, c: NewContacts(d, a),
		admin:   mustCreateUser(t, d, "admin", RoleAdmin),
		maker:   mustCreateUser(t, d, "maker", RoleMaker),
		checker: mustCreateUser(t, d, "checker", RoleChecker)}
}

// approvedVendor makes a vendor whose bank details a checker approved.
func (e *payContactEnv) approvedVendor(t *testing.T, in ContactInput) Contact {
	t.Helper()
	ctx := context.Background()
	ct, req, err := e.c.Create(ctx, e.maker, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Approve(ctx, e.checker, req.ID); err != nil {
		t.Fatal(err)
	}
	ct, _ = e.c.Get(ctx, ct.ID)
	return ct
}

func contactPayout(contactID string) PayoutInput {
	return PayoutInput{ContactID: contactID, Amount: "12,500.00", Rail: "NEFT", Source: SourceKotakCMS, Purpose: "Invoice 7"}
}

// TestPayoutToContactUsesApprovedDetailsOnly: a payout to a contact goes to
// its approved details, never to details typed with it, and is held while a
// change waits for approval.
func TestPayoutToContactUsesApprovedDetailsOnly(t *testing.T) {
	e := newPayContactEnv(t)
	ctx := context.Background()
	ct := e.approvedVendor(t, goodContact())

	po, _, err := e.p.Propose(ctx, e.maker, contactPayout(ct.ID))
	if err != nil {
		t.Fatal(err)
	}
	if po.AccountNo != "50100234567890" || po.IFSC != "HDFC0001234" || po.ContactID != ct.ID || po.BeneficiaryName != ct.Name() {
		t.Fatalf("payout %+v", po)
	}

	// A crafted proposal naming a contact and other bank details is refused
	// and audited.
	crafted := contactPayout(ct.ID)
	crafted.AccountNo, crafted.IFSC = "99999999999", "ICIC0000001"
	_, _, err = e.p.Propose(ctx, e.maker, crafted)
	wantCode(t, err, EFORBIDDEN)
	if la := lastAudit(t, e.d); la.Action != "approval.refused" || !strings.Contains(string(la.Details), "approved bank details") {
		t.Fatalf("last audit %s %s", la.Action, la.Details)
	}

	// The maker changes the IFSC: payouts are held until a checker approves.
	in := goodContact()
	in.IFSC = "ICIC0004321"
	_, req, err := e.c.Update(ctx, e.maker, ct.ID, in)
	if err != nil || req == nil {
		t.Fatalf("%v %v", err, req)
	}
	_, _, err = e.p.Propose(ctx, e.maker, contactPayout(ct.ID))
	if ErrorCode(err) != EINVALID || !strings.Contains(FieldErrors(err)["contact"], "held until a checker approves") {
		t.Fatalf("held: %v %v", err, FieldErrors(err))
	}
	// The payout proposed before the change cannot be approved meanwhile.
	_, err = e.a.Approve(ctx, e.checker, po.ApprovalRequestID)
	wantCode(t, err, ECONFLICT)
	if po, _, _ := e.p.Get(ctx, po.ID); po.State != providers.StatePendingApproval {
		t.Fatalf("state %s", po.State)
	}
	// Approved: new payouts go to the new IFSC; the old payout no longer
	// matches and is refused at approval.
	if _, err := e.a.Approve(ctx, e.checker, req.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.a.Approve(ctx, e.checker, po.ApprovalRequestID)
	if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "changed after this payout was proposed") {
		t.Fatalf("approve stale: %v", err)
	}
	po2, _, err := e.p.Propose(ctx, e.maker, contactPayout(ct.ID))
	if err != nil || po2.IFSC != "ICIC0004321" {
		t.Fatalf("%v %+v", err, po2)
	}
	if _, err := e.a.Approve(ctx, e.checker, po2.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}

	// A change proposed keeping the old details usable: payouts go on, to
	// the old (approved) details.
	in.IFSC, in.AllowOldWhilePending = "SBIN0001234", true
	if _, _, err := e.c.Update(ctx, e.maker, ct.ID, in); err != nil {
		t.Fatal(err)
	}
	po3, _, err := e.p.Propose(ctx, e.maker, contactPayout(ct.ID))
	if err != nil || po3.IFSC != "ICIC0004321" {
		t.Fatalf("allow old: %v %+v", err, po3)
	}

	// A contact without approved details, and one that does not exist.
	cu := goodContact()
	cu.Kind, cu.AccountNo, cu.IFSC, cu.CompanyName = ContactCustomer, "", "", "Walk In Buyer"
	c2, _, err := e.c.Create(ctx, e.admin, cu)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.p.Propose(ctx, e.maker, contactPayout(c2.ID))
	if !strings.Contains(FieldErrors(err)["contact"], "no approved bank details") {
		t.Fatalf("%v", err)
	}
	_, _, err = e.p.Propose(ctx, e.maker, contactPayout("CTNOSUCHONE"))
	if FieldErrors(err)["contact"] != "No such contact." {
		t.Fatalf("%v", err)
	}

	// A vendor's request to be paid is paid by PayMate at the details it
	// holds: refused while the contact is not known to hold the approved
	// ones there (never synced here).
	now := e.d.nowMS()
	res, err := e.d.write.ExecContext(ctx, `INSERT INTO vendor_requests (provider, order_id, contact_id, vendor_name, amount_paise,
		state, created_at, updated_at) VALUES ('paymate', 'VREQ1', ?, ?, 500000, 'open', ?, ?)`, ct.ID, ct.Name(), now, now)
	if err != nil {
		t.Fatal(err)
	}
	vrID, _ := res.LastInsertId()
	_, _, err = e.p.ProposeFromVendorRequest(ctx, e.maker, vrID)
	if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "PayMate would pay") {
		t.Fatalf("vendor request of an unsynced contact: %v", err)
	}
	verifyAudit(t, e.d)
}

// recordingPayouts remembers the ContactRef of every payout booked.
type recordingPayouts struct {
	providers.Payouts
	mu   sync.Mutex
	refs map[string]string
}

func (r *recordingPayouts) InitiatePayout(ctx context.Context, p providers.Payout) (providers.PayoutStatus, error) {
	r.mu.Lock()
	r.refs[p.ID] = p.ContactRef
	r.mu.Unlock()
	return r.Payouts.InitiatePayout(ctx, p)
}

// TestPayoutToSyncedContactAndVendorRequest runs against the PayMate
// sandbox: a synced contact is paid by its ContactXpressID, and a vendor's
// request to be paid is settled by approving the vendor's own order, once.
func TestPayoutToSyncedContactAndVendorRequest(t *testing.T) {
	e := newPayContactEnv(t)
	e.d.Now = time.Now
	ctx := context.Background()
	set := sandboxes.New(sandboxes.Options{})
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(srv.Close)
	reg, err := registry.Load(registry.Options{SandboxRoot: srv.URL, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := reg.Get(SourcePayMate)
	rec := &recordingPayouts{Payouts: pm.(providers.Payouts), refs: map[string]string{}}
	ds, err := NewDispatcher(e.d, e.p, map[string]providers.Payouts{SourcePayMate: rec}, fastDispatch())
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Stop(context.Background()) })

	ct := e.approvedVendor(t, goodContact())
	if _, err := NewContactSync(e.d, e.c, pm.(providers.Contacts)).SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ct, _ = e.c.Get(ctx, ct.ID)
	if ct.SyncState != SyncSynced || ct.ProviderID == "" {
		t.Fatalf("not synced: %+v", ct)
	}

	in := contactPayout(ct.ID)
	in.Source = SourcePayMate
	po, _, err := e.p.Propose(ctx, e.maker, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Approve(ctx, e.checker, po.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	waitFinal(t, e.p, []string{po.ID}, 30*time.Second)
	po, _, _ = e.p.Get(ctx, po.ID)
	rec.mu.Lock()
	ref := rec.refs[po.ID]
	rec.mu.Unlock()
	if po.State != providers.StateProcessed || ref != ct.ProviderID {
		dumpPayout(t, e.p, po.ID)
		t.Fatalf("payout %s, booked with ContactRef %q (want %q)", po.State, ref, ct.ProviderID)
	}

	// The vendor raises a request at PayMate; Paydesk holds it as open.
	body, _ := json.Marshal(map[string]any{"contact_xpress_id": ct.ProviderID, "order_id": "VINV2026001",
		"amount_paise": 2_34_567_89, "remarks": "Invoice 2026/001"})
	resp, err := http.Post(srv.URL+"/_sandbox/paymate/vendor-requests", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("vendor request: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	now := e.d.nowMS()
	res, err := e.d.write.ExecContext(ctx, `INSERT INTO vendor_requests (provider, order_id, contact_id, vendor_name, amount_paise,
		purpose, state, created_at, updated_at) VALUES ('paymate', 'VINV2026001', ?, ?, 23456789, 'Invoice 2026/001', 'open', ?, ?)`,
		ct.ID, ct.Name(), now, now)
	if err != nil {
		t.Fatal(err)
	}
	vrID, _ := res.LastInsertId()

	vp, _, err := e.p.ProposeFromVendorRequest(ctx, e.maker, vrID)
	if err != nil {
		t.Fatal(err)
	}
	if vp.OrderID() != "VINV2026001" || vp.AmountPaise != 2_34_567_89 || vp.Rail != providers.RailRTGS || vp.ContactID != ct.ID {
		t.Fatalf("vendor payout %+v", vp)
	}
	// Proposed once only.
	_, _, err = e.p.ProposeFromVendorRequest(ctx, e.maker, vrID)
	wantCode(t, err, ECONFLICT)
	// A rejection opens the request again; a new proposal is approved.
	if _, err := e.a.Reject(ctx, e.checker, vp.ApprovalRequestID, "wrong cost centre"); err != nil {
		t.Fatal(err)
	}
	if st := vendorRequestState(t, e.d, vrID); st != "open" {
		t.Fatalf("after rejection: %s", st)
	}
	vp, _, err = e.p.ProposeFromVendorRequest(ctx, e.maker, vrID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Approve(ctx, e.checker, vp.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	waitFinal(t, e.p, []string{vp.ID}, 30*time.Second)
	vp, _, _ = e.p.Get(ctx, vp.ID)
	if vp.State != providers.StateProcessed || vp.UTR == "" {
		t.Fatalf("vendor payout %+v", vp)
	}
	if n := set.PayMate.Ledger().Executions("VINV2026001"); n != 1 {
		t.Fatalf("vendor order executed %d times", n)
	}
	if _, booked := rec.refs[vp.ID]; booked {
		t.Fatal("a vendor request payout was booked as a new payment")
	}
	if st := vendorRequestState(t, e.d, vrID); st != "paid" {
		t.Fatalf("vendor request %s", st)
	}
	verifyAudit(t, e.d)
}

func vendorRequestState(t *testing.T, d *DB, id int64) string {
	t.Helper()
	var st string
	if err := d.read.QueryRowContext(context.Background(), `SELECT state FROM vendor_requests WHERE id = ?`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func dumpPayout(t *testing.T, p *Payouts, id string) {
	po, evs, _ := p.Get(context.Background(), id)
	t.Logf("%+v", po)
	for _, e := range evs {
		t.Logf("  %s %s %s %s", e.Kind, e.State, e.ProviderCode, e.Message)
	}
}

package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/kotakcms"
	"paydesk/providers/registry"
	"paydesk/providers/sandboxes"
)

// bankEnv is Paydesk over the real sandboxes, served over HTTP and wired by
// the registry as the app does.
type bankEnv struct {
	d       *DB
	clk     *clock
	a       *Approvals
	p       *Payouts
	bs      *BankSide
	set     *sandboxes.Set
	srv     *httptest.Server
	provs   map[string]providers.Payouts
	checker User
	maker   User
}

func newBankEnv(t *testing.T, wrap func(source string, p providers.Payouts) providers.Payouts) *bankEnv {
	t.Helper()
	d, clk := newTestDB(t)
	p, a := newTestPayouts(t, d)
	e := &bankEnv{d: d, clk: clk, a: a, p: p}
	e.set = sandboxes.New(sandboxes.Options{})
	e.srv = httptest.NewServer(e.set.Handler())
	t.Cleanup(e.srv.Close)
	reg, err := registry.Load(registry.Options{SandboxRoot: e.srv.URL, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	e.provs = map[string]providers.Payouts{}
	for _, name := range []string{SourceKotakCMS, SourcePayMate} {
		pp, ok := reg.Payouts(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		if wrap != nil {
			pp = wrap(name, pp)
		}
		e.provs[name] = pp
	}
	e.bs = NewBankSide(d, a, e.provs)
	e.checker = mustCreateUser(t, d, "checker", RoleChecker)
	e.maker = mustCreateUser(t, d, "maker", RoleMaker)
	return e
}

// portalKotak keys an instrument in on Kotak's portal; it lands in PA.
func (e *bankEnv) portalKotak(t *testing.T, amount int64) string {
	t.Helper()
	v, err := e.set.KotakCMS.AddPortalInstrument(kotakcms.PortalInstrument{AmountPaise: amount, BeneName: "Portal Vendor",
		BeneAcctNo: "123456789012", RecBrCd: "HDFC0001234", DrDesc: "Rent keyed in on the portal"})
	if err != nil {
		t.Fatal(err)
	}
	return v.InstRefNo
}

// portalPayMate makes a PayMate portal payment waiting in 199, through the
// sandbox's control route.
func (e *bankEnv) portalPayMate(t *testing.T, amount int64) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"company_name": "Portal Traders", "account_no": "123456789012",
		"ifsc": "HDFC0001234", "amount_paise": amount, "remarks": "Portal invoice"})
	resp, err := http.Post(e.srv.URL+"/_sandbox/paymate/payments", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("portal payment: %d %s", resp.StatusCode, raw)
	}
	var row map[string]any
	if err := json.Unmarshal(raw, &row); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"OrderId", "OrderID", "order_id"} {
		if s, ok := row[k].(string); ok && s != "" {
			return s
		}
	}
	t.Fatalf("no order id in %s", raw)
	return ""
}

func (e *bankEnv) executions(source, ref string) int {
	if source == SourceKotakCMS {
		return e.set.KotakCMS.Ledger().Executions(ref)
	}
	return e.set.PayMate.Ledger().Executions(ref)
}

func (e *bankEnv) item(t *testing.T, source, ref string) BankPendingItem {
	t.Helper()
	all, err := e.bs.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		if it.Source == source && it.Ref == ref {
			return it
		}
	}
	t.Fatalf("no bank-side item %s %s", source, ref)
	return BankPendingItem{}
}

func (e *bankEnv) poll(t *testing.T) PollResult {
	t.Helper()
	res, err := e.bs.Poll(context.Background())
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return res
}

func (e *bankEnv) queue(t *testing.T, u User) []QueueItem {
	t.Helper()
	items, _, err := e.a.Queue(context.Background(), u, QueueFilter{Kind: BankPendingKind})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// TestBankSidePollApproveEachSandbox: a portal-made item in each sandbox is
// imported as a bank_pending request in a checker's queue, made by the
// bank-portal system user; polling again adds nothing; the checker approves;
// ProcessDecided authorises it at the bank, which executes it exactly once.
func TestBankSidePollApproveEachSandbox(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	refs := map[string]string{
		SourceKotakCMS: e.portalKotak(t, 25_000_00),
		SourcePayMate:  e.portalPayMate(t, 15_000_00),
	}

	res := e.poll(t)
	if res.Imported != 2 || res.Skipped != 0 || res.Gone != 0 || res.Seen != 2 {
		t.Fatalf("first poll = %+v", res)
	}
	items := e.queue(t, e.checker)
	if len(items) != 2 {
		t.Fatalf("queue = %+v", items)
	}
	portal, err := e.d.UserByUsername(ctx, BankPortalUsername)
	if err != nil || !portal.Disabled || len(portal.Roles) != 0 {
		t.Fatalf("portal user = %+v, %v", portal, err)
	}
	if _, err := e.d.Authenticate(ctx, testHasher, BankPortalUsername, bankPortalHash, LoginMeta{}); err == nil {
		t.Fatal("the bank-portal user signed in")
	}
	for _, q := range items {
		if q.MakerID != portal.ID || q.Kind != BankPendingKind || q.RequiredApprovals != 1 || q.RequiredRole != RoleChecker {
			t.Fatalf("request = %+v", q.ApprovalRequest)
		}
		var pl BankPendingPayload
		if err := json.Unmarshal(q.Payload, &pl); err != nil || pl.Ref == "" || pl.BeneficiaryAcct != "123456789012" {
			t.Fatalf("payload = %s, %v", q.Payload, err)
		}
	}
	// A maker does not see them to decide; four-eyes holds for everyone.
	if got := e.queue(t, e.maker); len(got) != 0 {
		t.Fatalf("maker queue = %+v", got)
	}

	// Idempotent.
	if res := e.poll(t); res.Imported != 0 || res.Gone != 0 || res.Seen != 2 {
		t.Fatalf("second poll = %+v", res)
	}
	if got := e.queue(t, e.checker); len(got) != 2 {
		t.Fatalf("queue after second poll = %d", len(got))
	}

	for source, ref := range refs {
		it := e.item(t, source, ref)
		if it.State != BankPendingWaiting || it.ApprovalRequestID == 0 || it.ProviderID != ref {
			t.Fatalf("%s item = %+v", source, it)
		}
		r, err := e.a.Approve(ctx, e.checker, it.ApprovalRequestID)
		if err != nil || r.State != ApprovalApproved {
			t.Fatalf("approve %s: %+v, %v", source, r, err)
		}
		if it := e.item(t, source, ref); it.State != BankPendingApproved || it.Decision != providers.Approve {
			t.Fatalf("after approval: %+v", it)
		}
		// Nothing reached the bank inside the decision.
		if n := e.executions(source, ref); n != 0 {
			t.Fatalf("%s executed %d times before ProcessDecided", source, n)
		}
	}

	n, err := e.bs.ProcessDecided(ctx)
	if err != nil || n != 2 {
		t.Fatalf("process = %d, %v", n, err)
	}
	for source, ref := range refs {
		if it := e.item(t, source, ref); it.State != BankPendingAuthorised || it.Attempts != 1 || it.FinalAt.IsZero() {
			t.Fatalf("%s item = %+v", source, it)
		}
		if n := e.executions(source, ref); n != 1 {
			t.Fatalf("%s executed %d times", source, n)
		}
	}
	// Again: nothing left to do, nothing executed twice, nothing re-imported.
	if n, err := e.bs.ProcessDecided(ctx); n != 0 || err != nil {
		t.Fatalf("second process = %d, %v", n, err)
	}
	if res := e.poll(t); res.Imported != 0 || res.Seen != 0 {
		t.Fatalf("poll after approval = %+v", res)
	}
	for source, ref := range refs {
		if n := e.executions(source, ref); n != 1 {
			t.Fatalf("%s executed %d times", source, n)
		}
	}
	verifyAudit(t, e.d)
}

// TestBankSideReject: a rejection in Paydesk rejects at the bank; nothing is
// executed.
func TestBankSideReject(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	refs := map[string]string{
		SourceKotakCMS: e.portalKotak(t, 7_000_00),
		SourcePayMate:  e.portalPayMate(t, 8_000_00),
	}
	e.poll(t)
	for source, ref := range refs {
		it := e.item(t, source, ref)
		if _, err := e.a.Reject(ctx, e.checker, it.ApprovalRequestID, "Not our vendor"); err != nil {
			t.Fatal(err)
		}
		if it := e.item(t, source, ref); it.State != BankPendingRejected || it.Decision != providers.Reject || it.Remarks != "Not our vendor" {
			t.Fatalf("after reject: %+v", it)
		}
	}
	if n, err := e.bs.ProcessDecided(ctx); err != nil || n != 2 {
		t.Fatalf("process = %d, %v", n, err)
	}
	for source, ref := range refs {
		if it := e.item(t, source, ref); it.State != BankPendingAuthorised {
			t.Fatalf("%s item = %+v", source, it)
		}
		st, err := e.provs[source].PayoutStatus(ctx, ref)
		if err != nil || st.State != providers.StateRejected {
			t.Fatalf("%s at the bank: %+v, %v", source, st, err)
		}
		if n := e.executions(source, ref); n != 0 {
			t.Fatalf("%s executed %d times", source, n)
		}
	}
	verifyAudit(t, e.d)
}

// TestBankSideSkipsPaydeskPayouts: a payout Paydesk itself booked, waiting at
// the bank for authorisation, is the dispatcher's and is not imported.
func TestBankSideSkipsPaydeskPayouts(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	for _, source := range []string{SourceKotakCMS, SourcePayMate} {
		in := goodInput()
		in.Source = source
		po, _, err := e.p.Propose(ctx, e.maker, in)
		if err != nil {
			t.Fatal(err)
		}
		// As the dispatcher would: booked at the bank, waiting there.
		st, err := e.provs[source].InitiatePayout(ctx, providers.Payout{ID: po.ID, AmountPaise: po.AmountPaise, Rail: po.Rail,
			BeneficiaryName: "Acme Traders", BeneficiaryAcct: po.AccountNo, BeneficiaryIFSC: po.IFSC, Purpose: po.Purpose})
		if err != nil || st.State != providers.StateQueued {
			t.Fatalf("%s book: %+v, %v", source, st, err)
		}
	}
	res := e.poll(t)
	if res.Imported != 0 || res.Skipped != 2 {
		t.Fatalf("poll = %+v", res)
	}
	if all, _ := e.bs.List(ctx); len(all) != 0 {
		t.Fatalf("imported: %+v", all)
	}
	if got := e.queue(t, e.checker); len(got) != 0 {
		t.Fatalf("queue = %+v", got)
	}
	// Nothing imported: the bank-portal user is not even needed.
	if _, err := e.d.UserByUsername(ctx, BankPortalUsername); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("portal user: %v", err)
	}
}

// TestBankSideGone: an item cancelled on the bank's portal while it waits in
// Paydesk has its request withdrawn and becomes gone; nothing is sent.
func TestBankSideGone(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	ref := e.portalKotak(t, 3_000_00)
	e.poll(t)
	it := e.item(t, SourceKotakCMS, ref)
	if _, err := e.set.KotakCMS.ForceStatus(ref, "CN"); err != nil {
		t.Fatal(err)
	}
	res := e.poll(t)
	if res.Gone != 1 || res.Imported != 0 {
		t.Fatalf("poll = %+v", res)
	}
	it = e.item(t, SourceKotakCMS, ref)
	if it.State != BankPendingGone || it.FinalAt.IsZero() {
		t.Fatalf("item = %+v", it)
	}
	r, _ := mustGet(t, e.a, it.ApprovalRequestID)
	if r.State != ApprovalCancelled || r.Reason == "" {
		t.Fatalf("request = %+v", r)
	}
	if got := e.queue(t, e.checker); len(got) != 0 {
		t.Fatalf("queue = %+v", got)
	}
	if _, err := e.a.Approve(ctx, e.checker, it.ApprovalRequestID); ErrorCode(err) != ECONFLICT {
		t.Fatalf("approve a withdrawn request: %v", err)
	}
	if res := e.poll(t); res.Gone != 0 || res.Imported != 0 {
		t.Fatalf("poll again = %+v", res)
	}
	if n, err := e.bs.ProcessDecided(ctx); n != 0 || err != nil {
		t.Fatalf("process = %d, %v", n, err)
	}
	entries, _, err := e.d.ListAudit(ctx, AuditFilter{Target: "bank_pending:" + bankTarget(it.ID)})
	if err != nil || len(entries) == 0 || entries[0].Action != "bank_pending.gone" {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
	verifyAudit(t, e.d)
}

// TestBankSideDecidedOnPortalFirst: approved in Paydesk, but the bank's own
// authoriser was quicker: nothing is sent, the item is gone.
func TestBankSideDecidedOnPortalFirst(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	ref := e.portalKotak(t, 4_000_00)
	e.poll(t)
	it := e.item(t, SourceKotakCMS, ref)
	if _, err := e.a.Approve(ctx, e.checker, it.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	if err := e.provs[SourceKotakCMS].Authorise(ctx, []string{ref}, providers.Approve, "on the portal"); err != nil {
		t.Fatal(err)
	}
	if n, err := e.bs.ProcessDecided(ctx); n != 1 || err != nil {
		t.Fatalf("process = %d, %v", n, err)
	}
	if it := e.item(t, SourceKotakCMS, ref); it.State != BankPendingGone || it.Attempts != 0 {
		t.Fatalf("item = %+v", it)
	}
	if n := e.executions(SourceKotakCMS, ref); n != 1 {
		t.Fatalf("executed %d times", n)
	}
}

// flaky wraps a provider whose Authorise answer is lost: before (the call
// never arrived) or after (it was applied) the bank.
type flaky struct {
	providers.Payouts
	mu     sync.Mutex
	before int // calls to fail without reaching the bank
	after  int // calls to apply and then lose the answer of
	calls  int
}

func (f *flaky) Authorise(ctx context.Context, refs []string, d providers.Decision, remarks string) error {
	f.mu.Lock()
	f.calls++
	before, after := f.before > 0, f.after > 0
	if before {
		f.before--
	} else if after {
		f.after--
	}
	f.mu.Unlock()
	lost := fmt.Errorf("answer lost: %w", providers.ErrOutcomeUnknown)
	if before {
		return lost
	}
	if err := f.Payouts.Authorise(ctx, refs, d, remarks); err != nil {
		return err
	}
	if after {
		return lost
	}
	return nil
}

// TestBankSideOutcomeUnknown: an approval whose answer is lost is resolved
// from the bank's pending list, never sent blind: applied → authorised
// without a second call; not applied → sent again next round. Exactly one
// execution either way.
func TestBankSideOutcomeUnknown(t *testing.T) {
	flakies := map[string]*flaky{}
	e := newBankEnv(t, func(source string, p providers.Payouts) providers.Payouts {
		f := &flaky{Payouts: p}
		flakies[source] = f
		return f
	})
	ctx := context.Background()
	kotakRef := e.portalKotak(t, 5_000_00)
	payRef := e.portalPayMate(t, 6_000_00)
	flakies[SourceKotakCMS].after = 1 // applied, answer lost
	flakies[SourcePayMate].before = 1 // lost on the way, not applied
	e.poll(t)
	for _, it := range []BankPendingItem{e.item(t, SourceKotakCMS, kotakRef), e.item(t, SourcePayMate, payRef)} {
		if _, err := e.a.Approve(ctx, e.checker, it.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.bs.ProcessDecided(ctx)
	if n != 1 || !errors.Is(err, providers.ErrOutcomeUnknown) {
		t.Fatalf("first round = %d, %v", n, err)
	}
	if it := e.item(t, SourceKotakCMS, kotakRef); it.State != BankPendingAuthorised || it.Attempts != 1 {
		t.Fatalf("kotak = %+v", it)
	}
	if it := e.item(t, SourcePayMate, payRef); it.State != BankPendingApproved || it.Attempts != 1 || it.LastError == "" {
		t.Fatalf("paymate after lost call = %+v", it)
	}
	if n, err := e.bs.ProcessDecided(ctx); n != 1 || err != nil {
		t.Fatalf("second round = %d, %v", n, err)
	}
	if it := e.item(t, SourcePayMate, payRef); it.State != BankPendingAuthorised || it.Attempts != 2 {
		t.Fatalf("paymate = %+v", it)
	}
	if flakies[SourceKotakCMS].calls != 1 || flakies[SourcePayMate].calls != 2 {
		t.Fatalf("calls: kotak %d, paymate %d", flakies[SourceKotakCMS].calls, flakies[SourcePayMate].calls)
	}
	if e.executions(SourceKotakCMS, kotakRef) != 1 || e.executions(SourcePayMate, payRef) != 1 {
		t.Fatalf("executions: kotak %d, paymate %d", e.executions(SourceKotakCMS, kotakRef), e.executions(SourcePayMate, payRef))
	}
	verifyAudit(t, e.d)
}

// TestBankSideExpired: a request nobody decides expires; the item is left
// alone at the bank and not imported again.
func TestBankSideExpired(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	ref := e.portalKotak(t, 2_000_00)
	e.poll(t)
	e.clk.Advance(73 * time.Hour)
	if n, err := e.a.ExpireDue(ctx); n != 1 || err != nil {
		t.Fatalf("expire = %d, %v", n, err)
	}
	if it := e.item(t, SourceKotakCMS, ref); it.State != BankPendingExpired {
		t.Fatalf("item = %+v", it)
	}
	if res := e.poll(t); res.Imported != 0 || res.Gone != 0 || res.Seen != 1 {
		t.Fatalf("poll = %+v", res)
	}
	if n, err := e.bs.ProcessDecided(ctx); n != 0 || err != nil {
		t.Fatalf("process = %d, %v", n, err)
	}
	if st, err := e.provs[SourceKotakCMS].PayoutStatus(ctx, ref); err != nil || st.State != providers.StateQueued {
		t.Fatalf("at the bank: %+v, %v", st, err)
	}
}

// TestBankSideRefusesImpostorPortalUser: a real user named bank-portal is
// never made the maker of bank-side requests.
func TestBankSideRefusesImpostorPortalUser(t *testing.T) {
	e := newBankEnv(t, nil)
	mustCreateUser(t, e.d, BankPortalUsername, RoleChecker)
	e.portalKotak(t, 1_000_00)
	res, err := e.bs.Poll(context.Background())
	if err == nil || res.Imported != 0 {
		t.Fatalf("poll = %+v, %v", res, err)
	}
	if all, _ := e.bs.List(context.Background()); len(all) != 0 {
		t.Fatalf("imported: %+v", all)
	}
}

// TestBankSideApprovalNotSentWhenChangedAtBank: the bank's item no longer
// matches what the checker approved: the approval is not sent.
func TestBankSideApprovalNotSentWhenChangedAtBank(t *testing.T) {
	e := newBankEnv(t, nil)
	ctx := context.Background()
	ref := e.portalKotak(t, 9_000_00)
	e.poll(t)
	it := e.item(t, SourceKotakCMS, ref)
	// Simulate a repair at the bank after import.
	if _, err := e.d.write.Exec(`UPDATE bank_pending SET amount_paise = 900 WHERE id = ?`, it.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Approve(ctx, e.checker, it.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.bs.ProcessDecided(ctx); n != 1 || err != nil {
		t.Fatalf("process = %d, %v", n, err)
	}
	if it := e.item(t, SourceKotakCMS, ref); it.State != BankPendingAuthoriseFailed || it.Attempts != 0 || it.LastError == "" {
		t.Fatalf("item = %+v", it)
	}
	if n := e.executions(SourceKotakCMS, ref); n != 0 {
		t.Fatalf("executed %d times", n)
	}
}

// TestBankSideRun: the background loop imports, and carries a decision to
// the bank, until its context ends.
func TestBankSideRun(t *testing.T) {
	e := newBankEnv(t, nil)
	ref := e.portalPayMate(t, 12_000_00)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.bs.Run(ctx, 20*time.Millisecond) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	var reqID int64
	waitFor("import", func() bool {
		items := e.queue(t, e.checker)
		if len(items) == 1 {
			reqID = items[0].ID
		}
		return reqID != 0
	})
	if _, err := e.a.Approve(context.Background(), e.checker, reqID); err != nil {
		t.Fatal(err)
	}
	waitFor("authorisation", func() bool {
		return e.item(t, SourcePayMate, ref).State == BankPendingAuthorised
	})
	if n := e.executions(SourcePayMate, ref); n != 1 {
		t.Fatalf("executed %d times", n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

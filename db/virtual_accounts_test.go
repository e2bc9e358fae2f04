package db

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/kotakva"
	"paydesk/providers/sandboxkit"
)

// vaEnv is a database, the Kotak VA sandbox over real HTTP with its own
// clock, the domain over a real client, and a dispatcher running its jobs.
type vaEnv struct {
	d                         *DB
	sb                        *kotakva.Sandbox
	sbClock                   *clock
	a                         *Approvals
	v                         *VirtualAccounts
	ds                        *Dispatcher
	dopts                     DispatchOptions
	admin, maker, checker, c2 User
}

func newVAEnv(t *testing.T, clientTimeout time.Duration) *vaEnv {
	t.Helper()
	d, _ := newTestDB(t)
	d.Now = time.Now
	sbClock := &clock{t: time.Now()}
	scfg := kotakva.DefaultSandboxConfig()
	scfg.Now = sbClock.Now
	sb := kotakva.NewSandbox(scfg)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cfg := kotakva.DemoConfig(srv.URL)
	cfg.HTTPClient = &http.Client{Timeout: clientTimeout}
	cfg.Backoff, cfg.Retries = time.Millisecond, 3
	c, err := kotakva.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, a := newTestPayouts(t, d)
	v := NewVirtualAccounts(d, a, kotakva.NewAdapter(c), VAOptions{Prefix: kotakva.DemoPrefix, RetryAfter: 30 * time.Millisecond,
		InquiryEvery: 50 * time.Millisecond, NotFoundGrace: 300 * time.Millisecond, StuckAfter: 3 * time.Second})
	e := &vaEnv{d: d, sb: sb, sbClock: sbClock, a: a, v: v,
		admin: mustCreateUser(t, d, "admin", RoleAdmin), maker: mustCreateUser(t, d, "maker", RoleMaker),
		checker: mustCreateUser(t, d, "checker", RoleChecker), c2: mustCreateUser(t, d, "checker2", RoleChecker)}
	e.dopts = fastDispatch()
	e.dopts.StuckAfter = 3 * time.Second
	e.dopts.Jobs = []JobQueue{v.JobQueue()}
	ds, err := NewDispatcher(d, p, nil, e.dopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.ds = ds
	t.Cleanup(ds.Kill)
	return e
}

var bg = context.Background()

// propose proposes rows as the admin and approves as the checker.
func (e *vaEnv) proposeApproved(t *testing.T, rows ...VAChangeInput) VAProposal {
	t.Helper()
	out, err := e.v.Propose(bg, e.admin, rows, "")
	if err != nil {
		t.Fatalf("propose: %v %+v", err, out.Problems)
	}
	for _, r := range out.Requests {
		if _, err := e.a.Approve(bg, e.checker, r.ID); err != nil {
			t.Fatalf("approve: %v", err)
		}
	}
	return out
}

// waitVA waits until account number is in state.
func (e *vaEnv) waitVA(t *testing.T, number string, state VAState) VirtualAccount {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := e.v.Get(bg, number)
		if err != nil {
			t.Fatal(err)
		}
		if a.State == state {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s (%s), want %s", number, a.State, a.Reason, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// activeVA makes an account through the whole flow and returns its number.
func (e *vaEnv) activeVA(t *testing.T, suffix, name string) string {
	t.Helper()
	out := e.proposeApproved(t, VAChangeInput{Suffix: suffix, Name: name, Purpose: "Test"})
	e.waitVA(t, out.Numbers[0], VAActive)
	return out.Numbers[0]
}

// TestVACreateModifyClose: each change is an approval request; the bank is
// asked only after approval; the checker sees old → new of a change; the
// account's values change when the bank accepted them.
func TestVACreateModifyClose(t *testing.T) {
	e := newVAEnv(t, 2*time.Second)
	out, err := e.v.Propose(bg, e.admin, []VAChangeInput{{Suffix: "acme01", Name: "Acme Traders", Purpose: "Invoices"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	number := kotakva.DemoPrefix + "ACME01"
	if out.Numbers[0] != number || out.Requests[0].Kind != VACreateKind {
		t.Fatalf("%+v", out)
	}
	time.Sleep(100 * time.Millisecond)
	if len(e.sb.Accounts()) != 0 {
		t.Fatal("the bank was asked before approval")
	}
	if _, err := e.a.Approve(bg, e.admin, out.Requests[0].ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("the maker approved their own request: %v", err)
	}
	if _, err := e.a.Approve(bg, e.checker, out.Requests[0].ID); err != nil {
		t.Fatal(err)
	}
	e.waitVA(t, number, VAActive)
	if got := e.sb.Accounts(); len(got) != 1 || got[0].Name != "Acme Traders" {
		t.Fatalf("bank holds %+v", got)
	}
	// Modify: the checker reads the field-level change.
	mod, err := e.v.Propose(bg, e.admin, []VAChangeInput{{Op: VAOpModify, Number: number, Name: "Acme Traders Pvt Ltd", Purpose: "Invoices 2027"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := e.v.RequestChangeOf(mod.Requests[0])
	if !ok || len(ch.Fields) != 2 || ch.Fields[0].Old != "Acme Traders" || ch.Fields[0].New != "Acme Traders Pvt Ltd" ||
		ch.Fields[1].Old != "Invoices" || ch.Fields[1].New != "Invoices 2027" {
		t.Fatalf("diff %+v", ch)
	}
	// One open change per account.
	if _, err := e.v.Propose(bg, e.admin, []VAChangeInput{{Op: VAOpDelete, Number: number}}, ""); ErrorCode(err) != EINVALID {
		t.Fatalf("second change while one waits: %v", err)
	}
	if _, err := e.a.Approve(bg, e.checker, mod.Requests[0].ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, _ := e.v.Get(bg, number)
		if a.Name == "Acme Traders Pvt Ltd" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not modified: %+v", a)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.sb.Accounts(); got[0].Name != "Acme Traders Pvt Ltd" || got[0].Purpose != "Invoices 2027" {
		t.Fatalf("bank holds %+v", got)
	}
	e.proposeApproved(t, VAChangeInput{Op: VAOpDelete, Number: number})
	e.waitVA(t, number, VAClosed)
	if got := e.sb.Accounts(); !got[0].Deleted {
		t.Fatalf("bank holds %+v", got)
	}
}

// TestVABulkRowRefused: the bank refuses one account of a batch; the others
// are active, the refused one failed with the bank's reason, and corrected
// it is proposed again.
func TestVABulkRowRefused(t *testing.T) {
	e := newVAEnv(t, 2*time.Second)
	var rows []VAChangeInput
	for i, s := range []string{"B1", "B2", "B3", "B4", "B5"} {
		rows = append(rows, VAChangeInput{Line: i + 2, Suffix: s, Name: "Bulk " + s})
	}
	if err := e.sb.Refuse(kotakva.RefuseRequest{Suffix: "B3", Code: "101", Reason: "Name rejected by the bank"}); err != nil {
		t.Fatal(err)
	}
	out := e.proposeApproved(t, rows...)
	if len(out.Requests) != 1 || len(out.Numbers) != 5 {
		t.Fatalf("%+v", out)
	}
	failed := e.waitVA(t, kotakva.DemoPrefix+"B3", VAFailed)
	if !strings.Contains(failed.Reason, "Name rejected by the bank") {
		t.Fatalf("reason %q", failed.Reason)
	}
	for _, s := range []string{"B1", "B2", "B4", "B5"} {
		e.waitVA(t, kotakva.DemoPrefix+s, VAActive)
	}
	counts, err := e.v.RequestCounts(bg, out.Requests[0].ID)
	if err != nil || counts.Done != 4 || counts.Failed != 1 {
		t.Fatalf("%+v %v", counts, err)
	}
	// Corrected and proposed again: the same number.
	e.proposeApproved(t, VAChangeInput{Suffix: "B3", Name: "Bulk B3 corrected"})
	if a := e.waitVA(t, kotakva.DemoPrefix+"B3", VAActive); a.Name != "Bulk B3 corrected" {
		t.Fatalf("%+v", a)
	}
	// A bad row among good ones: nothing is saved, the line is named.
	_, err = e.v.Propose(bg, e.admin, []VAChangeInput{{Line: 2, Suffix: "C1", Name: "Good"}, {Line: 3, Suffix: "c-2", Name: "Bad"}}, "x.csv")
	if ErrorCode(err) != EINVALID {
		t.Fatalf("err %v", err)
	}
	if _, err := e.v.Get(bg, kotakva.DemoPrefix+"C1"); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("half saved: %v", err)
	}
}

// TestVACreditsExactlyOnceUnderFaults: 10,000 credits fetched through ≥30%
// injected faults (5xx, hangs, drops after accept, garbage) with the
// fetcher stopped hard several times, one of them between storing a batch
// and acknowledging it: Paydesk holds exactly the bank's credits, none
// twice, and every sum agrees.
func TestVACreditsExactlyOnceUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault run skipped in -short")
	}
	e := newVAEnv(t, 250*time.Millisecond)
	numbers := []string{e.activeVA(t, "F1", "Fault One"), e.activeVA(t, "F2", "Fault Two"), e.activeVA(t, "F3", "Fault Three")}
	added, err := e.sb.AddCredits(kotakva.CreditRequest{Count: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	// A crash between store and ack: the first batch stored, never acked.
	first, err := e.v.prov.FetchCredits(bg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.StoreBatch(bg, first); err != nil {
		t.Fatal(err)
	}
	e.sb.Faults().Set(sandboxkit.Faults{Seed: 11, ErrorRate: 0.08, HangRate: 0.08, DropRate: 0.08, MalformedRate: 0.07, HangFor: time.Second})
	// The fetcher runs as the background loop does, and is stopped hard
	// (its context cancelled mid-call, as a crash would) while the bank
	// still has credits for it, then started again.
	pending := func() int {
		n := 0
		for _, c := range e.sb.Credits() {
			if c.AckedBatchID == "" {
				n++
			}
		}
		return n
	}
	stops := 0
	for stop := 0; stop < 5 && pending() > 0; stop++ {
		ctx, cancel := context.WithCancel(bg)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				_, _ = e.v.Ingest(ctx)
			}
		}()
		time.Sleep(time.Duration(150+stop*97) * time.Millisecond)
		cancel()
		<-done
		if pending() > 0 {
			stops++
		}
	}
	for round := 0; ; round++ {
		if round > 5000 {
			t.Fatal("ingest did not finish")
		}
		res, err := e.v.Ingest(bg)
		if err == nil && res.Batches == 0 {
			break
		}
	}
	counts := e.sb.Faults().Counts()
	e.sb.Faults().Set(sandboxkit.Faults{})
	t.Logf("faults %v; %d hard stops", counts, stops)
	if stops < 3 {
		t.Fatalf("only %d hard stops", stops)
	}
	faulty := 0
	for f, n := range counts {
		if f != sandboxkit.NoFault {
			faulty += n
		}
	}
	if all := faulty + counts[sandboxkit.NoFault]; float64(faulty) < 0.25*float64(all) {
		t.Fatalf("%d faulty of %d requests", faulty, all)
	}
	var n int
	var sum int64
	if err := e.d.read.QueryRow(`SELECT count(*), coalesce(sum(amount_paise), 0) FROM va_credits`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 10_000 || sum != added.TotalPaise {
		t.Fatalf("stored %d credits, %d paise; bank made 10000, %d paise", n, sum, added.TotalPaise)
	}
	bank := map[string]int64{}
	redelivered := 0
	for _, c := range e.sb.Credits() {
		bank[c.TxnRef] = c.AmountPaise
		if c.AckedBatchID == "" {
			t.Fatalf("%s never acknowledged", c.TxnRef)
		}
		if c.Deliveries > 1 {
			redelivered++
		}
	}
	if redelivered == 0 {
		t.Fatal("no batch came twice: the repeat path was not exercised")
	}
	rows, err := e.d.read.Query(`SELECT txn_ref, amount_paise FROM va_credits`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref string
		var p int64
		if err := rows.Scan(&ref, &p); err != nil {
			t.Fatal(err)
		}
		if bank[ref] != p {
			t.Fatalf("%s: %d here, %d at the bank", ref, p, bank[ref])
		}
	}
	rows.Close()
	// The accounts' sums and the days' sums agree with the rows.
	var accounts, days int64
	var accountCount, dayCount int
	if err := e.d.read.QueryRow(`SELECT sum(credits), sum(credits_paise) FROM virtual_accounts`).Scan(&accountCount, &accounts); err != nil {
		t.Fatal(err)
	}
	if err := e.d.read.QueryRow(`SELECT sum(count), sum(paise) FROM va_credit_sums`).Scan(&dayCount, &days); err != nil {
		t.Fatal(err)
	}
	if accounts != sum || days != sum || accountCount != n || dayCount != n {
		t.Fatalf("sums: accounts %d/%d, days %d/%d, rows %d/%d", accountCount, accounts, dayCount, days, n, sum)
	}
	tot, err := e.v.CreditTotals(bg, CreditFilter{Account: numbers[0]})
	if err != nil {
		t.Fatal(err)
	}
	var want CreditTotals
	_ = e.d.read.QueryRow(`SELECT count(*), sum(amount_paise) FROM va_credits WHERE account = ?`, numbers[0]).Scan(&want.Count, &want.Paise)
	if tot != want {
		t.Fatalf("account totals %+v, rows %+v", tot, want)
	}
	// Stored twice, the unique index refuses the row, whatever the code.
	if _, err := e.d.write.Exec(`INSERT INTO va_credits (txn_ref, batch_id, va_number, state, amount_paise, credited_at, received_at)
		SELECT txn_ref, 'X', va_number, 'unmatched', amount_paise, credited_at, received_at FROM va_credits LIMIT 1`); err == nil {
		t.Fatal("a second row with the same bank reference was stored")
	}
}

// creditOf stores one credit of amount to number at the bank and in
// Paydesk, and returns it.
func (e *vaEnv) creditOf(t *testing.T, number, amount, remitterAccount string) Credit {
	t.Helper()
	added, err := e.sb.AddCredits(kotakva.CreditRequest{VirtualAccountNo: number, Amount: amount, RemitterAccount: remitterAccount})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Ingest(bg); err != nil {
		t.Fatal(err)
	}
	list, _, err := e.v.Credits(bg, CreditFilter{Query: added.TxnRefs[0]})
	if err != nil || len(list) != 1 {
		t.Fatalf("%v %+v", err, list)
	}
	return list[0]
}

// TestVARefundLimits: a refund above what is left is refused beside the
// amount; two refunds proposed at once that together exceed the credit:
// one is refused; refusals give nothing away.
func TestVARefundLimits(t *testing.T) {
	e := newVAEnv(t, 2*time.Second)
	number := e.activeVA(t, "R1", "Refund One")
	k := e.creditOf(t, number, "1000.00", "")
	_, _, err := e.v.ProposeRefund(bg, e.maker, k.ID, RefundInput{Amount: "1200", Reason: "Overpaid"})
	if msg := FieldErrors(err)["amount"]; !strings.Contains(msg, "At most ₹1,000.00 can be refunded") {
		t.Fatalf("err %v", err)
	}
	// Commas only group digits: "10,00" is not read as ₹1,000.
	for _, amount := range []string{"10,00", "5,", ",5", "1,0,00"} {
		if _, _, err := e.v.ProposeRefund(bg, e.maker, k.ID, RefundInput{Amount: amount, Reason: "Overpaid"}); FieldErrors(err)["amount"] == "" {
			t.Fatalf("amount %q: %v, want a refusal beside the amount", amount, err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = e.v.ProposeRefund(bg, e.maker, k.ID, RefundInput{Amount: "600", Reason: "Duplicate payment"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case ErrorCode(err) != EINVALID || !strings.Contains(FieldErrors(err)["amount"], "₹400.00"):
			t.Fatalf("refusal %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of two ₹600 refunds of a ₹1,000 credit accepted: %v", ok, errs)
	}
	// What is left may be refunded; nothing beyond.
	if _, _, err := e.v.ProposeRefund(bg, e.maker, k.ID, RefundInput{Amount: "400", Reason: "Rest"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.v.ProposeRefund(bg, e.maker, k.ID, RefundInput{Amount: "0.01", Reason: "More"}); ErrorCode(err) != EINVALID {
		t.Fatalf("refund past the credit: %v", err)
	}
	// Approved at once, both fit: both go; the credit is never exceeded.
	reqs, _, err := e.a.Queue(bg, e.checker, QueueFilter{Kind: VARefundKind})
	if err != nil || len(reqs) != 2 {
		t.Fatalf("%v %d", err, len(reqs))
	}
	var ids []int64
	for _, r := range reqs {
		ids = append(ids, r.ID)
	}
	res, err := e.a.ApproveMany(bg, e.checker, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("approve %d: %v", r.ID, r.Err)
		}
	}
	after, _ := e.v.Credit(bg, k.ID)
	if after.RefundedPaise != 1000_00 {
		t.Fatalf("refunded %d", after.RefundedPaise)
	}
}

// TestVARefundLostAnswer: an approved partial refund whose answer is lost
// is asked about by its id, never sent twice, and reaches a final state with
// the bank's reference and UTR.
func TestVARefundLostAnswer(t *testing.T) {
	e := newVAEnv(t, 300*time.Millisecond)
	number := e.activeVA(t, "L1", "Lost One")
	k := e.creditOf(t, number, "2500.00", "")
	r, req, err := e.v.ProposeRefund(bg, e.maker, k.ID, RefundInput{Amount: "1000", Reason: "Partial return"})
	if err != nil {
		t.Fatal(err)
	}
	e.sb.Faults().Set(sandboxkit.Faults{Seed: 3, DropRate: 1})
	if _, err := e.a.Approve(bg, e.checker, req.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur, _ := e.v.Refund(bg, r.ID)
		if cur.State == RefundUnknown {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund is %s, want unknown", cur.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.sb.Faults().Set(sandboxkit.Faults{})
	e.sbClock.Advance(time.Minute) // the bank finishes it
	for {
		cur, _ := e.v.Refund(bg, r.ID)
		if cur.State == RefundProcessed {
			if cur.RefundRef == "" || cur.UTR == "" {
				t.Fatalf("%+v", cur)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund is %s (%s), want processed", cur.State, cur.Message)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.sb.Ledger().Executions(r.ID); n != 1 {
		t.Fatalf("refund executed %d times", n)
	}
	// The rest of the credit can still be refunded in another part.
	r2, req2, err := e.v.ProposeRefund(bg, e.maker, k.ID, RefundInput{Reason: "The rest"})
	if err != nil || r2.AmountPaise != 1500_00 {
		t.Fatalf("%+v %v", r2, err)
	}
	if _, err := e.a.Approve(bg, e.checker, req2.ID); err != nil {
		t.Fatal(err)
	}
	for {
		cur, _ := e.v.Refund(bg, r2.ID)
		if cur.State == RefundProcessing || cur.State == RefundProcessed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second refund is %s (%s)", cur.State, cur.Message)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVAUnmatchedAttach: a credit to a number Paydesk does not hold is
// unmatched until an admin attaches it; only an admin may.
func TestVAUnmatchedAttach(t *testing.T) {
	e := newVAEnv(t, 2*time.Second)
	number := e.activeVA(t, "U1", "Known")
	portal, err := e.sb.AddPortalAccount(kotakva.PortalAccount{Suffix: "PORTAL1", Name: "Made on the portal"})
	if err != nil {
		t.Fatal(err)
	}
	k := e.creditOf(t, portal.VirtualAccountNo, "300", "")
	if k.State != CreditUnmatched || k.Account != "" {
		t.Fatalf("%+v", k)
	}
	if n, _ := e.v.CountUnmatched(bg); n != 1 {
		t.Fatalf("unmatched %d", n)
	}
	if _, err := e.v.Attach(bg, e.maker, k.ID, number, ""); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("maker attached: %v", err)
	}
	got, err := e.v.Attach(bg, e.admin, k.ID, number, "")
	if err != nil || got.State != CreditAttached || got.Account != number {
		t.Fatalf("%+v %v", got, err)
	}
	a, _ := e.v.Get(bg, number)
	if a.Credits != 1 || a.CreditsPaise != 300_00 {
		t.Fatalf("%+v", a)
	}
	if _, err := e.v.Attach(bg, e.admin, k.ID, number, ""); ErrorCode(err) != ECONFLICT {
		t.Fatalf("attached twice: %v", err)
	}
}

var _ = errors.Is
var _ = providers.ErrNotFound

// BenchmarkVAIngest: credits fetched from the in-process sandbox over
// loopback HTTP, stored a batch a transaction and acknowledged; reports
// credits/s.
func BenchmarkVAIngest(b *testing.B) {
	d, _ := newTestDB(b)
	d.Now = time.Now
	sb := kotakva.NewSandbox(kotakva.DefaultSandboxConfig())
	srv := httptest.NewServer(sb)
	b.Cleanup(srv.Close)
	c, err := kotakva.NewClient(kotakva.DemoConfig(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	v := NewVirtualAccounts(d, NewApprovals(d, 0), kotakva.NewAdapter(c), VAOptions{Prefix: kotakva.DemoPrefix})
	for _, s := range []string{"BENCH1", "BENCH2", "BENCH3"} {
		a, err := sb.AddPortalAccount(kotakva.PortalAccount{Suffix: s, Name: "Bench " + s})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.write.Exec(`INSERT INTO virtual_accounts (number, suffix, name, state, created_at, updated_at)
			VALUES (?, ?, ?, 'active', 1, 1)`, a.VirtualAccountNo, s, a.Name); err != nil {
			b.Fatal(err)
		}
	}
	const perOp = 10_000
	b.ResetTimer()
	total := 0
	for range b.N {
		b.StopTimer()
		if _, err := sb.AddCredits(kotakva.CreditRequest{Count: perOp}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := v.Ingest(bg)
		if err != nil || res.New != perOp {
			b.Fatalf("%+v %v", res, err)
		}
		total += res.New
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "credits/s")
}

package db

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/linkpay"
	"paydesk/providers/sandboxkit"
)

// linksEnv is a database, the NTT DATA sandbox over real HTTP, and a
// dispatcher running the links' jobs.
type linksEnv struct {
	d       *DB
	sb      *linkpay.Sandbox
	l       *Links
	a       *Approvals
	p       *Payouts
	maker   User
	checker User
	admin   User
	ds      *Dispatcher
	dopts   DispatchOptions
}

func newLinksEnv(t *testing.T, clientTimeout time.Duration) *linksEnv {
	t.Helper()
	d, _ := newTestDB(t)
	d.Now = time.Now
	sb := linkpay.NewSandbox(linkpay.SandboxConfig{NotifyBackoff: 20 * time.Millisecond})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cfg := linkpay.DemoConfig(srv.URL)
	cfg.Timeout, cfg.RetryBackoff = clientTimeout, time.Millisecond
	c, err := linkpay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, a := newTestPayouts(t, d)
	l := NewLinks(d, a, linkpay.NewAdapter(c), LinksOptions{RetryAfter: 30 * time.Millisecond, StuckAfter: 3 * time.Second})
	if err := l.RefreshTemplates(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &linksEnv{d: d, sb: sb, l: l, a: a, p: p, maker: mustCreateUser(t, d, "maker", RoleMaker),
		checker: mustCreateUser(t, d, "checker", RoleChecker), admin: mustCreateUser(t, d, "admin", RoleAdmin)}
	e.dopts = fastDispatch()
	e.dopts.StuckAfter = 3 * time.Second
	e.dopts.Jobs = []JobQueue{l.JobQueue()}
	e.start(t)
	t.Cleanup(func() { e.ds.Kill() })
	return e
}

func (e *linksEnv) start(t *testing.T) {
	t.Helper()
	ds, err := NewDispatcher(e.d, e.p, nil, e.dopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.ds = ds
}

func (e *linksEnv) create(t *testing.T, name, amount string) PaymentLink {
	t.Helper()
	k, err := e.l.Create(context.Background(), e.maker, LinkInput{TemplateID: "1001", CustomerName: name,
		CustomerEmail: "accounts@example.in", SendBy: providers.SendEmail, Amount: amount,
		DueDate: ISTDay(time.Now().AddDate(0, 0, 7)), Fields: map[string]string{"description": "Services for " + name}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitLink waits until link id satisfies ok.
func (e *linksEnv) waitLink(t *testing.T, id string, within time.Duration, ok func(PaymentLink) bool) PaymentLink {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		k, _, err := e.l.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(k) {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("link %s not there after %v: %+v", id, within, k)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sentState(k PaymentLink) bool { return k.State == LinkSent }

// TestLinkFormRefusesBesideTheField: the template's required field, its
// limit and type, the customer's channel and the template's amount rule
// are refused by field, nothing saved.
func TestLinkFormRefusesBesideTheField(t *testing.T) {
	e := newLinksEnv(t, 2*time.Second)
	ctx := context.Background()
	_, err := e.l.Create(ctx, e.maker, LinkInput{TemplateID: "1003", CustomerName: "Ravi Stores", SendBy: providers.SendSMS,
		Amount: "50.00", DueDate: "2001-01-01", Fields: map[string]string{"seats": "two", "billingEmail": "nope", "plan": ""}})
	f := FieldErrors(err)
	for _, key := range []string{"customer_mobile", "amount", "due_date", TemplateFieldKey("seats"), TemplateFieldKey("billingEmail")} {
		if f[key] == "" {
			t.Errorf("no message for %s: %v", key, f)
		}
	}
	// plan is mandatory with a default: left empty, NTT DATA fills it.
	if f[TemplateFieldKey("plan")] != "" {
		t.Errorf("plan refused: %v", f)
	}
	_, err = e.l.Create(ctx, e.maker, LinkInput{TemplateID: "1001", CustomerName: "Ravi Stores", CustomerEmail: "r@example.in",
		SendBy: providers.SendEmail, Amount: "5000", DueDate: ISTDay(time.Now()), Fields: map[string]string{"gstin": "1234567890123456"}})
	if f := FieldErrors(err); f[TemplateFieldKey("description")] == "" || f[TemplateFieldKey("gstin")] == "" {
		t.Fatalf("required and too long: %v", err)
	}
	var n int
	if err := e.d.read.QueryRow(`SELECT count(*) FROM payment_links`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d links saved, %v", n, err)
	}
	// Checkers do not make links; the refusal is audited.
	if _, err := e.l.Create(ctx, e.checker, LinkInput{TemplateID: "1001"}); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("checker: %v", err)
	}
}

// TestLinkLifecycle: created in the background, resent, paid by the
// provider's notification; a small link is cancelled at once; a large one
// waits for a checker, is cancelled, and cannot be resent.
func TestLinkLifecycle(t *testing.T) {
	e := newLinksEnv(t, 2*time.Second)
	ctx := context.Background()
	k := e.create(t, "Asha Traders", "5,000.00")
	if k.State != LinkCreating || k.AmountPaise != 5_000_00 {
		t.Fatalf("%+v", k)
	}
	k = e.waitLink(t, k.ID, 5*time.Second, sentState)
	if k.InvoiceNo == "" || k.URL == "" {
		t.Fatalf("sent without invoice: %+v", k)
	}
	if _, err := e.l.Resend(ctx, e.maker, k.ID); err != nil {
		t.Fatal(err)
	}
	k = e.waitLink(t, k.ID, 5*time.Second, func(k PaymentLink) bool { return k.State == LinkResent && k.Action == "" })
	if inv := e.sb.Invoices()[0]; inv.Sends != 2 {
		t.Fatalf("sandbox sends %d", inv.Sends)
	}
	// The sandbox's notification, as the provider would send it.
	paid, err := e.sb.MarkPaid(k.InvoiceNo, "ATOMREF1")
	if err != nil {
		t.Fatal(err)
	}
	body := signedNotification(t, paid, "NTF1", linkpay.InvoicePaid, time.Now())
	if res, err := e.l.Notify(ctx, body, "127.0.0.1"); err != nil || !res.Changed {
		t.Fatalf("notify: %+v %v", res, err)
	}
	k = e.waitLink(t, k.ID, time.Second, func(k PaymentLink) bool { return k.State == LinkPaid })
	if k.BankRef != "ATOMREF1" || k.PaidAt.IsZero() {
		t.Fatalf("%+v", k)
	}
	if d, err := e.l.PaidOn(ctx, ISTDay(k.PaidAt)); err != nil || d.Paise != 5_000_00 || d.Count != 1 {
		t.Fatalf("paid today %+v %v", d, err)
	}

	small := e.waitLink(t, e.create(t, "Ravi Stores", "99,999.99").ID, 5*time.Second, sentState)
	if _, req, err := e.l.Cancel(ctx, e.maker, small.ID); err != nil || req != nil {
		t.Fatalf("small cancel: %v %v", req, err)
	}
	e.waitLink(t, small.ID, 5*time.Second, func(k PaymentLink) bool { return k.State == LinkCancelled })

	big := e.waitLink(t, e.create(t, "Meera Exports", "2,00,000.00").ID, 5*time.Second, sentState)
	_, req, err := e.l.Cancel(ctx, e.maker, big.ID)
	if err != nil || req == nil {
		t.Fatalf("big cancel: %v %v", req, err)
	}
	if _, err := e.a.Approve(ctx, e.maker, req.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("maker approved own cancellation: %v", err)
	}
	if _, err := e.a.Approve(ctx, e.checker, req.ID); err != nil {
		t.Fatal(err)
	}
	e.waitLink(t, big.ID, 5*time.Second, func(k PaymentLink) bool { return k.State == LinkCancelled && k.Action == "" })
	_, err = e.l.Resend(ctx, e.maker, big.ID)
	if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "OTS1015") {
		t.Fatalf("resend of cancelled: %v", err)
	}
}

// signedNotification is the provider's notification about inv, signed with
// the demo merchant's response key, sent at sentAt.
func signedNotification(t *testing.T, inv linkpay.Invoice, id, status string, sentAt time.Time) []byte {
	t.Helper()
	n := linkpay.SignNotification(linkpay.DemoResponseHashKey, linkpay.Notification{MerchID: linkpay.DemoMID, NotificationID: id,
		MerchantTxnID: inv.MerchantTxnID, InvoiceNo: inv.InvoiceNo, Amount: inv.Amount, InvoiceStatus: status, BankRef: inv.BankRef,
		EventAt: sentAt.Format(time.RFC3339), SentAt: sentAt.Format(time.RFC3339)})
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLinkThresholdIsARuleChange: with two admins, raising the threshold
// is a request another admin approves; cancelling below it is immediate.
func TestLinkThresholdIsARuleChange(t *testing.T) {
	e := newLinksEnv(t, 2*time.Second)
	ctx := context.Background()
	th, err := e.l.CancelThreshold(ctx)
	if err != nil || th.Paise != DefaultLinkCancelThresholdPaise {
		t.Fatalf("%+v %v", th, err)
	}
	if _, applied, err := e.l.ProposeCancelThreshold(ctx, e.admin, 5_00_000_00); err != nil || !applied {
		t.Fatalf("one admin: %v %v", applied, err)
	}
	admin2 := mustCreateUser(t, e.d, "admin2", RoleAdmin)
	r, applied, err := e.l.ProposeCancelThreshold(ctx, e.admin, 50_000_00)
	if err != nil || applied {
		t.Fatalf("two admins: %v %v", applied, err)
	}
	if _, err := e.a.Approve(ctx, admin2, r.ID); err != nil {
		t.Fatal(err)
	}
	if th, _ := e.l.CancelThreshold(ctx); th.Paise != 50_000_00 {
		t.Fatalf("threshold %+v", th)
	}
	if _, _, err := e.l.ProposeCancelThreshold(ctx, e.maker, 1); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("maker: %v", err)
	}
}

// TestTemplateChangeKeepsOldLinks: a template whose fields change at the
// provider is refreshed (a new version, audited) and links made before keep
// the fields and values they were sent with.
func TestTemplateChangeKeepsOldLinks(t *testing.T) {
	e := newLinksEnv(t, 2*time.Second)
	ctx := context.Background()
	old := e.waitLink(t, e.create(t, "Asha Traders", "1500").ID, 5*time.Second, sentState)
	e.sb.SetTemplate(linkpay.DemoMID, linkpay.TemplateWire{TemplateID: "1001", TemplateName: "Standard Invoice v2", Currency: "INR",
		Fields: []linkpay.FieldWire{
			{FieldName: "projectCode", FieldLabel: "Project code", FieldType: "text", Mandatory: true, MaxLength: 12},
			{FieldName: "description", FieldLabel: "Work done", FieldType: "text", MaxLength: 80},
		}})
	// Made from the cached (old) fields before Paydesk has read the change:
	// NTT DATA refuses it, and the link says why in the provider's words.
	stale := e.waitLink(t, e.create(t, "Ravi Stores", "900").ID, 5*time.Second, func(k PaymentLink) bool { return k.State == LinkFailed })
	if stale.ProviderCode != "OTS1006" || !strings.Contains(stale.ProviderMessage, "projectCode") {
		t.Fatalf("refusal not kept: %+v", stale)
	}
	if err := e.l.RefreshTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	tpl, err := e.l.Template(ctx, "1001")
	if err != nil || tpl.Version != 2 || tpl.Name != "Standard Invoice v2" || len(tpl.Fields) != 2 || !tpl.Fields[0].Required {
		t.Fatalf("%+v %v", tpl, err)
	}
	k, _, err := e.l.Get(ctx, old.ID)
	if err != nil || k.TemplateName != "Standard Invoice" || len(k.Fields) != 1 || k.Fields[0].Name != "description" ||
		k.Fields[0].Label != "Description" || k.Fields[0].Value != "Services for Asha Traders" {
		t.Fatalf("old link changed: %+v %v", k, err)
	}
	// New links follow the new fields.
	_, err = e.l.Create(ctx, e.maker, LinkInput{TemplateID: "1001", CustomerName: "Ravi", CustomerEmail: "r@example.in",
		SendBy: providers.SendEmail, Amount: "10", DueDate: ISTDay(time.Now())})
	if FieldErrors(err)[TemplateFieldKey("projectCode")] == "" {
		t.Fatalf("new field not required: %v", err)
	}
	entries, _, err := e.d.ListAudit(ctx, AuditFilter{Target: "link_template:1001", Limit: 10})
	if err != nil || len(entries) < 2 || entries[0].Action != "link_template.changed" {
		t.Fatalf("audit %+v %v", entries, err)
	}
}

// TestLinksCreatedOnceUnderFaults: 1,000 links created under ≥ 30 %
// injected faults (503s, hangs, dropped connections, broken answers) and
// four hard restarts of the workers: each invoice exists exactly once at
// the sandbox, and every link shows it.
func TestLinksCreatedOnceUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("PAYDESK_CHAOS_N")); err == nil && v > 0 {
		n = v
	}
	e := newLinksEnv(t, 200*time.Millisecond)
	ctx := context.Background()
	e.sb.Injector().Set(sandboxkit.Faults{Seed: 2026, ErrorRate: 0.09, HangRate: 0.08, DropRate: 0.08, MalformedRate: 0.08,
		HangFor: 400 * time.Millisecond})
	ids := make([]string, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				ids[i] = e.create(t, fmt.Sprintf("Customer %04d", i), fmt.Sprintf("%d.%02d", 100+i, i%100)).ID
			}
		}()
	}
	wg.Wait()
	for k := range 4 {
		time.Sleep(time.Duration(1200+300*k) * time.Millisecond)
		e.ds.Kill()
		e.start(t)
	}
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
				_, _ = e.l.Sweep(ctx)
			}
		}
	}()
	deadline := time.Now().Add(180 * time.Second)
	for _, id := range ids {
		e.waitLink(t, id, time.Until(deadline), sentState)
	}
	close(stop)
	counts := e.sb.Injector().Counts()
	e.sb.Injector().Set(sandboxkit.Faults{})
	injected := 0
	for f, c := range counts {
		if f != sandboxkit.NoFault {
			injected += c
		}
	}
	total := injected + counts[sandboxkit.NoFault]
	if total == 0 || float64(injected)/float64(total) < 0.30 {
		t.Fatalf("faults %v: too few to mean anything", counts)
	}
	perTxn := map[string][]string{}
	for _, inv := range e.sb.Invoices() {
		perTxn[inv.MerchantTxnID] = append(perTxn[inv.MerchantTxnID], inv.InvoiceNo)
	}
	if len(perTxn) != n || len(e.sb.Invoices()) != n {
		t.Fatalf("%d invoices for %d merchantTxnIds at the sandbox, %d links", len(e.sb.Invoices()), len(perTxn), n)
	}
	attempts := 0
	for _, id := range ids {
		k, _, _ := e.l.Get(ctx, id)
		if invs := perTxn[id]; len(invs) != 1 || invs[0] != k.InvoiceNo {
			t.Fatalf("link %s shows %q; the sandbox holds %v", id, k.InvoiceNo, invs)
		}
		attempts += k.Attempts
	}
	t.Logf("%d links: faults %v (%.0f%% of %d requests), %d create attempts", n, counts, 100*float64(injected)/float64(total), total, attempts)
}

// TestOverdueLinksExpire: a link past its due date with no payment moves
// to expired here; the provider's expiry notification does the same; a
// payment NTT DATA notifies afterwards still counts.
func TestOverdueLinksExpire(t *testing.T) {
	e := newLinksEnv(t, 2*time.Second)
	ctx := context.Background()
	due := e.create(t, "Asha Traders", "700")
	due = e.waitLink(t, due.ID, 5*time.Second, sentState)
	notified := e.waitLink(t, e.create(t, "Ravi Stores", "800").ID, 5*time.Second, sentState)
	if n, err := e.l.ExpireOverdue(ctx); err != nil || n != 0 {
		t.Fatalf("expired %d before the due date: %v", n, err)
	}
	later := time.Now().AddDate(0, 0, 9)
	e.d.Now = func() time.Time { return later }
	if n, err := e.l.ExpireOverdue(ctx); err != nil || n != 2 {
		t.Fatalf("expired %d: %v", n, err)
	}
	k, _, _ := e.l.Get(ctx, due.ID)
	if k.State != LinkExpired || k.FinalAt.IsZero() {
		t.Fatalf("%+v", k)
	}
	if d, err := e.l.DueBetween(ctx, ISTDay(time.Now()), ISTDay(later)); err != nil || d.Count != 0 {
		t.Fatalf("still due: %+v %v", d, err)
	}
	// The customer paid at the last minute; NTT DATA's notice comes late.
	inv, err := e.sb.MarkPaid(notified.InvoiceNo, "LATE1")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.l.Notify(ctx, signedNotification(t, inv, "NTF-LATE", linkpay.InvoicePaid, later), "test"); err != nil || !res.Changed {
		t.Fatalf("late payment: %+v %v", res, err)
	}
	if k, _, _ := e.l.Get(ctx, notified.ID); k.State != LinkPaid || k.BankRef != "LATE1" {
		t.Fatalf("%+v", k)
	}
}

package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/providers/linkpay"
)

// linksEnv is the app on a real listener with the NTT DATA sandbox, which
// notifies it over HTTP, and the workers that create the links.
type linksEnv struct {
	*testEnv
	sb    *linkpay.Sandbox
	url   string
	maker db.User
}

func newLinksEnv(t *testing.T) *linksEnv {
	t.Helper()
	e := newTestEnv(t, false)
	e.db.Now = time.Now
	sb := linkpay.NewSandbox(linkpay.SandboxConfig{NotifyBackoff: 20 * time.Millisecond})
	api := httptest.NewServer(sb)
	t.Cleanup(api.Close)
	c, err := linkpay.NewClient(linkpay.DemoConfig(api.URL))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Links = db.NewLinks(e.db, e.srv.Approvals, linkpay.NewAdapter(c), db.LinksOptions{RetryAfter: 30 * time.Millisecond})
	if err := e.srv.Links.RefreshTemplates(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds, err := db.NewDispatcher(e.db, e.srv.Payouts, nil, db.DispatchOptions{PollInterval: 20 * time.Millisecond,
		Jobs: []db.JobQueue{e.srv.Links.JobQueue()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.Kill)
	app := NewApp(e.srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	le := &linksEnv{testEnv: e, sb: sb, url: "http://" + ln.Addr().String()}
	sb.SetNotifyURL(linkpay.DemoMID, le.url+"/links/notify")
	if le.maker, err = e.db.UserByUsername(context.Background(), "maker"); err != nil {
		t.Fatal(err)
	}
	return le
}

// sentLink makes a link and waits until NTT DATA has made its invoice.
func (e *linksEnv) sentLink(t *testing.T, amount string) (db.PaymentLink, linkpay.Invoice) {
	t.Helper()
	k, err := e.srv.Links.Create(context.Background(), e.maker, db.LinkInput{TemplateID: "1001", CustomerName: "Asha Traders",
		CustomerEmail: "accounts@asha.example", SendBy: providers.SendEmail, Amount: amount,
		DueDate: db.ISTDay(time.Now().AddDate(0, 0, 3)), Fields: map[string]string{"description": "October retainer"}})
	if err != nil {
		t.Fatal(err)
	}
	k = e.waitLink(t, k.ID, func(k db.PaymentLink) bool { return k.State == db.LinkSent })
	for _, inv := range e.sb.Invoices() {
		if inv.MerchantTxnID == k.ID {
			return k, inv
		}
	}
	t.Fatalf("no invoice for %s at the sandbox", k.ID)
	return k, linkpay.Invoice{}
}

func (e *linksEnv) waitLink(t *testing.T, id string, ok func(db.PaymentLink) bool) db.PaymentLink {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		k, _, err := e.srv.Links.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(k) {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("link %s: %+v", id, k)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends a notification body as the provider would, over HTTP, with no
// session and no CSRF token.
func (e *linksEnv) post(t *testing.T, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(e.url+"/links/notify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func notificationOf(inv linkpay.Invoice, id, bankRef string, sentAt time.Time) linkpay.Notification {
	return linkpay.Notification{MerchID: linkpay.DemoMID, NotificationID: id, MerchantTxnID: inv.MerchantTxnID,
		InvoiceNo: inv.InvoiceNo, Amount: inv.Amount, InvoiceStatus: linkpay.InvoicePaid, BankRef: bankRef,
		EventAt: sentAt.Format(time.RFC3339), SentAt: sentAt.Format(time.RFC3339)}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLinkNotificationSignature: over real HTTP, the sandbox's signed
// notification marks a link paid; one signed with the wrong key, one with
// its amount changed after signing, and a replay of an old one are refused
// and audited; the same notification twice changes nothing.
func TestLinkNotificationSignature(t *testing.T) {
	e := newLinksEnv(t)
	ctx := context.Background()

	// Valid: the sandbox marks it paid and notifies, as the provider would.
	k, inv := e.sentLink(t, "5000")
	if _, err := e.sb.MarkPaid(inv.InvoiceNo, "ATOMBANK0001"); err != nil {
		t.Fatal(err)
	}
	k = e.waitLink(t, k.ID, func(k db.PaymentLink) bool { return k.State == db.LinkPaid })
	if k.BankRef != "ATOMBANK0001" {
		t.Fatalf("%+v", k)
	}
	e.sb.WaitNotifications()
	if ns := e.sb.Notifications(); len(ns) != 1 || !ns[0].Delivered || ns[0].Attempts != 1 {
		t.Fatalf("deliveries %+v", ns)
	}

	k2, inv2 := e.sentLink(t, "7500.50")
	now := time.Now()
	refused := func(name string, body []byte) {
		t.Helper()
		status, answer := e.post(t, body)
		if status != http.StatusUnauthorized {
			t.Fatalf("%s: HTTP %d %s", name, status, answer)
		}
		if got, _, _ := e.srv.Links.Get(ctx, k2.ID); got.State != db.LinkSent {
			t.Fatalf("%s changed the link: %+v", name, got)
		}
	}
	// Wrong key: signed with the request key instead of the response key.
	refused("wrong key", marshal(t, linkpay.SignNotification(linkpay.DemoRequestHashKey, notificationOf(inv2, "NTF-A", "X1", now))))
	// Tampered amount: signed, then the amount lowered.
	n := linkpay.SignNotification(linkpay.DemoResponseHashKey, notificationOf(inv2, "NTF-B", "X2", now))
	n.Amount = "1.00"
	refused("tampered amount", marshal(t, n))
	// A forged signature of the right shape, compared in constant time.
	n = notificationOf(inv2, "NTF-C", "X3", now)
	n.Signature = strings.Repeat("ab", 64)
	refused("forged signature", marshal(t, n))
	// Replay: a genuine notification signed long ago, sent again.
	refused("replay", marshal(t, linkpay.SignNotification(linkpay.DemoResponseHashKey, notificationOf(inv2, "NTF-D", "X4", now.Add(-time.Hour)))))
	entries, _, err := e.db.ListAudit(ctx, db.AuditFilter{Action: "link.notification_refused", Limit: 10})
	if err != nil || len(entries) != 4 {
		t.Fatalf("refusals audited: %d %v", len(entries), err)
	}
	if !strings.Contains(entries[0].Details, "replay") {
		t.Fatalf("replay audit %s", entries[0].Details)
	}

	// The same genuine notification twice: paid once.
	paid, err := e.sb.MarkPaid(inv2.InvoiceNo, "ATOMBANK0002")
	if err != nil {
		t.Fatal(err)
	}
	e.sb.WaitNotifications()
	body := marshal(t, linkpay.SignNotification(linkpay.DemoResponseHashKey, notificationOf(paid, e.sb.Notifications()[1].NotificationID,
		"ATOMBANK0002", time.Now())))
	for i := range 2 {
		if status, answer := e.post(t, body); status != http.StatusOK || (i == 1 && !strings.Contains(answer, "already")) {
			t.Fatalf("delivery %d: HTTP %d %s", i+1, status, answer)
		}
	}
	_, events, err := e.srv.Links.Get(ctx, k2.ID)
	if err != nil {
		t.Fatal(err)
	}
	paidEvents := 0
	for _, ev := range events {
		if ev.Kind == "paid" {
			paidEvents++
		}
	}
	if paidEvents != 1 {
		t.Fatalf("%d paid events: %+v", paidEvents, events)
	}
}

// TestLinkBulkUpload: the template's CSV carries its columns; a file with
// a bad row is previewed row by row, and submitting makes the valid rows
// links together, which NTT DATA then creates in the background.
func TestLinkBulkUpload(t *testing.T) {
	e := newLinksEnv(t)
	c := e.client()
	c.signIn("maker")
	resp, body := c.get("/links/bulk/template.csv?template=1001")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body,
		"customer_name,customer_email,customer_mobile,amount,due_date,send_by,contact_id,invoicetitle,description,gstin,ponumber\n") {
		t.Fatalf("template CSV: %d %q", resp.StatusCode, body)
	}
	due := db.ISTDay(time.Now().AddDate(0, 0, 5))
	file := "customer_name,customer_email,amount,due_date,description,ponumber\n" +
		"Lotus Pharma,accounts@lotus.example,\"5,000.00\"," + due + ",October supplies,PO-1\n" +
		"Ravi Stores,ravi@ravi.example,1200.5," + due + ",,PO-2\n" +
		"Kaveri Steel,kaveri@steel.example,999," + due + ",November supplies,PO-3-THAT-IS-FAR-TOO-LONG-FOR-THE-TEMPLATE\n" +
		"Meera Exports,meera@exports.example,2500," + due + ",Freight,\n"
	_, page := c.bulkPost("/links/bulk/preview?template=1001", nil, "links.csv", file)
	for _, want := range []string{"description: Description is required by the template.", "ponumber: At most 30 characters",
		`<div class="label">Valid</div>`, "Create 2 payment links"} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Fatalf("preview lacks %q:\n%s", want, page)
		}
	}
	resp, page = c.bulkPost("/links/bulk?template=1001", map[string]string{"csv": file, "file_name": "links.csv", "expect_valid": "2"}, "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "2 payment links created") {
		t.Fatalf("submit: %d %s", resp.StatusCode, page)
	}
	list, _, err := e.srv.Links.List(context.Background(), db.LinkFilter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("%d links, %v", len(list), err)
	}
	for _, k := range list {
		e.waitLink(t, k.ID, func(k db.PaymentLink) bool { return k.State == db.LinkSent })
	}
	if n := len(e.sb.Invoices()); n != 2 {
		t.Fatalf("%d invoices at NTT DATA", n)
	}
}

// TestLinksFilterShowsAContactBeyondTheSelect: the Customer select lists the
// first maxPayableContacts contacts by name; a contact further down, reached
// from its own page's "All payment links to this contact", still shows as
// the filter in force (or the next Filter would drop it), and an unknown id
// says so rather than showing "Any customer".
func TestLinksFilterShowsAContactBeyondTheSelect(t *testing.T) {
	e := newLinksEnv(t)
	for i := range maxPayableContacts {
		e.customer(t, fmt.Sprintf("A Company %03d", i), false)
	}
	zeta := e.customer(t, "Zeta Traders", false)
	cl := e.client()
	cl.signIn("maker")
	for _, c := range []struct{ id, label string }{
		{zeta.ID, "Zeta Traders"},
		{"CT9999999999", "CT9999999999 (no such contact)"},
	} {
		resp, body := cl.get("/links?contact=" + c.id)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", c.id, resp.StatusCode)
		}
		if want := `<option value="` + c.id + `" selected>` + html.EscapeString(c.label) + `</option>`; !strings.Contains(body, want) {
			t.Errorf("links filtered by %s: the Customer select does not show %q", c.id, want)
		}
	}
}

// TestLinkThresholdAsksForAFreshCode: an admin with a second factor and no
// fresh code is sent to the step-up and back to the threshold's form, which
// holds what they typed; nothing is changed until they send it again.
func TestLinkThresholdAsksForAFreshCode(t *testing.T) {
	e := newTestEnv(t, false)
	e.srv.Links = db.NewLinks(e.db, e.srv.Approvals, nil, db.LinksOptions{})
	admin := e.client()
	admin.signIn("admin")
	_, body := admin.get("/links")
	before := regexp.MustCompile(`data-threshold>([^<]+)<`).FindStringSubmatch(body)
	if before == nil {
		t.Fatal("no threshold on the links page")
	}
	secret := e.enrol(t, "admin")
	resp, _ := admin.post("/links/threshold", url.Values{"_csrf": {admin.csrf}, "threshold": {"1,23,456"}})
	next := admin.stepUpTo(t, resp, secret)
	if !strings.HasSuffix(next, "#h-link-threshold") {
		t.Errorf("back to %s, not to the threshold's form", next)
	}
	resp, body = admin.get(next)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="link-threshold" name="threshold" value="1,23,456"`) ||
		!strings.Contains(body, "not changed yet") || !strings.Contains(body, "data-threshold>"+before[1]+"<") {
		t.Fatalf("back on the links page: %d, the typed threshold is not in its form", resp.StatusCode)
	}
	resp, _ = admin.post("/links/threshold", url.Values{"_csrf": {admin.csrf}, "threshold": {"1,23,456"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/links?threshold=applied#h-link-threshold" {
		t.Fatalf("sent again after the code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

package linkpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
	"paydesk/providers/sandboxkit/sandboxtest"
)

type env struct {
	sb      *Sandbox
	srv     *httptest.Server
	ctl     *httptest.Server
	client  *Client
	adapter *Adapter
	clock   *sandboxtest.Clock
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	ck := sandboxtest.NewClock(time.Date(2025, 3, 10, 10, 0, 0, 0, istZone))
	sb := NewSandbox(SandboxConfig{Now: ck.Now})
	srv := httptest.NewServer(sb)
	ctl := httptest.NewServer(sb.Control())
	t.Cleanup(srv.Close)
	t.Cleanup(ctl.Close)
	cfg := DemoConfig(srv.URL)
	cfg.RetryBackoff = time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, srv: srv, ctl: ctl, client: c, adapter: NewAdapter(c), clock: ck}
}

func sampleLink(id string) CreateLinkParams {
	return CreateLinkParams{
		MerchantTxnID: id, TemplateID: "1001", AmountPaise: 150075,
		CustomerName: "Asha Rao", CustomerEmail: "asha@example.in", CustomerMobile: "9876543210",
		Fields: map[string]string{"description": "March retainer", "gstin": "29ABCDE1234F1Z5"},
	}
}

func wantCode(t *testing.T, err error, code string, sentinel error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error %s, got %v", code, err)
	}
	if e.Code != code {
		t.Fatalf("want code %s, got %s (%v)", code, e.Code, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("%v does not wrap %v", err, sentinel)
	}
	if !strings.HasPrefix(err.Error(), "linkpay: ") {
		t.Fatalf("error not prefixed with provider name: %q", err)
	}
	return e
}

// postRaw sends body to path as-is, for requests the client would never make.
func postRaw(t *testing.T, url, body string) *Response {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r Response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestSignKnownVector(t *testing.T) {
	const want = "a4df464724d1154cf2d33baf9b08cb6740637040e46d29034de472445b0df68af31de3c7089c0355bf0b5c887d568cd87b43a7b875ded9de8c9c946d4e57d40d"
	got := Sign("KEY123657234", "317157Test@1236545e02c9d8355INRREFUNDINIT")
	if got != want {
		t.Fatalf("Sign = %s\nwant   %s", got, want)
	}
	if !Verify("KEY123657234", "317157Test@1236545e02c9d8355INRREFUNDINIT", strings.ToUpper(want)) {
		t.Fatal("Verify must accept upper-case hex")
	}
	if Verify("KEY123657234", "317157Test@1236545e02c9d8355INRREFUNDINIT", want[:126]+"00") {
		t.Fatal("Verify accepted a wrong signature")
	}
	if Verify("KEY123657235", "317157Test@1236545e02c9d8355INRREFUNDINIT", want) {
		t.Fatal("Verify accepted a signature under another key")
	}
}

func TestSignatureStrings(t *testing.T) {
	// The create string is MID + Password + the literal amount + merchantTxnId.
	if got := createSigString("317157", "Test@123", "1500.75", "TXN1"); got != "317157Test@1231500.75TXN1" {
		t.Fatal(got)
	}
	if got := invoiceSigString("317157", "Test@123", "INV1"); got != "317157Test@123INV1" {
		t.Fatal(got)
	}
}

func TestRoundTripEveryCall(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	ts, err := e.client.GetTemplate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 5 || ts[0].ID != "1001" || ts[0].Name != "Standard Invoice" {
		t.Fatalf("templates: %+v", ts)
	}

	d, err := e.client.GetTemplateDetails(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "School Fee" || len(d.Fields) != 4 || d.Fields[2].Default != "2025-26" || !d.Fields[0].Mandatory {
		t.Fatalf("details: %+v", d)
	}

	p := sampleLink("ORD-1")
	p.DueDate = time.Date(2025, 3, 31, 0, 0, 0, 0, istZone)
	l, err := e.client.CreatePaymentLink(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if l.Code != CodeLinkSent || l.InvoiceNo == "" || l.AmountPaise != 150075 || l.Status != InvoiceSent || !strings.HasPrefix(l.PaymentLink, "https://") {
		t.Fatalf("link: %+v", l)
	}
	inv := e.sb.Invoices()
	if len(inv) != 1 || inv[0].Amount != "1500.75" || inv[0].Fields["invoiceTitle"] != "Tax Invoice" ||
		inv[0].Fields["description"] != "March retainer" || !inv[0].ExpiresAt.Equal(time.Date(2025, 4, 1, 0, 0, 0, 0, istZone)) {
		t.Fatalf("sandbox invoice: %+v", inv)
	}

	rs, err := e.client.ResendPaymentLink(ctx, l.InvoiceNo)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Code != CodeLinkSent || rs.Status != InvoiceSent || e.sb.Invoices()[0].Sends != 2 {
		t.Fatalf("resend: %+v", rs)
	}

	cn, err := e.client.CancelPaymentLink(ctx, l.InvoiceNo)
	if err != nil {
		t.Fatal(err)
	}
	if cn.Code != CodeLinkCancelled || cn.Status != InvoiceCancelled {
		t.Fatalf("cancel: %+v", cn)
	}
}

func TestAdapterRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if got := providers.Capabilities(e.adapter); len(got) != 1 || got[0] != providers.CapPaymentLinks {
		t.Fatalf("capabilities %v", got)
	}
	ts, err := e.adapter.Templates(ctx)
	if err != nil || len(ts) != 5 {
		t.Fatalf("%v %v", ts, err)
	}
	tpl, err := e.adapter.Template(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	// academicYear is mandatory but defaulted, so the request need not fill it.
	req := map[string]bool{}
	for _, f := range tpl.Fields {
		req[f.Name] = f.Required
	}
	if !req["studentName"] || req["academicYear"] || req["feeHead"] {
		t.Fatalf("required flags: %+v", tpl.Fields)
	}
	l, err := e.adapter.CreateLink(ctx, providers.LinkRequest{
		ID: "FEE-42", TemplateID: "1002", AmountPaise: 2500000, CustomerName: "R. Iyer",
		CustomerPhone: "+91 98450 12345", Fields: map[string]string{"studentName": "Meera", "class": "5B"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if l.ID != "FEE-42" || l.InvoiceNo == "" || l.URL == "" || l.ProviderCode != CodeLinkSent {
		t.Fatalf("%+v", l)
	}
	if got := e.sb.Invoices()[0].Mobile; got != "9845012345" {
		t.Fatalf("mobile %q", got)
	}
	if err := e.adapter.ResendLink(ctx, l.InvoiceNo); err != nil {
		t.Fatal(err)
	}
	if err := e.adapter.CancelLink(ctx, l.InvoiceNo); err != nil {
		t.Fatal(err)
	}
	// A repeated cancel (say after a lost answer) is not an error.
	if err := e.adapter.CancelLink(ctx, l.InvoiceNo); err != nil {
		t.Fatal(err)
	}
}

func TestWrongSignatureOTS1011(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RequestHashKey = "not-the-key" })
	ctx := context.Background()
	_, err := e.client.GetTemplate(ctx)
	wantCode(t, err, CodeSignature, providers.ErrAuth)
	_, err = e.client.CreatePaymentLink(ctx, sampleLink("SIG-1"))
	wantCode(t, err, CodeSignature, providers.ErrAuth)
	if n := len(e.sb.Invoices()); n != 0 {
		t.Fatalf("a badly signed create made %d invoices", n)
	}
	_, err = e.client.CancelPaymentLink(ctx, "INV100000001")
	wantCode(t, err, CodeSignature, providers.ErrAuth)
}

func TestSignatureOverLiteralAmount(t *testing.T) {
	// A signature made over "1500.7" while "1500.70" is sent must fail: the
	// provider hashes the literal string.
	e := newEnv(t, nil)
	body := CreateLinkRequest{
		MerchID: DemoMID, Password: DemoPassword, TemplateID: "1001", MerchantTxnID: "LIT-1",
		Amount: "1500.70", CustomerName: "A", CustomerEmail: "a@b.in",
		Fields:    []FieldValue{{Name: "description", Value: "x"}},
		Signature: Sign(DemoRequestHashKey, createSigString(DemoMID, DemoPassword, "1500.7", "LIT-1")),
	}
	b, _ := json.Marshal(body)
	if r := postRaw(t, e.srv.URL+PathCreatePaymentLink, string(b)); r.StatusCode != CodeSignature || r.Signature != "" {
		t.Fatalf("%+v", r)
	}
	body.Signature = Sign(DemoRequestHashKey, createSigString(DemoMID, DemoPassword, "1500.70", "LIT-1"))
	b, _ = json.Marshal(body)
	if r := postRaw(t, e.srv.URL+PathCreatePaymentLink, string(b)); r.StatusCode != CodeLinkSent {
		t.Fatalf("%+v", r)
	}
}

func TestMerchantCodes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Password = "wrong" })
	_, err := e.client.GetTemplate(context.Background())
	wantCode(t, err, CodeInvalidMerchant, providers.ErrAuth)

	e2 := newEnv(t, func(c *Config) { c.MerchantID = "999999" })
	_, err = e2.client.GetTemplate(context.Background())
	wantCode(t, err, CodeInvalidMerchant, providers.ErrAuth)

	e3 := newEnv(t, func(c *Config) {
		c.MerchantID, c.Password, c.RequestHashKey, c.ResponseHashKey = InactiveMID, "Inactive@1", "KEYINACTIVE1", "KEYRESPINACTIVE1"
	})
	_, err = e3.client.GetTemplate(context.Background())
	wantCode(t, err, CodeInactiveMerchant, providers.ErrAuth)

	e4 := newEnv(t, func(c *Config) {
		c.MerchantID, c.Password, c.RequestHashKey, c.ResponseHashKey = EmptyMID, "Empty@123", "KEYEMPTY1", "KEYRESPEMPTY1"
	})
	_, err = e4.client.GetTemplate(context.Background())
	wantCode(t, err, CodeTemplateNotFound, providers.ErrNotFound)
	ts, err := e4.adapter.Templates(context.Background())
	if err != nil || len(ts) != 0 {
		t.Fatalf("empty console: %v %v", ts, err)
	}
}

func TestTemplateCodes(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, err := e.client.GetTemplateDetails(ctx, "9999")
	wantCode(t, err, CodeTemplateNotFound, providers.ErrNotFound)
	_, err = e.client.GetTemplateDetails(ctx, "1004")
	wantCode(t, err, CodeTemplateDetails, providers.ErrNotFound)

	p := sampleLink("T-1")
	p.TemplateID = "9999"
	_, err = e.client.CreatePaymentLink(ctx, p)
	wantCode(t, err, CodeTemplateNotFound, providers.ErrNotFound)

	p = sampleLink("T-2")
	p.TemplateID = "1004"
	_, err = e.client.CreatePaymentLink(ctx, p)
	wantCode(t, err, CodeTemplateDetails, providers.ErrNotFound)

	p = sampleLink("T-3")
	p.Fields = map[string]string{"gstin": "29ABCDE1234F1Z5"} // description is mandatory
	_, err = e.client.CreatePaymentLink(ctx, p)
	ee := wantCode(t, err, CodeFieldsMissing, providers.ErrRejected)
	if !strings.Contains(ee.Message, "description") {
		t.Fatalf("message should name the field: %q", ee.Message)
	}

	p = sampleLink("T-4")
	p.TemplateID = "1005"
	p.Fields = map[string]string{"eventName": "Annual day"} // venue: use-default, no default set
	_, err = e.client.CreatePaymentLink(ctx, p)
	wantCode(t, err, CodeDefaultMissing, providers.ErrRejected)
	p.MerchantTxnID = "T-4b"
	p.Fields["venue"] = "Main hall"
	if _, err := e.client.CreatePaymentLink(ctx, p); err != nil {
		t.Fatalf("with the value given the template works: %v", err)
	}

	p = sampleLink("T-5")
	p.Fields["colour"] = "blue"
	_, err = e.client.CreatePaymentLink(ctx, p)
	wantCode(t, err, CodeBadRequest, providers.ErrRejected)

	p = sampleLink("T-6")
	p.TemplateID = "1003"
	p.Fields = map[string]string{"seats": "two"}
	_, err = e.client.CreatePaymentLink(ctx, p)
	wantCode(t, err, CodeBadRequest, providers.ErrRejected)
}

func TestRequestValidation(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cases := []struct {
		name string
		mod  func(*CreateLinkParams)
		code string
	}{
		{"no customer channel", func(p *CreateLinkParams) { p.CustomerEmail, p.CustomerMobile = "", "" }, CodeParamsMissing},
		{"no name", func(p *CreateLinkParams) { p.CustomerName = "" }, CodeParamsMissing},
		{"no txn id", func(p *CreateLinkParams) { p.MerchantTxnID = "" }, CodeParamsMissing},
		{"txn id charset", func(p *CreateLinkParams) { p.MerchantTxnID = "A B" }, CodeBadRequest},
		{"txn id length", func(p *CreateLinkParams) { p.MerchantTxnID = strings.Repeat("A", 36) }, CodeBadRequest},
		{"bad email", func(p *CreateLinkParams) { p.CustomerEmail = "asha@" }, CodeBadRequest},
		{"bad mobile", func(p *CreateLinkParams) { p.CustomerMobile = "12345" }, CodeBadRequest},
		{"past due date", func(p *CreateLinkParams) { p.DueDate = time.Date(2025, 3, 9, 0, 0, 0, 0, istZone) }, CodeBadRequest},
		{"long name", func(p *CreateLinkParams) { p.CustomerName = strings.Repeat("a", 101) }, CodeBadRequest},
		{"field too long", func(p *CreateLinkParams) { p.Fields["gstin"] = strings.Repeat("9", 16) }, CodeBadRequest},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := sampleLink(fmt.Sprintf("V-%d", i))
			c.mod(&p)
			_, err := e.client.CreatePaymentLink(ctx, p)
			wantCode(t, err, c.code, providers.ErrRejected)
		})
	}
	if n := len(e.sb.Invoices()); n != 0 {
		t.Fatalf("refused requests made %d invoices", n)
	}
	// Amount precision is checked on the literal string.
	for _, amt := range []string{"100", "100.5", "100.555", "-1.00", "0.00", "1e3"} {
		body := CreateLinkRequest{
			MerchID: DemoMID, Password: DemoPassword, TemplateID: "1001", MerchantTxnID: "AMT-1",
			Amount: amt, CustomerName: "A", CustomerEmail: "a@b.in",
			Fields:    []FieldValue{{Name: "description", Value: "x"}},
			Signature: Sign(DemoRequestHashKey, createSigString(DemoMID, DemoPassword, amt, "AMT-1")),
		}
		b, _ := json.Marshal(body)
		if r := postRaw(t, e.srv.URL+PathCreatePaymentLink, string(b)); r.StatusCode != CodeBadRequest {
			t.Fatalf("amount %q: %+v", amt, r)
		}
	}
}

func TestRawRequestCodes(t *testing.T) {
	e := newEnv(t, nil)
	u := e.srv.URL
	if r := postRaw(t, u+PathGetTemplate, `{"merchId":`); r.StatusCode != CodeInvalidJSON {
		t.Fatalf("truncated JSON: %+v", r)
	}
	if r := postRaw(t, u+PathGetTemplate, `{"merchId":"317157","password":"Test@123","signature":"x","extra":1}`); r.StatusCode != CodeInvalidJSON {
		t.Fatalf("unknown key: %+v", r)
	}
	if r := postRaw(t, u+PathGetTemplate, `{"merchId":"317157"}`); r.StatusCode != CodeParamsMissing || !strings.Contains(r.StatusDesc, "password") {
		t.Fatalf("missing params: %+v", r)
	}
	if r := postRaw(t, u+PathPrefix+"deleteInvoice", `{}`); r.StatusCode != CodeActionNotFound {
		t.Fatalf("unknown action: %+v", r)
	}
	res, err := http.Get(u + PathGetTemplate)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET on a POST call: %d", res.StatusCode)
	}
}

func TestInvoiceNotFound(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.client.ResendPaymentLink(context.Background(), "INV999")
	wantCode(t, err, CodeInvoiceNotFound, providers.ErrNotFound)
	_, err = e.client.CancelPaymentLink(context.Background(), "INV999")
	wantCode(t, err, CodeInvoiceNotFound, providers.ErrNotFound)
}

func TestResendCancelledOTS1015(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	l, err := e.client.CreatePaymentLink(ctx, sampleLink("C-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CancelPaymentLink(ctx, l.InvoiceNo); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ResendPaymentLink(ctx, l.InvoiceNo)
	wantCode(t, err, CodeCancelledInvoice, providers.ErrRejected)
	_, err = e.client.CancelPaymentLink(ctx, l.InvoiceNo)
	wantCode(t, err, CodeCancelledInvoice, providers.ErrRejected)
	if inv := e.sb.Invoices()[0]; inv.Sends != 1 || inv.Status != InvoiceCancelled {
		t.Fatalf("%+v", inv)
	}
	// A cancelled invoice cannot be paid.
	res := ctlPost(t, e, "/invoices/"+l.InvoiceNo+"/paid", "")
	if res != http.StatusConflict || len(e.sb.Ledger().Entries()) != 0 {
		t.Fatalf("paying a cancelled invoice: %d", res)
	}
}

func ctlPost(t *testing.T, e *env, path, body string) int {
	t.Helper()
	res, err := http.Post(e.ctl.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestDuplicateMerchantTxnID(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	first, err := e.client.CreatePaymentLink(ctx, sampleLink("DUP-1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CreatePaymentLink(ctx, sampleLink("DUP-1"))
	ee := wantCode(t, err, codeDuplicateTxn, providers.ErrDuplicate)
	if ee.Existing == nil || ee.Existing.InvoiceNo != first.InvoiceNo || ee.Existing.PaymentLink != first.PaymentLink {
		t.Fatalf("duplicate should name the first invoice: %+v", ee.Existing)
	}
	// Even a different amount is refused: one link per merchantTxnId.
	p := sampleLink("DUP-1")
	p.AmountPaise = 1
	_, err = e.client.CreatePaymentLink(ctx, p)
	wantCode(t, err, codeDuplicateTxn, providers.ErrDuplicate)

	// The adapter turns a same-amount replay into the original link …
	l, err := e.adapter.CreateLink(ctx, providers.LinkRequest{
		ID: "DUP-1", TemplateID: "1001", AmountPaise: 150075, CustomerName: "Asha Rao",
		CustomerEmail: "asha@example.in", Fields: map[string]string{"description": "March retainer"},
	})
	if err != nil || l.InvoiceNo != first.InvoiceNo {
		t.Fatalf("adapter replay: %+v %v", l, err)
	}
	// … but not a different request reusing the id.
	_, err = e.adapter.CreateLink(ctx, providers.LinkRequest{
		ID: "DUP-1", TemplateID: "1001", AmountPaise: 99, CustomerName: "Asha Rao",
		CustomerEmail: "asha@example.in", Fields: map[string]string{"description": "x"},
	})
	if !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("adapter conflicting reuse: %v", err)
	}
	if n := len(e.sb.Invoices()); n != 1 {
		t.Fatalf("%d invoices for one merchantTxnId", n)
	}
}

func TestResponseSignatureChecked(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ResponseHashKey = "someone-else" })
	ctx := context.Background()
	_, err := e.client.GetTemplate(ctx)
	wantCode(t, err, CodeBadSignature, providers.ErrAuth)
	_, err = e.client.CreatePaymentLink(ctx, sampleLink("RS-1"))
	wantCode(t, err, CodeBadSignature, providers.ErrOutcomeUnknown)
	// Unsigned refusals are still read (they cannot claim success).
	e2 := newEnv(t, func(c *Config) { c.ResponseHashKey = "someone-else"; c.Password = "bad" })
	_, err = e2.client.GetTemplate(ctx)
	wantCode(t, err, CodeInvalidMerchant, providers.ErrAuth)
}

func TestForgedSuccessRefused(t *testing.T) {
	// A server that answers success without signing must not be believed.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sandboxkit.WriteJSON(w, 200, &Response{StatusCode: CodeLinkSent, MerchID: DemoMID, MerchantTxnID: "F-1", InvoiceNo: "INV1", Amount: "1500.75"})
	}))
	defer srv.Close()
	c, _ := NewClient(DemoConfig(srv.URL))
	_, err := c.CreatePaymentLink(context.Background(), sampleLink("F-1"))
	wantCode(t, err, CodeBadSignature, providers.ErrOutcomeUnknown)
}

func TestLifecyclePaidAndExpired(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a, _ := e.client.CreatePaymentLink(ctx, sampleLink("L-PAID"))
	b, _ := e.client.CreatePaymentLink(ctx, sampleLink("L-EXP"))

	if code := ctlPost(t, e, "/invoices/"+a.InvoiceNo+"/paid", `{"bankRef":"ATOMREF1"}`); code != 200 {
		t.Fatalf("mark paid: %d", code)
	}
	if code := ctlPost(t, e, "/invoices/"+a.InvoiceNo+"/paid", ``); code != http.StatusConflict {
		t.Fatalf("second mark paid: %d", code)
	}
	if code := ctlPost(t, e, "/invoices/INV0/paid", ``); code != http.StatusNotFound {
		t.Fatalf("unknown invoice: %d", code)
	}
	ents := e.sb.Ledger().Entries()
	if len(ents) != 1 || ents[0].Ref != "L-PAID" || ents[0].AmountPaise != 150075 || ents[0].UTR != "ATOMREF1" {
		t.Fatalf("ledger %+v", ents)
	}
	_, err := e.client.ResendPaymentLink(ctx, a.InvoiceNo)
	wantCode(t, err, CodeRequestFailed, providers.ErrRejected)
	_, err = e.client.CancelPaymentLink(ctx, a.InvoiceNo)
	wantCode(t, err, CodeRequestFailed, providers.ErrRejected)

	e.clock.Advance(defaultLinkTTL)
	_, err = e.client.ResendPaymentLink(ctx, b.InvoiceNo)
	ee := wantCode(t, err, CodeRequestFailed, providers.ErrRejected)
	if !strings.Contains(ee.Message, InvoiceExpired) {
		t.Fatalf("%q", ee.Message)
	}
	if code := ctlPost(t, e, "/invoices/"+b.InvoiceNo+"/paid", ``); code != http.StatusConflict {
		t.Fatalf("paying expired: %d", code)
	}
	// The control listing shows both ends.
	res, err := http.Get(e.ctl.URL + "/invoices")
	if err != nil {
		t.Fatal(err)
	}
	var list []Invoice
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list) != 2 || list[0].Status != InvoicePaid || list[1].Status != InvoiceExpired {
		t.Fatalf("%+v", list)
	}
	if len(e.sb.Ledger().Entries()) != 1 {
		t.Fatal("ledger grew")
	}
}

func TestReadRetriesTransient(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ReadRetries = 5 })
	e.sb.Injector().Set(sandboxkit.Faults{Seed: 7, ErrorRate: 0.5})
	for i := 0; i < 20; i++ {
		if _, err := e.client.GetTemplate(context.Background()); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if e.sb.Injector().Counts()[sandboxkit.Error5xx] == 0 {
		t.Fatal("no faults were injected; the test proves nothing")
	}
	// A write meeting a 503 is not retried and says so.
	e.sb.Injector().Set(sandboxkit.Faults{ErrorRate: 1})
	_, err := e.client.CreatePaymentLink(context.Background(), sampleLink("W-1"))
	wantCode(t, err, CodeHTTP, providers.ErrTransient)
	if n := e.sb.Injector().Counts()[sandboxkit.Error5xx]; n != 1 {
		t.Fatalf("write attempted %d times", n)
	}
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := NewClient(DemoConfig("http://" + addr))
	_, err = c.CreatePaymentLink(context.Background(), sampleLink("X-1"))
	wantCode(t, err, CodeTransport, providers.ErrTransient)
}

func TestDropAndMalformedAreUnknown(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	ctx := context.Background()
	for _, f := range []sandboxkit.Faults{{DropRate: 1}, {MalformedRate: 1}, {HangRate: 1, HangFor: time.Second}} {
		e.sb.Injector().Set(f)
		_, err := e.client.CreatePaymentLink(ctx, sampleLink(fmt.Sprintf("U-%v", f)))
		if !errors.Is(err, providers.ErrOutcomeUnknown) {
			t.Fatalf("%+v: want unknown outcome, got %v", f, err)
		}
	}
}

// TestFaultsNeverDuplicateLinks creates links through heavy faults, following
// the rule: on an unknown outcome ask again with the same merchantTxnId (the
// provider's duplicate guard answers with the invoice it has) — and proves
// every id ends with exactly one invoice, then pays them all exactly once.
func TestFaultsNeverDuplicateLinks(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Timeout = 200 * time.Millisecond; c.ReadRetries = -1 })
	e.sb.Injector().Set(sandboxkit.Faults{Seed: 42, ErrorRate: 0.08, HangRate: 0.08, DropRate: 0.08, MalformedRate: 0.08, HangFor: 400 * time.Millisecond})
	const n = 300
	ids := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	links := map[string]string{}
	errs := make(chan error, n)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				id := fmt.Sprintf("FT-%04d", i)
				var l providers.Link
				var err error
				for attempt := 0; attempt < 40; attempt++ {
					l, err = e.adapter.CreateLink(context.Background(), providers.LinkRequest{
						ID: id, TemplateID: "1001", AmountPaise: int64(1000 + i), CustomerName: "Load Test",
						CustomerEmail: "load@example.in", Fields: map[string]string{"description": "fault run"},
					})
					if err == nil || !(errors.Is(err, providers.ErrOutcomeUnknown) || errors.Is(err, providers.ErrTransient)) {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					continue
				}
				mu.Lock()
				links[id] = l.InvoiceNo
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		ids <- i
	}
	close(ids)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	counts := e.sb.Injector().Counts()
	if counts[sandboxkit.DropAfterAccept] == 0 || counts[sandboxkit.HangAfter] == 0 || counts[sandboxkit.Malformed] == 0 {
		t.Fatalf("faults not exercised: %v", counts)
	}
	invs := e.sb.Invoices()
	if len(invs) != n {
		t.Fatalf("%d invoices for %d ids", len(invs), n)
	}
	for _, inv := range invs {
		if links[inv.MerchantTxnID] != inv.InvoiceNo {
			t.Fatalf("adapter returned %q for %s, sandbox has %q", links[inv.MerchantTxnID], inv.MerchantTxnID, inv.InvoiceNo)
		}
	}
	e.sb.Injector().Set(sandboxkit.Faults{})
	for _, inv := range invs {
		if _, err := e.sb.MarkPaid(inv.InvoiceNo, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sb.MarkPaid(inv.InvoiceNo, ""); err == nil {
			t.Fatal("paid twice")
		}
	}
	if got := len(e.sb.Ledger().Entries()); got != n || len(e.sb.Ledger().Duplicates()) != 0 {
		t.Fatalf("ledger: %d entries, duplicates %v", got, e.sb.Ledger().Duplicates())
	}
}

func TestConcurrentSameTxnOneInvoice(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	var ok, dup sync.Map
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l, err := e.client.CreatePaymentLink(context.Background(), sampleLink("RACE-1"))
			if err == nil {
				ok.Store(i, l.InvoiceNo)
			} else if errors.Is(err, providers.ErrDuplicate) {
				dup.Store(i, true)
			} else {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	wins := 0
	ok.Range(func(_, _ any) bool { wins++; return true })
	if wins != 1 || len(e.sb.Invoices()) != 1 {
		t.Fatalf("%d successes, %d invoices", wins, len(e.sb.Invoices()))
	}
}

func TestErrorsTableComplete(t *testing.T) {
	for _, c := range []string{"OTS0000", "OTS0001", "OTS0002"} {
		if !IsSuccess(c) {
			t.Fatal(c)
		}
	}
	for i := 1001; i <= 1015; i++ {
		c := fmt.Sprintf("OTS%d", i)
		if Describe(c) == "" || IsSuccess(c) {
			t.Fatalf("%s missing from table", c)
		}
		if classify(c, false) == nil {
			t.Fatalf("%s has no sentinel", c)
		}
	}
	if !errors.Is(classify("OTS1010", false), providers.ErrOutcomeUnknown) || !errors.Is(classify("OTS1010", true), providers.ErrTransient) {
		t.Fatal("OTS1010")
	}
	if !errors.Is(classify("OTS7777", false), providers.ErrOutcomeUnknown) {
		t.Fatal("unknown code on a write must be unknown outcome")
	}
}

func TestNewClientNeedsCredentials(t *testing.T) {
	if _, err := NewClient(Config{BaseURL: "http://x"}); err == nil {
		t.Fatal("accepted empty credentials")
	}
}

package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"paydesk/db"
	"paydesk/providers"
)

// approvedTestContact makes a vendor as admin whose bank details the
// checker approved.
func (e *testEnv) approvedTestContact(t *testing.T, name, account, ifsc string) db.Contact {
	t.Helper()
	ctx := context.Background()
	admin, _ := e.db.UserByUsername(ctx, "admin")
	checker, _ := e.db.UserByUsername(ctx, "checker")
	ct, req, err := e.srv.Contacts.Create(ctx, admin, db.ContactInput{Kind: db.ContactVendor, CompanyName: name,
		FirstName: "Asha", LastName: "Rao", Email: "accounts@example.in", AccountNo: account, IFSC: ifsc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Approvals.Approve(ctx, checker, req.ID); err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestPayoutFormPaysAContactAtItsApprovedDetails(t *testing.T) {
	e := newTestEnv(t, false)
	ct := e.approvedTestContact(t, "Kaveri Steel", "50100234567890", "HDFC0001234")
	maker := e.client()
	maker.signIn("maker")

	// The picker finds the contact as the maker types; choosing it (htmx)
	// re-renders the form without bank fields and keeps what was typed.
	_, page := maker.get("/payouts/contacts?contact_q=kav", "HX-Request", "true")
	if !strings.Contains(page, "Kaveri Steel · …7890 · HDFC0001234") || !strings.Contains(page, `&#34;pick&#34;:&#34;`+ct.ID+`&#34;`) {
		t.Fatalf("contact not offered in the picker: %s", page)
	}
	resp, frag := maker.get("/payouts/new?contact="+ct.ID+"&amount=12%2C500&purpose=Invoice+9", "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || strings.Contains(frag, "<html") || strings.Contains(frag, `name="account_no"`) ||
		!strings.Contains(frag, "account 50100234567890, IFSC HDFC0001234") || !strings.Contains(frag, `value="12,500"`) {
		t.Fatalf("contact form fragment %d: %s", resp.StatusCode, frag)
	}

	form := url.Values{"_csrf": {maker.csrf}, "contact": {ct.ID}, "amount": {"12,500"}, "rail": {"NEFT"},
		"source": {db.SourceKotakCMS}, "purpose": {"Invoice 9"}}
	resp, _ = maker.post("/payouts", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("propose: %d", resp.StatusCode)
	}
	list, _, _ := e.srv.Payouts.List(context.Background(), db.PayoutFilter{})
	if len(list) != 1 || list[0].ContactID != ct.ID || list[0].AccountNo != "50100234567890" {
		t.Fatalf("payouts %+v", list)
	}

	// Smuggled bank details beside a contact: refused, audited, nothing saved.
	smuggled := url.Values{"_csrf": {maker.csrf}, "contact": {ct.ID}, "account_no": {"99990000111"}, "ifsc": {"ICIC0000001"},
		"amount": {"1"}, "rail": {"NEFT"}, "source": {db.SourceKotakCMS}}
	resp, _ = maker.post("/payouts", smuggled)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("smuggled: %d, want 403", resp.StatusCode)
	}
	refusals, _, _ := e.db.ListAudit(context.Background(), db.AuditFilter{Action: "approval.refused", Actor: "maker"})
	if len(refusals) != 1 {
		t.Fatalf("refusals audited: %d", len(refusals))
	}
	if list, _, _ := e.srv.Payouts.List(context.Background(), db.PayoutFilter{}); len(list) != 1 {
		t.Fatalf("a smuggled payout was saved: %d", len(list))
	}

	// The maker edits the IFSC: a payout to the contact is refused beside
	// the contact field, with everything typed kept.
	ctx := context.Background()
	makerUser, _ := e.db.UserByUsername(ctx, "maker")
	if _, _, err := e.srv.Contacts.Update(ctx, makerUser, ct.ID, db.ContactInput{Kind: db.ContactVendor, CompanyName: "Kaveri Steel",
		FirstName: "Asha", LastName: "Rao", Email: "accounts@example.in", AccountNo: "50100234567890", IFSC: "ICIC0004321"}); err != nil {
		t.Fatal(err)
	}
	form.Set("amount", "7,000")
	resp, page = maker.post("/payouts", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "held until a checker approves the change") ||
		!strings.Contains(page, `value="7,000"`) {
		t.Fatalf("held: %d", resp.StatusCode)
	}
	// And the checker's queue says the earlier payout cannot be approved now.
	checker := e.client()
	checker.signIn("checker")
	if _, q := checker.get("/queue"); !strings.Contains(q, "contact&#39;s bank details are changing") {
		t.Fatal("queue does not warn about the contact's pending change")
	}
}

func TestVendorRequestBecomesAPayoutProposal(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	ct := e.approvedTestContact(t, "JSQ Traders", "50100234567890", "HDFC0001234")
	pm := &collectionsPayMate{}
	if _, err := db.NewContactSync(e.db, e.srv.Contacts, pm).SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ct, _ = e.srv.Contacts.Get(ctx, ct.ID)
	pm.vendor = []providers.VendorRequest{{ProviderRef: "100000000042", ContactRef: ct.ProviderID, VendorName: "JSQ Traders",
		AmountPaise: 1_23_456_78, Purpose: "Invoice INV1001", InvoiceNo: "INV1001", RequestedAt: e.clock.Now()}}
	if _, err := db.NewCollections(e.db, pm).SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}

	checker := e.client()
	checker.signIn("checker")
	if resp, _ := checker.post("/payouts/from-vendor-request/1", url.Values{"_csrf": {checker.csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker proposing: %d, want 403", resp.StatusCode)
	}
	maker := e.client()
	maker.signIn("maker")
	resp, _ := maker.post("/payouts/from-vendor-request/1", url.Values{"_csrf": {maker.csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/payouts/PO") {
		t.Fatalf("propose: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := maker.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "INV1001") || !strings.Contains(page, "₹1,23,456.78") || !strings.Contains(page, "JSQ Traders") {
		t.Fatal("payout page does not show the vendor request it settles")
	}
	// Twice is refused: the request is proposed already.
	if resp, _ := maker.post("/payouts/from-vendor-request/1", url.Values{"_csrf": {maker.csrf}}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second proposal: %d, want 409", resp.StatusCode)
	}
	if _, body := maker.get("/collections/vendor-requests?state=proposed"); !strings.Contains(body, "INV1001") {
		t.Fatal("vendor request not listed as proposed")
	}
}

// TestPayoutAmountCommasMustGroupDigits: "10,50", ten rupees fifty typed
// with a decimal comma, is refused beside the amount, not proposed as
// ₹1,050.00; the form keeps what was typed.
func TestPayoutAmountCommasMustGroupDigits(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.signIn("maker")
	resp, page := c.post("/payouts", url.Values{"_csrf": {c.csrf}, "beneficiary_name": {"Kaveri Traders"}, "account_no": {"50100012345678"},
		"ifsc": {"HDFC0001234"}, "amount": {"10,50"}, "rail": {"NEFT"}, "source": {db.SourceKotakCMS}, "purpose": {"test"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf(`amount "10,50": status %d, want 422`, resp.StatusCode)
	}
	if !strings.Contains(page, `value="10,50"`) || !strings.Contains(page, "Kaveri Traders") {
		t.Errorf("the form lost what was typed")
	}
}

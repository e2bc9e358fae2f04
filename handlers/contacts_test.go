package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"paydesk/db"
)

func contactForm(csrf string, kv ...string) url.Values {
	f := url.Values{"_csrf": {csrf}, "kind": {"vendor"}, "company_name": {"Acme Traders Pvt. Ltd."}, "first_name": {"Asha"},
		"last_name": {"Rao"}, "email": {"accounts@acme.example.in"}, "mobile": {"9876543210"}, "gstin": {"27ABCDE1234F1Z5"},
		"account_no": {"50100234567890"}, "ifsc": {"HDFC0001234"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

var contactLocation = regexp.MustCompile(`^/contacts/(CT[A-Z2-7]{10})\?`)

// createContact posts the form as c and returns the new contact's id.
func (e *testEnv) createContact(t *testing.T, c *client, kv ...string) string {
	t.Helper()
	resp, body := c.post("/contacts", contactForm(c.csrf, kv...))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create contact: %d %s", resp.StatusCode, body)
	}
	m := contactLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("create contact: redirected to %q", resp.Header.Get("Location"))
	}
	return m[1]
}

// pendingRequest is the waiting 'contact_bank' request of contact id, as the
// checker's queue lists it.
func (e *testEnv) pendingRequest(t *testing.T, id string) (db.ApprovalRequest, bool) {
	t.Helper()
	checker, err := e.db.UserByUsername(context.Background(), "checker")
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := e.srv.Approvals.Queue(context.Background(), checker, db.QueueFilter{Kind: db.ContactBankKind, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.TargetID == id {
			return it.ApprovalRequest, true
		}
	}
	return db.ApprovalRequest{}, false
}

func (e *testEnv) approveContactBank(t *testing.T, id string) {
	t.Helper()
	r, ok := e.pendingRequest(t, id)
	if !ok {
		t.Fatalf("no bank request waits for %s", id)
	}
	checker := e.client()
	checker.signIn("checker")
	resp, body := checker.post("/approvals/"+strconv.FormatInt(r.ID, 10)+"/approve", url.Values{"_csrf": {checker.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve request %d: %d %s", r.ID, resp.StatusCode, body)
	}
}

func TestContactBankDetailsNeedAChecker(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	maker := e.client()
	maker.signIn("maker")
	resp, page := maker.get("/contacts/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="company_name"`) || !strings.Contains(page, `inputmode="numeric"`) {
		t.Fatalf("new contact form: %d", resp.StatusCode)
	}
	id := e.createContact(t, maker)

	// Not payable: the details wait for a checker, and the page says so.
	if _, _, err := e.srv.Contacts.PayableDetails(ctx, id); db.ErrorCode(err) != db.ECONFLICT {
		t.Fatalf("payable before approval: %v", err)
	}
	r, ok := e.pendingRequest(t, id)
	if !ok {
		t.Fatal("no contact_bank request after creating a contact with bank details")
	}
	resp, page = maker.get("/contacts/" + id + "?saved=created&request=" + strconv.FormatInt(r.ID, 10))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("contact page: %d", resp.StatusCode)
	}
	for _, want := range []string{fmt.Sprintf("Bank details sent for approval (request #%d)", r.ID), "None approved yet",
		"payouts to this contact are not possible", fmt.Sprintf(`href="/approvals/%d"`, r.ID), "50100234567890",
		"No payouts to this contact yet", "No payment requests yet"} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("contact page lacks %q", want)
		}
	}
	if strings.Contains(page, "/payouts/new?contact=") {
		t.Error("Propose payout offered while the bank details wait")
	}

	// The checker sees the field-level change in the queue and on the request.
	checker := e.client()
	checker.signIn("checker")
	_, queue := checker.get("/queue")
	if !strings.Contains(queue, `class="diff"`) || !strings.Contains(queue, "<ins class=\"mono\">HDFC0001234</ins>") ||
		!strings.Contains(queue, "Account number") {
		t.Fatal("the queue does not show the bank change field by field")
	}
	_, req := checker.get("/approvals/" + strconv.FormatInt(r.ID, 10))
	if !strings.Contains(req, "diff-table") || !strings.Contains(req, `href="/contacts/`+id+`"`) ||
		!strings.Contains(req, "<ins class=\"mono\">50100234567890</ins>") {
		t.Fatal("the request page does not show the change table and the contact")
	}

	e.approveContactBank(t, id)
	acct, ifsc, err := e.srv.Contacts.PayableDetails(ctx, id)
	if err != nil || acct != "50100234567890" || ifsc != "HDFC0001234" {
		t.Fatalf("payable after approval: %q %q %v", acct, ifsc, err)
	}
	_, page = maker.get("/contacts/" + id)
	if !strings.Contains(page, "/payouts/new?contact="+id) || strings.Contains(page, "Change pending") {
		t.Fatal("an approved contact's page does not offer Propose payout")
	}
}

func TestContactFormErrorsBesideFieldsAndValuesKept(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	form := contactForm(admin.csrf, "company_name", "Acme & Sons", "mobile", "12345", "ifsc", "HDFC1234567", "email", "asha@@x")
	resp, page := admin.post("/contacts", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid contact: %d", resp.StatusCode)
	}
	text := html.UnescapeString(page)
	for _, want := range []string{"The company name may hold letters", "10-digit Indian mobile number", "11-character IFSC",
		"valid email address", `value="Acme & Sons"`, `value="12345"`, `value="HDFC1234567"`, `value="asha@@x"`,
		`value="50100234567890"`, `value="27ABCDE1234F1Z5"`, "Nothing was saved"} {
		if !strings.Contains(text, want) {
			t.Errorf("re-rendered form lacks %q", want)
		}
	}
	// The message sits beside its field: inside the same .field block.
	if !regexp.MustCompile(`(?s)<div class="field invalid[^"]*"><label for="c-mobile">.*?10-digit Indian mobile`).MatchString(page) {
		t.Error("the mobile message is not beside the mobile field")
	}
	if !strings.Contains(page, "<html") {
		t.Error("a plain POST should get the whole page back")
	}
	// htmx gets the form alone.
	resp, frag := admin.post("/contacts", form, "HX-Request", "true")
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(frag, "<html") || !strings.Contains(frag, `id="contact-form"`) {
		t.Fatalf("htmx invalid contact: %d", resp.StatusCode)
	}
	list, _, _ := e.srv.Contacts.List(context.Background(), db.ContactFilter{})
	if len(list) != 0 {
		t.Fatalf("an invalid contact was saved: %+v", list)
	}
	// A valid htmx create answers with HX-Redirect to the contact.
	resp, _ = admin.post("/contacts", contactForm(admin.csrf), "HX-Request", "true")
	if resp.StatusCode != http.StatusNoContent || !strings.HasPrefix(resp.Header.Get("HX-Redirect"), "/contacts/CT") {
		t.Fatalf("htmx create: %d %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
}

func TestContactRolesAndCSRF(t *testing.T) {
	e := newTestEnv(t, false)
	checker := e.client()
	checker.signIn("checker")
	if resp, _ := checker.get("/contacts/new"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker opens the new contact form: %d", resp.StatusCode)
	}
	if resp, _ := checker.post("/contacts", contactForm(checker.csrf)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker creates a contact: %d", resp.StatusCode)
	}
	resp, page := checker.get("/contacts")
	if resp.StatusCode != http.StatusOK || strings.Contains(page, `href="/contacts/new"`) || !strings.Contains(page, `href="/contacts"`) {
		t.Fatalf("checker's contact list: %d", resp.StatusCode)
	}
	maker := e.client()
	maker.signIn("maker")
	form := contactForm(maker.csrf)
	form.Del("_csrf")
	if resp, _ := maker.post("/contacts", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("create without CSRF token: %d", resp.StatusCode)
	}
	id := e.createContact(t, maker)
	if resp, _ := maker.post("/contacts/"+id, contactForm("", "company_name", "Changed")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("update without CSRF token: %d", resp.StatusCode)
	}
	if resp, _ := checker.post("/contacts/"+id, contactForm(checker.csrf, "company_name", "Changed")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker updates a contact: %d", resp.StatusCode)
	}
	ct, _ := e.srv.Contacts.Get(context.Background(), id)
	if ct.CompanyName != "Acme Traders Pvt. Ltd." {
		t.Fatalf("refused updates changed the contact: %q", ct.CompanyName)
	}
	// The checker may look.
	if resp, _ := checker.get("/contacts/" + id); resp.StatusCode != http.StatusOK {
		t.Fatalf("checker views a contact: %d", resp.StatusCode)
	}
	if resp, _ := checker.get("/contacts/CTAAAAAAAAAA"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown contact: %d", resp.StatusCode)
	}
	if resp, _ := checker.get("/contacts/not-an-id"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("path that is no contact id: %d", resp.StatusCode)
	}
}

// A crafted update that smuggles new bank details beside an unrelated change
// does not change what payouts use; the change waits for a checker and the
// update is audited.
func TestContactBankSmugglingDoesNotReachPayouts(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	maker := e.client()
	maker.signIn("maker")
	id := e.createContact(t, maker)
	e.approveContactBank(t, id)

	for _, allowOld := range []bool{true, false} {
		name := fmt.Sprintf("Acme Traders %v", allowOld)
		form := contactForm(maker.csrf, "company_name", name, "account_no", "99990000111122", "ifsc", "ICIC0004321",
			"approved_account_no", "99990000111122", "approved_ifsc", "ICIC0004321", "pending_account_no", "",
			"sync_state", "synced", "reference_code", "EVIL1", "id", "CTZZZZZZZZZZ")
		if allowOld {
			form.Set("allow_old_while_pending", "1")
		}
		resp, body := maker.post("/contacts/"+id, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("update: %d %s", resp.StatusCode, body)
		}
		ct, err := e.srv.Contacts.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ct.CompanyName != name || ct.ApprovedAccountNo != "50100234567890" || ct.ApprovedIFSC != "HDFC0001234" ||
			ct.PendingAccountNo != "99990000111122" || ct.ReferenceCode == "EVIL1" || ct.SyncState == db.SyncSynced {
			t.Fatalf("contact after a smuggling update: %+v", ct)
		}
		acct, ifsc, err := e.srv.Contacts.PayableDetails(ctx, id)
		switch {
		case allowOld && (err != nil || acct != "50100234567890" || ifsc != "HDFC0001234"):
			t.Fatalf("allow-old: payouts use %q %q %v, want the old approved details", acct, ifsc, err)
		case !allowOld && (err == nil || acct != "" || ifsc != ""):
			t.Fatalf("held: payouts use %q %q %v, want held", acct, ifsc, err)
		}
		r, ok := e.pendingRequest(t, id)
		if !ok {
			t.Fatal("no approval request for the smuggled bank details")
		}
		if ch, _ := e.srv.Contacts.BankChangeOf(r); len(ch.Fields) != 2 || ch.Fields[0].New != "99990000111122" || ch.Fields[1].New != "ICIC0004321" {
			t.Fatalf("request diff: %+v", ch.Fields)
		}
		// The page names the waiting request, and what payouts do meanwhile.
		_, page := maker.get("/contacts/" + id)
		if !strings.Contains(page, fmt.Sprintf(`href="/approvals/%d"`, r.ID)) {
			t.Fatal("contact page does not link the waiting request")
		}
		if allowOld != strings.Contains(page, "old details still usable") {
			t.Fatalf("allow-old=%v wording wrong", allowOld)
		}
		entries, _, err := e.db.ListAudit(ctx, db.AuditFilter{Action: "contact.updated", Target: "contact:" + id})
		if err != nil || len(entries) == 0 || entries[0].Actor != "maker" || !strings.Contains(entries[0].Details, "99990000111122") {
			t.Fatalf("contact.updated audit: %v %+v", err, entries)
		}
		// Withdraw it for the next round.
		if _, err := e.srv.Approvals.Withdraw(ctx, mustUser(t, e, "maker"), r.ID); err != nil {
			t.Fatal(err)
		}
	}

	// A second change while one waits: the message is shown above the form
	// and what was typed is kept.
	maker.post("/contacts/"+id, contactForm(maker.csrf, "account_no", "11112222333344", "ifsc", "SBIN0001234"))
	resp, page := maker.post("/contacts/"+id, contactForm(maker.csrf, "account_no", "55556666777788", "ifsc", "UTIB0001234"))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "already waits for approval") ||
		!strings.Contains(page, `value="55556666777788"`) {
		t.Fatalf("second change: %d", resp.StatusCode)
	}
	resp, frag := maker.post("/contacts/"+id, contactForm(maker.csrf, "account_no", "55556666777788", "ifsc", "UTIB0001234"),
		"HX-Request", "true")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(frag, "already waits for approval") || strings.Contains(frag, "<html") {
		t.Fatalf("second change (htmx): %d %s", resp.StatusCode, frag)
	}
}

func mustUser(t *testing.T, e *testEnv, name string) db.User {
	t.Helper()
	u, err := e.db.UserByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestContactListSearchFilterPagingAndCSV(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	admin := e.client()
	admin.signIn("admin")
	_, page := admin.get("/contacts")
	if !strings.Contains(page, "No contacts yet") {
		t.Fatal("empty list lacks its empty state")
	}
	maker := mustUser(t, e, "maker")
	for i := range 55 {
		in := db.ContactInput{Kind: db.ContactCustomer, CompanyName: fmt.Sprintf("Customer %02d", i), FirstName: "Ravi", LastName: "Kumar",
			Email: "ravi@example.in"}
		if _, _, err := e.srv.Contacts.Create(ctx, maker, in); err != nil {
			t.Fatal(err)
		}
	}
	e.createContact(t, admin, "company_name", "@Zeta Supplies", "reference_code", "ZETA01")

	_, page = admin.get("/contacts")
	if strings.Count(page, `<td class="contact-name">`) != 50 || !strings.Contains(page, "Next page") {
		t.Fatal("the first page does not hold 50 contacts and a next link")
	}
	next := regexp.MustCompile(`href="(/contacts\?after=[^"]+)" rel="next"`).FindStringSubmatch(page)
	if next == nil {
		t.Fatal("no next-page link")
	}
	_, page = admin.get(html.UnescapeString(next[1]))
	if n := strings.Count(page, `<td class="contact-name">`); n != 6 || strings.Contains(page, `rel="next"`) {
		t.Fatalf("second page: %d rows", n)
	}

	_, page = admin.get("/contacts?q=zeta01")
	if strings.Count(page, `<td class="contact-name">`) != 1 || !strings.Contains(page, "Zeta Supplies") {
		t.Fatal("search by reference code")
	}
	_, page = admin.get("/contacts?q=hdfc0001234")
	if strings.Count(page, `<td class="contact-name">`) != 1 {
		t.Fatal("search by IFSC")
	}
	_, page = admin.get("/contacts?q=cust")
	if strings.Count(page, `<td class="contact-name">`) != 50 || !regexp.MustCompile(`href="/contacts\?after=CT[A-Z2-7]+&amp;q=cust" rel="next"`).MatchString(page) {
		t.Fatal("search by name prefix, paged with the search kept")
	}
	_, page = admin.get("/contacts?q=nobody")
	if !strings.Contains(page, "No contacts match") {
		t.Fatal("a search matching nothing lacks its empty state")
	}
	_, page = admin.get("/contacts?kind=vendor")
	if strings.Count(page, `<td class="contact-name">`) != 1 || !strings.Contains(page, "Awaiting approval") {
		t.Fatal("kind filter")
	}
	_, page = admin.get("/contacts?kind=customer&bank=yes")
	if !strings.Contains(page, "No contacts match") {
		t.Fatal("bank filter")
	}
	_, page = admin.get("/contacts?sync=failed")
	if !strings.Contains(page, "No contacts match") {
		t.Fatal("sync filter")
	}

	resp, body := admin.get("/contacts.csv?kind=vendor")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "id" || rows[0][2] != "company_name" || rows[1][2] != "'@Zeta Supplies" ||
		rows[1][11] != "50100234567890" || rows[1][9] != "" {
		t.Fatalf("vendor csv: %q", rows)
	}
	_, body = admin.get("/contacts.csv")
	if rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); len(rows) != 57 {
		t.Fatalf("full csv: %d rows, want 57 (header and 56 contacts over every page)", len(rows))
	}
}

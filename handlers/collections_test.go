package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/db"
	"paydesk/providers"
)

// collectionsPayMate stands in for PayMate where the web tests need it: it
// registers contacts (so they can be chosen) and lists vendors' requests.
type collectionsPayMate struct {
	vendor []providers.VendorRequest
}

func (f *collectionsPayMate) AddContact(_ context.Context, c providers.Contact) (providers.Contact, error) {
	c.ProviderID = "PX" + c.ReferenceCode[len(c.ReferenceCode)-6:]
	return c, nil
}

func (f *collectionsPayMate) ListContacts(context.Context) ([]providers.Contact, error) {
	return nil, nil
}

func (f *collectionsPayMate) RequestPayment(context.Context, providers.CollectionRequest) (providers.CollectionStatus, error) {
	return providers.CollectionStatus{}, providers.ErrTransient
}

func (f *collectionsPayMate) CollectionStatus(context.Context, string) (providers.CollectionStatus, error) {
	return providers.CollectionStatus{}, providers.ErrNotFound
}

func (f *collectionsPayMate) VendorRequests(context.Context) ([]providers.VendorRequest, error) {
	return f.vendor, nil
}

// customer makes a customer contact through the db, registered at PayMate
// when synced is true.
func (e *testEnv) customer(t *testing.T, name string, synced bool) db.Contact {
	t.Helper()
	ctx := context.Background()
	admin, err := e.db.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	ct, _, err := e.srv.Contacts.Create(ctx, admin, db.ContactInput{Kind: db.ContactCustomer, CompanyName: name,
		FirstName: "Meera", LastName: "Iyer", Email: "ap@kaveri.example.in", Mobile: "9123456780"})
	if err != nil {
		t.Fatal(err)
	}
	if synced {
		if _, err := db.NewContactSync(e.db, e.srv.Contacts, &collectionsPayMate{}).SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ct, err = e.srv.Contacts.Get(ctx, ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func collectionForm(csrf string, kv ...string) url.Values {
	f := url.Values{"_csrf": {csrf}, "payer": {"other"}, "name": {"Asha Rao Traders"}, "email": {"asha@example.in"},
		"mobile": {"98765 43210"}, "amount": {"1,23,456.78"}, "purpose": {"Invoice 2026-114"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

var collectionLocation = regexp.MustCompile(`^/collections/(CR[A-Z2-7]{12})\?created=1$`)

func TestCollectionRequestPages(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")

	resp, body := maker.get("/collections")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "No payment requests yet") ||
		!strings.Contains(body, `href="/collections"`) || !strings.Contains(body, "PayMate is not configured") {
		t.Fatalf("empty list: %d %s", resp.StatusCode, body)
	}

	synced := e.customer(t, "Kaveri Foods Pvt. Ltd.", true)
	unsynced := e.customer(t, "Unsynced Co", false)
	if synced.ProviderID == "" {
		t.Fatalf("not synced: %+v", synced)
	}
	resp, body = maker.get("/collections/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<option value="`+synced.ID+`">Kaveri Foods Pvt. Ltd.`) ||
		!strings.Contains(body, `<option value="`+unsynced.ID+`" disabled>Unsynced Co · ap@kaveri.example.in (not yet registered at PayMate)`) ||
		!strings.Contains(body, `value="contact" checked`) {
		t.Fatalf("form: %d %s", resp.StatusCode, body)
	}

	// Errors beside their fields, everything typed kept; htmx gets the form only.
	resp, body = maker.post("/collections", collectionForm(maker.csrf, "email", "asha@example", "amount", "1,00,00,000"),
		"HX-Request", "true")
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, "<html") ||
		!strings.Contains(body, "Enter a valid email address") || !strings.Contains(body, "PayMate requests at most ₹99,99,999.99") ||
		!strings.Contains(body, `value="asha@example"`) || !strings.Contains(body, `value="1,00,00,000"`) ||
		!strings.Contains(body, `value="Asha Rao Traders"`) || !strings.Contains(body, `value="Invoice 2026-114"`) {
		t.Fatalf("invalid: %d %s", resp.StatusCode, body)
	}
	// A contact not registered at PayMate is refused beside the select.
	resp, body = maker.post("/collections", collectionForm(maker.csrf, "payer", "contact", "contact_id", unsynced.ID))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "is not yet registered at PayMate") ||
		!strings.Contains(body, "<html") {
		t.Fatalf("unsynced contact: %d %s", resp.StatusCode, body)
	}
	// "A contact" chosen, none picked.
	resp, body = maker.post("/collections", collectionForm(maker.csrf, "payer", "contact", "contact_id", ""))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose a contact, or choose") ||
		strings.Contains(body, "Enter the payer&#39;s name") {
		t.Fatalf("no contact: %d %s", resp.StatusCode, body)
	}

	// Someone not registered.
	resp, body = maker.post("/collections", collectionForm(maker.csrf))
	m := collectionLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, body = maker.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "₹1,23,456.78") || !strings.Contains(body, ">queued<") ||
		!strings.Contains(body, "Saved. Paydesk sends it to PayMate in the background") || !strings.Contains(body, "9876543210") ||
		!strings.Contains(body, "collection.created") || !strings.Contains(body, "Waits here until PayMate is configured") {
		t.Fatalf("detail: %d %s", resp.StatusCode, body)
	}

	// A registered contact: the payer is the contact, whatever was typed.
	resp, _ = maker.post("/collections", collectionForm(maker.csrf, "payer", "contact", "contact_id", synced.ID, "name", "ignored"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create for contact: %d", resp.StatusCode)
	}
	_, body = maker.get(resp.Header.Get("Location"))
	if !strings.Contains(body, `<a href="/contacts/`+synced.ID+`">Kaveri Foods Pvt. Ltd.</a>`) || strings.Contains(body, "ignored") {
		t.Fatalf("contact detail: %s", body)
	}

	resp, body = maker.get("/collections?state=queued&q=asha")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<td class="num">₹1,23,456.78</td>`) ||
		!strings.Contains(body, m[1]) || strings.Contains(body, "Kaveri Foods") {
		t.Fatalf("filtered list: %d %s", resp.StatusCode, body)
	}
	if _, body = maker.get("/collections?contact=" + synced.ID); !strings.Contains(body, "Kaveri Foods") || strings.Contains(body, m[1]) {
		t.Fatalf("by contact: %s", body)
	}
	if _, body = maker.get("/collections?state=paid"); !strings.Contains(body, "No requests match") {
		t.Fatalf("no match: %s", body)
	}
	if resp, _ = maker.get("/collections/CRNOSUCHREQUEST"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown id: %d", resp.StatusCode)
	}
}

func TestCollectionRolesAndPages(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	maker, err := e.db.UserByUsername(ctx, "maker")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 51 {
		if _, err := e.srv.Collections.Create(ctx, maker, db.CollectionInput{Name: fmt.Sprintf("Payer %d", i),
			Email: "p@example.in", Mobile: "9876543210", Amount: "100"}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	checker := e.client()
	checker.signIn("checker")
	resp, body := checker.get("/collections")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `href="/collections/new"`) || !strings.Contains(body, "Payer 50") ||
		strings.Contains(body, "<td>Payer 0 <div") {
		t.Fatalf("checker list: %d", resp.StatusCode)
	}
	next := regexp.MustCompile(`href="(/collections\?after=[^"]+)" rel="next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page link")
	}
	if _, body = checker.get(strings.ReplaceAll(next[1], "&amp;", "&")); !strings.Contains(body, "<td>Payer 0 <div") || strings.Contains(body, `rel="next"`) {
		t.Fatalf("page 2: %s", body)
	}
	if resp, _ = checker.get("/collections/new"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker form: %d", resp.StatusCode)
	}
	if resp, _ = checker.post("/collections", collectionForm(checker.csrf)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker create: %d", resp.StatusCode)
	}
	admin := e.client()
	admin.signIn("admin")
	if resp, _ = admin.post("/collections", collectionForm(admin.csrf)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin create: %d", resp.StatusCode)
	}
}

func TestVendorRequestsPage(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	pm := &collectionsPayMate{vendor: []providers.VendorRequest{
		{ProviderRef: "100000000042", ContactRef: "JSQA000001", VendorName: "JSQ Traders", AmountPaise: 1_23_456_78,
			Purpose: "Invoice INV1001", InvoiceNo: "INV1001", RequestedAt: e.clock.Now()},
	}}
	if _, err := db.NewCollections(e.db, pm).SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	maker := e.client()
	maker.signIn("maker")
	resp, body := maker.get("/collections/vendor-requests")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "INV1001") || !strings.Contains(body, "₹1,23,456.78") ||
		!strings.Contains(body, `action="/payouts/from-vendor-request/1"`) || !strings.Contains(body, `action="/collections/vendor-requests/1/dismiss"`) ||
		!strings.Contains(body, `<span class="count">1</span>`) {
		t.Fatalf("maker list: %d %s", resp.StatusCode, body)
	}
	admin := e.client()
	admin.signIn("admin")
	if _, body = admin.get("/collections/vendor-requests"); strings.Contains(body, "from-vendor-request") || !strings.Contains(body, "/dismiss") {
		t.Fatalf("admin sees: %s", body)
	}
	checker := e.client()
	checker.signIn("checker")
	if _, body = checker.get("/collections/vendor-requests"); strings.Contains(body, "from-vendor-request") || strings.Contains(body, "/dismiss") {
		t.Fatalf("checker sees actions: %s", body)
	}
	if resp, _ := checker.post("/collections/vendor-requests/1/dismiss", url.Values{"_csrf": {checker.csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker dismiss: %d", resp.StatusCode)
	}
	resp, _ = maker.post("/collections/vendor-requests/1/dismiss", url.Values{"_csrf": {maker.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dismiss: %d", resp.StatusCode)
	}
	_, body = maker.get(resp.Header.Get("Location"))
	if !strings.Contains(body, "No vendor is waiting to be paid") || !strings.Contains(body, "Vendor request dismissed") {
		t.Fatalf("after dismiss: %s", body)
	}
	if _, body = maker.get("/collections/vendor-requests?state=dismissed"); !strings.Contains(body, "INV1001") || !strings.Contains(body, "by maker") ||
		strings.Contains(body, "from-vendor-request") {
		t.Fatalf("dismissed list: %s", body)
	}
	if resp, _ = maker.post("/collections/vendor-requests/1/dismiss", url.Values{"_csrf": {maker.csrf}}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("dismiss twice: %d", resp.StatusCode)
	}
	if resp, _ = maker.post("/collections/vendor-requests/99/dismiss", url.Values{"_csrf": {maker.csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("dismiss unknown: %d", resp.StatusCode)
	}
}

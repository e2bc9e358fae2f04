package db

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers/paymate"
	"paydesk/providers/sandboxkit"
)

// collectionEnv is Paydesk's collections against the real PayMate sandbox,
// served over HTTP, with the contact sync that registers contacts there.
type collectionEnv struct {
	d       *DB
	clk     *clock
	c       *Contacts
	col     *Collections
	sync    *ContactSync
	pm      *paymate.Sandbox
	admin   User
	maker   User
	checker User
}

func newCollectionEnv(t *testing.T) *collectionEnv {
	t.Helper()
	d, clk := newTestDB(t)
	a := NewApprovals(d, 0)
	pm := paymate.NewSandbox(paymate.SandboxConfig{Step: time.Millisecond})
	mux := http.NewServeMux()
	mux.Handle("/paymate/", http.StripPrefix("/paymate", pm))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := paymate.DemoConfig(srv.URL + "/paymate")
	cfg.Timeout, cfg.RetryBackoff = 2*time.Second, time.Millisecond
	pc, err := paymate.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ad := paymate.NewAdapter(pc)
	c := NewContacts(d, a)
	return &collectionEnv{d: d, clk: clk, c: c, col: NewCollections(d, ad), sync: NewContactSync(d, c, ad), pm: pm,
		admin: mustCreateUser(t, d, "admin", RoleAdmin), maker: mustCreateUser(t, d, "maker", RoleMaker),
		checker: mustCreateUser(t, d, "checker", RoleChecker)}
}

// control calls the PayMate sandbox's control surface.
func (e *collectionEnv) control(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	e.pm.Control().ServeHTTP(rec, httptest.NewRequest(method, path, &buf))
	if rec.Code >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes()
}

// sandboxRequests counts the payment requests PayMate holds with orderID.
func (e *collectionEnv) sandboxRequests(t *testing.T, orderID string) int {
	t.Helper()
	var rows []struct {
		OrderID string `json:"OrderId"`
	}
	if err := json.Unmarshal(e.control(t, http.MethodGet, "/requests", nil), &rows); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if strings.EqualFold(r.OrderID, orderID) {
			n++
		}
	}
	return n
}

// syncedCustomer makes a customer contact and registers it at PayMate.
func (e *collectionEnv) syncedCustomer(t *testing.T) Contact {
	t.Helper()
	ctx := context.Background()
	ct, _, err := e.c.Create(ctx, e.maker, ContactInput{Kind: ContactCustomer, CompanyName: "Kaveri Foods Pvt. Ltd.",
		FirstName: "Meera", LastName: "Iyer", Email: "ap@kaveri.example.in", Mobile: "9123456780"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sync.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ct, err = e.c.Get(ctx, ct.ID)
	if err != nil || ct.ProviderID == "" {
		t.Fatalf("contact not synced: %+v %v", ct, err)
	}
	return ct
}

func goodCollection() CollectionInput {
	return CollectionInput{Name: "Asha Rao Traders", Email: "asha@example.in", Mobile: "9876543210", Amount: "12,500.50",
		Purpose: "Invoice 2026-114, November rent"}
}

func TestCollectionFieldRules(t *testing.T) {
	d, _ := newTestDB(t)
	a := NewApprovals(d, 0)
	contacts := NewContacts(d, a)
	col := NewCollections(d, nil)
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	ctx := context.Background()
	unsynced, _, err := contacts.Create(ctx, maker, ContactInput{Kind: ContactCustomer, CompanyName: "Unsynced Co",
		FirstName: "Uma", LastName: "Das", Email: "uma@unsynced.example"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(*CollectionInput)
		field string // "" = valid
	}{
		{"good", func(*CollectionInput) {}, ""},
		{"name 60", func(in *CollectionInput) { in.Name = strings.Repeat("a", 60) }, ""},
		{"name 61", func(in *CollectionInput) { in.Name = strings.Repeat("a", 61) }, "name"},
		{"name spaces collapse", func(in *CollectionInput) { in.Name = "  Asha   Rao  " }, ""},
		{"name specials", func(in *CollectionInput) { in.Name = "O'Neil-Rao Co. 2" }, ""},
		{"name comma", func(in *CollectionInput) { in.Name = "Rao, Asha" }, "name"},
		{"name ampersand", func(in *CollectionInput) { in.Name = "A & B" }, "name"},
		{"name digits only", func(in *CollectionInput) { in.Name = "12345" }, "name"},
		{"name no letter in 30", func(in *CollectionInput) { in.Name = strings.Repeat("1", 30) + " Acme" }, "name"},
		{"name empty", func(in *CollectionInput) { in.Name = " " }, "name"},
		{"email empty", func(in *CollectionInput) { in.Email = "" }, "email"},
		{"email bad", func(in *CollectionInput) { in.Email = "asha@example" }, "email"},
		{"email 200", func(in *CollectionInput) { in.Email = strings.Repeat("a", 188) + "@example.com" }, ""},
		{"email 201", func(in *CollectionInput) { in.Email = strings.Repeat("a", 189) + "@example.com" }, "email"},
		{"mobile empty", func(in *CollectionInput) { in.Mobile = "" }, "mobile"},
		{"mobile 9 digits", func(in *CollectionInput) { in.Mobile = "987654321" }, "mobile"},
		{"mobile starts 5", func(in *CollectionInput) { in.Mobile = "5876543210" }, "mobile"},
		{"mobile +91 spaced", func(in *CollectionInput) { in.Mobile = "+91 98765 43210" }, ""},
		{"amount empty", func(in *CollectionInput) { in.Amount = "" }, "amount"},
		{"amount text", func(in *CollectionInput) { in.Amount = "ten" }, "amount"},
		{"amount zero", func(in *CollectionInput) { in.Amount = "0" }, "amount"},
		{"amount three decimals", func(in *CollectionInput) { in.Amount = "1.005" }, "amount"},
		{"amount one paisa", func(in *CollectionInput) { in.Amount = "0.01" }, ""},
		{"amount PayMate max", func(in *CollectionInput) { in.Amount = "99,99,999.99" }, ""},
		{"amount above max", func(in *CollectionInput) { in.Amount = "1,00,00,000.00" }, "amount"},
		{"purpose empty", func(in *CollectionInput) { in.Purpose = "" }, ""},
		{"purpose 200", func(in *CollectionInput) { in.Purpose = strings.Repeat("p", 200) }, ""},
		{"purpose 201", func(in *CollectionInput) { in.Purpose = strings.Repeat("p", 201) }, "purpose"},
		{"purpose markup", func(in *CollectionInput) { in.Purpose = "<b>rent</b>" }, "purpose"},
		{"purpose rupee sign", func(in *CollectionInput) { in.Purpose = "₹ rent" }, "purpose"},
		{"contact unknown", func(in *CollectionInput) { in.ContactID = "CTNOSUCHONE" }, "contact_id"},
		{"contact not at PayMate", func(in *CollectionInput) { in.ContactID = unsynced.ID }, "contact_id"},
	}
	valid := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := goodCollection()
			tc.edit(&in)
			cr, err := col.Create(ctx, maker, in)
			fields := FieldErrors(err)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.field == "":
				valid++
				if cr.State != CollectionQueued || !strings.HasPrefix(cr.ID, "CR") || len(cr.ID) != 14 {
					t.Fatalf("%+v", cr)
				}
			case ErrorCode(err) != EINVALID || fields[tc.field] == "":
				t.Fatalf("want error on %s, got %v", tc.field, err)
			case len(fields) != 1:
				t.Fatalf("want only %s, got %v", tc.field, fields)
			}
		})
	}
	if _, err := col.Create(ctx, maker, CollectionInput{ContactID: unsynced.ID, Amount: "10"}); !strings.Contains(
		FieldErrors(err)["contact_id"], "not yet registered at PayMate") {
		t.Fatalf("unsynced contact: %v", err)
	}
	// Nothing was stored for a refused form.
	list, _, err := col.List(ctx, CollectionFilter{Limit: 500})
	if err != nil || len(list) != valid {
		t.Fatalf("stored %d, want %d (%v)", len(list), valid, err)
	}
	got, _, _ := col.List(ctx, CollectionFilter{Query: "O'Neil"})
	if len(got) != 1 || got[0].PayerMobile != "9876543210" {
		t.Fatalf("%+v", got)
	}
	for _, cr := range list {
		if cr.PayerMobile != "9876543210" {
			t.Fatalf("mobile not normalized: %+v", cr)
		}
	}
	verifyAudit(t, d)
}

// The acceptance path: a request to a contact is sent, and reaches paid
// once the sandbox marks it paid.
func TestCollectionToContactReachesPaid(t *testing.T) {
	e := newCollectionEnv(t)
	ctx := context.Background()
	ct := e.syncedCustomer(t)
	cr, err := e.col.Create(ctx, e.maker, CollectionInput{ContactID: ct.ID, Name: "ignored", Amount: "25,000", Purpose: "Invoice 77"})
	if err != nil {
		t.Fatal(err)
	}
	if cr.State != CollectionQueued || cr.ContactRef != ct.ProviderID || cr.PayerName != "Kaveri Foods Pvt. Ltd." ||
		cr.PayerEmail != "ap@kaveri.example.in" || cr.AmountPaise != 25_000_00 {
		t.Fatalf("%+v", cr)
	}
	res, err := e.col.SendNew(ctx)
	if err != nil || res.Sent != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	cr, _, _ = e.col.Get(ctx, cr.ID)
	if cr.State != CollectionPending || cr.ProviderRef == "" || cr.Attempts != 1 || cr.SentAt.IsZero() {
		t.Fatalf("after send: %+v", cr)
	}
	// The first inquiry: PayMate lists it as pending (250), recorded once.
	if res, err := e.col.SyncOnce(ctx); err != nil || res.Sent != 0 || res.Changed != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	// Nothing new at PayMate: a round only notes that it asked.
	if res, err := e.col.SyncOnce(ctx); err != nil || res.Sent != 0 || res.Changed != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	e.control(t, http.MethodPost, "/requests/"+cr.ID+"/paid", map[string]string{"bank_ref_no": "UTR20261121A1"})
	if res, err := e.col.SyncOnce(ctx); err != nil || res.Changed != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	cr, evs, err := e.col.Get(ctx, cr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cr.State != CollectionPaid || cr.UTR != "UTR20261121A1" || cr.PaidAt.IsZero() || cr.FinalAt.IsZero() || cr.ProviderCode != "231" {
		t.Fatalf("after paid: %+v", cr)
	}
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	if !slices.Equal(kinds, []string{"created", "sent", "accepted", "provider_status", "paid"}) {
		t.Fatalf("timeline %v", kinds)
	}
	// Final: never asked about again.
	if res, err := e.col.SyncOnce(ctx); err != nil || res.Changed != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if n := e.sandboxRequests(t, cr.ID); n != 1 {
		t.Fatalf("PayMate holds %d requests", n)
	}
	entries, _, err := e.d.ListAudit(ctx, AuditFilter{Target: "collection_request:" + cr.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range entries {
		actions = append(actions, a.Action)
	}
	slices.Sort(actions)
	if !slices.Equal(actions, []string{"collection.accepted", "collection.created", "collection.paid", "collection.provider_status", "collection.sent"}) {
		t.Fatalf("audit %v", actions)
	}
	if got, _, _ := e.col.List(ctx, CollectionFilter{ContactID: ct.ID, State: CollectionPaid}); len(got) != 1 {
		t.Fatalf("list by contact: %+v", got)
	}
	verifyAudit(t, e.d)
}

func TestCollectionUnregisteredPayerExpires(t *testing.T) {
	e := newCollectionEnv(t)
	ctx := context.Background()
	cr, err := e.col.Create(ctx, e.admin, goodCollection())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.col.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	e.control(t, http.MethodPost, "/requests/"+cr.ID+"/expire", nil)
	if _, err := e.col.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cr, _, _ = e.col.Get(ctx, cr.ID)
	if cr.State != CollectionExpired || cr.FinalAt.IsZero() || cr.ProviderCode != "205" {
		t.Fatalf("%+v", cr)
	}
	verifyAudit(t, e.d)
}

// A lost answer is resolved by asking PayMate; the request is sent again
// only once PayMate has said, well after the send, that it does not have it.
func TestCollectionUnknownOutcomeAsksBeforeResending(t *testing.T) {
	e := newCollectionEnv(t)
	ctx := context.Background()

	// Executed, then the connection dropped: PayMate has it.
	executed, err := e.col.Create(ctx, e.maker, goodCollection())
	if err != nil {
		t.Fatal(err)
	}
	e.pm.Injector().Set(sandboxkit.Faults{DropRate: 1})
	if _, err := e.col.SendNew(ctx); err != nil {
		t.Fatal(err)
	}
	e.pm.Injector().Set(sandboxkit.Faults{})
	got, _, _ := e.col.Get(ctx, executed.ID)
	if got.State != CollectionUnknown || got.Attempts != 1 {
		t.Fatalf("after drop: %+v", got)
	}
	if _, err := e.col.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, _ = e.col.Get(ctx, executed.ID)
	if got.State != CollectionPending || got.Attempts != 1 || got.ProviderRef == "" {
		t.Fatalf("after inquiry: %+v", got)
	}
	if n := e.sandboxRequests(t, executed.ID); n != 1 {
		t.Fatalf("PayMate holds %d requests for %s", n, executed.ID)
	}

	// Refused with a 503 before executing: PayMate does not have it.
	lost, err := e.col.Create(ctx, e.maker, goodCollection())
	if err != nil {
		t.Fatal(err)
	}
	e.pm.Injector().Set(sandboxkit.Faults{ErrorRate: 1})
	if _, err := e.col.SendNew(ctx); err != nil {
		t.Fatal(err)
	}
	e.pm.Injector().Set(sandboxkit.Faults{})
	got, _, _ = e.col.Get(ctx, lost.ID)
	if got.State != CollectionUnknown || got.Attempts != 1 {
		t.Fatalf("after 503: %+v", got)
	}
	// Within the grace period "not found" is not trusted: nothing is sent.
	e.clk.Advance(time.Minute)
	if res, err := e.col.SyncOnce(ctx); err != nil || res.Sent != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	got, _, _ = e.col.Get(ctx, lost.ID)
	if got.State != CollectionUnknown || got.Attempts != 1 || got.CheckedAt.IsZero() {
		t.Fatalf("within grace: %+v", got)
	}
	if n := e.sandboxRequests(t, lost.ID); n != 0 {
		t.Fatalf("PayMate holds %d requests for %s", n, lost.ID)
	}
	e.clk.Advance(2 * time.Minute)
	if res, err := e.col.SyncOnce(ctx); err != nil || res.Sent != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	got, evs, _ := e.col.Get(ctx, lost.ID)
	if got.State != CollectionPending || got.Attempts != 2 {
		t.Fatalf("after re-send: %+v", got)
	}
	if n := e.sandboxRequests(t, lost.ID); n != 1 {
		t.Fatalf("PayMate holds %d requests for %s", n, lost.ID)
	}
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	if !slices.Equal(kinds, []string{"created", "sent", "unknown", "resent", "accepted"}) {
		t.Fatalf("timeline %v", kinds)
	}
	verifyAudit(t, e.d)
}

// PayMate's refusal fails the request with PayMate's reason.
func TestCollectionRefusedByPayMate(t *testing.T) {
	e := newCollectionEnv(t)
	ctx := context.Background()
	ct := e.syncedCustomer(t)
	cr, err := e.col.Create(ctx, e.maker, CollectionInput{ContactID: ct.ID, Amount: "100"})
	if err != nil {
		t.Fatal(err)
	}
	// The contact's PayMate id no longer names anyone (226).
	if _, err := e.d.write.Exec(`UPDATE collection_requests SET contact_ref = 'NOSUCH01' WHERE id = ?`, cr.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.col.SendNew(ctx); err != nil {
		t.Fatal(err)
	}
	cr, _, _ = e.col.Get(ctx, cr.ID)
	if cr.State != CollectionFailed || !strings.Contains(cr.ProviderMessage, "226") || cr.FinalAt.IsZero() {
		t.Fatalf("%+v", cr)
	}
}

func TestCollectionRefusedRoleIsAudited(t *testing.T) {
	e := newCollectionEnv(t)
	ctx := context.Background()
	_, err := e.col.Create(ctx, e.checker, goodCollection())
	if ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("checker create: %v", err)
	}
	// Refused before validation: a bad form says nothing more.
	if _, err := e.col.Create(ctx, e.checker, CollectionInput{}); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("checker bad form: %v", err)
	}
	if list, _, _ := e.col.List(ctx, CollectionFilter{}); len(list) != 0 {
		t.Fatalf("stored: %+v", list)
	}
	entries, _, err := e.d.ListAudit(ctx, AuditFilter{Action: "collection.refused", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Actor != "checker" || !strings.Contains(entries[0].Details, "collection.create") {
		t.Fatalf("audit %+v", entries)
	}
	verifyAudit(t, e.d)
}

func TestVendorRequestImportIsIdempotent(t *testing.T) {
	e := newCollectionEnv(t)
	ctx := context.Background()
	// Brings PayMate's portal contacts in, JSQ Traders (JSQA000001) among them.
	if _, err := e.sync.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	jsq, _, err := e.c.List(ctx, ContactFilter{Query: "JSQ001"})
	if err != nil || len(jsq) != 1 {
		t.Fatalf("%+v %v", jsq, err)
	}
	for _, order := range []string{"INV1001", "INV1002"} {
		e.control(t, http.MethodPost, "/vendor-requests", map[string]any{"contact_xpress_id": "JSQA000001", "order_id": order,
			"amount_paise": 1_23_456_78, "remarks": "Invoice " + order})
	}
	res, err := e.col.SyncOnce(ctx)
	if err != nil || res.VendorImported != 2 || res.VendorCandidates != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	for range 2 {
		if res, err := e.col.SyncOnce(ctx); err != nil || res.VendorImported != 0 || res.VendorFinished != 0 {
			t.Fatalf("again: %+v %v", res, err)
		}
	}
	list, _, err := e.col.ListVendorRequests(ctx, VendorRequestFilter{State: VendorRequestOpen})
	if err != nil || len(list) != 2 {
		t.Fatalf("%+v %v", list, err)
	}
	v := list[1] // oldest last
	if v.OrderID != "INV1001" || v.ContactID != jsq[0].ID || v.ContactRef != "JSQA000001" || v.AmountPaise != 1_23_456_78 ||
		v.VendorName != "JSQ Traders" || v.Purpose != "Invoice INV1001" || v.ProviderRef == "" || v.RequestedAt.IsZero() {
		t.Fatalf("%+v", v)
	}
	if n, _ := e.col.CountOpenVendorRequests(ctx); n != 2 {
		t.Fatalf("open %d", n)
	}
	imported, _, _ := e.d.ListAudit(ctx, AuditFilter{Action: "vendor_request.imported", Limit: 10})
	if len(imported) != 2 {
		t.Fatalf("imports audited %d times", len(imported))
	}

	// Gone from the awaiting list: PayMate's report says why.
	e.control(t, http.MethodPost, "/requests/INV1001/expire", nil)
	if res, err := e.col.SyncOnce(ctx); err != nil || res.VendorFinished != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if v, _ := e.col.GetVendorRequest(ctx, v.ID); v.State != VendorRequestExpired || v.FinalAt.IsZero() {
		t.Fatalf("%+v", v)
	}
	verifyAudit(t, e.d)
}

func TestVendorRequestDismiss(t *testing.T) {
	e := newCollectionEnv(t)
	ctx := context.Background()
	e.control(t, http.MethodPost, "/vendor-requests", map[string]any{"contact_xpress_id": "JSQA000001", "order_id": "INV2001",
		"amount_paise": 5_000_00})
	if _, err := e.col.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	list, _, _ := e.col.ListVendorRequests(ctx, VendorRequestFilter{})
	if len(list) != 1 || list[0].ContactID != "" {
		// Not matched: the contact sync has not brought JSQ Traders in.
		t.Fatalf("%+v", list)
	}
	id := list[0].ID
	if _, err := e.col.DismissVendorRequest(ctx, e.checker, id); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("checker dismiss: %v", err)
	}
	if refused, _, _ := e.d.ListAudit(ctx, AuditFilter{Action: "vendor_request.refused", Limit: 10}); len(refused) != 1 {
		t.Fatalf("refusal audited %d times", len(refused))
	}
	v, err := e.col.DismissVendorRequest(ctx, e.maker, id)
	if err != nil || v.State != VendorRequestDismissed || v.DismissedBy != "maker" || v.FinalAt.IsZero() {
		t.Fatalf("%+v %v", v, err)
	}
	if _, err := e.col.DismissVendorRequest(ctx, e.maker, id); ErrorCode(err) != ECONFLICT {
		t.Fatalf("dismiss twice: %v", err)
	}
	// Still awaiting payment at PayMate, yet not opened again; once the
	// contact is known it is linked.
	if _, err := e.sync.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.col.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ = e.col.GetVendorRequest(ctx, id)
	if v.State != VendorRequestDismissed || v.ContactID == "" || v.ContactName != "JSQ Traders" {
		t.Fatalf("%+v", v)
	}
	if n, _ := e.col.CountOpenVendorRequests(ctx); n != 0 {
		t.Fatalf("open %d", n)
	}
	verifyAudit(t, e.d)
}

func TestCollectionListPages(t *testing.T) {
	d, clk := newTestDB(t)
	col := NewCollections(d, nil)
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	ctx := context.Background()
	var ids []string
	for i := range 7 {
		in := goodCollection()
		in.Name = "Payer " + string(rune('A'+i))
		cr, err := col.Create(ctx, maker, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cr.ID)
		clk.Advance(time.Second)
	}
	var seen []string
	after := ""
	for {
		page, more, err := col.List(ctx, CollectionFilter{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, cr := range page {
			seen = append(seen, cr.ID)
		}
		if !more {
			break
		}
		after = page[len(page)-1].ID
	}
	slices.Reverse(ids)
	if !slices.Equal(seen, ids) {
		t.Fatalf("pages %v, want %v", seen, ids)
	}
	if got, _, _ := col.List(ctx, CollectionFilter{Query: "payer c"}); len(got) != 1 || got[0].PayerName != "Payer C" {
		t.Fatalf("%+v", got)
	}
	if got, _, _ := col.List(ctx, CollectionFilter{Query: strings.ToLower(ids[0])}); len(got) != 1 {
		t.Fatalf("by id: %+v", got)
	}
	if got, _, _ := col.List(ctx, CollectionFilter{State: CollectionPaid}); len(got) != 0 {
		t.Fatalf("%+v", got)
	}
	// Without PayMate nothing is sent, and saying so is not an error.
	if res, err := col.SyncOnce(ctx); err != nil || res != (CollectionSyncResult{}) {
		t.Fatalf("%+v %v", res, err)
	}
}

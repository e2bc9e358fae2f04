package db

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/registry"
	"paydesk/providers/sandboxes"
)

type contactEnv struct {
	d       *DB
	a       *Approvals
	c       *Contacts
	admin   User
	checker User
	maker   User
}

func newContactEnv(t *testing.T) *contactEnv {
	t.Helper()
	d, _ := newTestDB(t)
	a := NewApprovals(d, 0)
	return &contactEnv{d: d, a: a, c: NewContacts(d, a),
		admin:   mustCreateUser(t, d, "admin", RoleAdmin),
		checker: mustCreateUser(t, d, "checker", RoleChecker),
		maker:   mustCreateUser(t, d, "maker", RoleMaker)}
}

func goodContact() ContactInput {
	return ContactInput{Kind: ContactVendor, CompanyName: "Acme Traders Pvt. Ltd.", FirstName: "Asha", LastName: "Rao",
		Email: "accounts@acme.example.in", Mobile: "9876543210", GSTIN: "27ABCDE1234F1Z5",
		AccountNo: "50100234567890", IFSC: "HDFC0001234"}
}

func TestContactFieldRules(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*ContactInput)
		field string // "" = valid
	}{
		{"good", func(*ContactInput) {}, ""},
		{"kind missing", func(in *ContactInput) { in.Kind = "" }, "kind"},
		{"kind other", func(in *ContactInput) { in.Kind = "supplier" }, "kind"},
		{"customer without bank", func(in *ContactInput) { in.Kind, in.AccountNo, in.IFSC = ContactCustomer, "", "" }, ""},
		{"vendor without bank", func(in *ContactInput) { in.AccountNo, in.IFSC = "", "" }, "account_no"},
		{"company 60", func(in *ContactInput) { in.CompanyName = strings.Repeat("a", 60) }, ""},
		{"company 61", func(in *ContactInput) { in.CompanyName = strings.Repeat("a", 61) }, "company_name"},
		{"company specials", func(in *ContactInput) { in.CompanyName = "A, B. @C! D'E-F" }, ""},
		{"company ampersand", func(in *ContactInput) { in.CompanyName = "A & B" }, "company_name"},
		{"company slash", func(in *ContactInput) { in.CompanyName = "A/B" }, "company_name"},
		{"company only specials", func(in *ContactInput) { in.CompanyName = "..." }, "company_name"},
		{"company empty", func(in *ContactInput) { in.CompanyName = "  " }, "company_name"},
		{"first 30", func(in *ContactInput) { in.FirstName = strings.Repeat("b", 30) }, ""},
		{"first 31", func(in *ContactInput) { in.FirstName = strings.Repeat("b", 31) }, "first_name"},
		{"first with space", func(in *ContactInput) { in.FirstName = "Mary Ann" }, ""},
		{"first digit", func(in *ContactInput) { in.FirstName = "Asha2" }, "first_name"},
		{"first apostrophe", func(in *ContactInput) { in.FirstName = "D'Souza" }, "first_name"},
		{"first empty", func(in *ContactInput) { in.FirstName = "" }, "first_name"},
		{"last 30", func(in *ContactInput) { in.LastName = strings.Repeat("c", 30) }, ""},
		{"last 31", func(in *ContactInput) { in.LastName = strings.Repeat("c", 31) }, "last_name"},
		{"last hyphen", func(in *ContactInput) { in.LastName = "Rao-Iyer" }, "last_name"},
		{"email empty", func(in *ContactInput) { in.Email = "" }, "email"},
		{"email no at", func(in *ContactInput) { in.Email = "acme.example.in" }, "email"},
		{"email no tld", func(in *ContactInput) { in.Email = "a@b" }, "email"},
		{"email short tld", func(in *ContactInput) { in.Email = "a@b.c" }, "email"},
		{"email plus", func(in *ContactInput) { in.Email = "a+pay@b.co" }, ""},
		{"email 200", func(in *ContactInput) { in.Email = strings.Repeat("a", 194) + "@b.com" }, ""},
		{"email 201", func(in *ContactInput) { in.Email = strings.Repeat("a", 195) + "@b.com" }, "email"},
		{"mobile empty", func(in *ContactInput) { in.Mobile = "" }, ""},
		{"mobile 9 digits", func(in *ContactInput) { in.Mobile = "987654321" }, "mobile"},
		{"mobile 11 digits", func(in *ContactInput) { in.Mobile = "98765432101" }, "mobile"},
		{"mobile starts 5", func(in *ContactInput) { in.Mobile = "5876543210" }, "mobile"},
		{"mobile starts 6", func(in *ContactInput) { in.Mobile = "6000000000" }, ""},
		{"mobile +91", func(in *ContactInput) { in.Mobile = "+919876543210" }, "mobile"},
		{"reference empty", func(in *ContactInput) { in.ReferenceCode = "" }, ""},
		{"reference 20", func(in *ContactInput) { in.ReferenceCode = strings.Repeat("R", 20) }, ""},
		{"reference 21", func(in *ContactInput) { in.ReferenceCode = strings.Repeat("R", 21) }, "reference_code"},
		{"reference dash", func(in *ContactInput) { in.ReferenceCode = "JSQ-001" }, "reference_code"},
		{"account 30", func(in *ContactInput) { in.AccountNo = strings.Repeat("1", 30) }, ""},
		{"account 31", func(in *ContactInput) { in.AccountNo = strings.Repeat("1", 31) }, "account_no"},
		{"account letters", func(in *ContactInput) { in.AccountNo = "PAYMY200AM45" }, ""},
		{"account space", func(in *ContactInput) { in.AccountNo = "5010 0234" }, "account_no"},
		{"account dash", func(in *ContactInput) { in.AccountNo = "5010-0234" }, "account_no"},
		{"account without ifsc", func(in *ContactInput) { in.IFSC = "" }, "ifsc"},
		{"ifsc without account", func(in *ContactInput) { in.Kind, in.AccountNo = ContactCustomer, "" }, "account_no"},
		{"ifsc lower ok", func(in *ContactInput) { in.IFSC = "hdfc0001234" }, ""},
		{"ifsc 10", func(in *ContactInput) { in.IFSC = "HDFC000123" }, "ifsc"},
		{"ifsc 12", func(in *ContactInput) { in.IFSC = "HDFC00012345" }, "ifsc"},
		{"ifsc fifth not 0", func(in *ContactInput) { in.IFSC = "HDFC1001234" }, "ifsc"},
		{"ifsc digit in bank", func(in *ContactInput) { in.IFSC = "HD1C0001234" }, "ifsc"},
		{"ifsc branch letters", func(in *ContactInput) { in.IFSC = "SBIN0ABC12D" }, ""},
		{"gstin empty", func(in *ContactInput) { in.GSTIN = "" }, ""},
		{"gstin seed sample", func(in *ContactInput) { in.GSTIN = "27ATYPR6435K1N0" }, ""},
		{"gstin lower ok", func(in *ContactInput) { in.GSTIN = "27abcde1234f1z5" }, ""},
		{"gstin 14", func(in *ContactInput) { in.GSTIN = "27ABCDE1234F1Z" }, "gstin"},
		{"gstin 16", func(in *ContactInput) { in.GSTIN = "27ABCDE1234F1Z55" }, "gstin"},
		{"gstin state 00", func(in *ContactInput) { in.GSTIN = "00ABCDE1234F1Z5" }, "gstin"},
		{"gstin entity 0", func(in *ContactInput) { in.GSTIN = "27ABCDE1234F0Z5" }, "gstin"},
		{"gstin bad pan", func(in *ContactInput) { in.GSTIN = "27ABCD11234F1Z5" }, "gstin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := goodContact()
			tc.edit(&in)
			_, fields := ValidateContact(in)
			if tc.field == "" {
				if fields != nil {
					t.Fatalf("want valid, got %v", fields)
				}
				return
			}
			if fields[tc.field] == "" {
				t.Fatalf("want a message for %s, got %v", tc.field, fields)
			}
		})
	}
	// Our ids are valid PayMate ReferenceCodes.
	for range 100 {
		if id := newContactID(); !validReferenceCode(id) || len(id) != 12 {
			t.Fatalf("bad id %q", id)
		}
	}
	if validReferenceCode(strings.Repeat("A", 21)) || !validReferenceCode(strings.Repeat("A", 20)) || validReferenceCode("AB-1") {
		t.Fatal("reference code rule")
	}
}

func TestContactCreateNeedsApprovalBeforePayable(t *testing.T) {
	e := newContactEnv(t)
	ctx := context.Background()
	in := goodContact()
	in.IFSC = "hdfc0001234"
	ct, req, err := e.c.Create(ctx, e.admin, in)
	if err != nil {
		t.Fatal(err)
	}
	if req == nil || req.Kind != ContactBankKind || req.TargetID != ct.ID || req.AmountPaise != nil || req.RequiredRole != RoleChecker || req.RequiredApprovals != 1 {
		t.Fatalf("request: %+v", req)
	}
	if ct.HasApprovedBank() || ct.PendingAccountNo != "50100234567890" || ct.PendingIFSC != "HDFC0001234" || ct.ReferenceCode != ct.ID {
		t.Fatalf("contact: %+v", ct)
	}
	diff := bankFields(e.c, *req)
	want := []FieldChange{{"account_no", "", "50100234567890"}, {"ifsc", "", "HDFC0001234"}}
	if !slices.Equal(diff, want) {
		t.Fatalf("diff %+v", diff)
	}
	_, _, err = e.c.PayableDetails(ctx, ct.ID)
	wantCode(t, err, ECONFLICT)
	if !strings.Contains(ErrorMessage(err), "await approval") {
		t.Fatalf("message: %v", err)
	}
	// The maker cannot approve their own (admin + checker would still be refused).
	_, err = e.a.Approve(ctx, e.admin, req.ID)
	wantCode(t, err, EFORBIDDEN)
	if _, err := e.a.Approve(ctx, e.checker, req.ID); err != nil {
		t.Fatal(err)
	}
	acct, ifsc, err := e.c.PayableDetails(ctx, ct.ID)
	if err != nil || acct != "50100234567890" || ifsc != "HDFC0001234" {
		t.Fatalf("payable: %q %q %v", acct, ifsc, err)
	}
	ct, _ = e.c.Get(ctx, ct.ID)
	if ct.HasPendingBank() || ct.SyncState != SyncUnsynced {
		t.Fatalf("after approval: %+v", ct)
	}
	acts := auditActionsFor(t, e.d, ct.ID)
	if !slices.Contains(acts, "contact.created") || !slices.Contains(acts, "contact.bank_approved") {
		t.Fatalf("audit: %v", acts)
	}
	// A customer without bank details: no request, never payable.
	cu := goodContact()
	cu.Kind, cu.AccountNo, cu.IFSC = ContactCustomer, "", ""
	c2, r2, err := e.c.Create(ctx, e.admin, cu)
	if err != nil || r2 != nil {
		t.Fatalf("%v %+v", err, r2)
	}
	_, _, err = e.c.PayableDetails(ctx, c2.ID)
	wantCode(t, err, ECONFLICT)
	// Admins and makers manage contacts; a checker is refused, audited.
	_, _, err = e.c.Create(ctx, e.checker, goodContact())
	wantCode(t, err, EFORBIDDEN)
	if la := lastAudit(t, e.d); la.Action != "approval.refused" {
		t.Fatalf("last audit %s", la.Action)
	}
	// Invalid input comes back by field.
	bad := goodContact()
	bad.IFSC = "HDFC000123"
	_, _, err = e.c.Create(ctx, e.admin, bad)
	if ErrorCode(err) != EINVALID || FieldErrors(err)["ifsc"] == "" {
		t.Fatalf("%v", err)
	}
	verifyAudit(t, e.d)
}

func approvedContact(t *testing.T, e *contactEnv, in ContactInput) Contact {
	t.Helper()
	ct, req, err := e.c.Create(context.Background(), e.admin, in)
	if err != nil {
		t.Fatal(err)
	}
	if req != nil {
		if _, err := e.a.Approve(context.Background(), e.checker, req.ID); err != nil {
			t.Fatal(err)
		}
	}
	ct, err = e.c.Get(context.Background(), ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestContactEditIFSCHeldUntilApproved(t *testing.T) {
	for _, allowOld := range []bool{false, true} {
		t.Run(fmt.Sprint("allow_old=", allowOld), func(t *testing.T) {
			e := newContactEnv(t)
			ctx := context.Background()
			ct := approvedContact(t, e, goodContact())
			in := goodContact()
			in.IFSC, in.AllowOldWhilePending = "ICIC0000001", allowOld
			ct2, req, err := e.c.Update(ctx, e.admin, ct.ID, in)
			if err != nil || req == nil {
				t.Fatalf("%v %+v", err, req)
			}
			if ct2.ApprovedIFSC != "HDFC0001234" || ct2.PendingIFSC != "ICIC0000001" {
				t.Fatalf("%+v", ct2)
			}
			if d := bankFields(e.c, *req); !slices.Equal(d, []FieldChange{{"ifsc", "HDFC0001234", "ICIC0000001"}}) {
				t.Fatalf("diff %+v", d)
			}
			acct, ifsc, err := e.c.PayableDetails(ctx, ct.ID)
			if allowOld {
				if err != nil || ifsc != "HDFC0001234" || acct != "50100234567890" {
					t.Fatalf("old details not usable: %q %q %v", acct, ifsc, err)
				}
			} else {
				wantCode(t, err, ECONFLICT)
				if !strings.Contains(ErrorMessage(err), "are changing and await approval; payouts to this contact are held") {
					t.Fatalf("message %q", ErrorMessage(err))
				}
			}
			// A second, different change while one waits: a clear conflict.
			in2 := goodContact()
			in2.IFSC = "SBIN0000001"
			_, _, err = e.c.Update(ctx, e.admin, ct.ID, in2)
			wantCode(t, err, ECONFLICT)
			if !strings.Contains(ErrorMessage(err), "already waits for approval") {
				t.Fatalf("message %q", ErrorMessage(err))
			}
			// The same change again (the form re-saved): no new request.
			if _, r, err := e.c.Update(ctx, e.admin, ct.ID, in); err != nil || r != nil {
				t.Fatalf("%v %+v", err, r)
			}
			if _, err := e.a.Approve(ctx, e.checker, req.ID); err != nil {
				t.Fatal(err)
			}
			if _, ifsc, err := e.c.PayableDetails(ctx, ct.ID); err != nil || ifsc != "ICIC0000001" {
				t.Fatalf("%q %v", ifsc, err)
			}
			verifyAudit(t, e.d)
		})
	}
}

func TestContactSmuggledBankChange(t *testing.T) {
	e := newContactEnv(t)
	ctx := context.Background()
	ct := approvedContact(t, e, goodContact())
	// A "rename" that also carries another account.
	in := goodContact()
	in.CompanyName, in.AccountNo = "Acme Traders LLP", "999988887777"
	got, req, err := e.c.Update(ctx, e.admin, ct.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.CompanyName != "Acme Traders LLP" {
		t.Fatalf("rename did not apply: %+v", got)
	}
	if got.ApprovedAccountNo != "50100234567890" || got.PendingAccountNo != "999988887777" || req == nil {
		t.Fatalf("bank change smuggled: %+v %+v", got, req)
	}
	if acct, _, err := e.c.PayableDetails(ctx, ct.ID); err == nil || acct != "" {
		t.Fatalf("payable while pending: %q %v", acct, err)
	}
	// Audited: the update with before/after, and the proposal.
	es, _, err := e.d.ListAudit(ctx, AuditFilter{Target: ct.ID, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range es {
		if a.Action == "contact.updated" && strings.Contains(a.Details, `"pending_account_no":"999988887777"`) &&
			strings.Contains(a.Details, `"approved_account_no":"50100234567890"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("update not audited with the pending account: %+v", es)
	}
	if acts := auditActionsFor(t, e.d, fmt.Sprint(req.ID)); !slices.Contains(acts, "approval.proposed") {
		t.Fatalf("%v", acts)
	}
	// Reject: pending cleared, approved untouched.
	if _, err := e.a.Reject(ctx, e.checker, req.ID, "Not confirmed with the vendor by phone"); err != nil {
		t.Fatal(err)
	}
	after, _ := e.c.Get(ctx, ct.ID)
	if after.HasPendingBank() || after.ApprovedAccountNo != "50100234567890" {
		t.Fatalf("%+v", after)
	}
	if acct, _, err := e.c.PayableDetails(ctx, ct.ID); err != nil || acct != "50100234567890" {
		t.Fatalf("%q %v", acct, err)
	}
	if acts := auditActionsFor(t, e.d, ct.ID); acts[len(acts)-1] != "contact.bank_rejected" {
		t.Fatalf("%v", acts)
	}
	// Withdraw clears it too.
	_, req2, err := e.c.Update(ctx, e.admin, ct.ID, in)
	if err != nil || req2 == nil {
		t.Fatal(err)
	}
	if _, err := e.a.Withdraw(ctx, e.admin, req2.ID); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.c.Get(ctx, ct.ID); after.HasPendingBank() {
		t.Fatalf("%+v", after)
	}
	verifyAudit(t, e.d)
}

func TestContactList(t *testing.T) {
	e := newContactEnv(t)
	ctx := context.Background()
	var ids []string
	for i := range 25 {
		in := goodContact()
		in.CompanyName = fmt.Sprintf("Firm %02d", i)
		in.AccountNo = fmt.Sprintf("1000%02d", i)
		if i%5 == 0 {
			in.Kind, in.AccountNo, in.IFSC = ContactCustomer, "", ""
		}
		ct, _, err := e.c.Create(ctx, e.admin, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ct.ID)
	}
	var seen []string
	after := ""
	for {
		page, more, err := e.c.List(ctx, ContactFilter{After: after, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			seen = append(seen, c.ID)
		}
		if !more {
			break
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("pages: %v", seen)
	}
	if got, _, _ := e.c.List(ctx, ContactFilter{Query: "firm 1"}); len(got) != 10 {
		t.Fatalf("prefix: %d", len(got))
	}
	if got, _, _ := e.c.List(ctx, ContactFilter{Query: "100007"}); len(got) != 1 || got[0].ID != ids[7] {
		t.Fatalf("account: %+v", got)
	}
	if got, _, _ := e.c.List(ctx, ContactFilter{Query: strings.ToLower(ids[3])}); len(got) != 1 {
		t.Fatalf("id: %+v", got)
	}
	if got, _, _ := e.c.List(ctx, ContactFilter{Kind: ContactCustomer}); len(got) != 5 {
		t.Fatalf("kind: %d", len(got))
	}
	no := false
	if got, _, _ := e.c.List(ctx, ContactFilter{HasBank: &no, SyncState: SyncUnsynced}); len(got) != 25 {
		t.Fatalf("has bank: %d", len(got))
	}
}

func newContactSyncEnv(t *testing.T) (*contactEnv, *ContactSync, providers.Contacts) {
	t.Helper()
	e := newContactEnv(t)
	set := sandboxes.New(sandboxes.Options{})
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(srv.Close)
	reg, err := registry.Load(registry.Options{SandboxRoot: srv.URL, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := reg.Get("paymate")
	if !ok {
		t.Fatal("no paymate")
	}
	pc, ok := p.(providers.Contacts)
	if !ok {
		t.Fatal("paymate has no contacts")
	}
	return e, NewContactSync(e.d, e.c, pc), pc
}

func remoteByRef(t *testing.T, pc providers.Contacts, ref string) []providers.Contact {
	t.Helper()
	list, err := pc.ListContacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []providers.Contact
	for _, c := range list {
		if strings.EqualFold(c.ReferenceCode, ref) {
			out = append(out, c)
		}
	}
	return out
}

func TestContactSyncPushAndPull(t *testing.T) {
	e, s, pc := newContactSyncEnv(t)
	ctx := context.Background()
	// Pending only: not pushed.
	pend, _, err := e.c.Create(ctx, e.admin, goodContact())
	if err != nil {
		t.Fatal(err)
	}
	ct := approvedContact(t, e, goodContact())
	res, err := s.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed != 1 {
		t.Fatalf("%+v", res)
	}
	got, _ := e.c.Get(ctx, ct.ID)
	if got.SyncState != SyncSynced || got.ProviderID == "" || got.VirtualAccountNo == "" {
		t.Fatalf("%+v", got)
	}
	if r := remoteByRef(t, pc, ct.ID); len(r) != 1 || r[0].ProviderID != got.ProviderID || r[0].AccountNo != "50100234567890" {
		t.Fatalf("remote %+v", r)
	}
	if r := remoteByRef(t, pc, pend.ID); len(r) != 0 {
		t.Fatalf("pending contact pushed: %+v", r)
	}
	// The seed's three portal contacts were imported, bank details pending.
	if res.Imported != 3 {
		t.Fatalf("%+v", res)
	}
	imp, _, _ := e.c.List(ctx, ContactFilter{Query: "JSQ001"})
	if len(imp) != 1 || imp[0].HasApprovedBank() || imp[0].PendingAccountNo != "50100234567890" || imp[0].ProviderID != "JSQA000001" {
		t.Fatalf("import %+v", imp)
	}
	if _, _, err := e.c.PayableDetails(ctx, imp[0].ID); ErrorCode(err) != ECONFLICT {
		t.Fatalf("imported payable before approval: %v", err)
	}
	q, _, err := e.a.Queue(ctx, e.checker, QueueFilter{Kind: ContactBankKind})
	if err != nil {
		t.Fatal(err)
	}
	var impReq *ApprovalRequest
	for i := range q {
		if q[i].TargetID == imp[0].ID {
			impReq = &q[i].ApprovalRequest
		}
	}
	if impReq == nil || impReq.Maker != BankPortalUsername {
		t.Fatalf("no request for import: %+v", q)
	}
	if _, err := e.a.Approve(ctx, e.checker, impReq.ID); err != nil {
		t.Fatal(err)
	}
	if acct, _, err := e.c.PayableDetails(ctx, imp[0].ID); err != nil || acct != "50100234567890" {
		t.Fatalf("%q %v", acct, err)
	}

	// Twice (and after the state is reset, as a lost answer would leave it):
	// no duplicate at PayMate, nothing imported again.
	if _, err := e.d.write.Exec(`UPDATE contacts SET sync_state = 'unsynced' WHERE id = ?`, ct.ID); err != nil {
		t.Fatal(err)
	}
	res, err = s.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed != 0 || res.Adopted != 1 || res.Imported != 0 {
		t.Fatalf("second: %+v", res)
	}
	if r := remoteByRef(t, pc, ct.ID); len(r) != 1 {
		t.Fatalf("duplicated at PayMate: %+v", r)
	}
	if res, err = s.SyncOnce(ctx); err != nil || res != (SyncResult{}) {
		t.Fatalf("third: %+v %v", res, err)
	}
	var n int
	e.d.read.QueryRow(`SELECT count(*) FROM contacts`).Scan(&n)
	if n != 5 {
		t.Fatalf("%d contacts", n)
	}

	// An approved bank change of a synced contact: PayMate cannot change it,
	// so the contact is marked failed with a message, never added twice.
	in := goodContact()
	in.IFSC = "ICIC0000001"
	_, req, err := e.c.Update(ctx, e.admin, ct.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Approve(ctx, e.checker, req.ID); err != nil {
		t.Fatal(err)
	}
	if res, err = s.SyncOnce(ctx); err != nil || res.Failed != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	got, _ = e.c.Get(ctx, ct.ID)
	if got.SyncState != SyncFailed || !strings.Contains(got.SyncError, "portal") {
		t.Fatalf("%+v", got)
	}
	if r := remoteByRef(t, pc, ct.ID); len(r) != 1 {
		t.Fatalf("duplicated at PayMate: %+v", r)
	}
	acts := auditActionsFor(t, e.d, ct.ID)
	if !slices.Contains(acts, "contact.synced") || !slices.Contains(acts, "contact.sync_failed") {
		t.Fatalf("%v", acts)
	}
	verifyAudit(t, e.d)
}

func TestContactSyncImportsMany(t *testing.T) {
	e, s, pc := newContactSyncEnv(t)
	ctx := context.Background()
	const n = 500
	for i := range n {
		c := providers.Contact{ReferenceCode: fmt.Sprintf("EXT%05d", i), CompanyName: fmt.Sprintf("Elsewhere %03d", i),
			FirstName: "Ext", LastName: "Contact", Email: fmt.Sprintf("e%d@example.com", i)}
		if i%2 == 0 {
			c.IsVendor, c.AccountNo, c.IFSC = true, fmt.Sprintf("77%08d", i), "UTIB0000123"
		}
		if _, err := pc.AddContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != n+3 {
		t.Fatalf("%+v", res)
	}
	res, err = s.SyncOnce(ctx)
	if err != nil || res.Imported != 0 {
		t.Fatalf("again: %+v %v", res, err)
	}
	var total, pending, reqs int
	e.d.read.QueryRow(`SELECT count(*), count(pending_account_no) FROM contacts`).Scan(&total, &pending)
	e.d.read.QueryRow(`SELECT count(*) FROM approval_requests WHERE kind = 'contact_bank' AND state = 'pending_approval'`).Scan(&reqs)
	if total != n+3 || pending != n/2+2 || reqs != pending {
		t.Fatalf("total %d pending %d requests %d", total, pending, reqs)
	}
	// Nothing imported is payable.
	var payable int
	e.d.read.QueryRow(`SELECT count(*) FROM contacts WHERE approved_account_no IS NOT NULL`).Scan(&payable)
	if payable != 0 {
		t.Fatalf("%d imported contacts payable without approval", payable)
	}
	verifyAudit(t, e.d)
}

// memoryPayMate is PayMate's contact book in memory: AddContact refuses a
// ReferenceCode it holds, as PayMate does.
type memoryPayMate struct{ list []providers.Contact }

func (m *memoryPayMate) AddContact(_ context.Context, c providers.Contact) (providers.Contact, error) {
	for _, rc := range m.list {
		if strings.EqualFold(rc.ReferenceCode, c.ReferenceCode) {
			return c, fmt.Errorf("paymate: 227 duplicate reference code: %w", providers.ErrDuplicate)
		}
	}
	c.ProviderID = fmt.Sprintf("MEM%06d", len(m.list)+1)
	m.list = append(m.list, c)
	return c, nil
}

func (m *memoryPayMate) ListContacts(context.Context) ([]providers.Contact, error) {
	return m.list, nil
}

// TestContactSyncAfterBankChange: PayMate cannot change a contact's bank
// details, so after an approved change the contact is marked failed with a
// message saying what payouts do meanwhile; once the details are corrected
// on PayMate's portal it is synced again.
func TestContactSyncAfterBankChange(t *testing.T) {
	e := newContactEnv(t)
	ctx := context.Background()
	pm := &memoryPayMate{}
	s := NewContactSync(e.d, e.c, pm)
	ct := approvedContact(t, e, goodContact())
	if _, err := s.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	in := goodContact()
	in.IFSC = "ICIC0004321"
	_, req, err := e.c.Update(ctx, e.admin, ct.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Approve(ctx, e.checker, req.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ct, _ = e.c.Get(ctx, ct.ID)
	if ct.SyncState != SyncFailed || !strings.Contains(ct.SyncError, "never by its XpressID") || len(pm.list) != 1 {
		t.Fatalf("after change: %s %q (%d at PayMate)", ct.SyncState, ct.SyncError, len(pm.list))
	}
	// Someone corrects it on PayMate's portal.
	pm.list[0].IFSC = "ICIC0004321"
	if _, err := s.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ct, _ = e.c.Get(ctx, ct.ID)
	if ct.SyncState != SyncSynced || ct.SyncError != "" || len(pm.list) != 1 {
		t.Fatalf("after the portal fix: %s %q", ct.SyncState, ct.SyncError)
	}
	if la := lastAudit(t, e.d); la.Action != "contact.sync_recovered" {
		t.Fatalf("last audit %s", la.Action)
	}
	verifyAudit(t, e.d)
}

// BenchmarkContactSearch: one page of the contact list over 20,000
// contacts, for a name prefix, an exact account number and no search.
func BenchmarkContactSearch(b *testing.B) {
	d, _ := newTestDB(b)
	a := NewApprovals(d, 0)
	c := NewContacts(d, a)
	ctx := context.Background()
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20_000 {
		id := fmt.Sprintf("CT%010d", i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, kind, company_name, first_name, last_name, email, reference_code,
			approved_account_no, approved_ifsc, created_at, updated_at) VALUES (?, 'vendor', ?, 'Asha', 'Rao', 'a@b.in', ?, ?, 'HDFC0001234', 0, 0)`,
			id, fmt.Sprintf("Trader %05d Pvt Ltd", i), id, fmt.Sprintf("5010%010d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"Trader 1234", "50100000012345", ""} {
		b.Run("q="+q, func(b *testing.B) {
			for b.Loop() {
				if list, _, err := c.List(ctx, ContactFilter{Query: q}); err != nil || len(list) == 0 {
					b.Fatalf("%d %v", len(list), err)
				}
			}
		})
	}
}

// bankFields is the field-level change of a 'contact_bank' request.
func bankFields(c *Contacts, r ApprovalRequest) []FieldChange {
	ch, _ := c.BankChangeOf(r)
	return ch.Fields
}

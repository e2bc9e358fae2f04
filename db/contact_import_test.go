package db

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// importGoodRow is a valid contact for data row i (0-based): vendors with
// bank details, every fifth a customer without, every third with its own
// reference code.
func importGoodRow(i int) ContactInput {
	in := ContactInput{Kind: ContactVendor, CompanyName: fmt.Sprintf("Vendor %d Traders", i), FirstName: "Asha", LastName: "Rao",
		Email: fmt.Sprintf("accounts%d@vendor.example.in", i), Mobile: fmt.Sprintf("98%08d", i), GSTIN: "27ABCDE1234F1Z5",
		AccountNo: fmt.Sprintf("5010%08d", i), IFSC: "HDFC0001234"}
	if i%5 == 4 {
		in.Kind, in.AccountNo, in.IFSC = ContactCustomer, "", ""
	}
	if i%3 == 0 {
		in.ReferenceCode = fmt.Sprintf("IMP%05d", i)
	}
	return in
}

// importBadRows each break one field of a good row. "IMP00000" is the
// reference code of data row 0; "TAKEN1" is an existing contact's.
var importBadRows = []struct {
	field string
	edit  func(*ContactInput)
}{
	{"company_name", func(in *ContactInput) { in.CompanyName = strings.Repeat("a", 61) }},
	{"ifsc", func(in *ContactInput) { in.IFSC = "HDFC000123" }},
	{"gstin", func(in *ContactInput) { in.GSTIN = "27ABCDE1234F1Z" }},
	{"mobile", func(in *ContactInput) { in.Mobile = "987654321" }},
	{"reference_code", func(in *ContactInput) { in.ReferenceCode = "imp00000" }},
	{"email", func(in *ContactInput) { in.Email = "" }},
	{"kind", func(in *ContactInput) { in.Kind = "supplier" }},
	{"first_name", func(in *ContactInput) { in.FirstName = "Asha2" }},
	{"last_name", func(in *ContactInput) { in.LastName = " " }},
	{"email", func(in *ContactInput) { in.Email = "a@b" }},
	{"account_no", func(in *ContactInput) { in.Kind, in.AccountNo, in.IFSC = ContactVendor, "5010 0012", "HDFC0001234" }},
	{"account_no", func(in *ContactInput) { in.Kind, in.AccountNo, in.IFSC = ContactVendor, "", "" }},
	{"account_no", func(in *ContactInput) { in.AccountNo, in.IFSC = "", "HDFC0001234" }},
	{"ifsc", func(in *ContactInput) { in.AccountNo, in.IFSC = "50100012", "" }},
	{"reference_code", func(in *ContactInput) { in.ReferenceCode = "IMP-1" }},
	{"reference_code", func(in *ContactInput) { in.ReferenceCode = "taken1" }},
	{"company_name", func(in *ContactInput) { in.CompanyName = "A & B" }},
	{"mobile", func(in *ContactInput) { in.Mobile = "+919876543210" }},
	{"gstin", func(in *ContactInput) { in.GSTIN = "GSTIN123" }},
	{"reference_code", func(in *ContactInput) { in.ReferenceCode = strings.Repeat("R", 21) }},
}

// importFile is n rows, the header on line 1, with importBadRows at data
// rows 10, 34, 58, …; it returns the rows and the bad lines' fields.
func importFile(n int) ([]ContactImportRow, map[int]string) {
	rows := make([]ContactImportRow, n)
	bad := map[int]string{}
	for i := range rows {
		in := importGoodRow(i)
		if k := (i - 10) / 24; i >= 10 && (i-10)%24 == 0 && k < len(importBadRows) {
			if in.AccountNo == "" { // start from a vendor with bank details
				in.Kind, in.AccountNo, in.IFSC = ContactVendor, fmt.Sprintf("5010%08d", i), "HDFC0001234"
			}
			importBadRows[k].edit(&in)
			bad[i+2] = importBadRows[k].field
		}
		rows[i] = ContactImportRow{Line: i + 2, In: in}
	}
	// Same bank details as row 1: a warning, imported all the same.
	rows[7].In.AccountNo, rows[7].In.IFSC = rows[1].In.AccountNo, rows[1].In.IFSC
	return rows, bad
}

func importCount(t *testing.T, d *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.read.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestContactImport500With20BadRows(t *testing.T) {
	e := newContactEnv(t)
	ctx := context.Background()
	taken := goodContact()
	taken.Kind, taken.AccountNo, taken.IFSC, taken.ReferenceCode = ContactCustomer, "", "", "TAKEN1"
	if _, _, err := e.c.Create(ctx, e.admin, taken); err != nil {
		t.Fatal(err)
	}
	rows, bad := importFile(500)
	problems, err := e.c.CheckImport(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	var warnings []ContactRowProblem
	for _, p := range problems {
		if p.Warning {
			warnings = append(warnings, p)
			continue
		}
		if prev, ok := got[p.Line]; ok {
			t.Errorf("line %d: two errors, %s and %s: %s", p.Line, prev, p.Field, p.Message)
		}
		got[p.Line] = p.Field
	}
	if len(bad) != 20 || fmt.Sprint(got) != fmt.Sprint(bad) {
		t.Fatalf("errors by line\n got %v\nwant %v", got, bad)
	}
	for _, p := range problems {
		switch {
		case p.Line == 108 && !strings.Contains(p.Message, "already on line 2"):
			t.Errorf("in-file duplicate does not name the first line: %q", p.Message)
		case p.Line == 372 && !strings.Contains(p.Message, "already used by contact"):
			t.Errorf("existing reference code: %q", p.Message)
		}
	}
	if len(warnings) != 1 || warnings[0].Line != 9 || warnings[0].Field != "account_no" || !strings.Contains(warnings[0].Message, "Line 3") {
		t.Fatalf("warnings %+v", warnings)
	}

	// The whole file is refused and nothing is written.
	before := importCount(t, e.d, `SELECT count(*) FROM audit_log`)
	res, err := e.c.Import(ctx, e.maker, rows)
	wantCode(t, err, EINVALID)
	if len(res.Problems) != 20 || len(FieldErrors(err)) != 20 || FieldErrors(err)["line.36.ifsc"] == "" {
		t.Fatalf("refusal: %v %+v", err, res.Problems)
	}
	if n := importCount(t, e.d, `SELECT count(*) FROM contacts`); n != 1 {
		t.Fatalf("%d contacts after a refused import", n)
	}
	if importCount(t, e.d, `SELECT count(*) FROM audit_log`) != before {
		t.Fatal("a refused import was audited as done")
	}

	// The 480 good ones go in together.
	var good []ContactImportRow
	wantBank := 0
	for _, r := range rows {
		if _, ok := bad[r.Line]; !ok {
			good = append(good, r)
			if r.In.AccountNo != "" {
				wantBank++
			}
		}
	}
	res, err = e.c.Import(ctx, e.maker, good)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ContactIDs) != 480 || res.BankRequests != wantBank || !strings.HasPrefix(res.ID, "CI") {
		t.Fatalf("result: %d contacts, %d requests (want %d), id %q", len(res.ContactIDs), res.BankRequests, wantBank, res.ID)
	}
	if n := importCount(t, e.d, `SELECT count(*) FROM contacts WHERE created_by = ?`, e.maker.ID); n != 480 {
		t.Fatalf("%d contacts imported", n)
	}
	if n := importCount(t, e.d, `SELECT count(*) FROM approval_requests WHERE kind = ? AND state = 'pending_approval' AND maker_id = ?`,
		ContactBankKind, e.maker.ID); n != wantBank {
		t.Fatalf("%d bank requests, want %d", n, wantBank)
	}
	if n := importCount(t, e.d, `SELECT count(*) FROM contacts WHERE approved_account_no IS NOT NULL`); n != 0 {
		t.Fatalf("%d imported contacts have approved bank details", n)
	}
	for i, id := range res.ContactIDs {
		ct, err := e.c.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := good[i].In
		if ct.CompanyName != want.CompanyName || ct.PendingAccountNo != want.AccountNo || ct.CreatedBy != e.maker.ID ||
			(want.ReferenceCode != "" && ct.ReferenceCode != want.ReferenceCode) || (want.ReferenceCode == "" && ct.ReferenceCode != id) {
			t.Fatalf("contact %d: %+v, from %+v", i, ct, want)
		}
		if _, _, err := e.c.PayableDetails(ctx, id); ErrorCode(err) != ECONFLICT {
			t.Fatalf("imported contact %s is payable: %v", id, err)
		}
	}
	// Each contact has its own entries, as Create writes them; the import one more.
	acts := auditActionsFor(t, e.d, res.ContactIDs[0])
	if !slices.Contains(acts, "contact.created") {
		t.Fatalf("audit of the first contact: %v", acts)
	}
	if n := importCount(t, e.d, `SELECT count(*) FROM audit_log WHERE action = 'contact.created'`); n != 481 {
		t.Fatalf("%d contact.created entries", n)
	}
	if la := lastAudit(t, e.d); la.Action != "contact.imported_batch" || la.TargetID != res.ID ||
		!strings.Contains(la.Details, fmt.Sprintf(`"bank_requests":%d`, wantBank)) || !strings.Contains(la.Details, `"count":480`) {
		t.Fatalf("last audit %+v", la)
	}
	// A checker approves one: now, and only now, it is payable.
	var reqID int64
	if err := e.d.read.QueryRow(`SELECT id FROM approval_requests WHERE target_id = ?`, res.ContactIDs[0]).Scan(&reqID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Approve(ctx, e.checker, reqID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.c.PayableDetails(ctx, res.ContactIDs[0]); err != nil {
		t.Fatal(err)
	}
	verifyAudit(t, e.d)

	// Importing the same file again: every reference code is now taken.
	// Their bank details are known now too: a warning each.
	problems, err = e.c.CheckImport(ctx, good[:4])
	var refs, known int
	for _, p := range problems {
		switch {
		case p.Field == "reference_code" && !p.Warning && strings.Contains(p.Message, "already used by contact"):
			refs++
		case p.Field == "account_no" && p.Warning && strings.Contains(p.Message, "already has this account number"):
			known++
		}
	}
	if err != nil || refs != 2 || known != 4 || len(problems) != 6 {
		t.Fatalf("re-import: %v %+v", err, problems)
	}
}

// A row that turns bad between the check and the import (its reference code
// taken meanwhile) refuses the whole import: nothing is written.
func TestContactImportRollsBackWhenARowTurnsBad(t *testing.T) {
	e := newContactEnv(t)
	ctx := context.Background()
	rows := make([]ContactImportRow, 50)
	for i := range rows {
		rows[i] = ContactImportRow{Line: i + 2, In: importGoodRow(i)}
	}
	if problems, err := e.c.CheckImport(ctx, rows); err != nil || len(problems) != 0 {
		t.Fatalf("check: %v %+v", err, problems)
	}
	meanwhile := goodContact()
	meanwhile.ReferenceCode = "imp00030"
	if _, _, err := e.c.Create(ctx, e.admin, meanwhile); err != nil {
		t.Fatal(err)
	}
	contacts := importCount(t, e.d, `SELECT count(*) FROM contacts`)
	requests := importCount(t, e.d, `SELECT count(*) FROM approval_requests`)
	audits := importCount(t, e.d, `SELECT count(*) FROM audit_log`)
	res, err := e.c.Import(ctx, e.maker, rows)
	wantCode(t, err, EINVALID)
	if len(res.Problems) != 1 || res.Problems[0].Line != 32 || res.Problems[0].Field != "reference_code" || len(res.ContactIDs) != 0 {
		t.Fatalf("problems %+v", res)
	}
	if importCount(t, e.d, `SELECT count(*) FROM contacts`) != contacts ||
		importCount(t, e.d, `SELECT count(*) FROM approval_requests`) != requests ||
		importCount(t, e.d, `SELECT count(*) FROM audit_log`) != audits {
		t.Fatal("a refused import wrote something")
	}
	verifyAudit(t, e.d)
}

func TestContactImportRefusals(t *testing.T) {
	e := newContactEnv(t)
	ctx := context.Background()
	rows := []ContactImportRow{{Line: 2, In: importGoodRow(0)}}
	// Checkers do not manage contacts: refused and audited.
	_, err := e.c.Import(ctx, e.checker, rows)
	wantCode(t, err, EFORBIDDEN)
	if la := lastAudit(t, e.d); la.Action != "approval.refused" || !strings.Contains(la.Details, "contact.import") {
		t.Fatalf("last audit %+v", la)
	}
	for _, n := range []int{0, MaxContactImportRows + 1} {
		_, err := e.c.Import(ctx, e.admin, make([]ContactImportRow, n))
		if ErrorCode(err) != EINVALID || FieldErrors(err)["rows"] == "" {
			t.Fatalf("%d rows: %v", n, err)
		}
	}
	// Rows without lines are named by position.
	in := importGoodRow(1)
	in.IFSC = "bad"
	problems, err := e.c.CheckImport(ctx, []ContactImportRow{{In: importGoodRow(0)}, {In: in}})
	if err != nil || len(problems) != 1 || problems[0].Line != 2 || problems[0].Field != "ifsc" {
		t.Fatalf("%v %+v", err, problems)
	}
	// An admin may import too.
	if res, err := e.c.Import(ctx, e.admin, rows); err != nil || len(res.ContactIDs) != 1 || res.BankRequests != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if n := importCount(t, e.d, `SELECT count(*) FROM contacts`); n != 1 {
		t.Fatalf("%d contacts", n)
	}
}

// BenchmarkContactImport500 imports 500 contacts (four in five with bank
// details, so 400 approval requests) in one transaction.
func BenchmarkContactImport500(b *testing.B) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	d.Now = func() time.Time { return time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC) }
	c := NewContacts(d, NewApprovals(d, 0))
	maker, err := d.CreateUser(ctx, testHasher, SystemActor, NewUser{Username: "maker", DisplayName: "Maker",
		Password: testPassword, Roles: []Role{RoleMaker}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		rows := make([]ContactImportRow, 500)
		for i := range rows {
			in := importGoodRow(i)
			if in.ReferenceCode != "" {
				in.ReferenceCode = fmt.Sprintf("B%dR%d", n, i)
			}
			rows[i] = ContactImportRow{Line: i + 2, In: in}
		}
		if _, err := c.Import(ctx, maker, rows); err != nil {
			b.Fatal(err)
		}
	}
}

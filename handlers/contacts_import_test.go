package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"paydesk/db"
)

const importHeader = "kind,company_name,first_name,last_name,email,mobile,gstin,reference_code,account_no,ifsc"

// importGoodLine is a valid contact for data row i: every fifth a customer
// without bank details, every third with a reference code of its own.
func importGoodLine(i int) string {
	kind, acct, ifsc := "vendor", fmt.Sprintf("6020%08d", i), "ICIC0000123"
	if i%5 == 4 {
		kind, acct, ifsc = "customer", "", ""
	}
	ref := ""
	if i%3 == 0 {
		ref = fmt.Sprintf("ref%05d", i)
	}
	return fmt.Sprintf("%s,\"Firm %d, Pune\",Meera,Iyer,meera%d@firm.example.com,97%08d,29ABCDE1234F1Z5,%s,%s,%s",
		kind, i, i, i, ref, acct, ifsc)
}

// importBadLines break one column each; ref00000 is data row 0's code.
var importBadLines = []struct{ line, field string }{
	{"vendor," + strings.Repeat("Z", 61) + ",Meera,Iyer,m@firm.example.com,,,,60201,ICIC0000123", "company_name"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,,60202,ICIC000012", "ifsc"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,29ABCDE1234F1Z,,60203,ICIC0000123", "gstin"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,976543210,,,60204,ICIC0000123", "mobile"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,REF00000,60205,ICIC0000123", "reference_code"},
	{"vendor,Firm,Meera,Iyer,,,,,60206,ICIC0000123", "email"},
	{"partner,Firm,Meera,Iyer,m@firm.example.com,,,,60207,ICIC0000123", "kind"},
	{"vendor,Firm,Meera9,Iyer,m@firm.example.com,,,,60208,ICIC0000123", "first_name"},
	{"vendor,Firm,Meera,,m@firm.example.com,,,,60209,ICIC0000123", "last_name"},
	{"vendor,Firm,Meera,Iyer,m@firm,,,,60210,ICIC0000123", "email"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,,60-211,ICIC0000123", "account_no"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,,,", "account_no"},
	{"customer,Firm,Meera,Iyer,m@firm.example.com,,,,,ICIC0000123", "account_no"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,,60214,", "ifsc"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,ref 1,60215,ICIC0000123", "reference_code"},
	{"vendor,Firm & Sons,Meera,Iyer,m@firm.example.com,,,,60216,ICIC0000123", "company_name"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,+919765432100,,,60217,ICIC0000123", "mobile"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,GSTIN,,60218,ICIC0000123", "gstin"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,,60219,ICIC0000123,extra", "row"},
	{"vendor,Firm,Meera,Iyer,m@firm.example.com,,,TAKENREF,60220,ICIC0000123", "reference_code"},
}

// importCSV is n data rows with importBadLines at rows 5, 29, 53, …; it
// returns the file and the bad lines' fields.
func importCSV(n int) (string, map[int]string) {
	var b strings.Builder
	b.WriteString(importHeader + "\n")
	bad := map[int]string{}
	for i := 0; i < n; i++ {
		if k := (i - 5) / 24; i >= 5 && (i-5)%24 == 0 && k < len(importBadLines) {
			b.WriteString(importBadLines[k].line + "\n")
			bad[i+2] = importBadLines[k].field
			continue
		}
		b.WriteString(importGoodLine(i) + "\n")
	}
	return b.String(), bad
}

func importSection(page, id string) string {
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	return page[i : i+strings.Index(page[i:], "</table>")]
}

var importLinePattern = regexp.MustCompile(`<tr data-line="(\d+)"`)

// importInvalid maps the preview's invalid lines to their reasons' text.
func importInvalid(page string) map[int]string {
	out := map[int]string{}
	sec := importSection(page, "contacts-import-invalid")
	for _, loc := range importLinePattern.FindAllStringSubmatchIndex(sec, -1) {
		n, _ := strconv.Atoi(sec[loc[2]:loc[3]])
		row := sec[loc[0]:]
		out[n] = row[:strings.Index(row, "</tr>")]
	}
	return out
}

func (e *testEnv) importCount(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := e.db.Writer().QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestContactsImport500With20BadRows(t *testing.T) {
	e := newTestEnv(t, false)
	taken := db.ContactInput{Kind: db.ContactCustomer, CompanyName: "Taken Ltd", FirstName: "Tara", LastName: "Sen",
		Email: "tara@taken.example.com", ReferenceCode: "takenref"}
	if _, _, err := e.srv.Contacts.Create(context.Background(), bulkUser(t, e, "admin"), taken); err != nil {
		t.Fatal(err)
	}
	maker := e.client()
	maker.signIn("maker")
	resp, page := maker.get("/contacts/import")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import page: %d", resp.StatusCode)
	}
	for _, want := range []string{"reference_code", "company_name", "/contacts/import/template.csv", `name="file"`,
		`hx-post="/contacts/import/preview"`, `href="/contacts"`, "Checking rows…"} {
		if !strings.Contains(page, want) {
			t.Errorf("import page lacks %q", want)
		}
	}

	file, bad := importCSV(500)
	resp, page = maker.bulkPost("/contacts/import/preview", nil, "contacts.csv", file)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, page)
	}
	invalid := importInvalid(page)
	if len(invalid) != 20 || len(bad) != 20 {
		t.Fatalf("invalid lines %d, want 20: %v", len(invalid), invalid)
	}
	for line, field := range bad {
		row, ok := invalid[line]
		if !ok || !strings.Contains(row, "<div>"+field+": ") {
			t.Errorf("line %d: want a %s reason, got %q", line, field, row)
		}
	}
	if !strings.Contains(invalid[103], "already on line 2") || !strings.Contains(invalid[463], "already used by contact") {
		t.Errorf("duplicate reference codes: %q / %q", invalid[103], invalid[463])
	}
	wantBank := 0
	for i := 0; i < 500; i++ {
		if _, isBad := bad[i+2]; !isBad && i%5 != 4 {
			wantBank++
		}
	}
	for _, want := range []string{">500<", ">480<", ">20<", "Import 480 valid contacts", "The 20 invalid rows will be left out",
		fmt.Sprintf("%d with bank details for approval", wantBank)} {
		if !strings.Contains(page, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Count(importSection(page, "contacts-import-valid"), "<tr data-line=") != 100 || !strings.Contains(page, "and 380 more") {
		t.Error("valid rows: want the first 100 and \"and 380 more\"")
	}
	m := bulkCSVPattern.FindStringSubmatch(page)
	if m == nil || html.UnescapeString(m[1]) != file {
		t.Fatal("the preview does not carry the file for the submit")
	}
	carried := html.UnescapeString(m[1])
	if n := e.importCount(t, `SELECT count(*) FROM contacts`); n != 1 {
		t.Fatalf("the preview saved contacts: %d", n)
	}

	// The rows checked differently than the maker saw: nothing is saved.
	resp, page = maker.bulkPost("/contacts/import", map[string]string{"csv": carried, "expect_valid": "481"}, "", "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Nothing was submitted") {
		t.Fatalf("mismatched count: %d", resp.StatusCode)
	}
	// Without the CSRF token: refused.
	if resp, _ := maker.bulkPost("/contacts/import", map[string]string{"_csrf": "", "csv": carried, "expect_valid": "480"}, "", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("submit without CSRF token: %d", resp.StatusCode)
	}
	if n := e.importCount(t, `SELECT count(*) FROM contacts`); n != 1 {
		t.Fatalf("refused submits saved contacts: %d", n)
	}

	resp, page = maker.bulkPost("/contacts/import", map[string]string{"csv": carried, "expect_valid": "480", "file_name": "contacts.csv"}, "", "",
		"HX-Request", "true")
	want := fmt.Sprintf("480 contacts imported, %d sent for bank-detail approval.", wantBank)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) || !strings.Contains(page, `href="/contacts"`) ||
		!strings.Contains(page, `href="/queue"`) || strings.Contains(page, "<html") {
		t.Fatalf("submit: %d, want %q and links\n%s", resp.StatusCode, want, page)
	}
	if n := e.importCount(t, `SELECT count(*) FROM contacts`); n != 481 {
		t.Fatalf("%d contacts, want 481", n)
	}
	if n := e.importCount(t, `SELECT count(*) FROM approval_requests WHERE kind = 'contact_bank' AND state = 'pending_approval'`); n != wantBank {
		t.Fatalf("%d bank requests, want %d", n, wantBank)
	}
	if n := e.importCount(t, `SELECT count(*) FROM contacts WHERE approved_account_no IS NOT NULL`); n != 0 {
		t.Fatalf("%d imported contacts are payable", n)
	}
	if n, err := e.srv.Approvals.CountWaiting(context.Background(), bulkUser(t, e, "checker")); err != nil || n != wantBank {
		t.Fatalf("checker's queue: %d, %v", n, err)
	}
}

func TestContactsImportIsForAdminsAndMakers(t *testing.T) {
	e := newTestEnv(t, false)
	file, _ := importCSV(3)
	checker := e.client()
	checker.signIn("checker")
	for _, path := range []string{"/contacts/import", "/contacts/import/template.csv"} {
		if resp, _ := checker.get(path); resp.StatusCode != http.StatusForbidden {
			t.Errorf("checker GET %s: %d, want 403", path, resp.StatusCode)
		}
	}
	if resp, _ := checker.bulkPost("/contacts/import/preview", nil, "x.csv", file); resp.StatusCode != http.StatusForbidden {
		t.Errorf("checker preview: %d, want 403", resp.StatusCode)
	}
	if resp, _ := checker.bulkPost("/contacts/import", map[string]string{"csv": file, "expect_valid": "3"}, "", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("checker submit: %d, want 403", resp.StatusCode)
	}
	if n := e.importCount(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("a checker imported %d contacts", n)
	}
	// An admin may; the template's own rows check clean.
	admin := e.client()
	admin.signIn("admin")
	resp, body := admin.get("/contacts/import/template.csv")
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if resp.StatusCode != http.StatusOK || err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != importHeader ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("template: %d %v %q", resp.StatusCode, err, body)
	}
	resp, page := admin.bulkPost("/contacts/import/preview", nil, "template.csv", body, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Import 2 valid contacts") || strings.Contains(page, `id="contacts-import-invalid"`) {
		t.Fatalf("the template does not check clean: %d\n%s", resp.StatusCode, page)
	}
}

// A reference code taken between the preview and the submit: the submit
// saves nothing, marks the line and offers no submit.
func TestContactsImportRefusedAtSubmit(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")
	// Forgiving header: BOM, CRLF, other order and case, optional columns
	// left out; two rows with one account (a warning only).
	file := "\xef\xbb\xbf Email ,Company Name,KIND,first_name,last_name,Reference_Code,account_no,ifsc\r\n" +
		"a@x.example.com,Alpha Ltd,Vendor,Anu,Das,alpha1,111222333,hdfc0001234\r\n" +
		"b@x.example.com,Beta Ltd,customer,Bala,Nair,,111222333,HDFC0001234\r\n" +
		"c@x.example.com,Gamma Ltd,customer,Chitra,Pal,,,\r\n"
	resp, page := maker.bulkPost("/contacts/import/preview", nil, "abc.csv", file, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Import 3 valid contacts") || strings.Contains(page, `id="contacts-import-invalid"`) {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, page)
	}
	if w := importSection(page, "contacts-import-warnings"); !strings.Contains(w, `data-line="3"`) || !strings.Contains(w, "Line 2 has the same account number and IFSC") {
		t.Fatalf("warnings:\n%s", w)
	}
	carried := html.UnescapeString(bulkCSVPattern.FindStringSubmatch(page)[1])
	meanwhile := db.ContactInput{Kind: db.ContactCustomer, CompanyName: "Other", FirstName: "Om", LastName: "Rao",
		Email: "om@other.example.com", ReferenceCode: "ALPHA1"}
	if _, _, err := e.srv.Contacts.Create(context.Background(), bulkUser(t, e, "admin"), meanwhile); err != nil {
		t.Fatal(err)
	}
	resp, page = maker.bulkPost("/contacts/import", map[string]string{"csv": carried, "expect_valid": "3"}, "", "", "HX-Request", "true")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Nothing was") {
		t.Fatalf("submit: %d\n%s", resp.StatusCode, page)
	}
	if inv := importInvalid(page); len(inv) != 1 || !strings.Contains(inv[2], "reference_code: Reference code alpha1 is already used") {
		t.Fatalf("invalid rows %v", inv)
	}
	if n := e.importCount(t, `SELECT count(*) FROM contacts`); n != 1 {
		t.Fatalf("%d contacts after a refused import", n)
	}
	// Checked again, the two good rows go in.
	resp, page = maker.bulkPost("/contacts/import", map[string]string{"csv": carried, "expect_valid": "2"}, "", "", "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "2 contacts imported, 1 sent for bank-detail approval") {
		t.Fatalf("second submit: %d\n%s", resp.StatusCode, page)
	}
	// File problems come back as a message, whole pages for plain posts.
	resp, page = maker.bulkPost("/contacts/import/preview", nil, "x.csv", "kind,company_name,email\nvendor,A,a@b.co\n")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Missing required columns: first_name, last_name.") ||
		!strings.Contains(page, "mobile, gstin, reference_code, account_no and ifsc may be left out") || !strings.Contains(page, "<html") {
		t.Fatalf("missing columns: %d\n%s", resp.StatusCode, page)
	}
}

package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/db"
	"paydesk/providers"
)

// TestVirtualAccountFormRolesAndCSRF: only admins propose accounts, with a
// CSRF token; a bad field is shown beside it with the values kept; the
// proposal lands on the account's page and in the checker's queue with its
// values.
func TestVirtualAccountFormRolesAndCSRF(t *testing.T) {
	e := newTestEnv(t, false)
	checker, maker, admin := e.client(), e.client(), e.client()
	checker.signIn("checker")
	maker.signIn("maker")
	admin.signIn("admin")
	form := func(csrf, suffix, name string) url.Values {
		return url.Values{"_csrf": {csrf}, "suffix": {suffix}, "name": {name}, "purpose": {"School fees"}}
	}
	if resp, _ := checker.get("/virtual-accounts/new"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker opens the form: %d", resp.StatusCode)
	}
	if resp, _ := maker.post("/virtual-accounts", form(maker.csrf, "M1", "Maker Try")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("maker proposes: %d", resp.StatusCode)
	}
	admin.get("/virtual-accounts/new")
	if resp, _ := admin.post("/virtual-accounts", form("", "A1", "No Token")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", resp.StatusCode)
	}
	resp, page := admin.post("/virtual-accounts", form(admin.csrf, "A1", "Bad @ Name"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Letters, digits, spaces") || !strings.Contains(page, `value="Bad @ Name"`) {
		t.Fatalf("bad name: %d", resp.StatusCode)
	}
	resp, _ = admin.post("/virtual-accounts", form(admin.csrf, "a1", "Rao and Sons"))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !regexp.MustCompile(`^/virtual-accounts/90909010A1\?proposed=\d+$`).MatchString(loc) {
		t.Fatalf("propose: %d %s", resp.StatusCode, loc)
	}
	if resp, page := admin.get(loc); resp.StatusCode != http.StatusOK || !strings.Contains(page, "pending approval") || !strings.Contains(page, "Proposed as request") {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	if _, page := checker.get("/queue?kind=va_create"); !strings.Contains(page, "Create virtual account 90909010A1 for Rao and Sons") {
		t.Fatal("not in the checker's queue")
	}
	resp, page = admin.post("/virtual-accounts", form(admin.csrf, "A1", "Rao and Sons"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "already an account here") {
		t.Fatalf("same number again: %d", resp.StatusCode)
	}
	if _, page := checker.get("/virtual-accounts.csv?q=Rao"); !strings.Contains(page, "90909010A1,A1,Rao and Sons,School fees") {
		t.Fatalf("export: %s", page)
	}
	for _, path := range []string{"/virtual-accounts", "/virtual-accounts?state=pending_approval&credits=no", "/credits", "/credits?mode=UPI",
		"/credits/unmatched", "/"} {
		if resp, _ := maker.get(path); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}

// TestVirtualAccountUpload200With5BadRows: the preview names exactly the
// bad rows by line with reasons; submitting proposes the rest as one
// request whose rows the checker can read.
func TestVirtualAccountUpload200With5BadRows(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	admin.get("/virtual-accounts/upload")
	bad := map[int]string{10: "create,bad-1,,Dash,,,,,", 40: "create,,,At @ Sign,,,,,", 80: "create,,,Mail,,,nope,,",
		120: "create,,,Short Mobile,,,,12345,", 199: "create,,,Past,,,,,2020-01-01"}
	var b strings.Builder
	b.WriteString("action,suffix,number,name,purpose,contact,email,mobile,expires_on\n")
	for i := range 200 {
		if row, ok := bad[i]; ok {
			b.WriteString(row + "\n")
			continue
		}
		fmt.Fprintf(&b, "create,U%04d,,Upload Payer %d,Invoice %d,,,,\n", i, i, i)
	}
	resp, page := admin.bulkPost("/virtual-accounts/upload/preview", nil, "accounts.csv", b.String())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d", resp.StatusCode)
	}
	lines := regexp.MustCompile(`id="vabulk-invalid"[\s\S]*?</table>`).FindString(page)
	got := regexp.MustCompile(`data-line="(\d+)"`).FindAllStringSubmatch(lines, -1)
	var gotLines []string
	for _, m := range got {
		gotLines = append(gotLines, m[1])
	}
	if strings.Join(gotLines, ",") != "12,42,82,122,201" {
		t.Fatalf("invalid lines %v", gotLines)
	}
	for _, want := range []string{"suffix:", "name: Letters", "email:", "mobile:", "expires_on: The date is in the past"} {
		if !strings.Contains(lines, want) {
			t.Fatalf("no %q among the reasons", want)
		}
	}
	resp, page = admin.bulkPost("/virtual-accounts/upload", map[string]string{"csv": b.String(), "file_name": "accounts.csv", "expect_valid": "195"}, "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "195 accounts proposed in 1 approval request.") {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	list, _, err := e.srv.Approvals.Queue(context.Background(), mustUser(t, e, "checker"), db.QueueFilter{Kind: db.VACreateKind})
	if err != nil || len(list) != 1 || !strings.Contains(list[0].Summary, "Create 195 virtual accounts from accounts.csv") {
		t.Fatalf("%v %+v", err, list)
	}
	checker := e.client()
	checker.signIn("checker")
	_, page = checker.get(fmt.Sprintf("/virtual-accounts/requests/%d", list[0].ID))
	if strings.Count(page, "Upload Payer") != 195 {
		t.Fatalf("%d rows on the request's page", strings.Count(page, "Upload Payer"))
	}
}

// TestCreditRefundAndAttachRoutes: a maker proposes a refund beside the
// credit (above what is left: refused beside the amount); a checker cannot
// propose one; only an admin attaches an unmatched credit.
func TestCreditRefundAndAttachRoutes(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	if _, err := e.srv.VirtualAccounts.StoreBatch(ctx, providers.CreditBatch{BatchID: "B1", Credits: []providers.Credit{
		{TxnRef: "KVA1", UTR: "UTR1", VirtualAccount: "90909010NOPE", AmountPaise: 1000_00, RemitterName: "Meera Textiles",
			RemitterAccount: "123456789012", RemitterIFSC: "HDFC0001234", Mode: providers.RailNEFT, CreditedAt: e.clock.Now()},
	}}); err != nil {
		t.Fatal(err)
	}
	list, _, err := e.srv.VirtualAccounts.Credits(ctx, db.CreditFilter{Query: "KVA1"})
	if err != nil || len(list) != 1 || list[0].State != db.CreditUnmatched {
		t.Fatalf("%v %+v", err, list)
	}
	path := fmt.Sprintf("/credits/%d", list[0].ID)
	maker, checker, admin := e.client(), e.client(), e.client()
	maker.signIn("maker")
	checker.signIn("checker")
	admin.signIn("admin")
	maker.get(path)
	resp, page := maker.post(path+"/refunds", url.Values{"_csrf": {maker.csrf}, "amount": {"1,200"}, "reason": {"Overpaid"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "At most ₹1,000.00 can be refunded") || !strings.Contains(page, `value="Overpaid"`) {
		t.Fatalf("refund above the credit: %d", resp.StatusCode)
	}
	resp, _ = maker.post(path+"/refunds", url.Values{"_csrf": {maker.csrf}, "amount": {"400"}, "reason": {"Overpaid"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "?refund=") {
		t.Fatalf("refund: %d", resp.StatusCode)
	}
	if _, page := maker.get(path); !strings.Contains(page, "₹600.00") || !strings.Contains(page, "waiting for approval") {
		t.Fatal("the credit page does not show what is left and the refund")
	}
	checker.get(path)
	if resp, _ := checker.post(path+"/refunds", url.Values{"_csrf": {checker.csrf}, "amount": {"1"}, "reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("checker proposes a refund: %d", resp.StatusCode)
	}
	if resp, _ := maker.post(path+"/attach", url.Values{"_csrf": {maker.csrf}, "contact": {"CTNOPE"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("maker attaches: %d", resp.StatusCode)
	}
	admin.get("/credits/unmatched")
	resp, page = admin.post(path+"/attach", url.Values{"_csrf": {admin.csrf}, "number": {"90909010NOPE"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "No virtual account 90909010NOPE here") {
		t.Fatalf("attach to an unknown account: %d", resp.StatusCode)
	}
	id := e.createContact(t, admin)
	resp, _ = admin.post(path+"/attach", url.Values{"_csrf": {admin.csrf}, "contact": {id}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("attach: %d", resp.StatusCode)
	}
	k, _ := e.srv.VirtualAccounts.Credit(ctx, list[0].ID)
	if k.State != db.CreditAttached || k.ContactID != id {
		t.Fatalf("%+v", k)
	}
}

// TestCreditsCSVDefusesBankValues: every value the bank sent comes out of
// the credits export with a formula defused, not only the remitter's name.
func TestCreditsCSVDefusesBankValues(t *testing.T) {
	e := newTestEnv(t, false)
	const formula = `=HYPERLINK("https://evil.example","Refund")`
	if _, err := e.srv.VirtualAccounts.StoreBatch(context.Background(), providers.CreditBatch{BatchID: "@B1", Credits: []providers.Credit{
		{TxnRef: "=KVA1", UTR: formula, VirtualAccount: "+90909010NOPE", AmountPaise: 1000_00, RemitterName: formula,
			RemitterAccount: "-1+2", RemitterIFSC: "@SUM(A1)", Mode: providers.Rail("=1+1"), CreditedAt: e.clock.Now()},
	}}); err != nil {
		t.Fatal(err)
	}
	checker := e.client()
	checker.signIn("checker")
	resp, body := checker.get("/credits.csv")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	rows := csvDefused(t, body, 2)
	if got := rows[1][slices.Index(rows[0], "utr")]; got != "'"+formula {
		t.Errorf("utr: %q", got)
	}
}

// csvDefused reads an export of want lines (header included) and reports
// every cell a spreadsheet would run as a formula.
func csvDefused(t *testing.T, body string, want int) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != want {
		t.Fatalf("%v %q", err, body)
	}
	for _, row := range rows[1:] {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("%s: %q is not defused", rows[0][i], cell)
			}
		}
	}
	return rows
}

// TestExportErrorIsAPageNotADownload: an export failing after its CSV
// headers were set answers an HTML error page without the attachment
// header, so the browser shows it instead of saving it as the .csv.
func TestExportErrorIsAPageNotADownload(t *testing.T) {
	e := newTestEnv(t, false)
	checker := e.client()
	checker.signIn("checker")
	if _, err := e.db.Writer().Exec(`DROP TABLE va_credits`); err != nil {
		t.Fatal(err)
	}
	resp, body := checker.get("/credits.csv")
	if resp.StatusCode != http.StatusInternalServerError || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		t.Fatalf("Content-Disposition: %s", cd)
	}
	if !strings.Contains(body, "Something went wrong") {
		t.Fatalf("no error page: %s", body)
	}
}

// TestAttachRefusalKeepsTheRow: a refused attachment re-draws the
// unmatched list on the same page, with what was typed in that row and each
// field's message beside its field; the other rows are left blank.
func TestAttachRefusalKeepsTheRow(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	// 51 credits: the oldest, KVA00, is alone on the second page.
	var credits []providers.Credit
	for i := range 51 {
		credits = append(credits, providers.Credit{TxnRef: fmt.Sprintf("KVA%02d", i), UTR: fmt.Sprintf("UTR%02d", i),
			VirtualAccount: "90909010NOPE", AmountPaise: 100_00, RemitterName: "Meera Textiles", Mode: providers.RailNEFT,
			CreditedAt: e.clock.Now().Add(time.Duration(i) * time.Minute)})
	}
	if _, err := e.srv.VirtualAccounts.StoreBatch(ctx, providers.CreditBatch{BatchID: "B1", Credits: credits}); err != nil {
		t.Fatal(err)
	}
	list, _, err := e.srv.VirtualAccounts.Credits(ctx, db.CreditFilter{Query: "KVA00"})
	if err != nil || len(list) != 1 {
		t.Fatalf("%v %+v", err, list)
	}
	oldest := list[0].ID
	admin := e.client()
	admin.signIn("admin")
	_, page := admin.get("/credits/unmatched")
	next := regexp.MustCompile(`href="(/credits/unmatched\?after=\d+)" rel="next"`).FindStringSubmatch(page)
	if next == nil {
		t.Fatal("no second page")
	}
	tabCount := regexp.MustCompile(`Unmatched\s*<span class="count">(\d+)</span>`)
	if m := tabCount.FindStringSubmatch(page); m == nil || m[1] != "51" {
		t.Fatalf("the Unmatched tab counts %v on the first page, want all 51", m)
	}
	_, page = admin.get(next[1])
	if m := tabCount.FindStringSubmatch(page); m == nil || m[1] != "51" {
		t.Fatalf("the Unmatched tab counts %v on the second page, want all 51", m)
	}
	after := strings.TrimPrefix(next[1], "/credits/unmatched?after=")
	if !strings.Contains(page, fmt.Sprintf(`id="unmatched-%d"`, oldest)) || !strings.Contains(page, `name="after" value="`+after+`"`) {
		t.Fatalf("the second page has no form for KVA00 that keeps its place:\n%s", page)
	}
	resp, page := admin.post(fmt.Sprintf("/credits/%d/attach", oldest),
		url.Values{"_csrf": {admin.csrf}, "after": {after}, "number": {"90909010nope"}, "contact": {"CTNOPE"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("attach to nothing: %d", resp.StatusCode)
	}
	row := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="unmatched-%d">.*?</tr>`, oldest)).FindString(page)
	if row == "" {
		t.Fatalf("the refused row is not on the page:\n%s", page)
	}
	// In this order: the number as typed, its message, the contact, its message.
	want := regexp.MustCompile(`(?s)name="number"[^>]*value="90909010nope".*No virtual account 90909010NOPE here\..*` +
		`name="contact"[^>]*value="CTNOPE".*No contact with this id or reference code\.`)
	if !want.MatchString(row) {
		t.Fatalf("the row does not keep what was typed with each message beside its field:\n%s", row)
	}
	other := regexp.MustCompile(`(?s)<tr id="unmatched-\d+">.*?</tr>`).FindAllString(page, -1)
	if len(other) != 1 {
		t.Fatalf("%d rows on the re-drawn second page, want 1", len(other))
	}
	// The first page's rows are as they were: blank forms, no messages.
	_, page = admin.get("/credits/unmatched")
	if strings.Contains(page, "NOPE\"") || strings.Contains(page, `class="error"`) {
		t.Fatal("another row shows the refused attachment")
	}
}

package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"paydesk/db"
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
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "195 accounts proposed in 1 approval request(s).") {
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

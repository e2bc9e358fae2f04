//go:build e2e

package e2e

import (
	"database/sql"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// The security regression suite: each attack is named, is made over real
// HTTP (from a signed-in browser's cookies, or the browser itself where a
// page is involved), and asserts both the refusal and its audit entry.

// attacker is a signed-in browser whose requests can be crafted.
type attacker struct {
	*session
	csrfToken string
}

func signedIn(t *testing.T, b playwright.Browser, a *app, username, password string) *attacker {
	t.Helper()
	s := newSession(t, b, a)
	s.signIn(username, password)
	s.expectURL("/")
	x := &attacker{session: s}
	x.refreshCSRF()
	// Any script that runs from what an attack stored fails the suite.
	s.page.OnDialog(func(d playwright.Dialog) {
		t.Errorf("a script ran on %s: dialog %q", s.page.URL(), d.Message())
		_ = d.Dismiss()
	})
	return x
}

func (x *attacker) refreshCSRF() {
	x.t.Helper()
	x.goto_("/")
	tok, err := x.page.Locator("nav form[action='/logout'] input[name=_csrf]").InputValue()
	if err != nil || tok == "" {
		x.t.Fatalf("no CSRF token: %v", err)
	}
	x.csrfToken = tok
}

// post sends form as the browser's cookies would, not following redirects;
// form gets the session's CSRF token unless it names _csrf itself.
func (x *attacker) post(path string, form map[string]any, headers map[string]string) playwright.APIResponse {
	x.t.Helper()
	if _, ok := form["_csrf"]; !ok {
		form["_csrf"] = x.csrfToken
	}
	if form["_csrf"] == "" {
		delete(form, "_csrf")
	}
	resp, err := x.page.Request().Post(x.app.URL+path, playwright.APIRequestContextPostOptions{
		Form: form, Headers: headers, MaxRedirects: playwright.Int(0)})
	if err != nil {
		x.t.Fatalf("POST %s: %v", path, err)
	}
	return resp
}

func (x *attacker) get(path string) playwright.APIResponse {
	x.t.Helper()
	resp, err := x.page.Request().Get(x.app.URL+path, playwright.APIRequestContextGetOptions{MaxRedirects: playwright.Int(0)})
	if err != nil {
		x.t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func expectStatus(t *testing.T, resp playwright.APIResponse, want ...int) {
	t.Helper()
	for _, w := range want {
		if resp.Status() == w {
			return
		}
	}
	body, _ := resp.Text()
	t.Fatalf("%s: status %d, want %v\n%.400s", resp.URL(), resp.Status(), want, body)
}

// store reads the app's database, read-only.
type store struct {
	t  *testing.T
	db *sql.DB
}

func (s store) int64(query string, args ...any) int64 {
	s.t.Helper()
	var v int64
	if err := s.db.QueryRow(query, args...).Scan(&v); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return v
}

func (s store) text(query string, args ...any) string {
	s.t.Helper()
	var v string
	if err := s.db.QueryRow(query, args...).Scan(&v); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return v
}

// requestOf is the approval request of the payout at path /payouts/ID.
func (s store) requestOf(payoutPath string) string {
	id := strings.TrimPrefix(payoutPath, "/payouts/")
	return strconv.FormatInt(s.int64(`SELECT approval_request_id FROM payouts WHERE id = ?`, id), 10)
}

// csvCellsSafe fails on any cell a spreadsheet would run as a formula.
func csvCellsSafe(t *testing.T, name, body, mustContain string) {
	t.Helper()
	if !strings.Contains(body, mustContain) {
		t.Fatalf("%s lacks %q", name, mustContain)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("%s: a cell a spreadsheet would run: %q", name, cell)
			}
		}
	}
}

// TestAttacks is the security regression suite.
func TestAttacks(t *testing.T) {
	a := startApp(t)
	b := browser(t)
	log := openAudit(t, a)
	st := store{t: t, db: log.db}

	admin := signedIn(t, b, a, "admin", adminPassword)
	maker := signedIn(t, b, a, "maker", makerPassword)
	checker := signedIn(t, b, a, "checker", checkerPassword)
	checker2 := signedIn(t, b, a, "checker2", checker2Password)
	all := []*attacker{admin, maker, checker, checker2}
	attacks := 0
	attack := func(name string, f func(t *testing.T, mark int64)) {
		attacks++
		t.Run(fmt.Sprintf("%02d %s", attacks, name), func(t *testing.T) {
			for _, x := range all {
				x.t = t
			}
			log.t, st.t = t, t
			f(t, log.last())
		})
	}
	makerID := st.int64(`SELECT id FROM users WHERE username = 'maker'`)

	// Fixtures: a second admin (so rule changes need another admin), a
	// small payout, one above ₹10,00,000 that needs two checkers.
	admin.createUser("adam", "Adam Second", "orchid-ledger-5512", "admin")
	small := maker.proposePayout("Acme Traders", "50100012345678", "HDFC0001234", "50,000", "NEFT")
	smallReq := st.requestOf(small)

	attack("self-approval by a crafted POST", func(t *testing.T, mark int64) {
		expectStatus(t, maker.post("/approvals/"+smallReq+"/approve", map[string]any{}, nil), 403)
		log.expect(mark, "approval.refused", "maker", "You proposed this")
		log.expect(mark, "request.refused", "maker", "/approvals/"+smallReq+"/approve", "403")
	})

	big := maker.proposePayout("Monsoon Steel", "50100012345679", "HDFC0001234", "25,00,000", "RTGS")
	bigReq := st.requestOf(big)
	attack("a second vote by the same checker", func(t *testing.T, mark int64) {
		expectStatus(t, checker.post("/approvals/"+bigReq+"/approve", map[string]any{}, nil), 303)
		expectStatus(t, checker.post("/approvals/"+bigReq+"/approve", map[string]any{}, nil), 409)
		if n := st.int64(`SELECT approvals FROM approval_requests WHERE id = ?`, bigReq); n != 1 {
			t.Fatalf("approvals = %d after a second vote, want 1", n)
		}
		log.expect(mark, "request.refused", "checker", "409", "already approved")
	})

	attack("role escalation: a maker posts the roles form for themself", func(t *testing.T, mark int64) {
		path := fmt.Sprintf("/admin/users/%d/roles", makerID)
		expectStatus(t, maker.post(path, map[string]any{"roles": "admin"}, nil), 403)
		if roles := st.text(`SELECT group_concat(role) FROM user_roles WHERE user_id = ?`, makerID); roles != "maker" {
			t.Fatalf("maker's roles are %q", roles)
		}
		log.expect(mark, "request.refused", "maker", path, "403")
	})

	attack("role escalation: a checker creates an admin", func(t *testing.T, mark int64) {
		expectStatus(t, checker.post("/admin/users", map[string]any{"username": "mallory", "display_name": "M",
			"password": "mallory-pass-123456", "roles": "admin"}, nil), 403)
		if n := st.int64(`SELECT count(*) FROM users WHERE username = 'mallory'`); n != 0 {
			t.Fatal("mallory was created")
		}
		log.expect(mark, "request.refused", "checker", "/admin/users", "403")
	})

	var ruleReq string
	attack("changing the rules alone: an admin approves their own rule change", func(t *testing.T, mark int64) {
		admin.goto_("/admin/rules")
		admin.fill("#rules-approval_rule tbody tr:nth-child(1) input[name=approvals]", "2")
		admin.click("#rules-approval_rule button[type=submit]")
		admin.expectText("#rules-approval_rule .alert.ok", "Sent for approval")
		ruleReq = strconv.FormatInt(st.int64(`SELECT max(id) FROM approval_requests WHERE kind = 'approval_rule'`), 10)
		expectStatus(t, admin.post("/approvals/"+ruleReq+"/approve", map[string]any{}, nil), 403)
		log.expect(mark, "approval.refused", "admin", "You proposed this")
		if n := st.int64(`SELECT approvals FROM approval_rules WHERE kind = 'approval_rule'`); n != 1 {
			t.Fatalf("the rule changed to %d approvals", n)
		}
	})

	attack("a checker approves a rule change that needs an admin", func(t *testing.T, mark int64) {
		expectStatus(t, checker.post("/approvals/"+ruleReq+"/approve", map[string]any{}, nil), 403)
		log.expect(mark, "approval.refused", "checker", "needs the admin role")
	})

	attack("another maker's request: withdrawing it as someone else", func(t *testing.T, mark int64) {
		expectStatus(t, checker.post("/approvals/"+smallReq+"/withdraw", map[string]any{}, nil), 403)
		log.expect(mark, "approval.refused", "checker", "Only the person who proposed this")
		if s := st.text(`SELECT state FROM approval_requests WHERE id = ?`, smallReq); s != "pending_approval" {
			t.Fatalf("request is %s", s)
		}
	})

	attack("reading what a role may not: a maker opens the audit log", func(t *testing.T, mark int64) {
		expectStatus(t, maker.get("/admin/audit"), 403)
		expectStatus(t, maker.get("/admin/audit.csv"), 403)
		log.expect(mark, "request.refused", "maker", "/admin/audit.csv", "403")
	})

	attack("a POST without a CSRF token", func(t *testing.T, mark int64) {
		expectStatus(t, checker.post("/approvals/"+smallReq+"/approve", map[string]any{"_csrf": ""}, nil), 403)
		log.expect(mark, "request.refused", "checker", "did not come from Paydesk")
	})

	attack("a POST with another session's CSRF token", func(t *testing.T, mark int64) {
		expectStatus(t, checker.post("/approvals/"+smallReq+"/approve", map[string]any{"_csrf": maker.csrfToken}, nil), 403)
		log.expect(mark, "request.refused", "checker", "did not come from Paydesk")
	})

	attack("a cross-site POST, even with the right token", func(t *testing.T, mark int64) {
		expectStatus(t, checker.post("/approvals/"+smallReq+"/approve", map[string]any{},
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}), 403)
		log.expect(mark, "request.refused", "checker", "another site")
		if s := st.text(`SELECT state FROM approval_requests WHERE id = ?`, smallReq); s != "pending_approval" {
			t.Fatalf("request is %s", s)
		}
	})

	attack("a form token replayed with the cookie after sign-out", func(t *testing.T, mark int64) {
		gone := signedIn(t, b, a, "checker2", checker2Password)
		cookies, err := gone.ctx.Cookies()
		if err != nil {
			t.Fatal(err)
		}
		token := gone.csrfToken
		gone.click("nav form[action='/logout'] button")
		gone.expectURL("/login?signed_out=1")
		replay := newSession(t, b, a)
		var opt []playwright.OptionalCookie
		for _, c := range cookies {
			opt = append(opt, c.ToOptionalCookie())
		}
		if err := replay.ctx.AddCookies(opt); err != nil {
			t.Fatal(err)
		}
		x := &attacker{session: replay, csrfToken: token}
		expectStatus(t, x.post("/approvals/"+smallReq+"/approve", map[string]any{}, nil), 403)
		log.expect(mark, "request.refused", "(ended session)", "/approvals/"+smallReq+"/approve")
	})

	attack("a disabled user's live session", func(t *testing.T, mark int64) {
		admin.createUser("dina", "Dina Checker", "harbor-violet-7731", "checker")
		dina := signedIn(t, b, a, "dina", "harbor-violet-7731")
		dinaID := st.int64(`SELECT id FROM users WHERE username = 'dina'`)
		expectStatus(t, admin.post(fmt.Sprintf("/admin/users/%d/disable", dinaID), map[string]any{}, nil), 303)
		expectStatus(t, dina.post("/approvals/"+smallReq+"/approve", map[string]any{}, nil), 403)
		dina.goto_("/queue")
		dina.expectURL("/login?next=%2Fqueue")
		// Disabling ended the session there and then: what dina's browser
		// still holds is the cookie of an ended session.
		log.expect(mark, "user.disabled", "admin", "dina")
		log.expect(mark, "request.refused", "(ended session)", "/approvals/"+smallReq+"/approve")
	})

	attack("approving after a reject", func(t *testing.T, mark int64) {
		p := maker.proposePayout("Kaveri Mills", "50100012345680", "HDFC0001234", "12,000", "NEFT")
		req := st.requestOf(p)
		expectStatus(t, checker2.post("/approvals/"+req+"/reject", map[string]any{"reason": "Duplicate invoice"}, nil), 303)
		expectStatus(t, checker.post("/approvals/"+req+"/approve", map[string]any{}, nil), 409)
		log.expect(mark, "request.refused", "checker", "409", "already rejected")
	})

	attack("smuggling bank details beside a contact", func(t *testing.T, mark int64) {
		expectStatus(t, maker.post("/payouts", map[string]any{"contact": "CTAAAAAAAAAA", "beneficiary_name": "Acme Traders",
			"account_no": "50100099999999", "ifsc": "HDFC0009999", "amount": "1000", "rail": "IMPS", "source": "kotakcms",
			"purpose": "smuggle"}, nil), 403)
		log.expect(mark, "approval.refused", "maker", "approved bank details")
		log.expect(mark, "request.refused", "maker", "/payouts", "403")
	})

	for _, amt := range []struct{ name, value string }{
		{"a negative amount", "-500"},
		{"an amount that overflows int64 paise", "92233720368547758.08"},
		{"an amount in fractions of a paisa", "100.005"},
	} {
		attack(amt.name, func(t *testing.T, mark int64) {
			before := st.int64(`SELECT count(*) FROM payouts`)
			expectStatus(t, maker.post("/payouts", map[string]any{"beneficiary_name": "Acme Traders", "account_no": "50100012345678",
				"ifsc": "HDFC0001234", "amount": amt.value, "rail": "NEFT", "source": "kotakcms", "purpose": "x"}, nil), 422)
			if st.int64(`SELECT count(*) FROM payouts`) != before {
				t.Fatal("a payout was saved")
			}
			log.expect(mark, "request.refused", "maker", "/payouts", "422")
		})
	}

	const script = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	attack("script in a payout's beneficiary name is refused", func(t *testing.T, mark int64) {
		expectStatus(t, maker.post("/payouts", map[string]any{"beneficiary_name": script, "account_no": "50100012345678",
			"ifsc": "HDFC0001234", "amount": "100", "rail": "NEFT", "source": "kotakcms", "purpose": "x"}, nil), 422)
		log.expect(mark, "request.refused", "maker", "/payouts", "422")
	})

	var scripted string
	attack("script in a payout's purpose is kept as text, never run", func(t *testing.T, mark int64) {
		maker.goto_("/payouts/new")
		maker.fill("#p-name", "Acme Traders")
		maker.fill("#p-account", "50100012345681")
		maker.fill("#p-ifsc", "HDFC0001234")
		maker.fill("#p-amount", "1,000")
		maker.fill("#p-purpose", "<b>x</b><img src=x onerror=alert(3)>")
		maker.click("#payout-form button[type=submit]")
		maker.expectText("main", "onerror=alert(3)")
		scripted = maker.pathOf()
		checker.goto_("/approvals/" + st.requestOf(scripted))
		checker.expectText("main", "onerror=alert(3)")
		if n := checker.count("main img[src=x]"); n != 0 {
			t.Fatal("the purpose became markup")
		}
		log.expect(mark, "payout.proposed", "maker", `onerror=alert(3)`)
	})

	attack("script in a rejection reason is kept as text, never run", func(t *testing.T, mark int64) {
		req := st.requestOf(scripted)
		expectStatus(t, checker.post("/approvals/"+req+"/reject", map[string]any{"reason": script}, nil), 303)
		maker.goto_("/approvals/" + req)
		maker.expectText("main", "alert(1)")
		if n := maker.count("main img[src=x]"); n != 0 {
			t.Fatal("the reason became markup")
		}
		log.expect(mark, "approval.rejected", "checker", "alert(1)")
	})

	attack("script in a user's display name is kept as text, never run", func(t *testing.T, mark int64) {
		admin.createUser("xena", script, "ledger-quartz-4410", "maker")
		admin.goto_("/admin/users")
		admin.expectText("#user-rows", "alert(1)")
		admin.goto_("/admin/audit")
		admin.expectText("table.audit", "user.created")
		log.expect(mark, "user.created", "admin", "alert(1)")
	})

	attack("script in a contact's name is refused", func(t *testing.T, mark int64) {
		expectStatus(t, maker.post("/contacts", map[string]any{"kind": "vendor", "company_name": script, "first_name": "Asha",
			"last_name": "Rao", "email": "a@example.in"}, nil), 422)
		log.expect(mark, "request.refused", "maker", "/contacts", "422")
	})

	attack("formula text in the payouts CSV export", func(t *testing.T, mark int64) {
		p := maker.proposePayout("-Acme Traders", "50100012345682", "HDFC0001234", "2,000", "NEFT")
		body, _ := checker.get("/payouts.csv").Text()
		csvCellsSafe(t, "payouts.csv", body, "'-Acme Traders")
		log.expect(mark, "approval.proposed", "maker", strings.TrimPrefix(p, "/payouts/"))
	})

	attack("formula text in the contacts CSV export", func(t *testing.T, mark int64) {
		expectStatus(t, maker.post("/contacts", map[string]any{"kind": "vendor", "company_name": "-Kaveri Steel", "first_name": "Asha",
			"last_name": "Rao", "email": "a@example.in", "account_no": "50100077777777", "ifsc": "HDFC0001234"}, nil), 303)
		body, _ := checker.get("/contacts.csv").Text()
		csvCellsSafe(t, "contacts.csv", body, "'-Kaveri Steel")
		log.expect(mark, "contact.created", "maker", "-Kaveri Steel")
	})

	attack("formula text in the audit CSV export", func(t *testing.T, mark int64) {
		maker.goto_("/payouts/new")
		maker.fill("#p-name", "Acme Traders")
		maker.fill("#p-account", "50100012345683")
		maker.fill("#p-ifsc", "HDFC0001234")
		maker.fill("#p-amount", "3,000")
		maker.fill("#p-purpose", `=HYPERLINK("http://evil.example","x")`)
		maker.click("#payout-form button[type=submit]")
		maker.expectText("main", "HYPERLINK")
		body, _ := admin.get("/admin/audit.csv").Text()
		csvCellsSafe(t, "audit.csv", body, "HYPERLINK")
		log.expect(mark, "payout.proposed", "maker", "HYPERLINK")
	})

	attack("an oversized form body (20 MB)", func(t *testing.T, mark int64) {
		expectStatus(t, maker.post("/payouts", map[string]any{"beneficiary_name": "Acme Traders", "account_no": "50100012345678",
			"ifsc": "HDFC0001234", "amount": "100", "rail": "NEFT", "source": "kotakcms", "purpose": strings.Repeat("x", 20<<20)}, nil), 422, 413)
		log.expect(mark, "request.refused", "maker", "/payouts")
	})

	attack("a body over the server's limit (40 MB)", func(t *testing.T, mark int64) {
		resp, err := maker.page.Request().Post(a.URL+"/payouts", playwright.APIRequestContextPostOptions{
			Data: strings.Repeat("x", 40<<20), Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			MaxRedirects: playwright.Int(0), Timeout: playwright.Float(10_000)})
		if err != nil {
			// The server may close the connection on the oversized body.
			t.Logf("oversized body: %v", err)
		} else {
			expectStatus(t, resp, 413)
		}
		log.expect(mark, "request.refused", "maker", "413")
	})

	attack("an oversized CSV upload", func(t *testing.T, mark int64) {
		row := "Acme Traders,50100012345678,HDFC0001234,100.00,NEFT,kotakcms,x,\n"
		file := "beneficiary_name,account_no,ifsc,amount,rail,source,purpose,value_date\n" + strings.Repeat(row, (6<<20)/len(row))
		resp, err := maker.page.Request().Post(a.URL+"/payouts/bulk/preview", playwright.APIRequestContextPostOptions{
			Multipart:    map[string]any{"_csrf": maker.csrfToken, "file": playwright.InputFile{Name: "big.csv", MimeType: "text/csv", Buffer: []byte(file)}},
			MaxRedirects: playwright.Int(0)})
		if err != nil {
			t.Fatal(err)
		}
		expectStatus(t, resp, 422)
		log.expect(mark, "request.refused", "maker", "/payouts/bulk/preview", "422")
	})

	if attacks < 25 {
		t.Fatalf("%d attacks, want at least 25", attacks)
	}
	for _, x := range all {
		x.noCSPErrors()
	}

	t.Run("approving after expiry", func(t *testing.T) {
		short := startApp(t, "PAYDESK_APPROVAL_EXPIRY=3s")
		slog := openAudit(t, short)
		m := signedIn(t, b, short, "maker", makerPassword)
		c := signedIn(t, b, short, "checker", checkerPassword)
		p := m.proposePayout("Acme Traders", "50100012345678", "HDFC0001234", "500", "NEFT")
		req := store{t: t, db: slog.db}.requestOf(p)
		mark := slog.last()
		time.Sleep(3500 * time.Millisecond)
		expectStatus(t, c.post("/approvals/"+req+"/approve", map[string]any{}, nil), 409)
		slog.expect(mark, "approval.expired")
		slog.expect(mark, "request.refused", "checker", "409", "expired")
	})
}

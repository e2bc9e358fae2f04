//go:build e2e

package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// reloadUntil reloads the page until selector contains text: for what a
// background worker changes (the sync with PayMate, a payment's status).
func (s *session) reloadUntil(selector, text string, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, _ := s.page.Locator(selector).First().TextContent()
		if strings.Contains(got, text) {
			return
		}
		if time.Now().After(deadline) {
			s.failShot()
			s.t.Fatalf("%s never contained %q on %s (last: %q)", selector, text, s.page.URL(), got)
		}
		time.Sleep(500 * time.Millisecond)
		if _, err := s.page.Reload(); err != nil {
			s.t.Fatal(err)
		}
	}
}

// pathOf is the page's path without the query.
func (s *session) pathOf() string {
	return strings.TrimPrefix(strings.Split(s.page.URL(), "?")[0], s.app.URL)
}

// TestContactsBankDetailsNeedASecondPerson walks the contacts issue's
// browser acceptance: a new vendor's bank details and a later IFSC change
// each need a checker before any payout can use them.
func TestContactsBankDetailsNeedASecondPerson(t *testing.T) {
	a := startApp(t)
	b := browser(t)
	maker := newSession(t, b, a)
	checker := newSession(t, b, a)
	all := []*session{maker, checker}
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			for _, s := range all {
				s.t = t
			}
			f(t)
		})
	}
	maker.signIn("maker", makerPassword)
	checker.signIn("checker", checkerPassword)

	var contactPath string
	run("maker adds a vendor with bank details; errors stay beside their fields", func(t *testing.T) {
		maker.goto_("/contacts")
		maker.screenshot("contacts-empty")
		maker.goto_("/contacts/new")
		maker.fill("#c-company", "Kaveri Steel Works")
		maker.fill("#c-first", "Asha")
		maker.fill("#c-last", "Rao1")
		maker.fill("#c-email", "accounts@kaveristeel.in")
		maker.fill("#c-mobile", "98200 1234")
		maker.fill("#c-gstin", "27ABCDE1234F1Z5")
		maker.fill("#c-account", "50100234567890")
		maker.fill("#c-ifsc", "HDFC0001234")
		maker.click("#contact-form button[type=submit]")
		maker.expectText("#contact-form .field.invalid", "letters")
		maker.expectText("#contact-form", "10-digit")
		if v, _ := maker.page.Locator("#c-account").InputValue(); v != "50100234567890" {
			t.Fatalf("account lost on re-render: %q", v)
		}
		maker.screenshot("contact-form-errors")
		maker.fill("#c-last", "Rao")
		maker.fill("#c-mobile", "9820012345")
		maker.click("#contact-form button[type=submit]")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/contacts/CT[A-Z2-7]{10}\?`)); err != nil {
			maker.failShot()
			t.Fatalf("create did not land on the contact: %v (at %s)", err, maker.page.URL())
		}
		contactPath = maker.pathOf()
		maker.expectText("main", "await approval")
		maker.expectText("main", "No payouts until a checker approves them")
		maker.screenshot("contact-created")
	})

	run("checker sees the field-level diff in the queue and approves", func(t *testing.T) {
		checker.goto_("/queue")
		row := "#queue-rows tr:has-text('Kaveri Steel Works')"
		checker.expectText(row, "50100234567890")
		checker.expectText(row, "HDFC0001234")
		checker.screenshot("queue-contact-diff")
		checker.click(row + " button[data-approve]")
		checker.expectText(row, "Approved")
	})

	run("the contact shows its PayMate XpressID", func(t *testing.T) {
		maker.goto_(contactPath)
		maker.reloadUntil("main", "PDSK", 20*time.Second)
		maker.expectText("main", "payouts use these")
		maker.screenshot("contact-synced")
	})

	run("the payout form's picker finds the contact as the maker types, by keyboard", func(t *testing.T) {
		maker.goto_("/payouts/new")
		if err := maker.page.Locator("#p-contact-q").PressSequentially("kaveri"); err != nil {
			t.Fatal(err)
		}
		maker.expectText("#p-contact-results", "Kaveri Steel Works")
		maker.screenshot("payout-contact-picker")
		// From the search box, Tab reaches the first match; Enter picks it.
		if err := maker.page.Keyboard().Press("Tab"); err != nil {
			t.Fatal(err)
		}
		if err := maker.page.Keyboard().Press("Enter"); err != nil {
			t.Fatal(err)
		}
		maker.expectText("#p-contact", "Kaveri Steel Works")
		maker.expectText("#payout-form", "Paid to the contact's approved bank details")
		if n := maker.count("#p-account"); n != 0 {
			t.Fatalf("bank fields still shown beside a picked contact: %d", n)
		}
		maker.screenshot("payout-contact-picked")
		maker.goto_(contactPath)
	})

	run("a vendor's request to be paid becomes a payout proposal, paid once approved", func(t *testing.T) {
		xpressID, _ := maker.page.Locator("tr:has-text('ContactXpressID') td").First().TextContent()
		xpressID = strings.TrimSpace(xpressID)
		body := `{"contact_xpress_id":"` + xpressID + `","order_id":"VINV7781","amount_paise":4567800,"remarks":"Invoice 7781"}`
		resp, err := http.Post(a.SandboxURL+"/_sandbox/paymate/vendor-requests", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("sandbox vendor request for %q: %v %v", xpressID, err, resp)
		}
		resp.Body.Close()
		maker.goto_("/collections/vendor-requests")
		maker.reloadUntil("main", "VINV7781", 20*time.Second)
		row := "tr:has-text('VINV7781')"
		maker.expectText(row, "₹45,678.00")
		maker.screenshot("vendor-requests")
		maker.click(row + " button:has-text('Propose payout')")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/payouts/PO[A-Z2-7]+\?proposed=1$`)); err != nil {
			maker.failShot()
			t.Fatalf("vendor request not proposed: %v (at %s)", err, maker.page.URL())
		}
		payout := maker.pathOf()
		maker.expectText("main", "Settles the vendor's request")

		checker.goto_("/queue")
		qrow := "#queue-rows tr:has-text('₹45,678.00')"
		checker.click(qrow + " button[data-approve]")
		checker.expectText(qrow, "Approved")
		maker.goto_(payout)
		maker.reloadUntil("main .badge.big", "processed", 30*time.Second)
		maker.screenshot("vendor-payout-processed")
		maker.goto_("/collections/vendor-requests?state=all")
		maker.reloadUntil(row, "paid", 10*time.Second)
		maker.goto_(contactPath)
	})

	run("maker edits the IFSC: a payout to the contact is refused until a checker approves", func(t *testing.T) {
		maker.goto_(contactPath + "/edit")
		maker.fill("#c-account", "50100234567890")
		maker.fill("#c-ifsc", "ICIC0004321")
		maker.click("#contact-form button[type=submit]")
		if err := maker.page.WaitForURL(regexp.MustCompile(regexp.QuoteMeta(contactPath) + `\?`)); err != nil {
			maker.failShot()
			t.Fatalf("edit did not land on the contact: %v (at %s)", err, maker.page.URL())
		}
		maker.expectText("main", "payouts held")
		maker.screenshot("contact-change-pending")

		maker.goto_("/payouts/new?contact=" + strings.TrimPrefix(contactPath, "/contacts/"))
		maker.expectText("#payout-form", "held until a checker approves the change")
		maker.fill("#p-amount", "25,000")
		maker.click("#payout-form button[type=submit]")
		maker.expectText("#payout-form .field.invalid", "held until a checker approves the change")
		if v, _ := maker.page.Locator("#p-amount").InputValue(); v != "25,000" {
			t.Fatalf("amount lost: %q", v)
		}
		maker.screenshot("payout-to-contact-held")

		checker.goto_("/queue")
		row := "#queue-rows tr:has-text('Kaveri Steel Works')"
		checker.expectText(row, "ICIC0004321")
		checker.expectText(row, "HDFC0001234")
		checker.click(row + " button[data-approve]")
		checker.expectText(row, "Approved")

		maker.goto_("/payouts/new?contact=" + strings.TrimPrefix(contactPath, "/contacts/"))
		maker.expectText("#payout-form", "ICIC0004321")
		maker.fill("#p-amount", "25,000")
		maker.click("#payout-form button[type=submit]")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/payouts/PO[A-Z2-7]+\?proposed=1$`)); err != nil {
			maker.failShot()
			t.Fatalf("payout to the approved contact not proposed: %v (at %s)", err, maker.page.URL())
		}
		maker.expectText("main", "ICIC0004321")
		maker.expectText("main", "Kaveri Steel Works")
		maker.screenshot("payout-to-contact")
	})

	run("a payment request to the contact reaches Paid after the sandbox marks it paid", func(t *testing.T) {
		maker.goto_("/collections/new")
		maker.screenshot("collection-form")
		requestPaymentFromContact(t, maker, "Kaveri Steel Works", "1,18,000.50", "Advance for order 77")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/collections/CR[A-Z2-7]{12}`)); err != nil {
			maker.failShot()
			t.Fatalf("request not created: %v (at %s)", err, maker.page.URL())
		}
		path := maker.pathOf()
		id := strings.TrimPrefix(path, "/collections/")
		maker.reloadUntil("main .badge.big", "pending", 20*time.Second)
		resp, err := http.Post(a.SandboxURL+"/_sandbox/paymate/requests/"+id+"/paid", "application/json", nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("sandbox paid: %v %v", err, resp)
		}
		resp.Body.Close()
		maker.reloadUntil("main .badge.big", "paid", 20*time.Second)
		maker.expectText("main", "₹1,18,000.50")
		maker.screenshot("collection-paid")
		maker.goto_(contactPath)
		maker.expectText("main", id)
		maker.screenshot("contact-page")
		maker.goto_("/contacts")
		maker.screenshot("contacts-list")
		maker.goto_("/collections")
		maker.expectText("main table", id)
		maker.screenshot("collections-list")
		maker.goto_("/contacts/import")
		maker.expectText("main", "reference_code")
		maker.screenshot("contacts-import")
	})

	for _, s := range all {
		s.noCSPErrors()
	}
}

// requestPaymentFromContact fills the payment request form for a contact
// registered at PayMate and submits it.
func requestPaymentFromContact(t *testing.T, s *session, contact, amount, purpose string) {
	t.Helper()
	s.goto_("/collections/new")
	s.click("#cr-payer-contact")
	if _, err := s.page.Locator("#cr-contact").SelectOption(playwright.SelectOptionValues{Labels: &[]string{contact}}); err != nil {
		// Labels may carry more than the name (an XpressID, say).
		opt, _ := s.page.Locator("#cr-contact option:has-text('" + contact + "')").First().GetAttribute("value")
		if _, err := s.page.Locator("#cr-contact").SelectOption(playwright.SelectOptionValues{Values: &[]string{opt}}); err != nil {
			s.failShot()
			t.Fatalf("pick %s: %v", contact, err)
		}
	}
	s.fill("#cr-amount", amount)
	s.fill("#cr-purpose", purpose)
	s.click("#collection-form button[type=submit]")
}

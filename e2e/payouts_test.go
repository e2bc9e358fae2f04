//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

const (
	checkerPassword  = "audit-monsoon-6194"
	checker2Password = "second-signal-2758"
)

// proposePayout fills the form and returns the new payout's page path.
func (s *session) proposePayout(name, account, ifsc, amount, rail string) string {
	s.t.Helper()
	s.goto_("/payouts/new")
	s.fill("#p-name", name)
	s.fill("#p-account", account)
	s.fill("#p-ifsc", ifsc)
	s.fill("#p-amount", amount)
	if _, err := s.page.Locator("#p-rail").SelectOption(playwright.SelectOptionValues{Values: &[]string{rail}}); err != nil {
		s.t.Fatal(err)
	}
	s.fill("#p-purpose", "Vendor invoice")
	s.click("#payout-form button[type=submit]")
	if err := s.page.WaitForURL(regexp.MustCompile(`/payouts/PO[A-Z2-7]+\?proposed=1$`)); err != nil {
		s.failShot()
		s.t.Fatalf("proposal did not land on its page: %v (at %s)", err, s.page.URL())
	}
	return strings.TrimPrefix(strings.Split(s.page.URL(), "?")[0], s.app.URL)
}

// TestPayoutMakerChecker walks the payouts issue's browser acceptance.
func TestPayoutMakerChecker(t *testing.T) {
	a := startApp(t)
	b := browser(t)
	maker := newSession(t, b, a)
	checker := newSession(t, b, a)
	checker2 := newSession(t, b, a)
	admin := newSession(t, b, a)
	all := []*session{maker, checker, checker2, admin}
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
	checker2.signIn("checker2", checker2Password)
	admin.signIn("admin", adminPassword)

	var small string
	run("bad input is refused beside its field and kept", func(t *testing.T) {
		maker.goto_("/payouts/new")
		maker.fill("#p-name", "Acme Traders")
		maker.fill("#p-account", "50100012345678")
		maker.fill("#p-ifsc", "HDFC1234567")
		maker.fill("#p-amount", "50,000.005")
		maker.click("#payout-form button[type=submit]")
		maker.expectText("#payout-form .field.invalid", "IFSC")
		maker.expectText("#payout-form", "decimal")
		if v, _ := maker.page.Locator("#p-name").InputValue(); v != "Acme Traders" {
			t.Fatalf("name lost: %q", v)
		}
		maker.screenshot("payout-form-errors")
	})

	run("maker proposes ₹50,000 NEFT; no approve for the maker", func(t *testing.T) {
		small = maker.proposePayout("Acme Traders", "50100012345678", "HDFC0001234", "50,000", "NEFT")
		maker.expectText("main .badge.big", "pending_approval")
		maker.screenshot("payout-proposed")
		maker.goto_("/queue")
		maker.expectText("main", "Your proposals waiting for others")
		if n := maker.count("#queue-rows button[data-approve]"); n != 0 {
			t.Fatalf("maker's queue offers %d approve buttons", n)
		}
	})

	run("a crafted approve by the maker gets 403 and is audited", func(t *testing.T) {
		maker.goto_(small)
		href, err := maker.page.Locator("main .card a[href^='/approvals/']").GetAttribute("href")
		if err != nil {
			t.Fatal(err)
		}
		csrf, _ := maker.page.Locator("input[name=_csrf]").First().InputValue()
		resp, err := maker.page.Request().Post(a.URL+href+"/approve", playwright.APIRequestContextPostOptions{Form: map[string]any{"_csrf": csrf}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status() != 403 {
			t.Fatalf("maker's crafted approve: %d, want 403", resp.Status())
		}
		admin.goto_("/admin/audit?action=approval.refused")
		admin.expectText("table.audit tbody", "maker")
		maker.goto_(href)
		maker.expectText("main", "Decisions")
		maker.expectVisible("main form[action$='/withdraw']")
		maker.screenshot("approval-request")
	})

	run("checker approves; it is processed with a UTR within seconds", func(t *testing.T) {
		checker.goto_("/queue")
		checker.expectText("#queue-rows", "Acme Traders")
		checker.screenshot("queue-payout")
		checker.click("#queue-rows tr:has-text('Acme Traders') button[data-approve]")
		checker.expectText("#queue-rows tr:has-text('Acme Traders')", "Approved")
		deadline := time.Now().Add(45 * time.Second)
		for {
			maker.goto_(small)
			state, _ := maker.page.Locator("main .badge.big").InnerText()
			if state == "processed" {
				break
			}
			if time.Now().After(deadline) {
				maker.failShot()
				t.Fatalf("payout still %q after 45 s", state)
			}
			time.Sleep(time.Second)
		}
		utr, _ := maker.page.Locator("main .card .value.mono").First().InnerText()
		if len(strings.TrimSpace(utr)) < 12 {
			t.Fatalf("UTR = %q", utr)
		}
		maker.screenshot("payout-processed")
	})

	run("₹25,00,000 needs two different checkers", func(t *testing.T) {
		big := maker.proposePayout("Bharat Steel", "91200098765432", "ICIC0004321", "25,00,000", "RTGS")
		checker.goto_("/queue")
		checker.click("#queue-rows tr:has-text('Bharat Steel') button[data-approve]")
		checker.expectText("#queue-rows tr:has-text('Bharat Steel')", "1 of 2")
		maker.goto_(big)
		maker.expectText("main .badge.big", "pending_approval")
		checker.goto_("/queue")
		if n := checker.count("#queue-rows tr:has-text('Bharat Steel')"); n != 0 {
			t.Fatal("the same checker is offered the payout again")
		}
		checker2.goto_("/queue")
		checker2.click("#queue-rows tr:has-text('Bharat Steel') button[data-approve]")
		checker2.expectText("#queue-rows tr:has-text('Bharat Steel')", "Approved")
	})

	run("a rejection needs a reason and the maker sees it", func(t *testing.T) {
		rej := maker.proposePayout("Chennai Textiles", "30300011122233", "SBIN0001111", "75,000", "IMPS")
		checker.goto_("/queue")
		row := "#queue-rows tr:has-text('Chennai Textiles')"
		checker.click(row + " summary[data-reject]")
		checker.fill(row+" input[name=reason]", "Invoice not received yet")
		checker.click(row + " details.reject button[type=submit]")
		checker.expectText(row, "Rejected")
		maker.goto_(rej)
		maker.expectText("main .badge.big", "rejected")
		maker.expectText("main", "Invoice not received yet")
		maker.screenshot("payout-rejected")
		maker.goto_("/payouts")
		maker.screenshot("payouts")
	})

	for _, s := range all {
		s.noCSPErrors()
	}
}

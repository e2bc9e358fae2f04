//go:build e2e

package e2e

import (
	"net/url"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// TestRuleChangeNeedsAnotherAdmin: with two admins a rule change is a request
// the other admin approves from the queue, by keyboard.
func TestRuleChangeNeedsAnotherAdmin(t *testing.T) {
	a := startApp(t)
	b := browser(t)
	admin := newSession(t, b, a)
	adam := newSession(t, b, a)
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			admin.t, adam.t = t, t
			f(t)
		})
	}

	run("admin adds a second admin", func(t *testing.T) {
		admin.signIn("admin", adminPassword)
		admin.expectURL("/")
		admin.createUser("adam", "Adam Second", "orchid-ledger-5512", "admin")
	})

	run("a rule change becomes a request", func(t *testing.T) {
		admin.goto_("/admin/rules")
		admin.screenshot("rules")
		// Rule changes themselves: two admins instead of one from now on.
		admin.fill("#rules-approval_rule tbody tr:nth-child(1) input[name=approvals]", "2")
		admin.click("#rules-approval_rule button[type=submit]")
		admin.expectText("#rules-approval_rule .alert.ok", "Sent for approval to another admin")
		admin.goto_("/queue")
		admin.expectText("main", "Your proposals waiting for others")
		admin.expectText("main", "Approval rule")
		if n := admin.count("#queue-rows tr"); n != 0 {
			t.Fatalf("the proposing admin has %d items to approve", n)
		}
		admin.screenshot("queue-maker")
	})

	run("back from the step-up a rule change asked for, the form holds the bands as typed", func(t *testing.T) {
		back := url.Values{"again": {"payout"}, "min": {"0", "2,50,000.01"}, "max": {"2,50,000", ""},
			"approvals": {"1", "2"}, "role": {"checker", "admin"}}
		admin.goto_("/admin/rules?" + back.Encode() + "#rules-payout")
		admin.expectText("#rules-payout .alert.warn", "not changed yet")
		panel := admin.page.Locator("#rules-payout")
		for label, want := range map[string]string{"Band 1 up to": "2,50,000", "Band 2 from": "2,50,000.01", "Band 2 approvals": "2"} {
			if v, err := panel.GetByLabel(label, playwright.LocatorGetByLabelOptions{Exact: playwright.Bool(true)}).InputValue(); err != nil || v != want {
				t.Fatalf("%s holds %q (%v), want %q", label, v, err, want)
			}
		}
		admin.screenshot("rules-again")
	})

	run("the other admin approves it by keyboard", func(t *testing.T) {
		adam.signIn("adam", "orchid-ledger-5512")
		adam.expectURL("/")
		adam.expectText("nav a[href='/queue'] .count", "1")
		adam.click("nav a[href='/queue']")
		adam.expectVisible("#queue-rows tr")
		adam.screenshot("queue")
		if err := adam.page.Keyboard().Press("j"); err != nil {
			t.Fatal(err)
		}
		adam.expectVisible("#queue-rows tr.current")
		if err := adam.page.Keyboard().Press("a"); err != nil {
			t.Fatal(err)
		}
		adam.expectText("#queue-rows tr", "Approved")
		adam.screenshot("queue-approved")
		adam.goto_("/admin/rules")
		if v, _ := adam.page.Locator("#rules-approval_rule tbody tr:nth-child(1) input[name=approvals]").InputValue(); v != "2" {
			t.Fatalf("approvals = %q after approval, want 2", v)
		}
	})

	for _, s := range []*session{admin, adam} {
		s.noCSPErrors()
	}
}

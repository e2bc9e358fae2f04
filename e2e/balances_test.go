//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"paydesk/views"
)

// sandboxPut sends a control request to a provider's sandbox.
func (a *app) sandboxPut(t *testing.T, provider, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, a.SandboxURL+"/_sandbox/"+provider+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("sandbox PUT %s%s: %v %v", provider, path, err, resp)
	}
	resp.Body.Close()
}

// payMateBalance is the PayMate sandbox's ledger balance, in paise.
func (a *app) payMateBalance(t *testing.T) int64 {
	t.Helper()
	resp, err := http.Get(a.SandboxURL + "/_sandbox/paymate/balance")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Paise int64 `json:"paise"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Paise
}

// proposePayMatePayout proposes a payout from PayMate and returns its path.
func (s *session) proposePayMatePayout(name, account, amount string) string {
	s.t.Helper()
	s.goto_("/payouts/new")
	s.fill("#p-name", name)
	s.fill("#p-account", account)
	s.fill("#p-ifsc", "HDFC0001234")
	s.fill("#p-amount", amount)
	if _, err := s.page.Locator("#p-source").SelectOption(playwright.SelectOptionValues{Values: &[]string{"paymate"}}); err != nil {
		s.t.Fatal(err)
	}
	s.fill("#p-purpose", "Vendor invoice")
	s.click("#payout-form button[type=submit]")
	if err := s.page.WaitForURL(regexp.MustCompile(`/payouts/PO[A-Z2-7]+\?proposed=1$`)); err != nil {
		s.failShot()
		s.t.Fatalf("proposal did not land on its page: %v (at %s)", err, s.page.URL())
	}
	return s.pathOf()
}

// TestBalancesAndKSPay walks the balances and KS Pay issue's browser
// acceptance.
func TestBalancesAndKSPay(t *testing.T) {
	a := startApp(t)
	b := browser(t)
	admin := newSession(t, b, a)
	maker := newSession(t, b, a)
	checker := newSession(t, b, a)
	all := []*session{admin, maker, checker}
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			for _, s := range all {
				s.t = t
			}
			f(t)
		})
	}
	admin.signIn("admin", adminPassword)
	maker.signIn("maker", makerPassword)
	checker.signIn("checker", checkerPassword)
	payMate := "#account-paymate"

	run("the balances page shows the PayMate balance", func(t *testing.T) {
		admin.goto_("/balances")
		admin.reloadUntil(payMate+" [data-balance]", views.INR(a.payMateBalance(t)), 15*time.Second)
		admin.expectText(payMate, "current")
		admin.expectText("#account-kotakcms", "not available by API")
		admin.expectText("main", "KS Pay collections")
		admin.screenshot("balances")
	})

	var payout string
	opening := a.payMateBalance(t)
	run("an approved payout is reserved, and once processed the new balance is a new history point", func(t *testing.T) {
		payout = maker.proposePayMatePayout("Sundaram Textiles", "50100098765432", "1,00,000")
		// PayMate answers slowly for a while: the approved payout waits,
		// reserved, before PayMate has taken the money.
		a.sandboxPut(t, "paymate", "/faults", `{"latency":"8s"}`)
		time.Sleep(1500 * time.Millisecond)
		checker.goto_("/queue")
		row := "#queue-rows tr:has-text('Sundaram Textiles')"
		checker.expectText(row, "balance after")
		checker.click(row + " button[data-approve]")
		checker.expectText(row, "Approved")
		admin.goto_("/balances")
		admin.expectText(payMate+" [data-reserved]", "₹1,00,000.00")
		admin.expectText(payMate+" [data-available]", views.INR(opening-1_00_000_00))
		admin.screenshot("balances-reserved")
		a.sandboxPut(t, "paymate", "/faults", `{}`)
		maker.goto_(payout)
		maker.reloadUntil("main .badge.big", "processed", 60*time.Second)
		after := a.payMateBalance(t)
		if after >= opening {
			t.Fatalf("sandbox balance %d did not move from %d", after, opening)
		}
		admin.goto_("/balances")
		admin.reloadUntil(payMate+" [data-balance]", views.INR(after), 20*time.Second)
		admin.reloadUntil(payMate+" [data-reserved]", "₹0.00", 10*time.Second)
		csv, err := admin.page.Request().Get("/balances/changes.csv?source=paymate&days=7")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := csv.Text()
		if lines := strings.Count(strings.TrimSpace(body), "\n"); lines != 2 {
			t.Fatalf("history has %d rows, want 2 (opening, after the payout):\n%s", lines, body)
		}
		admin.screenshot("balances-after-payout")
	})

	run("back from the step-up a threshold change asked for, the form holds what was typed", func(t *testing.T) {
		admin.goto_("/balances?again=paymate&threshold=" + url.QueryEscape("75,00,000"))
		admin.expectText(".alert", "not changed yet")
		if v, err := admin.page.Locator("#th-paymate").InputValue(); err != nil || v != "75,00,000" {
			t.Fatalf("the threshold form holds %q (%v), want what was typed", v, err)
		}
		admin.screenshot("balances-threshold-again")
	})

	run("a threshold above the balance shows the banner, and the queue warns", func(t *testing.T) {
		admin.goto_("/balances")
		admin.fill("#th-paymate", "1,00,00,000")
		admin.click(payMate + " .threshold-form button[type=submit]")
		admin.expectText(".low-balance", "below its threshold of ₹1,00,00,000.00")
		admin.expectText(payMate, "set by admin")
		admin.screenshot("balances-low")
		admin.goto_("/")
		admin.expectText(".low-balance", "PayMate")
		admin.expectVisible(".card svg.spark")
		admin.screenshot("home-balances")
		maker.proposePayMatePayout("Kaveri Steel", "50100012121212", "25,000")
		checker.goto_("/queue")
		checker.expectText(".low-balance", "PayMate")
		row := "#queue-rows tr:has-text('Kaveri Steel')"
		checker.expectText(row, "below its low-balance threshold of ₹1,00,00,000.00")
		checker.screenshot("queue-low-balance")
	})

	var txnPath, providerID string
	run("a maker initiates a KS Pay payment; the payer's order is shown", func(t *testing.T) {
		maker.goto_("/gateway")
		maker.screenshot("gateway-empty")
		maker.goto_("/gateway/new")
		// Only the chosen currency's methods are offered.
		maker.expectText("#g-method", "UPI")
		if _, err := maker.page.Locator("#g-currency").SelectOption(playwright.SelectOptionValues{Labels: &[]string{"USD · US Dollar"}}); err != nil {
			t.Fatal(err)
		}
		// The form comes back (htmx) with USD's one method only.
		if err := playwright.NewPlaywrightAssertions(10000).Locator(maker.page.Locator("#g-method option")).ToHaveText([]string{"CARD"}); err != nil {
			maker.failShot()
			t.Fatalf("USD methods: %v", err)
		}
		maker.goto_("/gateway/new") // rupees again, as the form starts
		maker.expectText("#g-method", "UPI")
		if _, err := maker.page.Locator("#g-method").SelectOption(playwright.SelectOptionValues{Labels: &[]string{"UPI"}}); err != nil {
			t.Fatal(err)
		}
		maker.fill("#g-amount", "1499.505")
		maker.fill("#g-ref", "INV-2026-0042")
		maker.click("#gateway-form button[type=submit]")
		maker.expectText("#gateway-form .field.invalid", "two decimals")
		if v, _ := maker.page.Locator("#g-ref").InputValue(); v != "INV-2026-0042" {
			t.Fatalf("reference lost on re-render: %q", v)
		}
		maker.screenshot("gateway-form-errors")
		maker.fill("#g-amount", "1499.50")
		maker.click("#gateway-form button[type=submit]")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/gateway/KP[A-Z2-7]+\?created=1$`)); err != nil {
			maker.failShot()
			t.Fatalf("create did not land on the transaction: %v (at %s)", err, maker.page.URL())
		}
		txnPath = maker.pathOf()
		maker.reloadUntil("main", "For the payer", 20*time.Second)
		maker.expectText("main", "RAZORPAY")
		maker.expectVisible(".qr svg")
		maker.expectVisible("#checkout-link")
		providerID, _ = maker.page.Locator("[data-kspay-id]").TextContent()
		providerID = strings.TrimSpace(providerID)
		if !strings.HasPrefix(providerID, "tx_") {
			t.Fatalf("KS Pay id %q", providerID)
		}
		maker.screenshot("gateway-order")
	})

	run("a forged redirect saying success does not mark it paid", func(t *testing.T) {
		payer := newSession(t, b, a)
		payer.goto_(fmt.Sprintf("/gateway/return?payment_status=success&kspay_id=%s&provider_payment_id=pay_FORGED00000001", providerID))
		payer.expectText("main", "confirming your payment")
		payer.screenshot("gateway-return")
		time.Sleep(3 * time.Second) // the check by id has run
		maker.goto_("/gateway")
		maker.expectText("#g-"+strings.TrimPrefix(txnPath, "/gateway/"), "pending")
		maker.goto_(txnPath)
		maker.expectText("main [data-status]", "pending")
	})

	run("the payer pays at the sandbox's checkout; the list shows it paid", func(t *testing.T) {
		// The payer follows the copyable link to the gateway's hosted
		// checkout, pays, and is sent back to Paydesk with the redirect.
		maker.goto_(txnPath)
		link, _ := maker.page.Locator("#checkout-link").InputValue()
		payer := newSession(t, b, a)
		payer.goto_(link)
		payer.click("button:has-text('Pay now')")
		if err := payer.page.WaitForURL(regexp.MustCompile(`/gateway/return\?`)); err != nil {
			t.Fatalf("not sent back to Paydesk: %v (at %s)", err, payer.page.URL())
		}
		if !strings.Contains(payer.page.URL(), "payment_status=success") {
			t.Fatalf("redirect %s", payer.page.URL())
		}
		payer.expectText("main", "confirming your payment")
		maker.goto_("/gateway")
		row := "#g-" + strings.TrimPrefix(txnPath, "/gateway/")
		maker.reloadUntil(row, "paid", 20*time.Second)
		maker.expectText(row, "₹1,499.50")
		maker.screenshot("gateway-list-paid")
		maker.goto_(txnPath)
		maker.expectText("main [data-status]", "paid")
		maker.screenshot("gateway-paid")
		maker.goto_("/gateway/analytics?days=7")
		maker.expectText("#method-stats", "UPI")
		maker.expectText("#method-stats", "100 %")
		maker.screenshot("gateway-analytics")
		admin.goto_("/balances")
		admin.expectText("main", "₹1,499.50")
		admin.screenshot("balances-collected")
	})

	for _, s := range all {
		s.noCSPErrors()
	}
}

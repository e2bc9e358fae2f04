//go:build e2e

package e2e

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// writeVACSV writes n accounts to create, five of them bad, and returns the
// file and the bad rows' lines.
func writeVACSV(t *testing.T, n int) (string, []int) {
	t.Helper()
	bad := map[int][]string{
		12:  {"create", "BAD-1", "", "Dash Suffix", "", "", "", "", ""},
		47:  {"create", "", "", "At @ Sign Traders", "", "", "", "", ""},
		88:  {"create", "", "", "Mail Error", "", "", "not-an-email", "", ""},
		130: {"create", "", "", "Short Mobile", "", "", "", "12345", ""},
		199: {"create", "", "", "Past Expiry", "", "", "", "", "2020-01-01"},
	}
	path := filepath.Join(t.TempDir(), "virtual-accounts-200.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"action", "suffix", "number", "name", "purpose", "contact", "email", "mobile", "expires_on"})
	var lines []int
	for i := range n {
		if row, ok := bad[i]; ok {
			_ = w.Write(row)
			lines = append(lines, i+2)
			continue
		}
		_ = w.Write([]string{"create", fmt.Sprintf("BLK%04d", i), "", fmt.Sprintf("Bulk Payer %d", i), fmt.Sprintf("Invoice %d", i), "", "", "", ""})
	}
	w.Flush()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, lines
}

// TestVirtualAccounts walks the virtual accounts issue's browser acceptance:
// an account made for a contact and approved, a sandbox credit to it on the
// credits and account pages, a partial refund through a checker to the
// bank's final state, a change shown old → new, and a 200-row CSV with its
// five bad rows named.
func TestVirtualAccounts(t *testing.T) {
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
	const number = "90909010E2E001"

	var contactID string
	run("admin proposes an account for a contact; a checker approves; it is active", func(t *testing.T) {
		// PayMate's portal contacts arrive by the contact sync.
		admin.goto_("/contacts?q=Nelson")
		admin.reloadUntil("main", "Nelson Group", 20*time.Second)
		admin.goto_("/virtual-accounts/new")
		admin.expectText("main h1", "New virtual account")
		opt := admin.page.Locator("#va-contact option", playwright.PageLocatorOptions{HasText: "Nelson Group"}).First()
		v, err := opt.GetAttribute("value")
		if err != nil || v == "" {
			t.Fatalf("no Nelson Group in the contact list: %v", err)
		}
		contactID = v
		admin.fill("#va-suffix", "e2e001")
		admin.fill("#va-name", "Nelson Group")
		admin.fill("#va-purpose", "Invoices 2026")
		if _, err := admin.page.Locator("#va-contact").SelectOption(playwright.SelectOptionValues{Values: &[]string{contactID}}); err != nil {
			t.Fatal(err)
		}
		admin.click("#va-form button[type=submit]")
		if err := admin.page.WaitForURL(regexp.MustCompile(`/virtual-accounts/` + number + `\?proposed=\d+$`)); err != nil {
			admin.failShot()
			t.Fatalf("not on the account's page: %v (%s)", err, admin.page.URL())
		}
		admin.expectText("[data-va-state]", "pending approval")
		admin.screenshot("va-proposed")

		checker.goto_("/queue?kind=va_create")
		row := "#queue-rows tr:has-text('" + number + "')"
		checker.expectText(row, "Nelson Group")
		checker.screenshot("va-queue")
		checker.click(row + " button[data-approve]")
		checker.expectText(row, "Approved")

		admin.goto_("/virtual-accounts/" + number)
		admin.reloadUntil("[data-va-state]", "active", 15*time.Second)
		admin.expectText("main h1", number)
		admin.screenshot("va-active")
	})

	var creditPath string
	run("a sandbox credit appears on the credits page and the account's page within seconds", func(t *testing.T) {
		var added struct{ TxnRefs []string }
		a.sandboxPost(t, "kotakva", "/credits", `{"VirtualAccountNo":"`+number+`","Amount":"12500.00","RemitterName":"Nelson Group",
			"RemitterAccount":"50100011112222","RemitterIFSC":"HDFC0001234","Mode":"NEFT"}`, &added)
		start := time.Now()
		maker.goto_("/credits")
		// "main" is always there: a missing table would make each read wait.
		maker.reloadUntil("main", "₹12,500.00", 15*time.Second)
		t.Logf("credit listed %s after the bank made it", time.Since(start).Round(100*time.Millisecond))
		maker.expectText("#credit-rows", number)
		maker.expectText("#credit-rows", "NEFT")
		maker.expectText("[data-total-amount]", "₹12,500.00")
		maker.screenshot("credits")
		admin.goto_("/virtual-accounts/" + number)
		admin.expectText("[data-credit-total]", "₹12,500.00")
		admin.expectText("#credit-rows", "Nelson Group")
		maker.click("#credit-rows a:has-text('Nelson Group')")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/credits/\d+$`)); err != nil {
			t.Fatal(err)
		}
		creditPath = maker.pathOf()
	})

	run("a refund above the credit is refused beside the amount; a partial refund reaches the bank's final state", func(t *testing.T) {
		maker.goto_(creditPath)
		maker.fill("#rf-amount", "20,000")
		maker.fill("#rf-reason", "Overpaid")
		maker.click("#refund-form button[type=submit]")
		maker.expectText("#refund-form .field.invalid", "At most ₹12,500.00 can be refunded")
		maker.fill("#rf-amount", "2,500")
		maker.click("#refund-form button[type=submit]")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/credits/\d+\?refund=\d+$`)); err != nil {
			maker.failShot()
			t.Fatal(err)
		}
		maker.expectText("[data-refundable]", "₹10,000.00")
		maker.expectText("[data-refund-state]", "waiting for approval")

		checker.goto_("/queue?kind=va_refund")
		row := "#queue-rows tr:has-text('₹2,500.00')"
		checker.expectText(row, "Partial refund")
		checker.click(row + " button[data-approve]")
		checker.expectText(row, "Approved")

		maker.goto_(creditPath)
		maker.reloadUntil("[data-refund-state]", "processed", 40*time.Second)
		ref, _ := maker.page.Locator("[data-refund-ref]").First().TextContent()
		if !strings.HasPrefix(strings.TrimSpace(ref), "RF") {
			t.Fatalf("bank reference %q", ref)
		}
		maker.screenshot("va-credit-refunded")
		admin.goto_("/virtual-accounts/" + number)
		admin.expectText("#refund-rows", "processed")
		admin.expectText("#refund-rows", strings.TrimSpace(ref))
		admin.screenshot("va-page")
	})

	run("a change shows old → new to the checker", func(t *testing.T) {
		admin.goto_("/virtual-accounts/" + number + "/edit")
		admin.fill("#va-purpose", "Invoices 2027")
		admin.click("#va-form button[type=submit]")
		if err := admin.page.WaitForURL(regexp.MustCompile(`\?proposed=(\d+)$`)); err != nil {
			admin.failShot()
			t.Fatal(err)
		}
		id := regexp.MustCompile(`proposed=(\d+)`).FindStringSubmatch(admin.page.URL())[1]
		checker.goto_("/queue?kind=va_modify")
		checker.expectText("#queue-rows", "Invoices 2026")
		checker.expectText("#queue-rows", "Invoices 2027")
		checker.goto_("/approvals/" + id)
		checker.expectText(".diff-table del", "Invoices 2026")
		checker.expectText(".diff-table ins", "Invoices 2027")
		checker.screenshot("va-modify-approval")
	})

	run("a 200-row CSV previews exactly its 5 bad rows with reasons", func(t *testing.T) {
		path, wantLines := writeVACSV(t, 200)
		admin.goto_("/virtual-accounts/upload")
		admin.expectText("main h1", "Upload virtual accounts")
		if err := admin.page.Locator("input[type=file]").SetInputFiles(path); err != nil {
			t.Fatal(err)
		}
		admin.click("#vabulk-upload button[type=submit]")
		bulkWaitText(admin, "#vabulk-summary", "200", 30000)
		admin.expectText("#vabulk-summary", "195")
		rows, err := admin.page.Locator("#vabulk-invalid tbody tr").All()
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, r := range rows {
			v, _ := r.GetAttribute("data-line")
			n, _ := strconv.Atoi(v)
			got = append(got, n)
		}
		if fmt.Sprint(got) != fmt.Sprint(wantLines) {
			t.Fatalf("bad lines %v, want %v", got, wantLines)
		}
		admin.expectText("#vabulk-invalid tr[data-line='14']", "suffix:")
		admin.expectText("#vabulk-invalid tr[data-line='49']", "name:")
		admin.expectText("#vabulk-invalid tr[data-line='90']", "email:")
		admin.expectText("#vabulk-invalid tr[data-line='132']", "mobile:")
		admin.expectText("#vabulk-invalid tr[data-line='201']", "expires_on: The date is in the past")
		admin.screenshot("va-upload-preview")
		admin.click("#vabulk-submit button[type=submit]")
		bulkWaitText(admin, "#vabulk-done", "195 accounts proposed", 30000)
		admin.screenshot("va-upload-done")
	})

	run("lists, the contact's accounts and the home page", func(t *testing.T) {
		admin.goto_("/virtual-accounts?q=Nelson")
		admin.expectText("#va-rows", number)
		admin.goto_("/virtual-accounts")
		admin.expectText("#va-rows", "Bulk Payer")
		admin.screenshot("va-list")
		admin.goto_("/contacts/" + contactID)
		admin.expectText("#va-rows", number)
		admin.screenshot("va-contact")
		admin.goto_("/")
		admin.expectText("main", "Credits today")
		admin.expectText("main", "Unmatched credits")
		admin.screenshot("va-home")
		maker.goto_("/credits/unmatched")
		maker.expectText("main h1", "Unmatched credits")
		maker.screenshot("va-unmatched")
	})

	run("an unmatched credit: a refused attachment keeps what was typed beside its message; then it is attached", func(t *testing.T) {
		// An account made on the bank's own portal, which Paydesk does not
		// know: its credits wait on the unmatched list.
		a.sandboxPost(t, "kotakva", "/accounts", `{"Suffix":"ZZZZ","Name":"Portal Only","Purpose":"Made at the branch"}`, nil)
		a.sandboxPost(t, "kotakva", "/credits", `{"VirtualAccountNo":"90909010ZZZZ","Amount":"777.00","RemitterName":"Unknown Payer",
			"RemitterAccount":"50100099990000","RemitterIFSC":"HDFC0001234","Mode":"IMPS"}`, nil)
		admin.goto_("/credits/unmatched")
		admin.reloadUntil("main", "Unknown Payer", 15*time.Second)
		row := "#unmatched-rows tr:has-text('Unknown Payer')"
		admin.fill(row+" input[name=number]", "90909010NOPE")
		admin.click(row + " button[type=submit]")
		admin.expectVisible(row + " span.error")
		if v, err := admin.page.Locator(row + " input[name=number]").InputValue(); err != nil || v != "90909010NOPE" {
			t.Fatalf("the refused row does not keep what was typed: %q %v", v, err)
		}
		admin.screenshot("va-unmatched-refused")
		admin.fill(row+" input[name=number]", number)
		admin.click(row + " button[type=submit]")
		admin.expectText("main", "attached")
		admin.screenshot("va-unmatched-attached")
	})

	for _, s := range all {
		s.noCSPErrors()
	}
}

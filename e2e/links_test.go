//go:build e2e

package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// selectOption picks value in a select whose change re-renders the form
// through htmx, and waits until htmx has settled the new form (its
// elements are live again only then).
func (s *session) selectOption(selector, value string) {
	s.t.Helper()
	if _, err := s.page.Evaluate(`() => {
		window.__settled = 0;
		if (!window.__settleHook) {
			document.body.addEventListener('htmx:afterSettle', () => { window.__settled++ });
			window.__settleHook = true;
		}
	}`); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.page.Locator(selector).SelectOption(playwright.SelectOptionValues{Values: &[]string{value}}); err != nil {
		s.t.Fatalf("select %s in %s: %v", value, selector, err)
	}
	// WaitForFunction would evaluate a string, which the CSP forbids.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := s.page.Evaluate(`() => window.__settled`)
		if err != nil {
			s.t.Fatal(err)
		}
		if v, ok := n.(int); ok && v > 0 {
			return
		}
		if time.Now().After(deadline) {
			s.failShot()
			s.t.Fatalf("the form did not re-render after choosing %s in %s", value, selector)
		}
	}
}

func (s *session) inputValue(selector string) string {
	s.t.Helper()
	v, err := s.page.Locator(selector).InputValue()
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// startLink fills the new-link form for template 1001 and the contact,
// with amount, leaving the required description to the caller.
func (s *session) startLink(contactID, amount string) {
	s.t.Helper()
	s.goto_("/links/new")
	s.selectOption("#l-template", "1001")
	s.expectVisible("#lf-description")
	s.selectOption("#l-contact", contactID)
	s.expectText("#link-form", "Invoice fields")
	if err := playwright.NewPlaywrightAssertions(5000).Locator(s.page.Locator("#l-name")).ToHaveValue("Lotus Pharma"); err != nil {
		s.failShot()
		s.t.Fatalf("contact did not fill the customer: %v", err)
	}
	s.fill("#l-amount", amount)
	s.fill("#lf-poNumber", "PO-7781")
}

// createLink submits the form and returns the link's path once NTT DATA
// has made its invoice.
func (s *session) createLink() string {
	s.t.Helper()
	s.click("#link-form button[type=submit]")
	if err := s.page.WaitForURL(regexp.MustCompile(`/links/PL[A-Z2-7]{14}\?created=1$`)); err != nil {
		s.failShot()
		s.t.Fatalf("create did not land on the link: %v (at %s)", err, s.page.URL())
	}
	path := s.pathOf()
	s.reloadUntil("[data-invoice-no]", "INV", 20*time.Second)
	return path
}

// TestPaymentLinks walks the payment-links issue's browser acceptance.
func TestPaymentLinks(t *testing.T) {
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

	var contactID string
	run("a customer to send links to", func(t *testing.T) {
		maker.goto_("/contacts/new")
		maker.click("input[name=kind][value=customer]")
		maker.fill("#c-company", "Lotus Pharma")
		maker.fill("#c-first", "Meera")
		maker.fill("#c-last", "Iyer")
		maker.fill("#c-email", "accounts@lotuspharma.in")
		maker.fill("#c-mobile", "9876501234")
		maker.click("#contact-form button[type=submit]")
		if err := maker.page.WaitForURL(regexp.MustCompile(`/contacts/CT[A-Z2-7]{10}\?`)); err != nil {
			maker.failShot()
			t.Fatalf("contact not created: %v", err)
		}
		contactID = strings.TrimPrefix(maker.pathOf(), "/contacts/")
	})

	run("the templates from the console, each with its fields", func(t *testing.T) {
		maker.goto_("/templates")
		maker.reloadUntil("#template-rows", "Standard Invoice", 20*time.Second)
		maker.expectText("main", "made in NTT DATA's merchant console")
		maker.expectText("#t-1004", "not usable")
		maker.screenshot("link-templates")
		maker.click("#t-1001 a")
		maker.expectText("#template-fields", "Description")
		maker.expectText("#template-fields", "required")
		maker.screenshot("link-template")
	})

	run("a required template field left empty is refused beside it, everything kept", func(t *testing.T) {
		maker.startLink(contactID, "5,000")
		maker.screenshot("link-form")
		maker.click("#link-form button[type=submit]")
		maker.expectText("#link-form .field.invalid", "Description is required by the template")
		for sel, want := range map[string]string{"#l-amount": "5,000", "#lf-poNumber": "PO-7781", "#l-name": "Lotus Pharma",
			"#l-email": "accounts@lotuspharma.in", "#lf-invoiceTitle": "Tax Invoice"} {
			if got := maker.inputValue(sel); got != want {
				t.Fatalf("%s = %q after the refusal, want %q", sel, got, want)
			}
		}
		maker.screenshot("link-form-errors")
	})

	var small string
	run("a ₹5,000 link for the contact: the invoice number and link appear", func(t *testing.T) {
		maker.fill("#lf-description", "October supplies")
		small = maker.createLink()
		maker.expectText("[data-state]", "sent")
		maker.expectText("main", "₹5,000.00")
		if v := maker.inputValue("#payment-link"); !strings.HasPrefix(v, "https://") {
			t.Fatalf("link %q", v)
		}
		maker.screenshot("link-sent")
	})

	run("resend works", func(t *testing.T) {
		maker.click("button:has-text('Resend link')")
		maker.reloadUntil("[data-state]", "resent", 20*time.Second)
		maker.expectText("table.timeline", "sent the link to the customer again")
	})

	run("the sandbox marks it paid: the link shows paid within seconds", func(t *testing.T) {
		invoice, _ := maker.page.Locator("[data-invoice-no]").TextContent()
		a.sandboxPost(t, "linkpay", "/invoices/"+strings.TrimSpace(invoice)+"/paid", "", nil)
		maker.reloadUntil("[data-state]", "paid", 10*time.Second)
		maker.expectText("table.timeline", "notified that the customer paid")
		maker.screenshot("link-paid")
	})

	var big string
	run("cancelling a ₹2,00,000 link puts it in the queue; a checker approves; it shows cancelled", func(t *testing.T) {
		maker.startLink(contactID, "2,00,000")
		maker.fill("#lf-description", "Annual contract")
		big = maker.createLink()
		maker.click("button:has-text('Cancel link')")
		maker.expectText("main", "second person")
		maker.screenshot("link-cancel-proposed")
		checker.goto_("/queue")
		row := "#queue-rows tr:has-text('Cancel payment link')"
		checker.expectText(row, "₹2,00,000.00")
		checker.expectText(row, "forgiven")
		checker.screenshot("queue-link-cancel")
		checker.click(row + " button[data-approve]")
		checker.expectText(row, "Approved")
		maker.goto_(big)
		maker.reloadUntil("[data-state]", "cancelled", 20*time.Second)
	})

	run("resend of the cancelled link is refused, with the reason in words", func(t *testing.T) {
		maker.click("button:has-text('Resend link')")
		maker.expectText(".alert.error", "cancelled, so it cannot be resent")
		maker.expectText(".alert.error", "OTS1015 Cancelled Invoice")
		maker.screenshot("link-resend-refused")
	})

	run("a CSV for the template: rows checked, the valid ones become links", func(t *testing.T) {
		due := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
		file := filepath.Join(t.TempDir(), "links.csv")
		csv := "customer_name,customer_email,amount,due_date,description,ponumber\n" +
			"Kaveri Steel,accounts@kaveri.example,\"12,500.00\"," + due + ",Steel rods,PO-9\n" +
			"Ravi Stores,ravi@ravi.example,1200," + due + ",,PO-10\n"
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		maker.goto_("/links/bulk?template=1001")
		maker.expectText("main", "ponumber")
		if err := maker.page.Locator("input[type=file]").SetInputFiles(file); err != nil {
			t.Fatal(err)
		}
		maker.click("#link-bulk-upload button[type=submit]")
		maker.expectText("#link-bulk-invalid", "description: Description is required by the template")
		maker.expectText("#link-bulk-submit button[type=submit]", "Create 1 payment link")
		maker.screenshot("links-bulk-preview")
		maker.click("#link-bulk-submit button[type=submit]")
		maker.expectText("#link-bulk-done", "1 payment link created")
		maker.screenshot("links-bulk-done")
	})

	run("the list's totals, the contact's links and the home page", func(t *testing.T) {
		maker.goto_("/links")
		maker.expectText("#link-totals", "₹2,17,500.00")
		maker.expectText("#link-totals", "₹5,000.00")
		maker.expectText("#link-rows", "Lotus Pharma")
		maker.screenshot("links-list")
		// Back from the step-up a threshold change asked for, the admin's
		// form holds what was typed.
		admin := newSession(t, b, a)
		admin.signIn("admin", adminPassword)
		admin.goto_("/links?threshold=again&amount=" + url.QueryEscape("2,00,000"))
		admin.expectText("section[aria-labelledby=h-link-threshold] .alert", "not changed yet")
		if v, err := admin.page.Locator("#link-threshold").InputValue(); err != nil || v != "2,00,000" {
			t.Fatalf("the threshold form holds %q (%v), want what was typed", v, err)
		}
		admin.screenshot("links-threshold-again")
		maker.goto_("/links?state=paid")
		if n := maker.count("#link-rows tbody tr"); n != 1 {
			t.Fatalf("%d paid rows", n)
		}
		maker.goto_("/contacts/" + contactID)
		maker.expectText("main", "Payment links sent")
		if n := maker.count("#link-rows tbody tr"); n != 2 {
			t.Fatalf("contact shows %d links", n)
		}
		maker.goto_("/")
		maker.expectText("main", "Links paid today")
		maker.screenshot("home-links")
		_ = small
		maker.noCSPErrors()
	})

	run("a contact beyond the Customer select's first 200 still shows as the filter", func(t *testing.T) {
		// 200 customers whose names sort before Lotus Pharma push it out of
		// the select's first maxPayableContacts.
		var csv strings.Builder
		csv.WriteString("kind,company_name,first_name,last_name,email\n")
		for i := range 200 {
			fmt.Fprintf(&csv, "customer,Aarav Foods %03d,Asha,Rao,ap%03d@aarav.example\n", i, i)
		}
		file := filepath.Join(t.TempDir(), "customers.csv")
		if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		maker.goto_("/contacts/import")
		if err := maker.page.Locator("input[type=file]").SetInputFiles(file); err != nil {
			t.Fatal(err)
		}
		maker.click("#contacts-import-upload button[type=submit]")
		maker.click("#contacts-import-submit button[type=submit]")
		maker.expectText("#contacts-import-result", "200 contacts imported")
		maker.goto_("/contacts/" + contactID)
		maker.click("a[href='/links?contact=" + contactID + "']")
		maker.expectURL("/links?contact=" + contactID)
		if err := playwright.NewPlaywrightAssertions(5000).Locator(maker.page.GetByLabel("Customer")).ToHaveValue(contactID); err != nil {
			maker.failShot()
			t.Fatalf("the Customer select does not show the contact in force: %v", err)
		}
		maker.expectText("#lf-contact option:checked", "Lotus Pharma")
		if n := maker.count("#link-rows tbody tr"); n != 2 {
			t.Fatalf("the contact's links: %d rows", n)
		}
		maker.screenshot("links-by-contact")
	})
}

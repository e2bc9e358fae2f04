//go:build e2e

package e2e

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// bulkWaitText waits longer than expectText: big batches take seconds.
func bulkWaitText(s *session, selector, text string, timeout float64) {
	s.t.Helper()
	if err := playwright.NewPlaywrightAssertions(timeout).Locator(s.page.Locator(selector).First()).ToContainText(text); err != nil {
		s.failShot()
		s.t.Fatalf("expected %s to contain %q on %s: %v", selector, text, s.page.URL(), err)
	}
}

// writeBulkCSV writes n payout rows, ten of them invalid, and returns the
// file and the invalid rows' line numbers (the header is line 1).
func writeBulkCSV(t *testing.T, n int) (string, []int) {
	t.Helper()
	bad := map[int][]string{
		17:  {"Bad Ifsc Traders", "50100012345678", "HDFC000123", "5000", "NEFT", "kotakcms", "", ""},
		88:  {"R2D2 Stores", "50100012345678", "HDFC0001234", "5000", "NEFT", "kotakcms", "", ""},
		150: {"Space Account", "5010 0012 3456", "HDFC0001234", "5000", "NEFT", "kotakcms", "", ""},
		301: {"Zero Amount", "50100012345678", "HDFC0001234", "0", "NEFT", "kotakcms", "", ""},
		420: {"Wrong Rail", "50100012345678", "HDFC0001234", "5000", "UPI", "kotakcms", "", ""},
		555: {"Wrong Source", "50100012345678", "HDFC0001234", "5000", "NEFT", "icici", "", ""},
		600: {"Big Imps", "50100012345678", "HDFC0001234", "6,00,000", "IMPS", "paymate", "", ""},
		777: {"Small Rtgs", "50100012345678", "HDFC0001234", "1000", "RTGS", "kotakcms", "", ""},
		901: {"Bad Date", "50100012345678", "HDFC0001234", "5000", "NEFT", "kotakcms", "", "31-12-2026"},
		998: {"Past Date", "50100012345678", "HDFC0001234", "5000", "NEFT", "kotakcms", "", "2020-01-01"},
	}
	path := filepath.Join(t.TempDir(), "payouts-1000.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"beneficiary_name", "account_no", "ifsc", "amount", "rail", "source", "purpose", "value_date"})
	var lines []int
	for i := 0; i < n; i++ {
		if row, ok := bad[i]; ok {
			_ = w.Write(row)
			lines = append(lines, i+2)
			continue
		}
		name := "Vendor " + string(rune('A'+i%26)) + string(rune('a'+(i/26)%26)) + " Traders"
		source := []string{"kotakcms", "paymate"}[i%2]
		rail := []string{"NEFT", "IMPS"}[i%2]
		// PayMate's sandbox Xpress account holds ₹60,00,070.20 (the seed's
		// figure), so its rows stay small enough for all of them to be paid.
		amount := fmt.Sprintf("%d,%03d.50", 1+i%90, i%1000)
		if source == "paymate" {
			amount = fmt.Sprintf("%d.25", 100+i%900)
		}
		_ = w.Write([]string{name, fmt.Sprintf("5010%08d", i), "HDFC0001234", amount, rail, source,
			fmt.Sprintf("Invoice %d", i), ""})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sort.Ints(lines)
	return path, lines
}

// TestBulkUpload: a maker uploads 1,000 rows, sees the 10 bad ones, submits
// the 990 good ones; a checker approves them all from the queue.
func TestBulkUpload(t *testing.T) {
	a := startApp(t)
	b := browser(t)
	maker := newSession(t, b, a)
	checker := newSession(t, b, a)
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			maker.t, checker.t = t, t
			f(t)
		})
	}
	path, wantLines := writeBulkCSV(t, 1000)

	run("maker checks a 1,000-row file", func(t *testing.T) {
		maker.signIn("maker", makerPassword)
		maker.expectURL("/")
		maker.goto_("/payouts/bulk")
		maker.expectText("main h1", "Bulk payout upload")
		maker.expectText("main", "value_date")
		if err := maker.page.Locator("input[type=file]").SetInputFiles(path); err != nil {
			t.Fatal(err)
		}
		maker.click("#bulk-upload button[type=submit]")
		bulkWaitText(maker, "#bulk-summary", "1000", 30000)
		maker.expectText("#bulk-summary", "990")
		if n := maker.count("#bulk-invalid tbody tr"); n != len(wantLines) {
			t.Fatalf("%d invalid rows listed, want %d", n, len(wantLines))
		}
		var got []int
		rows, err := maker.page.Locator("#bulk-invalid tbody tr").All()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			v, _ := r.GetAttribute("data-line")
			n, _ := strconv.Atoi(v)
			got = append(got, n)
		}
		if fmt.Sprint(got) != fmt.Sprint(wantLines) {
			t.Fatalf("invalid lines %v, want %v", got, wantLines)
		}
		maker.expectText("#bulk-invalid tr[data-line='19']", "ifsc: Enter an 11-character IFSC")
		maker.expectText("#bulk-invalid tr[data-line='602']", "amount: IMPS carries at most")
		maker.expectText("#bulk-invalid tr[data-line='1000']", "value_date: The value date cannot be in the past")
		maker.expectText("#bulk-submit", "The 10 invalid rows will be left out")
		maker.expectText("#bulk-submit button[type=submit]", "Submit 990 valid payouts for approval")
		maker.screenshot("bulk-preview")
	})

	run("maker submits the 990 valid rows", func(t *testing.T) {
		maker.click("#bulk-submit button[type=submit]")
		bulkWaitText(maker, "#bulk-done", "Submitted 990 payouts for approval", 60000)
		maker.expectVisible("#bulk-done a[href^='/payouts?batch=PB']")
		maker.expectVisible("#bulk-done a[href='/queue']")
		maker.screenshot("bulk-done")
	})

	run("checker approves all 990 from the queue", func(t *testing.T) {
		checker.signIn("checker", "audit-monsoon-6194")
		checker.expectURL("/")
		// Only payouts: the contact sync also brings PayMate's portal
		// contacts, whose bank details wait for a checker too.
		checker.goto_("/queue?kind=payout")
		checker.expectText("main p.muted", "waiting on you")
		checker.expectText("#bulk", "All matching the filter")
		checker.click("#bulk input[name=all_matching]")
		checker.click("#bulk button[value=approve]")
		bulkWaitText(checker, "#alerts", "Approved 990", 120000)
	})

	run("all 990 reach the bank and are processed", func(t *testing.T) {
		href, err := maker.page.Locator("#bulk-done a[href^='/payouts?batch=PB']").GetAttribute("href")
		if err != nil {
			t.Fatal(err)
		}
		csvURL := a.URL + strings.Replace(href, "/payouts?", "/payouts.csv?", 1) + "&state=processed"
		start := time.Now()
		deadline := start.Add(4 * time.Minute)
		processed := 0
		for time.Now().Before(deadline) {
			resp, err := maker.page.Request().Get(csvURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := resp.Text()
			processed = strings.Count(strings.TrimSpace(body), "\n") // lines after the header
			if processed == 990 {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if processed != 990 {
			t.Fatalf("%d of 990 payouts processed within the deadline", processed)
		}
		t.Logf("990 payouts processed %s after the approval", time.Since(start).Round(time.Second))
		maker.goto_(href)
		maker.screenshot("bulk-processed")
	})

	for _, s := range []*session{maker, checker} {
		s.noCSPErrors()
	}
}

package handlers

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/providers/registry"
	"paydesk/providers/sandboxes"
)

// TestBankSideRetryButton: a bank-side decision PayMate refused (the
// Xpress Account short) shows on its approval page with a retry for a
// checker; a maker's retry is refused; the checker's puts it back in line.
func TestBankSideRetryButton(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	set := sandboxes.New(sandboxes.Options{})
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(srv.Close)
	reg, err := registry.Load(registry.Options{SandboxRoot: srv.URL, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := reg.Payouts(db.SourcePayMate)
	bank := db.NewBankSide(e.db, e.srv.Approvals, map[string]providers.Payouts{db.SourcePayMate: pm})
	e.srv.BankSide = bank
	control := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+"/_sandbox/paymate"+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("sandbox %s %s: %v %v", method, path, err, resp)
		}
		resp.Body.Close()
	}
	control(http.MethodPut, "/balance", `{"paise": 100}`)
	control(http.MethodPost, "/payments", `{"company_name":"Portal Traders","account_no":"123456789012","ifsc":"HDFC0001234","amount_paise":1200000,"remarks":"Portal invoice"}`)
	if _, err := bank.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	items, _ := bank.List(ctx)
	if len(items) != 1 {
		t.Fatalf("imported %d items", len(items))
	}
	checkerUser, _ := e.db.UserByUsername(ctx, "checker")
	if _, err := e.srv.Approvals.Approve(ctx, checkerUser, items[0].ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	if _, err := bank.ProcessDecided(ctx); err != nil {
		t.Fatal(err)
	}
	page := "/approvals/" + strconv.FormatInt(items[0].ApprovalRequestID, 10)
	retry := "/bank-side/" + strconv.FormatInt(items[0].ID, 10) + "/retry"

	maker := e.client()
	maker.signIn("maker")
	_, body := maker.get(page)
	if !strings.Contains(body, "failed to reach the bank") || strings.Contains(body, retry) {
		t.Fatalf("maker's view of the failed item:\n%s", body)
	}
	if resp, _ := maker.post(retry, url.Values{"_csrf": {maker.csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("maker retry: %d", resp.StatusCode)
	}

	checker := e.client()
	checker.signIn("checker")
	_, body = checker.get(page)
	if !strings.Contains(body, `action="`+retry+`"`) || !strings.Contains(body, "Retry at the bank") {
		t.Fatalf("checker's view lacks the retry:\n%s", body)
	}
	resp, _ := checker.post(retry, url.Values{"_csrf": {checker.csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), page+"?done=") {
		t.Fatalf("checker retry: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	it, _ := bank.Get(ctx, items[0].ID)
	if it.State != db.BankPendingApproved {
		t.Fatalf("after retry: %s", it.State)
	}
	if entries, _, _ := e.db.ListAudit(ctx, db.AuditFilter{Action: "bank_pending.retry", Actor: "checker"}); len(entries) != 1 {
		t.Fatalf("retry audited %d times", len(entries))
	}
}

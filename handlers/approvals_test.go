package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"paydesk/db"
	"paydesk/providers"
)

func (e *testEnv) propose(t *testing.T, maker string, paise int64) db.ApprovalRequest {
	t.Helper()
	u, err := e.db.UserByUsername(context.Background(), maker)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := e.srv.Payouts.Propose(context.Background(), u, db.PayoutInput{BeneficiaryName: "Acme Traders",
		AccountNo: "50100012345678", IFSC: "HDFC0001234", Amount: providers.FormatAmount(paise), Rail: "NEFT",
		Source: db.SourceKotakCMS, Purpose: "Invoice"})
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := e.srv.Approvals.Get(context.Background(), p.ApprovalRequestID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMakerCannotApproveOwnRequestEvenByCraftedPost(t *testing.T) {
	e := newTestEnv(t, false)
	r := e.propose(t, "maker", 5000000)
	maker := e.client()
	maker.signIn("maker")
	_, page := maker.get("/queue")
	if strings.Contains(page, `/approvals/`+strconv.FormatInt(r.ID, 10)+`/approve`) && strings.Contains(page, "data-approve") {
		t.Fatal("the maker's queue offers approve on their own request")
	}
	if !strings.Contains(page, "Acme Traders") {
		t.Fatal("the maker's own waiting request is not listed under their proposals")
	}
	resp, _ := maker.post("/approvals/"+strconv.FormatInt(r.ID, 10)+"/approve", url.Values{"_csrf": {maker.csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("crafted approve by the maker: %d, want 403", resp.StatusCode)
	}
	entries, _, err := e.db.ListAudit(context.Background(), db.AuditFilter{Action: "approval.refused", Actor: "maker"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("refusal audit entries = %d, %v", len(entries), err)
	}
	got, _, _ := e.srv.Approvals.Get(context.Background(), r.ID)
	if got.State != db.ApprovalPending || got.Approvals != 0 {
		t.Fatalf("request changed: %+v", got)
	}
}

func TestCheckerApprovesFromTheQueue(t *testing.T) {
	e := newTestEnv(t, false)
	r := e.propose(t, "maker", 5000000)
	checker := e.client()
	checker.signIn("checker")
	_, page := checker.get("/queue")
	if !strings.Contains(page, "Acme Traders") || !strings.Contains(page, "₹50,000.00") {
		t.Fatal("the checker's queue does not list the request with its amount")
	}
	if !strings.Contains(page, `<span class="count">1</span>`) {
		t.Fatal("navigation does not count the waiting item")
	}
	resp, row := checker.post("/approvals/"+strconv.FormatInt(r.ID, 10)+"/approve", url.Values{"_csrf": {checker.csrf}, "from": {"queue"}},
		"HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(row, "Approved") || strings.Contains(row, "<html") {
		t.Fatalf("approve from the queue: %d %s", resp.StatusCode, row)
	}
	_, page = checker.get("/queue")
	if strings.Contains(page, "Acme Traders") {
		t.Fatal("a decided request is still waiting on the checker")
	}
}

func TestBulkRejectNeedsReasonAndShowsEachRow(t *testing.T) {
	e := newTestEnv(t, false)
	a := e.propose(t, "maker", 100000)
	b := e.propose(t, "maker", 200000)
	checker := e.client()
	checker.signIn("checker")
	form := url.Values{"_csrf": {checker.csrf}, "decision": {"reject"}, "id": {strconv.FormatInt(a.ID, 10), strconv.FormatInt(b.ID, 10)}}
	if resp, _ := checker.post("/queue/bulk", form, "HX-Request", "true"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bulk reject without reason: %d", resp.StatusCode)
	}
	form.Set("reason", "Duplicate of last week's run")
	resp, body := checker.post("/queue/bulk", form, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || strings.Count(body, "Rejected") < 3 || !strings.Contains(body, "hx-swap-oob") {
		t.Fatalf("bulk reject: %d %s", resp.StatusCode, body)
	}
	for _, id := range []int64{a.ID, b.ID} {
		got, _, _ := e.srv.Approvals.Get(context.Background(), id)
		if got.State != db.ApprovalRejected || got.Reason != "Duplicate of last week's run" {
			t.Fatalf("request %d: %+v", id, got)
		}
	}
}

func TestRulesPageChangesBands(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	_, page := admin.get("/admin/rules")
	if !strings.Contains(page, "Payout") || !strings.Contains(page, "1000000.00") {
		t.Fatalf("rules page does not show the payout bands")
	}
	form := url.Values{"_csrf": {admin.csrf}, "kind": {"payout"},
		"min": {"0", "500000.01", ""}, "max": {"500000", "", ""}, "approvals": {"1", "2", ""}, "role": {"checker", "checker", "checker"}}
	resp, body := admin.post("/admin/rules", form, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Rules changed") {
		t.Fatalf("change rules: %d %s", resp.StatusCode, body)
	}
	form.Set("max", "not money")
	if resp, body := admin.post("/admin/rules", form, "HX-Request", "true"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "not an amount") {
		t.Fatalf("bad amount: %d", resp.StatusCode)
	}
}

// TestRulesChangeAsksForAFreshCode: a rule change from someone enrolled in
// a second factor without a fresh code goes to the step-up page (htmx
// included) and back to that kind's form holding the bands as typed, with
// nothing changed until it is sent again.
func TestRulesChangeAsksForAFreshCode(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	admin.get("/admin/rules")
	secret := e.enrol(t, "admin")
	form := url.Values{"_csrf": {admin.csrf}, "kind": {"payout"},
		"min": {"0", "2,50,000.01", ""}, "max": {"2,50,000", "", ""}, "approvals": {"1", "2", ""}, "role": {"checker", "admin", "checker"}}
	resp, _ := admin.post("/admin/rules", form, "HX-Request", "true")
	if loc := resp.Header.Get("HX-Redirect"); !strings.HasPrefix(loc, "/step-up?next=") {
		t.Fatalf("an htmx rule change without a code: %d, HX-Redirect %q", resp.StatusCode, loc)
	}
	resp, _ = admin.post("/admin/rules", form)
	next := admin.stepUpTo(t, resp, secret)
	if !strings.HasSuffix(next, "#rules-payout") {
		t.Fatalf("back to %s, not to the payout rules", next)
	}
	resp, body := admin.get(next)
	panel := regexp.MustCompile(`(?s)<section class="panel" id="rules-payout">.*?</section>`).FindString(body)
	typed := regexp.MustCompile(`(?s)name="min" value="0".*name="max" value="2,50,000".*name="approvals" value="1".*` +
		`name="min" value="2,50,000.01".*name="max" value="".*name="approvals" value="2".*<option value="admin" selected>`)
	if resp.StatusCode != http.StatusOK || !typed.MatchString(panel) || !strings.Contains(panel, "not changed yet") {
		t.Fatalf("back on the rules page: %d, the payout form does not hold what was typed:\n%s", resp.StatusCode, panel)
	}
	if other := regexp.MustCompile(`(?s)<section class="panel" id="rules-contact_bank">.*?</section>`).FindString(body); strings.Contains(other, "not changed yet") {
		t.Fatal("another kind's form says it was not changed")
	}
	rules, err := e.srv.Approvals.Rules(context.Background(), "payout")
	if err != nil || len(rules) != 2 || rules[0].MaxPaise == nil || *rules[0].MaxPaise != 10_00_000_00 {
		t.Fatalf("the rules changed before they were sent again: %v %+v", err, rules)
	}
	form.Set("_csrf", admin.csrf)
	if resp, body := admin.post("/admin/rules", form, "HX-Request", "true"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Rules changed") {
		t.Fatalf("sent again after the code: %d", resp.StatusCode)
	}
}

// TestBulkAllMatchingAnswersWithTheRowsOnThePage: deciding all matching the
// filter answers with the rows the page showed (and any that failed), each
// swapped in place, not with every request decided.
func TestBulkAllMatchingAnswersWithTheRowsOnThePage(t *testing.T) {
	e := newTestEnv(t, false)
	var reqs []db.ApprovalRequest
	for i := range 5 {
		reqs = append(reqs, e.propose(t, "maker", int64(100000+i)))
	}
	checker := e.client()
	checker.signIn("checker")
	_, page := checker.get("/queue")
	for _, r := range reqs {
		if !strings.Contains(page, `name="shown" value="`+strconv.FormatInt(r.ID, 10)+`"`) {
			t.Fatalf("the bulk form does not name row %d as shown", r.ID)
		}
	}
	shown := []string{strconv.FormatInt(reqs[0].ID, 10), strconv.FormatInt(reqs[1].ID, 10)}
	resp, body := checker.post("/queue/bulk", url.Values{"_csrf": {checker.csrf}, "decision": {"approve"}, "all_matching": {"1"},
		"shown": shown, "f_seen": {seenOn(t, page)}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Approved 5 request") {
		t.Fatalf("bulk approve all matching: %d %s", resp.StatusCode, body)
	}
	if n := strings.Count(body, "hx-swap-oob=\"outerHTML:#req-"); n != 2 {
		t.Fatalf("%d rows answered, want the 2 the page showed", n)
	}
	for _, r := range reqs {
		got, _, _ := e.srv.Approvals.Get(context.Background(), r.ID)
		if got.State != db.ApprovalApproved {
			t.Fatalf("request %d: %s", r.ID, got.State)
		}
	}
}

// seenOn is the f_seen the queue page's bulk form carries.
func seenOn(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="f_seen" value="(\d+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the bulk form carries no f_seen")
	}
	return m[1]
}

// TestBulkAllMatchingLeavesWhatThePageDidNotShow: "all matching the filter"
// decides what matched when the page was drawn. A request proposed after
// that is left waiting for the checker to see; a form without the time the
// page was drawn is refused, not taken as "everything now".
func TestBulkAllMatchingLeavesWhatThePageDidNotShow(t *testing.T) {
	e := newTestEnv(t, false)
	seen := []db.ApprovalRequest{e.propose(t, "maker", 100000), e.propose(t, "maker", 200000)}
	checker := e.client()
	checker.signIn("checker")
	e.clock.Advance(time.Second)
	_, page := checker.get("/queue")
	e.clock.Advance(time.Second)
	later := e.propose(t, "maker", 150000)
	form := url.Values{"_csrf": {checker.csrf}, "decision": {"approve"}, "all_matching": {"1"}}
	if resp, body := checker.post("/queue/bulk", form, "HX-Request", "true"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "out of date") {
		t.Fatalf("without f_seen: %d %.200s", resp.StatusCode, body)
	}
	form.Set("f_seen", seenOn(t, page))
	if resp, body := checker.post("/queue/bulk", form, "HX-Request", "true"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Approved 2 requests") {
		t.Fatalf("bulk approve all matching: %d %.300s", resp.StatusCode, body)
	}
	for _, r := range seen {
		if got, _, _ := e.srv.Approvals.Get(context.Background(), r.ID); got.State != db.ApprovalApproved {
			t.Errorf("request %d, on the page: %s", r.ID, got.State)
		}
	}
	if got, _, _ := e.srv.Approvals.Get(context.Background(), later.ID); got.State != db.ApprovalPending {
		t.Errorf("request %d, proposed after the page: %s, want still waiting", later.ID, got.State)
	}
}

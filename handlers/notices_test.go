package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"paydesk/db"
	"paydesk/providers"
)

// spoof is what a forged link would have a page say.
const spoof = "Approved. Call 9812345678 to confirm"

// noSpoof fails when a page repeats the forged text.
func noSpoof(t *testing.T, path, page string) {
	t.Helper()
	if strings.Contains(page, "Call 9812345678") {
		t.Errorf("%s shows the link's text as a notice", path)
	}
}

// TestApprovalDoneNoticeIsACode: a request's page says only the notices a
// decision's redirect names by code; any other ?done= says nothing.
func TestApprovalDoneNoticeIsACode(t *testing.T) {
	e := newTestEnv(t, false)
	r := e.propose(t, "maker", 5000000)
	checker := e.client()
	checker.signIn("checker")
	path := "/approvals/" + strconv.FormatInt(r.ID, 10)
	_, page := checker.get(path + "?done=" + url.QueryEscape(spoof))
	noSpoof(t, "?done=", page)
	checker.get(path)
	resp, _ := checker.post(path+"/approve", url.Values{"_csrf": {checker.csrf}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != path+"?done=approved" {
		t.Fatalf("approve: %d %s", resp.StatusCode, loc)
	}
	if _, page := checker.get(loc); !strings.Contains(page, "Approved by you.") {
		t.Fatal("no notice after approving")
	}
}

// TestSecurityRequestNoticeIsTheAdminsRequest: ?request= names a step-up
// band request only when it exists and the reader proposed it.
func TestSecurityRequestNoticeIsTheAdminsRequest(t *testing.T) {
	e := newTestEnv(t, false)
	if _, err := e.db.CreateUser(context.Background(), testHasher, db.SystemActor, db.NewUser{Username: "adam", DisplayName: "Adam",
		Password: testPassword, Roles: []db.Role{db.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	admin, adam := e.client(), e.client()
	admin.signIn("admin")
	adam.signIn("adam")
	for _, q := range []string{url.QueryEscape(spoof), url.QueryEscape("12). " + spoof), "999"} {
		_, page := admin.get("/account/security?request=" + q)
		noSpoof(t, "?request="+q, page)
		if strings.Contains(page, "Sent for approval") {
			t.Errorf("?request=%s: a notice for no such request", q)
		}
	}
	admin.get("/account/security")
	resp, _ := admin.post("/admin/security/step-up-band", url.Values{"_csrf": {admin.csrf}, "above": {"7,00,000"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/security?request=") {
		t.Fatalf("propose: %d %s", resp.StatusCode, loc)
	}
	n := strings.TrimPrefix(loc, "/account/security?request=")
	if _, page := admin.get(loc); !strings.Contains(page, "Sent for approval to another admin (request #"+n+").") {
		t.Fatal("no notice for the admin's own request")
	}
	if _, page := adam.get(loc); strings.Contains(page, "Sent for approval") {
		t.Fatal("another admin is told they sent it")
	}
	r := e.propose(t, "maker", 5000000)
	if _, page := admin.get("/account/security?request=" + strconv.FormatInt(r.ID, 10)); strings.Contains(page, "Sent for approval") {
		t.Fatal("a payout's request number is shown as the band's")
	}
}

// TestCreditNoticesNameRecords: ?attached= names a credit that is attached,
// by its id, and ?refund= a refund request of this credit; other values say
// nothing.
func TestCreditNoticesNameRecords(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	if _, err := e.srv.VirtualAccounts.StoreBatch(ctx, providers.CreditBatch{BatchID: "B1", Credits: []providers.Credit{
		{TxnRef: "KVA1", UTR: "UTR1", VirtualAccount: "90909010NOPE", AmountPaise: 1000_00, RemitterName: "Meera Textiles",
			RemitterAccount: "123456789012", RemitterIFSC: "HDFC0001234", Mode: providers.RailNEFT, CreditedAt: e.clock.Now()},
		{TxnRef: "KVA2", UTR: "UTR2", VirtualAccount: "90909010NOPE", AmountPaise: 500_00, RemitterName: "Rao and Sons",
			RemitterAccount: "123456789013", RemitterIFSC: "HDFC0001234", Mode: providers.RailNEFT, CreditedAt: e.clock.Now()},
	}}); err != nil {
		t.Fatal(err)
	}
	list, _, err := e.srv.VirtualAccounts.Credits(ctx, db.CreditFilter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("%v %+v", err, list)
	}
	ids := map[string]int64{}
	for _, k := range list {
		ids[k.TxnRef] = k.ID
	}
	admin, maker := e.client(), e.client()
	admin.signIn("admin")
	maker.signIn("maker")
	for _, q := range []string{url.QueryEscape(spoof), strconv.FormatInt(ids["KVA2"], 10), "999"} {
		_, page := admin.get("/credits/unmatched?attached=" + q)
		noSpoof(t, "?attached="+q, page)
		if strings.Contains(page, " attached.") {
			t.Errorf("?attached=%s: a notice for no attached credit", q)
		}
	}
	id := e.createContact(t, admin)
	admin.get("/credits/unmatched")
	resp, _ := admin.post(fmt.Sprintf("/credits/%d/attach", ids["KVA1"]), url.Values{"_csrf": {admin.csrf}, "contact": {id}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("attach: %d", resp.StatusCode)
	}
	if _, page := admin.get(resp.Header.Get("Location")); !strings.Contains(page, "Credit KVA1 attached.") {
		t.Fatalf("no notice after attaching (%s)", resp.Header.Get("Location"))
	}

	path := fmt.Sprintf("/credits/%d", ids["KVA2"])
	other := e.propose(t, "maker", 5000000)
	for _, q := range []string{url.QueryEscape(spoof), strconv.FormatInt(other.ID, 10)} {
		_, page := maker.get(path + "?refund=" + q)
		noSpoof(t, "?refund="+q, page)
		if strings.Contains(page, "Refund proposed as request") {
			t.Errorf("?refund=%s: a notice for no refund of this credit", q)
		}
	}
	resp, _ = maker.post(path+"/refunds", url.Values{"_csrf": {maker.csrf}, "amount": {"100"}, "reason": {"Overpaid"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "?refund=") {
		t.Fatalf("refund: %d %s", resp.StatusCode, loc)
	}
	n := loc[strings.Index(loc, "?refund=")+len("?refund="):]
	if _, page := maker.get(loc); !strings.Contains(page, "Refund proposed as request #"+n+".") {
		t.Fatal("no notice after proposing a refund")
	}
	if _, page := maker.get(fmt.Sprintf("/credits/%d?refund=%s", ids["KVA1"], n)); strings.Contains(page, "Refund proposed as request") {
		t.Fatal("another credit's refund is announced on this one")
	}
}

// TestVirtualAccountProposedNoticeIsItsRequest: ?proposed= names a request
// among the account's changes, nothing else.
func TestVirtualAccountProposedNoticeIsItsRequest(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	admin.get("/virtual-accounts/new")
	resp, _ := admin.post("/virtual-accounts", url.Values{"_csrf": {admin.csrf}, "suffix": {"A1"}, "name": {"Rao and Sons"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "?proposed=") {
		t.Fatalf("propose: %d %s", resp.StatusCode, loc)
	}
	if _, page := admin.get(loc); !strings.Contains(page, "Proposed as request #") {
		t.Fatal("no notice after proposing")
	}
	other := e.propose(t, "maker", 5000000)
	base := strings.Split(loc, "?")[0]
	for _, q := range []string{url.QueryEscape(spoof), strconv.FormatInt(other.ID, 10)} {
		_, page := admin.get(base + "?proposed=" + q)
		noSpoof(t, "?proposed="+q, page)
		if strings.Contains(page, "Proposed as request") {
			t.Errorf("?proposed=%s: a notice for no change of this account", q)
		}
	}
}

// TestBalancesSetNoticeIsAnAccount: ?set= names one of Paydesk's accounts.
func TestBalancesSetNoticeIsAnAccount(t *testing.T) {
	e := newTestEnv(t, false)
	e.withBalances(t, 1_00)
	admin := e.client()
	admin.signIn("admin")
	_, page := admin.get("/balances?set=" + url.QueryEscape(spoof))
	noSpoof(t, "?set=", page)
	if strings.Contains(page, "threshold of") {
		t.Error("a notice for no account")
	}
	if _, page := admin.get("/balances?set=" + db.SourcePayMate); !strings.Contains(page, "is changed.") {
		t.Error("no notice for a known account")
	}
}

// TestUsersCreatedNoticeIsAUser: ?created= names a user who exists.
func TestUsersCreatedNoticeIsAUser(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	_, page := admin.get("/admin/users?created=" + url.QueryEscape(spoof))
	noSpoof(t, "?created=", page)
	if strings.Contains(page, "Created ") {
		t.Error("a notice for no user")
	}
	if _, page := admin.get("/admin/users?created=maker"); !strings.Contains(page, "Created maker.") {
		t.Error("no notice for a user who exists")
	}
}

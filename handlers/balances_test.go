package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"paydesk/db"
	"paydesk/providers"
)

type fixedBalance struct{ paise int64 }

func (f fixedBalance) Balance(context.Context) (providers.Balance, error) {
	return providers.Balance{Account: "Xpress Account X1", AvailablePaise: f.paise}, nil
}

// withBalances wires the balances and KS Pay domains into e (KS Pay not
// configured: nothing is sent anywhere) with a PayMate figure and the
// KS Pay catalogue.
func (e *testEnv) withBalances(t *testing.T, paise int64) {
	t.Helper()
	e.srv.Balances = db.NewBalances(e.db, e.srv.Approvals, []db.AccountSpec{{Source: db.SourcePayMate, HasBalance: true}, {Source: db.SourceKotakCMS}})
	e.srv.Gateway = db.NewGateway(e.db, nil, db.GatewayOptions{})
	e.srv.Inflows = []db.InflowSource{e.srv.Gateway}
	w := db.NewBalanceWatcher(e.db, map[string]providers.Balances{db.SourcePayMate: fixedBalance{paise}})
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := e.db.Now().UnixMilli()
	if _, err := e.db.Writer().Exec(`INSERT INTO gateway_currencies (id, code, name, active, refreshed_at) VALUES
		('c_WkmEe23LeI', 'INR', 'Rupees', 1, ?), ('c_JdzYuwqF6O', 'USD', 'US Dollar', 1, ?);
		INSERT INTO gateway_methods (id, currency_id, name, active, refreshed_at) VALUES
		('pm_5LR93Agwv', 'c_WkmEe23LeI', 'UPI', 1, ?), ('pm_CardUSD01', 'c_JdzYuwqF6O', 'CARD', 1, ?)`, now, now, now, now); err != nil {
		t.Fatal(err)
	}
}

// TestBalancesThresholdBannerAndQueue: the page shows the figure; only an
// admin sets a threshold; above the balance, the banner shows on the
// balances, home and queue pages and the queue row of a payout warns.
func TestBalancesThresholdBannerAndQueue(t *testing.T) {
	e := newTestEnv(t, false)
	e.withBalances(t, 5_00_000_00)
	admin, maker, checker := e.client(), e.client(), e.client()
	admin.signIn("admin")
	maker.signIn("maker")
	checker.signIn("checker")
	resp, body := admin.get("/balances")
	if resp.StatusCode != 200 || !strings.Contains(body, "₹5,00,000.00") || strings.Contains(body, "Low balance") {
		t.Fatalf("balances page: %d", resp.StatusCode)
	}
	if resp, _ := maker.post("/balances/threshold", url.Values{"_csrf": {maker.csrf}, "source": {"paymate"}, "threshold": {"6,00,000"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("maker sets a threshold: %d", resp.StatusCode)
	}
	resp, body = admin.post("/balances/threshold", url.Values{"_csrf": {admin.csrf}, "source": {"paymate"}, "threshold": {"six lakh"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter rupees") {
		t.Fatalf("bad threshold: %d", resp.StatusCode)
	}
	resp, _ = admin.post("/balances/threshold", url.Values{"_csrf": {admin.csrf}, "source": {"paymate"}, "threshold": {"6,00,000"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sets a threshold: %d", resp.StatusCode)
	}
	for _, path := range []string{"/balances", "/", "/queue"} {
		if _, body := checker.get(path); !strings.Contains(body, "below its threshold of ₹6,00,000.00") {
			t.Errorf("%s has no low-balance banner", path)
		}
	}
	// A payout from PayMate in the queue says it would go below.
	in := db.PayoutInput{BeneficiaryName: "Acme Traders", AccountNo: "50100012345678", IFSC: "HDFC0001234", Amount: "10,000",
		Rail: "NEFT", Source: db.SourcePayMate, Purpose: "Invoice"}
	makerUser, _ := e.db.UserByUsername(context.Background(), "maker")
	if _, _, err := e.srv.Payouts.Propose(context.Background(), makerUser, in); err != nil {
		t.Fatal(err)
	}
	if _, body := checker.get("/queue"); !strings.Contains(body, "below its low-balance threshold of ₹6,00,000.00") ||
		!strings.Contains(body, "balance after: ₹4,90,000.00") {
		t.Fatalf("queue row does not warn:\n%s", body)
	}
	for _, path := range []string{"/balances.csv?days=7", "/balances/changes.csv?source=paymate&days=7"} {
		resp, body := admin.get(path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || strings.Count(body, "\n") < 2 {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
}

// TestGatewayReturnIsNotTrusted: a payer's redirect saying success, with no
// session, marks nothing paid: it only asks for a check by id.
func TestGatewayReturnIsNotTrusted(t *testing.T) {
	e := newTestEnv(t, false)
	e.withBalances(t, 1_00)
	maker := e.client()
	maker.signIn("maker")
	// Only the chosen currency's methods are offered.
	_, body := maker.get("/gateway/new?currency=c_JdzYuwqF6O")
	if !strings.Contains(body, "CARD") || strings.Contains(body, ">UPI<") {
		t.Fatalf("USD form offers: %s", body)
	}
	resp, _ := maker.post("/gateway", url.Values{"_csrf": {maker.csrf}, "currency": {"c_WkmEe23LeI"}, "method": {"pm_5LR93Agwv"},
		"amount": {"1499.50"}, "customer_ref": {"INV-9"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	id := strings.TrimPrefix(strings.Split(resp.Header.Get("Location"), "?")[0], "/gateway/")
	if _, err := e.db.Writer().Exec(`UPDATE gateway_transactions SET provider_txn_id = 'tx_ABCDEF123', status = 'pending' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	payer := e.client()
	resp, body = payer.get("/gateway/return?payment_status=success&kspay_id=tx_ABCDEF123&provider_payment_id=pay_FORGED")
	if resp.StatusCode != 200 || !strings.Contains(body, "confirming your payment") || strings.Contains(body, "INV-9") {
		t.Fatalf("return page: %d %s", resp.StatusCode, body)
	}
	t2, _, err := e.srv.Gateway.Get(context.Background(), id)
	if err != nil || t2.Status != db.GatewayPending || !t2.PaidAt.IsZero() {
		t.Fatalf("after a forged redirect: %+v %v", t2, err)
	}
	var jobs int
	if err := e.db.Writer().QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'gateway_step'`).Scan(&jobs); err != nil || jobs < 1 {
		t.Fatalf("no check by id was asked for: %d %v", jobs, err)
	}
	if resp, _ := payer.get("/gateway/return?payment_status=success&kspay_id=nonsense"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed redirect: %d", resp.StatusCode)
	}
	for _, path := range []string{"/gateway", "/gateway?status=pending&q=INV-9", "/gateway/" + id, "/gateway/analytics?days=7", "/gateway.csv", "/gateway/analytics.csv"} {
		if resp, body := maker.get(path); resp.StatusCode != 200 || (strings.HasPrefix(path, "/gateway?") && !strings.Contains(body, "INV-9")) {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}

// TestGatewayCSVDefusesProviderValues: KS Pay's ids in the export, and a
// currency taken from the link into the analytics export, come out with a
// formula defused.
func TestGatewayCSVDefusesProviderValues(t *testing.T) {
	e := newTestEnv(t, false)
	e.withBalances(t, 1_00)
	maker := e.client()
	maker.signIn("maker")
	maker.get("/gateway/new")
	resp, _ := maker.post("/gateway", url.Values{"_csrf": {maker.csrf}, "currency": {"c_WkmEe23LeI"}, "method": {"pm_5LR93Agwv"},
		"amount": {"1499.50"}, "customer_ref": {"INV-9"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	id := strings.TrimPrefix(strings.Split(resp.Header.Get("Location"), "?")[0], "/gateway/")
	if _, err := e.db.Writer().Exec(`UPDATE gateway_transactions SET provider_txn_id = '=1+1', provider_payment_id = '@SUM(A1)' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Writer().Exec(`UPDATE gateway_currencies SET code = '-INR' WHERE id = 'c_WkmEe23LeI'`); err != nil {
		t.Fatal(err)
	}
	_, body := maker.get("/gateway.csv")
	csvDefused(t, body, 2)
	_, body = maker.get("/gateway/analytics.csv?days=7&currency=" + url.QueryEscape(`=HYPERLINK("https://evil.example")`))
	csvDefused(t, body, len(strings.Split(strings.TrimSpace(body), "\n")))
}

// TestBalancesThresholdAsksForAFreshCode: an admin with a second factor
// and no fresh code is sent to the step-up and back to the balances page,
// whose form for that account holds what they typed; nothing is changed
// until they set it again.
func TestBalancesThresholdAsksForAFreshCode(t *testing.T) {
	e := newTestEnv(t, false)
	e.withBalances(t, 5_00_000_00)
	admin := e.client()
	admin.signIn("admin")
	admin.get("/balances")
	secret := e.enrol(t, "admin")
	resp, _ := admin.post("/balances/threshold", url.Values{"_csrf": {admin.csrf}, "source": {"paymate"}, "threshold": {"6,00,000"}})
	next := admin.stepUpTo(t, resp, secret)
	resp, body := admin.get(next)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="th-paymate" name="threshold" value="6,00,000"`) ||
		!strings.Contains(body, "not changed yet") {
		t.Fatalf("back on the balances page: %d, the typed threshold is not in its form", resp.StatusCode)
	}
	if _, body := admin.get("/balances"); strings.Contains(body, "₹6,00,000.00") {
		t.Fatal("the threshold changed before it was set again")
	}
	resp, _ = admin.post("/balances/threshold", url.Values{"_csrf": {admin.csrf}, "source": {"paymate"}, "threshold": {"6,00,000"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/balances?set=paymate" {
		t.Fatalf("set again after the code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

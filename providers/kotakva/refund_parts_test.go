package kotakva

import (
	"errors"
	"strings"
	"testing"

	"paydesk/providers"
)

// With the client's RefundId a credit is refunded in parts: each id once,
// the parts within the credit, each found by its id.
func TestRefundInPartsByID(t *testing.T) {
	e := newEnv(t)
	n := e.mustCreate(t, "PART1")[0]
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "1000"})
	b, err := e.ad.FetchCredits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txn := b.Credits[0].TxnRef
	first, err := e.ad.RefundCredit(ctx, providers.Refund{ID: "VRPART000001", TxnRef: txn, AmountPaise: 600_00, Reason: "part one"})
	if err != nil || first.ID != "VRPART000001" || first.RefundRef == "" {
		t.Fatalf("%+v %v", first, err)
	}
	// The same id again: the refund that exists, not a second one.
	again, err := e.ad.RefundCredit(ctx, providers.Refund{ID: "VRPART000001", TxnRef: txn, AmountPaise: 600_00, Reason: "part one"})
	if !errors.Is(err, providers.ErrDuplicate) || again.RefundRef != first.RefundRef {
		t.Fatalf("%+v %v", again, err)
	}
	// More than is left: refused.
	if _, err := e.ad.RefundCredit(ctx, providers.Refund{ID: "VRPART000002", TxnRef: txn, AmountPaise: 500_00, Reason: "too much"}); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("over the credit: %v", err)
	}
	// The rest: allowed.
	rest, err := e.ad.RefundCredit(ctx, providers.Refund{ID: "VRPART000003", TxnRef: txn, Reason: "the rest"})
	if err != nil || rest.RefundRef == first.RefundRef {
		t.Fatalf("%+v %v", rest, err)
	}
	st, err := e.ad.RefundStatus(ctx, "VRPART000003")
	if err != nil || st.RefundRef != rest.RefundRef || st.ID != "VRPART000003" {
		t.Fatalf("status by id: %+v %v", st, err)
	}
	for _, id := range []string{"VRPART000001", "VRPART000003"} {
		if got := e.sb.Ledger().Executions(id); got != 1 {
			t.Fatalf("%s executed %d times", id, got)
		}
	}
	var total int64
	for _, r := range e.sb.Refunds() {
		total += r.AmountPaise
	}
	if total != 1000_00 {
		t.Fatalf("refunded %d", total)
	}
}

// The control surface fails one account of a batch; the others are made.
func TestRefuseOneAccountOfABatch(t *testing.T) {
	e := newEnv(t)
	if code, body := e.control(t, "POST", "/accounts/refuse", RefuseRequest{Suffix: "R2", Reason: "Held by compliance"}); code != 204 {
		t.Fatalf("%d %s", code, body)
	}
	res, err := e.ad.CreateVirtualAccounts(ctx, []providers.VirtualAccount{{Suffix: "R1", Name: "One"}, {Suffix: "R2", Name: "Two"}, {Suffix: "R3", Name: "Three"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK || res[1].OK || res[1].Code != "101" || res[1].Reason != "Held by compliance" || !res[2].OK {
		t.Fatalf("%+v", res)
	}
	// Once: the same account goes through the next time.
	res, err = e.ad.CreateVirtualAccounts(ctx, []providers.VirtualAccount{{Suffix: "R2", Name: "Two"}})
	if err != nil || !res[0].OK {
		t.Fatalf("%+v %v", res, err)
	}
	if code, _ := e.control(t, "POST", "/accounts", PortalAccount{Suffix: "PORTAL", Name: "Portal made"}); code != 201 {
		t.Fatalf("portal account: %d", code)
	}
	// Restored in bulk: the existing one is left alone.
	code, body := e.control(t, "POST", "/accounts", []PortalAccount{{Suffix: "PORTAL", Name: "Portal made"}, {Suffix: "BACK1", Name: "Back again"}})
	if code != 201 || !strings.Contains(string(body), `"Created":1`) || !strings.Contains(string(body), `"Existing":1`) {
		t.Fatalf("restore: %d %s", code, body)
	}
	if code, _ := e.control(t, "POST", "/accounts/refuse", RefuseRequest{Suffix: "X", Code: "000"}); code != 422 {
		t.Fatalf("success code as a refusal: %d", code)
	}
}

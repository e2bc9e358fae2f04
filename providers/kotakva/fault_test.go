package kotakva

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// Under 30% injected faults (5,000 credits, 50 batches) a consumer that stores credits by TxnRef before
// acknowledging ends up with every credit exactly once, and the bank sees
// every batch acknowledged exactly once.
func TestFaultInjectionCreditsExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("fault run skipped in -short")
	}
	e := newEnv(t, func(_ *SandboxConfig, c *Config) {
		c.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
		c.Retries = 3
	})
	e.mustCreate(t, "F1", "F2")
	added := e.addCredits(t, CreditRequest{Count: 5000})
	e.sb.Faults().Set(sandboxkit.Faults{Seed: 99, ErrorRate: 0.08, HangRate: 0.08, DropRate: 0.07, MalformedRate: 0.07, HangFor: time.Second})

	stored := map[string]providers.Credit{}
	deliveries, failures := 0, 0
	for i := 0; ; i++ {
		if i > 2000 {
			t.Fatal("consumer did not finish")
		}
		b, err := e.ad.FetchCredits(ctx)
		if err != nil {
			if !errors.Is(err, providers.ErrTransient) {
				t.Fatalf("fetch: %v", err)
			}
			failures++
			continue
		}
		if b.BatchID == "" {
			break
		}
		for _, c := range b.Credits {
			deliveries++
			if prev, ok := stored[c.TxnRef]; ok && !sameCredit(prev, c) {
				t.Fatalf("%s changed between deliveries", c.TxnRef)
			}
			stored[c.TxnRef] = c
		}
		if err := e.ad.AcknowledgeCredits(ctx, b); err != nil {
			if !errors.Is(err, providers.ErrTransient) {
				t.Fatalf("ack: %v", err)
			}
			failures++ // next fetch tells: same batch again, or the next one
		}
	}
	counts := e.sb.Faults().Counts()
	e.sb.Faults().Set(sandboxkit.Faults{})
	bankSide := 0
	for _, v := range e.sb.Credits() {
		bankSide += v.Deliveries
	}
	t.Logf("faults %v; %d deliveries seen by the consumer, %d handed out by the bank, for %d credits; %d failed calls",
		counts, deliveries, bankSide, len(stored), failures)
	for _, f := range []sandboxkit.Fault{sandboxkit.Error5xx, sandboxkit.HangBefore, sandboxkit.HangAfter, sandboxkit.DropAfterAccept, sandboxkit.Malformed} {
		if counts[f] == 0 {
			t.Errorf("fault %d never injected", f)
		}
	}
	if bankSide <= 5000 {
		t.Error("no batch was handed out twice: the repeat path was not exercised")
	}
	if len(stored) != 5000 {
		t.Fatalf("stored %d credits", len(stored))
	}
	var total int64
	for _, ref := range added.TxnRefs {
		c, ok := stored[ref]
		if !ok {
			t.Fatalf("%s never arrived", ref)
		}
		total += c.AmountPaise
	}
	if total != added.TotalPaise {
		t.Fatalf("total %d, want %d", total, added.TotalPaise)
	}
	acked := map[string]int{}
	for _, v := range e.sb.Credits() {
		if v.AckedBatchID == "" {
			t.Fatalf("%s never acknowledged", v.TxnRef)
		}
		acked[v.AckedBatchID]++
	}
	if len(acked) != 50 {
		t.Fatalf("%d acknowledged batches, want 50", len(acked))
	}
}

// A refund whose answer is lost is found by the credit's TxnRef and is never
// executed twice.
func TestRefundOutcomeUnknownThenFoundByTxnRef(t *testing.T) {
	e := newEnv(t, func(_ *SandboxConfig, c *Config) { c.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond} })
	n := e.mustCreate(t, "LOST1")[0]
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "750"})
	b, err := e.ad.FetchCredits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txn := b.Credits[0].TxnRef
	e.sb.Faults().Set(sandboxkit.Faults{DropRate: 1})
	if _, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: txn, Reason: "lost answer"}); !errors.Is(err, providers.ErrOutcomeUnknown) {
		t.Fatalf("err = %v", err)
	}
	e.sb.Faults().Set(sandboxkit.Faults{})
	st, err := e.ad.RefundStatus(ctx, txn)
	if err != nil || st.ProviderCode != "INITIATED" || st.RefundRef == "" {
		t.Fatalf("%+v %v", st, err)
	}
	// Following the rule, the caller does not refund again; a blind repeat
	// would still be refused.
	if _, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: txn, Reason: "again"}); !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("repeat: %v", err)
	}
	if got := e.sb.Ledger().Executions(txn); got != 1 {
		t.Fatalf("refund executed %d times", got)
	}
}

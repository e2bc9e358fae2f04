package kotakcms

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// driver is what Paydesk's worker does with a payout, reduced to the rule
// that matters: after an unknown outcome ask for status, and send again
// only when the bank says it does not know the payout.
type driver struct {
	t         *testing.T
	ad        *Adapter
	resends   atomic.Int32
	reauths   atomic.Int32
	statusErr atomic.Int32
}

// settle asks for status until the bank gives an answer.
func (d *driver) settle(ctx context.Context, id string) (providers.PayoutStatus, bool) {
	for i := 0; i < 200; i++ {
		st, err := d.ad.PayoutStatus(ctx, id)
		if err == nil {
			return st, true
		}
		if errors.Is(err, providers.ErrNotFound) {
			return st, false
		}
		if !errors.Is(err, providers.ErrTransient) && !errors.Is(err, providers.ErrOutcomeUnknown) {
			d.t.Errorf("%s: status: %v", id, err)
			return st, false
		}
		d.statusErr.Add(1)
		time.Sleep(2 * time.Millisecond)
	}
	d.t.Errorf("%s: status never answered", id)
	return providers.PayoutStatus{}, false
}

func (d *driver) pay(ctx context.Context, p providers.Payout) {
	// Initiate, exactly once at the bank.
	for i := 0; ; i++ {
		if i > 100 {
			d.t.Errorf("%s: gave up initiating", p.ID)
			return
		}
		_, err := d.ad.InitiatePayout(ctx, p)
		if err == nil || errors.Is(err, providers.ErrDuplicate) {
			break
		}
		if !errors.Is(err, providers.ErrOutcomeUnknown) && !errors.Is(err, providers.ErrTransient) {
			d.t.Errorf("%s: initiate: %v", p.ID, err)
			return
		}
		if _, known := d.settle(ctx, p.ID); known {
			break
		}
		d.resends.Add(1) // the bank does not have it: sending again is safe
	}
	// Authorise, with the same discipline.
	for i := 0; ; i++ {
		if i > 100 {
			d.t.Errorf("%s: gave up authorising", p.ID)
			return
		}
		err := d.ad.Authorise(ctx, []string{p.ID}, providers.Approve, "")
		if err == nil {
			return
		}
		if !errors.Is(err, providers.ErrOutcomeUnknown) && !errors.Is(err, providers.ErrTransient) {
			d.t.Errorf("%s: authorise: %v", p.ID, err)
			return
		}
		st, known := d.settle(ctx, p.ID)
		if !known {
			d.t.Errorf("%s: vanished after initiation", p.ID)
			return
		}
		if st.State != providers.StateQueued {
			return // the lost approval did go through
		}
		d.reauths.Add(1)
	}
}

func TestFaultInjectionThousandPayoutsExecuteOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("fault run skipped in -short")
	}
	scfg := DefaultSandboxConfig()
	scfg.PendingSendFor, scfg.InProcessFor = 0, 0
	sb := NewSandbox(scfg)
	srv := newServer(t, sb)
	ccfg := DemoConfig(srv)
	ccfg.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
	ccfg.Retries = 3
	ccfg.Backoff = 2 * time.Millisecond
	c, err := NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	sb.Faults().Set(sandboxkit.Faults{
		Seed: 20260302, ErrorRate: 0.08, HangRate: 0.08, DropRate: 0.07, MalformedRate: 0.07,
		HangFor: time.Second,
	})
	d := &driver{t: t, ad: NewAdapter(c)}
	const n = 1000
	rng := rand.New(rand.NewPCG(1, 2))
	payouts := make([]providers.Payout, n)
	var total int64
	for i := range payouts {
		rail := []providers.Rail{providers.RailNEFT, providers.RailIMPS, providers.RailNEFT}[i%3]
		amt := 100 + rng.Int64N(4_99_999_00)
		total += amt
		payouts[i] = providers.Payout{
			ID: fmt.Sprintf("PO-%05d", i), AmountPaise: amt, Rail: rail,
			BeneficiaryName: "Vendor " + fmt.Sprint(i), BeneficiaryAcct: fmt.Sprintf("5010%08d1", i),
			BeneficiaryIFSC: "HDFC0001234", Purpose: "fault run",
		}
	}
	work := make(chan providers.Payout)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				d.pay(context.Background(), p)
			}
		}()
	}
	start := time.Now()
	for _, p := range payouts {
		work <- p
	}
	close(work)
	wg.Wait()
	counts := sb.Faults().Counts()
	t.Logf("%d payouts in %v; faults %v; re-sent after not-found %d, re-authorised %d, failed status reads %d",
		n, time.Since(start).Round(time.Millisecond), counts, d.resends.Load(), d.reauths.Load(), d.statusErr.Load())
	for _, f := range []sandboxkit.Fault{sandboxkit.Error5xx, sandboxkit.HangBefore, sandboxkit.HangAfter, sandboxkit.DropAfterAccept, sandboxkit.Malformed} {
		if counts[f] == 0 {
			t.Errorf("fault %d never injected", f)
		}
	}
	if d.resends.Load() == 0 {
		t.Error("no payout needed a re-send: the not-found path was not exercised")
	}

	sb.Faults().Set(sandboxkit.Faults{})
	led := sb.Ledger()
	if dups := led.Duplicates(); len(dups) != 0 {
		t.Fatalf("executed more than once: %v", dups)
	}
	entries := led.Entries()
	if len(entries) != n {
		t.Fatalf("ledger has %d executions, want %d", len(entries), n)
	}
	var sum int64
	for _, p := range payouts {
		if led.Executions(p.ID) != 1 {
			t.Fatalf("%s executed %d times", p.ID, led.Executions(p.ID))
		}
	}
	for _, e := range entries {
		sum += e.AmountPaise
	}
	if sum != total || scfg.OpeningBalancePaise-sb.Balance() != total {
		t.Fatalf("amounts: ledger %d, debited %d, want %d", sum, scfg.OpeningBalancePaise-sb.Balance(), total)
	}
	// Every payout ends processed with a UTR.
	ad := NewAdapter(c)
	for i := 0; i < n; i += 97 {
		st, err := ad.PayoutStatus(context.Background(), payouts[i].ID)
		if err != nil || st.State != providers.StateProcessed || st.UTR == "" {
			t.Fatalf("%s: %+v %v", payouts[i].ID, st, err)
		}
	}
}

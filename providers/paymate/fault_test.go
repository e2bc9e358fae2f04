package paymate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// faultDriver follows Paydesk's rule for payouts: after an unknown outcome (or
// a transient failure) of a write, ask for the status first, and send again
// only when PayMate says it does not know the payout. Never a blind re-send.
type faultDriver struct {
	a                           *Adapter
	unknownBook, unknownApprove atomic.Int32
	rebooked, reapproved        atomic.Int32
}

// status asks until PayMate answers definitively: a status or "no record".
func (d *faultDriver) status(ctx context.Context, id string) (providers.PayoutStatus, error) {
	for i := 0; ; i++ {
		st, err := d.a.PayoutStatus(ctx, id)
		if err == nil || errors.Is(err, providers.ErrNotFound) || !errors.Is(err, providers.ErrTransient) || i == 200 {
			return st, err
		}
	}
}

func (d *faultDriver) book(ctx context.Context, p providers.Payout) error {
	for i := 0; i < 100; i++ {
		_, err := d.a.InitiatePayout(ctx, p)
		switch {
		case err == nil, errors.Is(err, providers.ErrDuplicate):
			return nil // booked now, or by an earlier attempt whose answer was lost
		case errors.Is(err, providers.ErrOutcomeUnknown), errors.Is(err, providers.ErrTransient):
			d.unknownBook.Add(1)
			_, serr := d.status(ctx, p.ID)
			if serr == nil {
				return nil // PayMate has it
			}
			if !errors.Is(serr, providers.ErrNotFound) {
				return fmt.Errorf("status of %s: %w", p.ID, serr)
			}
			d.rebooked.Add(1) // PayMate does not know it: book again
		default:
			return err
		}
	}
	return fmt.Errorf("%s: gave up booking", p.ID)
}

func (d *faultDriver) approve(ctx context.Context, id string) error {
	for i := 0; i < 100; i++ {
		err := d.a.Authorise(ctx, []string{id}, providers.Approve, "")
		switch {
		case err == nil, errors.Is(err, providers.ErrDuplicate):
			return nil // approved now, or already past approval
		case errors.Is(err, providers.ErrOutcomeUnknown), errors.Is(err, providers.ErrTransient):
			d.unknownApprove.Add(1)
			st, serr := d.status(ctx, id)
			if serr != nil {
				return fmt.Errorf("status of %s: %w", id, serr)
			}
			if st.State != providers.StateQueued {
				return nil // it moved past 199: the approval went through
			}
			d.reapproved.Add(1) // still awaiting approval: approve again
		default:
			return err
		}
	}
	return fmt.Errorf("%s: gave up approving", id)
}

// Under ~30% injected faults, 1,000 payouts booked and approved concurrently
// are executed exactly once each.
func TestFaultInjection1000Payouts(t *testing.T) {
	const n, workers = 1000, 16
	e := newEnv(t, func(s *SandboxConfig, c *Config) {
		s.OpeningBalancePaise = 1_00_00_000_00 // ₹1,00,00,000
		c.Timeout = 200 * time.Millisecond
		c.ReadAttempts = 4
		c.RetryBackoff = 2 * time.Millisecond
	})
	e.sb.Injector().Set(sandboxkit.Faults{Seed: 20260314, ErrorRate: 0.08, HangRate: 0.07, DropRate: 0.08,
		MalformedRate: 0.07, HangFor: time.Second})

	d := &faultDriver{a: e.a}
	x, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				p := providers.Payout{ID: fmt.Sprintf("PD%06d", i), AmountPaise: int64(100_00 + i), Rail: providers.RailNEFT,
					BeneficiaryName: "Fault Test Vendor", BeneficiaryAcct: fmt.Sprintf("5010%08d", i), BeneficiaryIFSC: "HDFC0001234"}
				if i%4 == 0 {
					p.ContactRef = "JSQA000001"
				}
				if err := d.book(x, p); err != nil {
					errs <- err
					continue
				}
				if err := d.approve(x, p.ID); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	counts := e.sb.Injector().Counts()
	t.Logf("faults injected: 5xx=%d hang-before=%d hang-after=%d drop=%d malformed=%d clean=%d",
		counts[sandboxkit.Error5xx], counts[sandboxkit.HangBefore], counts[sandboxkit.HangAfter],
		counts[sandboxkit.DropAfterAccept], counts[sandboxkit.Malformed], counts[sandboxkit.NoFault])
	t.Logf("unknown/transient: book=%d approve=%d; re-sent after 'not found'/'still 199': book=%d approve=%d",
		d.unknownBook.Load(), d.unknownApprove.Load(), d.rebooked.Load(), d.reapproved.Load())
	for _, f := range []sandboxkit.Fault{sandboxkit.Error5xx, sandboxkit.HangBefore, sandboxkit.HangAfter, sandboxkit.DropAfterAccept, sandboxkit.Malformed} {
		if counts[f] == 0 {
			t.Errorf("fault %d never injected: the test proves nothing about it", f)
		}
	}
	if d.unknownBook.Load() == 0 || d.unknownApprove.Load() == 0 {
		t.Error("no unknown outcomes: the discipline was not exercised")
	}

	// Two more authorisers replay every approval at nearly the same moment
	// (each id goes to two workers back to back), still under faults: the
	// sandbox must not pay any of them again.
	var replay sync.WaitGroup
	ids := make(chan string)
	for w := 0; w < workers; w++ {
		replay.Add(1)
		go func() {
			defer replay.Done()
			for id := range ids {
				_ = e.a.Authorise(x, []string{id}, providers.Approve, "")
			}
		}()
	}
	for i := 0; i < n; i++ {
		ids <- fmt.Sprintf("PD%06d", i)
		ids <- fmt.Sprintf("PD%06d", i)
	}
	close(ids)
	replay.Wait()

	// Exactly one execution per payout.
	ledger := e.sb.Ledger()
	entries := ledger.Entries()
	if len(entries) != n {
		t.Errorf("ledger has %d executions, want %d", len(entries), n)
	}
	if dup := ledger.Duplicates(); len(dup) != 0 {
		t.Errorf("%d payouts executed more than once, e.g. %v", len(dup), dup[:min(len(dup), 10)])
	}
	wrong := 0
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("PD%06d", i)
		if got := ledger.Executions(id); got != 1 {
			if wrong++; wrong <= 10 {
				t.Errorf("%s executed %d times", id, got)
			}
		}
	}
	for _, x := range entries {
		var i int
		fmt.Sscanf(x.Ref, "PD%06d", &i)
		if x.AmountPaise != int64(100_00+i) {
			t.Errorf("%s executed for %d paise", x.Ref, x.AmountPaise)
		}
	}

	// With faults off, every payout is past approval and walks on to paid.
	e.sb.Injector().Set(sandboxkit.Faults{})
	var rows []ctlPaymentRow
	e.control(t, "GET", "/payments", nil, &rows)
	if len(rows) != n {
		t.Errorf("sandbox holds %d payments, want %d", len(rows), n)
	}
	for _, r := range rows {
		if r.TransactionStatus != "202" {
			t.Errorf("%s is %s", r.OrderID, r.TransactionStatus)
		}
	}
	e.clk.Advance(3 * testStep)
	for i := 0; i < n; i += 97 {
		st, err := e.a.PayoutStatus(ctx(t), fmt.Sprintf("PD%06d", i))
		if err != nil || st.State != providers.StateProcessed {
			t.Errorf("PD%06d: %+v %v", i, st, err)
		}
	}
}

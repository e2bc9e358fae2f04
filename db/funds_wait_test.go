package db

import (
	"context"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// eventKinds lists a payout's timeline kinds, in order.
func eventKinds(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

// TestPayMateInsufficientFundsWaits: PayMate refuses the approval with 180
// and keeps the payout at 199. Paydesk shows it waiting for funds (queued,
// not failed), keeps following it, and once the Xpress Account is funded
// approves it again: it is paid once.
func TestPayMateInsufficientFundsWaits(t *testing.T) {
	env := newDispatchEnv(t)
	d, p, a := env.d, env.p, env.a
	ctx := context.Background()
	setPayMateBalance(t, env.srv, 100_00)

	in := goodInput()
	in.Source = SourcePayMate
	po, _, err := p.Propose(ctx, env.maker, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Approve(ctx, env.checker, po.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	opts := fastDispatch()
	opts.FundsWaitEvery = 100 * time.Millisecond
	env.startDispatcher(t, d, p, opts)
	deadline := time.Now().Add(10 * time.Second)
	for {
		po, _, _ = p.Get(ctx, po.ID)
		if !po.WaitingForFundsSince.IsZero() || po.State.Final() || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if po.WaitingForFundsSince.IsZero() || po.State != providers.StateQueued || po.FailureReason != "" {
		t.Fatalf("payout = %s, waiting since %v, reason %q", po.State, po.WaitingForFundsSince, po.FailureReason)
	}
	// It keeps being followed and asked: a while later still waiting, with
	// the wait recorded once.
	time.Sleep(600 * time.Millisecond)
	po, evs, _ := p.Get(ctx, po.ID)
	waits := strings.Count(strings.Join(eventKinds(evs), " "), "waiting_funds")
	if po.State != providers.StateQueued || po.WaitingForFundsSince.IsZero() || waits != 1 {
		t.Fatalf("after waiting: %s, events %v", po.State, eventKinds(evs))
	}
	if n := env.ledgers[SourcePayMate].Executions(po.ID); n != 0 {
		t.Fatalf("paid without funds: %d", n)
	}
	setPayMateBalance(t, env.srv, 10_00_000_00)
	waitFinal(t, p, []string{po.ID}, 15*time.Second)
	po, _, _ = p.Get(ctx, po.ID)
	if po.State != providers.StateProcessed || !po.WaitingForFundsSince.IsZero() || env.ledgers[SourcePayMate].Executions(po.ID) != 1 {
		t.Fatalf("after funding: %s, waiting since %v, executions %d", po.State, po.WaitingForFundsSince, env.ledgers[SourcePayMate].Executions(po.ID))
	}
	verifyAudit(t, d)
}

package db

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/kotakcms"
	"paydesk/providers/paymate"
	"paydesk/providers/registry"
	"paydesk/providers/sandboxes"
	"paydesk/providers/sandboxkit"
)

// fastDispatch is a dispatcher tuned for tests: short polls and backoffs.
func fastDispatch() DispatchOptions {
	return DispatchOptions{Workers: 16, PollInterval: 20 * time.Millisecond, InquiryEvery: 50 * time.Millisecond,
		MaxAttempts: 1000, JanitorEvery: 500 * time.Millisecond, StuckAfter: 5 * time.Second,
		RetryBackoff: 20 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, NotFoundGrace: 300 * time.Millisecond}
}

func waitFinal(t *testing.T, p *Payouts, ids []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var open []string
		for _, id := range ids {
			po, _, err := p.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !po.State.Final() {
				open = append(open, id+"="+string(po.State))
			}
		}
		if len(open) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d payouts not final after %v, e.g. %v", len(open), within, open[:min(5, len(open))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDispatchEndToEnd: propose ₹50,000 NEFT, a checker approves, the
// dispatcher pays it through the real sandboxes (served over HTTP and wired
// by the registry, as the app does), for both sources.
func TestDispatchEndToEnd(t *testing.T) {
	d, _ := newTestDB(t)
	d.Now = time.Now
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)

	set := sandboxes.New(sandboxes.Options{})
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(srv.Close)
	reg, err := registry.Load(registry.Options{SandboxRoot: srv.URL, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	provs := map[string]providers.Payouts{}
	for _, name := range []string{SourceKotakCMS, SourcePayMate} {
		pp, ok := reg.Payouts(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		provs[name] = pp
	}
	ds, err := NewDispatcher(d, p, provs, fastDispatch())
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Stop(context.Background()) })

	var ids []string
	for _, src := range []string{SourceKotakCMS, SourcePayMate} {
		in := goodInput()
		in.BeneficiaryName, in.Source = "Acme Traders", src
		po, _, err := p.Propose(ctx, maker, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, po.ID)
	}
	// The sandboxes' own lifecycles take a few seconds (Kotak PS 2 s + C 5 s,
	// PayMate 2 s a step).
	waitFinal(t, p, ids, 40*time.Second)
	ledgers := map[string]*sandboxkit.Ledger{SourceKotakCMS: set.KotakCMS.Ledger(), SourcePayMate: set.PayMate.Ledger()}
	for _, id := range ids {
		po, evs, _ := p.Get(ctx, id)
		if po.State != providers.StateProcessed || po.UTR == "" || po.Attempts != 1 {
			t.Fatalf("%s: %+v", po.Source, po)
		}
		if n := ledgers[po.Source].Executions(id); n != 1 {
			t.Fatalf("%s: executed %d times", po.Source, n)
		}
		kinds := map[string]bool{}
		for _, e := range evs {
			kinds[e.Kind] = true
		}
		for _, k := range []string{"proposed", "approved", "queued", "sent", "authorised", "provider_status"} {
			if !kinds[k] {
				t.Fatalf("%s: timeline lacks %s: %+v", po.Source, k, evs)
			}
		}
		t.Logf("%s: %s UTR %s, %d events", po.Source, po.State, po.UTR, len(evs))
	}
	verifyAudit(t, d)
}

// chaosEnv is the two payout sandboxes with short lifecycles, served over
// HTTP, and adapters with short client timeouts, so that hangs outlast the
// client's deadline.
type chaosEnv struct {
	cms     *kotakcms.Sandbox
	pm      *paymate.Sandbox
	url     string
	provs   map[string]providers.Payouts
	ledgers map[string]*sandboxkit.Ledger
	srv     *httptest.Server // PayMate's control surface is at /_sandbox/paymate/
}

func newChaosEnv(t *testing.T) *chaosEnv {
	scfg := kotakcms.DefaultSandboxConfig()
	scfg.PendingSendFor, scfg.InProcessFor = 0, 0
	cms := kotakcms.NewSandbox(scfg)
	pm := paymate.NewSandbox(paymate.SandboxConfig{Step: time.Millisecond, OpeningBalancePaise: 1_00_00_00_000_00})
	mux := http.NewServeMux()
	mux.Handle("/kotakcms/", http.StripPrefix("/kotakcms", cms))
	mux.Handle("/paymate/", http.StripPrefix("/paymate", pm))
	mux.Handle("/_sandbox/paymate/", http.StripPrefix("/_sandbox/paymate", pm.Control()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &chaosEnv{cms: cms, pm: pm, url: srv.URL, srv: srv, provs: chaosAdapters(t, srv.URL),
		ledgers: map[string]*sandboxkit.Ledger{SourceKotakCMS: cms.Ledger(), SourcePayMate: pm.Ledger()}}
}

// chaosAdapters are the two providers' clients over the sandboxes at root.
func chaosAdapters(t *testing.T, root string) map[string]providers.Payouts {
	ccfg := kotakcms.DemoConfig(root + "/kotakcms")
	ccfg.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
	ccfg.Retries, ccfg.Backoff = 3, 2*time.Millisecond
	cc, err := kotakcms.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	pcfg := paymate.DemoConfig(root + "/paymate")
	pcfg.Timeout, pcfg.ReadAttempts, pcfg.RetryBackoff = 200*time.Millisecond, 4, 2*time.Millisecond
	pc, err := paymate.NewClient(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]providers.Payouts{SourceKotakCMS: kotakcms.NewAdapter(cc), SourcePayMate: paymate.NewAdapter(pc)}
}

// chaosDispatch is fastDispatch with production's recovery horizons: a job
// left running is recovered by the new process's start, never by waiting
// StuckAfter.
func chaosDispatch() DispatchOptions {
	o := fastDispatch()
	o.StuckAfter, o.JanitorEvery = 10*time.Minute, time.Minute
	return o
}

// chaosChildEnv carries "<database path>|<sandbox root>" to a dispatcher
// process that TestDispatchChaos starts and kills with SIGKILL.
const chaosChildEnv = "PAYDESK_CHAOS_CHILD"

// TestChaosDispatcherProcess is the dispatcher process of TestDispatchChaos:
// it works jobs until it is killed, or until its parent goes away (its
// stdin closes).
func TestChaosDispatcherProcess(t *testing.T) {
	spec := os.Getenv(chaosChildEnv)
	if spec == "" {
		t.Skip("a process TestDispatchChaos starts and kills")
	}
	dbPath, root, _ := strings.Cut(spec, "|")
	d, err := Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Now = time.Now
	p, _ := newTestPayouts(t, d)
	ds, err := NewDispatcher(d, p, chaosAdapters(t, root), chaosDispatch())
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("dispatching")
	_, _ = io.Copy(io.Discard, os.Stdin)
	ds.Kill()
}

// startDispatcherProcess runs TestChaosDispatcherProcess in a process of its
// own and returns once its dispatcher has started.
func startDispatcherProcess(t *testing.T, dbPath, root string) (kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChaosDispatcherProcess$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), chaosChildEnv+"="+dbPath+"|"+root)
	stdin, err := cmd.StdinPipe() // held open: the child lives while it is
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && sc.Text() == "dispatching" {
				ok = true
				started <- true
			}
		}
		if !ok {
			started <- false
		}
	}()
	select {
	case ok := <-started:
		if !ok {
			_ = cmd.Wait()
			t.Fatal("the dispatcher process ended before it started")
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the dispatcher process did not start within 30 s")
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		_ = stdin.Close()
	}
}

// waitSettled waits until every payout is final or on the needs-attention
// list, as a person at the payouts page would see it.
func waitSettled(t *testing.T, p *Payouts, ids []string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		attention, _, err := p.NeedsAttention(context.Background(), 30*time.Minute, maxAttention)
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		for _, po := range attention {
			listed[po.ID] = true
		}
		var open []string
		for _, id := range ids {
			po, _, err := p.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !po.State.Final() && !listed[id] {
				open = append(open, id+"="+string(po.State))
			}
		}
		if len(open) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%d payouts neither final nor needing attention %v after the last restart, e.g. %v",
				len(open), within, open[:min(5, len(open))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDispatchChaos: N approved payouts over both providers with ~30% of
// requests faulty (5xx, hangs past the client's deadline, drop after
// accepting, malformed answers), the dispatcher's process killed with
// SIGKILL mid-dispatch four times (its jobs left "running"), then restarted
// with the faults off: within 30 s every payout is final or on the
// needs-attention list, each sandbox executed each payout at most once and
// exactly the processed ones, and Paydesk's state is the provider's. The
// restarts use production's StuckAfter (10 min), so only the start-up
// recovery can move the orphans on. N is 1,000; PAYDESK_CHAOS_N changes it.
func TestDispatchChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("PAYDESK_CHAOS_N")); err == nil && v > 0 {
		n = v
	}
	dbPath := filepath.Join(t.TempDir(), "chaos.db")
	d, err := Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.Now = time.Now
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	env := newChaosEnv(t)

	rng := rand.New(rand.NewPCG(7, 11))
	rows := make([]PayoutInput, n)
	for i := range rows {
		src := SourceKotakCMS
		if i%2 == 1 {
			src = SourcePayMate
		}
		rows[i] = PayoutInput{BeneficiaryName: "Chaos Vendor", AccountNo: fmt.Sprintf("5010%08d", i), IFSC: "HDFC0001234",
			Amount: fmt.Sprintf("%d.%02d", 100+rng.IntN(90_000), rng.IntN(100)), Rail: []string{"NEFT", "IMPS"}[i%4/2],
			Source: src, Purpose: "chaos"}
	}
	b, err := p.ProposeBatch(ctx, maker, rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range b.PayoutIDs {
		po, _, _ := p.Get(ctx, id)
		if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
	}
	faults := sandboxkit.Faults{Seed: 2026, ErrorRate: 0.08, HangRate: 0.08, DropRate: 0.07, MalformedRate: 0.07, HangFor: time.Second}
	env.cms.Faults().Set(faults)
	faults.Seed++
	env.pm.Injector().Set(faults)

	start := time.Now()
	const kills = 4
	orphaned := 0
	for k := range kills {
		kill := startDispatcherProcess(t, dbPath, env.url)
		time.Sleep(time.Duration(1500+rng.IntN(1500)) * time.Millisecond)
		kill()
		var running int
		if err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&running); err != nil {
			t.Fatal(err)
		}
		orphaned += running
		t.Logf("kill -9 %d after %v: %d jobs left running", k+1, time.Since(start).Round(time.Millisecond), running)
	}
	if orphaned == 0 {
		t.Fatal("no kill left a job running: the test did not exercise recovery")
	}
	cmsFaults, pmFaults := env.cms.Faults().Counts(), env.pm.Injector().Counts()
	env.cms.Faults().Set(sandboxkit.Faults{})
	env.pm.Injector().Set(sandboxkit.Faults{})
	ds, err := NewDispatcher(d, p, env.provs, chaosDispatch())
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Kill() })
	settled := waitSettled(t, p, b.PayoutIDs, 30*time.Second)
	waitFinal(t, p, b.PayoutIDs, 75*time.Second)
	if err := ds.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)

	injected := 0
	for _, c := range []map[sandboxkit.Fault]int{cmsFaults, pmFaults} {
		for f, v := range c {
			if f != sandboxkit.NoFault {
				injected += v
			}
		}
	}
	executions := 0
	for src, l := range env.ledgers {
		if dups := l.Duplicates(); len(dups) != 0 {
			t.Fatalf("%s executed more than once: %v", src, dups)
		}
		executions += len(l.Entries())
	}
	states := map[providers.PayoutState]int{}
	unknownSeen, resent := 0, 0
	for _, id := range b.PayoutIDs {
		po, evs, _ := p.Get(ctx, id)
		states[po.State]++
		for _, e := range evs {
			if e.Kind == "unknown" {
				unknownSeen++
			}
			if e.Kind == "resent" {
				resent++
			}
		}
		executed := env.ledgers[po.Source].Executions(id)
		if (po.State == providers.StateProcessed) != (executed == 1) {
			t.Errorf("%s (%s): Paydesk %s, sandbox executions %d", id, po.Source, po.State, executed)
		}
		st, err := env.provs[po.Source].PayoutStatus(ctx, id)
		if err != nil || st.State != po.State || st.UTR != po.UTR {
			t.Errorf("%s (%s): Paydesk %s %q, provider %s %q (%v)", id, po.Source, po.State, po.UTR, st.State, st.UTR, err)
		}
	}
	t.Logf("N=%d in %v with %d kill -9 (%d jobs orphaned); settled %v after the last restart; faults kotakcms %v paymate %v (%d injected); executions %d; final states %v; unknown outcomes recorded %d, re-sent after not-found %d",
		n, elapsed.Round(time.Millisecond), kills, orphaned, settled.Round(time.Millisecond), cmsFaults, pmFaults, injected, executions, states, unknownSeen, resent)
	if executions != n || states[providers.StateProcessed] != n {
		t.Fatalf("executions %d, processed %d, want %d", executions, states[providers.StateProcessed], n)
	}
	verifyAudit(t, d)
}

// laggingBank accepts a payout but, like a bank whose status service lags
// its payment service, answers "not found" to every inquiry for a while.
type laggingBank struct {
	mu        sync.Mutex
	initiated int
}

func (b *laggingBank) InitiatePayout(ctx context.Context, p providers.Payout) (providers.PayoutStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.initiated++
	return providers.PayoutStatus{}, fmt.Errorf("lagging bank: %w", providers.ErrOutcomeUnknown)
}

// sends is how many times a payout was handed to the bank.
func (b *laggingBank) sends() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.initiated
}

func (b *laggingBank) PayoutStatus(ctx context.Context, id string) (providers.PayoutStatus, error) {
	return providers.PayoutStatus{}, fmt.Errorf("lagging bank: %w", providers.ErrNotFound)
}

func (b *laggingBank) PendingApprovals(ctx context.Context) ([]providers.PendingPayout, error) {
	return nil, nil
}

func (b *laggingBank) Authorise(ctx context.Context, refs []string, d providers.Decision, remarks string) error {
	return nil
}

// approveOneTo starts a dispatcher with bank as Kotak CMS, then proposes and
// approves one payout to it; the dispatcher stops with the test.
func approveOneTo(t *testing.T, bank providers.Payouts, opts DispatchOptions) (*Payouts, Payout) {
	t.Helper()
	d, _ := newTestDB(t)
	d.Now = time.Now
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	ds, err := NewDispatcher(d, p, map[string]providers.Payouts{SourceKotakCMS: bank}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Stop(context.Background()) })
	po, _, err := p.Propose(ctx, maker, goodInput())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	return p, po
}

// TestNotFoundSoonAfterSendingIsNotResent: "not found" within the grace
// period after an unknown outcome is asked again, never re-sent.
func TestNotFoundSoonAfterSendingIsNotResent(t *testing.T) {
	bank := &laggingBank{}
	opts := fastDispatch()
	opts.NotFoundGrace = time.Hour
	p, po := approveOneTo(t, bank, opts)
	ctx := context.Background()
	time.Sleep(1500 * time.Millisecond)
	n := bank.sends()
	if n != 1 {
		t.Fatalf("initiated %d times within the grace period, want 1", n)
	}
	got, _, _ := p.Get(ctx, po.ID)
	if got.State != providers.StateUnknown {
		t.Fatalf("state = %s, want unknown", got.State)
	}
}

// TestNotFoundGraceCountsFromTheLatestSend: after a re-send whose outcome
// is unknown, "not found" sooner than the grace after that re-send is asked
// again later. Measured from the first send, every re-send was followed at
// once by another, up to eight in one run.
func TestNotFoundGraceCountsFromTheLatestSend(t *testing.T) {
	bank := &laggingBank{}
	opts := fastDispatch()
	opts.NotFoundGrace = time.Second
	p, po := approveOneTo(t, bank, opts)
	ctx := context.Background()
	// The first send at about 0 s, the re-send at about 1 s; the next may
	// not come before about 2 s.
	time.Sleep(1600 * time.Millisecond)
	n := bank.sends()
	if n > 2 {
		t.Fatalf("sent %d times within 1.6 s with a 1 s grace: re-sent at once after a re-send (want at most 2)", n)
	}
	got, _, _ := p.Get(ctx, po.ID)
	if n == 2 && !got.LastSentAt.After(got.SentAt) {
		t.Fatalf("sent twice, but the latest send %s is not after the first %s", got.LastSentAt, got.SentAt)
	}
}

// silentBank takes a payout without saying how it went, then cannot
// answer inquiries: its status service is down.
type silentBank struct{ laggingBank }

func (b *silentBank) PayoutStatus(ctx context.Context, id string) (providers.PayoutStatus, error) {
	return providers.PayoutStatus{}, fmt.Errorf("status service down: %w", providers.ErrTransient)
}

// TestGivingUpNeverFailsASentPayout: when a sent payout's inquiries keep
// failing past MaxAttempts, it stays as it was (the bank may have paid it)
// and its timeline says it is still being asked about; failing it would
// end the follow-up and invite paying it again.
func TestGivingUpNeverFailsASentPayout(t *testing.T) {
	bank := &silentBank{}
	opts := fastDispatch()
	opts.MaxAttempts = 3
	p, po := approveOneTo(t, bank, opts)
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, events, err := p.Get(ctx, po.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State.Final() {
			t.Fatalf("state = %s (%s): no inquiry was ever answered", got.State, got.FailureReason)
		}
		if i := slices.IndexFunc(events, func(e Event) bool { return e.Kind == "still_asking" }); i >= 0 {
			if got.State != providers.StateUnknown {
				t.Errorf("state = %s, want unknown", got.State)
			}
			if !strings.Contains(events[i].Message, "not sent again") {
				t.Errorf("still_asking says %q", events[i].Message)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no still_asking after MaxAttempts failed inquiries: %+v", events)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := bank.sends(); n != 1 {
		t.Fatalf("sent %d times with no answer from the bank, want 1", n)
	}
}

// instantBank pays every payout at once and says so when asked.
type instantBank struct{ laggingBank }

func (b *instantBank) InitiatePayout(ctx context.Context, p providers.Payout) (providers.PayoutStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.initiated++
	return providers.PayoutStatus{State: providers.StateProcessed, UTR: "UTR" + p.ID}, nil
}

func (b *instantBank) PayoutStatus(ctx context.Context, id string) (providers.PayoutStatus, error) {
	return providers.PayoutStatus{State: providers.StateProcessed, UTR: "UTR" + id}, nil
}

// TestOrphansRecoveredAtStart: a dispatch job that an earlier process of
// this node left running is worked as soon as the next process starts; one
// that another node left running waits StuckAfter, and meanwhile the payout
// is listed as waiting for recovery with the time it will be checked.
func TestOrphansRecoveredAtStart(t *testing.T) {
	d, _ := newTestDB(t)
	d.Now = time.Now
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	var ids []string
	for _, acct := range []string{"50100012345671", "50100012345672"} {
		in := goodInput()
		in.AccountNo = acct
		po, _, err := p.Propose(ctx, maker, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, po.ID)
	}
	// Both jobs "running", as a kill -9 leaves them: the first by an
	// earlier process of node-a, the second by node-b, a minute ago.
	attempters := map[string]string{ids[0]: "node-a/20261206T090000.000000-0a0a0a", ids[1]: "node-b/20261206T090000.000000-0b0b0b"}
	jobs, err := queryAll(ctx, d.read, "jobs", func(s scanner) ([2]string, error) {
		var id, args string
		return [2]string{id, args}, s.Scan(&id, &args)
	}, `SELECT id, cast(args AS text) FROM river_job WHERE kind = 'payout_dispatch'`)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("jobs %v: %v", jobs, err)
	}
	for _, j := range jobs {
		payout := ids[0]
		if strings.Contains(j[1], ids[1]) {
			payout = ids[1]
		}
		if _, err := d.write.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
			attempted_at = datetime('now', '-60 seconds', 'subsec'), attempted_by = json_array(?) WHERE id = ?`,
			attempters[payout], j[0]); err != nil {
			t.Fatal(err)
		}
	}
	opts := fastDispatch()
	opts.Node, opts.StuckAfter, opts.JanitorEvery = "node-a", 10*time.Minute, time.Minute
	bank := &instantBank{}
	ds, err := NewDispatcher(d, p, map[string]providers.Payouts{SourceKotakCMS: bank}, opts)
	if err != nil {
		t.Fatal(err)
	}
	before, err := ds.AwaitingRecovery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 {
		t.Fatalf("awaiting recovery before the start: %v, want both", before)
	}
	if err := ds.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Kill() })
	waitFinal(t, p, ids[:1], 5*time.Second)
	got, _, _ := p.Get(ctx, ids[1])
	if got.State.Final() {
		t.Fatalf("another node's payout was taken before StuckAfter: %s", got.State)
	}
	after, err := ds.AwaitingRecovery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	due, ok := after[ids[1]]
	if len(after) != 1 || !ok {
		t.Fatalf("awaiting recovery after the start: %v, want only %s", after, ids[1])
	}
	if want := time.Now().Add(9 * time.Minute); due.Before(want.Add(-5*time.Second)) || due.After(want.Add(5*time.Second)) {
		t.Fatalf("checked at %v, want about %v (attempted a minute ago, StuckAfter 10 min)", due, want)
	}
}

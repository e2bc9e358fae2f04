package db

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/kspay"
	"paydesk/providers/sandboxkit"
)

// gatewayEnv is a database, the KS Pay sandbox over real HTTP with its own
// clock, a client with another, and a dispatcher running the gateway's jobs.
type gatewayEnv struct {
	d       *DB
	sb      *kspay.Sandbox
	sbClock *clock
	g       *Gateway
	maker   User
	ds      *Dispatcher
	p       *Payouts
	dopts   DispatchOptions
}

func newGatewayEnv(t *testing.T, clientTimeout time.Duration) *gatewayEnv {
	t.Helper()
	d, _ := newTestDB(t)
	d.Now = time.Now
	sbClock := &clock{t: time.Now()}
	sb := kspay.NewSandbox(kspay.SandboxConfig{Now: sbClock.Now, Seed: 3, TxnTTL: 24 * time.Hour})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cfg := kspay.DemoConfig(srv.URL)
	cfg.Timeout, cfg.RetryBackoff, cfg.ReadRetries = clientTimeout, time.Millisecond, 4
	c, err := kspay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGateway(d, kspay.NewAdapter(c), GatewayOptions{RedirectURL: "https://paydesk.example/gateway/return",
		NotFoundGrace: 500 * time.Millisecond, RetryAfter: 30 * time.Millisecond, StuckAfter: 3 * time.Second})
	if err := g.RefreshCatalogue(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, _ := newTestPayouts(t, d)
	e := &gatewayEnv{d: d, sb: sb, sbClock: sbClock, g: g, maker: mustCreateUser(t, d, "maker", RoleMaker), p: p}
	e.dopts = fastDispatch()
	e.dopts.StuckAfter = 3 * time.Second
	e.dopts.Jobs = []JobQueue{g.JobQueue()}
	e.start(t)
	t.Cleanup(func() { e.ds.Kill() })
	return e
}

func (e *gatewayEnv) start(t *testing.T) {
	t.Helper()
	ds, err := NewDispatcher(e.d, e.p, nil, e.dopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.ds = ds
}

func (e *gatewayEnv) initiate(t *testing.T, ref, amount string) GatewayTxn {
	t.Helper()
	tx, err := e.g.Initiate(context.Background(), e.maker, GatewayInput{Amount: amount, CurrencyID: kspay.CurrencyINR,
		MethodID: kspay.PMUPI, CustomerRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitOrders waits until every id has its order (processed at KS Pay).
func (e *gatewayEnv) waitOrders(t *testing.T, ids []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		open := 0
		var last GatewayTxn
		for _, id := range ids {
			tx, _, err := e.g.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if tx.Order == nil {
				open++
				last = tx
			}
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d transactions have no order after %v; one: %+v", open, len(ids), within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGatewayInitiatePaySync: a maker's transaction is initiated and
// processed in the background; the payer's forged "success" changes
// nothing; once the payer pays at the sandbox, a check by id and the sync
// mark it paid; a transaction made elsewhere is imported; the analytics and
// the inflows count it.
func TestGatewayInitiatePaySync(t *testing.T) {
	e := newGatewayEnv(t, 2*time.Second)
	ctx := context.Background()
	if _, err := e.g.Initiate(ctx, e.maker, GatewayInput{Amount: "10.001", CurrencyID: kspay.CurrencyINR, MethodID: kspay.PMCardUSD,
		CustomerRef: ""}); FieldErrors(err)["amount"] == "" || FieldErrors(err)["method"] == "" || FieldErrors(err)["customer_ref"] == "" {
		t.Fatalf("bad input: %v", err)
	}
	tx := e.initiate(t, "INV-77", "1499.50")
	if tx.Status != GatewayInitiating || tx.ReferenceNumber != tx.ID || tx.AmountMinor != 1499_50 {
		t.Fatalf("created %+v", tx)
	}
	e.waitOrders(t, []string{tx.ID}, 10*time.Second)
	tx, _, _ = e.g.Get(ctx, tx.ID)
	if tx.Status != GatewayPending || tx.ProviderTxnID == "" || tx.Order.Gateway != "RAZORPAY" || tx.Order.AmountMinor != 1499_50 ||
		tx.Order.UPIIntent == "" || tx.Order.CheckoutURL == "" {
		t.Fatalf("processed %+v order %+v", tx, tx.Order)
	}
	// A forged redirect: Check asks KS Pay, which says it is still pending.
	if err := e.g.Check(ctx, tx.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got, _, _ := e.g.Get(ctx, tx.ID); got.Status != GatewayPending || !got.PaidAt.IsZero() {
		t.Fatalf("forged redirect moved it: %+v", got)
	}
	// The payer pays two minutes later; a check by id sees it.
	e.sbClock.Advance(2 * time.Minute)
	if _, err := e.sb.Pay(tx.ProviderTxnID, true); err != nil {
		t.Fatal(err)
	}
	if err := e.g.Check(ctx, tx.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _, _ := e.g.Get(ctx, tx.ID)
		if got.Status == GatewayPaid && got.ProviderPaymentID != "" && !got.PaidAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never paid: %+v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Made elsewhere (straight at KS Pay), then failed there: the sync
	// imports it.
	other, err := e.g.prov.InitiatePayment(ctx, providers.GatewayPayment{ID: "ELSEWHERE-1", CurrencyID: kspay.CurrencyINR,
		PaymentMethodID: kspay.PMNetBanking, AmountPaise: 500_00})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sb.Pay(other.ID, false); err != nil {
		t.Fatal(err)
	}
	res, err := e.g.Sync(ctx)
	if err != nil || res.Imported != 1 || res.Seen != 2 {
		t.Fatalf("sync %+v, %v", res, err)
	}
	imp, _, err := e.g.Get(ctx, other.ID)
	if err != nil || imp.Origin != "imported" || imp.Status != GatewayFailed || imp.MethodName != "NET BANKING" {
		t.Fatalf("imported %+v, %v", imp, err)
	}
	if res, err := e.g.Sync(ctx); err != nil || res.Imported != 0 {
		t.Fatalf("second sync %+v, %v", res, err)
	}
	today, tomorrow := ISTDay(time.Now()), ISTDay(time.Now().Add(24*time.Hour))
	an, err := e.g.Analytics(ctx, today, tomorrow, "INR")
	if err != nil || len(an.Days) != 1 || an.Days[0].Txns != 2 || an.Days[0].Paid != 1 || an.Days[0].VolumeMinor != 1499_50 {
		t.Fatalf("analytics %+v, %v", an, err)
	}
	if an.Total.Paid != 1 || an.Total.Failed != 1 || len(an.Methods) != 2 {
		t.Fatalf("methods %+v", an.Methods)
	}
	for _, m := range an.Methods {
		if m.MethodID == kspay.PMUPI && (m.SuccessRate() != 10000 || m.AvgToPaid() < time.Minute || m.AvgToPaid() > 3*time.Minute) {
			t.Fatalf("UPI %+v rate %d avg %v", m, m.SuccessRate(), m.AvgToPaid())
		}
	}
	in, err := e.g.InflowsByDay(ctx, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil || len(in) != 1 || in[0].Paise != 1499_50 || in[0].Count != 1 {
		t.Fatalf("inflows %+v, %v", in, err)
	}
}

// TestGatewayTokenExpiry9009: KS Pay's clock runs past the access token's
// life while the client still trusts it; the next calls meet 9009, the
// client refreshes once and retries, and the transaction goes through
// without an error on it.
func TestGatewayTokenExpiry9009(t *testing.T) {
	e := newGatewayEnv(t, 2*time.Second)
	ctx := context.Background()
	first := e.initiate(t, "INV-1", "100")
	e.waitOrders(t, []string{first.ID}, 10*time.Second)
	before := e.sb.Stats()
	// Twenty minutes pass at KS Pay: tokens (15 min) and signatures (5 min)
	// are expired there, the client's clock has not moved.
	e.sbClock.Advance(20 * time.Minute)
	second := e.initiate(t, "INV-2", "200")
	e.waitOrders(t, []string{second.ID}, 10*time.Second)
	if err := e.g.Check(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Sync(ctx); err != nil {
		t.Fatalf("sync after expiry: %v", err)
	}
	after := e.sb.Stats()
	if after.Refreshes+after.TokensGenerated <= before.Refreshes+before.TokensGenerated || after.SignaturesIssued <= before.SignaturesIssued {
		t.Fatalf("no renewal seen: before %+v after %+v", before, after)
	}
	got, evs, _ := e.g.Get(ctx, second.ID)
	if got.LastError != "" || got.Attempts != 1 || got.Status != GatewayPending {
		t.Fatalf("the user sees %+v", got)
	}
	for _, ev := range evs {
		if ev.Kind == "unknown" || ev.Kind == "refused" {
			t.Fatalf("timeline shows %s: %s", ev.Kind, ev.Message)
		}
	}
}

// TestGatewayChaos: 1,000 initiations through about 30 % faults (5xx,
// hangs, answers dropped after the work, broken answers) while the worker
// is killed hard four times. Every reference ends with exactly one
// transaction at KS Pay, and KS Pay never saw an initiate for a reference
// it already held: each lost answer was asked about before anything else.
func TestGatewayChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("PAYDESK_CHAOS_N")); err == nil && v > 0 {
		n = v
	}
	e := newGatewayEnv(t, 200*time.Millisecond)
	ctx := context.Background()
	// Warm the credentials, then turn the faults on.
	warm := e.initiate(t, "WARM", "1")
	e.waitOrders(t, []string{warm.ID}, 10*time.Second)
	e.sb.Injector().Set(sandboxkit.Faults{Seed: 2026, ErrorRate: 0.08, HangRate: 0.08, DropRate: 0.07, MalformedRate: 0.07,
		HangFor: 400 * time.Millisecond})
	ids := make([]string, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				ids[i] = e.initiate(t, fmt.Sprintf("CH-%04d", i), fmt.Sprintf("%d.%02d", 100+i, i%100)).ID
			}
		}()
	}
	wg.Wait()
	for k := range 4 {
		time.Sleep(time.Duration(1200+300*k) * time.Millisecond)
		e.ds.Kill()
		e.start(t)
	}
	stop := make(chan struct{})
	go func() { // the janitor's part of the background loop
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
				_, _ = e.g.Sweep(ctx)
			}
		}
	}()
	e.waitOrders(t, ids, 120*time.Second)
	close(stop)
	counts := e.sb.Injector().Counts()
	e.sb.Injector().Set(sandboxkit.Faults{})
	injected := 0
	for f, c := range counts {
		if f != sandboxkit.NoFault {
			injected += c
		}
	}
	total := injected + counts[sandboxkit.NoFault]
	if total == 0 || float64(injected)/float64(total) < 0.25 {
		t.Fatalf("faults %v: too few to mean anything", counts)
	}
	perRef := map[string]int{}
	for _, tx := range e.sb.Transactions() {
		perRef[tx.ReferenceNumber]++
	}
	unknown, resent := 0, 0
	for _, id := range ids {
		tx, evs, _ := e.g.Get(ctx, id)
		if perRef[tx.ReferenceNumber] != 1 {
			t.Fatalf("reference %s has %d transactions at KS Pay", tx.ReferenceNumber, perRef[tx.ReferenceNumber])
		}
		if tx.Status != GatewayPending || tx.ProviderTxnID == "" {
			t.Fatalf("%s ended %+v", id, tx)
		}
		for _, ev := range evs {
			switch ev.Kind {
			case "unknown":
				unknown++
			case "resent":
				resent++
			}
		}
	}
	st := e.sb.Stats()
	if st.InitiateReplays != 0 {
		t.Fatalf("KS Pay saw %d initiates for references it already held", st.InitiateReplays)
	}
	if len(perRef) != n+1 {
		t.Fatalf("%d references at KS Pay for %d initiations", len(perRef), n+1)
	}
	t.Logf("%d initiations: faults %v (%.0f%% of %d requests), %d unknown outcomes, %d re-sent after not found, tokens %d, refreshes %d, signatures %d",
		n, counts, 100*float64(injected)/float64(total), total, unknown, resent, st.TokensGenerated, st.Refreshes, st.SignaturesIssued)
}

// The summaries follow every change a transaction can go through (its
// status, payment time, method, currency, amount or day): after a random run
// of inserts and updates, Analytics over any range and currency, and the
// inflows by day of payment, equal the same sums taken from the transactions
// themselves.
func TestGatewaySummaryFollowsEveryChange(t *testing.T) {
	d, _ := newTestDB(t)
	g := NewGateway(d, nil, GatewayOptions{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, IST).UnixMilli()
	methods := [][2]string{{"pm_UPI", "UPI"}, {"pm_CARD", "CARD"}, {"pm_NB", "NET BANKING"}}
	currencies := []string{"INR", "USD"}
	pick := func() (status string, paidAt any, method [2]string, currency string, amount, created int64) {
		status = string(GatewayStatuses[rng.IntN(len(GatewayStatuses))])
		created = base + rng.Int64N(10*24*3600*1000)
		if status == "paid" || rng.IntN(5) == 0 {
			paidAt = created + rng.Int64N(3600*1000) - 60_000 // now and then before it was created
		}
		return status, paidAt, methods[rng.IntN(len(methods))], currencies[rng.IntN(len(currencies))], 1 + rng.Int64N(100_000), created
	}
	for i := range 300 {
		status, paidAt, m, cur, amount, created := pick()
		if _, err := d.write.Exec(`INSERT INTO gateway_transactions (id, reference_number, currency_id, currency_code, method_id,
			method_name, amount_minor, status, origin, paid_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'paydesk', ?, ?, ?)`,
			fmt.Sprint("T", i), fmt.Sprint("R", i), "c_"+cur, cur, m[0], m[1], amount, status, paidAt, created, created); err != nil {
			t.Fatal(err)
		}
	}
	for range 600 {
		status, paidAt, m, cur, amount, created := pick()
		id := fmt.Sprint("T", rng.IntN(300))
		var err error
		switch rng.IntN(4) {
		case 0:
			_, err = d.write.Exec(`UPDATE gateway_transactions SET status = ?, paid_at = ? WHERE id = ?`, status, paidAt, id)
		case 1:
			_, err = d.write.Exec(`UPDATE gateway_transactions SET method_id = ?, method_name = ? WHERE id = ?`, m[0], m[1], id)
		case 2:
			_, err = d.write.Exec(`UPDATE gateway_transactions SET currency_code = ?, amount_minor = ? WHERE id = ?`, cur, amount, id)
		default:
			_, err = d.write.Exec(`UPDATE gateway_transactions SET created_at = ?, description = 'moved' WHERE id = ?`, created, id)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The balances page's inflows, by the day of payment.
	paidDays := func(q string) string {
		t.Helper()
		rows, err := d.read.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var day, cur string
			var n, amount int64
			if err := rows.Scan(&day, &cur, &n, &amount); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s %d %d\n", day, cur, n, amount)
		}
		return b.String()
	}
	got := paidDays(`SELECT day, currency_code, txns, amount_minor FROM gateway_paid_days WHERE txns <> 0 OR amount_minor <> 0 ORDER BY 1, 2`)
	want := paidDays(`SELECT date(paid_at / 1000, 'unixepoch', '+330 minutes'), currency_code, count(*), sum(amount_minor)
		FROM gateway_transactions WHERE status = 'paid' AND paid_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`)
	if got != want || want == "" {
		t.Errorf("paid days:\n%s\nwant:\n%s", got, want)
	}
	for _, r := range [][2]int{{0, 10}, {2, 5}, {9, 10}} {
		from := ISTDay(time.UnixMilli(base).AddDate(0, 0, r[0]))
		to := ISTDay(time.UnixMilli(base).AddDate(0, 0, r[1]))
		for _, cur := range currencies {
			got, err := g.Analytics(ctx, from, to, cur)
			if err != nil {
				t.Fatal(err)
			}
			const day = `date(created_at / 1000, 'unixepoch', '+330 minutes')`
			sums := `count(*), sum(status = 'paid'), sum(status IN ('failed', 'expired', 'refused')),
				sum(status IN ('initiating', 'unknown', 'pending')), sum(CASE WHEN status = 'paid' THEN amount_minor ELSE 0 END)`
			where := ` FROM gateway_transactions WHERE ` + day + ` >= ? AND ` + day + ` < ? AND currency_code = ?`
			wantDays := map[string]GatewayDayStat{}
			rows, err := d.read.Query(`SELECT `+day+`, `+sums+where+` GROUP BY 1`, from, to, cur)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s GatewayDayStat
				if err := rows.Scan(&s.Day, &s.Txns, &s.Paid, &s.Failed, &s.Open, &s.VolumeMinor); err != nil {
					t.Fatal(err)
				}
				wantDays[s.Day] = s
			}
			rows.Close()
			for _, s := range got.Days {
				if w := wantDays[s.Day]; w.Day == "" && s != (GatewayDayStat{Day: s.Day}) || w.Day != "" && s != w {
					t.Errorf("%s %s..%s day %s = %+v, want %+v", cur, from, to, s.Day, s, w)
				}
			}
			rows, err = d.read.Query(`SELECT method_id, `+sums+`, sum(CASE WHEN paid_at IS NOT NULL THEN max(paid_at - created_at, 0) ELSE 0 END)`+
				where+` GROUP BY method_id ORDER BY count(*) DESC, method_id`, from, to, cur)
			if err != nil {
				t.Fatal(err)
			}
			var want []GatewayMethodStat
			for rows.Next() {
				var m GatewayMethodStat
				if err := rows.Scan(&m.MethodID, &m.Txns, &m.Paid, &m.Failed, &m.Open, &m.VolumeMinor, &m.PaidMS); err != nil {
					t.Fatal(err)
				}
				want = append(want, m)
			}
			rows.Close()
			if len(got.Methods) != len(want) || len(want) == 0 {
				t.Fatalf("%s %s..%s methods = %+v, want %+v", cur, from, to, got.Methods, want)
			}
			for i, m := range got.Methods {
				m.Name = ""
				if m != want[i] {
					t.Errorf("%s %s..%s method %d = %+v, want %+v", cur, from, to, i, m, want[i])
				}
			}
		}
	}
}

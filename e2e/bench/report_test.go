package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"paydesk/db"
	"paydesk/providers"
)

// Knobs, all optional: PAYDESK_BENCH_ROWS (pending payouts, default
// 100000), PAYDESK_BENCH_SECONDS (each load run, default 10),
// PAYDESK_BENCH_WORKERS (closed-loop concurrency, default 16),
// PAYDESK_BENCH_RATE (the fixed open-loop rate, default 100 req/s),
// PAYDESK_BENCH_REPORT (also write the report to this file).
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// maxServerConns caps the connections the server may hold during an
// open-loop run (see openLoop).
const maxServerConns = 64

const (
	firstPage    = "/queue"
	filteredPage = "/queue?min=100000&max=500000&sort=amount" // ₹1,00,000–₹5,00,000, largest first
)

type phaseRSS struct {
	name       string
	peakKB     int64 // VmHWM at the end of the phase (reset at its start when possible)
	rssKB      int64 // VmRSS at the end
	heapInuse  uint64
	goroutines int
}

type report struct {
	b       strings.Builder
	phases  []phaseRSS
	reset   bool
	started time.Time
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *report) startPhase() { r.reset = resetPeakRSS() }

func (r *report) endPhase(name string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.phases = append(r.phases, phaseRSS{name: name, peakKB: peakRSSKB(), rssKB: rssKB(), heapInuse: ms.HeapInuse,
		goroutines: runtime.NumGoroutine()})
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
func mb(kb int64) string        { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

// TestBenchReport builds 100,000 pending payouts, serves the app on
// loopback and measures the queue pages (closed-loop req/s, open-loop
// latency from the scheduled send time), bulk approval of 1,000 items,
// validating a 10,000-row CSV, and peak RSS per phase; it prints one report.
func TestBenchReport(t *testing.T) {
	if os.Getenv("PAYDESK_BENCH") != "1" {
		t.Skip("load measurements take minutes and build a 100,000-payout database; run with PAYDESK_BENCH=1 (make bench)")
	}
	rows := envInt("PAYDESK_BENCH_ROWS", 100_000)
	dur := time.Duration(envInt("PAYDESK_BENCH_SECONDS", 10)) * time.Second
	workers := envInt("PAYDESK_BENCH_WORKERS", 16)
	fixedRate := float64(envInt("PAYDESK_BENCH_RATE", 100))
	r := &report{started: time.Now()}
	ctx := context.Background()

	r.printf("Paydesk bench: %s, GOMAXPROCS=%d, NumCPU=%d, %s/%s; server and load generator share this one process\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	r.endPhase("start")

	// 1. Fixture.
	r.startPhase()
	fx := newServer(t)
	fx.seedPayouts(t, rows, min(rows, db.MaxBatchRows))
	r.endPhase(fmt.Sprintf("fixture: %d payouts", rows))
	dbSize := fileSize(fx.DB.Path()) + fileSize(fx.DB.Path()+"-wal")
	r.printf("\n== Fixture\n")
	r.printf("%d pending payouts (1 maker, 2 checkers) via ProposeBatch in %d chunks: %s total (%.0f rows/s); chunks %s\n",
		rows, len(fx.Chunks), fx.BuildTime.Round(time.Millisecond), float64(rows)/fx.BuildTime.Seconds(), durList(fx.Chunks))
	r.printf("database + WAL on disk: %.0f MB\n", float64(dbSize)/(1<<20))

	// Every session the run needs is made now, before any load.
	c1 := newClient(fx.BaseURL, 64)
	c2 := newClient(fx.BaseURL, 4)
	cm := newClient(fx.BaseURL, 4)
	oc := newClient(fx.BaseURL, 64)
	clients := []*client{c1, c2, cm, oc}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	for _, x := range []struct {
		c    *client
		user string
	}{{c1, "checker1"}, {c2, "checker2"}, {cm, "maker"}} {
		if err := x.c.signIn(x.user); err != nil {
			t.Fatal(err)
		}
	}
	oc.hc.Jar, oc.csrf = c1.hc.Jar, c1.csrf
	// drain closes the clients' idle connections and waits until the server
	// has finished whatever its clients gave up on.
	drain := func() (time.Duration, bool) {
		for _, c := range clients {
			c.close()
		}
		return fx.Conns.waitIdle(5 * time.Minute)
	}
	t.Logf("fixture ready: %d payouts in %s", rows, fx.BuildTime.Round(time.Millisecond))
	for _, p := range []string{firstPage, filteredPage} {
		status, body, err := c1.get(ctx, p)
		if err != nil || status != 200 {
			t.Fatalf("GET %s: %d %v", p, status, err)
		}
		r.printf("GET %-42s %d, %d bytes of HTML, %d rows\n", p, status, len(body), strings.Count(string(body), `<tr id="`))
	}

	// 2. Where a queue page's time goes: the db calls it makes, timed
	// directly, and SQLite's plans for them.
	r.printf("\n== Queue page, db calls timed directly (median of 5, checker1, %d pending)\n", rows)
	r.dbTimings(t, fx)
	r.queryPlans(t, fx)

	// 3. Closed loop: capacity.
	r.startPhase()
	pages := []struct{ name, path string }{{"first page", firstPage}, {"filtered page", filteredPage}}
	capacity := map[string]closedResult{}
	for _, p := range pages {
		closedLoop(c1, p.path, workers, min(2*time.Second, dur)) // warm up
		capacity[p.name] = closedLoop(c1, p.path, workers, dur)
		t.Logf("closed loop %s: %.1f req/s", p.name, capacity[p.name].RPS)
	}
	drain()
	r.endPhase("closed-loop load")
	r.printf("\n== Closed loop: %d workers, %s each, GET over loopback HTTP (gzip), checker1's session\n", workers, dur)
	tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "page\treq/s\tok\terrors\tservice p50\tservice p99\tbytes/resp\t\n")
	for _, p := range pages {
		c := capacity[p.name]
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%d\t%s\t%s\t%d\t\n", p.name, c.RPS, c.OK, c.Errors, ms(c.P50), ms(c.P99), c.Bytes/int64(max(c.OK, 1)))
		if c.FirstErr != "" {
			fmt.Fprintf(tw, "  first error: %s\t\t\t\t\t\t\t\n", c.FirstErr)
		}
	}
	tw.Flush()

	// 4. Open loop: latency at fixed rates, from each request's scheduled
	// send time.
	r.startPhase()
	type run struct {
		page  string
		res   openResult
		drain time.Duration
	}
	var runs []run
	for _, p := range pages {
		rate60 := max(1, float64(int(0.6*capacity[p.name].RPS+0.5)))
		for _, rate := range []float64{rate60, fixedRate} {
			// At least 100 requests a run where that fits in 3× the duration.
			d := max(dur, min(3*dur, time.Duration(100/rate*float64(time.Second))))
			o := openLoop(oc, p.path, rate, d, 10*time.Second, 2000, func() bool { return fx.Conns.open.Load() >= maxServerConns })
			busy, _ := drain()
			t.Logf("open loop %s at %.0f/s: p50 %s p99 %s errors %d; server busy %s after", p.name, rate, ms(o.P50), ms(o.P99), o.Errors, busy.Round(time.Millisecond))
			runs = append(runs, run{p.name, o, busy})
		}
	}
	r.endPhase("open-loop load")
	r.printf("\n== Open loop: fixed schedule, latency from each request's scheduled send time; timeout 10 s, 64 client connections;\n")
	r.printf("a request is dropped (counted in errors and \"dropped\") when the server already holds %d connections, which bounds the work left behind)\n", maxServerConns)
	r.printf("(rate = 60%% of the closed-loop req/s, then a fixed %.0f req/s; a timed-out request counts at 10 s; \"server busy after\" = time the server\n", fixedRate)
	r.printf(" kept working on requests whose clients had given up, after the run ended; send lag = how late the driver sent, already inside the latency)\n")
	tw = tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "page\trate\tfor\tsent\tok\terrors\tachieved/s\tp50\tp90\tp99\tmax\tdropped\tmax in flight\tsend lag p99\tserver busy after\t\n")
	for _, x := range runs {
		o := x.res
		fmt.Fprintf(tw, "%s\t%.0f/s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", x.page, o.Rate, o.Duration.Round(100*time.Millisecond), o.Scheduled-o.Dropped, o.Completed, o.Errors,
			o.AchievedRPS, ms(o.P50), ms(o.P90), ms(o.P99), ms(o.Max), o.Dropped, o.MaxInFlight, ms(o.SendLagP99), x.drain.Round(100*time.Millisecond))
	}
	tw.Flush()
	for _, x := range runs {
		if x.res.FirstErr != "" {
			r.printf("  %s at %.0f/s, first error: %s\n", x.page, x.res.Rate, x.res.FirstErr)
		}
	}

	// 5. Bulk approval of 1,000 items, both ways the page offers.
	r.startPhase()
	r.printf("\n== Bulk approval: POST /queue/bulk decision=approve as htmx (fragment response), 1,000 items, each its own transaction\n")
	r.bulkApprove(t, fx, c2, c1)
	t.Logf("bulk approval done")
	r.endPhase("bulk approval")

	// 6. CSV validation of 10,000 rows.
	r.startPhase()
	r.printf("\n== CSV validation: 10,000 rows, all valid (%.0f KB)\n", float64(len(bulkCSV(csvRows)))/1024)
	br := testing.Benchmark(BenchmarkCSVValidate10k)
	r.printf("in process, encoding/csv + db.ValidatePayout (BenchmarkCSVValidate10k): %d ops, %s/op, %d allocs/op, %.1f MB/op, %.0f rows/s\n",
		br.N, ms(time.Duration(br.NsPerOp())), br.AllocsPerOp(), float64(br.AllocedBytesPerOp())/(1<<20), float64(csvRows)/time.Duration(br.NsPerOp()).Seconds())
	r.previewUploads(t, cm)
	t.Logf("CSV done")
	r.endPhase("CSV validation")

	// 7. What-if variants of the queue queries (last: ANALYZE writes).
	r.startPhase()
	r.whatIf(t, fx, c1, workers, dur/2)
	r.endPhase("what-if (ANALYZE, load)")

	// 8. Peak RSS.
	r.printf("\n== Memory (this process: server + load generator + fixture builder)\n")
	if !r.reset {
		r.printf("(could not reset VmHWM between phases: each peak is since process start)\n")
	}
	tw = tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase\tpeak RSS (VmHWM)\tRSS at end\tGo heap in use\tgoroutines\t\n")
	for _, p := range r.phases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f MB\t%d\t\n", p.name, mb(p.peakKB), mb(p.rssKB), float64(p.heapInuse)/(1<<20), p.goroutines)
	}
	tw.Flush()
	var peak int64
	for _, p := range r.phases {
		peak = max(peak, p.peakKB)
	}
	r.printf("peak RSS over the run: %s\n", mb(peak))
	r.printf("\ntotal wall time %s\n", time.Since(r.started).Round(time.Second))

	fmt.Print("\n" + r.b.String())
	if path := os.Getenv("PAYDESK_BENCH_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(r.b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func durList(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%.2fs", d.Seconds()))
	}
	return strings.Join(parts, " ")
}

func median(f func() error) (time.Duration, error) {
	var ds []time.Duration
	for range 5 {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[2], nil
}

func (r *report) dbTimings(t *testing.T, fx *fixture) {
	ctx := context.Background()
	u := fx.Checker1
	lo, hi := int64(1_00_000_00), int64(5_00_000_00)
	var waiting, matched int
	calls := []struct {
		name string
		f    func() error
	}{
		{"Approvals.CountWaiting (nav badge + page heading)", func() (err error) { waiting, err = fx.Srv.Approvals.CountWaiting(ctx, u); return }},
		{"Approvals.Queue first page (newest, 50)", func() error { _, _, err := fx.Srv.Approvals.Queue(ctx, u, db.QueueFilter{Limit: 50}); return err }},
		{"Approvals.Queue filtered (min/max, sort=amount, 50)", func() error {
			_, _, err := fx.Srv.Approvals.Queue(ctx, u, db.QueueFilter{MinPaise: &lo, MaxPaise: &hi, Sort: db.SortAmount, Limit: 50})
			return err
		}},
		{"Approvals.Proposed (mine, 50)", func() error { _, err := fx.Srv.Approvals.Proposed(ctx, u, 50); return err }},
		{"DB.ListUsers (maker filter)", func() error { _, err := fx.DB.ListUsers(ctx); return err }},
	}
	tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', 0)
	for _, c := range calls {
		d, err := median(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(tw, "%s\t%s\n", c.name, ms(d))
	}
	tw.Flush()
	rd := openReader(t, fx)
	if err := rd.QueryRow(`SELECT count(*) FROM approval_requests WHERE state = 'pending_approval' AND amount_paise BETWEEN ? AND ?`, lo, hi).Scan(&matched); err != nil {
		t.Fatal(err)
	}
	r.printf("waiting on checker1: %d; matching the filtered page's ₹1,00,000–₹5,00,000: %d\n", waiting, matched)
}

func openReader(t *testing.T, fx *fixture) *sql.DB {
	rd, err := sql.Open("sqlite3", "file:"+fx.DB.Path()+"?mode=ro&_query_only=true&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// The queue's SQL as db/approvals.go builds it (Queue, CountWaiting), for
// EXPLAIN QUERY PLAN; keep in step with waitingOn and requestColumns there.
const (
	planColumns = `r.id, r.kind, r.target_id, r.amount_paise, r.summary, r.payload, r.maker_id, m.username, m.display_name,
	r.state, coalesce(r.rule_id, 0), r.required_approvals, r.required_role, r.approvals, r.reason,
	r.created_at, coalesce(r.decided_at, 0), r.expires_at`
	planWaiting = ` WHERE r.state = 'pending_approval' AND r.expires_at > ? AND r.maker_id <> ?
		AND r.required_role IN (SELECT role FROM user_roles WHERE user_id = ?)
		AND EXISTS (SELECT 1 FROM users WHERE id = ? AND disabled = 0)
		AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = r.id AND d.user_id = ?)`
)

func (r *report) queryPlans(t *testing.T, fx *fixture) {
	rd := openReader(t, fx)
	now, id := time.Now().UnixMilli(), fx.Checker1.ID
	waitArgs := []any{now, id, id, id, id}
	plans := []struct {
		name string
		sql  string
		args []any
	}{
		{"CountWaiting", `SELECT count(*) FROM approval_requests r` + planWaiting, waitArgs},
		{"Queue first page", `SELECT ` + planColumns + ` FROM approval_requests r JOIN users m ON m.id = r.maker_id` + planWaiting +
			` ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, append(slices.Clone(waitArgs), 51)},
		{"Queue filtered", `SELECT ` + planColumns + ` FROM approval_requests r JOIN users m ON m.id = r.maker_id` + planWaiting +
			` AND r.amount_paise >= ? AND r.amount_paise <= ? ORDER BY coalesce(r.amount_paise, -1) DESC, r.id DESC LIMIT ?`,
			append(slices.Clone(waitArgs), 1_00_000_00, 5_00_000_00, 51)},
	}
	r.printf("EXPLAIN QUERY PLAN (SQL mirrored from db/approvals.go):\n")
	for _, p := range plans {
		rows, err := rd.Query("EXPLAIN QUERY PLAN "+p.sql, p.args...)
		if err != nil {
			t.Fatalf("explain %s: %v", p.name, err)
		}
		r.printf("  %s:\n", p.name)
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			r.printf("    %s\n", detail)
		}
		rows.Close()
		t0 := time.Now()
		qr, err := rd.Query(p.sql, p.args...)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for qr.Next() {
			n++
		}
		qr.Close()
		r.printf("    (runs in %s on a fresh read-only connection, %d rows)\n", ms(time.Since(t0)), n)
	}
}

var bulkSummary = regexp.MustCompile(`role="status">([^<]*)<`)

func (r *report) bulkApprove(t *testing.T, fx *fixture, c2, c1 *client) {
	ctx := context.Background()
	tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "how\twall time\titems/s\tresponse\toutcome\n")

	// all_matching=1 with a filter that matches exactly 1,000 items.
	form := url.Values{"decision": {"approve"}, "all_matching": {"1"}, "f_min": {allMatchingAmount}, "f_max": {allMatchingAmount}, "f_sort": {"newest"}}
	t0 := time.Now()
	status, body, err := c2.postForm(ctx, "/queue/bulk", form)
	d := time.Since(t0)
	if err != nil || status != 200 {
		t.Fatalf("bulk all_matching: %d %v %.300s", status, err, body)
	}
	fmt.Fprintf(tw, "all_matching=1, min=max=₹%s (checker2)\t%s\t%.0f\t%d KB\t%s\n", allMatchingAmount, d.Round(time.Millisecond),
		float64(rowsWith(fx.Pending))/d.Seconds(), len(body)/1024, summaryOf(body))

	// 1,000 explicit ids, as a selection would send them.
	amount, _ := providers.ParseAmount(byIDAmount)
	var ids []string
	f := db.QueueFilter{MinPaise: &amount, MaxPaise: &amount, Limit: 200}
	for {
		items, more, err := fx.Srv.Approvals.Queue(ctx, fx.Checker1, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			ids = append(ids, strconv.FormatInt(it.ID, 10))
		}
		if !more {
			break
		}
		f.After = items[len(items)-1].ID
	}
	if len(ids) != rowsWith(fx.Pending) {
		t.Fatalf("found %d items of %s, want %d", len(ids), byIDAmount, rowsWith(fx.Pending))
	}
	t0 = time.Now()
	status, body, err = c1.postForm(ctx, "/queue/bulk", url.Values{"decision": {"approve"}, "id": ids})
	d = time.Since(t0)
	if err != nil || status != 200 {
		t.Fatalf("bulk ids: %d %v %.300s", status, err, body)
	}
	fmt.Fprintf(tw, "%d ids (checker1)\t%s\t%.0f\t%d KB\t%s\n", len(ids), d.Round(time.Millisecond), float64(len(ids))/d.Seconds(),
		len(body)/1024, summaryOf(body))
	tw.Flush()
	r.printf("(each approval of a ≤ ₹10,00,000 payout completes it: state change, payout event, audit entries and the dispatch job insert, synchronous=FULL)\n")
}

func rowsWith(pending int) int { return pending / specialEvery }

func summaryOf(body []byte) string {
	if m := bulkSummary.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return "(no summary)"
}

func (r *report) previewUploads(t *testing.T, c *client) {
	raw := bulkCSV(csvRows)
	var ds []time.Duration
	for range 5 {
		t0 := time.Now()
		if err := previewUpload(c, raw); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	r.printf("over HTTP, POST /payouts/bulk/preview (multipart upload, real parse + validate + preview render, 5 runs): min %s, median %s, max %s\n",
		ms(ds[0]), ms(ds[2]), ms(ds[4]))
}

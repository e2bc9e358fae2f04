package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"paydesk/db"
)

// Knobs, all optional: PAYDESK_BENCH_ROWS (rows per list table, default
// 100000), PAYDESK_BENCH_SECONDS (each load run, default 3),
// PAYDESK_BENCH_WORKERS (closed-loop concurrency, default 16),
// PAYDESK_BENCH_RATE (the open-loop rate, default 1000 req/s),
// PAYDESK_BENCH_REPORT (also write the report to this file),
// PAYDESK_BENCH_PAGES (only these pages, comma-separated names),
// PAYDESK_BENCH_ONLY (only these sections, comma-separated: pages, search,
// bulk, csv, va, dispatch, binary; the closing table then covers only them),
// PAYDESK_BENCH_PROFILE (keep the CPU profiles of the page runs and of the
// first bulk decision, in files with this prefix), PAYDESK_BENCH_HEAP
// (write a heap profile at the end of each phase into this directory),
// PAYDESK_BENCH_HTML (write each page's HTML, as loaded, into this
// directory).
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func nowMS() int64 { return time.Now().UnixMilli() }

// maxServerConns caps the connections the server may hold during an
// open-loop run (see openLoop).
const maxServerConns = 64

type phaseRSS struct {
	name      string
	peakKB    int64 // VmHWM at the end of the phase (reset at its start when possible)
	rssKB     int64 // VmRSS at the end
	heapInuse uint64
	// livePeak is the most the Go heap held after a collection during the
	// phase, and atPeak what RSS was made of at its highest (phaseSampler).
	livePeak uint64
	atPeak   memorySample
	// goHeldKB is what the Go runtime holds from the OS (Sys less what it
	// returned); anonKB and fileKB split RSS at the end into anonymous
	// memory (Go's and C's: SQLite's caches, malloc) and file pages (the
	// binary's code).
	goHeldKB, anonKB, fileKB int64
	// sqliteKB is what SQLite has allocated (db.SQLiteMemory).
	sqliteKB   int64
	goroutines int
	threads    int64 // the process's OS threads at the end
}

// figure is one line of the closing table: what was measured against its
// goal.
type figure struct {
	name, goal, measured string
	met                  bool
}

type report struct {
	b       strings.Builder
	phases  []phaseRSS
	figures []figure
	reset   bool
	started time.Time
	sampler *phaseSampler
	// dbPath, once the fixture is settled, is the file each phase reads
	// into the page cache before it starts (warmFile); caches is what it
	// found.
	dbPath string
	warmed cacheState
	caches []cacheState
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

// peakProfile is where the phase sampler writes its heap profiles during a
// phase, when PAYDESK_BENCH_HEAP names a directory; endPhase gives the last
// one the phase's name.
func peakProfile() string {
	if dir := os.Getenv("PAYDESK_BENCH_HEAP"); dir != "" {
		return filepath.Join(dir, "live-peak.pprof")
	}
	return ""
}

func (r *report) startPhase(t *testing.T) {
	r.warmed = cacheState{}
	if r.dbPath != "" {
		st, err := warmFile(r.dbPath)
		if err != nil {
			t.Fatalf("warm the database file: %v", err)
		}
		r.warmed = st
	}
	r.reset = resetPeakRSS()
	r.sampler = samplePhase(peakProfile())
}

func (r *report) endPhase(name string) {
	var livePeak uint64
	var atPeak memorySample
	if r.warmed.size > 0 {
		r.warmed.phase = name
		r.caches = append(r.caches, r.warmed)
	}
	if f := r.sampler; f != nil {
		f.end()
		livePeak, atPeak, r.sampler = f.livePeak, f.atPeak, nil
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if dir := os.Getenv("PAYDESK_BENCH_HEAP"); dir != "" {
		file := strings.NewReplacer(" ", "-", ":", "", ",", "").Replace(name)
		_ = os.Rename(peakProfile(), filepath.Join(dir, file+".live-peak.pprof"))
		writeHeapProfile(filepath.Join(dir, file+".pprof"))
	}
	r.phases = append(r.phases, phaseRSS{name: name, peakKB: peakRSSKB(), rssKB: rssKB(), heapInuse: ms.HeapInuse, livePeak: livePeak, atPeak: atPeak,
		goHeldKB: int64(ms.Sys-ms.HeapReleased) >> 10, anonKB: procStatusKB("RssAnon"), fileKB: procStatusKB("RssFile"),
		sqliteKB:   db.SQLiteMemory() >> 10,
		goroutines: runtime.NumGoroutine(), threads: procStatusKB("Threads")})
}

// figure records a result for the closing table.
func (r *report) figure(name, goal, measured string, met bool) {
	r.figures = append(r.figures, figure{name, goal, measured, met})
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
func mb(kb int64) string        { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

// TestBenchReport builds 100,000 rows for every list page, serves the app
// on loopback and measures each page (the statements it runs with their
// plans, closed-loop req/s, open-loop latency at a fixed rate, against a
// static page from the same server), search, bulk decisions, CSV checks,
// background dispatch, cold start and memory; it prints one report that
// ends with every figure against its goal.
func TestBenchReport(t *testing.T) {
	if os.Getenv("PAYDESK_BENCH") != "1" {
		t.Skip("load measurements take minutes and build a 100,000-row database; run with PAYDESK_BENCH=1 (make bench)")
	}
	rows := envInt("PAYDESK_BENCH_ROWS", 100_000)
	dur := time.Duration(envInt("PAYDESK_BENCH_SECONDS", 3)) * time.Second
	workers := envInt("PAYDESK_BENCH_WORKERS", 16)
	rate := float64(envInt("PAYDESK_BENCH_RATE", 1000))
	r := &report{started: time.Now()}
	applyMemoryLimit()
	r.startPhase(t)

	r.printf("Paydesk bench: %s, GOMAXPROCS=%d, NumCPU=%d, %s/%s, load average at start %s;\n", runtime.Version(),
		runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, loadAverage())
	r.printf("server and load generator share this one process (the sign-in burst and cold start run the real binary)\n")
	r.endPhase("start")

	// 1. Fixture: 100,000 pending payouts through the store, then each
	// page's own rows.
	r.startPhase(t)
	fx := newServer(t)
	fx.seedPayouts(t, rows, min(rows, db.MaxBatchRows))
	pages := benchPages()
	if only := os.Getenv("PAYDESK_BENCH_PAGES"); only != "" {
		pages = slices.DeleteFunc(pages, func(p benchPage) bool { return !slices.Contains(strings.Split(only, ","), p.Name) })
	}
	sections := os.Getenv("PAYDESK_BENCH_ONLY")
	run := func(section string) bool {
		return sections == "" || slices.Contains(strings.Split(sections, ","), section)
	}
	seeded := map[string]time.Duration{}
	for _, p := range pages {
		if p.Seed != nil {
			t0 := time.Now()
			p.Seed(t, fx, rows)
			seeded[p.Name] = time.Since(t0)
		}
	}
	r.endPhase(fmt.Sprintf("fixture: %d rows per list", rows))
	r.printf("\n== Fixture\n")
	r.printf("%d pending payouts (1 maker, 2 checkers, 1 admin) via ProposeBatch in %d chunks: %s (%.0f rows/s)\n",
		rows, len(fx.Chunks), fx.BuildTime.Round(time.Millisecond), float64(rows)/fx.BuildTime.Seconds())
	for _, p := range pages {
		if d, ok := seeded[p.Name]; ok {
			r.printf("%s: %d rows seeded in %s\n", p.Name, rows, d.Round(time.Millisecond))
		}
	}
	r.printf("database + WAL on disk: %.0f MB\n", float64(fileSize(fx.DB.Path())+fileSize(fx.DB.Path()+"-wal"))/(1<<20))
	// Every phase starts from a settled database: the fixture's log copied
	// into the file, so that no phase pays for the background checkpoint of
	// what the fixture wrote (which one would depend on which sections run).
	t0 := time.Now()
	settleLog(t, fx.DB)
	r.printf("fixture's log copied into the database file before the first phase: %s\n", time.Since(t0).Round(time.Millisecond))
	r.dbPath = fx.DB.Path()
	t.Logf("fixture ready in %s", time.Since(r.started).Round(time.Second))

	sessions := fx.signInAll(t)
	defer sessions.close()

	if run("pages") {
		// 2. The static page: what the server and loopback manage without
		// any SQL or templates, the ceiling each page is compared with.
		r.startPhase(t)
		static := sessions.byName["checker1"]
		closedLoop(static, staticPath, workers, min(time.Second, dur))
		staticRes := closedLoop(static, staticPath, workers, dur)
		r.printf("\n== Static page: GET %s (%d KB of HTML, gzip as pages are; no session, SQL or template), %d workers, %s: %.0f req/s, p50 %s, p99 %s\n",
			staticPath, staticPageSize/1024, workers, dur, staticRes.RPS, ms(staticRes.P50), ms(staticRes.P99))

		// 3. Each page: its statements, then capacity under a CPU profile.
		prof := startProfile(t, "pages")
		results := make([]pageResult, 0, len(pages))
		for _, p := range pages {
			results = append(results, r.measurePage(t, fx, sessions.byName[p.As], p, workers, dur))
		}
		top := prof.stop(t)
		sessions.drain(fx)
		r.endPhase("closed-loop load")

		// 4. Open loop at a fixed rate.
		r.startPhase(t)
		for i := range results {
			r.openLoopPage(t, fx, sessions, &results[i], rate, dur)
		}
		r.endPhase("open-loop load")
		r.printPages(results, staticRes, workers, dur, rate)
		r.printf("\n== CPU profile of the closed-loop runs (all pages), top entries by cumulative time\n%s", top)
	}
	if run("search") {
		r.startPhase(t)
		r.search(t, fx)
		r.endPhase("search")
	}
	if run("csv") {
		r.startPhase(t)
		r.csv(t, sessions.byName["maker"])
		r.endPhase("CSV validation")
	}
	if run("binary") {
		// The real binary: cold start on this database, then a burst of
		// sign-ins and the memory it keeps. Before dispatch and bulk
		// decisions, so that the copy holds no queued jobs and idle means
		// idle.
		r.binary(t, fx)
	}
	if run("va") {
		r.startPhase(t)
		r.virtualAccounts(t, fx)
		r.endPhase("virtual accounts")
	}
	if run("links-csv") {
		r.startPhase(t)
		r.linksCSV(t, fx, sessions.byName["maker"])
		r.endPhase("payment link CSV")
	}
	if run("dispatch") {
		// Background dispatch to the in-process sandboxes.
		r.startPhase(t)
		r.dispatch(t, fx)
		r.endPhase("dispatch")
	}
	// After dispatch: the thousands of jobs bulk approval queues would
	// otherwise stand in front of the dispatch measurement's own.
	if run("bulk") {
		r.startPhase(t)
		r.bulkApprove(t, fx, sessions)
		r.endPhase("bulk decisions")
	}

	// 10. Memory of this process.
	r.printf("\n== Memory (this process: server + load generator + fixture builder; soft limit %s)\n", mb(memoryLimitKB()))
	if !r.reset {
		r.printf("(could not reset VmHWM between phases: each peak is since process start)\n")
	}
	tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase\tpeak RSS (VmHWM)\tRSS at end\tof it anonymous\tof it files\tGo heap live, peak\tGo heap in use\tGo holds from the OS\tSQLite holds\tgoroutines\tthreads\t\n")
	var peak, steady int64
	for _, p := range r.phases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.0f MB\t%s\t%s\t%d\t%d\t\n", p.name, mb(p.peakKB), mb(p.rssKB), mb(p.anonKB), mb(p.fileKB),
			mb(int64(p.livePeak>>10)), float64(p.heapInuse)/(1<<20), mb(p.goHeldKB), mb(p.sqliteKB), p.goroutines, p.threads)
		peak = max(peak, p.peakKB)
		if !strings.HasPrefix(p.name, "fixture") && p.name != "start" {
			steady = max(steady, p.peakKB)
		}
	}
	tw.Flush()
	r.printf("peak RSS over the run: %s; over the measured phases (after the fixture is built): %s\n", mb(peak), mb(steady))
	r.printf("\nwhat RSS was made of at each phase's highest sample (every 5 ms; VmHWM may catch a higher instant)\n")
	tw = tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase\tRSS\tfiles\tGo holds\tSQLite holds\tother anonymous (C allocator, stacks)\t\n")
	for _, p := range r.phases {
		m := p.atPeak
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", p.name, mb(m.rss>>10), mb((m.rss-m.anon)>>10), mb(m.goHeld>>10), mb(m.sqlite>>10), mb(m.other()>>10))
	}
	tw.Flush()
	r.figure("peak RSS of the bench process with 100,000 rows per list", "≤ 80 MB", mb(peak), peak <= 80*1024)

	r.printf("\n== The database file in the OS page cache at each phase's start (then read through it, so that every phase starts warm; see cache_test.go)\n")
	tw = tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase	file	cached before	read in	\n")
	for _, c := range r.caches {
		fmt.Fprintf(tw, "%s	%.0f MB	%.0f %%	%s	\n", c.phase, float64(c.size)/(1<<20), 100*c.resident, c.took.Round(time.Millisecond))
	}
	tw.Flush()

	total := time.Since(r.started)
	r.figure("make bench report wall time", "< 10 min", total.Round(time.Second).String(), total < 10*time.Minute)
	r.printf("\n== Figures against their goals\n")
	tw = tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tgoal\tmeasured\t\n")
	met := 0
	for _, f := range r.figures {
		verdict := "missed"
		if f.met {
			verdict, met = "met", met+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.name, f.goal, f.measured, verdict)
	}
	tw.Flush()
	r.printf("%d of %d met; total wall time %s\n", met, len(r.figures), total.Round(time.Second))

	fmt.Print("\n" + r.b.String())
	if path := os.Getenv("PAYDESK_BENCH_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(r.b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// settleLog copies the whole write-ahead log into the database file and
// truncates it, through the writer. The writer's busy timeout covers
// running reads but not the background checkpoint: while that one copies,
// SQLite refuses a second checkpoint at once, without waiting, so this
// tries again until settleWithin has passed.
func settleLog(tb testing.TB, d *db.DB) {
	tb.Helper()
	deadline := time.Now().Add(settleWithin)
	for {
		var busy, logPages, copied int
		if err := d.Writer().QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &copied); err != nil {
			tb.Fatalf("settle the log: %v", err)
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("settle the log: still busy after %s (a read or the background checkpoint held it)", settleWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settleWithin bounds settleLog's retries.
const settleWithin = 30 * time.Second

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"paydesk/db"
)

// staticPath is a 16 KB page the bench's app serves before any of
// Paydesk's middleware: no session, no SQL, no template. Its rate is what
// the server, loopback and load generator manage alone.
const (
	staticPath     = "/_bench/static"
	staticPageSize = 16 << 10
)

var staticPage = func() []byte {
	var b bytes.Buffer
	b.WriteString("<!doctype html><html><head><title>static</title></head><body><table>")
	for i := 0; b.Len() < staticPageSize-40; i++ {
		fmt.Fprintf(&b, "<tr><td>%06d</td><td>row</td></tr>", i)
	}
	b.WriteString("</table></body></html>")
	return b.Bytes()
}()

// defaultMemoryLimit is main.go's default soft memory limit; the bench runs
// the server in-process, so it sets the same, or what PAYDESK_MEMORY_LIMIT
// says (in MiB, as for the binary; the sign-in burst's binary inherits it).
const defaultMemoryLimit = 36 << 20

func memoryLimit() int64 {
	if mib, err := strconv.ParseInt(os.Getenv("PAYDESK_MEMORY_LIMIT"), 10, 64); err == nil && mib > 0 {
		return mib << 20
	}
	return defaultMemoryLimit
}

func applyMemoryLimit()    { debug.SetMemoryLimit(memoryLimit()) }
func memoryLimitKB() int64 { return memoryLimit() >> 10 }

// sessionSet is one signed-in client per bench user.
type sessionSet struct {
	byName map[string]*client
}

func (fx *fixture) signInAll(t *testing.T) *sessionSet {
	t.Helper()
	s := &sessionSet{byName: map[string]*client{}}
	for _, u := range []string{"checker1", "checker2", "maker", "admin"} {
		c := newClient(fx.BaseURL, 64)
		if err := c.signIn(u); err != nil {
			t.Fatal(err)
		}
		s.byName[u] = c
	}
	return s
}

func (s *sessionSet) close() {
	for _, c := range s.byName {
		c.close()
	}
}

// drain closes the clients' idle connections and waits until the server
// has finished whatever its clients gave up on.
func (s *sessionSet) drain(fx *fixture) time.Duration {
	s.close()
	d, _ := fx.Conns.waitIdle(5 * time.Minute)
	return d
}

// pageLoad is one URL of a page: one traced load, then its load runs.
type pageLoad struct {
	Path  string
	Bytes int
	Rows  int
	Stmts []db.Statement
	Plans [][]string
	// Rendered is the closed loop with the page cache off: every request
	// runs the page's statements and template. Closed and Open run as
	// production does, with the page cache on.
	Rendered closedResult
	Closed   closedResult
	Open     openResult
}

type pageResult struct {
	Page            benchPage
	First, Filtered pageLoad
}

// measurePage loads each URL once with the statement log on, explains
// every statement, and runs the closed loop twice: every page rendered (the
// page cache off), then as production serves it (the cache on).
func (r *report) measurePage(t *testing.T, fx *fixture, c *client, p benchPage, workers int, dur time.Duration) pageResult {
	t.Helper()
	res := pageResult{Page: p}
	for _, l := range []*pageLoad{&res.First, &res.Filtered} {
		if l == &res.First {
			l.Path = p.First
		} else {
			l.Path = p.Filtered
		}
		ctx := context.Background()
		fx.pageCache(false)
		// Once to warm SQLite's page cache, once traced.
		if _, _, err := c.get(ctx, l.Path); err != nil {
			t.Fatal(err)
		}
		fx.Log.Start()
		status, body, err := c.get(ctx, l.Path)
		l.Stmts = fx.Log.Stop()
		if err != nil || status != 200 {
			t.Fatalf("GET %s as %s: %d %v %.300s", l.Path, p.As, status, err, body)
		}
		l.Bytes, l.Rows = len(body), strings.Count(string(body), "<tr")
		keepHTML(t, p.Name, l == &res.First, body)
		for _, s := range l.Stmts {
			plan, err := fx.DB.ExplainQueryPlan(ctx, s)
			if err != nil {
				plan = []string{"(not explained: " + err.Error() + ")"}
			}
			l.Plans = append(l.Plans, plan)
		}
		closedLoop(c, l.Path, workers, min(time.Second, dur))
		l.Rendered = closedLoop(c, l.Path, workers, dur)
		fx.pageCache(true)
		closedLoop(c, l.Path, workers, min(time.Second, dur))
		l.Closed = closedLoop(c, l.Path, workers, dur)
		t.Logf("%s %s: %.0f req/s rendered, %.0f req/s as served", p.Name, l.Path, l.Rendered.RPS, l.Closed.RPS)
	}
	return res
}

// keepHTML writes a page as the bench loaded it into PAYDESK_BENCH_HTML, when
// set, to read what its bytes are spent on.
func keepHTML(t *testing.T, page string, first bool, body []byte) {
	dir := os.Getenv("PAYDESK_BENCH_HTML")
	if dir == "" {
		return
	}
	name := strings.ReplaceAll(page, " ", "-") + map[bool]string{true: ".first.html", false: ".filtered.html"}[first]
	if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (r *report) openLoopPage(t *testing.T, fx *fixture, s *sessionSet, res *pageResult, rate float64, dur time.Duration) {
	c := s.byName[res.Page.As]
	for _, l := range []*pageLoad{&res.First, &res.Filtered} {
		l.Open = openLoop(c, l.Path, rate, dur, 10*time.Second, 2000, func() bool { return fx.Conns.open.Load() >= maxServerConns })
		s.drain(fx)
		t.Logf("open loop %s at %.0f/s: p99 %s, %d errors", l.Path, rate, ms(l.Open.P99), l.Open.Errors)
	}
}

// printPages writes each page's statements and plans, then the load table,
// and records the figures.
func (r *report) printPages(results []pageResult, static closedResult, workers int, dur time.Duration, rate float64) {
	for _, res := range results {
		r.printf("\n== Page: %s (as %s)\n", res.Page.Name, res.Page.As)
		for _, l := range []pageLoad{res.First, res.Filtered} {
			var total time.Duration
			for _, s := range l.Stmts {
				total += s.Took
			}
			r.printf("GET %s: %d KB of HTML, %d table rows; %d statements, %s in SQLite\n", l.Path, l.Bytes/1024, l.Rows,
				len(l.Stmts), ms(total))
			for i, s := range l.Stmts {
				r.printf("  %8s  %-5s %s\n", ms(s.Took), s.Pool, clip(oneLine(s.SQL), 150))
				for _, step := range l.Plans[i] {
					r.printf("              %s\n", step)
				}
			}
		}
	}
	r.printf("\n== Pages under load: closed loop %d workers × %s; open loop %.0f req/s × %s (latency from the scheduled send time)\n",
		workers, dur, rate, dur)
	r.printf("static page: %.0f req/s closed loop, %s CPU per request; share = page req/s ÷ static req/s;\n", static.RPS, ms(static.CPU))
	r.printf("CPU/req = this process's CPU time per request, server and load generator together (2 cores ÷ CPU/req bounds req/s)\n")
	r.printf("rendered = the page cache off, so every request runs the page's statements and template; the other columns\n")
	r.printf("are as production serves (a page is kept while the database has not changed, for at most %s)\n", benchPageCacheTTL)
	tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	var dashboards []string
	fmt.Fprintf(tw, "page\tURL\trendered req/s\trendered CPU/req\treq/s\tshare\tCPU/req\tp50\tp99\topen p50\topen p99\topen max\terrors\tKB\t\n")
	for _, res := range results {
		for _, l := range []pageLoad{res.First, res.Filtered} {
			share := l.Closed.RPS / max(static.RPS, 1)
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%.0f\t%.0f%%\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", res.Page.Name, clip(l.Path, 48),
				l.Rendered.RPS, ms(l.Rendered.CPU), l.Closed.RPS, 100*share,
				ms(l.Closed.CPU), ms(l.Closed.P50), ms(l.Closed.P99), ms(l.Open.P50), ms(l.Open.P99), ms(l.Open.Max),
				l.Open.Errors+l.Closed.Errors+l.Rendered.Errors, l.Bytes/1024)
			which := "first page"
			if l.Path == res.Page.Filtered {
				which = "filtered page"
			}
			name := res.Page.Name + " " + which
			r.figure(name+", closed loop", "≥ 3,000 req/s", fmt.Sprintf("%.0f req/s", l.Closed.RPS), l.Closed.RPS >= 3000)
			if res.Page.Dashboard {
				dashboards = append(dashboards, fmt.Sprintf("%s %.0f %%", l.Path, 100*share))
			} else {
				r.figure(name+", share of the static page's rate", "≥ 60 %", fmt.Sprintf("%.0f %%", 100*share), share >= 0.6)
			}
			r.figure(fmt.Sprintf("%s, open loop %.0f req/s p99", name, rate), "≤ 10 ms, 0 errors",
				fmt.Sprintf("%s, %d errors", ms(l.Open.P99), l.Open.Errors), l.Open.P99 <= 10*time.Millisecond && l.Open.Errors == 0)
			if goal := res.Page.RenderedP99; goal > 0 {
				r.figure(fmt.Sprintf("%s, p99 rendered every time (%d workers)", name, workers), "≤ "+ms(goal),
					ms(l.Rendered.P99), l.Rendered.P99 <= goal)
			}
		}
	}
	tw.Flush()
	if len(dashboards) > 0 {
		r.printf("share without a goal (dashboards, not #14's list pages; their req/s and latency goals stand): %s\n",
			strings.Join(dashboards, ", "))
	}
	for _, res := range results {
		for _, l := range []pageLoad{res.First, res.Filtered} {
			if l.Open.FirstErr != "" || l.Closed.FirstErr != "" {
				r.printf("  %s first error: %s %s\n", l.Path, l.Closed.FirstErr, l.Open.FirstErr)
			}
		}
	}
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// cpuProfile is a CPU profile of part of the run.
type cpuProfile struct {
	path string
}

// startProfile profiles the CPU into PAYDESK_BENCH_PROFILE with part's name
// appended (kept for `go tool pprof`), or a temporary file.
func startProfile(t *testing.T, part string) *cpuProfile {
	p := &cpuProfile{path: os.Getenv("PAYDESK_BENCH_PROFILE")}
	if p.path == "" {
		p.path = t.TempDir() + "/cpu"
	}
	p.path += "." + part + ".pprof"
	f, err := os.Create(p.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return p
}

// stop ends the profile and returns `go tool pprof -top` of it: the
// entries with the most cumulative time, then by own time.
func (p *cpuProfile) stop(t *testing.T) string {
	pprof.StopCPUProfile()
	var out strings.Builder
	for _, args := range [][]string{{"-top", "-cum", "-nodecount=30"}, {"-top", "-nodecount=20"}} {
		cmd := exec.Command("go", append(append([]string{"tool", "pprof"}, args...), os.Args[0], p.path)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Sprintf("(go tool pprof failed: %v)\n", err)
		}
		lines := strings.Split(string(b), "\n")
		for _, l := range lines {
			if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
				continue
			}
			out.WriteString("  " + l + "\n")
		}
	}
	return out.String()
}

// searchRuns is how often each search runs: its p99 is then the 2nd
// slowest run, not the slowest (a collector pause).
const searchRuns = 200

// search times the list searches the issue names, straight on the store:
// contact search and the queue's text filter, over varied queries.
func (r *report) search(t *testing.T, fx *fixture) {
	ctx := context.Background()
	r.printf("\n== Search at %d contacts and %d pending requests (db calls, each query run %d times)\n", contactCount(t, fx), fx.Pending, searchRuns)
	tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "search\tquery\tmatches on page\tp50\tp99\n")
	var worstContacts, worstQueue time.Duration
	for _, q := range contactQueries {
		var n int
		lat := repeat(t, searchRuns, func() error {
			cs, _, err := fx.Srv.Contacts.List(ctx, db.ContactFilter{Query: q, Limit: 50})
			n = len(cs)
			return err
		})
		worstContacts = max(worstContacts, lat.p99)
		fmt.Fprintf(tw, "contacts\t%q\t%d\t%s\t%s\n", q, n, ms(lat.p50), ms(lat.p99))
	}
	for _, q := range queueQueries {
		var n int
		lat := repeat(t, searchRuns, func() error {
			items, _, err := fx.Srv.Approvals.Queue(ctx, fx.Checker1, db.QueueFilter{Query: q.text, Sort: q.sort, Limit: 50})
			n = len(items)
			return err
		})
		worstQueue = max(worstQueue, lat.p99)
		label := fmt.Sprintf("%q", q.text)
		if q.sort != "" {
			label += ", sort=" + string(q.sort)
		}
		fmt.Fprintf(tw, "queue\t%s\t%d\t%s\t%s\n", label, n, ms(lat.p50), ms(lat.p99))
	}
	tw.Flush()
	r.figure("contact search at 100,000 contacts, worst p99", "≤ 2 ms", ms(worstContacts), worstContacts <= 2*time.Millisecond)
	r.figure("queue text filter at 100,000 requests, worst p99", "≤ 2 ms", ms(worstQueue), worstQueue <= 2*time.Millisecond)
}

var contactQueries = []string{"sharma", "Iyer &", "o'brien", "शर्मा", "ராவ்", "asha menon", "CTB000004242", "000000079190", "HDFC0004242", "zzz"}

// queueQueries are the queue's text filters timed, newest first unless a
// sort is given: two common words rarely together walk the most rows.
var queueQueries = []struct {
	text string
	sort db.QueueSort
}{
	{"invoice 1042", ""}, {"asha", ""}, {"Invoice 9", ""}, {"meera kumar", ""}, {"meera kumar", db.SortAmount},
	{"meera kumar", db.SortOldest}, {"PO", ""}, {"zzz", ""},
}

func contactCount(t *testing.T, fx *fixture) int {
	var n int
	if err := fx.DB.Writer().QueryRow(`SELECT count(*) FROM contacts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type latencies struct{ p50, p99 time.Duration }

func repeat(t *testing.T, n int, f func() error) latencies {
	ds := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return latencies{quantile(ds, 0.5), quantile(ds, 0.99)}
}

// writeHeapProfile keeps what the heap holds now (PAYDESK_BENCH_HEAP), for
// `go tool pprof -sample_index=inuse_space`.
func writeHeapProfile(path string) {
	runtime.GC()
	writeLastGCHeapProfile(path)
}

// writeLastGCHeapProfile keeps what the heap held at the end of the last
// collection, without collecting.
func writeLastGCHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.WriteHeapProfile(f)
}

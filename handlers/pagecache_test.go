package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"paydesk/db"
)

// getGzip loads path as a browser does (gzip accepted) and returns the
// status and the decompressed body.
func (c *client) getGzip(path string, headers ...string) (int, string) {
	c.e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	resp, err := c.e.app.Test(req, -1)
	if err != nil {
		c.e.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return resp.StatusCode, string(raw)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		c.e.t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestPageCacheServesOnlyWhatTheDatabaseStillHolds: a page is served again
// only to the same session, for the same address and htmx shape, while
// nothing was written and for at most the TTL; a write anywhere renders it
// anew.
func TestPageCacheServesOnlyWhatTheDatabaseStillHolds(t *testing.T) {
	e := newTestEnv(t, false)
	e.srv.Pages = NewPageCache(time.Minute, 1<<20)
	admin, checker := e.client(), e.client()
	admin.signIn("admin")
	checker.signIn("checker")

	_, first := admin.getGzip("/payouts")
	hits0, _ := e.srv.Pages.Stats()
	_, again := admin.getGzip("/payouts")
	if hits, _ := e.srv.Pages.Stats(); hits != hits0+1 || again != first {
		t.Fatalf("an unchanged page was not served from the cache (hits %d → %d, same body %v)", hits0, hits, again == first)
	}

	// Another session never gets this one's page (its CSRF token).
	_, theirs := checker.getGzip("/payouts")
	if m := csrfPattern.FindStringSubmatch(theirs); m == nil || m[1] != checker.csrf {
		t.Fatalf("the checker got a page without their own token")
	}

	// An htmx request is its own entry: it may be answered with a fragment.
	hitsBefore, _ := e.srv.Pages.Stats()
	admin.getGzip("/payouts", "HX-Request", "true")
	if hits, _ := e.srv.Pages.Stats(); hits != hitsBefore {
		t.Fatal("an htmx request was answered with the cached whole page")
	}

	// A write anywhere: the next load is rendered and shows it.
	maker, err := e.db.UserByUsername(context.Background(), "maker")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.srv.Payouts.Propose(context.Background(), maker, db.PayoutInput{BeneficiaryName: "Kaveri Cache Test",
		AccountNo: "50100012345678", IFSC: "HDFC0001234", Amount: "5000", Rail: "NEFT", Source: db.SourceKotakCMS, Purpose: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, after := admin.getGzip("/payouts"); !strings.Contains(after, "Kaveri Cache Test") {
		t.Fatal("after a write the cached page was served")
	}

	// Errors are never kept.
	hitsBefore, _ = e.srv.Pages.Stats()
	for range 2 {
		if status, _ := admin.getGzip("/payouts/PONOSUCHPAYOUT"); status != http.StatusNotFound {
			t.Fatalf("status %d", status)
		}
	}
	if hits, _ := e.srv.Pages.Stats(); hits != hitsBefore {
		t.Fatal("an error page was served from the cache")
	}

	// The TTL bounds what depends on the clock.
	e.srv.Pages = NewPageCache(time.Millisecond, 1<<20)
	admin.getGzip("/payouts")
	time.Sleep(5 * time.Millisecond)
	admin.getGzip("/payouts")
	if hits, misses := e.srv.Pages.Stats(); hits != 0 || misses != 2 {
		t.Fatalf("past the TTL: %d hits, %d misses", hits, misses)
	}
}

// TestPageCacheRendersOncePerVersion: requests that miss while the same
// page is being rendered for the same data version wait for that render
// and are served what it kept; a newer version renders anew, and a render
// that kept nothing sends those waiting to render their own.
func TestPageCacheRendersOncePerVersion(t *testing.T) {
	pc := NewPageCache(time.Minute, 1<<20)
	now := time.Now()
	_, _, first := pc.lookup("k", 1, now)
	if first == nil {
		t.Fatal("the first miss was not asked to render")
	}
	_, wait, lead := pc.lookup("k", 1, now)
	if wait != first || lead != nil {
		t.Fatal("a second miss for the same version did not wait on the render under way")
	}
	_, wait2, newer := pc.lookup("k", 2, now)
	if wait2 != nil || newer == nil {
		t.Fatal("a miss for a newer version waited on a render of older data")
	}

	got := make(chan *cachedPage)
	go func() { got <- pc.await(context.Background(), wait) }()
	kept := &cachedPage{key: "k", version: 1, at: now, body: []byte("page")}
	pc.finish(first, kept)
	if p := <-got; p != kept {
		t.Fatal("the waiting request was not served the page rendered for it")
	}
	// The older render ending does not end the newer one.
	if _, wait, _ := pc.lookup("k", 2, now); wait != newer {
		t.Fatal("the newer render was forgotten when the older one finished")
	}

	go func() { got <- pc.await(context.Background(), newer) }()
	pc.finish(newer, nil)
	if p := <-got; p != nil {
		t.Fatal("a render that kept nothing handed out a page")
	}
	if hits, misses := pc.Stats(); hits != 1 || misses != 2 {
		t.Fatalf("%d hits, %d misses; want 1 and 2", hits, misses)
	}

	// A request whose context ends stops waiting.
	_, _, r := pc.lookup("k", 3, now)
	_, wait, _ = pc.lookup("k", 3, now)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p := pc.await(ctx, wait); p != nil {
		t.Fatal("a request that gave up was handed a page")
	}
	pc.finish(r, nil)
}

// TestPageCacheConcurrentLoadsGetTheWholePage: many loads of one page at
// once, some of them waiting on another's render, all get the whole,
// current page (run with -race).
func TestPageCacheConcurrentLoadsGetTheWholePage(t *testing.T) {
	e := newTestEnv(t, false)
	e.srv.Pages = NewPageCache(time.Minute, 1<<20)
	admin := e.client()
	admin.signIn("admin")
	_, want := admin.getGzip("/payouts") // cached; the write below makes it old
	e.propose(t, "maker", 5000_00)
	_, misses0 := e.srv.Pages.Stats()
	const loads = 16
	bodies := make(chan string, loads)
	for range loads {
		go func() {
			var body string
			defer func() { bodies <- body }() // also when getGzip fails the test
			_, body = admin.getGzip("/payouts")
		}()
	}
	for range loads {
		if body := <-bodies; !strings.Contains(body, "Acme Traders") || len(body) < len(want) {
			t.Fatal("a load that shared a render did not get the whole, current page")
		}
	}
	if _, misses := e.srv.Pages.Stats(); misses == misses0 {
		t.Fatal("the page made old by a write was not rendered again")
	}
}

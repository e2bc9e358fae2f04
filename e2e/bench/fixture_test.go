package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"

	"paydesk/db"
	"paydesk/handlers"
	"paydesk/static"
)

const benchPassword = "correct-horse-battery-9"

// Amounts that only the bulk-approval rows carry (random rows are whole
// rupees), so a min=max filter matches exactly those rows.
const (
	allMatchingAmount = "7777.77" // approved with all_matching=1
	byIDAmount        = "8888.88" // approved by 1,000 explicit ids
	specialEvery      = 100       // one of each per 100 rows: 1,000 of each in 100,000
)

// fixture is a Paydesk server over a fresh database, listening on loopback.
type fixture struct {
	DB       *db.DB
	Srv      *handlers.Server
	App      *fiber.App
	BaseURL  string
	Maker    db.User
	Checker1 db.User
	Checker2 db.User
	Admin    db.User
	Pending  int
	Conns    *countingListener
	// Log records the statements a page runs (the report turns it on for
	// one load of each page).
	Log       *db.StatementLog
	BuildTime time.Duration   // proposing the payouts, all chunks
	Chunks    []time.Duration // each ProposeBatch call
	// pages is the page cache production runs with (main.go's default).
	pages *handlers.PageCache
}

// benchPageCacheTTL is main.go's default PAYDESK_PAGE_CACHE.
const benchPageCacheTTL = time.Second

// pageCache turns the page cache on or off between load runs (never while
// requests are in flight).
func (fx *fixture) pageCache(on bool) {
	fx.Srv.Pages = nil
	if on {
		fx.Srv.Pages = fx.pages
	}
}

// newServer opens a database in a temp dir, creates the demo users and
// serves the real app on 127.0.0.1 through net.Listener (not app.Test).
func newServer(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	log := &db.StatementLog{}
	d, err := db.Open(ctx, filepath.Join(tb.TempDir(), "bench.db"), db.WithStatementLog(log))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	assets, err := static.Load()
	if err != nil {
		tb.Fatal(err)
	}
	approvals := db.NewApprovals(d, 0)
	payouts := db.NewPayouts(d, approvals)
	// As main.go wires them, without providers: contacts are kept here only
	// and requests for payment wait, queued.
	contacts := db.NewContacts(d, approvals)
	collections := db.NewCollections(d, nil)
	hasher := db.NewHasher(2)
	// Not started: the payouts page asks it what waits for recovery, as in
	// production.
	dispatcher, err := db.NewDispatcher(d, payouts, nil, db.DispatchOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	srv := &handlers.Server{
		DB: d, Approvals: approvals, Payouts: payouts, Contacts: contacts, Collections: collections, Hasher: hasher, Assets: assets,
		Recovery: dispatcher, SecondFactor: db.NewSecondFactor(d, approvals, []byte(strings.Repeat("s", 32))),
		Sessions: handlers.NewSessionStore(d, handlers.SessionOptions{HashKey: []byte(strings.Repeat("b", 32)),
			Idle: 30 * time.Minute, Absolute: 12 * time.Hour}),
		// The request log is formatted as in production, then dropped.
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	fx := &fixture{DB: d, Srv: srv, Log: log, pages: handlers.NewPageCache(benchPageCacheTTL, 8<<20)}
	srv.Pages = fx.pages
	for _, u := range []struct {
		dst  *db.User
		in   db.NewUser
		role db.Role
	}{
		{&fx.Maker, db.NewUser{Username: "maker", DisplayName: "Mira Maker"}, db.RoleMaker},
		{&fx.Checker1, db.NewUser{Username: "checker1", DisplayName: "Chetan Checker"}, db.RoleChecker},
		{&fx.Checker2, db.NewUser{Username: "checker2", DisplayName: "Charu Checker"}, db.RoleChecker},
		{&fx.Admin, db.NewUser{Username: "admin", DisplayName: "Anil Admin"}, db.RoleAdmin},
	} {
		u.in.Password, u.in.Roles = benchPassword, []db.Role{u.role}
		if *u.dst, err = d.CreateUser(ctx, hasher, db.SystemActor, u.in); err != nil {
			tb.Fatal(err)
		}
	}
	// The static page comes before Routes: no session, no SQL, no template,
	// but compressed as pages are.
	fx.App = fiber.New(srv.AppConfig())
	fx.App.Get(staticPath, compress.New(compress.Config{Level: compress.LevelDefault}), func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		return c.Send(staticPage)
	})
	handlers.Routes(fx.App, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	fx.BaseURL = "http://" + ln.Addr().String()
	fx.Conns = &countingListener{Listener: ln}
	done := make(chan error, 1)
	go func() { done <- fx.App.Listener(fx.Conns) }()
	tb.Cleanup(func() {
		_ = fx.App.ShutdownWithTimeout(5 * time.Second)
		<-done
	})
	return fx
}

// countingListener counts the server's open connections, so a run can wait
// until the server has finished the requests its clients gave up on.
type countingListener struct {
	net.Listener
	open atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// waitIdle waits, at most limit, until the server holds no connection (the
// clients having closed theirs), and returns how long that took.
func (l *countingListener) waitIdle(limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	for l.open.Load() > 0 {
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), true
}

// seedPayouts proposes n pending payouts as the maker through ProposeBatch,
// chunk rows at a time, and records how long it took.
func (fx *fixture) seedPayouts(tb testing.TB, n, chunk int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(2026, 11))
	start := time.Now()
	for done := 0; done < n; done += chunk {
		rows := make([]db.PayoutInput, 0, min(chunk, n-done))
		for i := done; i < done+cap(rows); i++ {
			rows = append(rows, payoutRow(rng, i))
		}
		t0 := time.Now()
		if _, err := fx.Srv.Payouts.ProposeBatch(context.Background(), fx.Maker, rows); err != nil {
			tb.Fatalf("ProposeBatch rows %d..%d: %v (fields %v)", done, done+len(rows), err, firstFields(db.FieldErrors(err)))
		}
		fx.Chunks = append(fx.Chunks, time.Since(t0))
	}
	fx.BuildTime = time.Since(start)
	fx.Pending += n
}

func firstFields(m map[string]string) string {
	var b strings.Builder
	for k, v := range m {
		if b.Len() > 300 {
			break
		}
		fmt.Fprintf(&b, "%s=%q ", k, v)
	}
	return b.String()
}

// payoutRow is row i of the fixture: a valid payout whose amount is a whole
// number of rupees from ₹100 to ₹25,00,000 (so about 60% need two checkers),
// except that every 100th row carries allMatchingAmount and the next one
// byIDAmount.
func payoutRow(rng *rand.Rand, i int) db.PayoutInput {
	amount := strconv.Itoa(100 + rng.IntN(25_00_000-100+1))
	switch i % specialEvery {
	case 7:
		amount = allMatchingAmount
	case 8:
		amount = byIDAmount
	}
	rail := "NEFT"
	if a, _ := strconv.Atoi(amount); a >= 2_00_000 && rng.IntN(2) == 0 {
		rail = "RTGS"
	}
	source := "kotakcms"
	if i%3 == 0 {
		source = "paymate"
	}
	return db.PayoutInput{
		BeneficiaryName: beneficiaryName(rng),
		AccountNo:       fmt.Sprintf("%012d", rng.Int64N(1e12)),
		IFSC:            fmt.Sprintf("%s0%06d", []string{"HDFC", "ICIC", "SBIN", "KKBK", "UTIB"}[rng.IntN(5)], rng.IntN(1e6)),
		Amount:          amount, Rail: rail, Source: source,
		Purpose: fmt.Sprintf("Invoice %d", 10000+i),
	}
}

func beneficiaryName(rng *rand.Rand) string {
	first := []string{"Asha", "Ravi", "Meera", "Arjun", "Kavya", "Rohan", "Divya", "Sanjay", "Priya", "Vikram"}
	last := []string{"Traders", "Enterprises", "Kumar", "Sharma", "Logistics", "Textiles", "Foods", "Iyer", "Rao", "Exports"}
	return first[rng.IntN(len(first))] + " " + last[rng.IntN(len(last))]
}

// client is a browser stand-in over real HTTP: a cookie jar, the session's
// CSRF token, and a connection pool sized for the load it drives.
type client struct {
	hc   *http.Client
	base string
	csrf string
}

func newClient(base string, maxConns int) *client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     time.Minute,
		// Go asks for gzip and unpacks it, as a browser would.
	}
	return &client{base: base, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

var csrfPattern = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// do sends req and returns the status and body, picking up a CSRF token.
func (c *client) do(req *http.Request) (int, []byte, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if m := csrfPattern.FindSubmatch(body); m != nil {
		c.csrf = string(m[1])
	}
	return resp.StatusCode, body, nil
}

func (c *client) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	return c.do(req)
}

// getDiscard is the load generator's GET: the body is read and dropped.
func (c *client) getDiscard(ctx context.Context, path string) (int, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, n, err
}

// postForm posts form as htmx does: CSRF in X-CSRF-Token, HX-Request set.
func (c *client) postForm(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("HX-Request", "true")
	return c.do(req)
}

func (c *client) signIn(username string) error {
	ctx := context.Background()
	if _, _, err := c.get(ctx, "/login"); err != nil {
		return err
	}
	if c.csrf == "" {
		return errors.New("no CSRF token on /login")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/login",
		strings.NewReader(url.Values{"_csrf": {c.csrf}, "username": {username}, "password": {benchPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, _, err := c.do(req)
	if err != nil {
		return err
	}
	if status != http.StatusSeeOther {
		return fmt.Errorf("sign in %s: status %d", username, status)
	}
	if status, _, err = c.get(ctx, "/"); err != nil || status != http.StatusOK {
		return fmt.Errorf("home after sign-in: %d %v", status, err)
	}
	return nil
}

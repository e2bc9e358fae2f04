package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/static"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testEnv struct {
	t     testing.TB
	app   *fiber.App
	srv   *Server
	db    *db.DB
	clock *testClock
}

const testPassword = "correct-horse-battery-9"

var testHasher = db.NewHasher(4)

func newTestEnv(t testing.TB, production bool) *testEnv {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	clk := &testClock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	d.Now = clk.Now
	assets, err := static.Load()
	if err != nil {
		t.Fatal(err)
	}
	approvals := db.NewApprovals(d, 0)
	payouts := db.NewPayouts(d, approvals)
	srv := &Server{
		DB: d, Approvals: approvals, Payouts: payouts, Contacts: db.NewContacts(d, approvals), Hasher: testHasher, Assets: assets,
		Sessions: NewSessionStore(d, SessionOptions{HashKey: []byte(strings.Repeat("k", 32)), Secure: production,
			Idle: 30 * time.Minute, Absolute: 12 * time.Hour}),
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Config: Config{Production: production},
		// No PayMate: requests are made and wait, queued.
		Collections:  db.NewCollections(d, nil),
		SecondFactor: db.NewSecondFactor(d, approvals, []byte(strings.Repeat("s", 32))),
		// No bank: approved virtual-account changes wait.
		VirtualAccounts: db.NewVirtualAccounts(d, approvals, nil, db.VAOptions{Prefix: "90909010"}),
	}
	for _, u := range []db.NewUser{
		{Username: "admin", DisplayName: "Admin", Password: testPassword, Roles: []db.Role{db.RoleAdmin}},
		{Username: "checker", DisplayName: "Checker", Password: testPassword, Roles: []db.Role{db.RoleChecker}},
		{Username: "maker", DisplayName: "Maker", Password: testPassword, Roles: []db.Role{db.RoleMaker}},
	} {
		if _, err := d.CreateUser(context.Background(), testHasher, db.SystemActor, u); err != nil {
			t.Fatal(err)
		}
	}
	return &testEnv{t: t, app: NewApp(srv), srv: srv, db: d, clock: clk}
}

// client is a cookie-keeping browser stand-in.
type client struct {
	e       *testEnv
	cookies map[string]*http.Cookie
	csrf    string
}

func (e *testEnv) client() *client { return &client{e: e, cookies: map[string]*http.Cookie{}} }

var csrfPattern = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) (*http.Response, string) {
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	resp, err := c.e.app.Test(req, -1)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	body, _ := io.ReadAll(resp.Body)
	if m := csrfPattern.FindSubmatch(body); m != nil {
		c.csrf = string(m[1])
	}
	return resp, string(body)
}

func (c *client) get(path string, headers ...string) (*http.Response, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values, headers ...string) (*http.Response, string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

func (c *client) signIn(username string) *http.Response {
	c.e.t.Helper()
	c.get("/login")
	resp, _ := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {username}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("sign in %s: status %d", username, resp.StatusCode)
	}
	c.get("/") // pick up the new session's CSRF token
	return resp
}

func (c *client) sessionCookie() *http.Cookie { return c.cookies[c.e.srv.Sessions.CookieName()] }

func TestSecurityHeadersOnEveryKindOfResponse(t *testing.T) {
	for _, production := range []bool{false, true} {
		e := newTestEnv(t, production)
		c := e.client()
		paths := []string{"/login", "/no-such-page", "/healthz", "/static/" + strings.TrimPrefix(e.srv.Assets.URL("app.css"), "/static/")}
		for _, p := range paths {
			resp, _ := c.get(p)
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %q", p, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("%s: CSP allows unsafe: %q", p, csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Request-Id") == "" {
				t.Errorf("%s: headers %v", p, h)
			}
			if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != production {
				t.Errorf("%s production=%v: HSTS %q", p, production, hsts)
			}
		}
	}
}

func TestCookieFlags(t *testing.T) {
	for _, production := range []bool{false, true} {
		e := newTestEnv(t, production)
		c := e.client()
		resp, _ := c.get("/login")
		var ck *http.Cookie
		for _, x := range resp.Cookies() {
			ck = x
		}
		if ck == nil {
			t.Fatal("no session cookie on the login page")
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("production=%v: cookie %+v", production, ck)
		}
		if ck.Secure != production || strings.HasPrefix(ck.Name, "__Host-") != production {
			t.Errorf("production=%v: Secure=%v name=%q", production, ck.Secure, ck.Name)
		}
		// The cookie carries a signed id only: no user data.
		if len(ck.Value) > 200 || strings.Contains(ck.Value, "admin") {
			t.Errorf("cookie value looks like data: %q", ck.Value)
		}
	}
}

func TestCSRFRefusal(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.get("/login")
	form := url.Values{"username": {"admin"}, "password": {testPassword}}
	if resp, _ := c.post("/login", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without token: %d", resp.StatusCode)
	}
	form.Set("_csrf", "forged-token")
	if resp, _ := c.post("/login", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login with a forged token: %d", resp.StatusCode)
	}
	c.signIn("admin")
	// A signed-in POST without the token changes nothing.
	resp, _ := c.post("/admin/users", url.Values{"username": {"zed"}, "display_name": {"Z"}, "password": {testPassword}, "roles": {"maker"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("create user without token: %d", resp.StatusCode)
	}
	if _, err := e.db.UserByUsername(context.Background(), "zed"); db.ErrorCode(err) != db.ENOTFOUND {
		t.Fatalf("user created despite the refusal: %v", err)
	}
	// The header form htmx uses is accepted.
	resp, _ = c.post("/admin/users", url.Values{"username": {"zed"}, "display_name": {"Z"}, "password": {testPassword}, "roles": {"maker"}},
		"X-CSRF-Token", c.csrf)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create user with header token: %d", resp.StatusCode)
	}
	// A token from another session does not transfer.
	other := e.client()
	other.signIn("checker")
	resp, _ = other.post("/logout", url.Values{"_csrf": {c.csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("token of another session accepted: %d", resp.StatusCode)
	}
}

func TestSessionRotatesAtSignInAndDiesAtSignOut(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.get("/login")
	before := *c.sessionCookie()
	c.signIn("admin")
	after := c.sessionCookie()
	if after.Value == before.Value {
		t.Fatal("session id not rotated at sign-in")
	}
	// The pre-login cookie no longer names a session.
	fixated := e.client()
	fixated.cookies[before.Name] = &before
	if resp, _ := fixated.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fixated cookie reached a page: %d", resp.StatusCode)
	}
	old := *after
	resp, _ := c.post("/logout", url.Values{"_csrf": {c.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	replay := e.client()
	replay.cookies[old.Name] = &old
	if resp, _ := replay.get("/admin/users"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("old cookie after sign-out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSignInPageWritesNothing: visits to the sign-in page, with or without
// a cookie, add no session row (the form's token rides in a signed cookie);
// its token still guards the form, a cookie's token cannot be swapped for
// another's, and signing in makes the one row.
func TestSignInPageWritesNothing(t *testing.T) {
	e := newTestEnv(t, false)
	sessionRows := func() int {
		var n int
		if err := e.db.Writer().QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 20 {
		e.client().get("/login")
	}
	c := e.client()
	c.get("/login")
	token := c.csrf
	c.get("/login")
	if c.csrf != token {
		t.Fatal("the same visitor's form token changed between two loads")
	}
	if n := sessionRows(); n != 0 {
		t.Fatalf("21 visitors to the sign-in page left %d session rows", n)
	}

	// Another visitor's token does not go with this cookie.
	other := e.client()
	other.get("/login")
	form := url.Values{"username": {"admin"}, "password": {testPassword}, "_csrf": {other.csrf}}
	if resp, _ := c.post("/login", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another visitor's token was taken: %d", resp.StatusCode)
	}
	// Nor does a cookie whose signature is not ours.
	forged := e.client()
	forged.cookies[e.srv.Sessions.CookieName()] = &http.Cookie{Name: e.srv.Sessions.CookieName(), Value: "anon." + token}
	form.Set("_csrf", token)
	if resp, _ := forged.post("/login", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("an unsigned cookie's token was taken: %d", resp.StatusCode)
	}

	if resp, _ := c.post("/login", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the page's own token: %d", resp.StatusCode)
	}
	if n := sessionRows(); n != 1 {
		t.Fatalf("signing in left %d session rows, want 1", n)
	}
	if c.get("/"); c.csrf == token {
		t.Fatal("the signed-in session kept the sign-in form's token")
	}
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.signIn("admin")
	e.clock.Advance(29 * time.Minute)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("within idle timeout: %d", resp.StatusCode)
	}
	e.clock.Advance(31 * time.Minute)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after idle timeout: %d", resp.StatusCode)
	}

	// Absolute: active every 20 minutes, still cut off at 12 hours.
	c = e.client()
	c.signIn("admin")
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		e.clock.Advance(20 * time.Minute)
		if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("active session at %v: %d", elapsed, resp.StatusCode)
		}
	}
	e.clock.Advance(21 * time.Minute)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the absolute timeout: %d", resp.StatusCode)
	}
}

func TestDisabledUserSessionRefused(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	checker := e.client()
	checker.signIn("checker")
	u, _ := e.db.UserByUsername(context.Background(), "checker")
	resp, _ := admin.post("/admin/users/"+itoa(u.ID)+"/disable", url.Values{"_csrf": {admin.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if resp, _ := checker.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabled user's session: %d", resp.StatusCode)
	}
}

func TestRoleGate(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.signIn("checker")
	resp, body := c.get("/admin/users")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Not allowed") {
		t.Fatalf("checker on /admin/users: %d", resp.StatusCode)
	}
	_, home := c.get("/")
	if strings.Contains(home, `href="/admin/users"`) || strings.Contains(home, `href="/admin/audit"`) {
		t.Fatal("checker's navigation shows admin sections")
	}
}

func TestFragmentOnlyForPlainHTMXRequests(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.signIn("checker")
	cases := []struct {
		headers  []string
		fragment bool
	}{
		{nil, false},
		{[]string{"HX-Request", "true"}, true},
		{[]string{"HX-Request", "true", "HX-Boosted", "true"}, false},
		{[]string{"HX-Request", "true", "HX-History-Restore-Request", "true"}, false},
	}
	for _, tc := range cases {
		resp, body := c.get("/no-such-page", tc.headers...)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%v: status %d", tc.headers, resp.StatusCode)
		}
		isFragment := !strings.Contains(body, "<html")
		if isFragment != tc.fragment {
			t.Errorf("%v: fragment=%v, want %v", tc.headers, isFragment, tc.fragment)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
			t.Errorf("%v: Vary = %q", tc.headers, resp.Header.Get("Vary"))
		}
	}
}

func TestLoginErrorsShownBesideTheForm(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.get("/login")
	resp, body := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {"admin"}, "password": {"wrong-password-1"}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="login-error"`) ||
		!strings.Contains(body, "Wrong username or password") || !strings.Contains(body, `value="admin"`) {
		t.Fatalf("failed sign-in: %d %s", resp.StatusCode, body)
	}
}

// TestSignInThrottleHoldsUnderParallelGuesses: wrong passwords posted
// together from one address are checked no more than the policy allows
// (three free, the fourth locks); the rest are answered as locked.
func TestSignInThrottleHoldsUnderParallelGuesses(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.get("/login")
	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	var locked int
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"_csrf": {c.csrf}, "username": {"admin"},
				"password": {fmt.Sprintf("guess-number-%d", i)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range c.cookies {
				req.AddCookie(ck)
			}
			resp, err := e.app.Test(req, -1)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("guess %d: status %d", i, resp.StatusCode)
			}
			if strings.Contains(string(body), "Too many failed sign-ins") {
				mu.Lock()
				locked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var checked int
	if err := e.db.Writer().QueryRow(`SELECT count(*) FROM login_failures WHERE username = 'admin'`).Scan(&checked); err != nil {
		t.Fatal(err)
	}
	if checked != 4 || locked != n-3 {
		t.Fatalf("%d passwords checked from one address, %d answers locked; want 4 and %d", checked, locked, n-3)
	}
}

func TestStaticAssetsCachedAndCompressed(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	path := e.srv.Assets.URL("htmx-2.0.11.min.js")
	resp, _ := c.get(path, "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("ETag") == "" {
		t.Fatalf("asset: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = c.get(path, "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %d", resp.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	e := newTestEnv(t, false)
	if resp, body := e.client().get("/readyz"); resp.StatusCode != 200 || body != "ready" {
		t.Fatalf("readyz: %d %q", resp.StatusCode, body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestPagesUnderConcurrencyAreTheirOwn: each page is rendered into a pooled
// buffer; a body still being sent must never be overwritten by another
// request's page (one person's page, with their CSRF token, shown to
// another). Served over a real listener, so responses are written while
// other requests render.
func TestPagesUnderConcurrencyAreTheirOwn(t *testing.T) {
	e := newTestEnv(t, false)
	// With the page cache on, as production runs: pages kept per session.
	e.srv.Pages = NewPageCache(time.Minute, 1<<20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.app.Listener(ln) }()
	t.Cleanup(func() { _ = e.app.Shutdown() })
	base := "http://" + ln.Addr().String()
	clients := make([]*client, 8)
	for i := range clients {
		clients[i] = e.client()
		clients[i].signIn([]string{"admin", "checker", "maker"}[i%3])
	}
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 32, MaxIdleConnsPerHost: 32}}
	var wg sync.WaitGroup
	errs := make(chan string, len(clients))
	for _, c := range clients {
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			for range 60 {
				req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
				for _, ck := range c.cookies {
					req.AddCookie(ck)
				}
				resp, err := hc.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				m := csrfPattern.FindSubmatch(body)
				if m == nil || string(m[1]) != c.csrf {
					errs <- fmt.Sprintf("a page carried another session's token (status %d)", resp.StatusCode)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

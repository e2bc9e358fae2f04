package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
)

// TestClientAddrTrustsOnlyConfiguredProxies: X-Forwarded-For is ignored
// unless the peer is a trusted proxy; then it is read from the right, past
// trusted proxies, and what the client wrote on the left is ignored.
func TestClientAddrTrustsOnlyConfiguredProxies(t *testing.T) {
	// app.Test's peer is 0.0.0.0.
	for _, tc := range []struct {
		name    string
		trusted []string
		xff     string
		want    string
	}{
		{"no proxies trusted: the peer", nil, "198.51.100.7", "0.0.0.0"},
		{"a trusted peer: the hop it saw", []string{"0.0.0.0/32"}, "198.51.100.7", "198.51.100.7"},
		{"a forged left part is ignored", []string{"0.0.0.0/32"}, "10.9.9.9, 198.51.100.7", "198.51.100.7"},
		{"trusted hops are skipped", []string{"0.0.0.0/32", "10.0.0.0/8"}, "198.51.100.7, 10.1.2.3", "198.51.100.7"},
		{"garbage stops the walk", []string{"0.0.0.0/32"}, "198.51.100.7, not-an-ip", "0.0.0.0"},
		{"no header: the peer", []string{"0.0.0.0/32"}, "", "0.0.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{}
			for _, p := range tc.trusted {
				s.Config.TrustedProxies = append(s.Config.TrustedProxies, netip.MustParsePrefix(p))
			}
			app := fiber.New()
			app.Get("/", func(c *fiber.Ctx) error { return c.SendString(s.clientAddr(c)) })
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tc.want {
				t.Fatalf("client = %q, want %q", body, tc.want)
			}
		})
	}
}

type fakeRecovery map[string]time.Time

func (f fakeRecovery) AwaitingRecovery(context.Context) (map[string]time.Time, error) { return f, nil }

// TestPayoutsPageShowsWaitingForRecovery: a payout whose sending process
// died is listed apart and marked in the list with when it is checked.
func TestPayoutsPageShowsWaitingForRecovery(t *testing.T) {
	e := newTestEnv(t, false)
	r := e.propose(t, "maker", 5000000)
	e.srv.Recovery = fakeRecovery{r.TargetID: time.Date(2026, 11, 21, 10, 7, 0, 0, time.UTC)}
	c := e.client()
	c.signIn("checker")
	resp, page := c.get("/payouts")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(page, `id="recovering"`) || strings.Count(page, "waiting for recovery · checked by 10:07:00 UTC") != 2 {
		t.Fatalf("the payout is not shown waiting for recovery (panel and list):\n%s", page)
	}
	e.srv.Recovery = fakeRecovery{}
	if _, page := c.get("/payouts"); strings.Contains(page, "waiting for recovery") {
		t.Fatal("shown waiting for recovery with nothing waiting")
	}
}

// auditedRefusals lists the request.refused entries' details.
func auditedRefusals(t *testing.T, e *testEnv) []string {
	t.Helper()
	rows, _, err := e.db.ListAudit(context.Background(), db.AuditFilter{Action: "request.refused", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Actor+" "+r.Details)
	}
	return out
}

// TestRefusedRequestsAreAudited: a signed-in person's refused POST (here a
// cross-site one with the right token, and one without a token) and a
// replayed cookie of an ended session are on the record; an anonymous
// refusal is not (anyone could fill the log with them).
func TestRefusedRequestsAreAudited(t *testing.T) {
	e := newTestEnv(t, false)
	c := e.client()
	c.signIn("checker")
	resp, _ := c.post("/logout", url.Values{"_csrf": {c.csrf}}, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without a token: %d", resp.StatusCode)
	}
	old := c.sessionCookie()
	token := c.csrf
	if resp, _ := c.post("/logout", url.Values{"_csrf": {c.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	replay := e.client()
	replay.cookies[old.Name] = old
	if resp, _ := replay.post("/logout", url.Values{"_csrf": {token}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replayed cookie: %d", resp.StatusCode)
	}
	anon := e.client()
	anon.post("/logout", url.Values{})
	got := auditedRefusals(t, e)
	if len(got) != 3 {
		t.Fatalf("%d refusals audited, want 3: %v", len(got), got)
	}
	for i, want := range []string{"another site", "did not come from Paydesk", "(ended session)"} {
		if !strings.Contains(got[len(got)-1-i], want) {
			t.Fatalf("refusal %d = %q, want %q", i, got[len(got)-1-i], want)
		}
	}
}

// TestLocalPathKeepsNextOnThisSite: ?next= after sign-in or a step-up may
// only name a path here. A browser drops tabs and newlines from a URL and
// reads a backslash as a slash, and a CR or LF would be written into the
// Location header as it is; each such form falls back to "/".
func TestLocalPathKeepsNextOnThisSite(t *testing.T) {
	for next, want := range map[string]string{
		"/queue":                    "/queue",
		"/payouts?state=failed&x=1": "/payouts?state=failed&x=1",
		"/approvals/12#decide":      "/approvals/12#decide",
		"":                          "/",
		"queue":                     "/",
		"https://evil.example/":     "/",
		"//evil.example/":           "/",
		"/\\evil.example/":          "/",
		"/\t/evil.example/":         "/",
		"/\t\\evil.example/":        "/",
		"/\n/evil.example/":         "/",
		"/\r\nSet-Cookie: x=1":      "/",
		"/queue\r\nX-Injected: yes": "/",
		"/a\x00b":                   "/",
		"/a\x7fb":                   "/",
		"/%0d%0aX-Injected:%20yes":  "/%0d%0aX-Injected:%20yes", // stays escaped in the header
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestSignInNextCannotAddHeadersOrLeave: the whole sign-in, with a ?next=
// that tries to add a header and one a browser would follow off-site.
func TestSignInNextCannotAddHeadersOrLeave(t *testing.T) {
	for _, next := range []string{"/\r\nSet-Cookie: injected=1; Path=/\r\nX-Injected: yes", "/\t/evil.example/"} {
		e := newTestEnv(t, false)
		c := e.client()
		c.get("/login?next=" + url.QueryEscape(next))
		resp, _ := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {"admin"}, "password": {testPassword}, "next": {next}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("next=%q: sign-in status %d", next, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q: Location %q, want /", next, loc)
		}
		if resp.Header.Get("X-Injected") != "" || strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), ";"), "injected=1") {
			t.Errorf("next=%q: headers injected: %v", next, resp.Header)
		}
	}
}

// TestBusyHasherIsATryAgain: with every hashing slot taken until the request
// ends, the answer is 503 with its own message (try again in a moment), not
// a server error whose message is hidden.
func TestBusyHasherIsATryAgain(t *testing.T) {
	if got := statusOf(db.ErrBusy); got != http.StatusServiceUnavailable {
		t.Fatalf("status of ErrBusy = %d, want 503", got)
	}
	if msg := messageOf(db.ErrBusy, http.StatusServiceUnavailable); !strings.Contains(msg, "try again") {
		t.Fatalf("message of ErrBusy = %q", msg)
	}
	if msg := messageOf(errors.New("disk on fire"), http.StatusInternalServerError); strings.Contains(msg, "disk") {
		t.Fatalf("an internal error's own text is shown: %q", msg)
	}
}

package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkLoginPage renders the sign-in page for a visitor with a session.
func BenchmarkLoginPage(b *testing.B) {
	e := newTestEnv(b, false)
	c := &client{e: e, cookies: map[string]*http.Cookie{}}
	c.get("/login")
	ck := c.sessionCookie()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/login", nil)
		req.AddCookie(ck)
		resp, err := e.app.Test(req, -1)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
	}
}

// BenchmarkAuthenticatedPage renders the admin users page for a signed-in
// admin: session lookup, user lookup, a list query and the layout.
func BenchmarkAuthenticatedPage(b *testing.B) {
	e := newTestEnv(b, false)
	c := e.client()
	c.signIn("admin")
	ck := c.sessionCookie()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/admin/users", nil)
		req.AddCookie(ck)
		resp, err := e.app.Test(req, -1)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
	}
}

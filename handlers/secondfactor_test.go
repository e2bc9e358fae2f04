package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"paydesk/db"
)

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSignInWithACode: a user with a second factor gets no session user
// from the password alone; the code step completes it, once.
func TestSignInWithACode(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	u, err := e.db.UserByUsername(ctx, "checker")
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.srv.SecondFactor.BeginEnrolment(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.SecondFactor.ConfirmEnrolment(ctx, u, totpCode(t, en.Secret, e.clock.Now()), db.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)

	c := e.client()
	c.get("/login")
	resp, _ := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {"checker"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/code" {
		t.Fatalf("password step: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The password alone reaches nothing.
	if resp, _ := c.get("/queue"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("after the password alone: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := c.get("/login/code")
	if !strings.Contains(page, `name="code"`) {
		t.Fatalf("no code field:\n%s", page)
	}
	resp, page = c.post("/login/code", url.Values{"_csrf": {c.csrf}, "code": {"000000"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not right") {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	resp, _ = c.post("/login/code", url.Values{"_csrf": {c.csrf}, "code": {totpCode(t, en.Secret, e.clock.Now())}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("code step: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := c.get("/queue"); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	// A password step left waiting expires.
	late := e.client()
	late.get("/login")
	late.post("/login", url.Values{"_csrf": {late.csrf}, "username": {"checker"}, "password": {testPassword}})
	e.clock.Advance(6 * time.Minute)
	if resp, _ := late.get("/login/code"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("a stale password step: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

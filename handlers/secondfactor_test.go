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
	secret := e.enrol(t, "checker")

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
	resp, _ = c.post("/login/code", url.Values{"_csrf": {c.csrf}, "code": {totpCode(t, secret, e.clock.Now())}})
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

// TestStepUpBandIsAnAdminChange: with one admin the band changes at once;
// with two it is a request whose page shows the change.
func TestStepUpBandIsAnAdminChange(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := context.Background()
	c := e.client()
	c.signIn("admin")
	if _, page := c.get("/account/security"); !strings.Contains(page, `id="step-up-band"`) || !strings.Contains(page, "₹10,00,000.00") {
		t.Fatal("the security page has no band form for an admin")
	}
	resp, _ := c.post("/admin/security/step-up-band", url.Values{"_csrf": {c.csrf}, "above": {"5,00,000"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/security?done=band" {
		t.Fatalf("one admin: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if v, _ := e.db.StepUpAbove(ctx); v != 5_00_000_00 {
		t.Fatalf("band = %d", v)
	}
	resp, page := c.post("/admin/security/step-up-band", url.Values{"_csrf": {c.csrf}, "above": {"-5"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Enter rupees") {
		t.Fatalf("a bad amount: %d", resp.StatusCode)
	}
	if _, err := e.db.CreateUser(ctx, testHasher, db.SystemActor, db.NewUser{Username: "adam", DisplayName: "Adam",
		Password: testPassword, Roles: []db.Role{db.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	resp, _ = c.post("/admin/security/step-up-band", url.Values{"_csrf": {c.csrf}, "above": {"7,00,000"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/security?request=") {
		t.Fatalf("two admins: %d %s", resp.StatusCode, loc)
	}
	adam := e.client()
	adam.signIn("adam")
	_, page = adam.get("/approvals/" + strings.TrimPrefix(loc, "/account/security?request="))
	if !strings.Contains(page, "Step-up band: now → proposed") || !strings.Contains(page, "₹7,00,000.00") {
		t.Fatalf("the request page does not show the change:\n%s", page)
	}
	if v, _ := e.db.StepUpAbove(ctx); v != 5_00_000_00 {
		t.Fatalf("band changed before approval: %d", v)
	}
}

// TestSecurityPageDoneBandForEveryRole: ?done=band is the admin's "Saved."
// after a band change; anyone else who opens that address gets their own
// security page, not a server error.
func TestSecurityPageDoneBandForEveryRole(t *testing.T) {
	e := newTestEnv(t, false)
	for _, who := range []string{"maker", "checker", "admin"} {
		c := e.client()
		c.signIn(who)
		if resp, _ := c.get("/account/security?done=band"); resp.StatusCode != http.StatusOK {
			t.Errorf("%s on /account/security?done=band: status %d, want 200", who, resp.StatusCode)
		}
	}
}

// enrol gives username a second factor and returns its secret; the clock
// moves on a step so the next code is not the one just used.
func (e *testEnv) enrol(t *testing.T, username string) string {
	t.Helper()
	ctx := context.Background()
	u, err := e.db.UserByUsername(ctx, username)
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
	return en.Secret
}

// stepUpTo follows a redirect to the step-up page, types a code and returns
// where the step-up sends the person back to.
func (c *client) stepUpTo(t *testing.T, resp *http.Response, secret string) string {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/step-up?next=") {
		t.Fatalf("not sent to the step-up: %d %s", resp.StatusCode, loc)
	}
	next, err := url.QueryUnescape(strings.TrimPrefix(loc, "/step-up?next="))
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get(loc); resp.StatusCode != http.StatusOK {
		t.Fatalf("step-up page: %d", resp.StatusCode)
	}
	resp, _ = c.post("/step-up", url.Values{"_csrf": {c.csrf}, "next": {next}, "code": {totpCode(t, secret, c.e.clock.Now())}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != next {
		t.Fatalf("step-up: %d %s, want back to %s", resp.StatusCode, resp.Header.Get("Location"), next)
	}
	return next
}

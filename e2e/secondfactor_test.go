//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// authenticator is the phone app of the test: it computes codes from the
// secret Paydesk showed, never one for a step already used.
type authenticator struct {
	t        *testing.T
	secret   string
	lastStep int64
}

// code returns a code for the earliest step after the last one used that
// Paydesk accepts now (one step of drift either way), waiting if need be.
func (a *authenticator) code() string {
	a.t.Helper()
	cur := time.Now().Unix() / 30
	step := max(a.lastStep+1, cur-1)
	if step > cur+1 {
		time.Sleep(time.Until(time.Unix((step-1)*30, 0)) + 200*time.Millisecond)
	}
	a.lastStep = step
	c, err := totp.GenerateCodeCustom(a.secret, time.Unix(step*30, 0),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// wrong is a 6-digit code that matches none of the steps Paydesk accepts.
func (a *authenticator) wrong() string {
	a.t.Helper()
	now := time.Now()
	for _, guess := range []string{"000000", "111111", "222222", "333333"} {
		ok := true
		for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
			c, _ := totp.GenerateCodeCustom(a.secret, now.Add(d), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			ok = ok && c != guess
		}
		if ok {
			return guess
		}
	}
	a.t.Fatal("no wrong code found")
	return ""
}

// TestSecondFactor: a checker enrols with the QR page and a typed code,
// signs in with a code computed here, steps up at approve (a wrong and a
// replayed code refused and audited), and an admin resets the factor.
func TestSecondFactor(t *testing.T) {
	a := startApp(t)
	b := browser(t)
	log := openAudit(t, a)
	checker := newSession(t, b, a)
	maker := newSession(t, b, a)
	admin := newSession(t, b, a)
	all := []*session{checker, maker, admin}
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			for _, s := range all {
				s.t = t
			}
			f(t)
		})
	}
	phone := &authenticator{t: t}

	run("the checker enrols with a QR code and a typed code, and gets 10 recovery codes", func(t *testing.T) {
		checker.signIn("checker", checkerPassword)
		checker.expectURL("/")
		checker.click(".sidebar .me a[href='/account/security']")
		checker.expectText("main h1", "Sign-in security")
		checker.screenshot("security-off")
		checker.click("#second-factor button[type=submit]")
		checker.expectVisible("#second-factor .qr img")
		secret, err := checker.page.Locator("#totp-secret").InputValue()
		if err != nil || len(secret) < 32 {
			t.Fatalf("secret %q: %v", secret, err)
		}
		phone.secret = secret
		checker.screenshot("security-enrol")
		mark := log.last()
		checker.fill("#code", phone.wrong())
		checker.click("#second-factor form.code-form button[type=submit]")
		checker.expectText("#second-factor .field.invalid .error", "not right")
		log.expect(mark, "second_factor.failed", "checker", "wrong_code", "enrol")
		checker.fill("#code", phone.code())
		checker.click("#second-factor form.code-form button[type=submit]")
		checker.expectText(".alert.ok", "second factor is on")
		if n := checker.count("#recovery-codes li"); n != 10 {
			t.Fatalf("%d recovery codes shown, want 10", n)
		}
		checker.screenshot("security-recovery-codes")
		log.expect(mark, "second_factor.enrolled", "checker")
		checker.goto_("/account/security")
		checker.expectText("#second-factor", "10 of 10 recovery codes left")
	})

	run("sign-in asks for a code; a wrong one and a replayed one are refused and audited", func(t *testing.T) {
		checker.click("nav form[action='/logout'] button")
		checker.expectURL("/login?signed_out=1")
		checker.signIn("checker", checkerPassword)
		checker.expectURL("/login/code")
		checker.screenshot("login-code")
		mark := log.last()
		checker.fill("#code", phone.wrong())
		checker.click("form.code-form button[type=submit]")
		checker.expectText(".field.invalid .error", "not right")
		log.expect(mark, "second_factor.failed", "checker", "wrong_code", "sign_in")
		// The code the enrolment used, typed again, is refused as used.
		used := phone.lastStep
		replay, _ := totp.GenerateCodeCustom(phone.secret, time.Unix(used*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if time.Now().Unix()/30-used <= 1 {
			checker.fill("#code", replay)
			checker.click("form.code-form button[type=submit]")
			checker.expectText(".field.invalid .error", "used already")
			log.expect(mark, "second_factor.failed", "checker", "replayed")
		}
		checker.fill("#code", phone.code())
		checker.click("form.code-form button[type=submit]")
		checker.expectURL("/")
		checker.expectText("main h1", "Overview")
		log.expect(mark, "second_factor.verified", "checker", "sign_in", "totp")
	})

	var request string
	run("approving above ₹10,00,000 asks for a fresh code; wrong and replayed codes are refused", func(t *testing.T) {
		maker.signIn("maker", makerPassword)
		maker.expectURL("/")
		maker.proposePayout("Monsoon Steel Pvt Ltd", "50100012345678", "HDFC0001234", "25,00,000", "RTGS")
		checker.goto_("/queue")
		checker.click("#queue-rows tr:has-text('Monsoon Steel') td a[href^='/approvals/']")
		checker.expectVisible("#step-up-code")
		request = strings.TrimPrefix(checker.page.URL(), a.URL)
		checker.screenshot("approve-step-up")

		// A crafted approve without a code is refused beneath the page.
		mark := log.last()
		csrf, _ := checker.page.Locator("#approve-form input[name=_csrf]").InputValue()
		resp, err := checker.page.Request().Post(a.URL+request+"/approve", playwright.APIRequestContextPostOptions{
			Form: map[string]any{"_csrf": csrf}, MaxRedirects: playwright.Int(0)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status() != 303 {
			t.Fatalf("approve without a code: %d, want 303 to the page that asks for one", resp.Status())
		}
		log.expect(mark, "approval.refused", "checker", "step_up", "authenticator")

		checker.fill("#decide-code", phone.wrong())
		checker.click("#approve-form button[type=submit]")
		checker.expectText("#step-up-code .error", "not right")
		log.expect(mark, "second_factor.failed", "checker", "wrong_code", "step_up")
		replay, _ := totp.GenerateCodeCustom(phone.secret, time.Unix(phone.lastStep*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if time.Now().Unix()/30-phone.lastStep <= 1 {
			checker.fill("#decide-code", replay)
			checker.click("#approve-form button[type=submit]")
			checker.expectText("#step-up-code .error", "used already")
			log.expect(mark, "second_factor.failed", "checker", "replayed", "step_up")
		}
		checker.screenshot("approve-step-up-refused")
		checker.fill("#decide-code", phone.code())
		checker.click("#approve-form button[type=submit]")
		checker.expectText(".alert.ok", "Approved by you")
		log.expect(mark, "second_factor.verified", "checker", "step_up")
		log.expect(mark, "approval.approved_by", "checker")
		checker.screenshot("approve-stepped-up")
	})

	run("an admin resets the second factor; the checker signs in with a password again", func(t *testing.T) {
		admin.signIn("admin", adminPassword)
		admin.expectURL("/")
		admin.goto_("/admin/users")
		row := "#user-rows tr:has-text('Chitra Checker')"
		admin.expectText(row, "second factor")
		admin.page.OnDialog(func(d playwright.Dialog) { _ = d.Accept() })
		mark := log.last()
		admin.click(row + " form[action$='/reset-second-factor'] button")
		admin.expectText(row, "Second factor reset")
		log.expect(mark, "second_factor.reset", "admin")
		admin.screenshot("users-second-factor-reset")
		fresh := newSession(t, b, a)
		fresh.signIn("checker", checkerPassword)
		fresh.expectURL("/")
	})

	for _, s := range all {
		s.noCSPErrors()
	}
}

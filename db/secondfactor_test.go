package db

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

var testSessionKey = bytes.Repeat([]byte{7, 9}, 16)

// codeAt is what an authenticator app shows at t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolled enrols u and returns the secret and the recovery codes; the
// clock moves on a step so the next code is new.
func enrolled(t *testing.T, s *SecondFactor, c *clock, u User) (string, []string) {
	t.Helper()
	ctx := context.Background()
	e, err := s.BeginEnrolment(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.QRPNG) == 0 || !strings.HasPrefix(e.URL, "otpauth://totp/Paydesk:"+u.Username+"?") {
		t.Fatalf("enrolment %q", e.URL)
	}
	codes, err := s.ConfirmEnrolment(ctx, u, codeAt(t, e.Secret, c.Now()), LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(30 * time.Second)
	return e.Secret, codes
}

func TestEnrolmentSealsTheSecretAndHashesRecoveryCodes(t *testing.T) {
	d, c := newTestDB(t)
	a := NewApprovals(d, 0)
	s := NewSecondFactor(d, a, testSessionKey)
	u := mustCreateUser(t, d, "chitra", RoleChecker)
	ctx := context.Background()
	e, err := s.BeginEnrolment(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.BeginEnrolment(ctx, u)
	if err != nil || again.Secret != e.Secret {
		t.Fatalf("a reload made a new secret: %v", err)
	}
	// A wrong first code is refused beside the field, and audited.
	if _, err := s.ConfirmEnrolment(ctx, u, "12345x", LoginMeta{}); FieldErrors(err)["code"] == "" {
		t.Fatalf("wrong code: %v", err)
	}
	codes, err := s.ConfirmEnrolment(ctx, u, codeAt(t, e.Secret, c.Now()), LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodes {
		t.Fatalf("%d recovery codes", len(codes))
	}
	var sealed []byte
	if err := d.read.QueryRow(`SELECT secret FROM second_factors WHERE user_id = ?`, u.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(e.Secret)) {
		t.Fatal("the TOTP secret is stored in plain text")
	}
	rows, err := d.read.Query(`SELECT code_hash FROM recovery_codes WHERE user_id = ?`, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		rows.Scan(&h)
		for _, code := range codes {
			if strings.Contains(h, strings.ReplaceAll(code, "-", "")) {
				t.Fatal("a recovery code is stored in plain text")
			}
		}
	}
	// Another key cannot open it.
	other := NewSecondFactor(d, NewApprovals(d, 0), bytes.Repeat([]byte{1, 2}, 16))
	if _, err := other.open(u.ID, sealed); err == nil {
		t.Fatal("opened with another key")
	}
	expectAudit(t, d, AuditFilter{Target: "user:chitra", Action: "second_factor."},
		"second_factor.enrolment_started", "second_factor.failed", "second_factor.enrolled")
}

// TestCodesAreSingleUseAndRateLimited: a code (and a recovery code) is good
// once; five wrong codes stop further ones until the window passes.
func TestCodesAreSingleUseAndRateLimited(t *testing.T) {
	d, c := newTestDB(t)
	s := NewSecondFactor(d, NewApprovals(d, 0), testSessionKey)
	u := mustCreateUser(t, d, "chitra", RoleChecker)
	ctx := context.Background()
	secret, recovery := enrolled(t, s, c, u)
	code := codeAt(t, secret, c.Now())
	if err := s.SignIn(ctx, u, code, LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SignIn(ctx, u, code, LoginMeta{}); !strings.Contains(FieldErrors(err)["code"], "used already") {
		t.Fatalf("a replayed code: %v", err)
	}
	// An older code than the last one used is refused too.
	if err := s.SignIn(ctx, u, codeAt(t, secret, c.Now().Add(-30*time.Second)), LoginMeta{}); FieldErrors(err)["code"] == "" {
		t.Fatalf("an older code: %v", err)
	}
	if err := s.SignIn(ctx, u, recovery[3], LoginMeta{}); err != nil {
		t.Fatalf("a recovery code: %v", err)
	}
	if err := s.SignIn(ctx, u, recovery[3], LoginMeta{}); FieldErrors(err)["code"] == "" {
		t.Fatalf("a recovery code used twice: %v", err)
	}
	// A right code forgets the wrong ones before it; from here, five.
	for i := 0; i < MaxCodeFailures-1; i++ {
		if err := s.SignIn(ctx, u, "000000", LoginMeta{}); ErrorCode(err) != EINVALID {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	c.Advance(30 * time.Second)
	if err := s.SignIn(ctx, u, codeAt(t, secret, c.Now()), LoginMeta{}); ErrorCode(err) != ELOCKED {
		t.Fatalf("a right code after %d wrong ones: %v", MaxCodeFailures, err)
	}
	c.Advance(CodeFailureWindow)
	if err := s.SignIn(ctx, u, codeAt(t, secret, c.Now()), LoginMeta{}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if n := len(auditActions(t, d, AuditFilter{Target: "user:chitra", Action: "second_factor.refused_locked"})); n != 1 {
		t.Fatalf("%d refusals audited", n)
	}
}

// TestStepUpIsEnforcedInTheApprovalEngine: a checker with a second factor
// approves ₹50,000 without a code, but above the band (and in bulk) only
// from a session that typed one within five minutes; refusals are audited.
func TestStepUpIsEnforcedInTheApprovalEngine(t *testing.T) {
	d, c := newTestDB(t)
	p, a := newTestPayouts(t, d)
	s := NewSecondFactor(d, a, testSessionKey)
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	ctx := context.Background()
	secret, _ := enrolled(t, s, c, checker)
	n := 0
	propose := func(amount string) ApprovalRequest {
		n++
		in := goodInput()
		in.Amount, in.AccountNo = amount, fmt.Sprintf("50100012%06d", n)
		po, _, err := p.Propose(ctx, maker, in)
		if err != nil {
			t.Fatal(err)
		}
		r, _, _ := a.Get(ctx, po.ApprovalRequestID)
		return r
	}
	if err := d.CreateSession(ctx, Session{ID: "sess-1", UserID: checker.ID, CSRFToken: "t", CreatedAt: c.Now(),
		LastSeenAt: c.Now(), ExpiresAt: c.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	inSession := WithSession(ctx, "sess-1")
	small, big := propose("50,000"), propose("20,00,000")
	if _, err := a.Approve(inSession, checker, small.ID); err != nil {
		t.Fatalf("below the band: %v", err)
	}
	if _, err := a.Approve(inSession, checker, big.ID); ErrorCode(err) != ESTEPUP {
		t.Fatalf("above the band without a code: %v", err)
	}
	bulk := propose("30,000")
	if _, err := a.ApproveMany(inSession, checker, []int64{bulk.ID}); ErrorCode(err) != ESTEPUP {
		t.Fatalf("a bulk decision without a code: %v", err)
	}
	if err := s.StepUp(ctx, checker, "sess-1", codeAt(t, secret, c.Now()), LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	// Another session of the same person has not stepped up.
	if _, err := a.Approve(WithSession(ctx, "sess-2"), checker, big.ID); ErrorCode(err) != ESTEPUP {
		t.Fatalf("another session: %v", err)
	}
	if _, err := a.Approve(inSession, checker, big.ID); err != nil {
		t.Fatalf("after stepping up: %v", err)
	}
	if res, err := a.ApproveMany(inSession, checker, []int64{bulk.ID}); err != nil || res[0].Err != nil {
		t.Fatalf("bulk after stepping up: %v %+v", err, res)
	}
	c.Advance(StepUpWindow)
	late := propose("40,00,000")
	if _, err := a.Approve(inSession, checker, late.ID); ErrorCode(err) != ESTEPUP {
		t.Fatalf("five minutes later: %v", err)
	}
	refusals := auditActions(t, d, AuditFilter{Action: "approval.refused"})
	if len(refusals) != 4 {
		t.Fatalf("%d refusals audited, want 4: %v", len(refusals), refusals)
	}
}

// TestEnrolmentRequiredByTheSetting: with the setting on, a checker without
// a second factor cannot decide at all; a maker is not asked.
func TestEnrolmentRequiredByTheSetting(t *testing.T) {
	d, _ := newTestDB(t)
	d.SecondFactorRequired = true
	p, a := newTestPayouts(t, d)
	s := NewSecondFactor(d, a, testSessionKey)
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	ctx := context.Background()
	if need, _ := s.NeedsCodeAtSignIn(ctx, maker); need {
		t.Fatal("a maker must enrol")
	}
	if need, _ := s.NeedsCodeAtSignIn(ctx, checker); !need {
		t.Fatal("a checker need not enrol")
	}
	in := goodInput()
	in.Amount = "20,00,000"
	po, _, err := p.Propose(ctx, maker, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); ErrorCode(err) != ESTEPUP || !strings.Contains(ErrorMessage(err), "Set up") {
		t.Fatalf("an unenrolled checker: %v", err)
	}
}

// TestResetByAnotherAdmin: with two admins, resetting someone's second
// factor is a request the other admin approves; with one it applies.
func TestResetByAnotherAdmin(t *testing.T) {
	d, c := newTestDB(t)
	a := NewApprovals(d, 0)
	s := NewSecondFactor(d, a, testSessionKey)
	root := mustCreateUser(t, d, "root", RoleAdmin)
	u := mustCreateUser(t, d, "chitra", RoleChecker)
	ctx := context.Background()
	enrolled(t, s, c, u)
	if _, applied, err := s.Reset(ctx, root, u.ID); err != nil || !applied {
		t.Fatalf("one admin: applied %v, %v", applied, err)
	}
	if ok, _ := s.Enrolled(ctx, u.ID); ok {
		t.Fatal("still enrolled after the reset")
	}
	enrolled(t, s, c, u)
	adam := mustCreateUser(t, d, "adam", RoleAdmin)
	r, applied, err := s.Reset(ctx, root, u.ID)
	if err != nil || applied || r.Kind != SecondFactorResetKind {
		t.Fatalf("two admins: %+v applied %v, %v", r, applied, err)
	}
	if _, err := a.Approve(ctx, root, r.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("the proposing admin approves: %v", err)
	}
	if ok, _ := s.Enrolled(ctx, u.ID); !ok {
		t.Fatal("reset before approval")
	}
	if _, err := a.Approve(ctx, adam, r.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Enrolled(ctx, u.ID); ok {
		t.Fatal("still enrolled after the approved reset")
	}
	if n := len(auditActions(t, d, AuditFilter{Target: "user:chitra", Action: "second_factor.reset"})); n != 2 {
		t.Fatalf("%d resets audited", n)
	}
}

// TestRoleAndRuleChangesNeedAStepUp: an admin with a second factor changes
// roles or rules only from a session that typed a code.
func TestRoleAndRuleChangesNeedAStepUp(t *testing.T) {
	d, c := newTestDB(t)
	a := NewApprovals(d, 0)
	s := NewSecondFactor(d, a, testSessionKey)
	root := mustCreateUser(t, d, "root", RoleAdmin)
	maker := mustCreateUser(t, d, "mira", RoleMaker)
	ctx := context.Background()
	secret, _ := enrolled(t, s, c, root)
	if err := d.CreateSession(ctx, Session{ID: "root-1", UserID: root.ID, CSRFToken: "t", CreatedAt: c.Now(),
		LastSeenAt: c.Now(), ExpiresAt: c.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	inSession := WithSession(ctx, "root-1")
	if _, err := d.SetRoles(inSession, root.Actor(), maker.ID, []Role{RoleChecker}); ErrorCode(err) != ESTEPUP {
		t.Fatalf("a role change without a code: %v", err)
	}
	change := RuleChange{Kind: RuleChangeKind, Bands: []RuleBand{{MinPaise: 0, Approvals: 2, Role: RoleAdmin}}}
	if _, _, err := a.ProposeRuleChange(inSession, root, change); ErrorCode(err) != ESTEPUP {
		t.Fatalf("a rule change without a code: %v", err)
	}
	if err := s.StepUp(ctx, root, "root-1", codeAt(t, secret, c.Now()), LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetRoles(inSession, root.Actor(), maker.ID, []Role{RoleChecker}); err != nil {
		t.Fatalf("a role change after a code: %v", err)
	}
	if _, applied, err := a.ProposeRuleChange(inSession, root, change); err != nil || !applied {
		t.Fatalf("a rule change after a code: applied %v, %v", applied, err)
	}
}

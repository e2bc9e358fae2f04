package db

// The second factor: TOTP codes (RFC 6238: 6 digits, 30-second steps,
// SHA-1, as every authenticator app reads them) with
// github.com/pquerna/otp, and ten single-use recovery codes.
//
// - The TOTP secret is sealed with AES-256-GCM under a key derived (HKDF)
//   from Paydesk's session key, bound to its user's id, so a copy of the
//   database alone does not yield codes. Rotating the session key makes the
//   secrets unreadable: every user then re-enrols after an admin reset.
// - Recovery codes are kept as HMAC-SHA-256 under a second derived key.
// - A code is accepted once: the step it belongs to must be later than the
//   last step accepted for the user (one step of clock drift either way is
//   allowed), so a code seen over a shoulder or replayed is refused.
// - Wrong codes are counted per user: MaxCodeFailures within
//   CodeFailureWindow refuse further codes until the oldest one ages out.
//   Each failure and each refusal is audited.
// - Step-up: a code typed during a session marks it (sessions.
//   stepped_up_at); for StepUpWindow after, that session may decide what
//   needs one. The approval engine checks it inside the deciding
//   transaction (requireStepUp), not the web layer.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
)

// Second factor limits.
const (
	// StepUpWindow is how long a code typed for a step-up counts.
	StepUpWindow = 5 * time.Minute
	// MaxCodeFailures wrong codes within CodeFailureWindow stop further
	// codes of the user until the oldest ages out.
	MaxCodeFailures   = 5
	CodeFailureWindow = 15 * time.Minute
	// RecoveryCodes is how many single-use recovery codes a user holds.
	RecoveryCodes = 10

	totpPeriod = 30
	totpIssuer = "Paydesk"
)

// Kinds of approval request this file adds: both are governance, made by
// admins, and with two admins they need the other's approval.
const (
	SecondFactorResetKind = "second_factor_reset"
	StepUpBandKind        = "step_up_band"
)

// DefaultStepUpAbovePaise is the step-up band until an admin changes it:
// deciding anything above ₹10,00,000 needs a fresh code.
const DefaultStepUpAbovePaise = 10_00_000_00

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

type sessionCtxKey struct{}

// WithSession returns ctx carrying the id of the session a request is made
// in: the approval engine reads that session's step-up inside its own
// transaction.
func WithSession(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, sessionCtxKey{}, id)
}

func sessionOf(ctx context.Context) string {
	id, _ := ctx.Value(sessionCtxKey{}).(string)
	return id
}

// hasSecondFactor reports whether the user has finished enrolling.
func hasSecondFactor(ctx context.Context, q querier, userID int64) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM second_factors WHERE user_id = ? AND confirmed_at IS NOT NULL`,
		userID).Scan(&n); err != nil {
		return false, fmt.Errorf("db: second factor: %w", err)
	}
	return n > 0, nil
}

// mustEnrol reports whether u has to enrol before signing in and deciding:
// the setting applies to checkers and admins.
func (d *DB) mustEnrol(u User) bool {
	return d.SecondFactorRequired && (u.HasRole(RoleChecker) || u.HasRole(RoleAdmin))
}

// requireStepUp refuses, with ESTEPUP, unless the session in ctx typed a
// code for u within StepUpWindow. A user without a second factor passes,
// unless they must enrol. Call it inside the transaction that acts.
func (d *DB) requireStepUp(ctx context.Context, q querier, u User) error {
	enrolled, err := hasSecondFactor(ctx, q, u.ID)
	if err != nil {
		return err
	}
	if !enrolled {
		if d.mustEnrol(u) {
			return Errorf(ESTEPUP, "Set up your second factor (Sign-in security) before doing this.")
		}
		return nil
	}
	var at int64
	err = q.QueryRowContext(ctx, `SELECT coalesce(stepped_up_at, 0) FROM sessions WHERE id = ? AND user_id = ?`,
		sessionOf(ctx), u.ID).Scan(&at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("db: step-up: %w", err)
	}
	if at > 0 && d.nowMS()-at < StepUpWindow.Milliseconds() {
		return nil
	}
	return Errorf(ESTEPUP, "Confirm with a code from your authenticator app first; it counts for 5 minutes.")
}

// stepUpAbove is the amount above which deciding needs a fresh code.
func stepUpAbove(ctx context.Context, q querier) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT step_up_above_paise FROM security_settings WHERE id = 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultStepUpAbovePaise, nil
	}
	if err != nil {
		return 0, fmt.Errorf("db: security settings: %w", err)
	}
	return v, nil
}

// StepUpAbove returns the step-up band: deciding a request above this
// amount needs a fresh code.
func (d *DB) StepUpAbove(ctx context.Context) (int64, error) { return stepUpAbove(ctx, d.read) }

// NeedsStepUp reports whether deciding r needs a fresh code from someone
// enrolled: its amount is above the band, or it changes how Paydesk is
// governed (a kind only admins propose: rules, thresholds, second factors,
// the band itself). Bulk decisions always do (decideMany).
func (a *Approvals) NeedsStepUp(ctx context.Context, q querier, r ApprovalRequest) (bool, error) {
	if k, ok := a.Kind(r.Kind); ok && k.governs() {
		return true, nil
	}
	if r.AmountPaise == nil {
		return false, nil
	}
	band, err := stepUpAbove(ctx, q)
	return *r.AmountPaise > band, err
}

// NeedsStepUpNow is NeedsStepUp for the pages: whether deciding r now, in
// the session in ctx, would ask u for a code.
func (a *Approvals) NeedsStepUpNow(ctx context.Context, u User, r ApprovalRequest) (bool, error) {
	need, err := a.NeedsStepUp(ctx, a.db.read, r)
	if err != nil || !need {
		return false, err
	}
	err = a.db.requireStepUp(ctx, a.db.read, u)
	if ErrorCode(err) == ESTEPUP {
		return true, nil
	}
	return false, err
}

// SecondFactor enrols users, checks their codes and resets them.
type SecondFactor struct {
	db        *DB
	approvals *Approvals
	aead      cipher.AEAD
	codeKey   []byte
}

// NewSecondFactor returns the second factor over d, its secrets sealed
// under keys derived from key (the session key, which configuration
// insists is 32 random bytes or more). It registers its two approval kinds
// (a reset, the step-up band) with a.
func NewSecondFactor(d *DB, a *Approvals, key []byte) *SecondFactor {
	derive := func(purpose string) []byte {
		k, err := hkdf.Key(sha256.New, key, nil, purpose, 32)
		if err != nil {
			panic("db: derive a key: " + err.Error()) // only for absurd lengths
		}
		return k
	}
	block, err := aes.NewCipher(derive("paydesk second factor secret v1"))
	if err != nil {
		panic("db: AES: " + err.Error()) // a 32-byte key never fails
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("db: GCM: " + err.Error())
	}
	s := &SecondFactor{db: d, approvals: a, aead: aead, codeKey: derive("paydesk recovery codes v1")}
	a.RegisterKind(Kind{Name: SecondFactorResetKind, Label: "Second factor reset", MakerRoles: []Role{RoleAdmin},
		OnApproved: s.onResetApproved})
	a.RegisterKind(Kind{Name: StepUpBandKind, Label: "Step-up band", MakerRoles: []Role{RoleAdmin},
		OnApproved: s.onBandApproved})
	return s
}

func (s *SecondFactor) seal(userID int64, secret string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(strconv.FormatInt(userID, 10)))
}

func (s *SecondFactor) open(userID int64, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("db: second factor secret is damaged")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(strconv.FormatInt(userID, 10)))
	if err != nil {
		return "", errors.New("db: second factor secret cannot be opened (was the session key changed?)")
	}
	return string(plain), nil
}

// SecondFactorStatus is where a user stands.
type SecondFactorStatus struct {
	Enrolled     bool // finished: codes are asked
	Pending      bool // a secret is made; its first code not yet typed
	EnrolledAt   time.Time
	RecoveryLeft int
	MustEnrol    bool // the setting requires it of this user
	SteppedUpAt  time.Time
	StepUpAbove  int64
	SteppedUpNow bool // the session in ctx stepped up within StepUpWindow
}

// Status returns u's second factor as the pages show it; the session in
// ctx gives SteppedUpNow.
func (s *SecondFactor) Status(ctx context.Context, u User) (SecondFactorStatus, error) {
	st := SecondFactorStatus{MustEnrol: s.db.mustEnrol(u)}
	var confirmed sql.NullInt64
	err := s.db.read.QueryRowContext(ctx, `SELECT confirmed_at FROM second_factors WHERE user_id = ?`, u.ID).Scan(&confirmed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return st, fmt.Errorf("db: second factor: %w", err)
	case confirmed.Valid:
		st.Enrolled, st.EnrolledAt = true, time.UnixMilli(confirmed.Int64)
	default:
		st.Pending = true
	}
	if err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`,
		u.ID).Scan(&st.RecoveryLeft); err != nil {
		return st, fmt.Errorf("db: recovery codes: %w", err)
	}
	var at int64
	err = s.db.read.QueryRowContext(ctx, `SELECT coalesce(stepped_up_at, 0) FROM sessions WHERE id = ? AND user_id = ?`,
		sessionOf(ctx), u.ID).Scan(&at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("db: step-up: %w", err)
	}
	if at > 0 {
		st.SteppedUpAt = time.UnixMilli(at)
		st.SteppedUpNow = s.db.nowMS()-at < StepUpWindow.Milliseconds()
	}
	st.StepUpAbove, err = stepUpAbove(ctx, s.db.read)
	return st, err
}

// Enrolled reports whether the user has finished enrolling.
func (s *SecondFactor) Enrolled(ctx context.Context, userID int64) (bool, error) {
	return hasSecondFactor(ctx, s.db.read, userID)
}

// NeedsCodeAtSignIn reports whether u's sign-in asks for a code (or for
// enrolment, when the setting requires one and u has none).
func (s *SecondFactor) NeedsCodeAtSignIn(ctx context.Context, u User) (bool, error) {
	enrolled, err := hasSecondFactor(ctx, s.db.read, u.ID)
	return enrolled || s.db.mustEnrol(u), err
}

// Enrolment is what an authenticator app needs: the secret as text (for
// typing in) and as an otpauth:// address in a QR code.
type Enrolment struct {
	Secret string
	URL    string
	QRPNG  []byte
}

func enrolment(username, secret string) (Enrolment, error) {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", totpIssuer)
	q.Set("period", strconv.Itoa(totpPeriod))
	q.Set("digits", "6")
	q.Set("algorithm", "SHA1")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + username, RawQuery: q.Encode()}
	png, err := qrcode.Encode(u.String(), qrcode.Medium, 232)
	if err != nil {
		return Enrolment{}, fmt.Errorf("db: QR code: %w", err)
	}
	return Enrolment{Secret: secret, URL: u.String(), QRPNG: png}, nil
}

// BeginEnrolment makes u a TOTP secret, or returns the one waiting for its
// first code, so that a reload shows the same QR code.
func (s *SecondFactor) BeginEnrolment(ctx context.Context, u User) (Enrolment, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return Enrolment{}, err
	}
	defer tx.Rollback()
	var sealed []byte
	var confirmed sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT secret, confirmed_at FROM second_factors WHERE user_id = ?`, u.ID).Scan(&sealed, &confirmed)
	switch {
	case err == nil && confirmed.Valid:
		return Enrolment{}, Errorf(ECONFLICT, "Your second factor is set up already. An admin can reset it if you lost it.")
	case err == nil:
		secret, err := s.open(u.ID, sealed)
		if err != nil {
			return Enrolment{}, err
		}
		return enrolment(u.Username, secret)
	case !errors.Is(err, sql.ErrNoRows):
		return Enrolment{}, fmt.Errorf("db: second factor: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Username, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, fmt.Errorf("db: TOTP secret: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO second_factors (user_id, secret, created_at) VALUES (?, ?, ?)`,
		u.ID, s.seal(u.ID, key.Secret()), s.db.nowMS()); err != nil {
		return Enrolment{}, fmt.Errorf("db: begin enrolment: %w", err)
	}
	if err := s.db.audit(ctx, tx, u.Actor(), "second_factor.enrolment_started", "user", u.Username, nil); err != nil {
		return Enrolment{}, err
	}
	e, err := enrolment(u.Username, key.Secret())
	if err != nil {
		return Enrolment{}, err
	}
	return e, tx.Commit()
}

// ConfirmEnrolment finishes u's enrolment with the first code from the app
// and returns the recovery codes, shown this once.
func (s *SecondFactor) ConfirmEnrolment(ctx context.Context, u User, code string, meta LoginMeta) ([]string, error) {
	var codes []string
	err := s.withCode(ctx, u, code, meta, "enrol", false, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE second_factors SET confirmed_at = ? WHERE user_id = ?`, s.db.nowMS(), u.ID); err != nil {
			return fmt.Errorf("db: confirm enrolment: %w", err)
		}
		var err error
		if codes, err = s.newRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.db.audit(ctx, tx, u.Actor(), "second_factor.enrolled", "user", u.Username,
			map[string]any{"recovery_codes": len(codes)})
	})
	return codes, err
}

// SignIn checks the code (or a recovery code) that completes u's sign-in.
func (s *SecondFactor) SignIn(ctx context.Context, u User, code string, meta LoginMeta) error {
	return s.withCode(ctx, u, code, meta, "sign_in", true, nil)
}

// StepUp checks a code and marks the session sessionID as stepped up for
// StepUpWindow.
func (s *SecondFactor) StepUp(ctx context.Context, u User, sessionID, code string, meta LoginMeta) error {
	return s.withCode(ctx, u, code, meta, "step_up", true, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET stepped_up_at = ? WHERE id = ? AND user_id = ?`, s.db.nowMS(), sessionID, u.ID)
		if err != nil {
			return fmt.Errorf("db: step up: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNoSession
		}
		return nil
	})
}

// RenewRecoveryCodes replaces u's recovery codes, given a current code.
func (s *SecondFactor) RenewRecoveryCodes(ctx context.Context, u User, code string, meta LoginMeta) ([]string, error) {
	var codes []string
	err := s.withCode(ctx, u, code, meta, "recovery_codes", false, func(tx *sql.Tx) error {
		var err error
		if codes, err = s.newRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.db.audit(ctx, tx, u.Actor(), "second_factor.recovery_codes_renewed", "user", u.Username,
			map[string]any{"recovery_codes": len(codes)})
	})
	return codes, err
}

var errWrongCode = &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
	Fields: map[string]string{"code": "That code is not right. Type the 6 digits your app shows now."}}

// withCode checks code for u under the rate limit and, when it is right,
// runs then in the same transaction, audited as purpose. A wrong code is
// recorded and audited, and answered with a field error.
func (s *SecondFactor) withCode(ctx context.Context, u User, code string, meta LoginMeta, purpose string, allowRecovery bool,
	then func(tx *sql.Tx) error) error {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cur, err := getUser(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	if cur.Disabled {
		return Errorf(EFORBIDDEN, "This account is disabled. Ask an admin to enable it.")
	}
	details := map[string]any{"purpose": purpose, "remote_addr": meta.RemoteAddr, "user_agent": meta.UserAgent}
	now := s.db.Now()
	var failures int
	var oldest int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(min(at), 0) FROM second_factor_failures WHERE user_id = ? AND at > ?`,
		u.ID, now.Add(-CodeFailureWindow).UnixMilli()).Scan(&failures, &oldest); err != nil {
		return fmt.Errorf("db: code failures: %w", err)
	}
	if failures >= MaxCodeFailures {
		until := time.UnixMilli(oldest).Add(CodeFailureWindow)
		details["until"] = until.UTC()
		if err := s.db.audit(ctx, tx, cur.Actor(), "second_factor.refused_locked", "user", cur.Username, details); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		return Errorf(ELOCKED, "Too many wrong codes: try again after %s UTC, or ask an admin.", until.UTC().Format("15:04"))
	}
	method, reason, err := s.check(ctx, tx, cur, code, allowRecovery, now)
	if err != nil {
		return err
	}
	if reason != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO second_factor_failures (user_id, at) VALUES (?, ?)`, u.ID, now.UnixMilli()); err != nil {
			return fmt.Errorf("db: code failure: %w", err)
		}
		details["reason"], details["failures_in_window"] = reason, failures+1
		if err := s.db.audit(ctx, tx, cur.Actor(), "second_factor.failed", "user", cur.Username, details); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if reason == "replayed" {
			return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
				Fields: map[string]string{"code": "That code was used already. Wait for the next one your app shows."}}
		}
		if reason == "not_enrolled" {
			return Errorf(ECONFLICT, "Set up your second factor first.")
		}
		return errWrongCode
	}
	details["method"] = method
	if _, err := tx.ExecContext(ctx, `DELETE FROM second_factor_failures WHERE user_id = ?`, u.ID); err != nil {
		return err
	}
	if then != nil {
		if err := then(tx); err != nil {
			return err
		}
	}
	if purpose != "enrol" && purpose != "recovery_codes" {
		if err := s.db.audit(ctx, tx, cur.Actor(), "second_factor.verified", "user", cur.Username, details); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// check matches code against u's TOTP secret (a confirmed one, or the one
// being enrolled) and, if allowed, their unused recovery codes, using it up
// when it matches. reason is "" when it matched, else why not.
func (s *SecondFactor) check(ctx context.Context, tx *sql.Tx, u User, code string, allowRecovery bool, now time.Time) (method, reason string, err error) {
	var sealed []byte
	var confirmed sql.NullInt64
	var lastStep int64
	err = tx.QueryRowContext(ctx, `SELECT secret, confirmed_at, last_step FROM second_factors WHERE user_id = ?`, u.ID).
		Scan(&sealed, &confirmed, &lastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "not_enrolled", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("db: second factor: %w", err)
	}
	code = strings.ToLower(strings.Join(strings.Fields(code), ""))
	if isSixDigits(code) {
		secret, err := s.open(u.ID, sealed)
		if err != nil {
			return "", "", err
		}
		step := now.Unix() / totpPeriod
		matched := int64(-1)
		for _, st := range []int64{step - 1, step, step + 1} {
			want, err := totp.GenerateCodeCustom(secret, time.Unix(st*totpPeriod, 0), totpOpts)
			if err != nil {
				return "", "", fmt.Errorf("db: TOTP: %w", err)
			}
			if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
				matched = max(matched, st)
			}
		}
		switch {
		case matched < 0:
			return "", "wrong_code", nil
		case matched <= lastStep:
			return "", "replayed", nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE second_factors SET last_step = ? WHERE user_id = ? AND last_step < ?`, matched, u.ID, matched)
		if err != nil {
			return "", "", fmt.Errorf("db: TOTP step: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return "", "replayed", nil
		}
		return "totp", "", nil
	}
	if !allowRecovery || !confirmed.Valid {
		return "", "wrong_code", nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		now.UnixMilli(), u.ID, s.hashRecovery(u.ID, code))
	if err != nil {
		return "", "", fmt.Errorf("db: recovery code: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", "wrong_code", nil
	}
	return "recovery_code", "", nil
}

func isSixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// hashRecovery keys a recovery code (dashes dropped, lower case) to its
// user.
func (s *SecondFactor) hashRecovery(userID int64, code string) string {
	m := hmac.New(sha256.New, s.codeKey)
	fmt.Fprintf(m, "%d:%s", userID, strings.ReplaceAll(code, "-", ""))
	return hex.EncodeToString(m.Sum(nil))
}

var recoveryAlphabet = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newRecoveryCodes replaces the user's recovery codes with RecoveryCodes
// new ones (50 random bits each, "xxxxx-xxxxx"), keeping only their hashes.
func (s *SecondFactor) newRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return nil, fmt.Errorf("db: recovery codes: %w", err)
	}
	codes := make([]string, 0, RecoveryCodes)
	for len(codes) < RecoveryCodes {
		b := make([]byte, 7)
		_, _ = rand.Read(b)
		raw := recoveryAlphabet.EncodeToString(b)[:10]
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`,
			userID, s.hashRecovery(userID, raw))
		if err != nil {
			return nil, fmt.Errorf("db: recovery codes: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			codes = append(codes, raw[:5]+"-"+raw[5:])
		}
	}
	return codes, nil
}

// secondFactorReset is what a reset request carries.
type secondFactorReset struct {
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
}

// Reset removes a user's second factor (they enrol again at their next
// sign-in or from their security page), by admin. With two or more admins
// it is a request another admin approves; with one it applies at once.
func (s *SecondFactor) Reset(ctx context.Context, admin User, userID int64) (ApprovalRequest, bool, error) {
	r, applied, err := s.resetTx(ctx, admin, userID)
	return r, applied, s.approvals.recordRefusal(ctx, admin.Actor(), err)
}

func (s *SecondFactor) resetTx(ctx context.Context, admin User, userID int64) (ApprovalRequest, bool, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	defer tx.Rollback()
	target, err := getUser(ctx, tx, userID)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	u, err := enabledAdmin(ctx, tx, admin, refuse("reset_second_factor",
		ApprovalRequest{Kind: SecondFactorResetKind, TargetID: target.Username}, "Resetting a second factor needs the admin role."))
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM second_factors WHERE user_id = ?`, target.ID).Scan(&n); err != nil {
		return ApprovalRequest{}, false, err
	}
	if n == 0 {
		return ApprovalRequest{}, false, Errorf(ECONFLICT, "%s has no second factor to reset.", target.Username)
	}
	r, applied, err := s.approvals.adminChange(ctx, tx, u, Proposal{
		Kind: SecondFactorResetKind, TargetID: target.Username, Summary: "Reset the second factor of " + target.DisplayName,
		Payload: secondFactorReset{UserID: target.ID, Username: target.Username},
	}, "A reset of this second factor is already waiting for approval (#%d).", func(extra map[string]any) error {
		return s.applyReset(ctx, tx, u.Actor(), target, extra)
	})
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	return r, applied, tx.Commit()
}

func (s *SecondFactor) applyReset(ctx context.Context, tx *sql.Tx, actor Actor, target User, extra map[string]any) error {
	for _, q := range []string{`DELETE FROM second_factors WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`,
		`DELETE FROM second_factor_failures WHERE user_id = ?`, `UPDATE sessions SET stepped_up_at = NULL WHERE user_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, target.ID); err != nil {
			return fmt.Errorf("db: reset second factor: %w", err)
		}
	}
	return s.db.audit(ctx, tx, actor, "second_factor.reset", "user", target.Username, extra)
}

func (s *SecondFactor) onResetApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	var p secondFactorReset
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return fmt.Errorf("db: reset payload: %w", err)
	}
	target, err := getUser(ctx, tx, p.UserID)
	if err != nil {
		return err
	}
	if target.Username != r.TargetID {
		return fmt.Errorf("db: reset %d: payload user %q does not match target %q", r.ID, target.Username, r.TargetID)
	}
	return s.applyReset(ctx, tx, Actor{ID: r.MakerID, Username: r.Maker}, target, map[string]any{"request_id": r.ID})
}

// stepUpBand is what a band change carries.
type stepUpBand struct {
	AbovePaise  int64 `json:"above_paise"`
	BeforePaise int64 `json:"before_paise"`
}

// StepUpBandChangeOf is a band request's change (now, proposed); ok is
// false for other kinds.
func StepUpBandChangeOf(r ApprovalRequest) (before, after int64, ok bool) {
	var p stepUpBand
	if r.Kind != StepUpBandKind || json.Unmarshal(r.Payload, &p) != nil {
		return 0, 0, false
	}
	return p.BeforePaise, p.AbovePaise, true
}

// SetStepUpAbove changes the step-up band, by admin: deciding a request
// above abovePaise will need a fresh code. With two or more admins it is a
// request another admin approves.
func (s *SecondFactor) SetStepUpAbove(ctx context.Context, admin User, abovePaise int64) (ApprovalRequest, bool, error) {
	if abovePaise < 0 {
		return ApprovalRequest{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"above": "Give an amount of ₹0 or more."}}
	}
	r, applied, err := s.bandTx(ctx, admin, abovePaise)
	return r, applied, s.approvals.recordRefusal(ctx, admin.Actor(), err)
}

func (s *SecondFactor) bandTx(ctx context.Context, admin User, abovePaise int64) (ApprovalRequest, bool, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	defer tx.Rollback()
	u, err := enabledAdmin(ctx, tx, admin, refuse("change_step_up_band",
		ApprovalRequest{Kind: StepUpBandKind, TargetID: "step_up_above"}, "Changing the step-up band needs the admin role."))
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	before, err := stepUpAbove(ctx, tx)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	if before == abovePaise {
		return ApprovalRequest{}, false, Errorf(EINVALID, "That is already the step-up band.")
	}
	r, applied, err := s.approvals.adminChange(ctx, tx, u, Proposal{
		Kind: StepUpBandKind, TargetID: "step_up_above",
		Summary: "Ask for a code above " + rupees(abovePaise) + " (now above " + rupees(before) + ")",
		Payload: stepUpBand{AbovePaise: abovePaise, BeforePaise: before},
	}, "A change of the step-up band is already waiting for approval (#%d).", func(extra map[string]any) error {
		return s.applyBand(ctx, tx, u.Actor(), abovePaise, before, extra)
	})
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	return r, applied, tx.Commit()
}

func (s *SecondFactor) applyBand(ctx context.Context, tx *sql.Tx, actor Actor, above, before int64, extra map[string]any) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO security_settings (id, step_up_above_paise, updated_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET step_up_above_paise = excluded.step_up_above_paise, updated_at = excluded.updated_at`,
		above, s.db.nowMS()); err != nil {
		return fmt.Errorf("db: step-up band: %w", err)
	}
	details := map[string]any{"step_up_above_paise": Change{Before: before, After: above}}
	for k, v := range extra {
		details[k] = v
	}
	return s.db.audit(ctx, tx, actor, "security.step_up_band_changed", "security_setting", "step_up_above", details)
}

func (s *SecondFactor) onBandApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	var p stepUpBand
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return fmt.Errorf("db: band payload: %w", err)
	}
	if p.AbovePaise < 0 {
		return fmt.Errorf("db: band %d: negative amount", r.ID)
	}
	before, err := stepUpAbove(ctx, tx)
	if err != nil {
		return err
	}
	return s.applyBand(ctx, tx, Actor{ID: r.MakerID, Username: r.Maker}, p.AbovePaise, before, map[string]any{"request_id": r.ID})
}

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// LoginPolicy is the sign-in throttle. It is kept per username and client
// address, so that failures from one address never lock the account for
// another: someone who knows a username can slow down only their own
// guesses. Across all addresses a username's failures only slow sign-in
// (SlowAfter), never lock it.
type LoginPolicy struct {
	// FreeFailures from one address cost nothing. Each failure after them
	// locks that username for that address: FirstLock, doubling with each
	// further failure, up to MaxLock.
	FreeFailures int
	FirstLock    time.Duration
	MaxLock      time.Duration
	// Window: failures older than this are forgotten.
	Window time.Duration
	// SlowAfter failures of one username within Window, from all addresses
	// together, make every further attempt at it wait before its password
	// is checked: SlowStep for each failure beyond, up to MaxSlow.
	SlowAfter int
	SlowStep  time.Duration
	MaxSlow   time.Duration
	// Wait is how the slowdown waits; nil: it sleeps. Tests replace it.
	Wait func(ctx context.Context, d time.Duration) error
}

// DefaultLoginPolicy: three free failures from an address, then 30 s, 1, 2,
// 4, 8 and 15 minutes; failures are forgotten after an hour; from twenty
// failures on, every attempt at the username waits up to 3 s.
var DefaultLoginPolicy = LoginPolicy{FreeFailures: 3, FirstLock: 30 * time.Second, MaxLock: 15 * time.Minute,
	Window: time.Hour, SlowAfter: 20, SlowStep: 100 * time.Millisecond, MaxSlow: 3 * time.Second}

// lockFor is how long the k-th failure from one address locks it.
func (p LoginPolicy) lockFor(k int) time.Duration {
	if k <= p.FreeFailures {
		return 0
	}
	d := p.FirstLock
	for i := p.FreeFailures + 1; i < k && d < p.MaxLock; i++ {
		d *= 2
	}
	return min(d, p.MaxLock)
}

// slowdown is how long an attempt waits when the username has failed n
// times within the window from all addresses.
func (p LoginPolicy) slowdown(n int) time.Duration {
	if p.SlowAfter <= 0 || n < p.SlowAfter {
		return 0
	}
	return min(p.MaxSlow, time.Duration(n-p.SlowAfter+1)*p.SlowStep)
}

func (p LoginPolicy) wait(ctx context.Context, d time.Duration) error {
	if p.Wait != nil {
		return p.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LoginMeta describes where a sign-in attempt came from, for the throttle
// and the audit log. RemoteAddr is the client's address as the web layer
// trusts it: the TCP peer, or what a trusted proxy says.
type LoginMeta struct {
	RemoteAddr string `json:"remote_addr"`
	UserAgent  string `json:"user_agent"`
}

// client is the address the throttle keys on: an IPv4 address, or an IPv6
// /64 (one subscriber's allocation, which anyone on it can cycle through).
func (m LoginMeta) client() string {
	a, err := netip.ParseAddr(strings.TrimSpace(m.RemoteAddr))
	if err != nil {
		if m.RemoteAddr == "" {
			return "unknown"
		}
		return m.RemoteAddr
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ErrBadCredentials is the one answer to an unknown user or a wrong password,
// so that usernames cannot be probed.
var ErrBadCredentials = Errorf(EUNAUTHORIZED, "Wrong username or password.")

// dummyHash is verified against when the username is unknown, so that a
// missing user costs as much time as a wrong password.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$rWa2Yzv/8ByaZHBOxZRm08gOq4Bl6ZQY9a1RE6Zr8eA"

type lockRow struct {
	username    string
	client      string
	lockedUntil int64
}

// Authenticate checks a username and password under the throttle. It records
// and audits every failure, the locks they cause and their end.
//
// Attempts at one username from one address take turns (signIns), so that
// guesses sent together are throttled as if sent one after another, while a
// person who signs in from several tabs at once is not taken for a guesser.
// Each attempt is also counted (reserve) before its password is checked, in
// a write transaction with the lock check, so that no more passwords are
// checked before a lock than the policy allows, even across a crash.
func (d *DB) Authenticate(ctx context.Context, h *Hasher, username, password string, meta LoginMeta) (User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" || password == "" {
		return User{}, &Error{Code: EINVALID, Message: "Enter your username and password.",
			Fields: map[string]string{"username": "Enter your username and password."}}
	}
	done, err := d.signIns.take(ctx, username+"\x00"+meta.client())
	if err != nil {
		return User{}, ErrBusy
	}
	defer done()
	a, err := d.reserve(ctx, username, meta)
	if err != nil {
		return User{}, err
	}
	// Once reserved, the attempt is settled even if the request has been
	// given up: ErrBusy comes just when ctx ends, and a checked password's
	// outcome (its audit entry, a success's forgiveness) must not be lost.
	wctx := context.WithoutCancel(ctx)
	// An attempt that ends before its password is checked is no failure.
	u, hash, err := d.passwordOf(ctx, username, a.before)
	if err != nil {
		return User{}, d.release(wctx, a, err)
	}
	ok, verr := h.Verify(ctx, hash, password)
	if errors.Is(verr, ErrBusy) {
		return User{}, d.release(wctx, a, verr)
	}
	if u.ID == 0 || !ok || verr != nil {
		return User{}, d.recordFailure(wctx, a, "bad_credentials")
	}
	if u.Disabled {
		if err := d.recordFailure(wctx, a, "disabled"); ErrorCode(err) == ELOCKED {
			return User{}, err
		}
		return User{}, Errorf(EFORBIDDEN, "This account is disabled. Ask an admin to enable it.")
	}
	tx, err := d.beginWrite(wctx)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	// Only this address's failures are forgiven: another address that was
	// guessing stays as slow as it was. Of the locks, only the one this
	// attempt took goes: one taken by a guess still being checked is
	// settled by that guess's outcome.
	if _, err := tx.ExecContext(wctx, `DELETE FROM login_failures WHERE username = ? AND client = ?`, a.username, a.client); err != nil {
		return User{}, err
	}
	if err := a.dropLock(wctx, tx); err != nil {
		return User{}, err
	}
	if err := d.audit(wctx, tx, u.Actor(), "auth.signed_in", "user", u.Username, meta); err != nil {
		return User{}, err
	}
	return u, tx.Commit()
}

// passwordOf returns the user and the hash to check a password against,
// after the slowdown. An unknown username gets a zero User and dummyHash,
// so that it costs as much time as a wrong password.
func (d *DB) passwordOf(ctx context.Context, username string, failures int) (User, string, error) {
	if err := d.slowDown(ctx, failures); err != nil {
		return User{}, "", err
	}
	u, err := d.UserByUsername(ctx, username)
	if ErrorCode(err) == ENOTFOUND {
		return User{}, dummyHash, nil
	}
	if err != nil {
		return User{}, "", err
	}
	var hash string
	if err := d.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
		return User{}, "", fmt.Errorf("db: password hash: %w", err)
	}
	return u, hash, nil
}

func lockedMessage(until, now time.Time) string {
	return fmt.Sprintf("Too many failed sign-ins from your address: this account is locked here until %s UTC (in %s). Try again then, or ask an admin to unlock it.",
		until.UTC().Format("15:04:05"), inWords(until.Sub(now)))
}

// inWords says a wait as a person would: "30 seconds", "2 minutes".
func inWords(d time.Duration) string {
	if d < time.Minute {
		s := max(int((d+time.Second-1)/time.Second), 1)
		if s == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", s)
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// attempt is a sign-in attempt counted as a failure before its password is
// checked.
type attempt struct {
	username, client string
	meta             LoginMeta
	failure          int64 // its login_failures row
	at               time.Time
	// fromClient and total count the username's failures in the window,
	// this one included: from this client, and from all.
	fromClient, total int
	// before is the total the attempt found (its slowdown).
	before int
	// lock, when not zero, is the lock this attempt took for its client
	// until lockedUntil: the one its failure would cause.
	lock        time.Duration
	lockedUntil time.Time
}

// reserve refuses a username locked for this client (auditing the refused
// attempt), or else counts the attempt as a failure from it. An attempt that
// would lock its client if it failed takes that lock now, so that the
// attempts sent with it are refused unchecked; its failure or success will
// make the lock stand or lift it. An expired lock is ignored here and lifted
// by the sweep.
//
// The reservation is not audited: its outcome is, once the password is
// checked. A crash in between leaves a failure counted, and maybe a lock
// taken, with no audit entry; the sweep forgets both in time. That is the
// safe way to fail: a guess is never checked uncounted.
func (d *DB) reserve(ctx context.Context, username string, meta LoginMeta) (attempt, error) {
	a := attempt{username: username, client: meta.client(), meta: meta, at: d.Now()}
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return a, err
	}
	defer tx.Rollback()
	var until int64
	err = tx.QueryRowContext(ctx, `SELECT locked_until FROM login_locks WHERE username = ? AND client = ?`,
		username, a.client).Scan(&until)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("db: lock: %w", err)
	}
	if err == nil && until > a.at.UnixMilli() {
		if err := d.audit(ctx, tx, Actor{Username: username}, "auth.refused_locked", "user", username,
			map[string]any{"client": a.client, "remote_addr": meta.RemoteAddr, "user_agent": meta.UserAgent,
				"locked_until": time.UnixMilli(until).UTC()}); err != nil {
			return a, err
		}
		if err := tx.Commit(); err != nil {
			return a, err
		}
		return a, Errorf(ELOCKED, "%s", lockedMessage(time.UnixMilli(until), a.at))
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO login_failures (username, client, at) VALUES (?, ?, ?) RETURNING id`,
		username, a.client, a.at.UnixMilli()).Scan(&a.failure); err != nil {
		return a, fmt.Errorf("db: login failure: %w", err)
	}
	since := a.at.Add(-d.Login.Window).UnixMilli()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE username = ? AND client = ? AND at > ?`,
		username, a.client, since).Scan(&a.fromClient); err != nil {
		return a, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE username = ? AND at > ?`,
		username, since).Scan(&a.total); err != nil {
		return a, err
	}
	a.before = a.total - 1
	if a.lock = d.Login.lockFor(a.fromClient); a.lock > 0 {
		a.lockedUntil = a.at.Add(a.lock)
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_locks (username, client, locked_at, locked_until, failures) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (username, client) DO UPDATE SET locked_at = excluded.locked_at, locked_until = excluded.locked_until,
			failures = excluded.failures`, username, a.client, a.at.UnixMilli(), a.lockedUntil.UnixMilli(), a.fromClient); err != nil {
			return a, err
		}
	}
	return a, tx.Commit()
}

// dropLock lifts the lock a took, if it still holds it: a lock is only
// replaced once it has ended, and an admin may have lifted it meanwhile.
func (a attempt) dropLock(ctx context.Context, tx *sql.Tx) error {
	if a.lock == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM login_locks WHERE username = ? AND client = ? AND locked_at = ? AND failures = ?`,
		a.username, a.client, a.at.UnixMilli(), a.fromClient)
	return err
}

// release undoes the reservation of an attempt whose password was not
// checked, for cause, and returns cause. Nothing was audited for it, so
// nothing is now. If the release fails too, the attempt stays counted.
func (d *DB) release(ctx context.Context, a attempt, cause error) error {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return errors.Join(cause, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE id = ?`, a.failure); err != nil {
		return errors.Join(cause, fmt.Errorf("db: release attempt: %w", err))
	}
	if err := a.dropLock(ctx, tx); err != nil {
		return errors.Join(cause, err)
	}
	if err := tx.Commit(); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// slowDown makes an attempt at a username that many addresses together
// have failed at wait, before its password is checked. It never refuses.
func (d *DB) slowDown(ctx context.Context, failures int) error {
	if wait := d.Login.slowdown(failures); wait > 0 {
		return d.Login.wait(ctx, wait)
	}
	return nil
}

// recordFailure audits the failure of a reserved attempt, and the lock it
// took, which now stands.
func (d *DB) recordFailure(ctx context.Context, a attempt, reason string) error {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	details := map[string]any{"reason": reason, "client": a.client, "failures_from_client": a.fromClient, "failures_in_window": a.total,
		"remote_addr": a.meta.RemoteAddr, "user_agent": a.meta.UserAgent}
	if err := d.audit(ctx, tx, Actor{Username: a.username}, "auth.failed", "user", a.username, details); err != nil {
		return err
	}
	if a.total == d.Login.SlowAfter {
		if err := d.audit(ctx, tx, SystemActor, "auth.slowed", "user", a.username, map[string]any{
			"failures": a.total, "window": d.Login.Window.String(), "max_wait": d.Login.MaxSlow.String()}); err != nil {
			return err
		}
	}
	result := error(ErrBadCredentials)
	if a.lock > 0 {
		// An admin may have lifted the lock while the password was checked:
		// it is not taken again.
		var held bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM login_locks
			WHERE username = ? AND client = ? AND locked_at = ? AND failures = ?)`,
			a.username, a.client, a.at.UnixMilli(), a.fromClient).Scan(&held); err != nil {
			return err
		}
		if held {
			if err := d.audit(ctx, tx, SystemActor, "auth.locked", "user", a.username, map[string]any{"client": a.client,
				"failures": a.fromClient, "lock": a.lock.String(), "window": d.Login.Window.String(),
				"locked_until": a.lockedUntil.UTC()}); err != nil {
				return err
			}
			result = Errorf(ELOCKED, "%s", lockedMessage(a.lockedUntil, d.Now()))
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return result
}

func expiredLocks(ctx context.Context, tx *sql.Tx, now time.Time) ([]lockRow, error) {
	return queryAll(ctx, tx, "expired locks", func(s scanner) (lockRow, error) {
		var l lockRow
		return l, s.Scan(&l.username, &l.client, &l.lockedUntil)
	}, `SELECT username, client, locked_until FROM login_locks WHERE locked_until <= ?`, now.UnixMilli())
}

func (d *DB) unlock(ctx context.Context, tx *sql.Tx, actor Actor, l lockRow, reason string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_locks WHERE username = ? AND client = ?`, l.username, l.client); err != nil {
		return fmt.Errorf("db: unlock: %w", err)
	}
	return d.audit(ctx, tx, actor, "auth.unlocked", "user", l.username,
		map[string]any{"reason": reason, "client": l.client, "was_locked_until": time.UnixMilli(l.lockedUntil).UTC()})
}

// Unlock lifts every lock on a username, from every address, and forgets
// its failures: an admin vouches for the person.
func (d *DB) Unlock(ctx context.Context, actor Actor, username string) error {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	locks, err := queryAll(ctx, tx, "locks", func(s scanner) (lockRow, error) {
		var l lockRow
		return l, s.Scan(&l.username, &l.client, &l.lockedUntil)
	}, `SELECT username, client, locked_until FROM login_locks WHERE username = ? AND locked_until > ?`, username, d.nowMS())
	if err != nil {
		return err
	}
	if len(locks) == 0 {
		return Errorf(ECONFLICT, "%s is not locked.", username)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username = ?`, username); err != nil {
		return err
	}
	for _, l := range locks {
		if err := d.unlock(ctx, tx, actor, l, "by admin"); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_locks WHERE username = ?`, username); err != nil {
		return err
	}
	return tx.Commit()
}

// PasswordMatches reports, without recording anything, whether username exists
// and has password. Start-up uses it to refuse published demo passwords.
func (d *DB) PasswordMatches(ctx context.Context, h *Hasher, username, password string) (bool, error) {
	var hash string
	err := d.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE username = ?`, username).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return h.Verify(ctx, hash, password)
}

// turns lets one holder at a time act for a key; the others wait their turn
// or until their context ends. Keys are kept only while someone holds or
// waits for them.
type turns struct {
	mu   sync.Mutex
	keys map[string]*turn
}

type turn struct {
	free    chan struct{} // holds a token while nobody has the turn
	waiters int           // holders and waiters
}

// take waits for key's turn; done gives it to the next in line.
func (t *turns) take(ctx context.Context, key string) (done func(), err error) {
	t.mu.Lock()
	if t.keys == nil {
		t.keys = map[string]*turn{}
	}
	k := t.keys[key]
	if k == nil {
		k = &turn{free: make(chan struct{}, 1)}
		k.free <- struct{}{}
		t.keys[key] = k
	}
	k.waiters++
	t.mu.Unlock()
	leave := func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if k.waiters--; k.waiters == 0 {
			delete(t.keys, key)
		}
	}
	select {
	case <-k.free:
		return func() { k.free <- struct{}{}; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

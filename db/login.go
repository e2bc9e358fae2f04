package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
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
func (d *DB) Authenticate(ctx context.Context, h *Hasher, username, password string, meta LoginMeta) (User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" || password == "" {
		return User{}, &Error{Code: EINVALID, Message: "Enter your username and password.",
			Fields: map[string]string{"username": "Enter your username and password."}}
	}
	client := meta.client()
	if err := d.checkLock(ctx, username, client, meta); err != nil {
		return User{}, err
	}
	if err := d.slowDown(ctx, username); err != nil {
		return User{}, err
	}
	u, err := d.UserByUsername(ctx, username)
	hash := dummyHash
	if err == nil {
		if err := d.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
			return User{}, fmt.Errorf("db: password hash: %w", err)
		}
	} else if ErrorCode(err) != ENOTFOUND {
		return User{}, err
	}
	ok, verr := h.Verify(ctx, hash, password)
	if errors.Is(verr, ErrBusy) {
		return User{}, verr
	}
	if err != nil || !ok || verr != nil {
		return User{}, d.recordFailure(ctx, username, client, "bad_credentials", meta)
	}
	if u.Disabled {
		if err := d.recordFailure(ctx, username, client, "disabled", meta); ErrorCode(err) == ELOCKED {
			return User{}, err
		}
		return User{}, Errorf(EFORBIDDEN, "This account is disabled. Ask an admin to enable it.")
	}
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	// Only this address's failures are forgiven: another address that was
	// guessing stays as slow as it was.
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username = ? AND client = ?`, username, client); err != nil {
		return User{}, err
	}
	if err := d.audit(ctx, tx, u.Actor(), "auth.signed_in", "user", u.Username, meta); err != nil {
		return User{}, err
	}
	return u, tx.Commit()
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

// checkLock refuses a username locked for this client (auditing the refused
// attempt). An expired lock is ignored here and lifted by the sweep.
func (d *DB) checkLock(ctx context.Context, username, client string, meta LoginMeta) error {
	var until int64
	err := d.read.QueryRowContext(ctx, `SELECT locked_until FROM login_locks WHERE username = ? AND client = ?`,
		username, client).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("db: lock: %w", err)
	}
	now := d.Now()
	if until <= now.UnixMilli() {
		return nil
	}
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := d.audit(ctx, tx, Actor{Username: username}, "auth.refused_locked", "user", username,
		map[string]any{"client": client, "remote_addr": meta.RemoteAddr, "user_agent": meta.UserAgent,
			"locked_until": time.UnixMilli(until).UTC()}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return Errorf(ELOCKED, "%s", lockedMessage(time.UnixMilli(until), now))
}

// slowDown makes an attempt at a username that many addresses together
// have failed at wait, before its password is checked. It never refuses.
func (d *DB) slowDown(ctx context.Context, username string) error {
	var n int
	if err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE username = ? AND at > ?`,
		username, d.Now().Add(-d.Login.Window).UnixMilli()).Scan(&n); err != nil {
		return fmt.Errorf("db: login failures: %w", err)
	}
	if wait := d.Login.slowdown(n); wait > 0 {
		return d.Login.wait(ctx, wait)
	}
	return nil
}

func (d *DB) recordFailure(ctx context.Context, username, client, reason string, meta LoginMeta) error {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := d.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (username, client, at) VALUES (?, ?, ?)`,
		username, client, now.UnixMilli()); err != nil {
		return fmt.Errorf("db: login failure: %w", err)
	}
	since := now.Add(-d.Login.Window).UnixMilli()
	var fromClient, total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE username = ? AND client = ? AND at > ?`,
		username, client, since).Scan(&fromClient); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE username = ? AND at > ?`,
		username, since).Scan(&total); err != nil {
		return err
	}
	details := map[string]any{"reason": reason, "client": client, "failures_from_client": fromClient, "failures_in_window": total,
		"remote_addr": meta.RemoteAddr, "user_agent": meta.UserAgent}
	if err := d.audit(ctx, tx, Actor{Username: username}, "auth.failed", "user", username, details); err != nil {
		return err
	}
	if total == d.Login.SlowAfter {
		if err := d.audit(ctx, tx, SystemActor, "auth.slowed", "user", username, map[string]any{
			"failures": total, "window": d.Login.Window.String(), "max_wait": d.Login.MaxSlow.String()}); err != nil {
			return err
		}
	}
	result := error(ErrBadCredentials)
	if lock := d.Login.lockFor(fromClient); lock > 0 {
		until := now.Add(lock)
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_locks (username, client, locked_at, locked_until, failures) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (username, client) DO UPDATE SET locked_at = excluded.locked_at, locked_until = excluded.locked_until,
			failures = excluded.failures`, username, client, now.UnixMilli(), until.UnixMilli(), fromClient); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, SystemActor, "auth.locked", "user", username, map[string]any{"client": client,
			"failures": fromClient, "lock": lock.String(), "window": d.Login.Window.String(), "locked_until": until.UTC()}); err != nil {
			return err
		}
		result = Errorf(ELOCKED, "%s", lockedMessage(until, now))
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

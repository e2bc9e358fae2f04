package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LoginPolicy is the per-username throttle: MaxFailures failures within Window
// lock the username for LockFor.
type LoginPolicy struct {
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
}

// DefaultLoginPolicy: five failures in fifteen minutes lock for fifteen.
var DefaultLoginPolicy = LoginPolicy{MaxFailures: 5, Window: 15 * time.Minute, LockFor: 15 * time.Minute}

// LoginMeta describes where a sign-in attempt came from, for the audit log.
type LoginMeta struct {
	RemoteAddr string `json:"remote_addr"`
	UserAgent  string `json:"user_agent"`
}

// ErrBadCredentials is the one answer to an unknown user or a wrong password,
// so that usernames cannot be probed.
var ErrBadCredentials = Errorf(EUNAUTHORIZED, "Wrong username or password.")

// dummyHash is verified against when the username is unknown, so that a
// missing user costs as much time as a wrong password.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$rWa2Yzv/8ByaZHBOxZRm08gOq4Bl6ZQY9a1RE6Zr8eA"

type lockRow struct {
	username    string
	lockedUntil int64
}

// Authenticate checks a username and password under the throttle. It records
// and audits every failure, the lock they cause, and the unlock when it ends.
func (d *DB) Authenticate(ctx context.Context, h *Hasher, username, password string, meta LoginMeta) (User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" || password == "" {
		return User{}, &Error{Code: EINVALID, Message: "Enter your username and password.",
			Fields: map[string]string{"username": "Enter your username and password."}}
	}
	if err := d.checkLock(ctx, username, meta); err != nil {
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
		return User{}, d.recordFailure(ctx, username, "bad_credentials", meta)
	}
	if u.Disabled {
		if err := d.recordFailure(ctx, username, "disabled", meta); ErrorCode(err) == ELOCKED {
			return User{}, err
		}
		return User{}, Errorf(EFORBIDDEN, "This account is disabled. Ask an admin to enable it.")
	}
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username = ?`, username); err != nil {
		return User{}, err
	}
	if err := d.audit(ctx, tx, u.Actor(), "auth.signed_in", "user", u.Username, meta); err != nil {
		return User{}, err
	}
	return u, tx.Commit()
}

func lockedMessage(until time.Time) string {
	return fmt.Sprintf("Too many failed sign-ins: this account is locked until %s UTC. Try again then, or ask an admin to unlock it.",
		until.UTC().Format("15:04"))
}

// checkLock refuses a locked username (auditing the refused attempt) and lifts
// an expired lock (auditing the unlock).
func (d *DB) checkLock(ctx context.Context, username string, meta LoginMeta) error {
	var until int64
	err := d.read.QueryRowContext(ctx, `SELECT locked_until FROM login_locks WHERE username = ?`, username).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("db: lock: %w", err)
	}
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if until > d.nowMS() {
		if err := d.audit(ctx, tx, Actor{Username: username}, "auth.refused_locked", "user", username, meta); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		return Errorf(ELOCKED, "%s", lockedMessage(time.UnixMilli(until)))
	}
	if err := d.unlock(ctx, tx, SystemActor, lockRow{username, until}, "expired"); err != nil {
		return err
	}
	return tx.Commit()
}

func (d *DB) recordFailure(ctx context.Context, username, reason string, meta LoginMeta) error {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := d.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (username, at) VALUES (?, ?)`, username, now.UnixMilli()); err != nil {
		return fmt.Errorf("db: login failure: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE username = ? AND at > ?`,
		username, now.Add(-d.Login.Window).UnixMilli()).Scan(&n); err != nil {
		return err
	}
	details := map[string]any{"reason": reason, "failures_in_window": n, "remote_addr": meta.RemoteAddr, "user_agent": meta.UserAgent}
	if err := d.audit(ctx, tx, Actor{Username: username}, "auth.failed", "user", username, details); err != nil {
		return err
	}
	result := error(ErrBadCredentials)
	if n >= d.Login.MaxFailures {
		until := now.Add(d.Login.LockFor)
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_locks (username, locked_at, locked_until) VALUES (?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET locked_at = excluded.locked_at, locked_until = excluded.locked_until`,
			username, now.UnixMilli(), until.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username = ?`, username); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, SystemActor, "auth.locked", "user", username,
			map[string]any{"failures": n, "window": d.Login.Window.String(), "locked_until": until.UTC()}); err != nil {
			return err
		}
		result = Errorf(ELOCKED, "%s", lockedMessage(until))
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return result
}

func expiredLocks(ctx context.Context, tx *sql.Tx, now time.Time) ([]lockRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT username, locked_until FROM login_locks WHERE locked_until <= ?`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("db: expired locks: %w", err)
	}
	defer rows.Close()
	var out []lockRow
	for rows.Next() {
		var l lockRow
		if err := rows.Scan(&l.username, &l.lockedUntil); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (d *DB) unlock(ctx context.Context, tx *sql.Tx, actor Actor, l lockRow, reason string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_locks WHERE username = ?`, l.username); err != nil {
		return fmt.Errorf("db: unlock: %w", err)
	}
	return d.audit(ctx, tx, actor, "auth.unlocked", "user", l.username,
		map[string]any{"reason": reason, "was_locked_until": time.UnixMilli(l.lockedUntil).UTC()})
}

// Unlock lifts a username's lock before it expires.
func (d *DB) Unlock(ctx context.Context, actor Actor, username string) error {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var until int64
	err = tx.QueryRowContext(ctx, `SELECT locked_until FROM login_locks WHERE username = ?`, username).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return Errorf(ECONFLICT, "%s is not locked.", username)
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username = ?`, username); err != nil {
		return err
	}
	if err := d.unlock(ctx, tx, actor, lockRow{username, until}, "by admin"); err != nil {
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

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is one signed-in (or signing-in) browser. The cookie holds only the
// signed ID; everything else lives here.
type Session struct {
	ID         string
	UserID     int64 // 0 before sign-in
	CSRFToken  string
	Data       []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	UserAgent  string
	RemoteAddr string
}

// ErrNoSession: the id names no live session.
var ErrNoSession = Errorf(EUNAUTHORIZED, "Your session has ended; please sign in again.")

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, s Session) error {
	var userID any
	if s.UserID != 0 {
		userID = s.UserID
	}
	_, err := d.write.ExecContext(ctx, `INSERT INTO sessions (id, user_id, csrf_token, data, created_at, last_seen_at, expires_at, user_agent, remote_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.ID, userID, s.CSRFToken, s.Data, s.CreatedAt.UnixMilli(), s.LastSeenAt.UnixMilli(),
		s.ExpiresAt.UnixMilli(), s.UserAgent, s.RemoteAddr)
	if err != nil {
		return fmt.Errorf("db: create session: %w", err)
	}
	return nil
}

// Session loads a session by id; ErrNoSession when there is none. Every
// request asks, so the answer is kept while nothing is written.
func (d *DB) Session(ctx context.Context, id string) (Session, error) {
	version := d.Version()
	if s, ok := d.sessionMemo.get(version, id); ok {
		return s, nil
	}
	s, err := d.readSession(ctx, id)
	if err == nil {
		d.sessionMemo.put(version, id, s)
	}
	return s, err
}

func (d *DB) readSession(ctx context.Context, id string) (Session, error) {
	var s Session
	var userID sql.NullInt64
	var created, seen, expires int64
	err := d.read.QueryRowContext(ctx, `SELECT id, user_id, csrf_token, data, created_at, last_seen_at, expires_at, user_agent, remote_addr
		FROM sessions WHERE id = ?`, id).Scan(&s.ID, &userID, &s.CSRFToken, &s.Data, &created, &seen, &expires, &s.UserAgent, &s.RemoteAddr)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNoSession
	}
	if err != nil {
		return s, fmt.Errorf("db: session: %w", err)
	}
	s.UserID = userID.Int64
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = time.UnixMilli(created), time.UnixMilli(seen), time.UnixMilli(expires)
	return s, nil
}

// SaveSessionData replaces a session's data and marks it seen.
func (d *DB) SaveSessionData(ctx context.Context, id string, data []byte, seen time.Time) error {
	_, err := d.write.ExecContext(ctx, `UPDATE sessions SET data = ?, last_seen_at = ? WHERE id = ?`, data, seen.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("db: save session: %w", err)
	}
	return nil
}

// TouchSession marks a session seen now, keeping it from idling out.
func (d *DB) TouchSession(ctx context.Context, id string, seen time.Time) error {
	_, err := d.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, seen.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("db: touch session: %w", err)
	}
	return nil
}

// DeleteSession removes a session (expired, rotated or replaced).
func (d *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := d.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("db: delete session: %w", err)
	}
	return nil
}

// SignOut ends one session of actor, audited.
func (d *DB) SignOut(ctx context.Context, actor Actor, sessionID string) error {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, sessionID); err != nil {
		return fmt.Errorf("db: sign out: %w", err)
	}
	if err := d.audit(ctx, tx, actor, "auth.signed_out", "user", actor.Username, nil); err != nil {
		return err
	}
	return tx.Commit()
}

func deleteUserSessions(ctx context.Context, tx *sql.Tx, userID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("db: end sessions: %w", err)
	}
	return res.RowsAffected()
}

// SessionUser returns the user a session belongs to, with roles and state.
func (d *DB) SessionUser(ctx context.Context, userID int64) (User, error) {
	return d.User(ctx, userID)
}

// SweepResult counts what a sweep removed.
type SweepResult struct {
	Sessions int64
	Failures int64
	Unlocked int64
}

// Sweep removes sessions past their absolute expiry or idle longer than idle,
// login failures older than the throttle window, and expired locks (audited as
// unlocks).
func (d *DB) Sweep(ctx context.Context, idle time.Duration) (SweepResult, error) {
	var r SweepResult
	now := d.Now()
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return r, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
		now.UnixMilli(), now.Add(-idle).UnixMilli())
	if err != nil {
		return r, fmt.Errorf("db: sweep sessions: %w", err)
	}
	r.Sessions, _ = res.RowsAffected()
	res, err = tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at <= ?`, now.Add(-d.Login.Window).UnixMilli())
	if err != nil {
		return r, fmt.Errorf("db: sweep failures: %w", err)
	}
	r.Failures, _ = res.RowsAffected()
	expired, err := expiredLocks(ctx, tx, now)
	if err != nil {
		return r, err
	}
	for _, l := range expired {
		if err := d.unlock(ctx, tx, SystemActor, l, "expired"); err != nil {
			return r, err
		}
		r.Unlocked++
	}
	return r, tx.Commit()
}

// CountUserSessions returns how many live sessions a user has.
func (d *DB) CountUserSessions(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE user_id = ? AND expires_at > ?`, userID, d.nowMS()).Scan(&n)
	return n, err
}

package db

// Online backups and restores.
//
// A backup is SQLite's VACUUM INTO run in a read transaction: a consistent
// snapshot of the database as of one commit, written while the app keeps
// serving and writing (WAL lets readers and the writer run side by side).
// The copy then gets its own backup_marks row saying when it was taken.
//
// A restore brings back a database as it was at the backup, but the banks
// kept going: a payout the copy shows approved and not yet sent may have
// been sent, even paid, after the backup was taken. So the restore marks
// every payout that is not final as sent with an unknown outcome (its
// sent_at set, its state unknown), and a payout still waiting for approval
// as possibly sent: the dispatcher's own rule, that a payout once sent is
// asked about at the bank before anything else and sent again only when
// the bank says it never got it, then covers all of them. No second
// recovery path exists.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"paydesk/providers"
)

// BackupResult describes a backup written.
type BackupResult struct {
	Path    string
	TakenAt time.Time
	Bytes   int64
}

// Backup writes a consistent copy of the database at path to dest, while an
// instance may be running on it. dest must not exist: a backup never
// overwrites a file.
func Backup(ctx context.Context, path, dest string) (BackupResult, error) {
	if _, err := os.Stat(path); err != nil {
		return BackupResult{}, fmt.Errorf("db: backup: %w", err)
	}
	if _, err := os.Stat(dest); err == nil {
		return BackupResult{}, fmt.Errorf("db: backup: %s exists; choose a new file name", dest)
	}
	// A plain connection: VACUUM INTO reads in one read transaction and
	// writes only the new file, but query_only would refuse it.
	src, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		return BackupResult{}, fmt.Errorf("db: backup: %w", err)
	}
	defer src.Close()
	partial := dest + ".partial"
	_ = os.Remove(partial) // a leftover of a backup that died
	taken := time.Now()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, partial); err != nil {
		_ = os.Remove(partial)
		return BackupResult{}, fmt.Errorf("db: backup: %w", err)
	}
	if err := markBackup(ctx, partial, taken); err != nil {
		_ = os.Remove(partial)
		return BackupResult{}, err
	}
	if err := syncFile(partial); err != nil {
		return BackupResult{}, err
	}
	if err := os.Rename(partial, dest); err != nil {
		return BackupResult{}, fmt.Errorf("db: backup: %w", err)
	}
	if err := syncFile(filepath.Dir(dest)); err != nil {
		return BackupResult{}, err
	}
	fi, err := os.Stat(dest)
	if err != nil {
		return BackupResult{}, err
	}
	return BackupResult{Path: dest, TakenAt: taken, Bytes: fi.Size()}, nil
}

// markBackup records in the copy when it was taken.
func markBackup(ctx context.Context, copyPath string, taken time.Time) error {
	c, err := sql.Open("sqlite3", "file:"+copyPath+"?_synchronous=FULL")
	if err != nil {
		return fmt.Errorf("db: backup mark: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `INSERT INTO backup_marks (taken_at) VALUES (?)`, taken.UnixMilli()); err != nil {
		return fmt.Errorf("db: backup mark: %w", err)
	}
	return c.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("db: sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("db: sync %s: %w", path, err)
	}
	return nil
}

// Lock is a running instance's hold on its database file.
type Lock struct{ f *os.File }

// ErrLocked is returned when another process holds the database.
var ErrLocked = errors.New("a running Paydesk holds this database")

// LockDatabase takes the exclusive hold on the database at path that a
// running instance keeps (serve) and that a restore needs; it fails with
// ErrLocked while another process has it. The operating system lets go of
// it when the process ends, however it ends.
func LockDatabase(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("db: lock: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("db: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, path)
		}
		return nil, fmt.Errorf("db: lock: %w", err)
	}
	return &Lock{f: f}, nil
}

// Release lets go of the hold.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// RestoreResult describes a restore done.
type RestoreResult struct {
	// TakenAt is when the backup was taken (zero when the copy does not say).
	TakenAt time.Time
	// SetAside is where the database that was replaced now is ("" when
	// there was none).
	SetAside string
	// Marked counts the payouts that are asked about at the bank before
	// anything is sent.
	Marked int
}

// Restore replaces the database at path with the backup at from. It
// refuses while a running instance holds path (LockDatabase); the database
// it replaces is kept beside it, renamed. The restored database is migrated
// to this version and every payout not final is marked to be asked about
// at the bank first (see the top of this file).
func Restore(ctx context.Context, from, path string) (RestoreResult, error) {
	var res RestoreResult
	lock, err := LockDatabase(path)
	if err != nil {
		return res, err
	}
	defer lock.Release()
	if err := checkBackup(ctx, from); err != nil {
		return res, err
	}
	staged := path + ".restoring"
	if err := copyFile(from, staged); err != nil {
		return res, err
	}
	if _, err := os.Stat(path); err == nil {
		res.SetAside = fmt.Sprintf("%s.before-restore-%s", path, time.Now().UTC().Format("20060102T150405Z"))
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+suffix, res.SetAside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return res, fmt.Errorf("db: restore: set aside %s: %w", path+suffix, err)
			}
		}
	}
	if err := os.Rename(staged, path); err != nil {
		return res, fmt.Errorf("db: restore: %w", err)
	}
	d, err := Open(ctx, path)
	if err != nil {
		return res, err
	}
	defer d.Close()
	res.TakenAt, res.Marked, err = d.markRestored(ctx, from)
	return res, err
}

// checkBackup makes sure from is a sound Paydesk database.
func checkBackup(ctx context.Context, from string) error {
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("db: restore: %w", err)
	}
	c, err := sql.Open("sqlite3", "file:"+from+"?mode=ro")
	if err != nil {
		return fmt.Errorf("db: restore: %w", err)
	}
	defer c.Close()
	var check string
	if err := c.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return fmt.Errorf("db: restore: %s is not a SQLite database: %w", from, err)
	}
	if check != "ok" {
		return fmt.Errorf("db: restore: %s is damaged: %s", from, check)
	}
	var n int
	if err := c.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("db: restore: %s is not a Paydesk database", from)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("db: restore: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("db: restore: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("db: restore: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("db: restore: %w", err)
	}
	return out.Close()
}

// restoredOpenStates are the payout states a restore marks as sent with an
// unknown outcome: handed to the dispatcher, so perhaps sent since.
var restoredOpenStates = []providers.PayoutState{providers.StateApproved, providers.StateQueued,
	providers.StateProcessing, providers.StateUnknown}

// markRestored makes every payout that is not final ask the bank before
// anything is sent, in one transaction with its events, audit entries and
// dispatch jobs; jobs the backup caught running are made available again.
func (d *DB) markRestored(ctx context.Context, from string) (time.Time, int, error) {
	queue, err := newInsertClient(d)
	if err != nil {
		return time.Time{}, 0, err
	}
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return time.Time{}, 0, err
	}
	defer tx.Rollback()
	var takenMS sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(taken_at) FROM backup_marks`).Scan(&takenMS); err != nil {
		return time.Time{}, 0, fmt.Errorf("db: restore: %w", err)
	}
	var taken time.Time
	when := "an unknown time"
	if takenMS.Valid {
		taken = time.UnixMilli(takenMS.Int64)
		when = taken.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	now := d.nowMS()
	open := append([]providers.PayoutState{providers.StatePendingApproval}, restoredOpenStates...)
	marks := make([]string, len(open))
	args := make([]any, len(open))
	for i, st := range open {
		marks[i], args[i] = "?", string(st)
	}
	type openPayout struct {
		id    string
		state providers.PayoutState
	}
	list, err := queryAll(ctx, tx, "restored payouts", func(s scanner) (openPayout, error) {
		var p openPayout
		return p, s.Scan(&p.id, &p.state)
	}, `SELECT id, state FROM payouts WHERE state IN (`+strings.Join(marks, ", ")+`) ORDER BY id`, args...)
	if err != nil {
		return taken, 0, err
	}
	for _, p := range list {
		next, msg := providers.StateUnknown, "restored from a backup taken at "+when+
			": it may have been sent since, so the bank is asked about it before anything is sent"
		if p.state == providers.StatePendingApproval {
			next, msg = p.state, "restored from a backup taken at "+when+
				": it may have been approved and sent since, so once approved the bank is asked about it before anything is sent"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payouts SET state = ?, sent_at = coalesce(sent_at, ?), final_at = NULL, updated_at = ? WHERE id = ?`,
			string(next), now, now, p.id); err != nil {
			return taken, 0, fmt.Errorf("db: restore payout %s: %w", p.id, err)
		}
		if err := payoutTimeline.add(ctx, tx, now, p.id, "restored", string(next), "", msg, "", SystemActor.Username); err != nil {
			return taken, 0, err
		}
		if err := d.audit(ctx, tx, SystemActor, "payout.restored", "payout", p.id, map[string]any{
			"state": Change{Before: p.state, After: next}, "backup_taken_at": when}); err != nil {
			return taken, 0, err
		}
		if next == providers.StateUnknown {
			if err := insertJob(ctx, tx, queue, DispatchArgs{PayoutID: p.id}); err != nil {
				return taken, 0, fmt.Errorf("db: restore: enqueue %s: %w", p.id, err)
			}
		}
	}
	// The process that ran them is gone: due at once, and each run of a
	// dispatch job starts by asking the bank.
	if _, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = coalesce(attempted_at, scheduled_at)
		WHERE state = 'running'`); err != nil {
		return taken, 0, fmt.Errorf("db: restore: jobs: %w", err)
	}
	if err := d.audit(ctx, tx, SystemActor, "system.restored", "database", filepath.Base(d.path), map[string]any{
		"from": from, "backup_taken_at": when, "payouts_marked": len(list)}); err != nil {
		return taken, 0, err
	}
	return taken, len(list), tx.Commit()
}

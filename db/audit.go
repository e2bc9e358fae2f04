package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Actor is who made a change: a signed-in user, or Paydesk itself.
type Actor struct {
	ID       int64 // 0 for the system
	Username string
}

// SystemActor is Paydesk acting on its own (sweeps, start-up seeding, jobs).
var SystemActor = Actor{Username: "system"}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID         int64
	At         time.Time
	ActorID    int64
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	Details    string // JSON, usually {"before":…,"after":…}
	PrevHash   string
	Hash       string
}

// Change is the before/after pair most audit entries carry.
type Change struct {
	Before any `json:"before,omitempty"`
	After  any `json:"after,omitempty"`
}

// audit appends one entry to the chain inside tx. Every state change calls it
// in the transaction that makes the change, so the two commit or fail together.
func (d *DB) audit(ctx context.Context, tx *sql.Tx, actor Actor, action, targetType, targetID string, details any) error {
	if b := txBatchOf(ctx, tx); b != nil {
		return b.audit.append(ctx, actor, action, targetType, targetID, details)
	}
	body := []byte("{}")
	if details != nil {
		var err error
		if body, err = json.Marshal(details); err != nil {
			return fmt.Errorf("db: audit details: %w", err)
		}
	}
	var lastID int64
	var lastHash string
	if err := tx.QueryRowContext(ctx, `SELECT last_id, last_hash FROM audit_head WHERE singleton = 1`).Scan(&lastID, &lastHash); err != nil {
		return fmt.Errorf("db: audit head: %w", err)
	}
	e := AuditEntry{
		ID: lastID + 1, At: d.Now().UTC().Truncate(time.Millisecond), ActorID: actor.ID, Actor: actor.Username,
		Action: action, TargetType: targetType, TargetID: targetID, Details: string(body), PrevHash: lastHash,
	}
	e.Hash = e.computeHash()
	var actorID any
	if actor.ID != 0 {
		actorID = actor.ID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log
		(id, at, actor_id, actor, action, target_type, target_id, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.At.UnixMilli(), actorID, e.Actor, e.Action, e.TargetType, e.TargetID, e.Details, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("db: audit append: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET last_id = ?, last_hash = ? WHERE singleton = 1`, e.ID, e.Hash); err != nil {
		return fmt.Errorf("db: audit head: %w", err)
	}
	return nil
}

// computeHash covers the id too, so moving a row's content to another id (a
// swap) breaks the chain just as an edit does.
// The text is built in one buffer and hashed at once: a bulk decision
// hashes two entries per request, and formatting each part through fmt
// was a seventh of its allocations.
func (e AuditEntry) computeHash() string {
	var num [3][20]byte
	parts := [...]string{
		e.PrevHash, string(strconv.AppendInt(num[0][:0], e.ID, 10)), string(strconv.AppendInt(num[1][:0], e.At.UnixMilli(), 10)),
		string(strconv.AppendInt(num[2][:0], e.ActorID, 10)), e.Actor, e.Action, e.TargetType, e.TargetID, e.Details,
	}
	size := 0
	for _, part := range parts {
		size += len(part) + 22
	}
	var stack [512]byte
	buf := stack[:0]
	if size > len(stack) {
		buf = make([]byte, 0, size)
	}
	for _, part := range parts {
		// Length-prefixed so that no two different rows hash the same text.
		buf = strconv.AppendInt(buf, int64(len(part)), 10)
		buf = append(buf, ':')
		buf = append(buf, part...)
		buf = append(buf, ';')
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

// ChainError names the first audit row that does not verify.
type ChainError struct {
	ID     int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at row %d: %s", e.ID, e.Reason)
}

// VerifyAudit walks the whole chain and returns the number of rows checked, or
// a *ChainError for the first row that was edited, removed or moved.
func (d *DB) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := d.read.QueryContext(ctx, `SELECT id, at, coalesce(actor_id, 0), actor, action, target_type, target_id, details, prev_hash, hash
		FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("db: audit verify: %w", err)
	}
	defer rows.Close()
	var prevHash string
	var prevID int64
	n := 0
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return n, err
		}
		switch {
		case e.ID != prevID+1:
			return n, &ChainError{ID: e.ID, Reason: fmt.Sprintf("row %d is missing before it", prevID+1)}
		case e.PrevHash != prevHash:
			return n, &ChainError{ID: e.ID, Reason: "previous-hash does not match the row before it (a row was removed or reordered)"}
		case e.computeHash() != e.Hash:
			return n, &ChainError{ID: e.ID, Reason: "content does not match its hash (the row was edited)"}
		}
		prevHash, prevID = e.Hash, e.ID
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("db: audit verify: %w", err)
	}
	var headID int64
	var headHash string
	if err := d.read.QueryRowContext(ctx, `SELECT last_id, last_hash FROM audit_head WHERE singleton = 1`).Scan(&headID, &headHash); err != nil {
		return n, fmt.Errorf("db: audit head: %w", err)
	}
	if headID != prevID || headHash != prevHash {
		return n, &ChainError{ID: headID, Reason: fmt.Sprintf("the chain ends at row %d but its head records row %d (rows were removed from the end)", prevID, headID)}
	}
	return n, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanAudit(s scanner) (AuditEntry, error) {
	var e AuditEntry
	var at int64
	if err := s.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.TargetType, &e.TargetID, &e.Details, &e.PrevHash, &e.Hash); err != nil {
		return e, fmt.Errorf("db: audit scan: %w", err)
	}
	e.At = time.UnixMilli(at).UTC()
	return e, nil
}

// AuditFilter selects audit rows. Zero fields match everything.
type AuditFilter struct {
	Actor  string
	Action string // exact, or a prefix ending in "." ("user.")
	Target string // "type", "type:id" or an id
	From   time.Time
	To     time.Time // exclusive
	Before int64     // keyset: rows with id < Before
	Limit  int
}

// auditTargetSearch matches a target given without its type: its type or
// its id.
var auditTargetSearch = textSearch{exact: []exactColumn{{"target_type", asTyped}, {"target_id", asTyped}}}

// where builds the filter and the FROM that reads it in id order. Each
// filter has an index that holds its rows newest first; a filter no index
// can hold in that order (a family of actions, a target without its type)
// reads its matches and sorts them when they are few, and walks the log
// newest first when they are many (textSearch.match).
func (d *DB) auditWhere(ctx context.Context, f AuditFilter) (from, where string, args []any, err error) {
	var w conditions
	from = " FROM audit_log"
	if f.Actor != "" {
		w.add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		if family, ok := strings.CutSuffix(f.Action, "."); ok {
			lo, hi := prefixRange(family + ".")
			w.add("action >= ? AND action < ?", lo, hi)
			dense, err := atLeast(ctx, d.read, "audit actions", searchSortLimit, `SELECT 1 FROM audit_log WHERE action >= ? AND action < ?`, lo, hi)
			if err != nil {
				return "", "", nil, err
			}
			if dense {
				from = " FROM audit_log NOT INDEXED"
			}
		} else {
			w.add("action = ?", f.Action)
		}
	}
	if f.Target != "" {
		if typ, id, ok := strings.Cut(f.Target, ":"); ok {
			w.add("target_type = ? AND target_id = ?", typ, id)
			// One target's few entries; without statistics SQLite may walk
			// every entry of the type instead.
			from = " FROM audit_log INDEXED BY audit_target_id"
		} else {
			cond, targs, dense, err := auditTargetSearch.match(ctx, d.read, "FROM audit_log", "audit targets", f.Target)
			if err != nil {
				return "", "", nil, err
			}
			if dense {
				from = " FROM audit_log NOT INDEXED"
			}
			w.add(cond, targs...)
		}
	}
	// Entries are appended in time order, so a time range is a range of
	// ids: found once through the time index, then read in id order with
	// one upper bound (the tighter of To's and the page's).
	upper := int64(math.MaxInt64)
	if f.Before > 0 {
		upper = f.Before
	}
	if !f.To.IsZero() {
		id, err := d.firstAuditAt(ctx, f.To)
		if err != nil {
			return "", "", nil, err
		}
		upper = min(upper, id)
	}
	if !f.From.IsZero() {
		id, err := d.firstAuditAt(ctx, f.From)
		if err != nil {
			return "", "", nil, err
		}
		w.add("id >= ?", id)
	}
	if upper != math.MaxInt64 {
		w.add("id < ?", upper)
	}
	return from, w.where(), w.args, nil
}

// firstAuditAt is the id of the first entry at or after at (MaxInt64 when
// there is none): where a time range starts or ends in the log.
func (d *DB) firstAuditAt(ctx context.Context, at time.Time) (int64, error) {
	var id sql.NullInt64
	if err := d.read.QueryRowContext(ctx, `SELECT id FROM audit_log WHERE at >= ? ORDER BY at LIMIT 1`, at.UnixMilli()).Scan(&id); err != nil &&
		!errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("db: audit time range: %w", err)
	}
	if !id.Valid {
		return math.MaxInt64, nil
	}
	return id.Int64, nil
}

// ListAudit returns one page of rows, newest first, and whether more follow.
func (d *DB) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, bool, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var out []AuditEntry
	err := d.eachAudit(ctx, f, f.Limit+1, func(e AuditEntry) error {
		out = append(out, e)
		return nil
	})
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, err
}

// EachAudit calls fn for every row matching f, newest first; for exports.
func (d *DB) EachAudit(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) error {
	return d.eachAudit(ctx, f, -1, fn)
}

func (d *DB) eachAudit(ctx context.Context, f AuditFilter, limit int, fn func(AuditEntry) error) error {
	from, where, args, err := d.auditWhere(ctx, f)
	if err != nil {
		return err
	}
	q := `SELECT id, at, coalesce(actor_id, 0), actor, action, target_type, target_id, details, prev_hash, hash` + from + where + ` ORDER BY id DESC`
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := d.read.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("db: audit list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditActions lists the distinct actions recorded, for the filter menu. It
// hops from one action to the next through the action index (a few dozen
// lookups) instead of reading every entry.
func (d *DB) AuditActions(ctx context.Context) ([]string, error) {
	return queryAll(ctx, d.read, "audit actions", scanValue[string], `WITH RECURSIVE a(action) AS (
			SELECT min(action) FROM audit_log
			UNION ALL
			SELECT (SELECT min(action) FROM audit_log WHERE action > a.action) FROM a WHERE a.action IS NOT NULL)
		SELECT action FROM a WHERE action IS NOT NULL`)
}

// AuditRefusal records, in a transaction of its own, a request the web
// layer refused (action request.refused, auth.refused_disabled…), so that
// attempts are on the record even though they changed nothing.
func (d *DB) AuditRefusal(ctx context.Context, actor Actor, action string, details map[string]any) error {
	ctx = context.WithoutCancel(ctx)
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	path, _ := details["path"].(string)
	if err := d.audit(ctx, tx, actor, action, "request", path, details); err != nil {
		return err
	}
	return tx.Commit()
}

// CountAuditSince counts the audit entries written since t (up to
// MaxWaitingCount), for the overview.
func (d *DB) CountAuditSince(ctx context.Context, t time.Time) (int, error) {
	return d.cappedCount(ctx, MaxWaitingCount, `SELECT 1 FROM audit_log WHERE at >= ?`, t.UnixMilli())
}

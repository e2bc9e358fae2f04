package db

import (
	"context"
	"database/sql"
	"fmt"
)

// approval_waiting holds, for each pending request, the people who may still
// decide it. The engine keeps it in step inside the transactions that change
// what it reflects; the queue and its count read it, while every decision is
// still checked against the request itself (decideIn), so a stale row could
// at worst list a request, never let anyone decide it.

// addWaitingSQL lists a new request for everyone who may decide it: the
// enabled holders of its required role, except its maker.
// The request's words, indexed just before (indexWords), ride along for
// the queue's text filter.
var addWaitingSQL = `INSERT INTO approval_waiting (user_id, request_id, kind, amount_sort, created_at, expires_at, words)
	SELECT ur.user_id, ?1, ?2, ?3, ?4, ?5, ` + waitingWordsOf("?1") + ` FROM user_roles ur JOIN users u ON u.id = ur.user_id
	WHERE ur.role = ?6 AND u.disabled = 0 AND u.id <> ?7`

// waitingWordsOf is a request's words as approval_waiting keeps them: " a b
// c", so that instr(words, ' ' || w) finds a word that starts with w.
func waitingWordsOf(requestID string) string {
	return `coalesce((SELECT ' ' || group_concat(word, ' ') FROM approval_words aw WHERE aw.request_id = ` + requestID + `), '')`
}

// waitingRequest is what approval_waiting keeps of a new request.
type waitingRequest struct {
	ID               int64
	Kind             string
	Amount           *int64
	Created, Expires int64
	Role             Role
	Maker            int64
}

// addWaiting lists r for the people who may decide it, through ins, a
// prepared addWaitingSQL.
func addWaiting(ctx context.Context, ins *sql.Stmt, r waitingRequest) error {
	sortKey := int64(-1)
	if r.Amount != nil {
		sortKey = *r.Amount
	}
	if _, err := ins.ExecContext(ctx, r.ID, r.Kind, sortKey, r.Created, r.Expires, string(r.Role), r.Maker); err != nil {
		return fmt.Errorf("db: list request for its approvers: %w", err)
	}
	return nil
}

// decidedWaiting removes a request from the list of the person who just
// decided it.
func decidedWaiting(ctx context.Context, tx *sql.Tx, userID, requestID int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM approval_waiting WHERE user_id = ? AND request_id = ?`, userID, requestID); err != nil {
		return fmt.Errorf("db: unlist decided request: %w", err)
	}
	return nil
}

// endedWaiting removes a request that is no longer pending from everyone's
// list.
func endedWaiting(ctx context.Context, tx *sql.Tx, requestID int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM approval_waiting WHERE request_id = ?`, requestID); err != nil {
		return fmt.Errorf("db: unlist ended request: %w", err)
	}
	return nil
}

// refreshWaiting rebuilds one person's list after their roles or their
// disabled flag changed (or they were created): every pending request they
// may now decide.
func refreshWaiting(ctx context.Context, tx *sql.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM approval_waiting WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("db: refresh waiting: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO approval_waiting (user_id, request_id, kind, amount_sort, created_at, expires_at, words)
		SELECT u.id, r.id, r.kind, coalesce(r.amount_paise, -1), r.created_at, r.expires_at, `+waitingWordsOf("r.id")+`
		FROM users u JOIN user_roles ur ON ur.user_id = u.id
		JOIN approval_requests r ON r.state = 'pending_approval' AND r.required_role = ur.role
		WHERE u.id = ? AND u.disabled = 0 AND r.maker_id <> u.id
		  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = r.id AND d.user_id = u.id)`, userID); err != nil {
		return fmt.Errorf("db: refresh waiting: %w", err)
	}
	return nil
}

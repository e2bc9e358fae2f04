package db

import (
	"context"
	"database/sql"
	"fmt"
	"unicode/utf8"
)

// approval_waiting holds, for each pending request, the people who may still
// decide it. The engine keeps it in step inside the transactions that change
// what it reflects; the queue and its count read it, while every decision is
// still checked against the request itself (decideIn), so a stale row could
// at worst list a request, never let anyone decide it.
//
// One exception, by design: a request that ends (decided, withdrawn or
// expired) keeps its rows until housekeeping drops them with its words
// (Approvals.DropEnded). Its ending is recorded in approval_ended instead,
// one small table whose few pages every decision shares, where removing the
// rows would change one page per index entry, far apart in a bulk decision.
// Every reader passes over such rows with waitingLive.

// waitingLive is the condition a row of approval_waiting w must meet to be
// read: its request has not ended. It is one lookup in approval_ended,
// which holds only the requests that housekeeping has yet to tidy, and
// none while that is empty, which it mostly is: SQLite answers the first
// EXISTS, which names no row of w, once per statement.
const waitingLive = `(NOT EXISTS (SELECT 1 FROM approval_ended) OR NOT EXISTS (SELECT 1 FROM approval_ended e WHERE e.request_id = w.request_id))`

// addWaitingSQL lists a new request for everyone who may decide it: the
// enabled holders of its required role, except its maker.
// The request's words, indexed just before (indexWords), ride along for
// the queue's text filter.
var addWaitingSQL = `INSERT INTO approval_waiting (user_id, request_id, kind, amount_sort, created_at, expires_at, words, word_bits)
	SELECT ur.user_id, ?1, ?2, ?3, ?4, ?5, ` + waitingWordsOf("?1") + `, ` + waitingWordBitsOf("?1") + `
	FROM user_roles ur JOIN users u ON u.id = ur.user_id
	WHERE ur.role = ?6 AND u.disabled = 0 AND u.id <> ?7`

// waitingWordsOf is a request's words as approval_waiting keeps them: " a b
// c", so that instr(words, ' ' || w) finds a word that starts with w.
func waitingWordsOf(requestID string) string {
	return `coalesce((SELECT ' ' || group_concat(word, ' ') FROM approval_words aw WHERE aw.request_id = ` + requestID + `), '')`
}

// waitingWordBitsOf is a request's word_bits: the OR of wordBit over its
// words (a sum of the distinct powers of two is their OR).
func waitingWordBitsOf(requestID string) string {
	return `coalesce((SELECT sum(DISTINCT 1 << ` + wordBitSQL("aw.word") + `) FROM approval_words aw WHERE aw.request_id = ` + requestID + `), 0)`
}

// A text filter that walks a list checks each row for every word with
// instr, about a hundred nanoseconds a word. word_bits lets it pass over
// most rows with one integer test first: each word of a request sets one of
// 63 bits, chosen by its first wordBitRunes characters, so a row whose bits
// lack a filter word's bit has no word starting with it. A row with the
// bits may still not match (two beginnings share a bit); instr decides.
const wordBitRunes = 3

// wordBit is the bit a word sets in word_bits, from its first wordBitRunes
// characters (code points; a shorter word counts the missing ones as 0).
// wordBitSQL computes the same in SQL; TestWordBitInSQLAndGo keeps them one.
func wordBit(word string) uint {
	var c [wordBitRunes]int64
	i := 0
	for _, r := range word {
		if i == wordBitRunes {
			break
		}
		c[i] = int64(r)
		i++
	}
	return uint((c[0]*961 + c[1]*31 + c[2]) % 63)
}

// wordBitSQL is wordBit of the SQL text expression word.
func wordBitSQL(word string) string {
	ch := func(i int) string { return fmt.Sprintf("coalesce(unicode(substr(%s, %d, 1)), 0)", word, i) }
	return fmt.Sprintf("((%s * 961 + %s * 31 + %s) %% 63)", ch(1), ch(2), ch(3))
}

// filterWordBits is the bits a row must have to contain a word starting
// with each of prefixes. A prefix shorter than wordBitRunes fixes no bit,
// nor does one that is not UTF-8 (SQLite and Go would read it differently).
func filterWordBits(prefixes []string) int64 {
	var bits int64
	for _, p := range prefixes {
		if utf8.RuneCountInString(p) >= wordBitRunes && utf8.ValidString(p) {
			bits |= 1 << wordBit(p)
		}
	}
	return bits
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

// endedWaiting takes a request that is no longer pending off everyone's
// list: its rows stay until housekeeping, and waitingLive skips them.
func endedWaiting(ctx context.Context, tx *sql.Tx, requestID int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO approval_ended (request_id) VALUES (?)`, requestID); err != nil {
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO approval_waiting (user_id, request_id, kind, amount_sort, created_at, expires_at, words, word_bits)
		SELECT u.id, r.id, r.kind, coalesce(r.amount_paise, -1), r.created_at, r.expires_at, `+waitingWordsOf("r.id")+`, `+waitingWordBitsOf("r.id")+`
		FROM users u JOIN user_roles ur ON ur.user_id = u.id
		JOIN approval_requests r ON r.state = 'pending_approval' AND r.required_role = ur.role
		WHERE u.id = ? AND u.disabled = 0 AND r.maker_id <> u.id
		  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = r.id AND d.user_id = u.id)`, userID); err != nil {
		return fmt.Errorf("db: refresh waiting: %w", err)
	}
	return nil
}

package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// groupCommit runs the small write transactions that many goroutines make
// at once (each dispatch step records what a provider said) as one SQLite
// transaction, each in its own savepoint, so that they share one fsync:
// with synchronous=FULL the fsync, not the SQL, bounds how many a second
// the single writer commits. Each caller still gets its own outcome: a
// failing write is rolled back to its savepoint and the others commit; a
// failed commit fails them all. Nothing returns before its commit is
// durable.
//
// There is no goroutine of its own: the first caller to find nobody
// committing leads one round (every write waiting then), and hands the lead
// to a waiting caller when its own round is done.
type groupCommit struct {
	d       *DB
	mu      sync.Mutex
	leading bool
	pending []*groupWrite
}

type groupWrite struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	err  error
	done chan struct{} // closed when err is final
	lead chan struct{} // the lead is handed to this caller
}

// maxGroup bounds one round, so that no caller waits behind an unbounded
// transaction.
const maxGroup = 256

// groupWrite runs fn in a write transaction shared with other callers'
// writes made at the same time, and returns once that transaction has
// committed (or fn's part was rolled back). fn must not begin a transaction
// of its own, nor call groupWrite: the writer is the caller's already.
func (d *DB) groupWrite(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	g := &d.group
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	if g.leading {
		g.mu.Unlock()
		select {
		case <-w.done:
			return w.err
		case <-w.lead:
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	// This caller leads: rounds until its own write is done, then the lead
	// passes to the first one waiting.
	for {
		g.mu.Lock()
		n := min(len(g.pending), maxGroup)
		batch := g.pending[:n:n]
		g.pending = g.pending[n:]
		g.mu.Unlock()
		g.round(batch)
		select {
		case <-w.done:
		default:
			continue
		}
		g.mu.Lock()
		if len(g.pending) > 0 {
			g.pending[0].lead <- struct{}{}
		} else {
			g.leading = false
		}
		g.mu.Unlock()
		return w.err
	}
}

// round commits batch as one transaction.
func (g *groupCommit) round(batch []*groupWrite) {
	finish := func(err error) {
		for _, w := range batch {
			if w.err == nil {
				w.err = err
			}
			close(w.done)
		}
	}
	if len(batch) == 0 {
		return
	}
	// The transaction is no one caller's: one leaving must not end the
	// others' writes.
	ctx := context.WithoutCancel(batch[0].ctx)
	tx, err := g.d.beginWrite(ctx)
	if err != nil {
		finish(err)
		return
	}
	defer tx.Rollback()
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT group_write"); err != nil {
			finish(fmt.Errorf("db: savepoint: %w", err))
			return
		}
		if w.err = w.fn(w.ctx, tx); w.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO group_write"); err != nil {
				finish(fmt.Errorf("db: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE group_write"); err != nil {
			finish(fmt.Errorf("db: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("db: commit: %w", err))
		return
	}
	finish(nil)
}

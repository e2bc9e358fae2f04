package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SQLite copies the write-ahead log back into the database file (a
// checkpoint) once the log passes 1,000 pages, and it does so inside the
// commit that crossed the line: a bulk decision of 1,000 approvals, which
// writes some 20,000 pages across the tables' indexes, spent 240 ms of its
// 750 ms in that commit. The writer therefore never checkpoints; a
// connection of its own does, in the background, whenever the data has
// changed. Readers and the writer carry on meanwhile (a PASSIVE checkpoint
// waits for nobody), and a commit stays durable on its own: with
// synchronous=FULL it is in the log, synced, before it returns.

// checkpointEvery is how often the background checkpoint looks for new
// writes.
const checkpointEvery = 250 * time.Millisecond

// walSizeLimit is what the log file is cut back to when it restarts, so that
// one large transaction does not leave a large file behind.
const walSizeLimit = 64 << 20

// noAutoCheckpoint is run on each writer connection as it opens.
var noAutoCheckpoint = fmt.Sprintf(`PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=%d`, walSizeLimit)

// checkpointer runs the background checkpoints of one database.
type checkpointer struct {
	conn   *sql.DB
	cancel context.CancelFunc
	done   chan struct{}

	mu                 sync.Mutex
	logPages, leftover int       // at the last run
	whole              time.Time // the last run that copied the log whole
}

// last reports the log's pages and those left uncopied at the last run,
// and when a run last copied it whole.
func (c *checkpointer) last() (logPages, leftover int, whole time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logPages, c.leftover, c.whole
}

func (c *checkpointer) record(logPages, copied int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logPages, c.leftover = logPages, max(0, logPages-copied)
	if c.leftover == 0 {
		c.whole = time.Now()
	}
}

// startCheckpointer opens the checkpoint connection and starts copying the
// log back after writes, until stop.
func (d *DB) startCheckpointer(dsn string) (*checkpointer, error) {
	conn, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open checkpoint connection: %w", err)
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx, d.Version)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context, version func() uint64) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var done uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v := version()
		if v == done {
			continue
		}
		whole, err := c.checkpoint(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			slog.Warn("background checkpoint", "err", err)
			continue
		}
		if whole {
			done = v
		}
	}
}

// walRestartPages is how long the log may grow before a checkpoint makes
// the writer start it again from the top. The log restarts by itself only
// when a checkpoint has caught up before the next write begins, which a
// steady stream of writes never allows; and every page read looks through
// the log's index first, which grows with it.
const walRestartPages = 8192

// checkpoint copies what the log holds back into the database file, as far
// as the oldest open read allows; the next run copies the rest. Past
// walRestartPages it then takes the write lock, if no write holds it, to
// copy the little the passive copy left and let the next write start the
// log again. It never waits (the connection's busy timeout is 0): with a
// write under way, or a read still in the log (Litestream keeps one), it
// gives up and tries again on a later run, so writers are held up only
// for that short copy. It reports whether the log was copied whole.
func (c *checkpointer) checkpoint(ctx context.Context) (bool, error) {
	var busy, logPages, copied int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &copied); err != nil {
		return false, fmt.Errorf("db: checkpoint: %w", err)
	}
	c.record(logPages, copied)
	if logPages < walRestartPages {
		return copied == logPages, nil
	}
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &logPages, &copied); err != nil {
		return false, fmt.Errorf("db: checkpoint: %w", err)
	}
	c.record(logPages, copied)
	return busy == 0 && copied == logPages, nil
}

// stop ends the background checkpoints and closes their connection.
func (c *checkpointer) stop() error {
	c.cancel()
	<-c.done
	return c.conn.Close()
}

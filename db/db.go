// Package db owns Paydesk's state: the SQL, the migrations, and every state
// transition with its audit entry, each inside one transaction.
//
// SQLite runs with one writer connection (BEGIN IMMEDIATE, synchronous=FULL)
// and a pool of read-only connections, both in WAL mode.
package db

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is Paydesk's database: a single writer and a reader pool over one file.
type DB struct {
	write *sql.DB
	read  *sql.DB
	path  string
	// version moves after every write; see Version.
	version atomic.Uint64
	// What every request reads, kept while version stays put.
	sessionMemo versionMemo[string, Session]
	userMemo    versionMemo[int64, User]
	// group shares one commit between writes made at the same time.
	group groupCommit
	// checkpoints copies the write-ahead log back in the background.
	checkpoints *checkpointer
	// stopReturning ends returnCMemory.
	stopReturning context.CancelFunc
	// Now is the clock every timestamp is taken from; tests replace it.
	Now func() time.Time
	// Login is the sign-in throttle.
	Login LoginPolicy
	// signIns gives attempts at one username from one address turns.
	signIns turns
	// SecondFactorRequired makes checkers and admins enrol a second factor
	// before they sign in or decide anything (on by default in production).
	SecondFactorRequired bool
}

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("db: create directory: %w", err)
		}
	}
	limitMallocArenas()
	if err := useStablePlans(); err != nil {
		return nil, err
	}
	common := url.Values{}
	common.Set("_journal_mode", "WAL")
	common.Set("_busy_timeout", "5000")
	common.Set("_foreign_keys", "on")
	// Each connection keeps its prepared statements: the lists' queries
	// (joins, subqueries) cost more to prepare than to run for a page.
	common.Set("_stmt_cache_size", "128")

	w := cloneValues(common)
	w.Set("_txlock", "immediate")
	w.Set("_synchronous", "FULL")
	d := &DB{path: path, Now: time.Now, Login: DefaultLoginPolicy}
	d.group.d = d
	// The writer is always wrapped: every statement and commit moves the
	// data version once it has finished (Version).
	write := sql.OpenDB(&tracedConnector{dsn: "file:" + path + "?" + w.Encode(), pool: "write", log: o.log,
		wrote: func() { d.version.Add(1) }, drv: &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(noAutoCheckpoint, nil)
			return err
		}}})
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)

	r := cloneValues(common)
	r.Set("_query_only", "true")
	read, err := o.open("read", "file:"+path+"?"+r.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open readers: %w", err)
	}
	// Reads are CPU work: more connections than twice the cores only add
	// page caches (2 MiB each) and prepared statements to hold.
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)

	d.write, d.read = write, read
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	// Fresh statistics let the planner pick the right index on large tables;
	// SQLite's own recommendation for long-lived connections. The analysis
	// limit keeps it to a sample of each index, so that start-up takes
	// milliseconds on a big database, not a pass over every table.
	if _, err := d.write.ExecContext(ctx, `PRAGMA analysis_limit=400; PRAGMA optimize=0x10002`); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: optimize: %w", err)
	}
	ckpt := cloneValues(common)
	ckpt.Set("_synchronous", "FULL")
	// Never wait: a checkpoint that would have to wait for a writer or a
	// reader (a replicator's long read, say) gives up and comes back.
	ckpt.Set("_busy_timeout", "0")
	if d.checkpoints, err = d.startCheckpointer("file:" + path + "?" + ckpt.Encode()); err != nil {
		d.Close()
		return nil, err
	}
	// Process-wide, like the arena limit: each open database keeps the C
	// allocator's free memory small while it is open.
	returning, stop := context.WithCancel(context.Background())
	d.stopReturning = stop
	go returnCMemory(returning)
	return d, nil
}

// open opens one pool, traced when a statement log was given.
func (o openOptions) open(pool, dsn string) (*sql.DB, error) {
	if o.log == nil {
		return sql.Open("sqlite3", dsn)
	}
	return sql.OpenDB(&tracedConnector{dsn: dsn, pool: pool, log: o.log, drv: &sqlite3.SQLiteDriver{}}), nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Close closes both pools.
func (d *DB) Close() error {
	if d.stopReturning != nil {
		d.stopReturning()
	}
	if d.checkpoints != nil {
		if err := d.checkpoints.stop(); err != nil {
			return err
		}
	}
	rerr := d.read.Close()
	werr := d.write.Close()
	if werr != nil {
		return werr
	}
	return rerr
}

// Version is the data version: it moves after every statement and commit
// of the writer has finished, so two equal readings mean that nothing was
// written in between. What was read from the database after a reading is
// at least as new as that reading: a page rendered then can be served again
// while the version stays the same.
func (d *DB) Version() uint64 { return d.version.Load() }

// Writer returns the single writer connection pool, for components (the job
// queue) that must join Paydesk's own transactions.
func (d *DB) Writer() *sql.DB { return d.write }

// Path is the database file.
func (d *DB) Path() string { return d.path }

func (d *DB) nowMS() int64 { return d.Now().UnixMilli() }

// beginWrite starts a write transaction. The DSN's _txlock=immediate makes it
// BEGIN IMMEDIATE, so a read-then-write never fails with SQLITE_BUSY halfway.
func (d *DB) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: begin: %w", err)
	}
	return tx, nil
}

// beginWriteConn starts a write transaction as beginWrite does, on the
// writer connection held for the caller, so that the transaction's reads
// can also go to the connection directly (txBatch.row). Close the
// connection after the transaction ends.
func (d *DB) beginWriteConn(ctx context.Context) (*sql.Conn, *sql.Tx, error) {
	conn, err := d.write.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("db: begin: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("db: begin: %w", err)
	}
	return conn, tx, nil
}

func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("db: migrations table: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		var n int
		if err := d.write.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
			return fmt.Errorf("db: migration %s: %w", base, err)
		}
		if n > 0 {
			continue
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := d.beginWrite(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("db: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, base, d.nowMS()); err != nil {
			tx.Rollback()
			return fmt.Errorf("db: migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("db: migration %s: %w", base, err)
		}
	}
	return nil
}

// Ready reports whether the database answers and every embedded migration has
// been applied.
func (d *DB) Ready(ctx context.Context) error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	var applied int
	if err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("db: not reachable: %w", err)
	}
	if applied < len(names) {
		return fmt.Errorf("db: %d of %d migrations applied", applied, len(names))
	}
	return nil
}

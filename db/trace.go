package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Statement is one SQL statement a connection ran: what the bench report
// lists per page and what the query-plan test explains.
type Statement struct {
	// Pool is "read" or "write".
	Pool string
	SQL  string
	Args []any
	// Took runs from the call until its rows were closed.
	Took time.Duration
	// Steps is how many virtual-machine steps SQLite took for a query's
	// rows: its work, whatever the machine. -1 for statements without rows
	// (INSERT, UPDATE…), which are not counted.
	Steps int
}

// StatementLog records the statements both pools run while it is on: the
// bench report lists them per page and the plan test explains them. Off, a
// traced connection costs an atomic load per statement and, for a query,
// one read of SQLite's step counter (to reset it).
type StatementLog struct {
	on    atomic.Bool
	mu    sync.Mutex
	stmts []Statement
}

// Start clears the log and begins recording.
func (l *StatementLog) Start() {
	l.mu.Lock()
	l.stmts = nil
	l.mu.Unlock()
	l.on.Store(true)
}

// Stop ends recording and returns what was recorded, in the order the
// statements finished.
func (l *StatementLog) Stop() []Statement {
	l.on.Store(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.stmts
	l.stmts = nil
	return out
}

func (l *StatementLog) add(s Statement) {
	l.mu.Lock()
	if l.on.Load() {
		l.stmts = append(l.stmts, s)
	}
	l.mu.Unlock()
}

// Option changes how Open opens the database.
type Option func(*openOptions)

type openOptions struct {
	log *StatementLog
}

// WithStatementLog wraps both pools' connections so that every statement is
// offered to log. It is for the bench report and the plan test; production
// opens plain connections.
func WithStatementLog(log *StatementLog) Option {
	return func(o *openOptions) { o.log = log }
}

// ExplainQueryPlan returns SQLite's plan for s, one line per step, as the
// reader pool would run it.
func (d *DB) ExplainQueryPlan(ctx context.Context, s Statement) ([]string, error) {
	return explainQueryPlan(ctx, d.read, s)
}

func explainQueryPlan(ctx context.Context, q querier, s Statement) ([]string, error) {
	rows, err := q.QueryContext(ctx, "EXPLAIN QUERY PLAN "+s.SQL, s.Args...)
	if err != nil {
		return nil, fmt.Errorf("db: explain: %w", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

// tracedConnector opens go-sqlite3 connections and wraps each one so that
// its statements reach the log (when there is one) and, on the writer, so
// that every statement and commit moves the data version once it is done.
type tracedConnector struct {
	dsn  string
	pool string
	log  *StatementLog // nil: nothing is recorded
	// wrote runs after each statement and commit of the connection; nil on
	// readers.
	wrote func()
	drv   *sqlite3.SQLiteDriver
}

// logging reports whether statements are being recorded now.
func (c *tracedConnector) logging() bool { return c.log != nil && c.log.on.Load() }

// written moves the data version after a statement or commit has finished,
// so that whatever read the version before then is seen as older.
func (c *tracedConnector) written() {
	if c.wrote != nil {
		c.wrote()
	}
}

func (c *tracedConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*sqlite3.SQLiteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("db: trace: not a go-sqlite3 connection")
	}
	return &tracedConn{SQLiteConn: sc, c: c}, nil
}

func (c *tracedConnector) Driver() driver.Driver { return c.drv }

// tracedConn passes everything to go-sqlite3 and reports each statement.
type tracedConn struct {
	*sqlite3.SQLiteConn
	c *tracedConnector
}

func (t *tracedConn) report(query string, args []driver.NamedValue, start time.Time, steps int) {
	took := time.Since(start)
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	t.c.log.add(Statement{Pool: t.c.pool, SQL: query, Args: vals, Took: took, Steps: steps})
}

func (t *tracedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !t.c.logging() {
		// Unrecorded, but the rows still reset the statement's step count
		// when they end, so a cached statement's next recorded run counts
		// only itself.
		rows, err := t.SQLiteConn.QueryContext(ctx, query, args)
		if err != nil {
			t.c.written()
			return nil, err
		}
		return &tracedRows{Rows: rows, after: t.c.written}, nil
	}
	start := time.Now()
	rows, err := t.SQLiteConn.QueryContext(ctx, query, args)
	if err != nil {
		t.c.written()
		t.report(query, args, start, -1)
		return nil, err
	}
	return &tracedRows{Rows: rows, after: t.c.written, done: func(steps int) { t.report(query, args, start, steps) }}, nil
}

func (t *tracedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	defer t.c.written()
	if !t.c.logging() {
		return t.SQLiteConn.ExecContext(ctx, query, args)
	}
	start := time.Now()
	defer t.report(query, args, start, -1)
	return t.SQLiteConn.ExecContext(ctx, query, args)
}

// BeginTx wraps the transaction so that its commit moves the data version.
func (t *tracedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := t.SQLiteConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &tracedTx{Tx: tx, c: t.c}, nil
}

// tracedTx moves the data version once its commit has returned: a reader
// that took the version before then holds an older one, so nothing it
// rendered from the old snapshot passes for current.
type tracedTx struct {
	driver.Tx
	c *tracedConnector
}

func (tx *tracedTx) Commit() error {
	defer tx.c.written()
	return tx.Tx.Commit()
}

func (t *tracedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := t.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &tracedStmt{Stmt: st, conn: t, query: query}, nil
}

func (t *tracedConn) Prepare(query string) (driver.Stmt, error) {
	return t.PrepareContext(context.Background(), query)
}

// tracedStmt reports each execution of a prepared statement.
type tracedStmt struct {
	driver.Stmt
	conn  *tracedConn
	query string
}

func (s *tracedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	defer s.conn.c.written()
	if !s.conn.c.logging() {
		return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	}
	start := time.Now()
	defer s.conn.report(s.query, args, start, -1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *tracedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	wrote := s.conn.c.written
	if !s.conn.c.logging() {
		rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil {
			wrote()
			return nil, err
		}
		return &tracedRows{Rows: rows, after: wrote}, nil
	}
	start := time.Now()
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		wrote()
		s.conn.report(s.query, args, start, -1)
		return nil, err
	}
	return &tracedRows{Rows: rows, after: wrote, done: func(steps int) { s.conn.report(s.query, args, start, steps) }}, nil
}

// tracedRows reports its statement once, when read to the end or closed:
// SQLite does the work while the rows are read, not when the query is
// issued. The step count is read before the statement is reset.
type tracedRows struct {
	driver.Rows
	done     func(steps int) // nil when unrecorded
	after    func()          // runs once the statement is reset (Close)
	finished bool
}

func (r *tracedRows) finish() {
	if r.finished {
		return
	}
	r.finished = true
	steps := vmSteps(r.Rows)
	if r.done != nil {
		r.done(steps)
	}
}

func (r *tracedRows) Close() error {
	r.finish()
	err := r.Rows.Close()
	if r.after != nil {
		// A statement that writes (UPDATE … RETURNING outside a
		// transaction) has committed once it is reset.
		r.after()
	}
	return err
}

func (r *tracedRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if errors.Is(err, io.EOF) {
		r.finish()
	}
	return err
}

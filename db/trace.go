package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
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
}

// Tracer receives every statement run on a traced database. It is called
// from many goroutines at once.
type Tracer func(Statement)

// Option changes how Open opens the database.
type Option func(*openOptions)

type openOptions struct {
	trace Tracer
}

// WithTrace sends every statement both pools run to t. It is for the bench
// report and the plan test; production does not trace, and pays nothing.
func WithTrace(t Tracer) Option {
	return func(o *openOptions) { o.trace = t }
}

// tracedConnector opens go-sqlite3 connections and wraps each one so that
// its statements reach trace.
type tracedConnector struct {
	dsn   string
	pool  string
	trace Tracer
	drv   *sqlite3.SQLiteDriver
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

func (t *tracedConn) report(query string, args []driver.NamedValue, start time.Time) {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	t.c.trace(Statement{Pool: t.c.pool, SQL: query, Args: vals, Took: time.Since(start)})
}

func (t *tracedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	rows, err := t.SQLiteConn.QueryContext(ctx, query, args)
	if err != nil {
		t.report(query, args, start)
		return nil, err
	}
	return &tracedRows{Rows: rows, done: func() { t.report(query, args, start) }}, nil
}

func (t *tracedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	start := time.Now()
	defer t.report(query, args, start)
	return t.SQLiteConn.ExecContext(ctx, query, args)
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
	start := time.Now()
	defer s.conn.report(s.query, args, start)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *tracedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		s.conn.report(s.query, args, start)
		return nil, err
	}
	return &tracedRows{Rows: rows, done: func() { s.conn.report(s.query, args, start) }}, nil
}

// tracedRows reports its statement once, when closed: SQLite does the work
// while the rows are read, not when the query is issued.
type tracedRows struct {
	driver.Rows
	done func()
}

func (r *tracedRows) Close() error {
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return r.Rows.Close()
}

func (r *tracedRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if errors.Is(err, io.EOF) && r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"paydesk/providers"
)

// The figures /metrics reports about Paydesk's own state. They are read
// when Prometheus scrapes, never per request, with one indexed statement
// per state or kind, each counting at most MetricsCountCap rows: a scrape
// costs the same on a database of a thousand payouts and of millions
// (queryplan_ops_test.go holds every statement to that).

// MetricsCountCap is where the counts of payouts, approvals and jobs stop:
// what an operator alerts on is a backlog growing, which shows long before
// the cap, while counting every processed payout ever made would read the
// whole table at each scrape.
const MetricsCountCap = 10_000

// PayoutStates lists every payout state, in the order of their lifecycle.
var PayoutStates = []providers.PayoutState{providers.StatePendingApproval, providers.StateApproved, providers.StateQueued,
	providers.StateProcessing, providers.StateUnknown, providers.StateProcessed, providers.StateRejected,
	providers.StateCancelled, providers.StateFailed, providers.StateReversed}

// openJobStates are River's states of a job that has not finished.
var openJobStates = []string{"available", "scheduled", "retryable", "running", "pending"}

// OpsFigures is the state of Paydesk as /metrics reports it.
type OpsFigures struct {
	// Payouts counts payouts by state, each up to MetricsCountCap.
	Payouts map[providers.PayoutState]int
	// ApprovalsWaiting counts requests waiting for a decision by kind, each
	// up to MetricsCountCap.
	ApprovalsWaiting map[string]int
	// OldestOpenPayout is when the oldest payout not yet final was proposed;
	// zero when there is none.
	OldestOpenPayout time.Time
	// Jobs counts River jobs not yet finished by queue and state, up to
	// MetricsCountCap per state; a queue without jobs in a state is absent.
	Jobs []JobCount
	// Storage is how the database file and SQLite's memory stand.
	Storage StorageFigures
}

// StorageFigures are the database's own figures: what SQLite holds in
// memory, and how far the background checkpoint (checkpoint.go) has
// copied the write-ahead log back.
type StorageFigures struct {
	// SQLiteMemory is what SQLite has allocated, in bytes (SQLiteMemory).
	SQLiteMemory int64
	// LogPages and LogPagesLeft are the pages in the log and those the last
	// background checkpoint could not copy yet (a long read holds them).
	LogPages, LogPagesLeft int
	// LastCheckpoint is when the background checkpoint last copied the log
	// whole; zero before the first time.
	LastCheckpoint time.Time
}

// JobCount is the number of one queue's jobs in one state.
type JobCount struct {
	Queue string
	State string
	Count int
}

// OpsFigures reads the figures; kinds are the approval kinds to count.
func (d *DB) OpsFigures(ctx context.Context, kinds []string) (OpsFigures, error) {
	f := OpsFigures{Payouts: map[providers.PayoutState]int{}, ApprovalsWaiting: map[string]int{}}
	oldest := int64(0)
	for _, st := range PayoutStates {
		n, err := d.cappedCount(ctx, MetricsCountCap, `SELECT 1 FROM payouts WHERE state = ?`, string(st))
		if err != nil {
			return f, err
		}
		f.Payouts[st] = n
		if st.Final() || st == providers.StatePendingApproval || n == 0 {
			continue
		}
		var at sql.NullInt64
		if err := d.read.QueryRowContext(ctx, `SELECT min(created_at) FROM payouts WHERE state = ?`, string(st)).Scan(&at); err != nil {
			return f, fmt.Errorf("db: oldest %s payout: %w", st, err)
		}
		if at.Valid && (oldest == 0 || at.Int64 < oldest) {
			oldest = at.Int64
		}
	}
	if oldest != 0 {
		f.OldestOpenPayout = time.UnixMilli(oldest)
	}
	for _, k := range kinds {
		n, err := d.PendingRequests(ctx, k, MetricsCountCap)
		if err != nil {
			return f, err
		}
		f.ApprovalsWaiting[k] = n
	}
	for _, st := range openJobStates {
		counts, err := queryAll(ctx, d.read, "job counts", func(s scanner) (JobCount, error) {
			j := JobCount{State: st}
			return j, s.Scan(&j.Queue, &j.Count)
		}, `SELECT queue, count(*) FROM (SELECT queue FROM river_job WHERE state = ? LIMIT `+fmt.Sprint(MetricsCountCap)+`) GROUP BY queue`, st)
		if err != nil {
			return f, err
		}
		f.Jobs = append(f.Jobs, counts...)
	}
	f.Storage = d.storageFigures()
	return f, nil
}

func (d *DB) storageFigures() StorageFigures {
	s := StorageFigures{SQLiteMemory: SQLiteMemory()}
	if d.checkpoints != nil {
		s.LogPages, s.LogPagesLeft, s.LastCheckpoint = d.checkpoints.last()
	}
	return s
}

// PendingRequests counts the approval requests of kind waiting for a
// decision, up to limit.
func (d *DB) PendingRequests(ctx context.Context, kind string, limit int) (int, error) {
	return d.cappedCount(ctx, limit, `SELECT 1 FROM approval_requests WHERE state = 'pending_approval' AND kind = ?`, kind)
}

// cappedCount counts the rows of query, up to limit: a figure for a page or
// a scrape that reads at most limit index entries.
func (d *DB) cappedCount(ctx context.Context, limit int, query string, args ...any) (int, error) {
	var n int
	if err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM (`+query+` LIMIT `+fmt.Sprint(limit)+`)`, args...).Scan(&n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return 0, fmt.Errorf("db: count: %w", err)
	}
	return n, nil
}

// KindNames lists the registered approval kinds.
func (a *Approvals) KindNames() []string {
	out := make([]string, 0, len(a.kinds))
	for name := range a.kinds {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

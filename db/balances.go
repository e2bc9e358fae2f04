package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"paydesk/providers"
)

// Balance is the last balance a provider reported for its debit account, for
// the approval queue's "balance after this payout".
//
// It is a cache of the bank's data, not a change Paydesk makes: refreshing it
// overwrites the row in place and writes no audit entry (nothing a person or
// Paydesk decided changes; the bank's own statement is the record). Every
// change of the figure is also kept in balance_history, for ever.
type Balance struct {
	Source         string
	Account        string
	AvailablePaise int64
	AsOf           time.Time // the provider's time of the figure
	FetchedAt      time.Time // when Paydesk fetched it
}

// BalanceWatcher fetches each provider's balance and keeps the last one.
type BalanceWatcher struct {
	db        *DB
	providers map[string]providers.Balances
	// Logger receives refresh failures in Run; nil drops them.
	Logger *slog.Logger
}

// NewBalanceWatcher watches the providers by source name (paymate; Kotak CMS
// has no balance call).
func NewBalanceWatcher(d *DB, provs map[string]providers.Balances) *BalanceWatcher {
	return &BalanceWatcher{db: d, providers: provs}
}

// Refresh fetches every provider's balance and stores each one that came
// back. A provider that fails keeps its last known balance; the failures are
// returned joined, each naming its source.
func (w *BalanceWatcher) Refresh(ctx context.Context) error {
	sources := make([]string, 0, len(w.providers))
	for s := range w.providers {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	var errs []error
	for _, source := range sources {
		b, err := w.providers[source].Balance(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("balance of %s: %w", source, err))
			// The page says the figure is stale and why.
			if serr := setBalanceStatus(context.WithoutCancel(ctx), w.db.write, source, w.db.nowMS(), err.Error()); serr != nil {
				errs = append(errs, serr)
			}
			continue
		}
		if err := w.store(ctx, source, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// store records b as source's figure in one transaction: the last balance
// (what the queue's "balance after" reads), a history row when the figure
// changed (a poll that sees the same figure only confirms the last row), the
// day's open/close/low/high, and the refresh status.
func (w *BalanceWatcher) store(ctx context.Context, source string, b providers.Balance) error {
	now := w.db.nowMS()
	asOf := now
	if !b.AsOf.IsZero() {
		asOf = b.AsOf.UnixMilli()
	}
	tx, err := w.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Not audited: a cache of the bank's figure (see Balance).
	if _, err := tx.ExecContext(ctx, `INSERT INTO balances (source, account, available_paise, as_of, fetched_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (source) DO UPDATE SET account = excluded.account, available_paise = excluded.available_paise,
			as_of = excluded.as_of, fetched_at = excluded.fetched_at`,
		source, b.Account, b.AvailablePaise, asOf, now); err != nil {
		return fmt.Errorf("db: store balance of %s: %w", source, err)
	}
	if err := recordHistory(ctx, tx, source, b.Account, b.AvailablePaise, asOf, now); err != nil {
		return err
	}
	if err := setBalanceStatus(ctx, tx, source, now, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// recordHistory adds a history row when source's figure differs from its
// last one, and folds it into the day's summary; otherwise it only moves
// the last row's confirmed_at.
func recordHistory(ctx context.Context, tx *sql.Tx, source, account string, paise, asOf, now int64) error {
	var lastID, lastPaise int64
	var lastAccount string
	err := tx.QueryRowContext(ctx, `SELECT id, available_paise, account FROM balance_history WHERE source = ?
		ORDER BY fetched_at DESC, id DESC LIMIT 1`, source).Scan(&lastID, &lastPaise, &lastAccount)
	found := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("db: balance history of %s: %w", source, err)
	case lastPaise == paise && lastAccount == account:
		_, err := tx.ExecContext(ctx, `UPDATE balance_history SET confirmed_at = ? WHERE id = ?`, now, lastID)
		if err != nil {
			return fmt.Errorf("db: balance history of %s: %w", source, err)
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO balance_history (source, account, available_paise, as_of, fetched_at, confirmed_at)
		VALUES (?, ?, ?, ?, ?, ?)`, source, account, paise, asOf, now, now); err != nil {
		return fmt.Errorf("db: balance history of %s: %w", source, err)
	}
	open := paise
	if found {
		open = lastPaise // the figure in force when the day began or last changed
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO balance_days (source, day, open_paise, close_paise, low_paise, high_paise, changes)
		VALUES (?, ?, ?, ?, min(?, ?), max(?, ?), 1)
		ON CONFLICT (source, day) DO UPDATE SET close_paise = excluded.close_paise,
			low_paise = min(low_paise, excluded.close_paise), high_paise = max(high_paise, excluded.close_paise), changes = changes + 1`,
		source, ISTDay(time.UnixMilli(now)), open, paise, open, paise, open, paise); err != nil {
		return fmt.Errorf("db: balance day of %s: %w", source, err)
	}
	return nil
}

func setBalanceStatus(ctx context.Context, q execer, source string, now int64, failure string) error {
	var ok any
	if failure == "" {
		ok = now
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO balance_status (source, attempted_at, ok_at, error) VALUES (?, ?, ?, ?)
		ON CONFLICT (source) DO UPDATE SET attempted_at = excluded.attempted_at,
			ok_at = coalesce(excluded.ok_at, ok_at), error = excluded.error`, source, now, ok, failure); err != nil {
		return fmt.Errorf("db: balance status of %s: %w", source, err)
	}
	return nil
}

// ISTDay is t's calendar day in India, YYYY-MM-DD: the day of every "per
// day" figure.
func ISTDay(t time.Time) string { return t.In(IST).Format("2006-01-02") }

// Run refreshes at once and then every interval until ctx ends. Failures are
// logged; the last known balances stay.
func (w *BalanceWatcher) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	RunEvery(ctx, every, nil, w.Logger, "balance refresh", func(ctx context.Context, _ bool) error { return w.Refresh(ctx) })
}

const balanceColumns = `source, account, available_paise, as_of, fetched_at`

func scanBalance(s scanner) (Balance, error) {
	var b Balance
	var asOf, fetched int64
	if err := s.Scan(&b.Source, &b.Account, &b.AvailablePaise, &asOf, &fetched); err != nil {
		return b, err
	}
	b.AsOf, b.FetchedAt = time.UnixMilli(asOf), time.UnixMilli(fetched)
	return b, nil
}

// Balances returns the last known balance of every source that ever reported
// one, by source name.
func (d *DB) Balances(ctx context.Context) ([]Balance, error) {
	return queryAll(ctx, d.read, "balances", scanBalance, `SELECT `+balanceColumns+` FROM balances ORDER BY source`)
}

// LastBalance returns source's last known balance; ok is false when it never
// reported one.
func (d *DB) LastBalance(ctx context.Context, source string) (Balance, bool, error) {
	b, err := scanBalance(d.read.QueryRowContext(ctx, `SELECT `+balanceColumns+` FROM balances WHERE source = ?`, source))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Balance{}, false, nil
	case err != nil:
		return Balance{}, false, fmt.Errorf("db: balance of %s: %w", source, err)
	}
	return b, true, nil
}

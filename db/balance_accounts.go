package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ThresholdKind is the approval kind of a change of an account's low-balance
// threshold. Like a change of the approval rules, with two or more admins it
// is a request another admin approves.
const ThresholdKind = "balance_threshold"

// AccountSpec is one debit account Paydesk can see, by payout source.
type AccountSpec struct {
	Source string
	// HasBalance: the provider reports the account's balance (PayMate's
	// GetXpressBalance). Kotak CMS has no balance call: Paydesk shows only
	// what it paid and has committed from it.
	HasBalance bool
}

// Balances is the balances domain: each account's last figure with its
// staleness, what in-flight payouts reserve against it, its history by day,
// its low-balance threshold.
type Balances struct {
	db        *DB
	approvals *Approvals
	accounts  []AccountSpec
	// StaleAfter: a figure older than this is shown as stale (default 10
	// minutes).
	StaleAfter time.Duration
}

// NewBalances returns the balances domain over the given accounts and
// registers the threshold approval kind with a.
func NewBalances(d *DB, a *Approvals, accounts []AccountSpec) *Balances {
	b := &Balances{db: d, approvals: a, accounts: accounts, StaleAfter: 10 * time.Minute}
	a.RegisterKind(Kind{Name: ThresholdKind, Label: "Low-balance threshold", MakerRoles: []Role{RoleAdmin},
		OnApproved: b.onThresholdApproved})
	return b
}

// Specs lists the accounts, in the order given.
func (b *Balances) Specs() []AccountSpec { return slices.Clone(b.accounts) }

// Account is one debit account as the balances page and the queue show it.
type Account struct {
	AccountSpec
	// Known: the provider has reported a figure at least once; Last is it.
	Known bool
	Last  Balance
	// The last refresh: when it was tried, when one last worked, and its
	// error while it fails.
	AttemptedAt time.Time
	OKAt        time.Time
	Error       string
	Stale       bool
	// InFlight is every approved payout from the account not yet final
	// (approved, queued, processing, unknown): what Paydesk has committed.
	InFlightPaise int64
	InFlightCount int
	// Reserved is the part of InFlight that Last does not show as gone yet:
	// not yet executed by the provider, or executed after Last was fetched.
	ReservedPaise int64
	ReservedCount int
	// ThresholdPaise is the low-balance threshold; 0 means none is set.
	ThresholdPaise int64
	ThresholdBy    string
	ThresholdAt    time.Time
	// PendingThreshold is the request changing the threshold, 0 if none.
	PendingThreshold int64
}

// AvailableAfterPaise is the last figure less what in-flight payouts still
// take from it.
func (a Account) AvailableAfterPaise() int64 { return a.Last.AvailablePaise - a.ReservedPaise }

// Below reports whether the account's available balance after reservations
// is under its threshold.
func (a Account) Below() bool {
	return a.Known && a.ThresholdPaise > 0 && a.AvailableAfterPaise() < a.ThresholdPaise
}

// inFlightStates are the states of a payout that is approved and not final.
const inFlightStates = `('approved', 'queued', 'processing', 'unknown')`

// Accounts returns every account with its last figure, reservations and
// threshold, read fresh.
func (b *Balances) Accounts(ctx context.Context) ([]Account, error) {
	now := b.db.Now()
	out := make([]Account, 0, len(b.accounts))
	for _, spec := range b.accounts {
		a := Account{AccountSpec: spec}
		last, ok, err := b.db.LastBalance(ctx, spec.Source)
		if err != nil {
			return nil, err
		}
		a.Known, a.Last = ok && spec.HasBalance, last
		var attempted int64
		var okAt sql.NullInt64
		err = b.db.read.QueryRowContext(ctx, `SELECT attempted_at, ok_at, error FROM balance_status WHERE source = ?`, spec.Source).
			Scan(&attempted, &okAt, &a.Error)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("db: balance status of %s: %w", spec.Source, err)
		default:
			a.AttemptedAt = time.UnixMilli(attempted)
			if okAt.Valid {
				a.OKAt = time.UnixMilli(okAt.Int64)
			}
		}
		if a.Known {
			a.Stale = a.Error != "" || now.Sub(a.Last.FetchedAt) > b.StaleAfter
		}
		// A payout executed after the figure was fetched is not in it yet;
		// with no figure everything in flight is reserved.
		since := int64(-1)
		if a.Known {
			since = a.Last.FetchedAt.UnixMilli()
		}
		if err := b.db.read.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(amount_paise), 0),
			coalesce(sum(processing_at IS NULL OR processing_at > ?), 0),
			coalesce(sum(CASE WHEN processing_at IS NULL OR processing_at > ? THEN amount_paise ELSE 0 END), 0)
			FROM payouts WHERE state IN `+inFlightStates+` AND source = ?`, since, since, spec.Source).
			Scan(&a.InFlightCount, &a.InFlightPaise, &a.ReservedCount, &a.ReservedPaise); err != nil {
			return nil, fmt.Errorf("db: reservations of %s: %w", spec.Source, err)
		}
		var setAt int64
		err = b.db.read.QueryRowContext(ctx, `SELECT threshold_paise, set_by, set_at FROM balance_thresholds WHERE source = ?`, spec.Source).
			Scan(&a.ThresholdPaise, &a.ThresholdBy, &setAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("db: threshold of %s: %w", spec.Source, err)
		default:
			a.ThresholdAt = time.UnixMilli(setAt)
		}
		if a.PendingThreshold, _, err = pendingRequestID(ctx, b.db.read, ThresholdKind, spec.Source); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Account returns one account by source.
func (b *Balances) Account(ctx context.Context, source string) (Account, error) {
	all, err := b.Accounts(ctx)
	if err != nil {
		return Account{}, err
	}
	for _, a := range all {
		if a.Source == source {
			return a, nil
		}
	}
	return Account{}, Errorf(ENOTFOUND, "No such account.")
}

// Low returns the accounts under their threshold, for the banner.
func (b *Balances) Low(ctx context.Context) ([]Account, error) {
	all, err := b.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Account
	for _, a := range all {
		if a.Below() {
			out = append(out, a)
		}
	}
	return out, nil
}

// BalanceDay is one IST day of an account's history. Changes is 0 for a day
// without any: its figures are the last close carried forward.
type BalanceDay struct {
	Day                    string
	Open, Close, Low, High int64
	Changes                int
	Known                  bool // false before the first figure
	OutflowPaise           int64
	OutflowCount           int
	InflowPaise            int64 // filled by the caller from InflowSources
	InflowCount            int
}

// Days returns source's history for each IST day in [from, to), with the
// money paid out from it each day. Days without a change carry the last
// close; the summaries are kept per day, so a year reads 365 rows.
func (b *Balances) Days(ctx context.Context, source, from, to string) ([]BalanceDay, error) {
	var carry BalanceDay
	err := b.db.read.QueryRowContext(ctx, `SELECT close_paise FROM balance_days WHERE source = ? AND day < ?
		ORDER BY day DESC LIMIT 1`, source, from).Scan(&carry.Close)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("db: balance days of %s: %w", source, err)
	default:
		carry.Known = true
	}
	rows, err := queryAll(ctx, b.db.read, "balance days", func(s scanner) (BalanceDay, error) {
		var d BalanceDay
		err := s.Scan(&d.Day, &d.Open, &d.Close, &d.Low, &d.High, &d.Changes)
		d.Known = true
		return d, err
	}, `SELECT day, open_paise, close_paise, low_paise, high_paise, changes FROM balance_days
		WHERE source = ? AND day >= ? AND day < ? ORDER BY day`, source, from, to)
	if err != nil {
		return nil, err
	}
	out, err := b.Outflows(ctx, source, from, to)
	if err != nil {
		return nil, err
	}
	outflow := map[string]DayAmount{}
	for _, o := range out {
		outflow[o.Day] = o
	}
	byDay := map[string]BalanceDay{}
	for _, r := range rows {
		byDay[r.Day] = r
	}
	var days []BalanceDay
	for _, day := range DaysBetween(from, to) {
		d, ok := byDay[day]
		if !ok {
			d = BalanceDay{Day: day, Open: carry.Close, Close: carry.Close, Low: carry.Close, High: carry.Close, Known: carry.Known}
		}
		d.OutflowPaise, d.OutflowCount = outflow[day].Paise, outflow[day].Count
		days = append(days, d)
		carry = d
	}
	return days, nil
}

// Outflows returns what was paid out from source per IST day in [from, to),
// oldest first, days without payouts left out.
func (b *Balances) Outflows(ctx context.Context, source, from, to string) ([]DayAmount, error) {
	return queryAll(ctx, b.db.read, "outflows", func(s scanner) (DayAmount, error) {
		var d DayAmount
		return d, s.Scan(&d.Day, &d.Paise, &d.Count)
	}, `SELECT day, paise, count FROM payout_outflow_days WHERE source = ? AND day >= ? AND day < ? ORDER BY day`, source, from, to)
}

// DaysBetween lists the IST days from from up to, not including, to (both
// YYYY-MM-DD); nil when either is not a date.
func DaysBetween(from, to string) []string {
	f, err1 := time.ParseInLocation("2006-01-02", from, IST)
	t, err2 := time.ParseInLocation("2006-01-02", to, IST)
	if err1 != nil || err2 != nil {
		return nil
	}
	var out []string
	for d := f; d.Before(t) && len(out) < 3660; d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format("2006-01-02"))
	}
	return out
}

// BalanceChange is one row of an account's history: a figure as first seen,
// and the last poll that still saw it.
type BalanceChange struct {
	ID          int64
	Account     string
	Paise       int64
	AsOf        time.Time
	FetchedAt   time.Time
	ConfirmedAt time.Time
}

// Changes returns source's history rows fetched in [from, to), oldest
// first, after the row afterID (keyset), at most limit, and whether more
// follow.
func (b *Balances) Changes(ctx context.Context, source string, from, to time.Time, afterID int64, limit int) ([]BalanceChange, bool, error) {
	limit = pageLimit(limit, 1000)
	var w conditions
	w.add("source = ?", source)
	w.add("fetched_at >= ?", from.UnixMilli())
	w.add("fetched_at < ?", to.UnixMilli())
	if afterID != 0 {
		w.add("(fetched_at, id) > (SELECT fetched_at, id FROM balance_history WHERE id = ?)", afterID)
	}
	return queryPage(ctx, b.db.read, "balance changes", limit, func(s scanner) (BalanceChange, error) {
		var c BalanceChange
		var asOf, fetched, confirmed int64
		err := s.Scan(&c.ID, &c.Account, &c.Paise, &asOf, &fetched, &confirmed)
		c.AsOf, c.FetchedAt, c.ConfirmedAt = time.UnixMilli(asOf), time.UnixMilli(fetched), time.UnixMilli(confirmed)
		return c, err
	}, `SELECT id, account, available_paise, as_of, fetched_at, confirmed_at FROM balance_history`+w.where()+
		` ORDER BY fetched_at, id LIMIT ?`, append(w.args, limit+1)...)
}

// thresholdPayload is what a threshold request carries.
type thresholdPayload struct {
	Source      string `json:"source"`
	BeforePaise int64  `json:"before_paise"`
	AfterPaise  int64  `json:"threshold_paise"` // 0: no threshold
}

// ThresholdChange is a threshold request's change, for the queue's diff.
type ThresholdChange struct {
	Source        string
	Before, After int64 // 0: none
}

// ThresholdChangeOf reads r's change; ok is false for other kinds.
func (b *Balances) ThresholdChangeOf(r ApprovalRequest) (ThresholdChange, bool) {
	if r.Kind != ThresholdKind {
		return ThresholdChange{}, false
	}
	var p thresholdPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return ThresholdChange{}, false
	}
	return ThresholdChange{Source: p.Source, Before: p.BeforePaise, After: p.AfterPaise}, true
}

// ProposeThreshold sets source's low-balance threshold to paise (0 removes
// it), by admin. With two or more enabled admins it opens a request another
// admin must approve (applied is false); with one it applies at once.
func (b *Balances) ProposeThreshold(ctx context.Context, admin User, source string, paise int64) (ApprovalRequest, bool, error) {
	if paise < 0 {
		return ApprovalRequest{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"threshold": "The threshold cannot be negative."}}
	}
	i := slices.IndexFunc(b.accounts, func(a AccountSpec) bool { return a.Source == source })
	if i < 0 || !b.accounts[i].HasBalance {
		return ApprovalRequest{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"threshold": "This account reports no balance, so a threshold could never be checked."}}
	}
	r, applied, err := b.thresholdTx(ctx, admin, source, paise)
	return r, applied, b.approvals.recordRefusal(ctx, admin.Actor(), err)
}

func (b *Balances) thresholdTx(ctx context.Context, admin User, source string, paise int64) (ApprovalRequest, bool, error) {
	tx, err := b.db.beginWrite(ctx)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	defer tx.Rollback()
	u, err := enabledAdmin(ctx, tx, admin, refuse("change_threshold", ApprovalRequest{Kind: ThresholdKind, TargetID: source},
		"Changing a low-balance threshold needs the admin role."))
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	before, err := thresholdOf(ctx, tx, source)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	if before == paise {
		return ApprovalRequest{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"threshold": "This is already the threshold in force."}}
	}
	summary := fmt.Sprintf("Set the low-balance threshold of %s to %s", source, rupees(paise))
	if paise == 0 {
		summary = "Remove the low-balance threshold of " + source
	}
	r, applied, err := b.approvals.adminChange(ctx, tx, u, Proposal{Kind: ThresholdKind, TargetID: source, Summary: summary,
		Payload: thresholdPayload{Source: source, BeforePaise: before, AfterPaise: paise}},
		"A change to this threshold is already waiting for approval (#%d).", func(extra map[string]any) error {
			return b.applyThreshold(ctx, tx, u.Actor(), source, before, paise, extra)
		})
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	return r, applied, tx.Commit()
}

func thresholdOf(ctx context.Context, q querier, source string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT threshold_paise FROM balance_thresholds WHERE source = ?`, source).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("db: threshold of %s: %w", source, err)
	}
	return v, nil
}

// applyThreshold writes the threshold inside tx and audits it.
func (b *Balances) applyThreshold(ctx context.Context, tx *sql.Tx, actor Actor, source string, before, after int64, extra map[string]any) error {
	var err error
	if after == 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM balance_thresholds WHERE source = ?`, source)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO balance_thresholds (source, threshold_paise, set_by, set_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (source) DO UPDATE SET threshold_paise = excluded.threshold_paise, set_by = excluded.set_by, set_at = excluded.set_at`,
			source, after, actor.Username, b.db.nowMS())
	}
	if err != nil {
		return fmt.Errorf("db: set threshold of %s: %w", source, err)
	}
	details := map[string]any{"threshold_paise": Change{Before: before, After: after}}
	for k, v := range extra {
		details[k] = v
	}
	return b.db.audit(ctx, tx, actor, "balance_threshold.changed", "balance_threshold", source, details)
}

// onThresholdApproved applies an approved threshold request, attributed to
// the admin who proposed it (the approvers' entries precede it).
func (b *Balances) onThresholdApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	var p thresholdPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return fmt.Errorf("db: threshold payload: %w", err)
	}
	if p.Source != r.TargetID || p.AfterPaise < 0 {
		return fmt.Errorf("db: threshold request %d: payload does not match its target %q", r.ID, r.TargetID)
	}
	before, err := thresholdOf(ctx, tx, p.Source)
	if err != nil {
		return err
	}
	return b.applyThreshold(ctx, tx, Actor{ID: r.MakerID, Username: r.Maker}, p.Source, before, p.AfterPaise,
		map[string]any{"request_id": r.ID})
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Event is one step on a payout's or a collection request's timeline:
// Paydesk's own steps and what the provider said, as the page lists them.
type Event struct {
	ID           int64
	At           time.Time
	Kind         string // proposed, sent, provider_status, paid, failed…
	State        string // the payout's or the request's state after the step
	ProviderCode string
	Message      string
	UTR          string
	Actor        string
}

// timeline is a table of events and the column naming what they belong to.
type timeline struct{ table, subject string }

var (
	payoutTimeline     = timeline{"payout_events", "payout_id"}
	collectionTimeline = timeline{"collection_events", "request_id"}
	gatewayTimeline    = timeline{"gateway_events", "txn_id"}
)

// add appends one event for subject id inside tx.
func (tl timeline) add(ctx context.Context, tx *sql.Tx, at int64, id, kind, state, code, msg, utr, actor string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+tl.table+` (`+tl.subject+`, at, kind, state, provider_code, message, utr, actor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, at, kind, state, code, msg, utr, actor); err != nil {
		return fmt.Errorf("db: %s: %w", tl.table, err)
	}
	return nil
}

// list returns subject id's events, oldest first.
func (tl timeline) list(ctx context.Context, q querier, id string) ([]Event, error) {
	return queryAll(ctx, q, tl.table, func(s scanner) (Event, error) {
		var e Event
		var at int64
		err := s.Scan(&e.ID, &at, &e.Kind, &e.State, &e.ProviderCode, &e.Message, &e.UTR, &e.Actor)
		e.At = time.UnixMilli(at)
		return e, err
	}, `SELECT id, at, kind, state, provider_code, message, utr, actor FROM `+tl.table+` WHERE `+tl.subject+` = ? ORDER BY id`, id)
}

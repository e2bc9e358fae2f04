package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"paydesk/providers"
)

type gatewayWorker struct {
	river.WorkerDefaults[GatewayStepArgs]
	g *Gateway
}

// Work takes the transaction forward. Errors are River's to retry; they
// never lead to a second initiate without asking KS Pay first (step).
func (w *gatewayWorker) Work(ctx context.Context, job *river.Job[GatewayStepArgs]) error {
	err := w.g.step(ctx, job.Args.TxnID)
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) && ctx.Err() == nil {
		// Kept on the transaction for its page; River retries.
		w.g.noteError(context.WithoutCancel(ctx), job.Args.TxnID, err)
		return river.JobSnooze(w.g.opts.RetryAfter)
	}
	return err
}

// NextRetry spaces River's own retries (a panic, a snooze limit) as a step's.
func (w *gatewayWorker) NextRetry(*river.Job[GatewayStepArgs]) time.Time {
	return time.Now().Add(w.g.opts.RetryAfter)
}

// Timeout bounds one run well below StuckAfter, so a running job is never
// rescued from under itself.
func (w *gatewayWorker) Timeout(*river.Job[GatewayStepArgs]) time.Duration {
	return w.g.opts.StuckAfter / 2
}

const maxGatewaySteps = 6

// step drives transaction id. The rules: the reference number (Paydesk's
// id) is KS Pay's duplicate guard; sent_at is written before the initiate
// is sent, so after a crash or a lost answer the next step asks KS Pay by
// reference, and initiates again only when KS Pay does not know it, and
// only NotFoundGrace after the latest send (sent_at moves with each one).
func (g *Gateway) step(ctx context.Context, id string) error {
	if g.prov == nil {
		return river.JobSnooze(g.opts.RetryAfter) // waits until KS Pay is configured
	}
	for range maxGatewaySteps {
		t, err := getGatewayTxn(ctx, g.db.read, id)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil
			}
			return err
		}
		switch {
		case t.Status.Final():
			return nil
		case t.ProviderTxnID == "" && t.SentAt.IsZero():
			if err := g.initiate(ctx, t); err != nil {
				return err
			}
		case t.ProviderTxnID == "":
			found, ok, err := g.prov.TransactionByReference(ctx, t.ReferenceNumber)
			if err != nil {
				return fmt.Errorf("look up %s by reference: %w", id, err)
			}
			if ok {
				if _, err := g.observe(ctx, t, found, "found", "found at KS Pay by reference"); err != nil {
					return err
				}
				continue
			}
			if wait := g.opts.NotFoundGrace - g.db.Now().Sub(t.SentAt); wait > 0 {
				return river.JobSnooze(wait)
			}
			// KS Pay still does not know it well after it was sent: it never
			// got it, and initiating again is safe.
			if err := g.initiate(ctx, t); err != nil {
				return err
			}
		case t.Order == nil && t.Status == GatewayPending:
			o, err := g.prov.ProcessPayment(ctx, t.ProviderTxnID)
			if errors.Is(err, providers.ErrRejected) {
				// KS Pay processes only pending transactions: ask what it is.
				return g.refresh(ctx, t)
			}
			if err != nil {
				return fmt.Errorf("process %s: %w", id, err)
			}
			if err := g.storeOrder(ctx, t, o); err != nil {
				return err
			}
		default:
			// Pending with its order: the payer pays at the gateway; the sync
			// (and the payer's return) follow it from here.
			return g.refresh(ctx, t)
		}
	}
	return river.JobSnooze(g.opts.RetryAfter)
}

// initiate records the intent (sent_at, attempts) and then initiates t at
// KS Pay.
func (g *Gateway) initiate(ctx context.Context, t GatewayTxn) error {
	kind := "sent"
	if !t.SentAt.IsZero() {
		kind = "resent"
	}
	ok, err := g.change(ctx, t.ID, func(cur GatewayTxn) bool {
		return cur.ProviderTxnID == "" && cur.SentAt.Equal(t.SentAt) && cur.Attempts == t.Attempts
	}, `sent_at = ?, attempts = attempts + 1`, []any{g.db.nowMS()},
		kind, string(t.Status), "", fmt.Sprintf("initiating at KS Pay (attempt %d)", t.Attempts+1))
	if err != nil || !ok {
		return err
	}
	got, err := g.prov.InitiatePayment(ctx, providers.GatewayPayment{ID: t.ReferenceNumber, CurrencyID: t.CurrencyID,
		PaymentMethodID: t.MethodID, AmountPaise: t.AmountMinor, RedirectURL: g.opts.RedirectURL})
	switch {
	case err == nil:
		_, err = g.observe(ctx, t, got, "initiated", "KS Pay created transaction "+got.ID)
		return err
	case errors.Is(err, providers.ErrRejected) && !errors.Is(err, providers.ErrDuplicate):
		_, err = g.change(ctx, t.ID, nil, `status = 'refused', last_error = ?`, []any{err.Error()},
			"refused", string(GatewayRefused), "", "KS Pay refused it: "+err.Error())
		return err
	case errors.Is(err, providers.ErrDuplicate), errors.Is(err, providers.ErrTransient), errors.Is(err, providers.ErrAuth):
		// Refused before anything was made, or made already: either way the
		// next step asks KS Pay by reference first.
		return fmt.Errorf("initiate %s: %w", t.ID, err)
	default:
		// Unknown outcome (lost answer, cancelled call): it may exist now.
		_, cerr := g.change(context.WithoutCancel(ctx), t.ID, nil, `status = 'unknown', last_error = ?`, []any{err.Error()},
			"unknown", string(GatewayUnknown), "", "answer lost; KS Pay is asked by reference before anything else")
		if cerr != nil {
			return cerr
		}
		return fmt.Errorf("initiate %s: %w", t.ID, err)
	}
}

// refresh asks KS Pay about t by id and records what it says.
func (g *Gateway) refresh(ctx context.Context, t GatewayTxn) error {
	got, err := g.prov.Transaction(ctx, t.ProviderTxnID)
	if err != nil {
		return fmt.Errorf("status of %s: %w", t.ID, err)
	}
	_, err = g.observe(ctx, t, got, "provider_status", "")
	return err
}

// Check asks KS Pay about transaction id now, in the background: the
// payer's redirect back and the page's "Check now" end here. It never takes
// the redirect's word: the step job fetches the transaction by id.
func (g *Gateway) Check(ctx context.Context, id string) error {
	if g.queueErr != nil {
		return g.queueErr
	}
	t, err := getGatewayTxn(ctx, g.db.read, id)
	if err != nil || t.Status.Final() {
		return err
	}
	if _, err := g.queue.Insert(ctx, GatewayStepArgs{TxnID: id}, nil); err != nil {
		return fmt.Errorf("db: enqueue gateway check of %s: %w", id, err)
	}
	return nil
}

// observe records what KS Pay says about t, when it says something new.
func (g *Gateway) observe(ctx context.Context, t GatewayTxn, got providers.GatewayTransaction, kind, msg string) (bool, error) {
	status := statusOf(got)
	if got.ID == t.ProviderTxnID && status == t.Status && got.ProviderStatus == t.ProviderStatus && got.ProviderPaymentID == t.ProviderPaymentID {
		return false, nil
	}
	var paid any
	if status == GatewayPaid {
		at := got.UpdatedAt
		if at.IsZero() {
			at = g.db.Now()
		}
		paid = at.UnixMilli()
	}
	if msg == "" {
		msg = fmt.Sprintf("KS Pay says %s (%s)", got.ProviderStatus, status)
	}
	return g.change(ctx, t.ID, func(cur GatewayTxn) bool { return !cur.Status.Final() },
		`provider_txn_id = ?, provider_order_id = ?, provider_payment_id = ?, provider_status = ?, status = ?,
		paid_at = coalesce(paid_at, ?), last_error = ''`,
		[]any{got.ID, got.ProviderOrderID, got.ProviderPaymentID, got.ProviderStatus, string(status), paid},
		kind, string(status), got.ProviderStatus, msg)
}

func statusOf(got providers.GatewayTransaction) GatewayStatus {
	switch providers.CollectionState(got.Status) {
	case providers.CollectionPaid:
		if got.Paid {
			return GatewayPaid
		}
	case providers.CollectionFailed:
		return GatewayFailed
	case providers.CollectionExpired:
		return GatewayExpired
	}
	return GatewayPending
}

func (g *Gateway) storeOrder(ctx context.Context, t GatewayTxn, o providers.GatewayOrder) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = g.change(ctx, t.ID, func(cur GatewayTxn) bool { return cur.Order == nil && !cur.Status.Final() },
		`order_json = ?, last_error = ''`, []any{string(raw)}, "processed", string(t.Status), "",
		"order ready for the payer's checkout at "+o.Gateway)
	return err
}

func (g *Gateway) noteError(ctx context.Context, id string, err error) {
	if _, werr := g.db.write.ExecContext(ctx, `UPDATE gateway_transactions SET last_error = ? WHERE id = ?`, err.Error(), id); werr != nil {
		g.opts.Logger.Warn("gateway note error", "txn", id, "err", werr)
	}
}

// change applies set (a SET clause and its arguments) to transaction id in
// one transaction with its timeline event and audit entry, unless allow says
// no for the transaction as it is now (read under the write lock).
func (g *Gateway) change(ctx context.Context, id string, allow func(GatewayTxn) bool, set string, args []any,
	kind, state, code, msg string) (bool, error) {
	tx, err := g.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	cur, err := getGatewayTxn(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if allow != nil && !allow(cur) {
		return false, nil
	}
	now := g.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE gateway_transactions SET `+set+`, updated_at = ? WHERE id = ?`,
		append(append([]any{}, args...), now, id)...); err != nil {
		return false, fmt.Errorf("db: gateway %s: %w", kind, err)
	}
	if err := gatewayTimeline.add(ctx, tx, now, id, kind, state, code, msg, "", SystemActor.Username); err != nil {
		return false, err
	}
	details := map[string]any{"message": msg}
	if state != string(cur.Status) {
		details["status"] = Change{Before: cur.Status, After: state}
	}
	if err := g.db.audit(ctx, tx, SystemActor, "gateway."+kind, "gateway_transaction", id, details); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// ---- the sync ----

// GatewaySyncResult counts what one sync pass did.
type GatewaySyncResult struct {
	Pages, Seen, Imported, Updated int
}

const syncPageSize = 100

// Sync pages through KS Pay's transactions, newest first, recording new
// states of Paydesk's transactions and importing those made elsewhere. The
// first pass walks everything KS Pay holds; later ones stop past the
// lookback and the oldest transaction still open. Open transactions older
// than that are asked about one by one.
func (g *Gateway) Sync(ctx context.Context) (GatewaySyncResult, error) {
	var res GatewaySyncResult
	if g.prov == nil {
		return res, nil
	}
	var fullAt sql.NullInt64
	if err := g.db.read.QueryRowContext(ctx, `SELECT max(full_at) FROM gateway_sync`).Scan(&fullAt); err != nil {
		return res, fmt.Errorf("db: gateway sync state: %w", err)
	}
	horizon := time.Time{} // zero: walk everything
	if fullAt.Valid {
		horizon = g.db.Now().Add(-g.opts.SyncLookback)
	}
	started := g.db.nowMS()
	for page := 1; page <= 100_000; page++ {
		p, err := g.prov.TransactionsPage(ctx, providers.GatewayQuery{Page: page, PageSize: syncPageSize})
		if err != nil {
			return res, fmt.Errorf("gateway sync page %d: %w", page, err)
		}
		res.Pages++
		imported, updated, err := g.apply(ctx, p.Transactions)
		if err != nil {
			return res, err
		}
		res.Seen += len(p.Transactions)
		res.Imported += imported
		res.Updated += updated
		last := len(p.Transactions) == 0 || page*syncPageSize >= p.Total
		if !last && !horizon.IsZero() {
			if oldest := p.Transactions[len(p.Transactions)-1].CreatedAt; !oldest.IsZero() && oldest.Before(horizon) {
				break
			}
		}
		if last {
			if _, err := g.db.write.ExecContext(ctx, `INSERT INTO gateway_sync (singleton, full_at) VALUES (1, ?)
				ON CONFLICT (singleton) DO UPDATE SET full_at = excluded.full_at`, started); err != nil {
				return res, fmt.Errorf("db: gateway sync state: %w", err)
			}
			break
		}
	}
	// Open ones the pages no longer reach: asked one by one.
	if !horizon.IsZero() {
		ids, err := g.openBefore(ctx, horizon)
		if err != nil {
			return res, err
		}
		for _, id := range ids {
			t, err := getGatewayTxn(ctx, g.db.read, id)
			if err != nil {
				return res, err
			}
			if t.ProviderTxnID != "" {
				if err := g.refresh(ctx, t); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}

// openBefore lists pending transactions created before horizon, oldest
// first (at most 100 a pass).
func (g *Gateway) openBefore(ctx context.Context, horizon time.Time) ([]string, error) {
	return queryAll(ctx, g.db.read, "open gateway transactions", scanValue[string], `SELECT id FROM gateway_transactions
		WHERE status = 'pending' AND created_at < ? ORDER BY created_at LIMIT 100`, horizon.UnixMilli())
}

// apply records one page of KS Pay's transactions.
func (g *Gateway) apply(ctx context.Context, page []providers.GatewayTransaction) (imported, updated int, err error) {
	for _, got := range page {
		t, err := scanGatewayTxn(g.db.read.QueryRowContext(ctx, `SELECT `+gatewayColumns+gatewayFrom+`
			WHERE t.provider_txn_id = ? OR t.reference_number = ?`, got.ID, got.Reference))
		switch {
		case ErrorCode(err) == ENOTFOUND:
			ok, err := g.importTxn(ctx, got)
			if err != nil {
				return imported, updated, err
			}
			if ok {
				imported++
			}
		case err != nil:
			return imported, updated, err
		case t.Status.Final():
		default:
			ok, err := g.observe(ctx, t, got, "provider_status", "")
			if err != nil {
				return imported, updated, err
			}
			if ok {
				updated++
			}
		}
	}
	return imported, updated, nil
}

// importTxn records a transaction made elsewhere (another app of the
// merchant, KS Pay's console), audited as an import.
func (g *Gateway) importTxn(ctx context.Context, got providers.GatewayTransaction) (bool, error) {
	tx, err := g.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var method, code string
	_ = tx.QueryRowContext(ctx, `SELECT m.name, c.code FROM gateway_methods m JOIN gateway_currencies c ON c.id = m.currency_id
		WHERE m.id = ? AND m.currency_id = ?`, got.PaymentMethodID, got.CurrencyID).Scan(&method, &code)
	if method == "" {
		method = got.PaymentMethodID
	}
	if got.CurrencyCode != "" {
		code = got.CurrencyCode
	}
	status := statusOf(got)
	created := got.CreatedAt
	if created.IsZero() {
		created = g.db.Now()
	}
	var paid any
	if status == GatewayPaid {
		paid = got.UpdatedAt.UnixMilli()
	}
	now := g.db.nowMS()
	res, err := tx.ExecContext(ctx, `INSERT INTO gateway_transactions (id, reference_number, provider_txn_id, provider_order_id,
		provider_payment_id, provider_status, currency_id, currency_code, method_id, method_name, amount_minor, status, origin,
		paid_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported', ?, ?, ?) ON CONFLICT DO NOTHING`,
		got.ID, got.Reference, got.ID, got.ProviderOrderID, got.ProviderPaymentID, got.ProviderStatus, got.CurrencyID, code,
		got.PaymentMethodID, method, got.AmountPaise, string(status), paid, created.UnixMilli(), now)
	if err != nil {
		return false, fmt.Errorf("db: import gateway transaction %s: %w", got.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if err := gatewayTimeline.add(ctx, tx, now, got.ID, "imported", string(status), got.ProviderStatus,
		"made outside Paydesk, reference "+got.Reference, "", SystemActor.Username); err != nil {
		return false, err
	}
	if err := g.db.audit(ctx, tx, SystemActor, "gateway.imported", "gateway_transaction", got.ID, map[string]any{
		"reference": got.Reference, "amount_minor": got.AmountPaise, "currency": code, "status": status}); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// Sweep puts a step job back for transactions that are on their way but
// unchanged for StuckAfter (lost jobs). Jobs left running by a dead process
// are the dispatcher's to recover, as for every queue it serves. It returns
// how many it enqueued.
func (g *Gateway) Sweep(ctx context.Context) (int, error) {
	if g.queueErr != nil {
		return 0, g.queueErr
	}
	ids, err := queryAll(ctx, g.db.read, "stuck gateway transactions", scanValue[string], `SELECT id FROM gateway_transactions
		WHERE status IN ('initiating', 'unknown') AND updated_at < ? LIMIT 1000`,
		g.db.nowMS()-g.opts.StuckAfter.Milliseconds())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		res, err := g.queue.Insert(ctx, GatewayStepArgs{TxnID: id}, nil)
		if err != nil {
			return n, fmt.Errorf("db: enqueue gateway step of %s: %w", id, err)
		}
		if !res.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// Run keeps the catalogue fresh, syncs every interval (and on Kick), and
// sweeps, until ctx ends.
func (g *Gateway) Run(ctx context.Context, every time.Duration) {
	if g.prov == nil {
		return
	}
	var catalogued time.Time
	RunEvery(ctx, every, g.kick, g.opts.Logger, "gateway sync", func(ctx context.Context, _ bool) error {
		var errs []error
		if time.Since(catalogued) > g.opts.CatalogueEvery {
			if err := g.RefreshCatalogue(ctx); err != nil {
				errs = append(errs, err)
			} else {
				catalogued = time.Now()
			}
		}
		if _, err := g.Sync(ctx); err != nil {
			errs = append(errs, err)
		}
		if _, err := g.Sweep(ctx); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

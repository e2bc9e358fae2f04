package db

// KS Pay collections: a maker asks a payer to pay by card, UPI or net
// banking through KS Pay's payment engine. Paydesk records the transaction,
// and a River job (inserted in the same transaction) initiates it at KS Pay
// and processes it into the order the payer's checkout takes. The payer's
// redirect back is a hint only: a transaction is paid when KS Pay, asked by
// id, says so. A background sync pages through KS Pay's transactions to keep
// states current and to import transactions made elsewhere.

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"paydesk/providers"
)

// GatewayQueue is the River queue of the gateway's jobs.
const GatewayQueue = "gateway"

// GatewayStepArgs is the job that takes one transaction forward at KS Pay:
// initiate, process, or ask what it became.
type GatewayStepArgs struct {
	TxnID string `json:"txn_id"`
}

// Kind is River's name for the job.
func (GatewayStepArgs) Kind() string { return "gateway_step" }

// InsertOpts keeps one job per transaction while one waits or runs.
func (GatewayStepArgs) InsertOpts() river.InsertOpts { return uniqueWhileActive(GatewayQueue) }

// GatewayStatus is a gateway transaction's state in Paydesk.
type GatewayStatus string

// Gateway transaction states. Initiating and unknown are Paydesk's own: not
// yet known at KS Pay, and sent with the answer lost (asked about by
// reference before anything else). Refused: KS Pay turned the request down.
const (
	GatewayInitiating GatewayStatus = "initiating"
	GatewayUnknown    GatewayStatus = "unknown"
	GatewayPending    GatewayStatus = "pending"
	GatewayPaid       GatewayStatus = "paid"
	GatewayFailed     GatewayStatus = "failed"
	GatewayExpired    GatewayStatus = "expired"
	GatewayRefused    GatewayStatus = "refused"
)

// GatewayStatuses lists the states, for filter menus.
var GatewayStatuses = []GatewayStatus{GatewayInitiating, GatewayUnknown, GatewayPending, GatewayPaid, GatewayFailed, GatewayExpired, GatewayRefused}

// Final reports whether the state can no longer change.
func (s GatewayStatus) Final() bool {
	switch s {
	case GatewayPaid, GatewayFailed, GatewayExpired, GatewayRefused:
		return true
	}
	return false
}

// GatewayRoles may initiate gateway transactions: no money leaves, so no
// approval is needed (as for collection requests).
var GatewayRoles = []Role{RoleAdmin, RoleMaker}

// GatewayTxn is one gateway transaction as Paydesk holds it.
type GatewayTxn struct {
	ID                string
	ReferenceNumber   string // KS Pay's duplicate guard: ID for ours
	CustomerRef       string // the maker's own reference
	ProviderTxnID     string
	ProviderOrderID   string
	ProviderPaymentID string
	ProviderStatus    string
	CurrencyID        string
	CurrencyCode      string
	MethodID          string
	MethodName        string
	AmountMinor       int64
	Status            GatewayStatus
	Origin            string // "paydesk" or "imported"
	Description       string
	ContactID         string
	MakerID           int64
	Maker             string
	// Order is what the payer's checkout takes, once processed.
	Order     *providers.GatewayOrder
	LastError string
	Attempts  int
	SentAt    time.Time // the latest initiate began (zero: never sent)
	PaidAt    time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GatewayOptions tune the gateway. Zero fields take the defaults.
type GatewayOptions struct {
	// RedirectURL is where KS Pay sends the payer back (Paydesk's
	// /gateway/return); empty: no redirect.
	RedirectURL string
	// NotFoundGrace: after an initiate whose answer was lost, KS Pay is
	// asked by reference; "not found" sooner than this after sending is
	// asked again later, never taken as licence to initiate again; 2 min.
	NotFoundGrace time.Duration
	// RetryAfter is how long a step waits after a failed call; 30 s.
	RetryAfter time.Duration
	// StuckAfter: a job running this long is dead and rescued; 10 min.
	StuckAfter time.Duration
	// SyncLookback: after the first full pass, the sync reads transactions
	// created this far back (and back to the oldest open one); 48 h.
	SyncLookback time.Duration
	// CatalogueEvery: currencies and methods are refreshed this often; 1 h.
	CatalogueEvery time.Duration
	Logger         *slog.Logger
}

func (o GatewayOptions) withDefaults() GatewayOptions {
	if o.NotFoundGrace <= 0 {
		o.NotFoundGrace = 2 * time.Minute
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 30 * time.Second
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = 10 * time.Minute
	}
	if o.SyncLookback <= 0 {
		o.SyncLookback = 48 * time.Hour
	}
	if o.CatalogueEvery <= 0 {
		o.CatalogueEvery = time.Hour
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	return o
}

// Gateway is the KS Pay collections domain.
type Gateway struct {
	db   *DB
	prov providers.Gateway // nil: not configured; transactions wait
	opts GatewayOptions
	// queue inserts step jobs inside Paydesk's transactions; the
	// dispatcher's client works them (JobQueue).
	queue    *river.Client[*sql.Tx]
	queueErr error
	kick     chan struct{}
}

// NewGateway returns the gateway domain over d and prov (nil when KS Pay is
// not configured). Its jobs run on the dispatcher's River client: pass
// JobQueue in DispatchOptions.Jobs.
func NewGateway(d *DB, prov providers.Gateway, opts GatewayOptions) *Gateway {
	g := &Gateway{db: d, prov: prov, opts: opts.withDefaults(), kick: make(chan struct{}, 1)}
	g.queueErr = MigrateQueue(context.Background(), d)
	if g.queueErr == nil {
		g.queue, g.queueErr = newInsertClient(d)
	}
	return g
}

// Configured reports whether KS Pay is configured.
func (g *Gateway) Configured() bool { return g.prov != nil }

// JobQueue is the gateway's River queue for the dispatcher.
func (g *Gateway) JobQueue() JobQueue {
	return JobQueue{Queue: GatewayQueue, MaxWorkers: 8, StuckAfter: g.opts.StuckAfter, Register: func(w *river.Workers) {
		river.AddWorker(w, &gatewayWorker{g: g})
	}}
}

// Kick asks the background loop for a sync now.
func (g *Gateway) Kick() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// ---- catalogue ----

// GatewayCurrency is a currency KS Pay accepts.
type GatewayCurrency struct {
	ID, Code, Name string
}

// GatewayMethod is one way to pay in a currency.
type GatewayMethod struct {
	ID, CurrencyID, Name string
}

// RefreshCatalogue reads KS Pay's active currencies and their payment
// methods into the cache, in one transaction: what KS Pay no longer offers
// is kept, marked inactive, so old transactions still name it.
func (g *Gateway) RefreshCatalogue(ctx context.Context) error {
	if g.prov == nil {
		return nil
	}
	cs, err := g.prov.Currencies(ctx)
	if err != nil {
		return fmt.Errorf("gateway currencies: %w", err)
	}
	methods := map[string][]providers.PaymentMethod{}
	for _, c := range cs {
		ms, err := g.prov.PaymentMethods(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("gateway methods of %s: %w", c.Code, err)
		}
		methods[c.ID] = ms
	}
	tx, err := g.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := g.db.nowMS()
	for _, q := range []string{`UPDATE gateway_currencies SET active = 0`, `UPDATE gateway_methods SET active = 0`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("db: catalogue: %w", err)
		}
	}
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_currencies (id, code, name, active, refreshed_at) VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (id) DO UPDATE SET code = excluded.code, name = excluded.name, active = 1, refreshed_at = excluded.refreshed_at`,
			c.ID, c.Code, c.Name, now); err != nil {
			return fmt.Errorf("db: catalogue: %w", err)
		}
		for _, m := range methods[c.ID] {
			if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_methods (id, currency_id, name, active, refreshed_at) VALUES (?, ?, ?, 1, ?)
				ON CONFLICT (currency_id, id) DO UPDATE SET name = excluded.name, active = 1, refreshed_at = excluded.refreshed_at`,
				m.ID, c.ID, m.Name, now); err != nil {
				return fmt.Errorf("db: catalogue: %w", err)
			}
		}
	}
	return tx.Commit()
}

// Currencies lists the cached active currencies by code, and when the
// cache was last refreshed (zero: never).
func (g *Gateway) Currencies(ctx context.Context) ([]GatewayCurrency, time.Time, error) {
	cs, err := queryAll(ctx, g.db.read, "gateway currencies", func(s scanner) (GatewayCurrency, error) {
		var c GatewayCurrency
		return c, s.Scan(&c.ID, &c.Code, &c.Name)
	}, `SELECT id, code, name FROM gateway_currencies WHERE active = 1`)
	if err != nil {
		return nil, time.Time{}, err
	}
	// The catalogue is a handful of rows, sorted here.
	slices.SortFunc(cs, func(a, b GatewayCurrency) int { return strings.Compare(a.Code, b.Code) })
	var at sql.NullInt64
	if err := g.db.read.QueryRowContext(ctx, `SELECT max(refreshed_at) FROM gateway_currencies`).Scan(&at); err != nil {
		return nil, time.Time{}, fmt.Errorf("db: catalogue: %w", err)
	}
	var refreshed time.Time
	if at.Valid {
		refreshed = time.UnixMilli(at.Int64)
	}
	return cs, refreshed, nil
}

// Methods lists the cached active payment methods of a currency.
func (g *Gateway) Methods(ctx context.Context, currencyID string) ([]GatewayMethod, error) {
	return g.methods(ctx, `SELECT id, currency_id, name FROM gateway_methods WHERE currency_id = ? AND active = 1`, currencyID)
}

// methods reads catalogue methods, sorted by name here (a handful).
func (g *Gateway) methods(ctx context.Context, query string, args ...any) ([]GatewayMethod, error) {
	ms, err := queryAll(ctx, g.db.read, "gateway methods", func(s scanner) (GatewayMethod, error) {
		var m GatewayMethod
		return m, s.Scan(&m.ID, &m.CurrencyID, &m.Name)
	}, query, args...)
	slices.SortFunc(ms, func(a, b GatewayMethod) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.CurrencyID, b.CurrencyID))
	})
	return ms, err
}

// AllMethods lists every cached method ever seen, active or not, for the
// list's filter.
func (g *Gateway) AllMethods(ctx context.Context) ([]GatewayMethod, error) {
	return g.methods(ctx, `SELECT id, currency_id, name FROM gateway_methods`)
}

// ---- initiating ----

// GatewayInput is a maker's new transaction, as typed.
type GatewayInput struct {
	Amount      string // in the currency's major unit, exact: "1499.50"
	CurrencyID  string
	MethodID    string
	CustomerRef string
	ContactID   string
	Description string
}

// maxGatewayMinor is the largest amount KS Pay takes (₹99,99,99,999.99).
const maxGatewayMinor = 99_999_999_99

// Initiate validates in and records the transaction with its step job, in
// one transaction, as maker. The job initiates it at KS Pay in the
// background; the transaction's page shows the payer's order once KS Pay
// has processed it.
func (g *Gateway) Initiate(ctx context.Context, maker User, in GatewayInput) (GatewayTxn, error) {
	t, err := g.initiateTx(ctx, maker, in)
	if err == nil {
		return t, nil
	}
	var ref *refusal
	if errors.As(err, &ref) {
		return t, g.recordRefusal(ctx, maker, err)
	}
	return t, err
}

func (g *Gateway) recordRefusal(ctx context.Context, u User, err error) error {
	// The approval engine owns refusal auditing; the gateway's refusals are
	// the same kind of record.
	return (&Approvals{db: g.db}).recordRefusal(ctx, u.Actor(), err)
}

func (g *Gateway) initiateTx(ctx context.Context, maker User, in GatewayInput) (GatewayTxn, error) {
	if g.queueErr != nil {
		return GatewayTxn{}, fmt.Errorf("db: gateway queue unavailable: %w", g.queueErr)
	}
	f := fieldErrors{}
	amount, err := providers.ParseAmount(strings.TrimSpace(in.Amount))
	switch {
	case strings.TrimSpace(in.Amount) == "":
		f.add("amount", "Enter the amount, like 1499.50.")
	case errors.Is(err, providers.ErrAmountPrecision):
		f.add("amount", "At most two decimals (paise).")
	case err != nil || amount <= 0:
		f.add("amount", "Enter a positive amount, like 1499.50.")
	case amount > maxGatewayMinor:
		f.add("amount", "KS Pay takes at most 99,99,99,999.99.")
	}
	in.CustomerRef = strings.TrimSpace(in.CustomerRef)
	if n := utf8.RuneCountInString(in.CustomerRef); n == 0 || n > 40 {
		f.add("customer_ref", "Give your reference (an invoice or order number), up to 40 characters.")
	}
	in.Description = strings.TrimSpace(in.Description)
	if utf8.RuneCountInString(in.Description) > 200 {
		f.add("description", "At most 200 characters.")
	}
	tx, err := g.db.beginWrite(ctx)
	if err != nil {
		return GatewayTxn{}, err
	}
	defer tx.Rollback()
	u, err := getUser(ctx, tx, maker.ID)
	if err != nil {
		return GatewayTxn{}, err
	}
	if u.Disabled || !slices.ContainsFunc(GatewayRoles, u.HasRole) {
		return GatewayTxn{}, refuse("initiate_gateway", ApprovalRequest{Kind: "gateway", TargetID: "new"},
			"Collecting through KS Pay needs the %s role.", roleList(GatewayRoles))
	}
	var code, methodName string
	err = tx.QueryRowContext(ctx, `SELECT c.code, m.name FROM gateway_currencies c JOIN gateway_methods m ON m.currency_id = c.id
		WHERE c.id = ? AND m.id = ? AND c.active = 1 AND m.active = 1`, in.CurrencyID, in.MethodID).Scan(&code, &methodName)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var ok int
		_ = tx.QueryRowContext(ctx, `SELECT count(*) FROM gateway_currencies WHERE id = ? AND active = 1`, in.CurrencyID).Scan(&ok)
		if ok == 0 {
			f.add("currency", "Choose a currency KS Pay offers.")
		} else {
			f.add("method", "Choose a payment method offered for this currency.")
		}
	case err != nil:
		return GatewayTxn{}, fmt.Errorf("db: gateway catalogue: %w", err)
	}
	if in.ContactID != "" {
		if _, err := getContact(ctx, tx, in.ContactID); err != nil {
			if ErrorCode(err) != ENOTFOUND {
				return GatewayTxn{}, err
			}
			f.add("contact", "No such contact.")
		}
	}
	if err := f.err(); err != nil {
		return GatewayTxn{}, err
	}
	id := "KP" + randomBase32(14)
	now := g.db.nowMS()
	if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_transactions (id, reference_number, customer_ref, currency_id, currency_code,
		method_id, method_name, amount_minor, status, origin, description, contact_id, maker_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'initiating', 'paydesk', ?, ?, ?, ?, ?)`,
		id, id, in.CustomerRef, in.CurrencyID, code, in.MethodID, methodName, amount, in.Description, nullString(in.ContactID),
		u.ID, now, now); err != nil {
		return GatewayTxn{}, fmt.Errorf("db: insert gateway transaction: %w", err)
	}
	shown := code + " " + providers.FormatAmount(amount)
	if code == "INR" {
		shown = rupees(amount)
	}
	if err := gatewayTimeline.add(ctx, tx, now, id, "created", string(GatewayInitiating), "",
		fmt.Sprintf("%s by %s, reference %s", shown, methodName, in.CustomerRef), "", u.Username); err != nil {
		return GatewayTxn{}, err
	}
	if err := g.db.audit(ctx, tx, u.Actor(), "gateway.created", "gateway_transaction", id, map[string]any{
		"amount_minor": amount, "currency": code, "method": methodName, "customer_ref": in.CustomerRef, "contact_id": in.ContactID,
	}); err != nil {
		return GatewayTxn{}, err
	}
	if _, err := g.queue.InsertTx(ctx, tx, GatewayStepArgs{TxnID: id}, nil); err != nil {
		return GatewayTxn{}, fmt.Errorf("db: enqueue gateway step of %s: %w", id, err)
	}
	t, err := getGatewayTxn(ctx, tx, id)
	if err != nil {
		return GatewayTxn{}, err
	}
	return t, tx.Commit()
}

// ---- reading ----

const gatewayColumns = `t.id, t.reference_number, t.customer_ref, coalesce(t.provider_txn_id, ''), t.provider_order_id, t.provider_payment_id,
	t.provider_status, t.currency_id, t.currency_code, t.method_id, t.method_name, t.amount_minor, t.status, t.origin, t.description,
	coalesce(t.contact_id, ''), coalesce(t.maker_id, 0), coalesce(u.username, ''), t.order_json, t.last_error, t.attempts,
	coalesce(t.sent_at, 0), coalesce(t.paid_at, 0), t.created_at, t.updated_at`

const gatewayFrom = ` FROM gateway_transactions t LEFT JOIN users u ON u.id = t.maker_id`

func scanGatewayTxn(s scanner) (GatewayTxn, error) {
	var t GatewayTxn
	var order string
	var sent, paid, created, updated int64
	if err := s.Scan(&t.ID, &t.ReferenceNumber, &t.CustomerRef, &t.ProviderTxnID, &t.ProviderOrderID, &t.ProviderPaymentID,
		&t.ProviderStatus, &t.CurrencyID, &t.CurrencyCode, &t.MethodID, &t.MethodName, &t.AmountMinor, &t.Status, &t.Origin,
		&t.Description, &t.ContactID, &t.MakerID, &t.Maker, &order, &t.LastError, &t.Attempts, &sent, &paid, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return t, Errorf(ENOTFOUND, "No such gateway transaction.")
		}
		return t, fmt.Errorf("db: scan gateway transaction: %w", err)
	}
	if order != "" {
		var o providers.GatewayOrder
		if json.Unmarshal([]byte(order), &o) == nil {
			t.Order = &o
		}
	}
	t.CreatedAt, t.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	if sent != 0 {
		t.SentAt = time.UnixMilli(sent)
	}
	if paid != 0 {
		t.PaidAt = time.UnixMilli(paid)
	}
	return t, nil
}

func getGatewayTxn(ctx context.Context, q querier, id string) (GatewayTxn, error) {
	return scanGatewayTxn(q.QueryRowContext(ctx, `SELECT `+gatewayColumns+gatewayFrom+` WHERE t.id = ?`, id))
}

// Get returns a transaction and its timeline, oldest first.
func (g *Gateway) Get(ctx context.Context, id string) (GatewayTxn, []Event, error) {
	t, err := getGatewayTxn(ctx, g.db.read, id)
	if err != nil {
		return t, nil, err
	}
	evs, err := gatewayTimeline.list(ctx, g.db.read, id)
	return t, evs, err
}

// ByProviderID returns the transaction KS Pay knows by providerTxnID.
func (g *Gateway) ByProviderID(ctx context.Context, providerTxnID string) (GatewayTxn, error) {
	return scanGatewayTxn(g.db.read.QueryRowContext(ctx, `SELECT `+gatewayColumns+gatewayFrom+` WHERE t.provider_txn_id = ?`, providerTxnID))
}

// GatewayFilter narrows List. Zero fields match everything.
type GatewayFilter struct {
	Status   GatewayStatus
	MethodID string
	Currency string // code
	MinMinor int64  // inclusive; 0: none
	MaxMinor int64  // inclusive; 0: none
	From, To time.Time
	// Query is an exact Paydesk id, KS Pay id, reference number or the
	// maker's reference.
	Query string
	// After is the id of the last row of the previous page.
	After string
	Limit int // default 50, at most 500
}

// ByAmount reports whether the list is ordered by amount (largest first):
// it is when an amount range is given, so that the range is read from its
// index in order.
func (f GatewayFilter) ByAmount() bool { return f.MinMinor > 0 || f.MaxMinor > 0 }

// List returns one page of transactions, newest first (largest first with
// an amount range), and whether more follow.
func (g *Gateway) List(ctx context.Context, f GatewayFilter) ([]GatewayTxn, bool, error) {
	f.Limit = pageLimit(f.Limit, 500)
	w, order, matches, err := g.listQuery(ctx, f)
	if err != nil || (f.Query != "" && len(matches) == 0) {
		return nil, false, err
	}
	if matches != nil {
		list, err := queryAll(ctx, g.db.read, "gateway transactions", scanGatewayTxn, `SELECT `+gatewayColumns+gatewayFrom+w.where(), w.args...)
		slices.SortFunc(list, func(a, b GatewayTxn) int { return b.CreatedAt.Compare(a.CreatedAt) })
		return list, false, err
	}
	return queryPage(ctx, g.db.read, "gateway transactions", f.Limit, scanGatewayTxn,
		`SELECT `+gatewayColumns+gatewayFrom+w.where()+` ORDER BY `+order+` LIMIT ?`, append(w.args, f.Limit+1)...)
}

// Each calls fn for every transaction matching f (After and Limit aside),
// in List's order, from one read: the CSV export's consistent snapshot.
func (g *Gateway) Each(ctx context.Context, f GatewayFilter, fn func(GatewayTxn) error) error {
	f.After = ""
	w, order, matches, err := g.listQuery(ctx, f)
	if err != nil || (f.Query != "" && len(matches) == 0) {
		return err
	}
	q := `SELECT ` + gatewayColumns + gatewayFrom + w.where()
	if matches == nil {
		q += ` ORDER BY ` + order
	}
	return eachRow(ctx, g.db.read, "gateway export", scanGatewayTxn, fn, q, w.args...)
}

// listQuery builds List's conditions and order; matches are the ids an
// exact reference names (nil without one).
func (g *Gateway) listQuery(ctx context.Context, f GatewayFilter) (conditions, string, []string, error) {
	var w conditions
	var matches []string
	if q := strings.TrimSpace(f.Query); q != "" {
		// An exact reference names a handful of rows: each kind of id is
		// looked up in its own index, and the few rows are sorted here.
		var err error
		if matches, err = g.lookupRefs(ctx, q); err != nil || len(matches) == 0 {
			return w, "", nil, err
		}
		addIn(&w, "t.id", matches)
	}
	if f.Status != "" {
		w.add("t.status = ?", string(f.Status))
	}
	if f.MethodID != "" {
		w.add("t.method_id = ?", f.MethodID)
	}
	if f.Currency != "" {
		w.add("t.currency_code = ?", f.Currency)
	}
	if f.MinMinor > 0 {
		w.add("t.amount_minor >= ?", f.MinMinor)
	}
	if f.MaxMinor > 0 {
		w.add("t.amount_minor <= ?", f.MaxMinor)
	}
	if !f.From.IsZero() {
		w.add("t.created_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		w.add("t.created_at < ?", f.To.UnixMilli())
	}
	order := "t.created_at DESC, t.id DESC"
	if f.ByAmount() {
		order = "t.amount_minor DESC, t.id DESC"
		if f.After != "" {
			w.add("(t.amount_minor, t.id) < (SELECT amount_minor, id FROM gateway_transactions WHERE id = ?)", f.After)
		}
	} else if f.After != "" {
		w.add("(t.created_at, t.id) < (SELECT created_at, id FROM gateway_transactions WHERE id = ?)", f.After)
	}
	return w, order, matches, nil
}

// maxRefMatches bounds what one exact reference may name (a maker's
// reference can be reused, say for a second attempt).
const maxRefMatches = 50

// lookupRefs finds the transactions q names exactly: Paydesk's id, KS
// Pay's id, the reference number, or the maker's reference.
func (g *Gateway) lookupRefs(ctx context.Context, q string) ([]string, error) {
	var out []string
	for _, query := range []string{
		`SELECT id FROM gateway_transactions WHERE id = ?`,
		`SELECT id FROM gateway_transactions WHERE provider_txn_id = ?`,
		`SELECT id FROM gateway_transactions WHERE reference_number = ?`,
		`SELECT id FROM gateway_transactions WHERE customer_ref = ? AND customer_ref <> '' LIMIT ` + strconv.Itoa(maxRefMatches),
	} {
		ids, err := queryAll(ctx, g.db.read, "gateway reference", scanValue[string], query, q)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// ---- money collected (InflowSource) ----

// CountAwaitingPayer counts the transactions waiting for their payer (up
// to MaxWaitingCount), for the overview.
func (g *Gateway) CountAwaitingPayer(ctx context.Context) (int, error) {
	return g.db.cappedCount(ctx, MaxWaitingCount, `SELECT 1 FROM gateway_transactions WHERE status = ?`, string(GatewayPending))
}

// InflowName is the channel as a person reads it.
func (g *Gateway) InflowName() string { return "KS Pay collections" }

// InflowsByDay returns the rupees collected through KS Pay per IST day of
// payment in [from, to), from the per-day summary. Other currencies are not
// rupees and are left out (the gateway's analytics show them).
func (g *Gateway) InflowsByDay(ctx context.Context, from, to time.Time) ([]DayAmount, error) {
	return queryAll(ctx, g.db.read, "gateway inflows", func(s scanner) (DayAmount, error) {
		var d DayAmount
		return d, s.Scan(&d.Day, &d.Paise, &d.Count)
	}, `SELECT day, amount_minor, txns FROM gateway_paid_days WHERE currency_code = 'INR' AND day >= ? AND day < ? AND txns > 0
		ORDER BY day`, ISTDay(from), ISTDay(to))
}

var _ InflowSource = (*Gateway)(nil)

package db

// Collections: asking people to pay us, through PayMate, and the requests to
// be paid that vendors raise at PayMate.
//
// A collection request is made by an admin or a maker and sent by the
// background loop (collections_sync.go), never while a person waits. It
// needs no maker-checker approval: asking someone to pay us moves no money
// out of our accounts, and the payer decides whether to pay. Who asked for
// what is on the audit log all the same.
//
// Vendor requests are imported from PayMate as they are; turning one into a
// payout is a payout proposal like any other (the payouts side sets
// payout_id and state 'proposed'), so paying a vendor still takes a checker.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"paydesk/providers"
)

// CollectionState is where a request for payment is in Paydesk.
type CollectionState string

// Collection request states (see migrations/0007_collections.sql).
const (
	CollectionQueued    CollectionState = "queued"
	CollectionPending   CollectionState = "pending"
	CollectionPaid      CollectionState = "paid"
	CollectionExpired   CollectionState = "expired"
	CollectionCancelled CollectionState = "cancelled"
	CollectionFailed    CollectionState = "failed"
	CollectionUnknown   CollectionState = "unknown"
)

// CollectionStates lists every state, in the order a request moves through them.
var CollectionStates = []CollectionState{CollectionQueued, CollectionUnknown, CollectionPending, CollectionPaid,
	CollectionExpired, CollectionCancelled, CollectionFailed}

// Final reports whether nothing more will happen to the request.
func (s CollectionState) Final() bool {
	switch s {
	case CollectionPaid, CollectionExpired, CollectionCancelled, CollectionFailed:
		return true
	}
	return false
}

// CollectionRequest is one request for payment as Paydesk holds it.
type CollectionRequest struct {
	ID          string // also PayMate's OrderID
	ContactID   string // "" for someone not registered
	ContactRef  string // the contact's ContactXpressID at PayMate
	PayerName   string
	PayerEmail  string
	PayerMobile string
	AmountPaise int64
	Purpose     string
	State       CollectionState
	// What PayMate last said.
	ProviderRef     string // TransactionRefNo
	ProviderCode    string
	ProviderMessage string
	UTR             string
	PaidAt          time.Time
	Attempts        int       // times handed to PayMate
	SentAt          time.Time // last handed to PayMate; zero until then
	CheckedAt       time.Time // last status inquiry
	LastError       string    // the last failed call, while the request is not final
	CreatedBy       int64
	Creator         string // username
	CreatedAt       time.Time
	UpdatedAt       time.Time
	FinalAt         time.Time
}

// VendorRequestState is where a vendor's request to be paid is in Paydesk.
type VendorRequestState string

// Vendor request states (see migrations/0007_collections.sql).
const (
	VendorRequestOpen      VendorRequestState = "open"
	VendorRequestProposed  VendorRequestState = "proposed"
	VendorRequestPaid      VendorRequestState = "paid"
	VendorRequestExpired   VendorRequestState = "expired"
	VendorRequestFailed    VendorRequestState = "failed"
	VendorRequestDismissed VendorRequestState = "dismissed"
)

// VendorRequestStates lists every vendor request state.
var VendorRequestStates = []VendorRequestState{VendorRequestOpen, VendorRequestProposed, VendorRequestPaid,
	VendorRequestExpired, VendorRequestFailed, VendorRequestDismissed}

// Final reports whether nothing more will happen to the vendor request in
// Paydesk. A proposed one is not final: its payout is under way.
func (s VendorRequestState) Final() bool {
	switch s {
	case VendorRequestPaid, VendorRequestExpired, VendorRequestFailed, VendorRequestDismissed:
		return true
	}
	return false
}

// VendorRequest is a vendor's request to be paid, imported from PayMate.
type VendorRequest struct {
	ID              int64
	Provider        string // paymate
	ProviderRef     string // TransactionRefNo
	OrderID         string // the vendor's OrderID (its invoice number); pay it by approving this order
	ContactID       string // the matching Paydesk contact, "" when none matched
	ContactName     string
	ContactRef      string // the vendor's ContactXpressID, when PayMate's data names it
	VendorName      string
	AmountPaise     int64
	Purpose         string
	RequestedAt     time.Time // at PayMate; zero when it did not say
	State           VendorRequestState
	ProviderCode    string
	ProviderMessage string
	PayoutID        string // the payout proposed for it, "" when none
	DismissedBy     string // username
	CreatedAt       time.Time
	UpdatedAt       time.Time
	FinalAt         time.Time
}

// CollectionRoles may request payments and dismiss vendor requests.
var CollectionRoles = []Role{RoleAdmin, RoleMaker}

// DefaultCollectionNotFoundGrace is how long after sending PayMate may still
// not list a request without that being taken as "it never arrived".
const DefaultCollectionNotFoundGrace = 2 * time.Minute

// Collections is the collections domain and its background loop.
type Collections struct {
	db   *DB
	prov providers.Collections
	// NotFoundGrace: PayMate may not yet list a request it has just
	// accepted, so "not found" sooner than this after sending is asked
	// again next round, never taken as licence to send again; 0 means
	// DefaultCollectionNotFoundGrace.
	NotFoundGrace time.Duration
	// queue inserts each request's step job inside the transaction that
	// creates it; the dispatcher's client works them (JobQueue).
	queue    *river.Client[*sql.Tx]
	queueErr error
	every    time.Duration // JobQueue's interval
	mu       sync.Mutex    // one SyncOnce at a time
}

// NewCollections returns the collections domain over d, sending through prov
// (PayMate). prov may be nil when PayMate is not configured: requests are
// still made and wait, queued, until it is.
func NewCollections(d *DB, prov providers.Collections) *Collections {
	c := &Collections{db: d, prov: prov}
	c.queueErr = MigrateQueue(context.Background(), d)
	if c.queueErr == nil {
		c.queue, c.queueErr = newInsertClient(d)
	}
	return c
}

// Configured reports whether requests are sent anywhere.
func (c *Collections) Configured() bool { return c.prov != nil }

func (c *Collections) grace() time.Duration {
	if c.NotFoundGrace > 0 {
		return c.NotFoundGrace
	}
	return DefaultCollectionNotFoundGrace
}

// newCollectionID returns "CR" and 12 characters of A–Z and 2–7 (60 bits):
// a valid PayMate OrderID (alphanumeric, at most 20) as it stands.
func newCollectionID() string { return "CR" + randomBase32(12) }

// --- reading ---

const collectionColumns = `r.id, coalesce(r.contact_id, ''), r.contact_ref, r.payer_name, r.payer_email, r.payer_mobile,
	r.amount_paise, r.purpose, r.state, r.provider_ref, r.provider_code, r.provider_message, r.utr, coalesce(r.paid_at, 0),
	r.attempts, coalesce(r.sent_at, 0), coalesce(r.checked_at, 0), r.last_error, r.created_by, u.username,
	r.created_at, r.updated_at, coalesce(r.final_at, 0)`

const collectionFrom = ` FROM collection_requests r JOIN users u ON u.id = r.created_by`

// unixMSOrZero reads an optional unix-ms column: 0 is the zero time.
func unixMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func scanCollection(s scanner) (CollectionRequest, error) {
	var r CollectionRequest
	var paid, sent, checked, created, updated, final int64
	if err := s.Scan(&r.ID, &r.ContactID, &r.ContactRef, &r.PayerName, &r.PayerEmail, &r.PayerMobile,
		&r.AmountPaise, &r.Purpose, &r.State, &r.ProviderRef, &r.ProviderCode, &r.ProviderMessage, &r.UTR, &paid,
		&r.Attempts, &sent, &checked, &r.LastError, &r.CreatedBy, &r.Creator, &created, &updated, &final); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, Errorf(ENOTFOUND, "No such collection request.")
		}
		return r, fmt.Errorf("db: scan collection request: %w", err)
	}
	r.PaidAt, r.SentAt, r.CheckedAt = unixMSOrZero(paid), unixMSOrZero(sent), unixMSOrZero(checked)
	r.CreatedAt, r.UpdatedAt, r.FinalAt = time.UnixMilli(created), time.UnixMilli(updated), unixMSOrZero(final)
	return r, nil
}

func getCollection(ctx context.Context, q querier, id string) (CollectionRequest, error) {
	return scanCollection(q.QueryRowContext(ctx, `SELECT `+collectionColumns+collectionFrom+` WHERE r.id = ?`, id))
}

// collectionSnapshot is a request in the audit log.
func collectionSnapshot(r CollectionRequest) map[string]any {
	return map[string]any{
		"contact_id": r.ContactID, "contact_ref": r.ContactRef, "payer_name": r.PayerName, "payer_email": r.PayerEmail,
		"payer_mobile": r.PayerMobile, "amount_paise": r.AmountPaise, "purpose": r.Purpose, "state": r.State,
	}
}

// Get returns a collection request and its timeline, oldest first.
func (c *Collections) Get(ctx context.Context, id string) (CollectionRequest, []Event, error) {
	out, err := getCollection(ctx, c.db.read, id)
	if err != nil {
		return out, nil, err
	}
	evs, err := collectionTimeline.list(ctx, c.db.read, id)
	return out, evs, err
}

// CollectionFilter narrows List. Zero fields match everything.
type CollectionFilter struct {
	// Query matches the start of the payer's name (any case), or exactly
	// the id, the payer's email, PayMate's ref or the UTR.
	Query     string
	State     CollectionState
	ContactID string
	// After is the id of the last request of the previous page (keyset
	// pagination, newest first).
	After string
	Limit int // default 50, at most 500
}

// List returns one page of collection requests, newest first, and whether
// more follow.
func (c *Collections) List(ctx context.Context, f CollectionFilter) ([]CollectionRequest, bool, error) {
	f.Limit = pageLimit(f.Limit, 500)
	var w conditions
	from := collectionFrom
	if q := strings.TrimSpace(f.Query); q != "" {
		cond, args, dense, err := collectionSearch.match(ctx, c.db.read, "FROM collection_requests r", "collection search", q)
		if err != nil {
			return nil, false, err
		}
		if dense {
			from = ` FROM collection_requests r INDEXED BY collection_requests_list JOIN users u ON u.id = r.created_by`
		}
		w.add(cond, args...)
	}
	if f.State != "" {
		w.add("r.state = ?", string(f.State))
	}
	if f.ContactID != "" {
		w.add("r.contact_id = ?", f.ContactID)
	}
	if f.After != "" {
		// created_at never changes, so the cursor's key is looked up.
		w.add("(r.created_at, r.id) < (SELECT created_at, id FROM collection_requests WHERE id = ?)", f.After)
	}
	args := append(w.args, f.Limit+1)
	where := w.where()
	return queryPage(ctx, c.db.read, "collection requests", f.Limit, scanCollection,
		`SELECT `+collectionColumns+from+where+` ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, args...)
}

// collectionSearch finds a request whose payer's name starts with the query
// (any case), or whose id, payer's email, PayMate ref or UTR is exactly it.
var collectionSearch = textSearch{
	prefix: []string{"lower(r.payer_name)"},
	exact: []exactColumn{{"r.id", upper}, {"lower(r.payer_email)", func(q string) any { return asciiLower(q) }},
		{"r.provider_ref", asTyped}, {"r.utr", asTyped}},
}

// vendorRequestSearch finds a vendor request whose vendor's name starts
// with the query (any case), or whose OrderID or PayMate ref is exactly it.
var vendorRequestSearch = textSearch{
	prefix: []string{"lower(v.vendor_name)"},
	exact:  []exactColumn{{"v.order_id", asTyped}, {"v.provider_ref", asTyped}},
}

const vendorRequestColumns = `v.id, v.provider, v.provider_ref, v.order_id, coalesce(v.contact_id, ''), coalesce(ct.company_name, ''),
	v.contact_ref, v.vendor_name, v.amount_paise, v.purpose, coalesce(v.requested_at, 0), v.state, v.provider_code,
	v.provider_message, coalesce(v.payout_id, ''), coalesce(du.username, ''), v.created_at, v.updated_at, coalesce(v.final_at, 0)`

const vendorRequestFrom = ` FROM vendor_requests v LEFT JOIN contacts ct ON ct.id = v.contact_id
	LEFT JOIN users du ON du.id = v.dismissed_by`

func scanVendorRequest(s scanner) (VendorRequest, error) {
	var v VendorRequest
	var requested, created, updated, final int64
	if err := s.Scan(&v.ID, &v.Provider, &v.ProviderRef, &v.OrderID, &v.ContactID, &v.ContactName, &v.ContactRef, &v.VendorName,
		&v.AmountPaise, &v.Purpose, &requested, &v.State, &v.ProviderCode, &v.ProviderMessage, &v.PayoutID, &v.DismissedBy,
		&created, &updated, &final); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return v, Errorf(ENOTFOUND, "No such vendor request.")
		}
		return v, fmt.Errorf("db: scan vendor request: %w", err)
	}
	v.RequestedAt, v.CreatedAt, v.UpdatedAt, v.FinalAt = unixMSOrZero(requested), time.UnixMilli(created), time.UnixMilli(updated), unixMSOrZero(final)
	return v, nil
}

func getVendorRequest(ctx context.Context, q querier, id int64) (VendorRequest, error) {
	return scanVendorRequest(q.QueryRowContext(ctx, `SELECT `+vendorRequestColumns+vendorRequestFrom+` WHERE v.id = ?`, id))
}

// vendorTarget is a vendor request's audit target id.
func vendorTarget(id int64) string { return fmt.Sprint(id) }

// GetVendorRequest returns one vendor request.
func (c *Collections) GetVendorRequest(ctx context.Context, id int64) (VendorRequest, error) {
	return getVendorRequest(ctx, c.db.read, id)
}

// VendorRequestFilter narrows ListVendorRequests. Zero fields match everything.
type VendorRequestFilter struct {
	State     VendorRequestState
	ContactID string
	// Query matches the start of the vendor's name (any case), or exactly
	// the vendor's OrderID or PayMate's ref.
	Query string
	// After is the id of the last vendor request of the previous page
	// (newest first).
	After int64
	Limit int // default 50, at most 500
}

// ListVendorRequests returns one page of vendor requests, newest first, and
// whether more follow.
func (c *Collections) ListVendorRequests(ctx context.Context, f VendorRequestFilter) ([]VendorRequest, bool, error) {
	f.Limit = pageLimit(f.Limit, 500)
	var w conditions
	if f.State != "" {
		w.add("v.state = ?", string(f.State))
	}
	if f.ContactID != "" {
		w.add("v.contact_id = ?", f.ContactID)
	}
	from := vendorRequestFrom
	if q := strings.TrimSpace(f.Query); q != "" {
		cond, args, dense, err := vendorRequestSearch.match(ctx, c.db.read, "FROM vendor_requests v", "vendor request search", q)
		if err != nil {
			return nil, false, err
		}
		if dense {
			// Newest first is the table's own order: walk it.
			from = strings.Replace(from, "FROM vendor_requests v", "FROM vendor_requests v NOT INDEXED", 1)
		}
		w.add(cond, args...)
	}
	if f.After > 0 {
		w.add("v.id < ?", f.After)
	}
	args := append(w.args, f.Limit+1)
	where := w.where()
	return queryPage(ctx, c.db.read, "vendor requests", f.Limit, scanVendorRequest,
		`SELECT `+vendorRequestColumns+from+where+` ORDER BY v.id DESC LIMIT ?`, args...)
}

// CountOpen counts the requests not yet final (sent, waiting for the payer,
// or being asked about), up to MaxWaitingCount, for the overview.
func (c *Collections) CountOpen(ctx context.Context) (int, error) {
	return c.db.cappedCount(ctx, MaxWaitingCount, `SELECT 1 FROM collection_requests WHERE state = 'queued'
		UNION ALL SELECT 1 FROM collection_requests WHERE state = 'pending'
		UNION ALL SELECT 1 FROM collection_requests WHERE state = 'unknown'`)
}

// CountOpenVendorRequests counts the vendor requests waiting for someone to
// decide them, for the navigation.
func (c *Collections) CountOpenVendorRequests(ctx context.Context) (int, error) {
	var n int
	if err := c.db.read.QueryRowContext(ctx, `SELECT count(*) FROM vendor_requests WHERE state = 'open'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("db: count vendor requests: %w", err)
	}
	return n, nil
}

// --- making requests ---

// collectionRefusal is an EFORBIDDEN answer. Its transaction is rolled
// back, yet the attempt must be on the record, so the public method writes
// it to the audit log in a transaction of its own (recordRefusal).
type collectionRefusal struct {
	err        *Error
	action     string // the audit action of the refusal
	attempt    string
	targetType string
	targetID   string
}

func (r *collectionRefusal) Error() string { return r.err.Error() }
func (r *collectionRefusal) Unwrap() error { return r.err }

// recordRefusal audits err if it is a refusal and returns it as a plain
// domain error; other errors pass through. It runs after the refused
// transaction has ended (one writer connection).
func (c *Collections) recordRefusal(ctx context.Context, actor Actor, err error) error {
	var ref *collectionRefusal
	if !errors.As(err, &ref) {
		return err
	}
	ctx = context.WithoutCancel(ctx) // recorded even when the caller has gone away
	tx, terr := c.db.beginWrite(ctx)
	if terr != nil {
		return terr
	}
	defer tx.Rollback()
	if aerr := c.db.audit(ctx, tx, actor, ref.action, ref.targetType, ref.targetID,
		map[string]any{"attempt": ref.attempt, "reason": ref.err.Message}); aerr != nil {
		return aerr
	}
	if cerr := tx.Commit(); cerr != nil {
		return fmt.Errorf("db: audit refusal: %w", cerr)
	}
	return ref.err
}

// requireCollector reads u again inside tx: requests for payment are made,
// and vendor requests dismissed, by enabled admins and makers, as the
// database says now.
func requireCollector(ctx context.Context, tx *sql.Tx, u User, refused *collectionRefusal, what string) (User, error) {
	cur, err := getUser(ctx, tx, u.ID)
	if err != nil {
		return cur, err
	}
	switch {
	case cur.Disabled:
		refused.err = Errorf(EFORBIDDEN, "Your account is disabled.")
		return cur, refused
	case !slices.ContainsFunc(CollectionRoles, cur.HasRole):
		refused.err = Errorf(EFORBIDDEN, "%s needs the admin or maker role.", what)
		return cur, refused
	}
	return cur, nil
}

// Create stores a new request for payment as maker (an admin or a maker)
// and leaves it queued, with the job that sends it to PayMate and follows
// it (collections_jobs.go). No approval is needed: no money leaves (see the
// note at the top). Field errors come keyed by form field: contact_id,
// name, email, mobile, amount, purpose.
func (c *Collections) Create(ctx context.Context, maker User, in CollectionInput) (CollectionRequest, error) {
	out, err := c.createTx(ctx, maker, in)
	return out, c.recordRefusal(ctx, maker.Actor(), err)
}

func (c *Collections) createTx(ctx context.Context, maker User, in CollectionInput) (CollectionRequest, error) {
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return CollectionRequest{}, err
	}
	defer tx.Rollback()
	id := newCollectionID()
	// The role is checked before the input, so that someone who may not
	// ask for payments learns nothing about contacts from the answers.
	u, err := requireCollector(ctx, tx, maker, &collectionRefusal{action: "collection.refused", attempt: "collection.create",
		targetType: "collection_request", targetID: id}, "Requesting a payment")
	if err != nil {
		return CollectionRequest{}, err
	}
	d, fields := validateCollection(in)
	contactRef := ""
	if d.ContactID != "" {
		ct, err := getContact(ctx, tx, d.ContactID)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			fields.add("contact_id", "Choose a contact from the list.")
		case err != nil:
			return CollectionRequest{}, err
		case ct.ProviderID == "" && ct.SyncState == SyncFailed:
			fields.add("contact_id", ct.Name()+" could not be registered at PayMate ("+ct.SyncError+
				"); ask for this payment by name, email and mobile instead.")
		case ct.ProviderID == "":
			fields.add("contact_id", ct.Name()+" is not yet registered at PayMate; it is registered in the background "+
				"once its bank details are approved. Until then, ask for this payment by name, email and mobile instead.")
		default:
			contactRef = ct.ProviderID
			d.Name, d.Email, d.Mobile = ct.Name(), ct.Email, ct.Mobile
		}
	}
	if err := fields.err(); err != nil {
		return CollectionRequest{}, err
	}
	now := c.db.nowMS()
	if _, err := tx.ExecContext(ctx, `INSERT INTO collection_requests (id, contact_id, contact_ref, payer_name, payer_email,
		payer_mobile, amount_paise, purpose, state, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
		id, nullString(d.ContactID), contactRef, d.Name, d.Email, d.Mobile, d.AmountPaise, d.Purpose, u.ID, now, now); err != nil {
		return CollectionRequest{}, fmt.Errorf("db: create collection request: %w", err)
	}
	msg := fmt.Sprintf("Request %s from %s", rupees(d.AmountPaise), d.Name)
	if err := collectionTimeline.add(ctx, tx, now, id, "created", string(CollectionQueued), "", msg, "", u.Username); err != nil {
		return CollectionRequest{}, err
	}
	out, err := getCollection(ctx, tx, id)
	if err != nil {
		return CollectionRequest{}, err
	}
	if err := c.db.audit(ctx, tx, u.Actor(), "collection.created", "collection_request", id,
		Change{After: collectionSnapshot(out)}); err != nil {
		return CollectionRequest{}, err
	}
	if c.queueErr != nil {
		return CollectionRequest{}, fmt.Errorf("db: collections queue unavailable: %w", c.queueErr)
	}
	if err := insertJob(ctx, tx, c.queue, CollectionStepArgs{RequestID: id}); err != nil {
		return CollectionRequest{}, fmt.Errorf("db: enqueue collection step of %s: %w", id, err)
	}
	return out, tx.Commit()
}

// DismissVendorRequest sets an open vendor request aside, as user (an admin
// or a maker). Nothing is sent to PayMate, which keeps listing it as
// awaiting payment until it expires or is decided on PayMate's portal; the
// import never opens it again (it is known by its OrderID).
func (c *Collections) DismissVendorRequest(ctx context.Context, user User, id int64) (VendorRequest, error) {
	out, err := c.dismissTx(ctx, user, id)
	return out, c.recordRefusal(ctx, user.Actor(), err)
}

func (c *Collections) dismissTx(ctx context.Context, user User, id int64) (VendorRequest, error) {
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return VendorRequest{}, err
	}
	defer tx.Rollback()
	u, err := requireCollector(ctx, tx, user, &collectionRefusal{action: "vendor_request.refused", attempt: "vendor_request.dismiss",
		targetType: "vendor_request", targetID: vendorTarget(id)}, "Dismissing a vendor request")
	if err != nil {
		return VendorRequest{}, err
	}
	before, err := getVendorRequest(ctx, tx, id)
	if err != nil {
		return VendorRequest{}, err
	}
	if before.State != VendorRequestOpen || before.PayoutID != "" {
		return before, Errorf(ECONFLICT, "Only an open vendor request can be dismissed; this one is %s.", before.State)
	}
	now := c.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE vendor_requests SET state = 'dismissed', dismissed_by = ?, final_at = ?, updated_at = ?
		WHERE id = ? AND state = 'open'`, u.ID, now, now, id); err != nil {
		return VendorRequest{}, fmt.Errorf("db: dismiss vendor request: %w", err)
	}
	if err := c.db.audit(ctx, tx, u.Actor(), "vendor_request.dismissed", "vendor_request", vendorTarget(id), map[string]any{
		"order_id": before.OrderID, "vendor_name": before.VendorName, "amount_paise": before.AmountPaise,
		"state": Change{Before: before.State, After: VendorRequestDismissed}}); err != nil {
		return VendorRequest{}, err
	}
	out, err := getVendorRequest(ctx, tx, id)
	if err != nil {
		return VendorRequest{}, err
	}
	return out, tx.Commit()
}

package db

// Bank-side pending payouts: payouts keyed in on a bank's own portal (Kotak
// CMS instruments in PA, PayMate payments in 199) that wait there for an
// authoriser. BankSide polls each provider's pending list, mirrors the items
// Paydesk did not make into bank_pending, and opens one approval request of
// kind "bank_pending" for each, so that a Paydesk checker decides them in the
// same queue, under the same rules, as Paydesk's own payouts. The decision
// reaches the bank later, from Run's background loop: no provider is called
// inside a database transaction, nor while a person waits.
//
// The maker. These requests are made on the bank's portal, not by a Paydesk
// user, so their maker is a system user, "bank-portal" (disabled, no roles,
// a password hash nothing verifies): no Paydesk checker is ever their maker,
// so four-eyes holds for every checker. The engine's propose refuses a
// disabled maker and one without the kind's maker roles, which is right for
// people and cannot be met by an account that must never sign in; so the
// request is opened with the engine's proposeAsSystem, which skips only
// those checks, in the importing transaction. Everything after that (queue,
// decisions, four-eyes, expiry, hooks) is the engine's.
// A request that must be withdrawn because the item left the bank goes
// through the engine's own finish, as Paydesk (Withdraw needs the maker).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"paydesk/providers"
)

// BankPendingKind is the approval kind of a bank-side pending payout.
const BankPendingKind = "bank_pending"

// BankPortalUsername is the system user that makes bank-side requests.
const BankPortalUsername = "bank-portal"

// bankPortalHash is the system user's password hash: not an argon2id
// encoding, so Verify refuses every password.
const bankPortalHash = "!"

// BankPendingState is where a bank-side pending payout is in Paydesk.
type BankPendingState string

// Bank-side pending states (see migrations/0004_bankside.sql).
const (
	BankPendingWaiting         BankPendingState = "pending"
	BankPendingApproved        BankPendingState = "approved"
	BankPendingRejected        BankPendingState = "rejected"
	BankPendingAuthorised      BankPendingState = "authorised"
	BankPendingAuthoriseFailed BankPendingState = "authorise_failed"
	BankPendingGone            BankPendingState = "gone"
	BankPendingExpired         BankPendingState = "expired"
)

// Final reports whether nothing more will happen to the item in Paydesk.
func (s BankPendingState) Final() bool {
	switch s {
	case BankPendingAuthorised, BankPendingAuthoriseFailed, BankPendingGone, BankPendingExpired:
		return true
	}
	return false
}

// BankPendingItem is one bank-side pending payout as Paydesk mirrors it.
type BankPendingItem struct {
	ID                int64
	Source            string
	Ref               string // the provider's ref, passed back to Authorise
	ProviderID        string // InstRefNo / OrderID
	AmountPaise       int64
	Rail              providers.Rail
	BeneficiaryName   string
	BeneficiaryAcct   string
	BeneficiaryIFSC   string
	Purpose           string
	CreatedAtBank     time.Time // zero when the bank did not say
	State             BankPendingState
	Decision          providers.Decision // "" until decided
	Remarks           string
	ApprovalRequestID int64
	Attempts          int
	// RetryBase is Attempts when a person last retried the item: only the
	// attempts since count towards giving up.
	RetryBase   int
	LastError   string
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	DecidedAt   time.Time
	FinalAt     time.Time
	UpdatedAt   time.Time
}

// BankPendingPayload is the payload of a bank_pending approval request: what
// the checker sees of the item.
type BankPendingPayload struct {
	BankPendingID   int64  `json:"bank_pending_id"`
	Source          string `json:"source"`
	Ref             string `json:"ref"`
	ProviderID      string `json:"provider_id"`
	AmountPaise     int64  `json:"amount_paise"`
	Rail            string `json:"rail"`
	BeneficiaryName string `json:"beneficiary_name"`
	BeneficiaryAcct string `json:"beneficiary_acct"`
	BeneficiaryIFSC string `json:"beneficiary_ifsc"`
	Purpose         string `json:"purpose"`
	CreatedAtBank   string `json:"created_at_bank,omitempty"` // RFC 3339
}

// PollResult counts what one Poll did.
type PollResult struct {
	Seen     int // items pending at the banks that answered
	Imported int // new items, each with a new approval request
	Skipped  int // Paydesk's own payouts, left to the dispatcher
	Gone     int // items no longer pending at the bank whose requests were withdrawn
}

// DefaultBankSideMaxAttempts is how many Authorise calls one decision gets
// before it is marked authorise_failed for a person to look at.
const DefaultBankSideMaxAttempts = 25

// BankSide polls bank-side pending payouts and carries Paydesk's decisions on
// them to the banks.
type BankSide struct {
	db        *DB
	approvals *Approvals
	providers map[string]providers.Payouts
	// MaxAttempts bounds the Authorise calls of one decision; 0 means
	// DefaultBankSideMaxAttempts.
	MaxAttempts int
	// Logger receives Run's errors; nil drops them.
	Logger *slog.Logger

	mu sync.Mutex // one Poll or ProcessDecided at a time
}

// NewBankSide builds the poller over the providers by source name and
// registers the "bank_pending" approval kind with a.
func NewBankSide(d *DB, a *Approvals, provs map[string]providers.Payouts) *BankSide {
	b := &BankSide{db: d, approvals: a, providers: provs}
	a.RegisterKind(Kind{
		Name: BankPendingKind, Label: "Bank-side payout",
		OnApproved:  b.onDecided(BankPendingApproved, providers.Approve),
		OnRejected:  b.onDecided(BankPendingRejected, providers.Reject),
		OnCancelled: b.onEnded(BankPendingGone, "bank_pending.gone"),
		OnExpired:   b.onEnded(BankPendingExpired, "bank_pending.expired"),
	})
	return b
}

func (b *BankSide) maxAttempts() int {
	if b.MaxAttempts > 0 {
		return b.MaxAttempts
	}
	return DefaultBankSideMaxAttempts
}

func (b *BankSide) sources() []string {
	out := make([]string, 0, len(b.providers))
	for s := range b.providers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Run polls and then carries decisions to the banks, at once and then every
// interval, until ctx ends. Errors are logged and retried next round.
func (b *BankSide) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	RunEvery(ctx, every, nil, b.Logger, "bank-side", func(ctx context.Context, _ bool) error {
		_, perr := b.Poll(ctx)
		_, derr := b.ProcessDecided(ctx)
		return errors.Join(perr, derr)
	})
}

// --- reading ---

const bankPendingColumns = `id, source, ref, provider_id, amount_paise, rail, beneficiary_name, beneficiary_acct, beneficiary_ifsc,
	purpose, coalesce(created_at_bank, 0), state, decision, remarks, coalesce(approval_request_id, 0), attempts, last_error,
	first_seen_at, last_seen_at, coalesce(decided_at, 0), coalesce(final_at, 0), updated_at, retry_base`

func scanBankPending(s scanner) (BankPendingItem, error) {
	var it BankPendingItem
	var createdBank, first, last, decided, final, updated int64
	if err := s.Scan(&it.ID, &it.Source, &it.Ref, &it.ProviderID, &it.AmountPaise, &it.Rail, &it.BeneficiaryName,
		&it.BeneficiaryAcct, &it.BeneficiaryIFSC, &it.Purpose, &createdBank, &it.State, &it.Decision, &it.Remarks,
		&it.ApprovalRequestID, &it.Attempts, &it.LastError, &first, &last, &decided, &final, &updated, &it.RetryBase); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return it, Errorf(ENOTFOUND, "No such bank-side payout.")
		}
		return it, fmt.Errorf("db: scan bank-side payout: %w", err)
	}
	ms := func(v int64) time.Time {
		if v == 0 {
			return time.Time{}
		}
		return time.UnixMilli(v)
	}
	it.CreatedAtBank, it.FirstSeenAt, it.LastSeenAt = ms(createdBank), ms(first), ms(last)
	it.DecidedAt, it.FinalAt, it.UpdatedAt = ms(decided), ms(final), ms(updated)
	return it, nil
}

func getBankPending(ctx context.Context, q querier, id int64) (BankPendingItem, error) {
	return scanBankPending(q.QueryRowContext(ctx, `SELECT `+bankPendingColumns+` FROM bank_pending WHERE id = ?`, id))
}

// Get returns one bank-side payout by id (the target id of its request).
func (b *BankSide) Get(ctx context.Context, id int64) (BankPendingItem, error) {
	return getBankPending(ctx, b.db.read, id)
}

// List returns bank-side payouts in the given states (all when none), newest
// first, at most 500.
func (b *BankSide) List(ctx context.Context, states ...BankPendingState) ([]BankPendingItem, error) {
	q := `SELECT ` + bankPendingColumns + ` FROM bank_pending`
	var args []any
	if len(states) > 0 {
		marks := make([]string, len(states))
		for i, s := range states {
			marks[i] = "?"
			args = append(args, string(s))
		}
		q += ` WHERE state IN (` + strings.Join(marks, ",") + `)`
	}
	return b.query(ctx, q+` ORDER BY id DESC LIMIT 500`, args...)
}

func (b *BankSide) query(ctx context.Context, q string, args ...any) ([]BankPendingItem, error) {
	return queryAll(ctx, b.db.read, "bank-side payouts", scanBankPending, q, args...)
}

func bankTarget(id int64) string { return strconv.FormatInt(id, 10) }

// --- polling ---

// Poll reads every provider's pending list. Each new item that is not one of
// Paydesk's own payouts is stored with its approval request (one transaction
// per item); each item still waiting in Paydesk that is no longer pending at
// its bank has its request withdrawn and becomes gone. A provider whose list
// cannot be read is left as it was (nothing is marked gone on a failed read);
// its error is returned joined with the others'. Polling again imports
// nothing twice.
func (b *BankSide) Poll(ctx context.Context) (PollResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var res PollResult
	var errs []error
	for _, source := range b.sources() {
		if err := b.pollSource(ctx, source, &res); err != nil {
			errs = append(errs, fmt.Errorf("bank-side %s: %w", source, err))
		}
	}
	return res, errors.Join(errs...)
}

func (b *BankSide) pollSource(ctx context.Context, source string, res *PollResult) error {
	list, err := b.providers[source].PendingApprovals(ctx)
	if err != nil {
		return fmt.Errorf("pending approvals: %w", err)
	}
	res.Seen += len(list)
	seen := make(map[string]bool, len(list))
	var errs []error
	var known []string
	for _, it := range list {
		if it.Ref == "" {
			continue
		}
		seen[it.Ref] = true
		imported, skipped, err := b.importItem(ctx, source, it)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("import %s: %w", it.Ref, err))
		case imported:
			res.Imported++
		case skipped:
			res.Skipped++
		default:
			known = append(known, it.Ref)
		}
	}
	if err := b.touch(ctx, source, known); err != nil {
		errs = append(errs, err)
	}
	rows, err := b.query(ctx, `SELECT `+bankPendingColumns+` FROM bank_pending WHERE source = ? AND state = 'pending' ORDER BY id`, source)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, row := range rows {
		if seen[row.Ref] {
			continue
		}
		gone, err := b.markGone(ctx, row.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("withdraw %s: %w", row.Ref, err))
		}
		if gone {
			res.Gone++
		}
	}
	return errors.Join(errs...)
}

// touch records that the known items were still pending at the bank now. It
// is an observation, not a change of state, and is not audited.
func (b *BankSide) touch(ctx context.Context, source string, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	tx, err := b.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := b.db.nowMS()
	for _, ref := range refs {
		if _, err := tx.ExecContext(ctx, `UPDATE bank_pending SET last_seen_at = ? WHERE source = ? AND ref = ?`, now, source, ref); err != nil {
			return fmt.Errorf("db: bank-side last seen: %w", err)
		}
	}
	return tx.Commit()
}

func bankSummary(source string, it providers.PendingPayout) string {
	name := strings.TrimSpace(it.BeneficiaryName)
	if name == "" {
		name = "account " + it.BeneficiaryAcct
	}
	if utf8.RuneCountInString(name) > 80 {
		name = string([]rune(name)[:80])
	}
	rail := string(it.Rail)
	if rail == "" {
		rail = "bank transfer"
	}
	s := fmt.Sprintf("Bank portal: pay %s to %s by %s (%s %s)", rupees(it.AmountPaise), name, rail, source, it.ID)
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200])
	}
	return s
}

// importItem stores it with its approval request, unless it is one of
// Paydesk's own payouts (skipped) or already known.
func (b *BankSide) importItem(ctx context.Context, source string, it providers.PendingPayout) (imported, skipped bool, err error) {
	// Most polls find only known items: read first, and take the writer
	// only for a new one (checked again under the write lock).
	var own, exists int
	if err := b.db.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM payouts WHERE id IN (?1, ?2)),
		(SELECT count(*) FROM bank_pending WHERE source = ?3 AND ref = ?2)`, it.ID, it.Ref, source).Scan(&own, &exists); err != nil {
		return false, false, fmt.Errorf("db: bank-side lookup: %w", err)
	}
	switch {
	case own > 0:
		return false, true, nil
	case exists > 0:
		return false, false, nil
	}
	tx, err := b.db.beginWrite(ctx)
	if err != nil {
		return false, false, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payouts WHERE id IN (?, ?)`, it.ID, it.Ref).Scan(&own); err != nil {
		return false, false, fmt.Errorf("db: own payout: %w", err)
	}
	if own > 0 {
		return false, true, nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM bank_pending WHERE source = ? AND ref = ?`, source, it.Ref).Scan(&exists); err != nil {
		return false, false, fmt.Errorf("db: bank-side lookup: %w", err)
	}
	if exists > 0 {
		return false, false, nil
	}
	if it.AmountPaise <= 0 {
		return false, false, fmt.Errorf("the bank lists it with amount %d paise", it.AmountPaise)
	}
	maker, err := b.portalUser(ctx, tx)
	if err != nil {
		return false, false, err
	}
	now := b.db.nowMS()
	var createdBank any
	if !it.CreatedAt.IsZero() {
		createdBank = it.CreatedAt.UnixMilli()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO bank_pending (source, ref, provider_id, amount_paise, rail, beneficiary_name,
		beneficiary_acct, beneficiary_ifsc, purpose, created_at_bank, state, first_seen_at, last_seen_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
		source, it.Ref, it.ID, it.AmountPaise, string(it.Rail), it.BeneficiaryName, it.BeneficiaryAcct, it.BeneficiaryIFSC,
		it.Purpose, createdBank, now, now, now)
	if err != nil {
		return false, false, fmt.Errorf("db: insert bank-side payout: %w", err)
	}
	id, _ := res.LastInsertId()
	payload := BankPendingPayload{BankPendingID: id, Source: source, Ref: it.Ref, ProviderID: it.ID, AmountPaise: it.AmountPaise,
		Rail: string(it.Rail), BeneficiaryName: it.BeneficiaryName, BeneficiaryAcct: it.BeneficiaryAcct,
		BeneficiaryIFSC: it.BeneficiaryIFSC, Purpose: it.Purpose}
	if !it.CreatedAt.IsZero() {
		payload.CreatedAtBank = it.CreatedAt.UTC().Format(time.RFC3339)
	}
	amount := it.AmountPaise
	req, err := b.approvals.proposeAsSystem(ctx, tx, maker, Proposal{Kind: BankPendingKind, TargetID: bankTarget(id),
		AmountPaise: &amount, Summary: bankSummary(source, it), Payload: payload})
	if err != nil {
		return false, false, err
	}
	reqID := req.ID
	if _, err := tx.ExecContext(ctx, `UPDATE bank_pending SET approval_request_id = ? WHERE id = ?`, reqID, id); err != nil {
		return false, false, fmt.Errorf("db: link approval: %w", err)
	}
	if err := b.db.audit(ctx, tx, SystemActor, "bank_pending.imported", "bank_pending", bankTarget(id), map[string]any{
		"payload": payload, "approval_request_id": reqID}); err != nil {
		return false, false, err
	}
	return true, false, tx.Commit()
}

// portalUser returns the bank-portal system user, creating it (audited) the
// first time. A user of that name that is not the system account (it has a
// password, roles, or was enabled) is refused: bank-side requests must never
// be made in the name of someone who can sign in.
func (b *BankSide) portalUser(ctx context.Context, tx *sql.Tx) (User, error) {
	var id int64
	var hash string
	var disabled bool
	var roles int
	err := tx.QueryRowContext(ctx, `SELECT id, password_hash, disabled, (SELECT count(*) FROM user_roles r WHERE r.user_id = u.id)
		FROM users u WHERE username = ?`, BankPortalUsername).Scan(&id, &hash, &disabled, &roles)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		now := b.db.nowMS()
		res, err := tx.ExecContext(ctx, `INSERT INTO users (username, display_name, password_hash, disabled, created_at, updated_at, password_changed_at)
			VALUES (?, 'Bank portal', ?, 1, ?, ?, ?)`, BankPortalUsername, bankPortalHash, now, now, now)
		if err != nil {
			return User{}, fmt.Errorf("db: create %s: %w", BankPortalUsername, err)
		}
		id, _ = res.LastInsertId()
		u, err := getUser(ctx, tx, id)
		if err != nil {
			return User{}, err
		}
		if err := b.db.audit(ctx, tx, SystemActor, "user.created", "user", u.Username, Change{After: userSnapshot(u)}); err != nil {
			return User{}, err
		}
		return u, nil
	case err != nil:
		return User{}, fmt.Errorf("db: %s: %w", BankPortalUsername, err)
	}
	if hash != bankPortalHash || !disabled || roles > 0 {
		return User{}, fmt.Errorf("db: the user %q is not Paydesk's bank-portal system account (it can sign in or holds roles); "+
			"bank-side payouts are not imported until it is disabled, without roles and without a password", BankPortalUsername)
	}
	return getUser(ctx, tx, id)
}

// markGone withdraws the request of an item that left the bank's pending
// list while it still waited in Paydesk. The engine's finish moves the
// request to cancelled and runs OnCancelled, which marks the item gone.
func (b *BankSide) markGone(ctx context.Context, id int64) (bool, error) {
	tx, err := b.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	row, err := getBankPending(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if row.State != BankPendingWaiting {
		return false, nil // decided meanwhile: ProcessDecided deals with it
	}
	const reason = "no longer waiting for approval at the bank (decided or cancelled on the bank's portal)"
	r, err := getRequest(ctx, tx, row.ApprovalRequestID)
	if err != nil {
		return false, err
	}
	if r.State == ApprovalPending {
		if _, err := b.approvals.finish(ctx, tx, SystemActor, r, ApprovalCancelled, reason, "approval.cancelled",
			map[string]any{"reason": reason}); err != nil {
			return false, err
		}
	} else if err := b.end(ctx, tx, row, BankPendingGone, "bank_pending.gone", reason); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// --- hooks (inside the deciding transaction) ---

// onDecided records the decision; Run's ProcessDecided sends it to the bank.
// Nothing is called here: the hook runs inside the deciding transaction.
func (b *BankSide) onDecided(state BankPendingState, d providers.Decision) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		id, err := strconv.ParseInt(r.TargetID, 10, 64)
		if err != nil {
			return fmt.Errorf("db: bank-side request %d names %q", r.ID, r.TargetID)
		}
		remarks := fmt.Sprintf("Approved in Paydesk (request #%d)", r.ID)
		if d == providers.Reject {
			remarks = r.Reason
		}
		if utf8.RuneCountInString(remarks) > 200 {
			remarks = string([]rune(remarks)[:200])
		}
		now := b.db.nowMS()
		res, err := tx.ExecContext(ctx, `UPDATE bank_pending SET state = ?, decision = ?, remarks = ?, decided_at = ?, updated_at = ?
			WHERE id = ? AND state = 'pending'`, string(state), string(d), remarks, now, now, id)
		if err != nil {
			return fmt.Errorf("db: decide bank-side payout: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("db: bank-side payout %d is not waiting for approval", id)
		}
		return b.db.audit(ctx, tx, SystemActor, "bank_pending."+string(state), "bank_pending", bankTarget(id), map[string]any{
			"approval_request_id": r.ID, "decision": d, "remarks": remarks,
			"state": Change{Before: BankPendingWaiting, After: state}})
	}
}

// onEnded ends an item whose request ended without a decision: withdrawn by
// Poll because the bank no longer lists it (gone), or expired. Nothing is
// sent to the bank.
func (b *BankSide) onEnded(state BankPendingState, action string) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		id, err := strconv.ParseInt(r.TargetID, 10, 64)
		if err != nil {
			return fmt.Errorf("db: bank-side request %d names %q", r.ID, r.TargetID)
		}
		row, err := getBankPending(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.State != BankPendingWaiting {
			return fmt.Errorf("db: bank-side payout %d is not waiting for approval", id)
		}
		reason := r.Reason
		if state == BankPendingExpired {
			reason = "approval expired before enough approvers decided; nothing was sent to the bank"
		}
		return b.end(ctx, tx, row, state, action, reason)
	}
}

// end moves row to a final state inside tx, audited.
func (b *BankSide) end(ctx context.Context, tx *sql.Tx, row BankPendingItem, state BankPendingState, action, reason string) error {
	now := b.db.nowMS()
	lastErr := reason
	if state == BankPendingAuthorised {
		lastErr = ""
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bank_pending SET state = ?, last_error = ?, final_at = ?, updated_at = ? WHERE id = ?`,
		string(state), lastErr, now, now, row.ID); err != nil {
		return fmt.Errorf("db: %s: %w", action, err)
	}
	return b.db.audit(ctx, tx, SystemActor, action, "bank_pending", bankTarget(row.ID), map[string]any{
		"approval_request_id": row.ApprovalRequestID, "reason": reason, "attempts": row.Attempts,
		"state": Change{Before: row.State, After: state}})
}

// --- carrying decisions to the banks ---

// pendingCache holds each source's pending list for one round, read on
// first need.
type pendingCache struct {
	b     *BankSide
	lists map[string]map[string]providers.PendingPayout
	errs  map[string]error // a list that could not be read is not asked for again this round
}

func (c *pendingCache) get(ctx context.Context, source string) (map[string]providers.PendingPayout, error) {
	if m, ok := c.lists[source]; ok {
		return m, nil
	}
	if err, ok := c.errs[source]; ok {
		return nil, err
	}
	list, err := c.b.providers[source].PendingApprovals(ctx)
	if err != nil {
		err = fmt.Errorf("pending approvals: %w", err)
		c.errs[source] = err
		return nil, err
	}
	m := make(map[string]providers.PendingPayout, len(list))
	for _, it := range list {
		m[it.Ref] = it
	}
	c.lists[source] = m
	return m, nil
}

func (c *pendingCache) forget(source string) {
	delete(c.lists, source)
	delete(c.errs, source)
}

// ProcessDecided sends every decision not yet applied at its bank, oldest
// first, and returns how many items reached a final state. Before each call
// the bank's pending list is read: an item no longer pending is resolved
// from what the bank says rather than sent again, and an approval is not
// sent for an item whose amount or beneficiary changed at the bank since the
// checker saw it.
func (b *BankSide) ProcessDecided(ctx context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Approved and rejected items, each in decided order from one index,
	// merged.
	rows, err := b.query(ctx, `WITH due(due_id, due_at) AS (
			SELECT id, decided_at FROM bank_pending WHERE state = 'approved'
			UNION ALL
			SELECT id, decided_at FROM bank_pending WHERE state = 'rejected'
			ORDER BY 2, 1 LIMIT 1000)
		SELECT `+bankPendingColumns+` FROM due JOIN bank_pending ON bank_pending.id = due.due_id ORDER BY due.due_at, due.due_id`)
	if err != nil {
		return 0, err
	}
	cache := &pendingCache{b: b, lists: map[string]map[string]providers.PendingPayout{}, errs: map[string]error{}}
	n := 0
	var errs []error
	for _, row := range rows {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		done, err := b.processOne(ctx, cache, row)
		if err != nil {
			errs = append(errs, fmt.Errorf("bank-side %s %s: %w", row.Source, row.Ref, err))
		}
		if done {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (b *BankSide) processOne(ctx context.Context, cache *pendingCache, row BankPendingItem) (bool, error) {
	prov, ok := b.providers[row.Source]
	if !ok {
		return b.finishRow(ctx, row, BankPendingAuthoriseFailed, fmt.Sprintf("no provider %q is configured", row.Source))
	}
	pending, err := cache.get(ctx, row.Source)
	if err != nil {
		return false, b.note(ctx, row, err)
	}
	it, still := pending[row.Ref]
	if !still {
		return b.resolve(ctx, prov, row)
	}
	if row.Decision == providers.Approve {
		if diff := changedAtBank(row, it); diff != "" {
			return b.finishRow(ctx, row, BankPendingAuthoriseFailed, "not approved at the bank: it changed there after it was imported ("+diff+")")
		}
	}
	if row.Attempts-row.RetryBase >= b.maxAttempts() {
		return b.finishRow(ctx, row, BankPendingAuthoriseFailed,
			fmt.Sprintf("gave up after %d attempts; last error: %s; retry it, or decide it on the bank's portal", row.Attempts-row.RetryBase, row.LastError))
	}
	row, ok, err = b.markSending(ctx, row)
	if err != nil || !ok {
		return false, err
	}
	err = prov.Authorise(ctx, []string{row.Ref}, row.Decision, row.Remarks)
	switch {
	case err == nil:
		return b.finishRow(ctx, row, BankPendingAuthorised, "")
	case errors.Is(err, providers.ErrRejected):
		// A definite refusal (a rejection of an approved item, a balance
		// short at PayMate); the bank keeps what it had.
		return b.finishRow(ctx, row, BankPendingAuthoriseFailed, "the bank refused the decision: "+err.Error())
	case errors.Is(err, providers.ErrNotFound):
		return b.finishRow(ctx, row, BankPendingAuthoriseFailed, "the bank does not know this item: "+err.Error())
	case errors.Is(err, providers.ErrTransient), errors.Is(err, providers.ErrAuth):
		// Refused before executing: the next round sends it again.
		return false, b.note(ctx, row, err)
	default:
		// ErrOutcomeUnknown, ErrDuplicate ("already past approval"), a
		// cancelled call, anything unexpected: it may have been applied.
		// Ask the bank's pending list again; never send blind.
		cache.forget(row.Source)
		cause := b.note(ctx, row, err)
		if ctx.Err() != nil {
			return false, cause
		}
		pending, lerr := cache.get(ctx, row.Source)
		if lerr != nil {
			return false, errors.Join(cause, lerr) // the next round asks first
		}
		if _, still := pending[row.Ref]; still {
			return false, cause // not applied: the next round sends it again (idempotent at both banks)
		}
		return b.resolve(ctx, prov, row)
	}
}

// changedAtBank names what differs between what the checker approved and
// what the bank now holds, "" when nothing does.
func changedAtBank(row BankPendingItem, it providers.PendingPayout) string {
	var diffs []string
	if it.AmountPaise != row.AmountPaise {
		diffs = append(diffs, fmt.Sprintf("amount %s → %s", rupees(row.AmountPaise), rupees(it.AmountPaise)))
	}
	if it.BeneficiaryAcct != row.BeneficiaryAcct {
		diffs = append(diffs, fmt.Sprintf("account %s → %s", row.BeneficiaryAcct, it.BeneficiaryAcct))
	}
	if !strings.EqualFold(it.BeneficiaryIFSC, row.BeneficiaryIFSC) {
		diffs = append(diffs, fmt.Sprintf("IFSC %s → %s", row.BeneficiaryIFSC, it.BeneficiaryIFSC))
	}
	return strings.Join(diffs, ", ")
}

// resolve settles a decided item the bank no longer lists as pending. Sent
// before (attempts > 0): it was applied (authorised), unless the bank's
// status contradicts the decision or the bank does not know the item. Never
// sent: it was decided or cancelled on the portal first (gone).
func (b *BankSide) resolve(ctx context.Context, prov providers.Payouts, row BankPendingItem) (bool, error) {
	st, serr := prov.PayoutStatus(ctx, row.ProviderID)
	status := ""
	if serr == nil && st.State != "" {
		status = fmt.Sprintf("; the bank says %s", st.State)
		if st.ProviderCode != "" || st.Message != "" {
			status += fmt.Sprintf(" (%s %s)", st.ProviderCode, st.Message)
		}
	}
	if row.Attempts == 0 {
		return b.finishRow(ctx, row, BankPendingGone, "left the bank's approval list before Paydesk sent the decision"+status)
	}
	if errors.Is(serr, providers.ErrNotFound) {
		return b.finishRow(ctx, row, BankPendingAuthoriseFailed, "the bank does not know this item")
	}
	if serr == nil && contradicts(row.Decision, st.State) {
		return b.finishRow(ctx, row, BankPendingAuthoriseFailed, "no longer pending at the bank, but not as decided in Paydesk"+status)
	}
	return b.finishRow(ctx, row, BankPendingAuthorised, strings.TrimPrefix(status, "; "))
}

// contradicts reports a bank state that cannot follow decision d.
func contradicts(d providers.Decision, s providers.PayoutState) bool {
	switch d {
	case providers.Approve:
		return s == providers.StateRejected || s == providers.StateCancelled
	case providers.Reject:
		return s == providers.StateProcessing || s == providers.StateProcessed
	}
	return false
}

// markSending records the intent to send the decision (attempts + 1) before
// the call, audited, so a crash mid-call leaves an item that is asked about
// first. ok is false when the item moved meanwhile.
func (b *BankSide) markSending(ctx context.Context, row BankPendingItem) (BankPendingItem, bool, error) {
	tx, err := b.db.beginWrite(ctx)
	if err != nil {
		return row, false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE bank_pending SET attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = ? AND attempts = ?`,
		b.db.nowMS(), row.ID, string(row.State), row.Attempts)
	if err != nil {
		return row, false, fmt.Errorf("db: bank-side attempt: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return row, false, nil
	}
	row.Attempts++
	if err := b.db.audit(ctx, tx, SystemActor, "bank_pending.authorise_sent", "bank_pending", bankTarget(row.ID), map[string]any{
		"decision": row.Decision, "attempt": row.Attempts, "source": row.Source, "ref": row.Ref}); err != nil {
		return row, false, err
	}
	return row, true, tx.Commit()
}

// note keeps the last error of an item still to be sent and returns cause
// (joined with a failure to store it). Not a change of state, so not
// audited: the next audited step carries it.
func (b *BankSide) note(ctx context.Context, row BankPendingItem, cause error) error {
	if _, err := b.db.write.ExecContext(context.WithoutCancel(ctx), `UPDATE bank_pending SET last_error = ?, updated_at = ? WHERE id = ? AND state = ?`,
		cause.Error(), b.db.nowMS(), row.ID, string(row.State)); err != nil {
		return errors.Join(cause, fmt.Errorf("db: bank-side note: %w", err))
	}
	return cause
}

// finishRow moves a decided item to a final state, audited. done reports
// whether it moved (it may have moved meanwhile).
func (b *BankSide) finishRow(ctx context.Context, row BankPendingItem, state BankPendingState, reason string) (bool, error) {
	ctx = context.WithoutCancel(ctx) // what the bank did is recorded even when the caller has gone
	tx, err := b.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	cur, err := getBankPending(ctx, tx, row.ID)
	if err != nil {
		return false, err
	}
	if cur.State != row.State || cur.Attempts != row.Attempts {
		return false, nil
	}
	action := "bank_pending." + string(state)
	if err := b.end(ctx, tx, cur, state, action, reason); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// Retry puts an item whose decision failed to reach the bank back in line
// to be sent, by a checker or an admin (who hold approvals), audited. It
// never sends blind: ProcessDecided reads the bank's pending list first, and
// an item the bank no longer lists is resolved from what the bank says.
func (b *BankSide) Retry(ctx context.Context, actor User, id int64) (BankPendingItem, error) {
	it, err := b.retryTx(ctx, actor, id)
	return it, b.approvals.recordRefusal(ctx, actor.Actor(), err)
}

func (b *BankSide) retryTx(ctx context.Context, actor User, id int64) (BankPendingItem, error) {
	tx, err := b.db.beginWrite(ctx)
	if err != nil {
		return BankPendingItem{}, err
	}
	defer tx.Rollback()
	u, err := approvalHolder(ctx, tx, actor, "retry_bank_pending", ApprovalRequest{Kind: BankPendingKind, TargetID: bankTarget(id)},
		"Retrying a bank-side payout")
	if err != nil {
		return BankPendingItem{}, err
	}
	row, err := getBankPending(ctx, tx, id)
	if err != nil {
		return BankPendingItem{}, err
	}
	next := map[providers.Decision]BankPendingState{providers.Approve: BankPendingApproved, providers.Reject: BankPendingRejected}[row.Decision]
	if row.State != BankPendingAuthoriseFailed || next == "" {
		return row, Errorf(ECONFLICT, "Only a decision that failed to reach the bank can be retried; this item is %s.", row.State)
	}
	now := b.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE bank_pending SET state = ?, last_error = '', final_at = NULL, retry_base = attempts, updated_at = ?
		WHERE id = ? AND state = 'authorise_failed'`, string(next), now, id); err != nil {
		return BankPendingItem{}, fmt.Errorf("db: retry bank-side payout: %w", err)
	}
	if err := b.db.audit(ctx, tx, u.Actor(), "bank_pending.retry", "bank_pending", bankTarget(id), map[string]any{
		"state": Change{Before: row.State, After: next}, "decision": row.Decision, "last_error": row.LastError,
		"approval_request_id": row.ApprovalRequestID}); err != nil {
		return BankPendingItem{}, err
	}
	out, err := getBankPending(ctx, tx, id)
	if err != nil {
		return BankPendingItem{}, err
	}
	return out, tx.Commit()
}

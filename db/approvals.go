package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ApprovalState is where an approval request is in its life. Only
// ApprovalPending moves; the other states are final.
type ApprovalState string

// Approval states.
const (
	ApprovalPending   ApprovalState = "pending_approval"
	ApprovalApproved  ApprovalState = "approved"
	ApprovalRejected  ApprovalState = "rejected"
	ApprovalExpired   ApprovalState = "expired"
	ApprovalCancelled ApprovalState = "cancelled"
)

// Label is the state as a person reads it.
func (s ApprovalState) Label() string {
	switch s {
	case ApprovalPending:
		return "waiting for approval"
	case ApprovalCancelled:
		return "withdrawn"
	}
	return string(s)
}

// DefaultExpireAfter is how long a request waits for its approvers when
// NewApprovals is given no duration.
const DefaultExpireAfter = 7 * 24 * time.Hour

// ApprovalHook runs inside the transaction that moves a request to a final
// state, with the request as it is after the move. An error rolls the whole
// decision back, so the state change, its audit entries and whatever the hook
// wrote (the dispatch job of a payout: a transactional outbox) commit together
// or not at all.
type ApprovalHook func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error

// Kind is one kind of change that needs approval (payout, contact, refund…).
// The engine knows nothing about the change itself; the hooks do.
type Kind struct {
	// Name is stored with each request and each rule: lower-case letters,
	// digits and underscores.
	Name string
	// Label is the kind as a person reads it ("Payout").
	Label string
	// MakerRoles are the roles that may propose (any one of them); none
	// means RoleMaker.
	MakerRoles []Role
	// Hooks; nil means nothing to do.
	OnApproved  ApprovalHook
	OnRejected  ApprovalHook
	OnCancelled ApprovalHook
	OnExpired   ApprovalHook
}

// roleList names roles for a message: "maker", "admin or maker".
func roleList(roles []Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// governs reports whether k changes how Paydesk is governed: a kind only
// admins propose (rules, thresholds, second factors, the step-up band).
// Deciding one always needs a fresh second-factor code.
func (k Kind) governs() bool {
	return len(k.MakerRoles) == 1 && k.MakerRoles[0] == RoleAdmin
}

func (k Kind) hook(s ApprovalState) ApprovalHook {
	switch s {
	case ApprovalApproved:
		return k.OnApproved
	case ApprovalRejected:
		return k.OnRejected
	case ApprovalCancelled:
		return k.OnCancelled
	case ApprovalExpired:
		return k.OnExpired
	}
	return nil
}

var kindNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Approvals is the maker-checker engine: every kind's requests, rules and
// decisions go through it, so the rules are enforced in one place.
type Approvals struct {
	db *DB
	// ExpireAfter is how long a new request waits for its approvers. Set it
	// before the first request, not while requests are being made.
	ExpireAfter time.Duration

	mu    sync.RWMutex
	kinds map[string]Kind
}

// NewApprovals returns the engine over d with the given kinds registered, and
// the built-in RuleChangeKind. expireAfter <= 0 means DefaultExpireAfter.
func NewApprovals(d *DB, expireAfter time.Duration, kinds ...Kind) *Approvals {
	if expireAfter <= 0 {
		expireAfter = DefaultExpireAfter
	}
	a := &Approvals{db: d, ExpireAfter: expireAfter, kinds: map[string]Kind{}}
	a.RegisterKind(a.ruleChangeKind())
	for _, k := range kinds {
		a.RegisterKind(k)
	}
	return a
}

// RegisterKind adds a kind. Registering is wiring done at start-up, so a bad
// or duplicate name is a programming error and panics, as http.ServeMux does.
func (a *Approvals) RegisterKind(k Kind) {
	if !kindNamePattern.MatchString(k.Name) {
		panic(fmt.Sprintf("db: approval kind name %q is not valid", k.Name))
	}
	if k.Label == "" {
		k.Label = k.Name
	}
	if len(k.MakerRoles) == 0 {
		k.MakerRoles = []Role{RoleMaker}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.kinds[k.Name]; dup {
		panic(fmt.Sprintf("db: approval kind %q registered twice", k.Name))
	}
	a.kinds[k.Name] = k
}

// Kind returns the registered kind named name.
func (a *Approvals) Kind(name string) (Kind, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	k, ok := a.kinds[name]
	return k, ok
}

// Kinds lists the registered kinds by name, for filter menus.
func (a *Approvals) Kinds() []Kind {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]Kind, 0, len(a.kinds))
	for _, k := range a.kinds {
		out = append(out, k)
	}
	slices.SortFunc(out, func(x, y Kind) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// ApprovalRequest is one change waiting for (or past) its approvals.
type ApprovalRequest struct {
	ID          int64
	Kind        string
	TargetID    string
	AmountPaise *int64 // nil for kinds without an amount
	Summary     string
	Payload     json.RawMessage
	MakerID     int64
	Maker       string // username
	MakerName   string // display name
	State       ApprovalState
	// The rule in force when the request was made, snapshotted.
	RuleID            int64
	RequiredApprovals int
	RequiredRole      Role
	Approvals         int
	Reason            string // why it was rejected
	CreatedAt         time.Time
	DecidedAt         time.Time // zero while pending
	ExpiresAt         time.Time
	// DecidedBy is who made the final decision; set only for the hooks, so
	// a kind's own audit entries and timeline name the person, not "system".
	DecidedBy Actor
}

// Decision is one person's approval or rejection of a request.
type Decision struct {
	UserID   int64
	Username string
	Decision string // "approve" or "reject"
	Reason   string
	At       time.Time
}

// Proposal is the input for a new request.
type Proposal struct {
	Kind     string
	TargetID string // what the change is to: a payout id, a contact id…
	// AmountPaise picks the rule's band; nil for kinds without an amount,
	// which take the band that starts at 0.
	AmountPaise *int64
	Summary     string
	// Payload is marshalled to JSON and handed back to the hooks.
	Payload any
}

const requestColumns = `r.id, r.kind, r.target_id, r.amount_paise, r.summary, r.payload, r.maker_id, m.username, m.display_name,
	r.state, coalesce(r.rule_id, 0), r.required_approvals, r.required_role, r.approvals, r.reason,
	r.created_at, coalesce(r.decided_at, 0), r.expires_at`

const requestFrom = ` FROM approval_requests r JOIN users m ON m.id = r.maker_id`

func scanRequest(s scanner) (ApprovalRequest, error) {
	var r ApprovalRequest
	var amount sql.NullInt64
	var payload string
	var created, decided, expires int64
	if err := s.Scan(&r.ID, &r.Kind, &r.TargetID, &amount, &r.Summary, &payload, &r.MakerID, &r.Maker, &r.MakerName,
		&r.State, &r.RuleID, &r.RequiredApprovals, &r.RequiredRole, &r.Approvals, &r.Reason, &created, &decided, &expires); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, Errorf(ENOTFOUND, "No such approval request.")
		}
		return r, fmt.Errorf("db: scan approval request: %w", err)
	}
	if amount.Valid {
		r.AmountPaise = &amount.Int64
	}
	r.Payload = json.RawMessage(payload)
	r.CreatedAt, r.ExpiresAt = time.UnixMilli(created), time.UnixMilli(expires)
	if decided != 0 {
		r.DecidedAt = time.UnixMilli(decided)
	}
	return r, nil
}

func getRequest(ctx context.Context, q querier, id int64) (ApprovalRequest, error) {
	return scanRequest(queryRow(ctx, q, `SELECT `+requestColumns+requestFrom+` WHERE r.id = ?`, id))
}

func requestTarget(id int64) string { return strconv.FormatInt(id, 10) }

// refusal is an EFORBIDDEN answer of the engine. Its transaction is rolled
// back, yet the attempt must still be on the record, so the public method
// writes it to the audit log in a transaction of its own (recordRefusal).
type refusal struct {
	err     *Error
	attempt string
	request int64
	details map[string]any
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(attempt string, req ApprovalRequest, format string, args ...any) *refusal {
	return &refusal{err: Errorf(EFORBIDDEN, format, args...), attempt: attempt, request: req.ID,
		details: map[string]any{"kind": req.Kind, "target_id": req.TargetID}}
}

// recordRefusal audits err if it is a refusal and returns it as a plain
// domain error; other errors pass through. Call it after the refused
// transaction has ended: there is one writer connection, so a second
// transaction begun while the first is open would wait for ever.
func (a *Approvals) recordRefusal(ctx context.Context, actor Actor, err error) error {
	var ref *refusal
	if !errors.As(err, &ref) {
		return err
	}
	// The refusal is recorded even when the caller has gone away.
	ctx = context.WithoutCancel(ctx)
	tx, terr := a.db.beginWrite(ctx)
	if terr != nil {
		return terr
	}
	defer tx.Rollback()
	if aerr := a.auditRefusal(ctx, tx, actor, ref); aerr != nil {
		return aerr
	}
	if cerr := tx.Commit(); cerr != nil {
		return fmt.Errorf("db: audit refusal: %w", cerr)
	}
	return ref.err
}

// auditRefusal writes the approval.refused entry of ref inside tx.
func (a *Approvals) auditRefusal(ctx context.Context, tx *sql.Tx, actor Actor, ref *refusal) error {
	details := map[string]any{"attempt": ref.attempt, "reason": ref.err.Message}
	for k, v := range ref.details {
		details[k] = v
	}
	target := ""
	if ref.request != 0 {
		target = requestTarget(ref.request)
	}
	return a.db.audit(ctx, tx, actor, "approval.refused", "approval_request", target, details)
}

// Propose opens a request for p, made by maker, in a transaction of its own.
// Kinds whose change also writes rows of their own (a payout) call propose in
// their own transaction instead.
func (a *Approvals) Propose(ctx context.Context, maker User, p Proposal) (ApprovalRequest, error) {
	r, err := a.proposeTx(ctx, maker, p)
	return r, a.recordRefusal(ctx, maker.Actor(), err)
}

func (a *Approvals) proposeTx(ctx context.Context, maker User, p Proposal) (ApprovalRequest, error) {
	tx, err := a.db.beginWrite(ctx)
	if err != nil {
		return ApprovalRequest{}, err
	}
	defer tx.Rollback()
	r, err := a.propose(ctx, tx, maker, p)
	if err != nil {
		return ApprovalRequest{}, err
	}
	return r, tx.Commit()
}

// propose opens a request inside tx: it checks the maker, picks the rule for
// the kind and amount, snapshots it into the request and audits the proposal.
// A refusal comes back as *refusal; the caller passes the error through
// recordRefusal after its transaction has ended.
func (a *Approvals) propose(ctx context.Context, tx *sql.Tx, maker User, p Proposal) (ApprovalRequest, error) {
	p, k, payload, err := a.checkProposal(p)
	if err != nil {
		return ApprovalRequest{}, err
	}
	// The maker is read again inside the transaction: roles checked against
	// the database as it is now, not as it was when their page loaded.
	u, err := getUser(ctx, tx, maker.ID)
	if err != nil {
		return ApprovalRequest{}, err
	}
	attempt := ApprovalRequest{Kind: p.Kind, TargetID: p.TargetID}
	switch {
	case u.Disabled:
		return ApprovalRequest{}, refuse("propose", attempt, "Your account is disabled.")
	case !slices.ContainsFunc(k.MakerRoles, u.HasRole):
		return ApprovalRequest{}, refuse("propose", attempt, "Proposing a %s needs the %s role.", strings.ToLower(k.Label), roleList(k.MakerRoles))
	}
	return a.insertProposal(ctx, tx, u, p, payload)
}

// proposeAsSystem opens a request in the name of a system user (the bank
// portal), for what arrives from a provider rather than from a person. Such
// a user is disabled, so that nobody can sign in as it, and holds no roles,
// so propose's maker checks do not apply; everything else is the same.
func (a *Approvals) proposeAsSystem(ctx context.Context, tx *sql.Tx, system User, p Proposal) (ApprovalRequest, error) {
	p, _, payload, err := a.checkProposal(p)
	if err != nil {
		return ApprovalRequest{}, err
	}
	return a.insertProposal(ctx, tx, system, p, payload)
}

// checkProposal normalizes p and checks it without the database.
func (a *Approvals) checkProposal(p Proposal) (Proposal, Kind, []byte, error) {
	p.TargetID = strings.TrimSpace(p.TargetID)
	p.Summary = strings.TrimSpace(p.Summary)
	f := fieldErrors{}
	k, ok := a.Kind(p.Kind)
	if !ok {
		f.add("kind", fmt.Sprintf("Unknown kind %q.", p.Kind))
	}
	if p.TargetID == "" || len(p.TargetID) > 200 {
		f.add("target_id", "Name what the change is to (1 to 200 characters).")
	}
	if n := utf8.RuneCountInString(p.Summary); n == 0 || n > maxSummaryLen {
		f.add("summary", "Describe the change in 1 to 200 characters.")
	}
	if p.AmountPaise != nil && *p.AmountPaise < 0 {
		f.add("amount", "The amount cannot be negative.")
	}
	payload := []byte("{}")
	if p.Payload != nil {
		b, err := json.Marshal(p.Payload)
		if err != nil {
			return p, k, nil, fmt.Errorf("db: approval payload: %w", err)
		}
		if string(b) != "null" {
			payload = b
		}
	}
	return p, k, payload, f.err()
}

// insertProposal stores p as u's request, unless one waits for the same
// target already, with the rule in force snapshotted, and audits it.
func (a *Approvals) insertProposal(ctx context.Context, tx *sql.Tx, u User, p Proposal, payload []byte) (ApprovalRequest, error) {
	pending, ok, err := pendingRequestID(ctx, tx, p.Kind, p.TargetID)
	switch {
	case err != nil:
		return ApprovalRequest{}, err
	case ok:
		return ApprovalRequest{}, Errorf(ECONFLICT, "This already has a request waiting for approval (#%d).", pending)
	}
	rule, err := ruleFor(ctx, tx, p.Kind, p.AmountPaise)
	if err != nil {
		return ApprovalRequest{}, err
	}
	now := a.db.nowMS()
	var amount any
	if p.AmountPaise != nil {
		amount = *p.AmountPaise
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO approval_requests
		(kind, target_id, amount_paise, summary, payload, maker_id, state, rule_id, required_approvals, required_role, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending_approval', ?, ?, ?, ?, ?)`,
		p.Kind, p.TargetID, amount, p.Summary, string(payload), u.ID, rule.ID, rule.Approvals, string(rule.Role),
		now, now+a.ExpireAfter.Milliseconds())
	if err != nil {
		return ApprovalRequest{}, fmt.Errorf("db: propose: %w", err)
	}
	id, _ := res.LastInsertId()
	ins, err := tx.PrepareContext(ctx, insertWordSQL)
	if err != nil {
		return ApprovalRequest{}, fmt.Errorf("db: prepare: %w", err)
	}
	defer ins.Close()
	if err := indexWords(ctx, ins, id, p.Summary, p.TargetID); err != nil {
		return ApprovalRequest{}, err
	}
	wait, err := tx.PrepareContext(ctx, addWaitingSQL)
	if err != nil {
		return ApprovalRequest{}, fmt.Errorf("db: prepare: %w", err)
	}
	defer wait.Close()
	if err := addWaiting(ctx, wait, waitingRequest{ID: id, Kind: p.Kind, Amount: p.AmountPaise, Created: now,
		Expires: now + a.ExpireAfter.Milliseconds(), Role: rule.Role, Maker: u.ID}); err != nil {
		return ApprovalRequest{}, err
	}
	r, err := getRequest(ctx, tx, id)
	if err != nil {
		return ApprovalRequest{}, err
	}
	if err := a.db.audit(ctx, tx, u.Actor(), "approval.proposed", "approval_request", requestTarget(id), map[string]any{
		"kind": r.Kind, "target_id": r.TargetID, "amount_paise": r.AmountPaise, "summary": r.Summary,
		"rule_id": r.RuleID, "required_approvals": r.RequiredApprovals, "required_role": r.RequiredRole,
		"expires_at": r.ExpiresAt.UnixMilli(),
	}); err != nil {
		return ApprovalRequest{}, err
	}
	return r, nil
}

// Approve records actor's approval. When it is the last one needed the
// request becomes approved and its kind's OnApproved runs, all in the one
// transaction. A maker never approves their own request, an approver
// counts once, and only while they may still approve: the approvals of
// people since disabled or moved out of the required role are not counted
// (standingApprovals).
func (a *Approvals) Approve(ctx context.Context, actor User, id int64) (ApprovalRequest, error) {
	return a.decide(ctx, actor, id, a.approval())
}

// Reject ends the request as rejected, with a reason the maker will read.
// The maker withdraws rather than rejects their own request.
func (a *Approvals) Reject(ctx context.Context, actor User, id int64, reason string) (ApprovalRequest, error) {
	d, err := a.rejection(reason)
	if err != nil {
		return ApprovalRequest{}, err
	}
	return a.decide(ctx, actor, id, d)
}

// Withdraw cancels a pending request; only its maker may.
func (a *Approvals) Withdraw(ctx context.Context, actor User, id int64) (ApprovalRequest, error) {
	return a.decide(ctx, actor, id, decision{attempt: "withdraw",
		check: func(u User, r ApprovalRequest) *refusal {
			if u.ID != r.MakerID {
				return refuse("withdraw", r, "Only the person who proposed this can withdraw it.")
			}
			return nil
		},
		apply: func(ctx context.Context, tx *sql.Tx, u User, r ApprovalRequest) (ApprovalRequest, error) {
			return a.finish(ctx, tx, u.Actor(), r, ApprovalCancelled, "", "approval.cancelled", nil)
		}})
}

// decision is one kind of decision on a request: who may make it (check,
// whose refusals are audited) and what it does (apply), both inside the
// deciding transaction.
type decision struct {
	attempt string
	check   func(u User, r ApprovalRequest) *refusal
	apply   func(ctx context.Context, tx *sql.Tx, u User, r ApprovalRequest) (ApprovalRequest, error)
	// steppedUp: the person confirmed a fresh code in this transaction
	// (every bulk decision asks first), so no request of it asks again.
	steppedUp bool
}

func (a *Approvals) approval() decision {
	return decision{attempt: "approve",
		check: func(u User, r ApprovalRequest) *refusal {
			switch {
			case u.ID == r.MakerID:
				return refuse("approve", r, "You proposed this; another person must approve it.")
			case !u.HasRole(r.RequiredRole):
				return refuse("approve", r, "Approving this needs the %s role.", r.RequiredRole)
			}
			return nil
		},
		apply: func(ctx context.Context, tx *sql.Tx, u User, r ApprovalRequest) (ApprovalRequest, error) {
			if err := a.recordDecision(ctx, tx, u, r, "approve", ""); err != nil {
				return r, err
			}
			// This vote counts: u was checked in this transaction. With one
			// approval needed it is the only one; with more, the earlier
			// votes are counted again here, as they stand now.
			standing, notCounted := r.Approvals+1, 0
			if r.RequiredApprovals > 1 {
				var err error
				if standing, notCounted, err = standingApprovals(ctx, tx, r); err != nil {
					return r, err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE approval_requests SET approvals = ? WHERE id = ?`, standing, r.ID); err != nil {
				return r, fmt.Errorf("db: approve: %w", err)
			}
			r.Approvals = standing
			votes := map[string]any{"approvals": r.Approvals, "required": r.RequiredApprovals}
			if notCounted > 0 {
				// Why the count did not move as far as the votes cast.
				votes["not_counted"] = notCounted
			}
			if r.Approvals < r.RequiredApprovals {
				if err := a.db.audit(ctx, tx, u.Actor(), "approval.approved_by", "approval_request", requestTarget(r.ID), votes); err != nil {
					return r, err
				}
				// Still waiting, on others: off this person's list.
				return r, decidedWaiting(ctx, tx, u.ID, r.ID)
			}
			// The deciding vote is one entry, approval.approved, which
			// carries the count an approved_by entry would.
			return a.finish(ctx, tx, u.Actor(), r, ApprovalApproved, "", "approval.approved", votes)
		}}
}

// standingApprovalsSQL counts a request's approvals (?1) and, of those, the
// ones whose approvers are enabled and hold its required role (?2) now. One
// request's decision rows are one range of their primary key, each
// approver one lookup in users and one in user_roles.
const standingApprovalsSQL = `SELECT count(*), coalesce(sum(u.disabled = 0 AND ur.role IS NOT NULL), 0)
	FROM approval_decisions d JOIN users u ON u.id = d.user_id
	LEFT JOIN user_roles ur ON ur.user_id = d.user_id AND ur.role = ?2
	WHERE d.request_id = ?1 AND d.decision = 'approve'`

// standingApprovals is how many of pending request r's approvals stand, read
// in tx, and how many do not: an approval counts only while its approver may
// still approve. Each vote is checked when it is cast (decideIn), but an
// approver disabled or moved out of the role afterwards must not help
// approve a request, whoever casts the last vote; the approval stands again
// should they be enabled or given the role back. r's stored count is a
// cache of this, made again at every vote.
func standingApprovals(ctx context.Context, tx *sql.Tx, r ApprovalRequest) (standing, notCounted int, err error) {
	var all int
	if err := queryRow(ctx, tx, standingApprovalsSQL, r.ID, string(r.RequiredRole)).Scan(&all, &standing); err != nil {
		return 0, 0, fmt.Errorf("db: count approvals: %w", err)
	}
	return standing, all - standing, nil
}

func (a *Approvals) rejection(reason string) (decision, error) {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n == 0 || n > 500 {
		return decision{}, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"reason": "Say why you are rejecting this (up to 500 characters)."}}
	}
	return decision{attempt: "reject",
		check: func(u User, r ApprovalRequest) *refusal {
			switch {
			case u.ID == r.MakerID:
				return refuse("reject", r, "You proposed this; withdraw it instead of rejecting it.")
			case !u.HasRole(r.RequiredRole):
				return refuse("reject", r, "Rejecting this needs the %s role.", r.RequiredRole)
			}
			return nil
		},
		apply: func(ctx context.Context, tx *sql.Tx, u User, r ApprovalRequest) (ApprovalRequest, error) {
			if err := a.recordDecision(ctx, tx, u, r, "reject", reason); err != nil {
				return r, err
			}
			return a.finish(ctx, tx, u.Actor(), r, ApprovalRejected, reason, "approval.rejected",
				map[string]any{"reason": reason})
		}}, nil
}

// decide makes one decision on a request in a transaction of its own;
// a refusal is audited after it (recordRefusal).
func (a *Approvals) decide(ctx context.Context, actor User, id int64, d decision) (ApprovalRequest, error) {
	r, err := a.decideTx(ctx, actor, id, d)
	return r, a.recordRefusal(ctx, actor.Actor(), err)
}

func (a *Approvals) decideTx(ctx context.Context, actor User, id int64, d decision) (ApprovalRequest, error) {
	tx, err := a.db.beginWrite(ctx)
	if err != nil {
		return ApprovalRequest{}, err
	}
	defer tx.Rollback()
	u, err := getUser(ctx, tx, actor.ID)
	if err != nil {
		return ApprovalRequest{}, err
	}
	r, err := a.decideIn(ctx, tx, u, id, d)
	if ErrorCode(err) == ECONFLICT && r.State == ApprovalExpired {
		// Expired just now: the expiry is kept for the record, the decision
		// refused.
		if cerr := tx.Commit(); cerr != nil {
			return r, cerr
		}
		return r, err
	}
	if err != nil {
		return r, err
	}
	return r, tx.Commit()
}

// decideIn is the shape of every decision on a request, inside tx: load it,
// check it is still pending and not expired, check the person (u, read in
// this transaction), then apply. A request found past its time is expired
// in tx and the decision refused with ECONFLICT.
func (a *Approvals) decideIn(ctx context.Context, tx *sql.Tx, u User, id int64, d decision) (ApprovalRequest, error) {
	r, err := getRequest(ctx, tx, id)
	if err != nil {
		return ApprovalRequest{}, err
	}
	if r.State != ApprovalPending {
		return r, Errorf(ECONFLICT, "This request is already %s.", r.State.Label())
	}
	if a.db.nowMS() >= r.ExpiresAt.UnixMilli() {
		// The sweep has not reached it yet; expire it now, for the record,
		// and refuse the decision.
		r, err = a.expire(ctx, tx, r)
		if err != nil {
			return r, err
		}
		return r, Errorf(ECONFLICT, "This request expired on %s without being decided.", r.ExpiresAt.UTC().Format("2 Jan 2006 15:04 MST"))
	}
	if u.Disabled {
		return r, refuse(d.attempt, r, "Your account is disabled.")
	}
	if ref := d.check(u, r); ref != nil {
		return r, ref
	}
	if d.attempt != "withdraw" && !d.steppedUp {
		need, err := a.NeedsStepUp(ctx, tx, r)
		if err != nil {
			return r, err
		}
		if need {
			if err := a.db.requireStepUp(ctx, tx, u); err != nil {
				return r, stepUpRefusal(d.attempt, r, err)
			}
		}
	}
	return d.apply(ctx, tx, u, r)
}

// stepUpRefusal turns requireStepUp's ESTEPUP into a refusal, audited as
// every refusal is; other errors pass through.
func stepUpRefusal(attempt string, r ApprovalRequest, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != ESTEPUP {
		return err
	}
	return &refusal{err: e, attempt: attempt, request: r.ID,
		details: map[string]any{"kind": r.Kind, "target_id": r.TargetID, "step_up": "needed"}}
}

// BulkResult is one request's outcome in a bulk decision: the request as
// it is after the decision, or as it was when the decision was refused,
// with why.
type BulkResult struct {
	ID      int64
	Request ApprovalRequest
	Err     error
}

// ApproveMany approves every request in ids as actor, in one write
// transaction: each request is decided exactly as Approve decides it (the
// same checks, hooks and audit entries) inside a savepoint of its own, so a
// refused or conflicting one undoes only its own writes and is reported in
// its result. Refusals are audited in the same transaction.
func (a *Approvals) ApproveMany(ctx context.Context, actor User, ids []int64) ([]BulkResult, error) {
	res, err := a.decideMany(ctx, actor, ids, a.approval())
	return res, a.recordRefusal(ctx, actor.Actor(), err)
}

// RejectMany rejects every request in ids with one reason, as ApproveMany
// approves.
func (a *Approvals) RejectMany(ctx context.Context, actor User, ids []int64, reason string) ([]BulkResult, error) {
	d, err := a.rejection(reason)
	if err != nil {
		return nil, err
	}
	res, err := a.decideMany(ctx, actor, ids, d)
	return res, a.recordRefusal(ctx, actor.Actor(), err)
}

// MaxBulkDecisions bounds one bulk decision: the transaction holds the one
// writer for as long as it runs.
const MaxBulkDecisions = 10_000

func (a *Approvals) decideMany(ctx context.Context, actor User, ids []int64, d decision) ([]BulkResult, error) {
	if len(ids) > MaxBulkDecisions {
		return nil, Errorf(EINVALID, "At most %d requests can be decided at once; narrow the filter.", MaxBulkDecisions)
	}
	conn, tx, err := a.db.beginWriteConn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer tx.Rollback()
	u, err := getUser(ctx, tx, actor.ID)
	if err != nil {
		return nil, err
	}
	// Any bulk decision needs a fresh code from someone enrolled.
	if err := a.db.requireStepUp(ctx, tx, u); err != nil {
		return nil, stepUpRefusal(d.attempt+"_many", ApprovalRequest{Kind: "bulk", TargetID: fmt.Sprintf("%d requests", len(ids))}, err)
	}
	d.steppedUp = true
	ctx, batch, err := a.db.withTxBatch(ctx, conn, tx)
	if err != nil {
		return nil, err
	}
	out := make([]BulkResult, 0, len(ids))
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		res, err := a.decideOne(ctx, tx, batch, u, id, d)
		if err != nil {
			return nil, err
		}
		if err := batch.settle(ctx); err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	if err := batch.flush(ctx); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: bulk decision: %w", err)
	}
	return out, nil
}

// decideOne decides one request of a bulk decision inside its own
// savepoint. Domain errors become the request's result; anything else
// (the database failing) ends the whole bulk decision.
func (a *Approvals) decideOne(ctx context.Context, tx *sql.Tx, batch *txBatch, u User, id int64, d decision) (BulkResult, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT decide_one`); err != nil {
		return BulkResult{}, fmt.Errorf("db: savepoint: %w", err)
	}
	mark := batch.mark()
	r, err := a.decideIn(ctx, tx, u, id, d)
	keep := err == nil || (ErrorCode(err) == ECONFLICT && r.State == ApprovalExpired)
	if !keep {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO decide_one`); rerr != nil {
			return BulkResult{}, fmt.Errorf("db: rollback to savepoint: %w", rerr)
		}
		batch.rollbackTo(mark)
	}
	if _, rerr := tx.ExecContext(ctx, `RELEASE decide_one`); rerr != nil {
		return BulkResult{}, fmt.Errorf("db: release savepoint: %w", rerr)
	}
	var ref *refusal
	switch {
	case err == nil:
		return BulkResult{ID: id, Request: r}, nil
	case errors.As(err, &ref):
		if aerr := a.auditRefusal(ctx, tx, u.Actor(), ref); aerr != nil {
			return BulkResult{}, aerr
		}
		return BulkResult{ID: id, Request: r, Err: ref.err}, nil
	case ErrorCode(err) != EINTERNAL:
		return BulkResult{ID: id, Request: r, Err: err}, nil
	}
	return BulkResult{}, err
}

// recordDecision writes u's decision. The primary key (request, person)
// refuses a second one: the insert is ignored, and the person told what
// they decided before.
func (a *Approvals) recordDecision(ctx context.Context, tx *sql.Tx, u User, r ApprovalRequest, decision, reason string) error {
	res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO approval_decisions (request_id, user_id, decision, reason, at) VALUES (?, ?, ?, ?, ?)`,
		r.ID, u.ID, decision, reason, a.db.nowMS())
	if err != nil {
		return fmt.Errorf("db: decision: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var prior string
	if err := tx.QueryRowContext(ctx, `SELECT decision FROM approval_decisions WHERE request_id = ? AND user_id = ?`, r.ID, u.ID).Scan(&prior); err != nil {
		return fmt.Errorf("db: decision: %w", err)
	}
	past := map[string]string{"approve": "approved", "reject": "rejected"}[prior]
	return Errorf(ECONFLICT, "You have already %s this request; it needs another person's decision.", past)
}

// finish moves a pending request to a final state inside tx, audits it and
// runs the kind's hook for that state.
func (a *Approvals) finish(ctx context.Context, tx *sql.Tx, actor Actor, r ApprovalRequest, state ApprovalState,
	reason, action string, details map[string]any) (ApprovalRequest, error) {
	k, ok := a.Kind(r.Kind)
	if !ok {
		// A request of a kind this build does not register: deciding it would
		// skip its hook and leave its target behind.
		return r, fmt.Errorf("db: approval kind %q is not registered", r.Kind)
	}
	now := a.db.nowMS()
	res, err := tx.ExecContext(ctx, `UPDATE approval_requests SET state = ?, reason = ?, decided_at = ?
		WHERE id = ? AND state = 'pending_approval'`, string(state), reason, now, r.ID)
	if err != nil {
		return r, fmt.Errorf("db: %s: %w", action, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return r, Errorf(ECONFLICT, "This request was decided meanwhile.")
	}
	// Its waiting rows and words are dropped later (DropEnded): deleting
	// them here would touch a page for each entry, far apart in a bulk
	// decision.
	if err := endedWaiting(ctx, tx, r.ID); err != nil {
		return r, err
	}
	// The request as the update left it, without reading it back.
	out := r
	out.State, out.Reason, out.DecidedAt = state, reason, time.UnixMilli(now)
	if details == nil {
		details = map[string]any{}
	}
	details["kind"], details["target_id"] = out.Kind, out.TargetID
	details["state"] = Change{Before: r.State, After: out.State}
	if err := a.db.audit(ctx, tx, actor, action, "approval_request", requestTarget(out.ID), details); err != nil {
		return r, err
	}
	out.DecidedBy = actor
	if h := k.hook(state); h != nil {
		if err := h(ctx, tx, out); err != nil {
			return r, err
		}
	}
	return out, nil
}

// expire moves a pending request past its time to expired, as Paydesk.
func (a *Approvals) expire(ctx context.Context, tx *sql.Tx, r ApprovalRequest) (ApprovalRequest, error) {
	return a.finish(ctx, tx, SystemActor, r, ApprovalExpired, "", "approval.expired",
		map[string]any{"expires_at": r.ExpiresAt.UnixMilli(), "approvals": r.Approvals, "required": r.RequiredApprovals})
}

// ExpireDue expires every pending request past its time, each in its own
// transaction so that one failing hook holds up only its own request. It
// returns how many expired.
func (a *Approvals) ExpireDue(ctx context.Context) (int, error) {
	ids, err := queryAll(ctx, a.db.read, "due approvals", scanValue[int64], `SELECT id FROM approval_requests
		WHERE state = 'pending_approval' AND expires_at <= ? ORDER BY expires_at, id`, a.db.nowMS())
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, id := range ids {
		ok, err := a.expireOne(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("request %d: %w", id, err))
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// endedChunk is how many ended requests one transaction of DropEnded
// tidies. A decision waits for the writer while a chunk runs: after a bulk
// decision of 1,000 requests spread over 100,000, each chunk of 100 held it
// 10-18 ms.
const endedChunk = 100

// DropEnded drops the waiting rows and words of requests that are no
// longer pending, which their endings left to it (see endedWaiting), a
// chunk per transaction. It returns for how many requests.
func (a *Approvals) DropEnded(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := a.dropEndedChunk(ctx)
		total += n
		if err != nil || n < endedChunk {
			return total, err
		}
	}
}

func (a *Approvals) dropEndedChunk(ctx context.Context) (int, error) {
	tx, err := a.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var upTo, n int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(request_id), 0), count(*) FROM
		(SELECT request_id FROM approval_ended ORDER BY request_id LIMIT ?)`, endedChunk).Scan(&upTo, &n); err != nil {
		return 0, fmt.Errorf("db: ended requests: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	for _, q := range []string{
		`DELETE FROM approval_waiting WHERE request_id IN (SELECT request_id FROM approval_ended WHERE request_id <= ?)`,
		`DELETE FROM approval_words WHERE request_id IN (SELECT request_id FROM approval_ended WHERE request_id <= ?)`,
		`DELETE FROM approval_ended WHERE request_id <= ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, upTo); err != nil {
			return 0, fmt.Errorf("db: drop ended requests' rows: %w", err)
		}
	}
	return int(n), tx.Commit()
}

func (a *Approvals) expireOne(ctx context.Context, id int64) (bool, error) {
	tx, err := a.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	r, err := getRequest(ctx, tx, id)
	if err != nil {
		return false, err
	}
	// Read again under the write lock: it may have been decided since the
	// list was read.
	if r.State != ApprovalPending || a.db.nowMS() < r.ExpiresAt.UnixMilli() {
		return false, nil
	}
	if _, err := a.expire(ctx, tx, r); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// PendingFor returns the request of kind for target that waits for
// approval; ok is false when none waits. There is at most one (a unique
// index says so).
func (a *Approvals) PendingFor(ctx context.Context, kind, target string) (r ApprovalRequest, ok bool, err error) {
	id, ok, err := pendingRequestID(ctx, a.db.read, kind, target)
	if !ok || err != nil {
		return r, false, err
	}
	r, err = getRequest(ctx, a.db.read, id)
	return r, err == nil, err
}

// maxSummaryLen bounds a request's summary, in characters.
const maxSummaryLen = 200

// clipRunes cuts s to at most n characters, ending in "…" when cut.
func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// pendingRequestID is the id of the request of kind for target that waits
// for approval, if one does.
func pendingRequestID(ctx context.Context, q querier, kind, target string) (int64, bool, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM approval_requests WHERE kind = ? AND target_id = ? AND state = 'pending_approval'`,
		kind, target).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("db: pending request: %w", err)
	}
	return id, true, nil
}

// Get returns a request and its decisions, oldest first.
func (a *Approvals) Get(ctx context.Context, id int64) (ApprovalRequest, []Decision, error) {
	r, err := getRequest(ctx, a.db.read, id)
	if err != nil {
		return r, nil, err
	}
	rows, err := a.db.read.QueryContext(ctx, `SELECT d.user_id, u.username, d.decision, d.reason, d.at
		FROM approval_decisions d JOIN users u ON u.id = d.user_id WHERE d.request_id = ? ORDER BY d.at, d.user_id`, id)
	if err != nil {
		return r, nil, fmt.Errorf("db: decisions: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var dec Decision
		var at int64
		if err := rows.Scan(&dec.UserID, &dec.Username, &dec.Decision, &dec.Reason, &at); err != nil {
			return r, nil, err
		}
		dec.At = time.UnixMilli(at)
		out = append(out, dec)
	}
	return r, out, rows.Err()
}

// QueueSort orders the approval queue.
// MaxWaitingCount is where CountWaiting stops counting: a count of
// MaxWaitingCount means "more than MaxWaitingCount-1", which pages show as
// "999+".
const MaxWaitingCount = 1000

type QueueSort string

// Queue orders.
const (
	SortNewest QueueSort = "newest"
	SortOldest QueueSort = "oldest"
	SortAmount QueueSort = "amount" // largest first; requests without an amount last
)

// QueueFilter narrows the approval queue. Zero fields match everything.
type QueueFilter struct {
	// Query keeps requests where every word of it starts a word of the
	// request's summary or target (any case, as LIKE folds it): "asha
	// trad" finds "Pay ₹5,000.00 to Asha Traders by NEFT".
	Query         string
	Kind          string
	MinPaise      *int64 // inclusive; requests without an amount never match
	MaxPaise      *int64 // inclusive
	MakerID       int64
	CreatedAfter  time.Time // inclusive
	CreatedBefore time.Time // exclusive
	Sort          QueueSort
	// After is the id of the last item of the previous page (keyset
	// pagination: the page starts after that item in the chosen order).
	After int64
	Limit int // default 50, at most 200
}

// QueueItem is one request waiting on the user.
type QueueItem struct {
	ApprovalRequest
	Remaining int // approvals still needed
}

// queueQuery builds the FROM and WHERE of the requests waiting on user that
// match f, and their ORDER BY. It reads user's own rows of
// approval_waiting through the index that gives f's order, so a page costs
// a page whatever else waits; a text filter whose words are rare reads
// their few matches instead (wordsMatch).
func (a *Approvals) queueQuery(ctx context.Context, user User, f QueueFilter) (from, where, order string, args []any, err error) {
	var w conditions
	w.add("w.user_id = ?", user.ID)
	// A request past its time waits for the sweep to expire it; nobody can
	// decide it meanwhile, so it is not listed.
	w.add("w.expires_at > ?", a.db.nowMS())
	index := "approval_waiting_newest"
	if f.Kind != "" {
		w.add("w.kind = ?", f.Kind)
		index = "approval_waiting_kind"
	}
	if f.MakerID != 0 {
		w.add("r.maker_id = ?", f.MakerID)
	}
	// The key of the After item is looked up rather than carried in the
	// cursor (created_at and amount never change once a request exists),
	// and read once, so the next page's bound is one plain value the index
	// starts at; beside an age bound SQLite would start at that bound and
	// test the cursor row by row.
	var cur struct{ created, amount int64 }
	if f.After != 0 {
		err := a.db.read.QueryRowContext(ctx, `SELECT created_at, coalesce(amount_paise, -1) FROM approval_requests WHERE id = ?`,
			f.After).Scan(&cur.created, &cur.amount)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return "", "", "", nil, Errorf(ENOTFOUND, "The page to continue from is gone; start again from the first page.")
		case err != nil:
			return "", "", "", nil, fmt.Errorf("db: queue cursor: %w", err)
		}
	}
	// Requests without an amount (amount_sort -1) match no amount range.
	// Largest first from a cursor, the cursor's amount is the upper bound.
	var amounts conditions
	if f.MinPaise != nil {
		amounts.add("w.amount_sort >= ?", *f.MinPaise)
	}
	if f.MaxPaise != nil {
		if f.Sort == SortAmount && f.After != 0 && cur.amount <= *f.MaxPaise {
			amounts.add("w.amount_sort >= ?", 0)
		} else {
			amounts.add("w.amount_sort BETWEEN 0 AND ?", *f.MaxPaise)
		}
	}
	for i, c := range amounts.conds {
		w.add(c, amounts.args[i])
	}
	byCreated := f.After != 0 && f.Sort != SortAmount
	if !f.CreatedAfter.IsZero() && !(byCreated && f.Sort == SortOldest && cur.created >= f.CreatedAfter.UnixMilli()) {
		w.add("w.created_at >= ?", f.CreatedAfter.UnixMilli())
	}
	if !f.CreatedBefore.IsZero() && !(byCreated && f.Sort != SortOldest && cur.created < f.CreatedBefore.UnixMilli()) {
		w.add("w.created_at < ?", f.CreatedBefore.UnixMilli())
	}
	switch f.Sort {
	case SortOldest:
		order = "w.created_at, w.request_id"
		if f.After != 0 {
			w.add("w.created_at >= ? AND (w.created_at > ? OR w.request_id > ?)", cur.created, cur.created, f.After)
		}
	case SortAmount:
		order, index = "w.amount_sort DESC, w.request_id DESC", "approval_waiting_amount"
		if f.After != 0 {
			w.add("w.amount_sort <= ? AND (w.amount_sort < ? OR w.request_id < ?)", cur.amount, cur.amount, f.After)
		}
	default:
		order = "w.created_at DESC, w.request_id DESC"
		if f.After != 0 {
			w.add("w.created_at <= ? AND (w.created_at < ? OR w.request_id < ?)", cur.created, cur.created, f.After)
		}
	}
	if len(amounts.conds) > 0 && f.Sort != SortAmount {
		// An amount range in created order: when few of user's requests
		// fall in it, they are read through the amount index and sorted;
		// when many do, the created-order walk finds a page soon. Rows of
		// ended requests still to be tidied count here: they change how
		// the page is found, not what it lists.
		dense, err := atLeast(ctx, a.db.read, "queue amounts", searchSortLimit,
			`SELECT 1 FROM approval_waiting w INDEXED BY approval_waiting_amount WHERE w.user_id = ? AND `+strings.Join(amounts.conds, " AND "),
			append([]any{user.ID}, amounts.args...)...)
		if err != nil {
			return "", "", "", nil, err
		}
		if !dense {
			index = "approval_waiting_amount"
		}
	}
	from = " FROM approval_waiting w INDEXED BY " + index
	var fromArgs []any
	if words := searchTerms(f.Query); len(words) > 0 {
		driver, rest, err := a.wordsMatch(ctx, words)
		if err != nil {
			return "", "", "", nil, err
		}
		prefixes := make([]string, len(rest))
		for i, m := range rest {
			prefixes[i] = m.lo
		}
		if bits := filterWordBits(prefixes); bits != 0 {
			// One integer test passes over most rows before any instr.
			w.add(`(w.word_bits & ?) = ?`, bits, bits)
		}
		for _, m := range rest {
			// A word of the request starts with m: the row carries its
			// request's words, each after a space.
			w.add(`instr(w.words, ?) > 0`, " "+m.lo)
		}
		if driver != nil {
			// The rarest word has few requests: they drive the query
			// (CROSS JOIN keeps SQLite from walking user's whole list)
			// and are sorted, at most searchSortLimit of them.
			from = ` FROM (SELECT DISTINCT request_id FROM approval_words WHERE word >= ? AND word < ?) c
				CROSS JOIN approval_waiting w ON w.request_id = c.request_id`
			fromArgs = []any{driver.lo, driver.hi}
		}
	}
	// Last, so that it runs only on rows that passed every other test.
	w.add(waitingLive)
	from += " JOIN approval_requests r ON r.id = w.request_id"
	return from, w.where(), order, append(fromArgs, w.args...), nil
}

// wordMatch is one word of a text filter: the range of words it starts.
type wordMatch struct{ lo, hi string }

// wordsMatch splits a text filter's words into the one that drives the
// query, when some word is rare (fewer than searchSortLimit requests have
// it), and the rest, which are checked on each row. With no rare word
// (driver nil) the list's own order is walked, each row checked for every
// word: the words are common, so a page is found soon. The count includes
// ended requests whose words housekeeping has yet to drop (DropEnded): it
// can only make a word look commoner, which changes how the page is found,
// not what it lists.
func (a *Approvals) wordsMatch(ctx context.Context, words []string) (driver *wordMatch, rest []wordMatch, err error) {
	for _, word := range words {
		lo, hi := prefixRange(word)
		m := wordMatch{lo, hi}
		var n int
		if err := a.db.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM approval_words WHERE word >= ? AND word < ? LIMIT ?)`,
			lo, hi, searchSortLimit).Scan(&n); err != nil {
			return nil, nil, fmt.Errorf("db: queue search: %w", err)
		}
		if n < searchSortLimit && driver == nil {
			driver = &m
			continue
		}
		rest = append(rest, m)
	}
	return driver, rest, nil
}

// Queue returns one page of the requests waiting on user, and whether more
// follow.
func (a *Approvals) Queue(ctx context.Context, user User, f QueueFilter) ([]QueueItem, bool, error) {
	f.Limit = pageLimit(f.Limit, 200)
	from, where, order, args, err := a.queueQuery(ctx, user, f)
	if err != nil {
		return nil, false, err
	}
	return queryPage(ctx, a.db.read, "approval queue", f.Limit, scanQueueItem,
		`SELECT `+requestColumns+from+` JOIN users m ON m.id = r.maker_id`+where+` ORDER BY `+order+` LIMIT ?`,
		append(args, f.Limit+1)...)
}

// WaitingIDs lists the ids of every request waiting on user that matches f,
// in f's order, at most limit of them: the "all matching the filter" of a
// bulk decision.
func (a *Approvals) WaitingIDs(ctx context.Context, user User, f QueueFilter, limit int) ([]int64, error) {
	f.After = 0
	from, where, order, args, err := a.queueQuery(ctx, user, f)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, a.db.read, "waiting ids", scanValue[int64],
		`SELECT w.request_id`+from+where+` ORDER BY `+order+` LIMIT ?`, append(args, limit)...)
}

// indexWords stores the words of a new request for the queue's text filter.
// They are kept only while it waits (DropEnded deletes them after it ends):
// the filter lists waiting requests, so decided ones would only make common
// words look commoner than they are.
func indexWords(ctx context.Context, ins *sql.Stmt, id int64, summary, target string) error {
	for _, w := range searchTerms(summary + " " + target) {
		if _, err := ins.ExecContext(ctx, w, id); err != nil {
			return fmt.Errorf("db: request words: %w", err)
		}
	}
	return nil
}

const insertWordSQL = `INSERT OR IGNORE INTO approval_words (word, request_id) VALUES (?, ?)`

func scanQueueItem(s scanner) (QueueItem, error) {
	r, err := scanRequest(s)
	return QueueItem{ApprovalRequest: r, Remaining: max(r.RequiredApprovals-r.Approvals, 0)}, err
}

// CountWaiting returns how many requests wait on user, for the navigation
// badge and the queue's heading. Counting stops at MaxWaitingCount: the
// badge on every page must stay cheap when a hundred thousand requests wait,
// and it reads one index of user's own rows. It reads them newest first:
// the requests past their time that housekeeping has yet to expire are the
// oldest, so the count reaches its cap before it reaches them.
func (a *Approvals) CountWaiting(ctx context.Context, user User) (int, error) {
	var n int
	if err := a.db.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM approval_waiting w INDEXED BY approval_waiting_newest
		WHERE w.user_id = ? AND w.expires_at > ? AND `+waitingLive+` ORDER BY w.created_at DESC LIMIT ?)`,
		user.ID, a.db.nowMS(), MaxWaitingCount).Scan(&n); err != nil {
		return 0, fmt.Errorf("db: count waiting: %w", err)
	}
	return n, nil
}

package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Contacts: the vendors and customers admins manage.
//
// A changed bank account is the classic way money gets stolen, so bank
// details never take effect without a second person. Every change of them
// (including the first details of a new contact, and details imported from
// PayMate) goes to pending_* with a 'contact_bank' approval request made in
// the same transaction; only the kind's OnApproved hook copies pending_* to
// approved_*, which are the only details PayableDetails hands to payouts.
// Nothing else in this file writes approved_*.

// ContactBankKind is the approval kind of a change of a contact's bank details.
const ContactBankKind = "contact_bank"

// Sync states of a contact at PayMate.
const (
	SyncUnsynced = "unsynced"
	SyncSynced   = "synced"
	SyncFailed   = "failed"
)

// Contact is one vendor or customer as Paydesk holds it.
type Contact struct {
	ID            string
	Kind          ContactKind
	CompanyName   string
	FirstName     string
	LastName      string
	Email         string
	Mobile        string
	GSTIN         string
	ReferenceCode string // at PayMate; the id for contacts made here
	// The bank details payouts may use; empty until a checker approves them.
	ApprovedAccountNo string
	ApprovedIFSC      string
	// A proposed change waiting for approval; empty when none waits.
	PendingAccountNo     string
	PendingIFSC          string
	AllowOldWhilePending bool
	SyncState            string
	SyncError            string
	ProviderID           string // PayMate ContactXpressID
	VirtualAccountNo     string
	VirtualIFSC          string
	CreatedBy            int64 // 0: imported by Paydesk
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// HasApprovedBank reports whether payouts could ever use the contact.
func (c Contact) HasApprovedBank() bool { return c.ApprovedAccountNo != "" }

// HasPendingBank reports whether a change of bank details waits for approval.
func (c Contact) HasPendingBank() bool { return c.PendingAccountNo != "" }

// Name is how pages and messages name the contact.
func (c Contact) Name() string {
	if c.CompanyName != "" {
		return c.CompanyName
	}
	return c.Person()
}

// Person is the contact person's full name.
func (c Contact) Person() string { return strings.TrimSpace(c.FirstName + " " + c.LastName) }

// Contacts is the contacts domain.
type Contacts struct {
	db        *DB
	approvals *Approvals
}

// ContactManagerRoles may create and edit contacts: admins, who own the
// contact book, and makers, who propose the payouts to it. Neither can
// approve bank details; the seeded rule asks a checker.
var ContactManagerRoles = []Role{RoleAdmin, RoleMaker}

// NewContacts returns the contacts domain over d and registers the
// 'contact_bank' approval kind with a.
func NewContacts(d *DB, a *Approvals) *Contacts {
	c := &Contacts{db: d, approvals: a}
	a.RegisterKind(Kind{
		Name: ContactBankKind, Label: "Contact bank details", MakerRoles: ContactManagerRoles,
		OnApproved:  c.onApproved,
		OnRejected:  c.onEnded("rejected"),
		OnCancelled: c.onEnded("withdrawn"),
		OnExpired:   c.onEnded("expired"),
	})
	return c
}

// newContactID returns "CT" and 10 characters of A–Z and 2–7 (50 bits): a
// valid PayMate ReferenceCode (alphanumeric, at most 20) as it stands.
func newContactID() string { return "CT" + randomBase32(10) }

const contactColumns = `id, kind, company_name, first_name, last_name, email, mobile, gstin, coalesce(reference_code, ''),
	coalesce(approved_account_no, ''), coalesce(approved_ifsc, ''), coalesce(pending_account_no, ''), coalesce(pending_ifsc, ''),
	allow_old_while_pending, sync_state, sync_error, coalesce(provider_id, ''), virtual_account_no, virtual_ifsc,
	coalesce(created_by, 0), created_at, updated_at`

func scanContact(s scanner) (Contact, error) {
	var c Contact
	var created, updated int64
	if err := s.Scan(&c.ID, &c.Kind, &c.CompanyName, &c.FirstName, &c.LastName, &c.Email, &c.Mobile, &c.GSTIN, &c.ReferenceCode,
		&c.ApprovedAccountNo, &c.ApprovedIFSC, &c.PendingAccountNo, &c.PendingIFSC, &c.AllowOldWhilePending,
		&c.SyncState, &c.SyncError, &c.ProviderID, &c.VirtualAccountNo, &c.VirtualIFSC, &c.CreatedBy, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, Errorf(ENOTFOUND, "No such contact.")
		}
		return c, fmt.Errorf("db: scan contact: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return c, nil
}

func getContact(ctx context.Context, q querier, id string) (Contact, error) {
	return scanContact(q.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
}

// contactSnapshot is a contact in the audit log.
func contactSnapshot(c Contact) map[string]any {
	return map[string]any{
		"kind": c.Kind, "company_name": c.CompanyName, "first_name": c.FirstName, "last_name": c.LastName,
		"email": c.Email, "mobile": c.Mobile, "gstin": c.GSTIN, "reference_code": c.ReferenceCode,
		"approved_account_no": c.ApprovedAccountNo, "approved_ifsc": c.ApprovedIFSC,
		"pending_account_no": c.PendingAccountNo, "pending_ifsc": c.PendingIFSC,
		"allow_old_while_pending": c.AllowOldWhilePending, "sync_state": c.SyncState,
	}
}

// BankDetails is an account and its IFSC.
type BankDetails struct {
	AccountNo string `json:"account_no"`
	IFSC      string `json:"ifsc"`
}

// contactBankPayload is what the checker sees: the contact and the
// field-level change of its bank details. Old is nil for a first set.
type contactBankPayload struct {
	ContactID            string       `json:"contact_id"`
	CompanyName          string       `json:"company_name"`
	Old                  *BankDetails `json:"old"`
	New                  BankDetails  `json:"new"`
	AllowOldWhilePending bool         `json:"allow_old_while_pending"`
	// Source is "paydesk" (an admin's form) or "paymate" (imported).
	Source string `json:"source"`
}

// FieldChange is one field of a request's change, for the request page.
type FieldChange struct {
	Field string
	Old   string
	New   string
}

// BankChange is what a 'contact_bank' request asks for, as the checker
// reads it.
type BankChange struct {
	// Fields is the field-level change (account_no, ifsc), unchanged fields
	// left out.
	Fields []FieldChange
	// First: the contact had no approved details; nothing is payable yet.
	First bool
	// KeepOld: payouts keep using the approved details while it waits.
	KeepOld bool
}

// BankChangeOf reads a 'contact_bank' request; ok is false for other kinds.
func (c *Contacts) BankChangeOf(r ApprovalRequest) (ch BankChange, ok bool) {
	if r.Kind != ContactBankKind {
		return ch, false
	}
	var p contactBankPayload
	if json.Unmarshal(r.Payload, &p) != nil {
		return ch, false
	}
	var old BankDetails
	if p.Old != nil {
		old = *p.Old
	}
	if old.AccountNo != p.New.AccountNo {
		ch.Fields = append(ch.Fields, FieldChange{Field: "account_no", Old: old.AccountNo, New: p.New.AccountNo})
	}
	if old.IFSC != p.New.IFSC {
		ch.Fields = append(ch.Fields, FieldChange{Field: "ifsc", Old: old.IFSC, New: p.New.IFSC})
	}
	ch.First, ch.KeepOld = p.Old == nil, p.AllowOldWhilePending
	return ch, true
}

func contactBankSummary(name string, old *BankDetails, nw BankDetails) string {
	s := fmt.Sprintf("Set bank details of %s: account %s, IFSC %s", name, MaskAccount(nw.AccountNo), nw.IFSC)
	if old != nil {
		s = fmt.Sprintf("Change bank details of %s to account %s, IFSC %s", name, MaskAccount(nw.AccountNo), nw.IFSC)
	}
	return clipRunes(s, maxSummaryLen)
}

// maskAccount shows the last four characters, as summaries are listed widely.
func MaskAccount(a string) string {
	if len(a) <= 4 {
		return a
	}
	return "…" + a[len(a)-4:]
}

// requireManager reads maker again inside tx: contacts are managed by
// enabled admins and makers, as the database says now. A refusal is audited
// by the caller.
func (c *Contacts) requireManager(ctx context.Context, tx *sql.Tx, maker User, attempt, target string) (User, error) {
	u, err := getUser(ctx, tx, maker.ID)
	if err != nil {
		return u, err
	}
	req := ApprovalRequest{Kind: ContactBankKind, TargetID: target}
	switch {
	case u.Disabled:
		return u, refuse(attempt, req, "Your account is disabled.")
	case !slices.ContainsFunc(ContactManagerRoles, u.HasRole):
		return u, refuse(attempt, req, "Managing contacts needs the admin or maker role.")
	}
	return u, nil
}

// proposeBank opens the 'contact_bank' request for ct's pending details in tx.
func (c *Contacts) proposeBank(ctx context.Context, tx *sql.Tx, maker User, ct Contact, old *BankDetails, source string) (ApprovalRequest, error) {
	nw := BankDetails{AccountNo: ct.PendingAccountNo, IFSC: ct.PendingIFSC}
	return c.approvals.propose(ctx, tx, maker, Proposal{
		Kind: ContactBankKind, TargetID: ct.ID, Summary: contactBankSummary(ct.Name(), old, nw),
		Payload: contactBankPayload{ContactID: ct.ID, CompanyName: ct.CompanyName, Old: old, New: nw,
			AllowOldWhilePending: ct.AllowOldWhilePending, Source: source},
	})
}

// Create stores a new contact as maker (an admin or a maker). Bank details given go to
// pending with a 'contact_bank' request in the same transaction; the contact
// is not payable until a checker approves them.
func (c *Contacts) Create(ctx context.Context, maker User, in ContactInput) (Contact, *ApprovalRequest, error) {
	in, fields := ValidateContact(in)
	if fields != nil {
		return Contact{}, nil, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: fields}
	}
	ct, req, err := c.createTx(ctx, maker, in)
	return ct, req, c.approvals.recordRefusal(ctx, maker.Actor(), err)
}

func (c *Contacts) createTx(ctx context.Context, maker User, in ContactInput) (Contact, *ApprovalRequest, error) {
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return Contact{}, nil, err
	}
	defer tx.Rollback()
	id := newContactID()
	u, err := c.requireManager(ctx, tx, maker, "contact.create", id)
	if err != nil {
		return Contact{}, nil, err
	}
	ct, out, err := c.insertContact(ctx, tx, u, id, in)
	if err != nil {
		return Contact{}, nil, err
	}
	if err := tx.Commit(); err != nil {
		return Contact{}, nil, err
	}
	return ct, out, nil
}

// insertContact writes the new contact id from in (validated) inside tx, as
// u (checked by requireManager), with its audit entry and, when in has bank
// details, its 'contact_bank' request. Create and Import both make contacts
// through it.
func (c *Contacts) insertContact(ctx context.Context, tx *sql.Tx, u User, id string, in ContactInput) (Contact, *ApprovalRequest, error) {
	ref := in.ReferenceCode
	if ref == "" {
		ref = id
	}
	switch msg, err := referenceTaken(ctx, tx, ref); {
	case err != nil:
		return Contact{}, nil, err
	case msg != "":
		return Contact{}, nil, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"reference_code": msg}}
	}
	now := c.db.nowMS()
	if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, kind, company_name, first_name, last_name, email, mobile, gstin,
		reference_code, pending_account_no, pending_ifsc, allow_old_while_pending, sync_state, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'unsynced', ?, ?, ?)`,
		id, string(in.Kind), in.CompanyName, in.FirstName, in.LastName, in.Email, in.Mobile, in.GSTIN,
		ref, nullString(in.AccountNo), nullString(in.IFSC), u.ID, now, now); err != nil {
		return Contact{}, nil, fmt.Errorf("db: create contact: %w", err)
	}
	ct, err := getContact(ctx, tx, id)
	if err != nil {
		return Contact{}, nil, err
	}
	if err := c.db.audit(ctx, tx, u.Actor(), "contact.created", "contact", id, Change{After: contactSnapshot(ct)}); err != nil {
		return Contact{}, nil, err
	}
	var out *ApprovalRequest
	if ct.HasPendingBank() {
		r, err := c.proposeBank(ctx, tx, u, ct, nil, "paydesk")
		if err != nil {
			return Contact{}, nil, err
		}
		out = &r
	}
	return ct, out, nil
}

// referenceTaken says which contact already uses the reference code ref
// (compared without case, as PayMate does), "" when none does.
func referenceTaken(ctx context.Context, q querier, ref string) (string, error) {
	var taken string
	switch err := q.QueryRowContext(ctx, `SELECT id FROM contacts WHERE reference_code = ?`, ref).Scan(&taken); {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("db: reference code check: %w", err)
	}
	return fmt.Sprintf("Reference code %s is already used by contact %s.", ref, taken), nil
}

// Update changes a contact as maker (an admin or a maker). The other fields change at
// once. Bank details that differ from the approved ones never change them:
// they go to pending with a 'contact_bank' request (AllowOldWhilePending
// from in). Empty AccountNo and IFSC mean "leave the bank details as they
// are"; bank details cannot be removed here. A second, different change
// while one waits is refused with ECONFLICT.
func (c *Contacts) Update(ctx context.Context, maker User, id string, in ContactInput) (Contact, *ApprovalRequest, error) {
	ct, req, err := c.updateTx(ctx, maker, id, in)
	return ct, req, c.approvals.recordRefusal(ctx, maker.Actor(), err)
}

func (c *Contacts) updateTx(ctx context.Context, maker User, id string, in ContactInput) (Contact, *ApprovalRequest, error) {
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return Contact{}, nil, err
	}
	defer tx.Rollback()
	before, err := getContact(ctx, tx, id)
	if err != nil {
		return Contact{}, nil, err
	}
	u, err := c.requireManager(ctx, tx, maker, "contact.update", id)
	if err != nil {
		return Contact{}, nil, err
	}
	if strings.TrimSpace(in.AccountNo) == "" && strings.TrimSpace(in.IFSC) == "" {
		// Keep: the details waiting if any, else the approved ones.
		in.AccountNo, in.IFSC = before.ApprovedAccountNo, before.ApprovedIFSC
		if before.HasPendingBank() {
			in.AccountNo, in.IFSC = before.PendingAccountNo, before.PendingIFSC
		}
	}
	// The reference code is how the sync finds the contact at PayMate: it
	// stays what it was, whatever the form sent.
	in.ReferenceCode = before.ReferenceCode
	in, fields := ValidateContact(in)
	if fields != nil {
		return Contact{}, nil, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: fields}
	}
	now := c.db.nowMS()
	// Only the fields that take effect at once are written here.
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET kind = ?, company_name = ?, first_name = ?, last_name = ?, email = ?,
		mobile = ?, gstin = ?, updated_at = ? WHERE id = ?`,
		string(in.Kind), in.CompanyName, in.FirstName, in.LastName, in.Email, in.Mobile, in.GSTIN, now, id); err != nil {
		return Contact{}, nil, fmt.Errorf("db: update contact: %w", err)
	}
	newBank := BankDetails{AccountNo: in.AccountNo, IFSC: in.IFSC}
	approved := BankDetails{AccountNo: before.ApprovedAccountNo, IFSC: before.ApprovedIFSC}
	pending := BankDetails{AccountNo: before.PendingAccountNo, IFSC: before.PendingIFSC}
	bankChange := newBank != approved && !(before.HasPendingBank() && newBank == pending)
	if bankChange && before.HasPendingBank() {
		reqID, _, _ := pendingRequestID(ctx, tx, ContactBankKind, id)
		return Contact{}, nil, Errorf(ECONFLICT, "A change of the bank details of %s already waits for approval (request #%d). "+
			"Withdraw it, or wait for a checker to decide it, before proposing another.", before.Name(), reqID)
	}
	if bankChange {
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET pending_account_no = ?, pending_ifsc = ?, allow_old_while_pending = ?
			WHERE id = ?`, newBank.AccountNo, newBank.IFSC, in.AllowOldWhilePending, id); err != nil {
			return Contact{}, nil, fmt.Errorf("db: update contact: %w", err)
		}
	}
	after, err := getContact(ctx, tx, id)
	if err != nil {
		return Contact{}, nil, err
	}
	if err := c.db.audit(ctx, tx, u.Actor(), "contact.updated", "contact", id,
		Change{Before: contactSnapshot(before), After: contactSnapshot(after)}); err != nil {
		return Contact{}, nil, err
	}
	var out *ApprovalRequest
	if bankChange {
		var old *BankDetails
		if before.HasApprovedBank() {
			old = &approved
		}
		r, err := c.proposeBank(ctx, tx, u, after, old, "paydesk")
		if err != nil {
			return Contact{}, nil, err
		}
		out = &r
	}
	if err := tx.Commit(); err != nil {
		return Contact{}, nil, err
	}
	return after, out, nil
}

func (c *Contacts) payloadOf(r ApprovalRequest) (contactBankPayload, error) {
	var p contactBankPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return p, fmt.Errorf("db: contact_bank payload of request %d: %w", r.ID, err)
	}
	return p, nil
}

// onApproved makes the approved change take effect: pending → approved, in
// the deciding transaction. The details copied are the request's own (its
// payload), and they must still be the contact's pending ones.
func (c *Contacts) onApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	p, err := c.payloadOf(r)
	if err != nil {
		return err
	}
	before, err := getContact(ctx, tx, r.TargetID)
	if err != nil {
		return err
	}
	if before.PendingAccountNo != p.New.AccountNo || before.PendingIFSC != p.New.IFSC {
		return Errorf(ECONFLICT, "The pending bank details of %s no longer match this request.", before.Name())
	}
	// A contact imported from PayMate already holds these details there;
	// one made or changed here must be pushed again.
	syncState := SyncUnsynced
	if p.Source == "paymate" && before.SyncState == SyncSynced {
		syncState = SyncSynced
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET approved_account_no = pending_account_no, approved_ifsc = pending_ifsc,
		pending_account_no = NULL, pending_ifsc = NULL, allow_old_while_pending = 0, sync_state = ?, sync_error = '', updated_at = ?
		WHERE id = ?`, syncState, c.db.nowMS(), r.TargetID); err != nil {
		return fmt.Errorf("db: approve contact bank details: %w", err)
	}
	after, err := getContact(ctx, tx, r.TargetID)
	if err != nil {
		return err
	}
	return c.db.audit(ctx, tx, SystemActor, "contact.bank_approved", "contact", r.TargetID, map[string]any{
		"request_id": r.ID, "change": Change{Before: contactSnapshot(before), After: contactSnapshot(after)},
	})
}

// onEnded drops the pending details of a request that did not pass.
func (c *Contacts) onEnded(how string) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		before, err := getContact(ctx, tx, r.TargetID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET pending_account_no = NULL, pending_ifsc = NULL,
			allow_old_while_pending = 0, updated_at = ? WHERE id = ?`, c.db.nowMS(), r.TargetID); err != nil {
			return fmt.Errorf("db: drop pending bank details: %w", err)
		}
		after, err := getContact(ctx, tx, r.TargetID)
		if err != nil {
			return err
		}
		return c.db.audit(ctx, tx, SystemActor, "contact.bank_"+how, "contact", r.TargetID, map[string]any{
			"request_id": r.ID, "change": Change{Before: contactSnapshot(before), After: contactSnapshot(after)},
		})
	}
}

// Get returns a contact.
func (c *Contacts) Get(ctx context.Context, id string) (Contact, error) {
	return getContact(ctx, c.db.read, id)
}

// PayableDetails returns the bank details a payout to the contact must use:
// the approved ones. While a change waits for approval they are held unless
// the change was proposed with AllowOldWhilePending.
func (c *Contacts) PayableDetails(ctx context.Context, id string) (account, ifsc string, err error) {
	_, bank, err := payableDetails(ctx, c.db.read, id)
	return bank.AccountNo, bank.IFSC, err
}

// payableDetails is PayableDetails on q, which may be the deciding
// transaction; it returns the contact too, for messages.
func payableDetails(ctx context.Context, q querier, id string) (Contact, BankDetails, error) {
	ct, err := getContact(ctx, q, id)
	if err != nil {
		return ct, BankDetails{}, err
	}
	switch {
	case !ct.HasApprovedBank() && ct.HasPendingBank():
		return ct, BankDetails{}, Errorf(ECONFLICT, "Bank details for %s await approval; payouts to this contact are not possible until a checker approves them.", ct.Name())
	case ct.HasPendingBank() && !ct.AllowOldWhilePending:
		return ct, BankDetails{}, Errorf(ECONFLICT, "Bank details for %s are changing and await approval; payouts to this contact are held until a checker approves the change.", ct.Name())
	case !ct.HasApprovedBank():
		return ct, BankDetails{}, Errorf(ECONFLICT, "%s has no approved bank details; add them (a checker must approve them) before paying this contact.", ct.Name())
	}
	return ct, BankDetails{AccountNo: ct.ApprovedAccountNo, IFSC: ct.ApprovedIFSC}, nil
}

// ContactFilter narrows the contact list. Zero fields match everything.
type ContactFilter struct {
	// Query matches the start of the company or person name (any case), or
	// exactly the id, reference code, an account number or an IFSC.
	Query     string
	Kind      ContactKind
	HasBank   *bool // approved bank details or not
	SyncState string
	// After is the id of the last contact of the previous page; the list is
	// sorted by company name, then id.
	After string
	Limit int // default 50, at most 200
}

// List returns one page of contacts and whether more follow.
func (c *Contacts) List(ctx context.Context, f ContactFilter) ([]Contact, bool, error) {
	f.Limit = pageLimit(f.Limit, 200)
	var w conditions
	from := " FROM contacts"
	if f.Kind != "" {
		w.add("kind = ?", string(f.Kind))
	}
	switch {
	case f.HasBank != nil && *f.HasBank:
		w.add("approved_account_no IS NOT NULL")
	case f.HasBank != nil:
		w.add("approved_account_no IS NULL")
		// The few without details, in the list's order; SQLite would
		// rather look them up by account and sort them.
		from = " FROM contacts INDEXED BY contacts_without_bank"
	}
	if f.SyncState != "" {
		w.add("sync_state = ?", f.SyncState)
	}
	// The cursor's key, read once: the next page then starts at a plain
	// value of the list's index (a row value would have SQLite walk from the
	// first contact).
	var cursor *contactCursor
	if f.After != "" {
		cursor = &contactCursor{}
		err := c.db.read.QueryRowContext(ctx, `SELECT company_name, id FROM contacts WHERE id = ?`, f.After).Scan(&cursor.company, &cursor.id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("db: contacts cursor: %w", err)
		}
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		return c.search(ctx, q, w, cursor, f.Limit)
	}
	if cursor != nil {
		cursor.add(&w)
	}
	return queryPage(ctx, c.db.read, "list contacts", f.Limit, scanContact,
		`SELECT `+contactColumns+from+w.where()+` ORDER BY company_name COLLATE NOCASE, id LIMIT ?`, append(w.args, f.Limit+1)...)
}

// search returns one page of the contacts matching q and the filters w: a
// company name, full name or last name that starts with q (any case, as LIKE
// 'q%' compares: ASCII letters folded), or an id, reference code, account
// number or IFSC that is exactly q. Each kind of match is read in the
// list's order, and they are merged:
//   - company names: a prefix is a range of the list's own index;
//   - IFSCs: each IFSC column's index holds a branch's contacts in the
//     list's order;
//   - person names: when few contacts match, through their indexes, and
//     sorted (at most searchSortLimit); when many do, by walking the list's
//     order, where they are spread (a person's name says nothing of the
//     company's), so a page is found within a short walk;
//   - ids, reference codes and accounts: exact lookups, a handful of rows.
func (c *Contacts) search(ctx context.Context, q string, w conditions, cursor *contactCursor, limit int) ([]Contact, bool, error) {
	lo, hi := prefixRange(asciiLower(q))
	up := strings.ToUpper(q)
	// The company arm's range starts at the cursor when the cursor is in
	// it, so that it has one lower bound.
	start := lo
	if cursor != nil {
		if k := asciiLower(cursor.company); k > start {
			start = k
		}
	}
	filters := ""
	for _, cond := range w.conds {
		filters += " AND " + cond
	}
	var args []any
	// arm selects from with cond and the filters, after the cursor. An arm
	// read in the list's order (a walk, a branch) is given the cursor's
	// company name as the bound its index starts at; the company arm
	// starts there itself; arms that look their few matches up get no
	// bound, which would only tempt SQLite to walk instead.
	arm := func(from, cond string, walks bool, condArgs ...any) string {
		args = append(append(args, condArgs...), w.args...)
		q := `SELECT ` + contactColumns + from + ` WHERE ` + cond + filters
		if cursor != nil {
			if walks {
				q += " AND company_name >= ? COLLATE NOCASE"
				args = append(args, cursor.company)
			}
			q += " AND (company_name > ? COLLATE NOCASE OR (company_name = ? COLLATE NOCASE AND id > ?))"
			args = append(args, cursor.company, cursor.company, cursor.id)
		}
		return q
	}
	// Each arm leaves out what an earlier arm matches, so that no contact
	// comes twice and a page is exactly limit+1 rows. The exclusions are
	// null-safe (IS): a missing pending IFSC must not hide a contact.
	var seen []string
	var seenArgs []any
	except := func(cond string, cargs ...any) {
		seen = append(seen, "NOT ("+cond+")")
		seenArgs = append(seenArgs, cargs...)
	}
	armWith := func(from, cond string, walks bool, cargs ...any) string {
		if len(seen) > 0 {
			cond = "(" + cond + ") AND " + strings.Join(seen, " AND ")
			cargs = append(slices.Clone(cargs), seenArgs...)
		}
		return arm(from, cond, walks, cargs...)
	}
	// spread is an arm whose matches may be few or many: few are read
	// through their indexes and sorted, many by walking the list's order.
	spread := func(s textSearch, same string) (string, []any, error) {
		cond, cargs, dense, err := s.match(ctx, c.db.read, " FROM contacts", "contact search", q)
		if err != nil {
			return "", nil, err
		}
		from := " FROM contacts"
		if dense {
			from = " FROM contacts INDEXED BY contacts_company"
		}
		if same == "" {
			same = cond
		}
		out := armWith(from, cond, dense, cargs...)
		except(same, cargs...)
		return out, cargs, nil
	}
	companyCond := "company_name >= ? COLLATE NOCASE AND company_name < ? COLLATE NOCASE"
	companies := armWith(" FROM contacts INDEXED BY contacts_company", companyCond, false, start, hi)
	except(companyCond, lo, hi)
	// A person's name: when the prefix covers a few full names and last
	// names, each name's contacts are read through its own index entries,
	// which hold them in the list's order, and merged; otherwise (a prefix
	// of a letter or two) the matches are read as any spread search is.
	people, err := c.personArms(ctx, lo, hi, armWith, except)
	if err != nil {
		return nil, false, err
	}
	if people == nil {
		arm, _, err := spread(contactPersonSearch, "")
		if err != nil {
			return nil, false, err
		}
		people = []string{arm}
	}
	// Many contacts may bank at one branch: each IFSC column's index holds
	// its contacts in the list's order, so a branch is a range too.
	branches := armWith(" FROM contacts INDEXED BY contacts_ifsc", "approved_ifsc = ?", true, up)
	except("approved_ifsc IS ?", up)
	pendingBranches := armWith(" FROM contacts INDEXED BY contacts_pending_ifsc", "pending_ifsc = ?", true, up)
	except("pending_ifsc IS ?", up)
	codes := armWith(" FROM contacts", `(id = ? OR reference_code = ? OR approved_account_no = ? OR pending_account_no = ?)`, false, up, q, q, q)
	// UNION ALL lets SQLite merge the arms in order without sorting them.
	arms := append(append([]string{companies}, people...), branches, pendingBranches, codes)
	query := strings.Join(arms, " UNION ALL ") + ` ORDER BY 3 COLLATE NOCASE, 1 LIMIT ?`
	return queryPage(ctx, c.db.read, "search contacts", limit, scanContact, query, append(args, limit+1)...)
}

// Person-name keys as their indexes hold them (contacts_full_name_key,
// contacts_last_name_key: each name's contacts in the list's order).
const (
	personFullKey = "lower(first_name || ' ' || last_name)"
	personLastKey = "lower(last_name)"
	// maxNameArms is how many names a prefix may cover and still be read
	// name by name.
	maxNameArms = 24
)

// personArms returns one arm per full name and last name in [lo, hi), each
// reading that name's contacts in the list's order, or nil when the prefix
// covers more names than maxNameArms. A contact matched by its full name is
// left out of the last-name arms.
func (c *Contacts) personArms(ctx context.Context, lo, hi string, armWith func(from, cond string, walks bool, args ...any) string,
	except func(cond string, args ...any)) ([]string, error) {
	full, err := distinctKeys(ctx, c.db.read, "contacts", "contacts_full_name_key", personFullKey, lo, hi, maxNameArms)
	if err != nil || full == nil {
		return nil, err
	}
	last, err := distinctKeys(ctx, c.db.read, "contacts", "contacts_last_name_key", personLastKey, lo, hi, maxNameArms-len(full))
	if err != nil || last == nil {
		return nil, err
	}
	arms := make([]string, 0, len(full)+len(last))
	for _, k := range full {
		arms = append(arms, armWith(" FROM contacts INDEXED BY contacts_full_name_key", personFullKey+" = ?", true, k))
	}
	except(personFullKey+" >= ? AND "+personFullKey+" < ?", lo, hi)
	for _, k := range last {
		arms = append(arms, armWith(" FROM contacts INDEXED BY contacts_last_name_key", personLastKey+" = ?", true, k))
	}
	except(personLastKey+" >= ? AND "+personLastKey+" < ?", lo, hi)
	return arms, nil
}

// contactCursor is the last contact of the previous page.
type contactCursor struct{ company, id string }

// add keeps the contacts after the cursor in the list's order (company name
// without case, then id): a lower bound the index starts at, and the tie.
func (k *contactCursor) add(w *conditions) {
	w.add("company_name >= ? COLLATE NOCASE AND (company_name > ? COLLATE NOCASE OR id > ?)", k.company, k.company, k.id)
}

// contactPersonSearch matches a contact whose person's full name or last
// name starts with the query. A first name needs no index of its own: a
// prefix of it is a prefix of the full name.
var contactPersonSearch = textSearch{prefix: []string{"lower(first_name || ' ' || last_name)", "lower(last_name)"}}

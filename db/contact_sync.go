package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
)

// ContactSync keeps Paydesk's contacts and PayMate's in step.
//
// Push: a contact whose bank details are approved (or a customer without any)
// and that PayMate does not hold yet is added with AddContact, ReferenceCode
// = its id. PayMate refuses a second contact with the same ReferenceCode
// (providers.ErrDuplicate), so a contact is never created twice: on a
// duplicate, or after an answer that never came, the contact is found in
// ListContacts by ReferenceCode and its ids adopted. Only approved bank
// details are ever sent; pending ones stay in Paydesk. PayMate has no call
// that changes a contact, so when PayMate already holds other bank details
// than the approved ones the contact is marked failed with a message saying
// to change them on PayMate's portal.
//
// Pull: contacts made elsewhere (PayMate's portal) are imported once, matched
// by ReferenceCode (without case, as PayMate compares) or ContactXpressID.
// Bank details PayMate holds are NOT trusted: an imported contact's details
// go to pending with a 'contact_bank' request made by the bank-portal system
// user, so nothing unapproved becomes payable. Imported contacts are vendors
// when PayMate holds an account for them, customers otherwise.
//
// Every change the sync makes is audited as the system.
type ContactSync struct {
	db       *DB
	contacts *Contacts
	prov     providers.Contacts
	// Logger receives the errors of Run; nil discards them.
	Logger *slog.Logger

	mu sync.Mutex // one SyncOnce at a time
}

// NewContactSync returns the sync of c's contacts with prov (PayMate).
func NewContactSync(d *DB, c *Contacts, prov providers.Contacts) *ContactSync {
	return &ContactSync{db: d, contacts: c, prov: prov}
}

// SyncResult counts what one SyncOnce did.
type SyncResult struct {
	Pushed   int // added at PayMate
	Adopted  int // found at PayMate already, ids taken over
	Failed   int // refused by PayMate, or held other bank details
	Imported int // made elsewhere, now in Paydesk
}

// Run syncs at once and then every interval until ctx ends. Errors are
// logged and retried next round.
func (s *ContactSync) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 5 * time.Minute
	}
	RunEvery(ctx, every, nil, s.Logger, "contact sync", func(ctx context.Context, _ bool) error {
		_, err := s.SyncOnce(ctx)
		return err
	})
}

// remoteIndex is PayMate's contact list by ReferenceCode (lower-cased) and id.
type remoteIndex struct {
	byRef map[string]providers.Contact
	byID  map[string]providers.Contact
	list  []providers.Contact
}

func (s *ContactSync) listRemote(ctx context.Context) (*remoteIndex, error) {
	list, err := s.prov.ListContacts(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: PayMate contact list: %w", err)
	}
	ix := &remoteIndex{byRef: map[string]providers.Contact{}, byID: map[string]providers.Contact{}, list: list}
	for _, c := range list {
		if c.ReferenceCode != "" {
			ix.byRef[strings.ToLower(c.ReferenceCode)] = c
		}
		if c.ProviderID != "" {
			ix.byID[c.ProviderID] = c
		}
	}
	return ix, nil
}

// SyncOnce pushes what PayMate lacks, then imports what Paydesk lacks.
func (s *ContactSync) SyncOnce(ctx context.Context) (SyncResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res SyncResult
	var errs []error
	var remote *remoteIndex
	// Pending bank details never leave Paydesk: a contact is pushed with its
	// approved details, or (a customer) with none while none are pending.
	todo, err := queryAll(ctx, s.db.read, "contacts to sync", scanContact, `SELECT `+contactColumns+` FROM contacts
		WHERE sync_state = 'unsynced' AND (approved_account_no IS NOT NULL OR (kind = 'customer' AND pending_account_no IS NULL))
		ORDER BY id`)
	if err != nil {
		return res, err
	}
	for _, ct := range todo {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err := s.pushOne(ctx, ct, &remote, &res); err != nil {
			errs = append(errs, fmt.Errorf("contact %s: %w", ct.ID, err))
		}
	}
	if remote == nil {
		if remote, err = s.listRemote(ctx); err != nil {
			return res, errors.Join(append(errs, err)...)
		}
	}
	if err := s.recheckMismatched(ctx, remote, &res); err != nil {
		errs = append(errs, err)
	}
	for _, rc := range remote.list {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		imported, err := s.importOne(ctx, rc)
		if err != nil {
			errs = append(errs, fmt.Errorf("PayMate contact %s: %w", rc.ProviderID, err))
		}
		if imported {
			res.Imported++
		}
	}
	return res, errors.Join(errs...)
}

func (s *ContactSync) pushOne(ctx context.Context, ct Contact, remote **remoteIndex, res *SyncResult) error {
	ref := ct.ReferenceCode
	if ref == "" {
		ref = ct.ID
	}
	sent := providers.Contact{ReferenceCode: ref, CompanyName: ct.CompanyName, FirstName: ct.FirstName, LastName: ct.LastName,
		Email: ct.Email, Mobile: ct.Mobile, GSTIN: ct.GSTIN, AccountNo: ct.ApprovedAccountNo, IFSC: ct.ApprovedIFSC,
		IsVendor: ct.Kind == ContactVendor}
	got, err := s.prov.AddContact(ctx, sent)
	switch {
	case err == nil:
		res.Pushed++
		return s.record(ctx, ct, got, SyncSynced, "", "contact.synced")
	case errors.Is(err, providers.ErrDuplicate), errors.Is(err, providers.ErrOutcomeUnknown):
		// PayMate holds (or may hold) it already: find it, never add again.
		if *remote == nil {
			ix, lerr := s.listRemote(ctx)
			if lerr != nil {
				return s.note(ctx, ct, SyncUnsynced, "PayMate: "+err.Error()+"; its contact list could not be read: "+lerr.Error())
			}
			*remote = ix
		}
		rc, ok := (*remote).byRef[strings.ToLower(ref)]
		if !ok {
			// An unknown outcome that did not create it: tried again next round.
			return s.note(ctx, ct, SyncUnsynced, "PayMate: "+err.Error())
		}
		if ct.HasApprovedBank() && (!strings.EqualFold(rc.AccountNo, ct.ApprovedAccountNo) || !strings.EqualFold(rc.IFSC, ct.ApprovedIFSC)) {
			res.Failed++
			return s.record(ctx, ct, rc, SyncFailed, mismatchMessage(rc), "contact.sync_failed")
		}
		res.Adopted++
		return s.record(ctx, ct, rc, SyncSynced, "", "contact.sync_adopted")
	case errors.Is(err, providers.ErrRejected):
		res.Failed++
		return s.note(ctx, ct, SyncFailed, "PayMate refused the contact: "+err.Error())
	default:
		return s.note(ctx, ct, SyncUnsynced, "PayMate: "+err.Error())
	}
}

// mismatchMessage says that PayMate holds other bank details than the
// approved ones, and what that means for payouts.
func mismatchMessage(rc providers.Contact) string {
	return fmt.Sprintf("PayMate holds other bank details for this contact (account %s, IFSC %s) than the approved ones, "+
		"and PayMate has no call to change them: change them on PayMate's portal. Until then PayMate payouts to this contact "+
		"are booked with the approved details written out, never by its XpressID.", MaskAccount(rc.AccountNo), rc.IFSC)
}

// recheckMismatched looks again at contacts that failed because PayMate
// held other bank details: once someone corrects them on PayMate's portal,
// the contact is synced again.
func (s *ContactSync) recheckMismatched(ctx context.Context, remote *remoteIndex, res *SyncResult) error {
	failed, err := queryAll(ctx, s.db.read, "contacts to recheck", scanContact, `SELECT `+contactColumns+` FROM contacts
		WHERE sync_state = 'failed' AND provider_id IS NOT NULL AND approved_account_no IS NOT NULL ORDER BY id`)
	if err != nil {
		return err
	}
	var errs []error
	for _, ct := range failed {
		rc, ok := remote.byID[ct.ProviderID]
		if !ok || !strings.EqualFold(rc.AccountNo, ct.ApprovedAccountNo) || !strings.EqualFold(rc.IFSC, ct.ApprovedIFSC) {
			continue
		}
		if err := s.record(ctx, ct, rc, SyncSynced, "", "contact.sync_recovered"); err != nil {
			errs = append(errs, fmt.Errorf("contact %s: %w", ct.ID, err))
			continue
		}
		res.Adopted++
	}
	return errors.Join(errs...)
}

// record stores PayMate's ids and the sync state, unless the contact changed
// since it was read (it is then pushed again next round).
func (s *ContactSync) record(ctx context.Context, ct Contact, rc providers.Contact, state, msg, action string) error {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	before, err := getContact(ctx, tx, ct.ID)
	if err != nil {
		return err
	}
	if before.ApprovedAccountNo != ct.ApprovedAccountNo || before.ApprovedIFSC != ct.ApprovedIFSC || before.SyncState != ct.SyncState {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET provider_id = ?, virtual_account_no = ?, virtual_ifsc = ?,
		sync_state = ?, sync_error = ?, updated_at = ? WHERE id = ?`,
		nullString(rc.ProviderID), rc.VirtualAccountNo, rc.VirtualIFSC, state, msg, s.db.nowMS(), ct.ID); err != nil {
		return fmt.Errorf("db: contact sync: %w", err)
	}
	if err := s.db.audit(ctx, tx, SystemActor, action, "contact", ct.ID, Change{
		Before: syncSnapshot(before),
		After:  map[string]any{"sync_state": state, "sync_error": msg, "provider_id": rc.ProviderID, "virtual_account_no": rc.VirtualAccountNo, "virtual_ifsc": rc.VirtualIFSC},
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// note records a sync error without ids. A repeat of the same error is not
// written again, so a provider that is down does not flood the audit log.
func (s *ContactSync) note(ctx context.Context, ct Contact, state, msg string) error {
	if ct.SyncState == state && ct.SyncError == msg {
		return nil
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	before, err := getContact(ctx, tx, ct.ID)
	if err != nil {
		return err
	}
	if before.ApprovedAccountNo != ct.ApprovedAccountNo || before.SyncState != ct.SyncState {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET sync_state = ?, sync_error = ?, updated_at = ? WHERE id = ?`,
		state, msg, s.db.nowMS(), ct.ID); err != nil {
		return fmt.Errorf("db: contact sync: %w", err)
	}
	action := "contact.sync_error"
	if state == SyncFailed {
		action = "contact.sync_failed"
	}
	if err := s.db.audit(ctx, tx, SystemActor, action, "contact", ct.ID, Change{
		Before: syncSnapshot(before), After: map[string]any{"sync_state": state, "sync_error": msg},
	}); err != nil {
		return err
	}
	return tx.Commit()
}

func syncSnapshot(c Contact) map[string]any {
	return map[string]any{"sync_state": c.SyncState, "sync_error": c.SyncError, "provider_id": c.ProviderID,
		"virtual_account_no": c.VirtualAccountNo, "virtual_ifsc": c.VirtualIFSC}
}

// importOne imports a contact PayMate holds and Paydesk does not, in one
// transaction with its bank details' approval request.
func (s *ContactSync) importOne(ctx context.Context, rc providers.Contact) (bool, error) {
	if rc.ReferenceCode == "" && rc.ProviderID == "" {
		return false, nil // nothing to dedupe by
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE (reference_code = ? AND ? <> '') OR (provider_id = ? AND ? <> '')`,
		rc.ReferenceCode, rc.ReferenceCode, rc.ProviderID, rc.ProviderID).Scan(&n); err != nil {
		return false, fmt.Errorf("db: contact import: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	id := newContactID()
	kind := ContactCustomer
	acct, ifsc := strings.TrimSpace(rc.AccountNo), strings.ToUpper(strings.TrimSpace(rc.IFSC))
	if acct == "" || ifsc == "" {
		acct, ifsc = "", ""
	}
	if acct != "" {
		kind = ContactVendor
	}
	now := s.db.nowMS()
	if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, kind, company_name, first_name, last_name, email, mobile, gstin,
		reference_code, pending_account_no, pending_ifsc, sync_state, provider_id, virtual_account_no, virtual_ifsc, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'synced', ?, ?, ?, ?, ?)`,
		id, string(kind), rc.CompanyName, rc.FirstName, rc.LastName, rc.Email, rc.Mobile, strings.ToUpper(rc.GSTIN),
		nullString(rc.ReferenceCode), nullString(acct), nullString(ifsc), nullString(rc.ProviderID), rc.VirtualAccountNo, rc.VirtualIFSC,
		now, now); err != nil {
		return false, fmt.Errorf("db: contact import: %w", err)
	}
	ct, err := getContact(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if err := s.db.audit(ctx, tx, SystemActor, "contact.imported", "contact", id, map[string]any{
		"source": "paymate", "provider_id": rc.ProviderID, "change": Change{After: contactSnapshot(ct)},
	}); err != nil {
		return false, err
	}
	if ct.HasPendingBank() {
		if err := s.proposeImported(ctx, tx, ct); err != nil {
			return false, err
		}
	}
	return true, tx.Commit()
}

// proposeImported opens the request for an imported contact's bank details,
// made by the bank-portal system user (see BankSide: nobody can sign in as
// it, so four-eyes holds for every checker).
func (s *ContactSync) proposeImported(ctx context.Context, tx *sql.Tx, ct Contact) error {
	maker, err := (&BankSide{db: s.db}).portalUser(ctx, tx)
	if err != nil {
		return err
	}
	nw := BankDetails{AccountNo: ct.PendingAccountNo, IFSC: ct.PendingIFSC}
	_, err = s.contacts.approvals.proposeAsSystem(ctx, tx, maker, Proposal{Kind: ContactBankKind, TargetID: ct.ID,
		Summary: clipRunes("PayMate portal: "+contactBankSummary(ct.Name(), nil, nw), maxSummaryLen),
		Payload: contactBankPayload{ContactID: ct.ID, CompanyName: ct.CompanyName, New: nw, Source: "paymate"}})
	return err
}

package db

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"paydesk/providers"
)

// PayoutKind is the approval kind of a payout.
const PayoutKind = "payout"

// Payout is one payout as Paydesk holds it.
type Payout struct {
	ID                string
	BatchID           string
	BeneficiaryName   string
	AccountNo         string
	IFSC              string
	AmountPaise       int64
	Rail              providers.Rail
	Source            string
	Purpose           string
	ValueDate         string // YYYY-MM-DD or ""
	State             providers.PayoutState
	ApprovalRequestID int64
	MakerID           int64
	Maker             string // username
	ProviderCode      string
	ProviderMessage   string
	UTR               string
	FailureReason     string
	Attempts          int // times sent to the provider
	CreatedAt         time.Time
	UpdatedAt         time.Time
	SentAt            time.Time // zero until first handed to the provider
	LastSentAt        time.Time // the latest send (SentAt until it is sent again)
	FinalAt           time.Time // zero until final
	// ContactID is the contact paid, when the payout was proposed to one.
	ContactID string
	// VendorRequestID is the vendor's request to be paid this payout
	// settles (0: none); ProviderOrderID is then the vendor's OrderID.
	VendorRequestID int64
	ProviderOrderID string
	// WaitingForFundsSince is set while the provider holds the payout until
	// the debit account is funded (PayMate's 180 on approval); zero otherwise.
	WaitingForFundsSince time.Time
}

// OrderID is the id the provider knows the payout by: the vendor's order
// for a payout settling a vendor request, else Paydesk's own id.
func (p Payout) OrderID() string {
	if p.ProviderOrderID != "" {
		return p.ProviderOrderID
	}
	return p.ID
}

// Warning is advice shown to the maker that does not stop the proposal.
type Warning struct {
	Field   string
	Message string
}

// Batch is a set of payouts proposed together (a bulk upload).
type Batch struct {
	ID         string
	MakerID    int64
	CreatedAt  time.Time
	Count      int
	TotalPaise int64
	PayoutIDs  []string
}

// Payouts is the payouts domain: proposals through the approval engine, the
// timeline, and the state changes the dispatcher makes.
type Payouts struct {
	db        *DB
	approvals *Approvals
	// queue inserts dispatch jobs inside Paydesk's own transactions (the
	// transactional outbox). It never works jobs; the Dispatcher does.
	queue    *river.Client[*sql.Tx]
	queueErr error
}

// NewPayouts returns the payouts domain over d and registers the payout
// approval kind with a. It also brings River's tables up to date (see
// MigrateQueue): approving a payout inserts its dispatch job in the deciding
// transaction, so the job table must exist before the first approval. A
// failure there is returned by every later approval, which then rolls back.
func NewPayouts(d *DB, a *Approvals) *Payouts {
	p := &Payouts{db: d, approvals: a}
	p.queueErr = MigrateQueue(context.Background(), d)
	if p.queueErr == nil {
		p.queue, p.queueErr = newInsertClient(d)
	}
	a.RegisterKind(Kind{
		Name: PayoutKind, Label: "Payout",
		OnApproved:  p.onApproved,
		OnRejected:  p.onEnded(providers.StateRejected, "rejected"),
		OnCancelled: p.onEnded(providers.StateCancelled, "cancelled"),
		OnExpired:   p.onEnded(providers.StateCancelled, "expired"),
	})
	return p
}

// newPayoutID returns "PO" and 12 random characters of A–Z and 2–7 (60 bits):
// letters and digits only and 14 long, so it is a valid Kotak InstRefNo and
// PayMate OrderID (alphanumeric, at most 20) as it stands.
func newPayoutID() string { return "PO" + randomBase32(12) }

// proposedPayoutID picks the id of a payout being proposed in tx.
func proposedPayoutID(ctx context.Context, tx *sql.Tx, d PayoutDraft) (string, error) {
	if d.ContactID == "" || d.Source != SourcePayMate || d.VendorRequestID != 0 {
		return newPayoutID(), nil
	}
	for range 5 {
		// Short enough to pay the contact by its provider id
		// (providers.MaxContactPayoutIDLen): "PO" and 40 random bits,
		// checked for a clash here.
		id := "PO" + randomBase32(providers.MaxContactPayoutIDLen-2)
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payouts WHERE id = ?`, id).Scan(&n); err != nil {
			return "", fmt.Errorf("db: payout id: %w", err)
		}
		if n == 0 {
			return id, nil
		}
	}
	return "", errors.New("db: no free short payout id after 5 tries")
}

func randomBase32(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

const payoutColumns = `p.id, coalesce(p.batch_id, ''), p.beneficiary_name, p.account_no, p.ifsc, p.amount_paise, p.rail, p.source,
	p.purpose, coalesce(p.value_date, ''), p.state, coalesce(p.approval_request_id, 0), p.maker_id, u.username,
	p.provider_code, p.provider_message, p.utr, p.failure_reason, p.attempts, p.created_at, p.updated_at,
	coalesce(p.sent_at, 0), coalesce(p.final_at, 0), coalesce(p.contact_id, ''), coalesce(p.vendor_request_id, 0),
	coalesce(p.provider_order_id, ''), coalesce(p.funds_wait_since, 0), coalesce(p.last_sent_at, p.sent_at, 0)`

const payoutFrom = ` FROM payouts p JOIN users u ON u.id = p.maker_id`

func scanPayout(s scanner) (Payout, error) {
	var p Payout
	var created, updated, sent, final, fundsWait, lastSent int64
	if err := s.Scan(&p.ID, &p.BatchID, &p.BeneficiaryName, &p.AccountNo, &p.IFSC, &p.AmountPaise, &p.Rail, &p.Source,
		&p.Purpose, &p.ValueDate, &p.State, &p.ApprovalRequestID, &p.MakerID, &p.Maker,
		&p.ProviderCode, &p.ProviderMessage, &p.UTR, &p.FailureReason, &p.Attempts, &created, &updated, &sent, &final,
		&p.ContactID, &p.VendorRequestID, &p.ProviderOrderID, &fundsWait, &lastSent); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, Errorf(ENOTFOUND, "No such payout.")
		}
		return p, fmt.Errorf("db: scan payout: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	if sent != 0 {
		p.SentAt = time.UnixMilli(sent)
	}
	if lastSent != 0 {
		p.LastSentAt = time.UnixMilli(lastSent)
	}
	if final != 0 {
		p.FinalAt = time.UnixMilli(final)
	}
	if fundsWait != 0 {
		p.WaitingForFundsSince = time.UnixMilli(fundsWait)
	}
	return p, nil
}

func getPayout(ctx context.Context, q querier, id string) (Payout, error) {
	return scanPayout(queryRow(ctx, q, `SELECT `+payoutColumns+payoutFrom+` WHERE p.id = ?`, id))
}

func payoutSummary(d PayoutDraft) string {
	return fmt.Sprintf("Pay %s to %s by %s", rupees(d.AmountPaise), d.BeneficiaryName, d.Rail)
}

// payoutPayload is what the approver sees of the payout in the request.
type payoutPayload struct {
	PayoutID        string `json:"payout_id"`
	BeneficiaryName string `json:"beneficiary_name"`
	AccountNo       string `json:"account_no"`
	IFSC            string `json:"ifsc"`
	AmountPaise     int64  `json:"amount_paise"`
	Rail            string `json:"rail"`
	Source          string `json:"source"`
	Purpose         string `json:"purpose"`
	ValueDate       string `json:"value_date,omitempty"`
	ContactID       string `json:"contact_id,omitempty"`
	// VendorOrderID: the payout settles the vendor's request with this
	// OrderID at the provider.
	VendorOrderID string `json:"vendor_order_id,omitempty"`
}

func payloadOf(id string, d PayoutDraft) payoutPayload {
	return payoutPayload{PayoutID: id, BeneficiaryName: d.BeneficiaryName, AccountNo: d.AccountNo, IFSC: d.IFSC,
		AmountPaise: d.AmountPaise, Rail: string(d.Rail), Source: d.Source, Purpose: d.Purpose, ValueDate: d.ValueDate,
		ContactID: d.ContactID, VendorOrderID: d.ProviderOrderID}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DuplicateWindow is how far back the possible-duplicate warning looks.
const DuplicateWindow = 7 * 24 * time.Hour

// Propose validates in and stores the payout with its approval request, in
// one transaction, as maker. A payout to the same account and IFSC for the
// same amount within DuplicateWindow comes back as a warning: it may well be
// meant (rent, salaries), so it does not block.
//
// With in.ContactID the payout goes to the contact's approved bank details,
// which only a checker's approval of a 'contact_bank' request sets; account
// and IFSC must then be left empty. While a change of the contact's details
// waits for approval the payout is refused (unless the change was proposed
// keeping the old details usable), with the reason beside the contact field.
func (p *Payouts) Propose(ctx context.Context, maker User, in PayoutInput) (Payout, []Warning, error) {
	draft, err := p.draft(ctx, in)
	if err != nil {
		return Payout{}, nil, p.approvals.recordRefusal(ctx, maker.Actor(), err)
	}
	out, warnings, err := p.proposeTx(ctx, maker, draft)
	return out, warnings, p.approvals.recordRefusal(ctx, maker.Actor(), err)
}

// draft validates in; for a payout to a contact, the bank details are the
// contact's payable ones as the database holds them now.
func (p *Payouts) draft(ctx context.Context, in PayoutInput) (PayoutDraft, error) {
	invalid := func(fields map[string]string) error {
		return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: fields}
	}
	var ct Contact
	if in.ContactID != "" {
		if strings.TrimSpace(in.AccountNo) != "" || strings.TrimSpace(in.IFSC) != "" {
			// The form never sends both: this is someone choosing the account
			// a contact is paid at. Refused and audited.
			return PayoutDraft{}, refuse("propose", ApprovalRequest{Kind: PayoutKind, TargetID: in.ContactID},
				"A payout to a contact goes to the contact's approved bank details; an account number or IFSC cannot be given with it.")
		}
		var bank BankDetails
		var err error
		ct, bank, err = payableDetails(ctx, p.db.read, in.ContactID)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			return PayoutDraft{}, invalid(map[string]string{"contact": "No such contact."})
		case ErrorCode(err) == ECONFLICT:
			return PayoutDraft{}, invalid(map[string]string{"contact": ErrorMessage(err)})
		case err != nil:
			return PayoutDraft{}, err
		}
		in.AccountNo, in.IFSC = bank.AccountNo, bank.IFSC
		if strings.TrimSpace(in.BeneficiaryName) == "" {
			in.BeneficiaryName = ct.Name()
		}
	}
	draft, fields := ValidatePayout(in, p.db.Now())
	if fields != nil {
		return PayoutDraft{}, invalid(fields)
	}
	draft.ContactID = ct.ID
	return draft, nil
}

func (p *Payouts) proposeTx(ctx context.Context, maker User, draft PayoutDraft) (Payout, []Warning, error) {
	tx, err := p.db.beginWrite(ctx)
	if err != nil {
		return Payout{}, nil, err
	}
	defer tx.Rollback()
	now := p.db.nowMS()
	var dup int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payouts WHERE account_no = ? AND ifsc = ? AND amount_paise = ?
		AND created_at >= ? AND state NOT IN ('rejected', 'cancelled')`,
		draft.AccountNo, draft.IFSC, draft.AmountPaise, now-DuplicateWindow.Milliseconds()).Scan(&dup); err != nil {
		return Payout{}, nil, fmt.Errorf("db: duplicate check: %w", err)
	}
	if err := checkContactDetails(ctx, tx, draft); err != nil {
		return Payout{}, nil, err
	}
	var warnings []Warning
	if dup > 0 {
		warnings = append(warnings, Warning{Field: "amount", Message: fmt.Sprintf(
			"possible duplicate: same beneficiary account+IFSC and amount within 7 days (%d earlier %s)", dup, plural(dup, "payout", "payouts"))})
	}
	id, err := proposedPayoutID(ctx, tx, draft)
	if err != nil {
		return Payout{}, nil, err
	}
	if _, err := tx.ExecContext(ctx, insertPayoutSQL, id, nil, draft.BeneficiaryName, draft.AccountNo, draft.IFSC,
		draft.AmountPaise, string(draft.Rail), draft.Source, draft.Purpose, nullString(draft.ValueDate), maker.ID, now, now,
		nullString(draft.ContactID), nullInt(draft.VendorRequestID), nullString(draft.ProviderOrderID)); err != nil {
		return Payout{}, nil, fmt.Errorf("db: insert payout: %w", err)
	}
	amount := draft.AmountPaise
	r, err := p.approvals.propose(ctx, tx, maker, Proposal{Kind: PayoutKind, TargetID: id, AmountPaise: &amount,
		Summary: payoutSummary(draft), Payload: payloadOf(id, draft)})
	if err != nil {
		return Payout{}, nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payouts SET approval_request_id = ? WHERE id = ?`, r.ID, id); err != nil {
		return Payout{}, nil, fmt.Errorf("db: link approval: %w", err)
	}
	if err := payoutTimeline.add(ctx, tx, now, id, "proposed", string(providers.StatePendingApproval), "", r.Summary, "", maker.Username); err != nil {
		return Payout{}, nil, err
	}
	if draft.VendorRequestID != 0 {
		if err := linkVendorRequest(ctx, tx, p.db, maker, draft.VendorRequestID, id); err != nil {
			return Payout{}, nil, err
		}
	}
	if err := p.db.audit(ctx, tx, maker.Actor(), "payout.proposed", "payout", id, map[string]any{
		"payload": payloadOf(id, draft), "approval_request_id": r.ID, "warnings": len(warnings)}); err != nil {
		return Payout{}, nil, err
	}
	out, err := getPayout(ctx, tx, id)
	if err != nil {
		return Payout{}, nil, err
	}
	return out, warnings, tx.Commit()
}

const insertPayoutSQL = `INSERT INTO payouts (id, batch_id, beneficiary_name, account_no, ifsc, amount_paise, rail, source,
	purpose, value_date, state, maker_id, created_at, updated_at, contact_id, vendor_request_id, provider_order_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending_approval', ?, ?, ?, ?, ?, ?)`

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// checkContactDetails makes sure, inside tx, that a payout to a contact
// still goes to the contact's payable bank details: a change may have been
// proposed or approved since the draft was read.
func checkContactDetails(ctx context.Context, tx *sql.Tx, d PayoutDraft) error {
	if d.ContactID == "" {
		return nil
	}
	ct, bank, err := payableDetails(ctx, tx, d.ContactID)
	if err != nil {
		return err
	}
	if bank.AccountNo != d.AccountNo || bank.IFSC != d.IFSC {
		return Errorf(ECONFLICT, "The approved bank details of %s are no longer the ones this payout was drafted with; propose it again.", ct.Name())
	}
	return nil
}

// MaxBatchRows bounds one bulk proposal.
const MaxBatchRows = 10_000

// ProposeBatch validates every row and then stores them all, with their
// approval requests, in one transaction: one bad row and nothing is saved.
// Field errors come keyed "rows.<i>.<field>" (i from 0). The rows go in
// through prepared statements and one audit-chain walk: 10,000 rows take
// about a second (BenchmarkProposeBatch10k), most of it hashing and JSON.
func (p *Payouts) ProposeBatch(ctx context.Context, maker User, rows []PayoutInput) (Batch, error) {
	if len(rows) == 0 || len(rows) > MaxBatchRows {
		return Batch{}, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"rows": fmt.Sprintf("Give 1 to %d payouts.", MaxBatchRows)}}
	}
	drafts, err := p.batchDrafts(ctx, rows)
	if err != nil {
		return Batch{}, err
	}
	b, _, err := p.batchTx(ctx, maker, "", drafts)
	return b, p.approvals.recordRefusal(ctx, maker.Actor(), err)
}

// batchDrafts checks every row (CheckRow); any row's problems refuse all,
// keyed "rows.<i>.<field>".
func (p *Payouts) batchDrafts(ctx context.Context, rows []PayoutInput) ([]PayoutDraft, error) {
	today := p.db.Now()
	drafts := make([]PayoutDraft, len(rows))
	f := fieldErrors{}
	for i, in := range rows {
		d, fields, err := p.CheckRow(ctx, in, today)
		if err != nil {
			return nil, err
		}
		for k, v := range fields {
			f.add(fmt.Sprintf("rows.%d.%s", i, k), v)
		}
		drafts[i] = d
	}
	return drafts, f.err()
}

// CheckRow validates one row of a bulk upload as of today. A row naming a
// contact (ContactRef, the contact's reference code) pays the contact's
// approved bank details and must not give an account or IFSC of its own.
// fields are the row's problems by column; err is ours.
func (p *Payouts) CheckRow(ctx context.Context, in PayoutInput, today time.Time) (PayoutDraft, map[string]string, error) {
	ref := strings.TrimSpace(in.ContactRef)
	if ref == "" {
		d, fields := ValidatePayout(in, today)
		return d, fields, nil
	}
	if strings.TrimSpace(in.AccountNo) != "" || strings.TrimSpace(in.IFSC) != "" {
		return PayoutDraft{}, map[string]string{"contact_reference": "A row that names a contact is paid at the contact's approved bank details: leave account_no and ifsc empty, or leave contact_reference empty."}, nil
	}
	var id string
	switch err := p.db.read.QueryRowContext(ctx, `SELECT id FROM contacts WHERE reference_code = ?`, ref).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		return PayoutDraft{}, map[string]string{"contact_reference": fmt.Sprintf("No contact has the reference %q.", ref)}, nil
	case err != nil:
		return PayoutDraft{}, nil, fmt.Errorf("db: contact by reference: %w", err)
	}
	ct, bank, err := payableDetails(ctx, p.db.read, id)
	switch {
	case ErrorCode(err) == ECONFLICT:
		return PayoutDraft{}, map[string]string{"contact_reference": ErrorMessage(err)}, nil
	case err != nil:
		return PayoutDraft{}, nil, err
	}
	in.AccountNo, in.IFSC = bank.AccountNo, bank.IFSC
	if strings.TrimSpace(in.BeneficiaryName) == "" {
		in.BeneficiaryName = ct.Name()
	}
	d, fields := ValidatePayout(in, today)
	d.ContactID = ct.ID
	return d, fields, nil
}

// SubmitBatch is ProposeBatch made one-time by token (the bulk upload's
// preview carries one): the first submit with a token makes the batch, and
// a later one, by the same maker, finds it and makes nothing (already is
// true). A double click or a second tab thus creates one batch. rows may
// name contacts by reference (PayoutInput.ContactRef).
func (p *Payouts) SubmitBatch(ctx context.Context, maker User, token string, rows []PayoutInput) (b Batch, already bool, err error) {
	if token == "" {
		return Batch{}, false, Errorf(EINVALID, "The upload's one-time token is missing; upload the file again.")
	}
	if len(rows) == 0 || len(rows) > MaxBatchRows {
		return Batch{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"rows": fmt.Sprintf("Give 1 to %d payouts.", MaxBatchRows)}}
	}
	drafts, err := p.batchDrafts(ctx, rows)
	if err != nil {
		return Batch{}, false, err
	}
	b, already, err = p.batchTx(ctx, maker, token, drafts)
	return b, already, p.approvals.recordRefusal(ctx, maker.Actor(), err)
}

// batchTx stores drafts as one batch. With a token, a batch that token
// already made is returned instead (already true) and nothing is written.
func (p *Payouts) batchTx(ctx context.Context, maker User, token string, drafts []PayoutDraft) (Batch, bool, error) {
	tx, err := p.db.beginWrite(ctx)
	if err != nil {
		return Batch{}, false, err
	}
	defer tx.Rollback()
	u, err := getUser(ctx, tx, maker.ID)
	if err != nil {
		return Batch{}, false, err
	}
	attempt := ApprovalRequest{Kind: PayoutKind, TargetID: "batch"}
	switch {
	case u.Disabled:
		return Batch{}, false, refuse("propose", attempt, "Your account is disabled.")
	case !u.HasRole(RoleMaker):
		return Batch{}, false, refuse("propose", attempt, "Proposing a payout needs the %s role.", RoleMaker)
	}
	if token != "" {
		done, found, err := batchByToken(ctx, tx, token)
		if err != nil || found {
			if found && done.MakerID != u.ID {
				return Batch{}, false, refuse("propose", attempt, "This upload was submitted by someone else.")
			}
			return done, found, err
		}
	}
	rules, err := rulesOf(ctx, tx, PayoutKind)
	if err != nil {
		return Batch{}, false, err
	}
	now := p.db.nowMS()
	b := Batch{ID: "PB" + randomBase32(12), MakerID: u.ID, CreatedAt: time.UnixMilli(now), Count: len(drafts),
		PayoutIDs: make([]string, len(drafts))}
	for _, d := range drafts {
		b.TotalPaise += d.AmountPaise
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO payout_batches (id, maker_id, created_at, count, total_paise, submit_token) VALUES (?, ?, ?, ?, ?, ?)`,
		b.ID, u.ID, now, b.Count, b.TotalPaise, nullString(token)); err != nil {
		return Batch{}, false, fmt.Errorf("db: insert batch: %w", err)
	}
	insPayout, err := tx.PrepareContext(ctx, insertPayoutSQL)
	if err != nil {
		return Batch{}, false, fmt.Errorf("db: prepare: %w", err)
	}
	defer insPayout.Close()
	insRequest, err := tx.PrepareContext(ctx, `INSERT INTO approval_requests
		(kind, target_id, amount_paise, summary, payload, maker_id, state, rule_id, required_approvals, required_role, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending_approval', ?, ?, ?, ?, ?)`)
	if err != nil {
		return Batch{}, false, fmt.Errorf("db: prepare: %w", err)
	}
	defer insRequest.Close()
	link, err := tx.PrepareContext(ctx, `UPDATE payouts SET approval_request_id = ? WHERE id = ?`)
	if err != nil {
		return Batch{}, false, fmt.Errorf("db: prepare: %w", err)
	}
	defer link.Close()
	insWord, err := tx.PrepareContext(ctx, insertWordSQL)
	if err != nil {
		return Batch{}, false, fmt.Errorf("db: prepare: %w", err)
	}
	defer insWord.Close()
	insWaiting, err := tx.PrepareContext(ctx, addWaitingSQL)
	if err != nil {
		return Batch{}, false, fmt.Errorf("db: prepare: %w", err)
	}
	defer insWaiting.Close()
	insEvent, err := tx.PrepareContext(ctx, `INSERT INTO payout_events (payout_id, at, kind, state, provider_code, message, utr, actor)
		VALUES (?, ?, 'proposed', 'pending_approval', '', ?, '', ?)`)
	if err != nil {
		return Batch{}, false, fmt.Errorf("db: prepare: %w", err)
	}
	defer insEvent.Close()
	aw, err := p.db.newAuditWriter(ctx, tx)
	if err != nil {
		return Batch{}, false, err
	}
	defer aw.close()
	expires := now + p.approvals.ExpireAfter.Milliseconds()
	for i, d := range drafts {
		id := newPayoutID()
		if d.ContactID != "" {
			// The contact's details may have changed since the rows were
			// checked; they are paid only at what is payable now.
			if err := checkContactDetails(ctx, tx, d); err != nil {
				if ErrorCode(err) != ECONFLICT && ErrorCode(err) != ENOTFOUND {
					return Batch{}, false, err
				}
				return Batch{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
					Fields: map[string]string{fmt.Sprintf("rows.%d.contact_reference", i): ErrorMessage(err)}}
			}
			if id, err = proposedPayoutID(ctx, tx, d); err != nil {
				return Batch{}, false, err
			}
		}
		b.PayoutIDs[i] = id
		rule, ok := bandFor(rules, d.AmountPaise)
		if !ok {
			return Batch{}, false, &Error{Code: EINVALID, Message: "No approval rule covers this; an admin must add one first.",
				Fields: map[string]string{fmt.Sprintf("rows.%d.amount", i): fmt.Sprintf("No approval rule for payout covers %s.", rupees(d.AmountPaise))}}
		}
		if _, err := insPayout.ExecContext(ctx, id, b.ID, d.BeneficiaryName, d.AccountNo, d.IFSC, d.AmountPaise, string(d.Rail),
			d.Source, d.Purpose, nullString(d.ValueDate), u.ID, now, now, nullString(d.ContactID), nil, nil); err != nil {
			return Batch{}, false, fmt.Errorf("db: insert payout row %d: %w", i, err)
		}
		payload, err := json.Marshal(payloadOf(id, d))
		if err != nil {
			return Batch{}, false, err
		}
		summary := payoutSummary(d)
		res, err := insRequest.ExecContext(ctx, PayoutKind, id, d.AmountPaise, summary, string(payload), u.ID,
			rule.ID, rule.Approvals, string(rule.Role), now, expires)
		if err != nil {
			return Batch{}, false, fmt.Errorf("db: propose row %d: %w", i, err)
		}
		reqID, _ := res.LastInsertId()
		if err := indexWords(ctx, insWord, reqID, summary, id); err != nil {
			return Batch{}, false, err
		}
		amount := d.AmountPaise
		if err := addWaiting(ctx, insWaiting, waitingRequest{ID: reqID, Kind: PayoutKind, Amount: &amount, Created: now,
			Expires: expires, Role: rule.Role, Maker: u.ID}); err != nil {
			return Batch{}, false, err
		}
		if _, err := link.ExecContext(ctx, reqID, id); err != nil {
			return Batch{}, false, fmt.Errorf("db: link approval: %w", err)
		}
		if _, err := insEvent.ExecContext(ctx, id, now, summary, u.Username); err != nil {
			return Batch{}, false, fmt.Errorf("db: payout event: %w", err)
		}
		// The same two entries a single Propose writes.
		if err := aw.append(ctx, u.Actor(), "approval.proposed", "approval_request", requestTarget(reqID), map[string]any{
			"kind": PayoutKind, "target_id": id, "amount_paise": d.AmountPaise, "summary": summary, "rule_id": rule.ID,
			"required_approvals": rule.Approvals, "required_role": rule.Role, "expires_at": expires, "batch_id": b.ID,
		}); err != nil {
			return Batch{}, false, err
		}
		if err := aw.append(ctx, u.Actor(), "payout.proposed", "payout", id, map[string]any{
			"payload": payloadOf(id, d), "approval_request_id": reqID, "batch_id": b.ID}); err != nil {
			return Batch{}, false, err
		}
	}
	if err := aw.append(ctx, u.Actor(), "payout.batch_proposed", "payout_batch", b.ID, map[string]any{
		"count": b.Count, "total_paise": b.TotalPaise}); err != nil {
		return Batch{}, false, err
	}
	if err := aw.flush(ctx); err != nil {
		return Batch{}, false, err
	}
	return b, false, tx.Commit()
}

// batchByToken finds the batch a submit token made.
func batchByToken(ctx context.Context, tx *sql.Tx, token string) (Batch, bool, error) {
	var b Batch
	var at int64
	err := tx.QueryRowContext(ctx, `SELECT id, maker_id, created_at, count, total_paise FROM payout_batches WHERE submit_token = ?`, token).
		Scan(&b.ID, &b.MakerID, &at, &b.Count, &b.TotalPaise)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Batch{}, false, nil
	case err != nil:
		return Batch{}, false, fmt.Errorf("db: batch by token: %w", err)
	}
	b.CreatedAt = time.UnixMilli(at)
	return b, true, nil
}

// bandFor picks the rule band covering amount, as ruleFor does in SQL.
func bandFor(rules []ApprovalRule, amount int64) (ApprovalRule, bool) {
	var best ApprovalRule
	found := false
	for _, r := range rules {
		if r.MinPaise <= amount && (r.MaxPaise == nil || *r.MaxPaise >= amount) && (!found || r.MinPaise > best.MinPaise) {
			best, found = r, true
		}
	}
	return best, found
}

// auditWriter appends many entries to the audit chain in one transaction
// through a prepared statement, moving the head once at the end: the same
// chain audit writes, without re-reading the head for every row.
type auditWriter struct {
	d        *DB
	tx       *sql.Tx
	ins      *sql.Stmt
	lastID   int64
	lastHash string
}

func (d *DB) newAuditWriter(ctx context.Context, tx *sql.Tx) (*auditWriter, error) {
	w := &auditWriter{d: d, tx: tx}
	if err := tx.QueryRowContext(ctx, `SELECT last_id, last_hash FROM audit_head WHERE singleton = 1`).Scan(&w.lastID, &w.lastHash); err != nil {
		return nil, fmt.Errorf("db: audit head: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO audit_log
		(id, at, actor_id, actor, action, target_type, target_id, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("db: prepare audit: %w", err)
	}
	w.ins = ins
	return w, nil
}

func (w *auditWriter) append(ctx context.Context, actor Actor, action, targetType, targetID string, details any) error {
	body, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("db: audit details: %w", err)
	}
	e := AuditEntry{ID: w.lastID + 1, At: w.d.Now().UTC().Truncate(time.Millisecond), ActorID: actor.ID, Actor: actor.Username,
		Action: action, TargetType: targetType, TargetID: targetID, Details: string(body), PrevHash: w.lastHash}
	e.Hash = e.computeHash()
	var actorID any
	if actor.ID != 0 {
		actorID = actor.ID
	}
	if _, err := w.ins.ExecContext(ctx, e.ID, e.At.UnixMilli(), actorID, e.Actor, e.Action, e.TargetType, e.TargetID,
		e.Details, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("db: audit append: %w", err)
	}
	w.lastID, w.lastHash = e.ID, e.Hash
	return nil
}

func (w *auditWriter) flush(ctx context.Context) error {
	if _, err := w.tx.ExecContext(ctx, `UPDATE audit_head SET last_id = ?, last_hash = ? WHERE singleton = 1`, w.lastID, w.lastHash); err != nil {
		return fmt.Errorf("db: audit head: %w", err)
	}
	return nil
}

func (w *auditWriter) close() { w.ins.Close() }

// onApproved runs inside the deciding transaction: the payout becomes
// queued and its dispatch job is inserted in the same transaction, so there
// is never an approved payout without a job, nor a job for a decision that
// rolled back.
func (p *Payouts) onApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	if p.queueErr != nil {
		return fmt.Errorf("db: dispatch queue unavailable: %w", p.queueErr)
	}
	po, err := getPayout(ctx, tx, r.TargetID)
	if err != nil {
		return err
	}
	if po.ContactID != "" {
		// The contact's bank details may have changed since the payout was
		// proposed; the checker approves paying the details shown to them,
		// and only while they are still the contact's payable ones.
		ct, bank, err := payableDetails(ctx, tx, po.ContactID)
		switch {
		case ErrorCode(err) == ECONFLICT:
			return Errorf(ECONFLICT, "%s Reject this payout, or approve it once the change is decided.", ErrorMessage(err))
		case err != nil:
			return err
		case bank.AccountNo != po.AccountNo || bank.IFSC != po.IFSC:
			return Errorf(ECONFLICT, "The approved bank details of %s changed after this payout was proposed (it would pay account %s, IFSC %s). Reject it and propose it again.",
				ct.Name(), MaskAccount(po.AccountNo), po.IFSC)
		}
		if po.VendorRequestID != 0 {
			if err := vendorPaidAsApproved(ctx, tx, po.ContactID); err != nil {
				return err
			}
		}
	}
	now := p.db.nowMS()
	res, err := tx.ExecContext(ctx, `UPDATE payouts SET state = 'queued', updated_at = ? WHERE id = ? AND state = 'pending_approval'`,
		now, r.TargetID)
	if err != nil {
		return fmt.Errorf("db: approve payout: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("db: payout %s is not waiting for approval", r.TargetID)
	}
	who, actor := decider(r)
	if err := payoutTimeline.add(ctx, tx, now, r.TargetID, "approved", string(providers.StateApproved), "", "", "", actor); err != nil {
		return err
	}
	if err := payoutTimeline.add(ctx, tx, now, r.TargetID, "queued", string(providers.StateQueued), "", "waiting to be sent", "", "system"); err != nil {
		return err
	}
	if err := p.db.audit(ctx, tx, who, "payout.approved", "payout", r.TargetID, map[string]any{
		"approval_request_id": r.ID, "state": Change{Before: providers.StatePendingApproval, After: providers.StateQueued}}); err != nil {
		return err
	}
	return p.enqueue(ctx, tx, r.TargetID)
}

// enqueue inserts the payout's dispatch job inside tx. The job is unique per
// payout while one is waiting or running, so a second enqueue is a no-op.
func (p *Payouts) enqueue(ctx context.Context, tx *sql.Tx, id string) error {
	if p.queueErr != nil {
		return fmt.Errorf("db: dispatch queue unavailable: %w", p.queueErr)
	}
	if err := insertJob(ctx, tx, p.queue, DispatchArgs{PayoutID: id}); err != nil {
		return fmt.Errorf("db: enqueue dispatch of %s: %w", id, err)
	}
	return nil
}

// decider is who ended an approval (the system for expiry) and how the
// payout's timeline names them.
func decider(r ApprovalRequest) (Actor, string) {
	who := r.DecidedBy
	if who.Username == "" {
		who = SystemActor
	}
	return who, fmt.Sprintf("%s (approval #%d)", who.Username, r.ID)
}

// onEnded ends a payout whose approval ended without approval.
func (p *Payouts) onEnded(state providers.PayoutState, kind string) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		reason := r.Reason
		switch kind {
		case "expired":
			reason = "approval expired before enough approvers decided"
		case "cancelled":
			reason = "withdrawn by the maker"
		}
		now := p.db.nowMS()
		res, err := tx.ExecContext(ctx, `UPDATE payouts SET state = ?, failure_reason = ?, updated_at = ?, final_at = ?
			WHERE id = ? AND state = 'pending_approval'`, string(state), reason, now, now, r.TargetID)
		if err != nil {
			return fmt.Errorf("db: end payout: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("db: payout %s is not waiting for approval", r.TargetID)
		}
		who, actor := decider(r)
		if err := payoutTimeline.add(ctx, tx, now, r.TargetID, kind, string(state), "", reason, "", actor); err != nil {
			return err
		}
		po, err := getPayout(ctx, tx, r.TargetID)
		if err != nil {
			return err
		}
		if err := settleVendorRequest(ctx, tx, p.db, po, state); err != nil {
			return err
		}
		return p.db.audit(ctx, tx, who, "payout."+kind, "payout", r.TargetID, map[string]any{
			"approval_request_id": r.ID, "reason": reason,
			"state": Change{Before: providers.StatePendingApproval, After: state}})
	}
}

// Get returns a payout and its timeline, oldest first.
func (p *Payouts) Get(ctx context.Context, id string) (Payout, []Event, error) {
	out, err := getPayout(ctx, p.db.read, id)
	if err != nil {
		return out, nil, err
	}
	evs, err := payoutTimeline.list(ctx, p.db.read, id)
	return out, evs, err
}

// PayoutFilter narrows List. Zero fields match everything.
type PayoutFilter struct {
	State    providers.PayoutState
	Source   string
	MakerID  int64
	MinPaise int64 // inclusive; 0 = no minimum
	MaxPaise int64 // inclusive; 0 = no maximum
	From     time.Time
	To       time.Time // exclusive
	BatchID  string
	// ContactID: payouts to this contact only.
	ContactID string
	// After is the id of the last payout of the previous page (keyset
	// pagination, newest first).
	After string
	Limit int // default 50, at most 500
}

// List returns one page of payouts, newest first, and whether more follow.
func (p *Payouts) List(ctx context.Context, f PayoutFilter) ([]Payout, bool, error) {
	f.Limit = pageLimit(f.Limit, 500)
	var w conditions
	if f.State != "" {
		w.add("p.state = ?", string(f.State))
	}
	if f.Source != "" {
		w.add("p.source = ?", f.Source)
	}
	if f.MakerID != 0 {
		w.add("p.maker_id = ?", f.MakerID)
	}
	if f.MinPaise > 0 {
		w.add("p.amount_paise >= ?", f.MinPaise)
	}
	if f.MaxPaise > 0 {
		w.add("p.amount_paise <= ?", f.MaxPaise)
	}
	if !f.From.IsZero() {
		w.add("p.created_at >= ?", f.From.UnixMilli())
	}
	// The cursor's key, read once: the next page's upper bound is then one
	// plain value the index starts at. Next to To, SQLite would start at To
	// and test the cursor row by row.
	var cur struct {
		at int64
		id string
	}
	if f.After != "" {
		err := p.db.read.QueryRowContext(ctx, `SELECT created_at, id FROM payouts WHERE id = ?`, f.After).Scan(&cur.at, &cur.id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("db: payouts cursor: %w", err)
		}
	}
	if !f.To.IsZero() && (f.After == "" || f.To.UnixMilli() <= cur.at) {
		w.add("p.created_at < ?", f.To.UnixMilli())
	}
	if f.BatchID != "" {
		w.add("p.batch_id = ?", f.BatchID)
	}
	if f.ContactID != "" {
		w.add("p.contact_id = ?", f.ContactID)
	}
	from := payoutFrom
	if f.MinPaise > 0 || f.MaxPaise > 0 {
		// No index holds an amount range newest first. A range that few
		// payouts fall in is read through the amount index and sorted; one
		// that many do walks the newest-first order (textSearch.match).
		dense, err := atLeast(ctx, p.db.read, "payouts in an amount range", searchSortLimit, `SELECT 1 FROM payouts p`+w.where(), w.args...)
		if err != nil {
			return nil, false, err
		}
		switch {
		case !dense && f.State != "":
			from = ` FROM payouts p INDEXED BY payouts_state_amount JOIN users u ON u.id = p.maker_id`
		case !dense:
			from = ` FROM payouts p INDEXED BY payouts_amount JOIN users u ON u.id = p.maker_id`
		case f.State != "":
			from = ` FROM payouts p INDEXED BY payouts_state JOIN users u ON u.id = p.maker_id`
		default:
			from = ` FROM payouts p INDEXED BY payouts_list JOIN users u ON u.id = p.maker_id`
		}
	}
	if f.After != "" {
		w.add("p.created_at <= ? AND (p.created_at < ? OR p.id < ?)", cur.at, cur.at, cur.id)
	}
	args := append(w.args, f.Limit+1)
	where := w.where()
	return p.query(ctx, `SELECT `+payoutColumns+from+where+` ORDER BY p.created_at DESC, p.id DESC LIMIT ?`, f.Limit, args...)
}

func (p *Payouts) query(ctx context.Context, q string, limit int, args ...any) ([]Payout, bool, error) {
	return queryPage(ctx, p.db.read, "payouts", limit, scanPayout, q, args...)
}

// NeedsAttention lists payouts a person should look at, oldest change first:
// unknown (the provider's answer was lost and not yet recovered), failed
// (a person may Retry), or on their way but unchanged for longer than
// olderThan.
// It returns at most limit of them (at most maxAttention), and how many
// there are, counted up to maxAttention.
func (p *Payouts) NeedsAttention(ctx context.Context, olderThan time.Duration, limit int) ([]Payout, int, error) {
	arms, args := p.attentionArms(olderThan)
	var n int
	if err := p.db.read.QueryRowContext(ctx, `SELECT count(*) FROM (`+strings.Join(arms, " UNION ALL ")+` LIMIT ?)`,
		append(slices.Clone(args), maxAttention)...).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("db: count needing attention: %w", err)
	}
	out, _, err := p.query(ctx, `WITH due(due_id, due_at) AS (`+strings.Join(arms, " UNION ALL ")+` ORDER BY 2, 1 LIMIT ?)
		SELECT `+payoutColumns+` FROM due JOIN payouts p ON p.id = due.due_id JOIN users u ON u.id = p.maker_id
		ORDER BY due.due_at, due.due_id`, 0, append(args, min(max(limit, 1), maxAttention))...)
	return out, n, err
}

// attentionArms selects the payouts needing attention, one arm per state,
// each in (updated_at, id) order from the same index: merged, they need no
// sort, and a LIMIT stops every arm.
func (p *Payouts) attentionArms(olderThan time.Duration) ([]string, []any) {
	horizon := p.db.nowMS() - olderThan.Milliseconds()
	return []string{
		changedArm(providers.StateUnknown, false), changedArm(providers.StateFailed, false),
		changedArm(providers.StateApproved, true), changedArm(providers.StateQueued, true), changedArm(providers.StateProcessing, true),
	}, []any{horizon}
}

// changedStates are the states payouts_changed holds (migration 0019): those
// a payout can stall in, and failed. Payouts pending approval or paid, the
// bulk of the table, are not in it.
var changedStates = []providers.PayoutState{providers.StateApproved, providers.StateQueued, providers.StateProcessing,
	providers.StateUnknown, providers.StateFailed}

// changedArm selects the id and updated_at of the payouts in state st, in
// (updated_at, id) order from payouts_changed; with before, only those
// changed before ?1. The state is written out, not bound: SQLite uses a
// partial index only when the query's own text implies its condition.
func changedArm(st providers.PayoutState, before bool) string {
	if !slices.Contains(changedStates, st) {
		panic("db: payouts_changed does not hold " + string(st))
	}
	arm := `SELECT id, updated_at FROM payouts WHERE state = '` + string(st) + `'`
	if before {
		arm += ` AND updated_at < ?1`
	}
	return arm
}

// maxAttention is where the needs-attention count stops ("999+").
const maxAttention = 1000

// Retry puts a failed payout back in the dispatcher's hands, by a checker or
// an admin. It never pays twice: the id stays the same, so the provider
// refuses a second payment of it, and once the payout was ever sent the
// dispatcher first asks the provider about it and sends again only if the
// provider says it never received it; otherwise it follows what the provider
// reports (a payout the bank failed stays failed; pay it again as a new
// payout).
func (p *Payouts) Retry(ctx context.Context, actor User, id string) (Payout, error) {
	out, err := p.retryTx(ctx, actor, id)
	return out, p.approvals.recordRefusal(ctx, actor.Actor(), err)
}

func (p *Payouts) retryTx(ctx context.Context, actor User, id string) (Payout, error) {
	tx, err := p.db.beginWrite(ctx)
	if err != nil {
		return Payout{}, err
	}
	defer tx.Rollback()
	u, err := approvalHolder(ctx, tx, actor, "retry_payout", ApprovalRequest{Kind: PayoutKind, TargetID: id}, "Retrying a payout")
	if err != nil {
		return Payout{}, err
	}
	po, err := getPayout(ctx, tx, id)
	if err != nil {
		return Payout{}, err
	}
	if po.State != providers.StateFailed {
		return po, Errorf(ECONFLICT, "Only a failed payout can be retried; this one is %s.", po.State)
	}
	// Sent before: what the provider holds is unknown until asked.
	next := providers.StateUnknown
	if po.SentAt.IsZero() {
		next = providers.StateQueued
	}
	now := p.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE payouts SET state = ?, failure_reason = '', final_at = NULL, updated_at = ? WHERE id = ?`,
		string(next), now, id); err != nil {
		return Payout{}, fmt.Errorf("db: retry payout: %w", err)
	}
	if err := payoutTimeline.add(ctx, tx, now, id, "retry", string(next), "", "retried by "+u.Username+"; the provider is asked first", "", u.Username); err != nil {
		return Payout{}, err
	}
	if err := p.db.audit(ctx, tx, u.Actor(), "payout.retry", "payout", id, map[string]any{
		"state": Change{Before: po.State, After: next}, "failure_reason": po.FailureReason}); err != nil {
		return Payout{}, err
	}
	if err := p.enqueue(ctx, tx, id); err != nil {
		return Payout{}, err
	}
	out, err := getPayout(ctx, tx, id)
	if err != nil {
		return Payout{}, err
	}
	return out, tx.Commit()
}

// approvalHolder reads actor inside tx and refuses, for the caller's
// recordRefusal to audit, anyone disabled or holding neither the checker
// nor the admin role: retries are theirs.
func approvalHolder(ctx context.Context, tx *sql.Tx, actor User, attempt string, req ApprovalRequest, what string) (User, error) {
	u, err := getUser(ctx, tx, actor.ID)
	if err != nil {
		return User{}, err
	}
	if u.Disabled || !(u.HasRole(RoleChecker) || u.HasRole(RoleAdmin)) {
		return User{}, refuse(attempt, req, "%s needs the checker or admin role.", what)
	}
	return u, nil
}

// change is one step the dispatcher records on a payout.
type change struct {
	kind    string                // the event kind
	state   providers.PayoutState // "" keeps the state
	code    string
	message string
	utr     string
	reason  string // failure_reason, for failed ends
	note    string // for the timeline and the audit entry only; the provider's code and message stay
	send    bool   // the payout is being handed to the provider: sent_at, attempts+1
	// fundsWait marks the payout as waiting for funds at the provider;
	// any other change ends the wait.
	fundsWait bool
}

// record applies ch to payout id in one transaction with its event and audit
// entry, unless allow says no for the payout as it is now (read under the
// write lock). A final payout never moves: another worker may have finished
// it meanwhile.
func (p *Payouts) record(ctx context.Context, id string, ch change, allow func(Payout) bool) (out Payout, ok bool, err error) {
	// Dispatch workers record at once: their changes share a commit.
	err = p.db.groupWrite(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out, ok, err = p.recordTx(ctx, tx, id, ch, allow)
		return err
	})
	return out, ok, err
}

func (p *Payouts) recordTx(ctx context.Context, tx *sql.Tx, id string, ch change, allow func(Payout) bool) (Payout, bool, error) {
	cur, err := getPayout(ctx, tx, id)
	if err != nil {
		return cur, false, err
	}
	if cur.State.Final() || cur.State == providers.StatePendingApproval || (allow != nil && !allow(cur)) {
		return cur, false, nil
	}
	state := cur.State
	if ch.state != "" {
		state = ch.state
	}
	now := p.db.nowMS()
	var final any
	if state.Final() {
		final = now
	}
	utr := cur.UTR
	if ch.utr != "" {
		utr = ch.utr
	}
	code, msg := cur.ProviderCode, cur.ProviderMessage
	if ch.code != "" || ch.message != "" {
		code, msg = ch.code, ch.message
	}
	sentAt := any(nil)
	if !cur.SentAt.IsZero() {
		sentAt = cur.SentAt.UnixMilli()
	}
	attempts := cur.Attempts
	lastSent := any(nil)
	if !cur.LastSentAt.IsZero() {
		lastSent = cur.LastSentAt.UnixMilli()
	}
	if ch.send {
		attempts++
		if sentAt == nil {
			sentAt = now
		}
		lastSent = now
	}
	var fundsWait any
	if ch.fundsWait {
		fundsWait = now
		if !cur.WaitingForFundsSince.IsZero() {
			fundsWait = cur.WaitingForFundsSince.UnixMilli()
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payouts SET state = ?, provider_code = ?, provider_message = ?, utr = ?,
		failure_reason = ?, attempts = ?, sent_at = ?, last_sent_at = ?, final_at = ?, updated_at = ?, funds_wait_since = ? WHERE id = ?`,
		string(state), code, msg, utr, ch.reason, attempts, sentAt, lastSent, final, now, fundsWait, id); err != nil {
		return cur, false, fmt.Errorf("db: payout %s: %w", ch.kind, err)
	}
	evMsg := cmp.Or(ch.reason, ch.message, ch.note)
	if err := payoutTimeline.add(ctx, tx, now, id, ch.kind, string(state), ch.code, evMsg, ch.utr, SystemActor.Username); err != nil {
		return cur, false, err
	}
	details := map[string]any{"provider_code": ch.code, "message": evMsg, "attempts": attempts}
	if state != cur.State {
		details["state"] = Change{Before: cur.State, After: state}
	}
	if ch.utr != "" {
		details["utr"] = ch.utr
	}
	if err := p.db.audit(ctx, tx, SystemActor, "payout."+ch.kind, "payout", id, details); err != nil {
		return cur, false, err
	}
	out, err := getPayout(ctx, tx, id)
	if err != nil {
		return cur, false, err
	}
	if state != cur.State && state.Final() {
		if err := settleVendorRequest(ctx, tx, p.db, out, state); err != nil {
			return cur, false, err
		}
	}
	return out, true, nil
}

// plural picks the word for n: one when n is 1, many otherwise.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package db

// Virtual accounts (Kotak e-collect): each customer or invoice gets its own
// account number under one physical account, so every credit is attributed
// by the number it was paid to.
//
// Nothing reaches the bank without a checker. Creating, changing and closing
// accounts are the approval kinds va_create, va_modify and va_delete; a
// request holds one or many accounts (a CSV upload is one request), each a
// va_changes row with what is asked and, later, what the bank answered.
// Only the kind's OnApproved hook moves the rows to 'approved' and inserts
// the River job (va_apply) in the deciding transaction; the job sends them
// in batches of up to 100, the API's limit, and records each account's
// answer. An account's values change here only when the bank accepted them.
//
// The bank has no inquiry for accounts. Sending a batch again after a lost
// answer is safe by its own rules (providers/README.md, kotakva): a create
// sent twice is refused for that account as "already exists" (102), which
// for a row sent before is taken as created; a modify carries the same
// values; deleting a deleted account succeeds. The intent (state 'sending',
// attempts) is written before each call, so a row sent before is known.

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"paydesk/providers"
)

// Approval kinds of virtual accounts.
const (
	VACreateKind = "va_create"
	VAModifyKind = "va_modify"
	VADeleteKind = "va_delete"
	VARefundKind = "va_refund"
)

// VAQueue is the River queue of virtual-account jobs.
const VAQueue = "virtual_accounts"

// VAState is where a virtual account is in its life.
type VAState string

// Virtual account states. Pending approval and creating come before the
// bank has it; failed is the bank's refusal (with its reason) and rejected
// a checker's. Closing waits for the bank to close it.
const (
	VAPending  VAState = "pending_approval"
	VACreating VAState = "creating"
	VAActive   VAState = "active"
	VAClosing  VAState = "closing"
	VAClosed   VAState = "closed"
	VAFailed   VAState = "failed"
	VARejected VAState = "rejected"
)

// VAStates lists the states, for filter menus.
var VAStates = []VAState{VAPending, VACreating, VAActive, VAClosing, VAClosed, VAFailed, VARejected}

// Label is the state as a person reads it.
func (s VAState) Label() string {
	switch s {
	case VAPending:
		return "pending approval"
	case VACreating:
		return "being created"
	}
	return string(s)
}

// takesCredits reports whether a credit to an account in this state is
// attributed to it: the bank holds it open.
func (s VAState) takesCredits() bool {
	return s == VAActive || s == VACreating || s == VAClosing
}

// VAManagerRoles may propose creating, changing and closing accounts.
var VAManagerRoles = []Role{RoleAdmin}

// VARefundRoles may propose refunds of credits.
var VARefundRoles = []Role{RoleMaker, RoleAdmin}

// VirtualAccount is one account as Paydesk holds it.
type VirtualAccount struct {
	Number       string
	Suffix       string
	Name         string
	Purpose      string
	Email        string
	Mobile       string
	ContactID    string
	ContactName  string
	ExpiresOn    string // YYYY-MM-DD, "" for never
	State        VAState
	Reason       string // the bank's words when it refused the account
	Credits      int
	CreditsPaise int64
	LastCreditAt time.Time
	CreatedBy    int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// VAFields are the values of an account a change asks for.
type VAFields struct {
	Name      string `json:"name"`
	Purpose   string `json:"purpose,omitempty"`
	Email     string `json:"email,omitempty"`
	Mobile    string `json:"mobile,omitempty"`
	ExpiresOn string `json:"expires_on,omitempty"`
	ContactID string `json:"contact_id,omitempty"`
}

func (a VirtualAccount) fields() VAFields {
	return VAFields{Name: a.Name, Purpose: a.Purpose, Email: a.Email, Mobile: a.Mobile, ExpiresOn: a.ExpiresOn, ContactID: a.ContactID}
}

// VAOptions tune the virtual-accounts domain. Zero fields take the defaults.
type VAOptions struct {
	// Prefix is the bank-allotted prefix every number starts with.
	Prefix string
	// RetryAfter is how long a job waits after a failed call; 30 s.
	RetryAfter time.Duration
	// InquiryEvery is how often a refund on its way is asked about; 30 s.
	InquiryEvery time.Duration
	// NotFoundGrace: a refund the bank does not know this soon after it was
	// sent is asked about again later, never sent again; 2 min.
	NotFoundGrace time.Duration
	// StuckAfter: a job running this long is dead and rescued; 10 min.
	StuckAfter time.Duration
	Logger     *slog.Logger
}

func (o VAOptions) withDefaults() VAOptions {
	o.RetryAfter = cmp.Or(o.RetryAfter, 30*time.Second)
	o.InquiryEvery = cmp.Or(o.InquiryEvery, 30*time.Second)
	o.NotFoundGrace = cmp.Or(o.NotFoundGrace, 2*time.Minute)
	o.StuckAfter = cmp.Or(o.StuckAfter, 10*time.Minute)
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	return o
}

// VirtualAccounts is the virtual-accounts domain: accounts, their changes,
// credits and refunds.
type VirtualAccounts struct {
	db        *DB
	approvals *Approvals
	prov      providers.VirtualAccounts // nil: not configured; changes wait
	opts      VAOptions
	queue     *river.Client[*sql.Tx]
	queueErr  error
	kick      chan struct{}
}

// NewVirtualAccounts returns the domain over d and prov (nil when no bank is
// configured) and registers its approval kinds with a. Its jobs run on the
// dispatcher's River client: pass JobQueue in DispatchOptions.Jobs.
func NewVirtualAccounts(d *DB, a *Approvals, prov providers.VirtualAccounts, opts VAOptions) *VirtualAccounts {
	v := &VirtualAccounts{db: d, approvals: a, prov: prov, opts: opts.withDefaults(), kick: make(chan struct{}, 1)}
	v.queueErr = MigrateQueue(context.Background(), d)
	if v.queueErr == nil {
		v.queue, v.queueErr = newInsertClient(d)
	}
	for _, k := range []struct{ name, label string }{
		{VACreateKind, "Create virtual accounts"}, {VAModifyKind, "Change virtual accounts"}, {VADeleteKind, "Close virtual accounts"},
	} {
		a.RegisterKind(Kind{Name: k.name, Label: k.label, MakerRoles: VAManagerRoles,
			OnApproved: v.onChangeApproved, OnRejected: v.onChangeEnded("rejected"),
			OnCancelled: v.onChangeEnded("withdrawn"), OnExpired: v.onChangeEnded("expired")})
	}
	a.RegisterKind(Kind{Name: VARefundKind, Label: "Refund of a credit", MakerRoles: VARefundRoles,
		OnApproved: v.onRefundApproved, OnRejected: v.onRefundEnded(RefundRejected, "rejected"),
		OnCancelled: v.onRefundEnded(RefundCancelled, "withdrawn"), OnExpired: v.onRefundEnded(RefundRejected, "expired")})
	return v
}

// Configured reports whether a bank is configured.
func (v *VirtualAccounts) Configured() bool { return v.prov != nil }

// Prefix is the bank's prefix of every number.
func (v *VirtualAccounts) Prefix() string { return v.opts.Prefix }

// JobQueue is the domain's River queue for the dispatcher.
func (v *VirtualAccounts) JobQueue() JobQueue {
	return JobQueue{Queue: VAQueue, MaxWorkers: 4, Register: func(w *river.Workers) {
		river.AddWorker(w, &vaApplyWorker{v: v})
		river.AddWorker(w, &vaRefundWorker{v: v})
	}}
}

// Kick asks the background loop for an ingest now.
func (v *VirtualAccounts) Kick() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

var vaTimeline = timeline{"va_events", "subject"}

func vaSubject(number string) string { return "va:" + number }
func creditSubject(id int64) string  { return "credit:" + strconv.FormatInt(id, 10) }
func refundSubject(id string) string { return "refund:" + id }

// ---- validation ----

// VAChangeInput is one account of a proposed change, as typed in the form or
// a CSV row: Suffix (create; empty: generated) or Number (modify, delete),
// and the values.
type VAChangeInput struct {
	Line      int // the CSV line; 0 from the form
	Op        string
	Number    string
	Suffix    string
	Name      string
	Purpose   string
	Email     string
	Mobile    string
	ExpiresOn string
	// Contact is a contact's id or reference code; empty: none.
	Contact string
}

// VARowProblem is what is wrong with one row, by field.
type VARowProblem struct {
	Line   int
	Fields map[string]string
}

// Limits of a virtual account, as the bank takes them (providers/README.md).
const (
	maxVASuffix  = 12
	maxVANumber  = 20
	maxVAName    = 100
	maxVAPurpose = 50
	maxVAEmail   = 100
	// MaxVAUploadRows bounds one CSV upload.
	MaxVAUploadRows = 10_000
)

var (
	vaSuffixPattern = regexp.MustCompile(`^[A-Z0-9]{1,12}$`)
	vaNamePattern   = regexp.MustCompile(`^[A-Za-z0-9 .&'/,()\-]+$`)
)

// Ops of a change.
const (
	VAOpCreate = "create"
	VAOpModify = "modify"
	VAOpDelete = "delete"
)

func kindOfOp(op string) string {
	return map[string]string{VAOpCreate: VACreateKind, VAOpModify: VAModifyKind, VAOpDelete: VADeleteKind}[op]
}

// normalise trims the input and upper-cases what the bank wants upper-case.
func (in VAChangeInput) normalise() VAChangeInput {
	in.Op = strings.ToLower(strings.TrimSpace(in.Op))
	if in.Op == "" {
		in.Op = VAOpCreate
	}
	in.Number = strings.ToUpper(strings.TrimSpace(in.Number))
	in.Suffix = strings.ToUpper(strings.TrimSpace(in.Suffix))
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	in.Purpose = strings.TrimSpace(in.Purpose)
	in.Email = strings.TrimSpace(in.Email)
	in.Mobile = strings.TrimSpace(in.Mobile)
	in.ExpiresOn = strings.TrimSpace(in.ExpiresOn)
	in.Contact = strings.TrimSpace(in.Contact)
	return in
}

// checkFields checks the values alone (no database).
func (v *VirtualAccounts) checkFields(in VAChangeInput, f fieldErrors) {
	if in.Op == VAOpDelete {
		return
	}
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		f.add("name", "Give the account's name (the payer or invoice it is for).")
	case n > maxVAName:
		f.add("name", fmt.Sprintf("At most %d characters.", maxVAName))
	case !vaNamePattern.MatchString(in.Name):
		f.add("name", "Letters, digits, spaces and . & ' / , ( ) - only.")
	}
	if utf8.RuneCountInString(in.Purpose) > maxVAPurpose {
		f.add("purpose", fmt.Sprintf("At most %d characters.", maxVAPurpose))
	}
	if in.Email != "" && (len(in.Email) > maxVAEmail || !ctEmail(in.Email)) {
		f.add("email", "Enter a valid e-mail address (at most 100 characters), or leave it empty.")
	}
	if in.Mobile != "" && !ctMobile(in.Mobile) {
		f.add("mobile", "10 digits starting with 6, 7, 8 or 9, without +91; or leave it empty.")
	}
	if in.ExpiresOn != "" {
		d, err := time.ParseInLocation(time.DateOnly, in.ExpiresOn, IST)
		switch {
		case err != nil:
			f.add("expires_on", "A date like 2027-03-31, or empty for never.")
		case d.Before(startOfISTDay(v.db.Now())):
			f.add("expires_on", "The date is in the past.")
		}
	}
}

func startOfISTDay(t time.Time) time.Time {
	t = t.In(IST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, IST)
}

// checkedChange is a row that passed its checks, ready to store.
type checkedChange struct {
	in     VAChangeInput
	number string
	fields VAFields
	old    *VirtualAccount // the account as it is (modify, delete; a failed create to retry)
}

// checkChanges checks rows against each other and the database as q sees
// it. Rows must all have one op. Problems come back by line; the valid
// rows are returned in order.
func (v *VirtualAccounts) checkChanges(ctx context.Context, q querier, rows []VAChangeInput) ([]checkedChange, []VARowProblem, error) {
	out := make([]checkedChange, 0, len(rows))
	var problems []VARowProblem
	seen := map[string]int{}
	contacts := map[string]string{} // typed → contact id ("" when none)
	for _, raw := range rows {
		in := raw.normalise()
		f := fieldErrors{}
		var number string
		var old *VirtualAccount
		switch in.Op {
		case VAOpCreate:
			if in.Suffix == "" && in.Number != "" && strings.HasPrefix(in.Number, v.opts.Prefix) {
				in.Suffix = strings.TrimPrefix(in.Number, v.opts.Prefix)
			}
			if in.Suffix == "" {
				in.Suffix = randomBase32(10)
			}
			number = v.opts.Prefix + in.Suffix
			switch {
			case !vaSuffixPattern.MatchString(in.Suffix):
				f.add("suffix", fmt.Sprintf("1 to %d capital letters or digits (the bank puts %s in front).", maxVASuffix, v.opts.Prefix))
			case len(number) > maxVANumber:
				f.add("suffix", fmt.Sprintf("The full number would be %d characters; the bank takes at most %d.", len(number), maxVANumber))
			case in.Number != "" && in.Number != number:
				f.add("suffix", "The number must be the bank's prefix "+v.opts.Prefix+" followed by the suffix.")
			}
			if len(f) == 0 {
				a, err := getVA(ctx, q, number)
				switch {
				case err == nil && (a.State == VAFailed || a.State == VARejected):
					old = &a // proposed again, corrected
				case err == nil:
					f.add("suffix", fmt.Sprintf("%s is already an account here (%s); the bank never reuses a number.", number, a.State.Label()))
				case ErrorCode(err) != ENOTFOUND:
					return nil, nil, err
				}
			}
		case VAOpModify, VAOpDelete:
			number = in.Number
			if number == "" && in.Suffix != "" {
				number = v.opts.Prefix + in.Suffix
			}
			a, err := getVA(ctx, q, number)
			switch {
			case number == "":
				f.add("number", "Give the account number.")
			case ErrorCode(err) == ENOTFOUND:
				f.add("number", "No virtual account "+number+" here.")
			case err != nil:
				return nil, nil, err
			case a.State != VAActive:
				f.add("number", fmt.Sprintf("%s is %s; only an active account can be %s.", number, a.State.Label(),
					map[string]string{VAOpModify: "changed", VAOpDelete: "closed"}[in.Op]))
			default:
				old = &a
				open, err := openChange(ctx, q, number)
				if err != nil {
					return nil, nil, err
				}
				if open != 0 {
					f.add("number", fmt.Sprintf("A change of %s already waits (request #%d); it must be decided first.", number, open))
				}
				if in.Op == VAOpModify {
					// The bank keeps a field sent empty as it was, so empty
					// means "as it is"; a contact link is ours, and "none"
					// removes it.
					in.Name = cmp.Or(in.Name, a.Name)
					in.Purpose = cmp.Or(in.Purpose, a.Purpose)
					in.Email = cmp.Or(in.Email, a.Email)
					in.Mobile = cmp.Or(in.Mobile, a.Mobile)
					in.ExpiresOn = cmp.Or(in.ExpiresOn, a.ExpiresOn)
					if in.Contact == "" {
						in.Contact = a.ContactID
					}
				}
			}
		default:
			f.add("action", "create, modify or delete.")
		}
		if in.Op == VAOpModify && old != nil && in.ExpiresOn == old.ExpiresOn {
			// An expiry already in force may be today or past its day; it
			// is not the change.
			keep := in.ExpiresOn
			in.ExpiresOn = ""
			v.checkFields(in, f)
			in.ExpiresOn = keep
		} else {
			v.checkFields(in, f)
		}
		if number != "" {
			if prev, dup := seen[number]; dup {
				f.add("suffix", fmt.Sprintf("Account %s is also on line %d.", number, prev))
			} else {
				seen[number] = in.Line
			}
		}
		contactID := ""
		if strings.EqualFold(in.Contact, "none") {
			in.Contact = ""
		}
		if in.Contact != "" && in.Op != VAOpDelete {
			id, ok := contacts[in.Contact]
			if !ok {
				var err error
				id, err = contactByIDOrReference(ctx, q, in.Contact)
				if err != nil {
					return nil, nil, err
				}
				contacts[in.Contact] = id
			}
			if id == "" {
				f.add("contact", "No contact with this id or reference code.")
			}
			contactID = id
		}
		fields := VAFields{Name: in.Name, Purpose: in.Purpose, Email: in.Email, Mobile: in.Mobile, ExpiresOn: in.ExpiresOn, ContactID: contactID}
		if in.Op == VAOpDelete && old != nil {
			fields = old.fields()
		}
		if in.Op == VAOpModify && len(f) == 0 && old != nil && fields == old.fields() {
			f.add("name", "Nothing would change: every value is as the account has it.")
		}
		if len(f) > 0 {
			problems = append(problems, VARowProblem{Line: in.Line, Fields: f})
			continue
		}
		out = append(out, checkedChange{in: in, number: number, fields: fields, old: old})
	}
	return out, problems, nil
}

func contactByIDOrReference(ctx context.Context, q querier, s string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM contacts WHERE id = ? UNION ALL SELECT id FROM contacts WHERE reference_code = ? LIMIT 1`,
		strings.ToUpper(s), s).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("db: contact lookup: %w", err)
	}
	return id, nil
}

// openChange is the request of the change of number that is still open, 0
// when none is.
func openChange(ctx context.Context, q querier, number string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT request_id FROM va_changes WHERE number = ? AND state IN ('pending_approval', 'approved', 'sending')`,
		number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("db: open change: %w", err)
	}
	return id, nil
}

// CheckChanges checks rows (one op) without saving: the CSV preview.
func (v *VirtualAccounts) CheckChanges(ctx context.Context, rows []VAChangeInput) ([]VARowProblem, error) {
	_, problems, err := v.checkChanges(ctx, v.db.read, rows)
	return problems, err
}

// ---- proposing ----

// VAProposal is what a proposal made: one request per kind of change (a
// CSV may create, change and close accounts at once) and its accounts.
type VAProposal struct {
	Requests []ApprovalRequest
	Numbers  []string
	Problems []VARowProblem // set with an EINVALID error: nothing was saved
}

// vaRequestPayload is what the checker reads of a request: for one account
// its values (old and new for a modify), for many the count; the rows are
// va_changes.
type vaRequestPayload struct {
	Op     string    `json:"op"`
	Count  int       `json:"count"`
	Number string    `json:"number,omitempty"`
	Old    *VAFields `json:"old,omitempty"`
	New    *VAFields `json:"new,omitempty"`
	Upload string    `json:"upload,omitempty"` // the CSV's file name
}

// vaOps is the order a mixed upload's requests are made in.
var vaOps = []string{VAOpCreate, VAOpModify, VAOpDelete}

// Propose stores a change of one or many accounts and its approval request
// (one per kind of change present) in one transaction, as maker. Every row
// is checked again inside the transaction; if any fails, nothing is saved
// and the problems come back with an EINVALID error. upload names the CSV
// ("" from the form).
func (v *VirtualAccounts) Propose(ctx context.Context, maker User, rows []VAChangeInput, upload string) (VAProposal, error) {
	out, err := v.proposeTx(ctx, maker, rows, upload)
	return out, v.approvals.recordRefusal(ctx, maker.Actor(), err)
}

func (v *VirtualAccounts) proposeTx(ctx context.Context, maker User, rows []VAChangeInput, upload string) (VAProposal, error) {
	if len(rows) == 0 {
		return VAProposal{}, Errorf(EINVALID, "No accounts to propose.")
	}
	if len(rows) > MaxVAUploadRows {
		return VAProposal{}, Errorf(EINVALID, "At most %d accounts can be proposed at once.", MaxVAUploadRows)
	}
	if v.queueErr != nil {
		return VAProposal{}, fmt.Errorf("db: virtual-account queue unavailable: %w", v.queueErr)
	}
	groups := map[string][]VAChangeInput{}
	for _, r := range rows {
		op := r.normalise().Op
		groups[op] = append(groups[op], r)
	}
	tx, err := v.db.beginWrite(ctx)
	if err != nil {
		return VAProposal{}, err
	}
	defer tx.Rollback()
	u, err := getUser(ctx, tx, maker.ID)
	if err != nil {
		return VAProposal{}, err
	}
	if u.Disabled || !slices.ContainsFunc(VAManagerRoles, u.HasRole) {
		first := rows[0].normalise()
		return VAProposal{}, refuse("propose", ApprovalRequest{Kind: kindOfOp(first.Op), TargetID: cmp.Or(first.Number, "new")},
			"Managing virtual accounts needs the %s role.", roleList(VAManagerRoles))
	}
	var out VAProposal
	checked := map[string][]checkedChange{}
	for op, g := range groups {
		c, problems, err := v.checkChanges(ctx, tx, g)
		if err != nil {
			return VAProposal{}, err
		}
		checked[op] = c
		out.Problems = append(out.Problems, problems...)
	}
	if len(out.Problems) > 0 {
		slices.SortFunc(out.Problems, func(a, b VARowProblem) int { return a.Line - b.Line })
		e := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
		if len(rows) > 1 {
			e.Message = fmt.Sprintf("%d of %d rows have problems; nothing was saved.", len(out.Problems), len(rows))
		} else {
			e.Fields = out.Problems[0].Fields
		}
		return VAProposal{Problems: out.Problems}, e
	}
	for _, op := range vaOps {
		if len(checked[op]) == 0 {
			continue
		}
		req, numbers, err := v.proposeGroup(ctx, tx, u, op, checked[op], upload)
		if err != nil {
			return VAProposal{}, err
		}
		out.Requests = append(out.Requests, req)
		out.Numbers = append(out.Numbers, numbers...)
	}
	return out, tx.Commit()
}

// proposeGroup writes one request's accounts, changes and request in tx.
func (v *VirtualAccounts) proposeGroup(ctx context.Context, tx *sql.Tx, u User, op string, checked []checkedChange, upload string) (ApprovalRequest, []string, error) {
	now := v.db.nowMS()
	if op == VAOpCreate {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO virtual_accounts (number, suffix, name, purpose, email, mobile, contact_id, expires_on,
			state, reason, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending_approval', '', ?, ?, ?)
			ON CONFLICT (number) DO UPDATE SET name = excluded.name, purpose = excluded.purpose, email = excluded.email,
				mobile = excluded.mobile, contact_id = excluded.contact_id, expires_on = excluded.expires_on,
				state = 'pending_approval', reason = '', updated_at = excluded.updated_at
			WHERE virtual_accounts.state IN ('failed', 'rejected')`)
		if err != nil {
			return ApprovalRequest{}, nil, fmt.Errorf("db: prepare: %w", err)
		}
		defer ins.Close()
		for _, c := range checked {
			f := c.fields
			res, err := ins.ExecContext(ctx, c.number, c.in.Suffix, f.Name, f.Purpose, f.Email, f.Mobile, nullString(f.ContactID), f.ExpiresOn,
				u.ID, now, now)
			if err != nil {
				return ApprovalRequest{}, nil, fmt.Errorf("db: insert virtual account: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return ApprovalRequest{}, nil, Errorf(ECONFLICT, "Account %s was taken meanwhile; check again.", c.number)
			}
		}
	}
	p := vaRequestPayload{Op: op, Count: len(checked), Upload: upload}
	target := "upload-" + strings.ToLower(randomBase32(10))
	var summary string
	if len(checked) == 1 {
		c := checked[0]
		target, p.Number = c.number, c.number
		nw := c.fields
		p.New = &nw
		switch op {
		case VAOpCreate:
			summary = fmt.Sprintf("Create virtual account %s for %s", c.number, c.fields.Name)
		case VAOpModify:
			old := c.old.fields()
			p.Old = &old
			summary = fmt.Sprintf("Change virtual account %s (%s)", c.number, c.old.Name)
		case VAOpDelete:
			p.New = nil
			summary = fmt.Sprintf("Close virtual account %s (%s)", c.number, c.old.Name)
		}
	} else {
		verb := map[string]string{VAOpCreate: "Create", VAOpModify: "Change", VAOpDelete: "Close"}[op]
		summary = fmt.Sprintf("%s %d virtual accounts", verb, len(checked))
		if upload != "" {
			summary += " from " + upload
		}
	}
	req, err := v.approvals.propose(ctx, tx, u, Proposal{Kind: kindOfOp(op), TargetID: target, Summary: clipRunes(summary, maxSummaryLen), Payload: p})
	if err != nil {
		return ApprovalRequest{}, nil, err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO va_changes (request_id, op, line, number, name, purpose, email, mobile, expires_on,
		contact_id, old_json, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending_approval', ?)`)
	if err != nil {
		return ApprovalRequest{}, nil, fmt.Errorf("db: prepare: %w", err)
	}
	defer ins.Close()
	ev, err := tx.PrepareContext(ctx, insertVAEventSQL)
	if err != nil {
		return ApprovalRequest{}, nil, fmt.Errorf("db: prepare: %w", err)
	}
	defer ev.Close()
	verb := map[string]string{VAOpCreate: "creation", VAOpModify: "change", VAOpDelete: "closure"}[op]
	numbers := make([]string, 0, len(checked))
	for _, c := range checked {
		old := "{}"
		if c.old != nil && op != VAOpCreate {
			b, _ := json.Marshal(c.old.fields())
			old = string(b)
		}
		f := c.fields
		if _, err := ins.ExecContext(ctx, req.ID, op, c.in.Line, c.number, f.Name, f.Purpose, f.Email, f.Mobile, f.ExpiresOn,
			nullString(f.ContactID), old, now); err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return ApprovalRequest{}, nil, Errorf(ECONFLICT, "A change of %s was proposed meanwhile; check again.", c.number)
			}
			return ApprovalRequest{}, nil, fmt.Errorf("db: insert change: %w", err)
		}
		state := string(VAPending)
		if c.old != nil && op != VAOpCreate {
			state = string(c.old.State)
		}
		if _, err := ev.ExecContext(ctx, vaSubject(c.number), now, "proposed", state,
			fmt.Sprintf("%s proposed in request #%d", verb, req.ID), u.Username); err != nil {
			return ApprovalRequest{}, nil, fmt.Errorf("db: va event: %w", err)
		}
		numbers = append(numbers, c.number)
	}
	details := map[string]any{"request_id": req.ID, "op": op, "count": len(checked), "upload": upload}
	if len(checked) == 1 {
		details["number"] = checked[0].number
		details["change"] = Change{Before: p.Old, After: p.New}
	}
	if err := v.db.audit(ctx, tx, u.Actor(), "va.proposed", "virtual_account", target, details); err != nil {
		return ApprovalRequest{}, nil, err
	}
	return req, numbers, nil
}

const insertVAEventSQL = `INSERT INTO va_events (subject, at, kind, state, message, actor) VALUES (?, ?, ?, ?, ?, ?)`

// ---- decisions ----

func (v *VirtualAccounts) onChangeApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	now := v.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE va_changes SET state = 'approved', updated_at = ? WHERE request_id = ? AND state = 'pending_approval'`,
		now, r.ID); err != nil {
		return fmt.Errorf("db: approve changes: %w", err)
	}
	// The accounts move on as the bank is asked: created, or closing.
	switch r.Kind {
	case VACreateKind:
		if _, err := tx.ExecContext(ctx, `UPDATE virtual_accounts SET state = 'creating', updated_at = ?
			WHERE number IN (SELECT number FROM va_changes WHERE request_id = ?) AND state = 'pending_approval'`, now, r.ID); err != nil {
			return fmt.Errorf("db: approve accounts: %w", err)
		}
	case VADeleteKind:
		if _, err := tx.ExecContext(ctx, `UPDATE virtual_accounts SET state = 'closing', updated_at = ?
			WHERE number IN (SELECT number FROM va_changes WHERE request_id = ?) AND state = 'active'`, now, r.ID); err != nil {
			return fmt.Errorf("db: approve accounts: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO va_events (subject, at, kind, state, message, actor)
		SELECT 'va:' || c.number, ?, 'approved', a.state, 'approved in request #' || c.request_id || '; the bank is asked next', ?
		FROM va_changes c JOIN virtual_accounts a ON a.number = c.number WHERE c.request_id = ?`, now, r.DecidedBy.Username, r.ID); err != nil {
		return fmt.Errorf("db: va events: %w", err)
	}
	if err := insertJob(ctx, tx, v.queue, VAApplyArgs{RequestID: r.ID}); err != nil {
		return fmt.Errorf("db: enqueue virtual-account request %d: %w", r.ID, err)
	}
	return v.db.audit(ctx, tx, SystemActor, "va.approved", "approval_request", requestTarget(r.ID), map[string]any{"kind": r.Kind})
}

func (v *VirtualAccounts) onChangeEnded(how string) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		now := v.db.nowMS()
		if _, err := tx.ExecContext(ctx, `INSERT INTO va_events (subject, at, kind, state, message, actor)
			SELECT 'va:' || c.number, ?, ?, CASE WHEN c.op = 'create' THEN 'rejected' ELSE a.state END,
				'request #' || c.request_id || ' ' || ?, ?
			FROM va_changes c JOIN virtual_accounts a ON a.number = c.number WHERE c.request_id = ?`,
			now, how, how, r.DecidedBy.Username, r.ID); err != nil {
			return fmt.Errorf("db: va events: %w", err)
		}
		if r.Kind == VACreateKind {
			if _, err := tx.ExecContext(ctx, `UPDATE virtual_accounts SET state = 'rejected', reason = ?, updated_at = ?
				WHERE number IN (SELECT number FROM va_changes WHERE request_id = ?) AND state = 'pending_approval'`,
				"request "+how, now, r.ID); err != nil {
				return fmt.Errorf("db: end accounts: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE va_changes SET state = 'rejected', reason = ?, updated_at = ?
			WHERE request_id = ? AND state = 'pending_approval'`, "request "+how, now, r.ID); err != nil {
			return fmt.Errorf("db: end changes: %w", err)
		}
		return v.db.audit(ctx, tx, SystemActor, "va."+how, "approval_request", requestTarget(r.ID), map[string]any{"kind": r.Kind})
	}
}

// VARequestChange is what a va_* request asks, as the checker reads it.
type VARequestChange struct {
	Op     string
	Count  int
	Number string
	Upload string
	// Fields is the field-level change of one account (old empty for a
	// create); nil for many.
	Fields []FieldChange
}

// RequestChangeOf reads a va_create, va_modify or va_delete request; ok is
// false for other kinds.
func (v *VirtualAccounts) RequestChangeOf(r ApprovalRequest) (VARequestChange, bool) {
	if r.Kind != VACreateKind && r.Kind != VAModifyKind && r.Kind != VADeleteKind {
		return VARequestChange{}, false
	}
	var p vaRequestPayload
	if json.Unmarshal(r.Payload, &p) != nil {
		return VARequestChange{}, false
	}
	out := VARequestChange{Op: p.Op, Count: p.Count, Number: p.Number, Upload: p.Upload}
	if p.Count == 1 {
		var old, nw VAFields
		if p.Old != nil {
			old = *p.Old
		}
		if p.New != nil {
			nw = *p.New
		}
		if p.Op == VAOpDelete {
			out.Fields = append(out.Fields, FieldChange{Field: "state", Old: "active", New: "closed"})
			return out, true
		}
		for _, f := range []struct{ name, o, n string }{
			{"name", old.Name, nw.Name}, {"purpose", old.Purpose, nw.Purpose}, {"email", old.Email, nw.Email},
			{"mobile", old.Mobile, nw.Mobile}, {"expires_on", old.ExpiresOn, nw.ExpiresOn}, {"contact", old.ContactID, nw.ContactID},
		} {
			if f.o != f.n {
				out.Fields = append(out.Fields, FieldChange{Field: f.name, Old: f.o, New: f.n})
			}
		}
	}
	return out, true
}

// ---- the job: asking the bank ----

// VAApplyArgs is the job that sends one approved request's accounts to the
// bank and records each account's answer.
type VAApplyArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind is River's name for the job.
func (VAApplyArgs) Kind() string { return "va_apply" }

// InsertOpts keeps one job per request while one waits or runs.
func (VAApplyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: VAQueue, MaxAttempts: 1000, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: liveJobStates}}
}

var liveJobStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

type vaApplyWorker struct {
	river.WorkerDefaults[VAApplyArgs]
	v *VirtualAccounts
}

// Work sends the request's accounts. Errors are retried after RetryAfter;
// rows sent before are known (attempts) when the bank's answer repeats.
func (w *vaApplyWorker) Work(ctx context.Context, job *river.Job[VAApplyArgs]) error {
	err := w.v.applyRequest(ctx, job.Args.RequestID)
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) && ctx.Err() == nil {
		w.v.opts.Logger.Warn("virtual accounts: bank call failed; retrying", "request", job.Args.RequestID, "err", err)
		return river.JobSnooze(w.v.opts.RetryAfter)
	}
	return err
}

// Timeout bounds one run well below StuckAfter.
func (w *vaApplyWorker) Timeout(*river.Job[VAApplyArgs]) time.Duration {
	return w.v.opts.StuckAfter / 2
}

// vaChangeRow is a change on its way to the bank.
type vaChangeRow struct {
	ID       int64
	Op       string
	Number   string
	Suffix   string
	Fields   VAFields
	Attempts int
}

// vaBatch is how many accounts one call carries: the API's limit.
const vaBatch = 100

func (v *VirtualAccounts) applyRequest(ctx context.Context, requestID int64) error {
	if v.prov == nil {
		return river.JobSnooze(v.opts.RetryAfter) // waits until a bank is configured
	}
	for {
		rows, err := queryAll(ctx, v.db.read, "va changes to send", func(s scanner) (vaChangeRow, error) {
			var r vaChangeRow
			err := s.Scan(&r.ID, &r.Op, &r.Number, &r.Suffix, &r.Fields.Name, &r.Fields.Purpose, &r.Fields.Email, &r.Fields.Mobile,
				&r.Fields.ExpiresOn, &r.Attempts)
			return r, err
		}, `SELECT c.id, c.op, c.number, a.suffix, c.name, c.purpose, c.email, c.mobile, c.expires_on, c.attempts
			FROM va_changes c JOIN virtual_accounts a ON a.number = c.number
			WHERE c.request_id = ? AND c.state IN ('approved', 'sending') ORDER BY c.id LIMIT ?`, requestID, vaBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := v.markSending(ctx, rows); err != nil {
			return err
		}
		var results []providers.VAResult
		switch rows[0].Op {
		case VAOpCreate:
			accts := make([]providers.VirtualAccount, len(rows))
			for i, r := range rows {
				accts[i] = vaForBank(r)
			}
			results, err = v.prov.CreateVirtualAccounts(ctx, accts)
		case VAOpModify:
			accts := make([]providers.VirtualAccount, len(rows))
			for i, r := range rows {
				accts[i] = vaForBank(r)
			}
			results, err = v.prov.ModifyVirtualAccounts(ctx, accts)
		case VAOpDelete:
			numbers := make([]string, len(rows))
			for i, r := range rows {
				numbers[i] = r.Number
			}
			results, err = v.prov.DeleteVirtualAccounts(ctx, numbers)
		}
		if err != nil && len(results) == 0 {
			if errors.Is(err, providers.ErrRejected) && !errors.Is(err, providers.ErrOutcomeUnknown) {
				// Refused as a whole: nothing was made; every row says why.
				results = make([]providers.VAResult, len(rows))
				for i, r := range rows {
					results[i] = providers.VAResult{Number: r.Number, Code: "request", Reason: err.Error()}
				}
			} else {
				// Unknown or transient: sent again later, which is safe (see
				// the top of this file).
				return fmt.Errorf("virtual accounts request %d: %w", requestID, err)
			}
		}
		if len(results) != len(rows) {
			return fmt.Errorf("virtual accounts request %d: %d answers for %d accounts", requestID, len(results), len(rows))
		}
		if err := v.recordResults(ctx, requestID, rows, results); err != nil {
			return err
		}
	}
}

func vaForBank(r vaChangeRow) providers.VirtualAccount {
	a := providers.VirtualAccount{Number: r.Number, Suffix: r.Suffix, Name: r.Fields.Name, Purpose: r.Fields.Purpose,
		Email: r.Fields.Email, Mobile: r.Fields.Mobile}
	if r.Op == VAOpModify {
		a.Suffix = "" // modify names the account by number
	}
	if r.Fields.ExpiresOn != "" {
		a.ExpiresOn, _ = time.ParseInLocation(time.DateOnly, r.Fields.ExpiresOn, IST)
	}
	return a
}

// markSending records the intent before the call: state sending, one more
// attempt.
func (v *VirtualAccounts) markSending(ctx context.Context, rows []vaChangeRow) error {
	tx, err := v.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `UPDATE va_changes SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("db: prepare: %w", err)
	}
	defer st.Close()
	now := v.db.nowMS()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, now, r.ID); err != nil {
			return fmt.Errorf("db: mark sending: %w", err)
		}
	}
	return tx.Commit()
}

// recordResults records the bank's answer for each row in one transaction.
func (v *VirtualAccounts) recordResults(ctx context.Context, requestID int64, rows []vaChangeRow, results []providers.VAResult) error {
	tx, err := v.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := v.db.nowMS()
	ev, err := tx.PrepareContext(ctx, `INSERT INTO va_events (subject, at, kind, state, provider_code, message, actor) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("db: prepare: %w", err)
	}
	defer ev.Close()
	ok, failed := 0, 0
	var failures []map[string]any
	for i, r := range rows {
		err = nil
		res := results[i]
		done, reason := res.OK, res.Reason
		if !done && r.Op == VAOpCreate && res.Code == "102" && r.Attempts+1 > 1 {
			// Sent before and the answer was lost: the bank made it then.
			done, reason = true, "already at the bank from an earlier attempt whose answer was lost"
		}
		var state VAState
		var kind, msg string
		if done {
			ok++
			switch r.Op {
			case VAOpCreate:
				state, kind, msg = VAActive, "created", "the bank created it"
				_, err = tx.ExecContext(ctx, `UPDATE virtual_accounts SET state = 'active', reason = '', updated_at = ? WHERE number = ?`, now, r.Number)
			case VAOpModify:
				state, kind, msg = VAActive, "modified", "the bank changed it"
				_, err = tx.ExecContext(ctx, `UPDATE virtual_accounts SET name = c.name, purpose = c.purpose, email = c.email, mobile = c.mobile,
					expires_on = c.expires_on, contact_id = c.contact_id, updated_at = ?
					FROM (SELECT name, purpose, email, mobile, expires_on, contact_id FROM va_changes WHERE id = ?) AS c
					WHERE number = ?`, now, r.ID, r.Number)
			case VAOpDelete:
				state, kind, msg = VAClosed, "closed", "the bank closed it"
				_, err = tx.ExecContext(ctx, `UPDATE virtual_accounts SET state = 'closed', updated_at = ? WHERE number = ?`, now, r.Number)
			}
			if err != nil {
				return fmt.Errorf("db: record bank answer: %w", err)
			}
			if reason != "" && reason != res.Reason {
				msg += "; " + reason
			}
			if _, err := tx.ExecContext(ctx, `UPDATE va_changes SET state = 'done', code = ?, reason = ?, updated_at = ? WHERE id = ?`,
				res.Code, reason, now, r.ID); err != nil {
				return fmt.Errorf("db: record bank answer: %w", err)
			}
		} else {
			failed++
			why := strings.TrimSpace(res.Code + " " + res.Reason)
			switch r.Op {
			case VAOpCreate:
				state, kind = VAFailed, "refused"
				_, err = tx.ExecContext(ctx, `UPDATE virtual_accounts SET state = 'failed', reason = ?, updated_at = ? WHERE number = ?`, why, now, r.Number)
			case VAOpModify:
				state, kind = VAActive, "change_refused"
			case VAOpDelete:
				state, kind = VAActive, "close_refused"
				_, err = tx.ExecContext(ctx, `UPDATE virtual_accounts SET state = 'active', updated_at = ? WHERE number = ? AND state = 'closing'`, now, r.Number)
			}
			if err != nil {
				return fmt.Errorf("db: record bank answer: %w", err)
			}
			msg = "the bank refused it: " + res.Reason
			if _, err := tx.ExecContext(ctx, `UPDATE va_changes SET state = 'failed', code = ?, reason = ?, updated_at = ? WHERE id = ?`,
				res.Code, res.Reason, now, r.ID); err != nil {
				return fmt.Errorf("db: record bank answer: %w", err)
			}
			if len(failures) < 20 {
				failures = append(failures, map[string]any{"number": r.Number, "code": res.Code, "reason": res.Reason})
			}
		}
		if _, err := ev.ExecContext(ctx, vaSubject(r.Number), now, kind, string(state), res.Code, msg, SystemActor.Username); err != nil {
			return fmt.Errorf("db: va event: %w", err)
		}
	}
	if err := v.db.audit(ctx, tx, SystemActor, "va.bank_answered", "approval_request", requestTarget(requestID), map[string]any{
		"op": rows[0].Op, "accounts": len(rows), "ok": ok, "failed": failed, "failures": failures,
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// ---- reading ----

const vaColumns = `a.number, a.suffix, a.name, a.purpose, a.email, a.mobile, coalesce(a.contact_id, ''), coalesce(c.company_name, ''),
	a.expires_on, a.state, a.reason, a.credits, a.credits_paise, coalesce(a.last_credit_at, 0), coalesce(a.created_by, 0),
	a.created_at, a.updated_at`

const vaFrom = ` FROM virtual_accounts a LEFT JOIN contacts c ON c.id = a.contact_id`

func scanVA(s scanner) (VirtualAccount, error) {
	var a VirtualAccount
	var last, created, updated int64
	if err := s.Scan(&a.Number, &a.Suffix, &a.Name, &a.Purpose, &a.Email, &a.Mobile, &a.ContactID, &a.ContactName, &a.ExpiresOn,
		&a.State, &a.Reason, &a.Credits, &a.CreditsPaise, &last, &a.CreatedBy, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, Errorf(ENOTFOUND, "No such virtual account.")
		}
		return a, fmt.Errorf("db: scan virtual account: %w", err)
	}
	if last != 0 {
		a.LastCreditAt = time.UnixMilli(last)
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return a, nil
}

func getVA(ctx context.Context, q querier, number string) (VirtualAccount, error) {
	return scanVA(q.QueryRowContext(ctx, `SELECT `+vaColumns+vaFrom+` WHERE a.number = ?`, number))
}

// Get returns an account.
func (v *VirtualAccounts) Get(ctx context.Context, number string) (VirtualAccount, error) {
	return getVA(ctx, v.db.read, number)
}

// Timeline returns an account's events, oldest first.
func (v *VirtualAccounts) Timeline(ctx context.Context, number string) ([]Event, error) {
	return vaTimeline.list(ctx, v.db.read, vaSubject(number))
}

// VAChange is one account's part of a request, with the bank's answer.
type VAChange struct {
	ID        int64
	RequestID int64
	Op        string
	Line      int
	Number    string
	New       VAFields
	Old       VAFields
	State     string
	Code      string
	Reason    string
	Attempts  int
	UpdatedAt time.Time
}

const vaChangeColumns = `id, request_id, op, line, number, name, purpose, email, mobile, expires_on, coalesce(contact_id, ''), old_json,
	state, code, reason, attempts, updated_at`

func scanVAChange(s scanner) (VAChange, error) {
	var c VAChange
	var old string
	var updated int64
	err := s.Scan(&c.ID, &c.RequestID, &c.Op, &c.Line, &c.Number, &c.New.Name, &c.New.Purpose, &c.New.Email, &c.New.Mobile,
		&c.New.ExpiresOn, &c.New.ContactID, &old, &c.State, &c.Code, &c.Reason, &c.Attempts, &updated)
	if err != nil {
		return c, fmt.Errorf("db: scan change: %w", err)
	}
	_ = json.Unmarshal([]byte(old), &c.Old)
	c.UpdatedAt = time.UnixMilli(updated)
	return c, nil
}

// ChangesOf lists an account's changes, newest first (at most 100).
func (v *VirtualAccounts) ChangesOf(ctx context.Context, number string) ([]VAChange, error) {
	return queryAll(ctx, v.db.read, "account changes", scanVAChange,
		`SELECT `+vaChangeColumns+` FROM va_changes WHERE number = ? ORDER BY id DESC LIMIT 100`, number)
}

// RequestChanges lists one page of a request's rows in file order, after the
// row id after; failedOnly keeps the rows the bank refused.
func (v *VirtualAccounts) RequestChanges(ctx context.Context, requestID, after int64, failedOnly bool, limit int) ([]VAChange, bool, error) {
	limit = pageLimit(limit, 500)
	cond := ""
	if failedOnly {
		cond = " AND state = 'failed'"
	}
	return queryPage(ctx, v.db.read, "request changes", limit, scanVAChange,
		`SELECT `+vaChangeColumns+` FROM va_changes WHERE request_id = ? AND id > ?`+cond+` ORDER BY id LIMIT ?`, requestID, after, limit+1)
}

// VARequestCounts counts a request's rows by state.
type VARequestCounts struct {
	Total, Waiting, Sending, Done, Failed, Rejected int
}

// RequestCounts counts a request's rows by state.
func (v *VirtualAccounts) RequestCounts(ctx context.Context, requestID int64) (VARequestCounts, error) {
	var c VARequestCounts
	rows, err := v.db.read.QueryContext(ctx, `SELECT state, count(*) FROM va_changes WHERE request_id = ? GROUP BY state`, requestID)
	if err != nil {
		return c, fmt.Errorf("db: request counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return c, err
		}
		c.Total += n
		switch state {
		case "pending_approval", "approved":
			c.Waiting += n
		case "sending":
			c.Sending += n
		case "done":
			c.Done += n
		case "failed":
			c.Failed += n
		case "rejected":
			c.Rejected += n
		}
	}
	return c, rows.Err()
}

// ForContact lists a contact's accounts, newest first (at most 50).
func (v *VirtualAccounts) ForContact(ctx context.Context, contactID string) ([]VirtualAccount, error) {
	return queryAll(ctx, v.db.read, "contact's accounts", scanVA,
		`SELECT `+vaColumns+vaFrom+` WHERE a.contact_id = ? ORDER BY a.created_at DESC, a.number DESC LIMIT 50`, contactID)
}

// VAFilter narrows the list. Zero fields match everything.
type VAFilter struct {
	// Query: a number or suffix exactly, or a name, purpose or contact
	// company that starts with it. A query lists at most MaxVASearch
	// matches, newest first, on one page.
	Query      string
	State      VAState
	ContactID  string
	HasCredits *bool
	From, To   time.Time // created
	// After is the number of the last account of the previous page.
	After string
	Limit int // default 50, at most 500
}

// MaxVASearch bounds what one search lists.
const MaxVASearch = 200

// List returns one page of accounts, newest first, and whether more follow.
func (v *VirtualAccounts) List(ctx context.Context, f VAFilter) ([]VirtualAccount, bool, error) {
	f.Limit = pageLimit(f.Limit, 500)
	w, matches, err := v.listQuery(ctx, f)
	if err != nil || (strings.TrimSpace(f.Query) != "" && len(matches) == 0) {
		return nil, false, err
	}
	if matches != nil {
		list, err := queryAll(ctx, v.db.read, "virtual accounts", scanVA, `SELECT `+vaColumns+vaFrom+w.where(), w.args...)
		sortVAs(list)
		return list, false, err
	}
	return queryPage(ctx, v.db.read, "virtual accounts", f.Limit, scanVA,
		`SELECT `+vaColumns+vaFrom+w.where()+` ORDER BY a.created_at DESC, a.number DESC LIMIT ?`, append(w.args, f.Limit+1)...)
}

func sortVAs(list []VirtualAccount) {
	slices.SortFunc(list, func(a, b VirtualAccount) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.Number, a.Number))
	})
}

// Each calls fn for every account matching f (After and Limit aside), in
// List's order: the CSV export.
func (v *VirtualAccounts) Each(ctx context.Context, f VAFilter, fn func(VirtualAccount) error) error {
	f.After = ""
	w, matches, err := v.listQuery(ctx, f)
	if err != nil || (strings.TrimSpace(f.Query) != "" && len(matches) == 0) {
		return err
	}
	q := `SELECT ` + vaColumns + vaFrom + w.where()
	if matches != nil {
		list, err := queryAll(ctx, v.db.read, "virtual accounts", scanVA, q, w.args...)
		if err != nil {
			return err
		}
		sortVAs(list)
		return eachOf(list, fn)
	}
	return eachRow(ctx, v.db.read, "virtual accounts export", scanVA, fn, q+` ORDER BY a.created_at DESC, a.number DESC`, w.args...)
}

func (v *VirtualAccounts) listQuery(ctx context.Context, f VAFilter) (conditions, []string, error) {
	var w conditions
	var matches []string
	if q := strings.TrimSpace(f.Query); q != "" {
		var err error
		if matches, err = v.search(ctx, q); err != nil || len(matches) == 0 {
			return w, nil, err
		}
		addIn(&w, "a.number", matches)
	}
	if f.State != "" {
		w.add("a.state = ?", string(f.State))
	}
	if f.ContactID != "" {
		w.add("a.contact_id = ?", f.ContactID)
	}
	if f.HasCredits != nil {
		if *f.HasCredits {
			w.add("a.credits > 0")
		} else {
			w.add("a.credits = 0")
		}
	}
	if !f.From.IsZero() {
		w.add("a.created_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		w.add("a.created_at < ?", f.To.UnixMilli())
	}
	if f.After != "" && matches == nil {
		var created int64
		err := v.db.read.QueryRowContext(ctx, `SELECT created_at FROM virtual_accounts WHERE number = ?`, f.After).Scan(&created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return w, nil, Errorf(ENOTFOUND, "The page to continue from is gone; start again from the first page.")
		case err != nil:
			return w, nil, fmt.Errorf("db: accounts cursor: %w", err)
		}
		// A plain bound the index starts at, and the tie.
		w.add("a.created_at <= ? AND (a.created_at < ? OR a.number < ?)", created, created, f.After)
	}
	return w, matches, nil
}

// search finds the accounts q names: its number or suffix exactly, or a
// name, purpose or contact company starting with it. Each is looked up in
// its own index, at most MaxVASearch of each.
func (v *VirtualAccounts) search(ctx context.Context, q string) ([]string, error) {
	lo, hi := prefixRange(asciiLower(q))
	up := strings.ToUpper(q)
	var out []string
	seen := map[string]bool{}
	lim := strconv.Itoa(MaxVASearch)
	for _, s := range []struct {
		query string
		args  []any
	}{
		{`SELECT number FROM virtual_accounts WHERE number = ?`, []any{up}},
		{`SELECT number FROM virtual_accounts WHERE suffix = ?`, []any{up}},
		{`SELECT number FROM virtual_accounts WHERE name >= ? COLLATE NOCASE AND name < ? COLLATE NOCASE LIMIT ` + lim, []any{lo, hi}},
		{`SELECT number FROM virtual_accounts WHERE purpose >= ? COLLATE NOCASE AND purpose < ? COLLATE NOCASE LIMIT ` + lim, []any{lo, hi}},
		{`SELECT a.number FROM (SELECT id FROM contacts INDEXED BY contacts_company
			WHERE company_name >= ? COLLATE NOCASE AND company_name < ? COLLATE NOCASE LIMIT 50) c
			CROSS JOIN virtual_accounts a ON a.contact_id = c.id LIMIT ` + lim, []any{lo, hi}},
	} {
		ns, err := queryAll(ctx, v.db.read, "virtual account search", scanValue[string], s.query, s.args...)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			if !seen[n] && len(out) < MaxVASearch {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// ---- the background loop ----

// CountToReview counts the accounts waiting for a checker or refused by
// the bank (up to MaxWaitingCount), for the overview.
func (v *VirtualAccounts) CountToReview(ctx context.Context) (int, error) {
	return v.db.cappedCount(ctx, MaxWaitingCount, `SELECT 1 FROM virtual_accounts WHERE state IN (?, ?)`, string(VAPending), string(VAFailed))
}

// Run fetches credits every interval (and on Kick), and sweeps: jobs lost
// or left running by a dead process are put back. It returns when ctx ends.
func (v *VirtualAccounts) Run(ctx context.Context, every time.Duration) {
	if v.prov == nil {
		return
	}
	RunEvery(ctx, every, v.kick, v.opts.Logger, "virtual accounts", func(ctx context.Context, _ bool) error {
		_, ierr := v.Ingest(ctx)
		_, serr := v.Sweep(ctx)
		return errors.Join(ierr, serr)
	})
}

// Sweep puts a job back for every request with rows approved or on their
// way and every refund on its way that has not moved for StuckAfter (the
// unique job options make a second one a no-op). Jobs a dead process left
// running are the dispatcher's to recover, as for every queue it runs. It
// returns how many jobs it enqueued.
func (v *VirtualAccounts) Sweep(ctx context.Context) (int, error) {
	if v.queueErr != nil {
		return 0, v.queueErr
	}
	horizon := v.db.nowMS() - v.opts.StuckAfter.Milliseconds()
	reqs, err := queryAll(ctx, v.db.read, "va requests on their way", scanValue[int64], `SELECT DISTINCT request_id FROM va_changes
		WHERE state IN ('approved', 'sending') AND updated_at < ? LIMIT 100`, horizon)
	if err != nil {
		return 0, err
	}
	refunds, err := queryAll(ctx, v.db.read, "refunds on their way", scanValue[string], `SELECT id FROM va_refunds
		WHERE state IN ('approved', 'unknown', 'processing') AND updated_at < ? LIMIT 1000`, horizon)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, args := range append(jobArgs(reqs, func(id int64) river.JobArgs { return VAApplyArgs{RequestID: id} }),
		jobArgs(refunds, func(id string) river.JobArgs { return VARefundArgs{RefundID: id} })...) {
		res, err := v.queue.Insert(ctx, args, nil)
		if err != nil {
			return n, fmt.Errorf("db: enqueue %s: %w", args.Kind(), err)
		}
		if !res.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

func jobArgs[T any](ids []T, job func(T) river.JobArgs) []river.JobArgs {
	out := make([]river.JobArgs, len(ids))
	for i, id := range ids {
		out[i] = job(id)
	}
	return out
}

package db

// Payment links: a maker sends a customer an invoice with a payment link,
// made from a template set up in NTT DATA's merchant console. Paydesk caches
// the templates, records the link with its River job (inserted in the same
// transaction), and the job creates the invoice at the provider in the
// background. Resend and cancel are jobs too; cancelling a link at or above
// the admin's threshold is an approval kind (link_cancel): it forgives money
// owed, so a second person confirms it. The provider has no status call:
// it tells Paydesk that a link was paid or expired by a signed notification
// (Notify), and links past their due date expire here too.
//
// No status inquiry means a create whose answer was lost cannot be asked
// about. It is sent again instead, which is safe: the provider refuses a
// second create with the same merchantTxnId (Paydesk's link id) and names
// the invoice it already made, which the adapter returns as the answer
// (providers/README.md, link payments).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"paydesk/providers"
)

// LinksQueue is the River queue of the payment links' jobs.
const LinksQueue = "links"

// Approval kinds of payment links.
const (
	// LinkCancelKind: cancelling a link at or above the threshold.
	LinkCancelKind = "link_cancel"
	// LinkThresholdKind: a change of that threshold (an admin's rule
	// change; with two admins another approves it).
	LinkThresholdKind = "link_cancel_threshold"
)

// LinkJobArgs takes one link forward at the provider: Seq 0 creates it;
// Seq n performs the link's n-th action (resend or cancel).
type LinkJobArgs struct {
	LinkID string `json:"link_id"`
	Seq    int    `json:"seq"`
}

// Kind is River's name for the job.
func (LinkJobArgs) Kind() string { return "link_step" }

// InsertOpts keeps one job per link and action while one waits or runs.
func (LinkJobArgs) InsertOpts() river.InsertOpts { return uniqueWhileActive(LinksQueue) }

// uniqueWhileActive is an area's job options: one job per arguments while
// one waits or runs (a finished one does not count), and River's attempt
// limit high, as the step itself decides when to give up.
func uniqueWhileActive(queue string) river.InsertOpts {
	return river.InsertOpts{
		Queue:       queue,
		MaxAttempts: 1000,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}},
	}
}

// LinkState is a payment link's state in Paydesk.
type LinkState string

// Link states. Creating: recorded, the invoice not yet known at the
// provider (asked for again, never twice made: see the note at the top).
const (
	LinkCreating  LinkState = "creating"
	LinkSent      LinkState = "sent"
	LinkResent    LinkState = "resent"
	LinkPaid      LinkState = "paid"
	LinkCancelled LinkState = "cancelled"
	LinkExpired   LinkState = "expired"
	LinkFailed    LinkState = "failed"
)

// LinkStates lists the states, for filter menus.
var LinkStates = []LinkState{LinkCreating, LinkSent, LinkResent, LinkPaid, LinkCancelled, LinkExpired, LinkFailed}

// Open reports whether the customer can pay the link now.
func (s LinkState) Open() bool { return s == LinkSent || s == LinkResent }

// LinkRoles may create, resend and cancel links: no money leaves.
var LinkRoles = []Role{RoleAdmin, RoleMaker}

// DefaultLinkCancelThresholdPaise is the threshold a new database starts
// with (₹1,00,000).
const DefaultLinkCancelThresholdPaise int64 = 1_00_000_00

// LinkTemplate is an invoice template as Paydesk last read it.
type LinkTemplate struct {
	ID       string
	Name     string
	Currency string
	Fields   []providers.TemplateField
	MinPaise int64 // 0: none
	MaxPaise int64 // 0: the provider's general limit
	// Problem says why the template cannot be used now ("" when it can).
	Problem     string
	Active      bool // still in the merchant console
	Version     int
	RefreshedAt time.Time
	ChangedAt   time.Time
}

// Usable reports whether links can be made from the template.
func (t LinkTemplate) Usable() bool { return t.Active && t.Problem == "" && len(t.Fields) > 0 }

// LinkField is one template field of a link as it was sent.
type LinkField struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// PaymentLink is one link as Paydesk holds it.
type PaymentLink struct {
	ID              string // Paydesk's id and the merchantTxnId
	TemplateID      string
	TemplateName    string
	ContactID       string
	CustomerName    string
	CustomerEmail   string
	CustomerMobile  string
	SendBy          string
	AmountPaise     int64
	DueDate         string // YYYY-MM-DD, IST
	Fields          []LinkField
	State           LinkState
	InvoiceNo       string
	URL             string
	ProviderCode    string
	ProviderMessage string
	// Action is what Paydesk is doing at the provider now ("resend",
	// "cancel" or ""); ActionSeq numbers it.
	Action          string
	ActionSeq       int
	ActionSentAt    time.Time
	CancelRequestID int64 // a cancellation waiting for approval
	Resends         int
	BankRef         string
	PaidAt          time.Time
	FinalAt         time.Time
	LastError       string
	Attempts        int
	SentAt          time.Time
	BatchID         string
	MakerID         int64
	Maker           string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// LinksOptions tune the payment links. Zero fields take the defaults.
type LinksOptions struct {
	// RetryAfter is how long a job waits after a failed call; 30 s.
	RetryAfter time.Duration
	// StuckAfter: a link on its way unchanged this long gets its job back;
	// 10 min.
	StuckAfter time.Duration
	// RefreshEvery: the templates are read again this often; 1 h.
	RefreshEvery time.Duration
	// ReplayWindow: a notification signed longer ago than this is a replay
	// and refused; 10 min.
	ReplayWindow time.Duration
	Logger       *slog.Logger
}

func (o LinksOptions) withDefaults() LinksOptions {
	if o.RetryAfter <= 0 {
		o.RetryAfter = 30 * time.Second
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = 10 * time.Minute
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = time.Hour
	}
	if o.ReplayWindow <= 0 {
		o.ReplayWindow = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	return o
}

// Links is the payment-links domain.
type Links struct {
	db        *DB
	approvals *Approvals
	prov      providers.PaymentLinks // nil: not configured; links wait
	opts      LinksOptions
	queue     *river.Client[*sql.Tx]
	queueErr  error
	kick      chan struct{}
	refresh   chan struct{}
}

// NewLinks returns the payment-links domain over d and prov (nil when the
// provider is not configured) and registers its approval kinds with a. Its
// jobs run on the dispatcher's River client: pass JobQueue in
// DispatchOptions.Jobs.
func NewLinks(d *DB, a *Approvals, prov providers.PaymentLinks, opts LinksOptions) *Links {
	l := &Links{db: d, approvals: a, prov: prov, opts: opts.withDefaults(), kick: make(chan struct{}, 1), refresh: make(chan struct{}, 1)}
	l.queueErr = MigrateQueue(context.Background(), d)
	if l.queueErr == nil {
		l.queue, l.queueErr = newInsertClient(d)
	}
	a.RegisterKind(Kind{Name: LinkCancelKind, Label: "Payment link cancellation", MakerRoles: LinkRoles,
		OnApproved: l.onCancelApproved, OnRejected: l.onCancelEnded("rejected"),
		OnCancelled: l.onCancelEnded("withdrawn"), OnExpired: l.onCancelEnded("expired")})
	a.RegisterKind(Kind{Name: LinkThresholdKind, Label: "Link cancellation threshold", MakerRoles: []Role{RoleAdmin},
		OnApproved: l.onThresholdApproved})
	return l
}

// Configured reports whether the link-payments provider is configured.
func (l *Links) Configured() bool { return l.prov != nil }

// JobQueue is the links' River queue for the dispatcher.
func (l *Links) JobQueue() JobQueue {
	return JobQueue{Queue: LinksQueue, MaxWorkers: 8, Register: func(w *river.Workers) {
		river.AddWorker(w, &linkWorker{l: l})
	}}
}

// RefreshSoon asks the background loop to read the templates again now.
func (l *Links) RefreshSoon() {
	select {
	case l.refresh <- struct{}{}:
	default:
	}
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

var linkTimeline = timeline{"link_events", "link_id"}

// ---- reading ----

const linkColumns = `k.id, k.template_id, k.template_name, coalesce(k.contact_id, ''), k.customer_name, k.customer_email,
	k.customer_mobile, k.send_by, k.amount_paise, k.due_date, k.fields, k.state, coalesce(k.invoice_no, ''), k.url,
	k.provider_code, k.provider_message, k.action, k.action_seq, coalesce(k.action_sent_at, 0), coalesce(k.cancel_request_id, 0),
	k.resends, k.bank_ref, coalesce(k.paid_at, 0), coalesce(k.final_at, 0), k.last_error, k.attempts, coalesce(k.sent_at, 0),
	coalesce(k.batch_id, ''), coalesce(k.maker_id, 0), coalesce(u.username, ''), k.created_at, k.updated_at`

const linkFrom = ` FROM payment_links k LEFT JOIN users u ON u.id = k.maker_id`

func scanLink(s scanner) (PaymentLink, error) {
	var k PaymentLink
	var fields string
	var actionSent, paid, final, sent, created, updated int64
	if err := s.Scan(&k.ID, &k.TemplateID, &k.TemplateName, &k.ContactID, &k.CustomerName, &k.CustomerEmail, &k.CustomerMobile,
		&k.SendBy, &k.AmountPaise, &k.DueDate, &fields, &k.State, &k.InvoiceNo, &k.URL, &k.ProviderCode, &k.ProviderMessage,
		&k.Action, &k.ActionSeq, &actionSent, &k.CancelRequestID, &k.Resends, &k.BankRef, &paid, &final, &k.LastError,
		&k.Attempts, &sent, &k.BatchID, &k.MakerID, &k.Maker, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return k, Errorf(ENOTFOUND, "No such payment link.")
		}
		return k, fmt.Errorf("db: scan payment link: %w", err)
	}
	if err := json.Unmarshal([]byte(fields), &k.Fields); err != nil {
		return k, fmt.Errorf("db: fields of link %s: %w", k.ID, err)
	}
	k.ActionSentAt, k.PaidAt, k.FinalAt, k.SentAt = unixMSOrZero(actionSent), unixMSOrZero(paid), unixMSOrZero(final), unixMSOrZero(sent)
	k.CreatedAt, k.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return k, nil
}

func getLink(ctx context.Context, q querier, id string) (PaymentLink, error) {
	return scanLink(q.QueryRowContext(ctx, `SELECT `+linkColumns+linkFrom+` WHERE k.id = ?`, id))
}

// Get returns a link and its timeline, oldest first.
func (l *Links) Get(ctx context.Context, id string) (PaymentLink, []Event, error) {
	k, err := getLink(ctx, l.db.read, id)
	if err != nil {
		return k, nil, err
	}
	evs, err := linkTimeline.list(ctx, l.db.read, id)
	return k, evs, err
}

// ---- templates ----

const templateColumns = `id, name, currency, fields, min_paise, max_paise, problem, active, version, refreshed_at, changed_at`

func scanTemplate(s scanner) (LinkTemplate, error) {
	var t LinkTemplate
	var fields string
	var refreshed, changed int64
	if err := s.Scan(&t.ID, &t.Name, &t.Currency, &fields, &t.MinPaise, &t.MaxPaise, &t.Problem, &t.Active, &t.Version,
		&refreshed, &changed); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return t, Errorf(ENOTFOUND, "No such template.")
		}
		return t, fmt.Errorf("db: scan template: %w", err)
	}
	if err := json.Unmarshal([]byte(fields), &t.Fields); err != nil {
		return t, fmt.Errorf("db: fields of template %s: %w", t.ID, err)
	}
	t.RefreshedAt, t.ChangedAt = time.UnixMilli(refreshed), time.UnixMilli(changed)
	return t, nil
}

func getTemplate(ctx context.Context, q querier, id string) (LinkTemplate, error) {
	return scanTemplate(q.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM link_templates WHERE id = ?`, id))
}

// Template returns one cached template.
func (l *Links) Template(ctx context.Context, id string) (LinkTemplate, error) {
	return getTemplate(ctx, l.db.read, id)
}

// Templates lists the cached templates, those in the console first, by
// name. A merchant has a handful; they are sorted here.
func (l *Links) Templates(ctx context.Context) ([]LinkTemplate, error) {
	ts, err := queryAll(ctx, l.db.read, "link templates", scanTemplate, `SELECT `+templateColumns+` FROM link_templates`)
	slices.SortFunc(ts, func(a, b LinkTemplate) int {
		if a.Active != b.Active {
			if a.Active {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return ts, err
}

// TemplateRefresh is how the last reading of the templates went.
type TemplateRefresh struct {
	AttemptedAt time.Time
	OKAt        time.Time
	Error       string
}

// LastRefresh returns how the last reading of the templates went (zero:
// never read).
func (l *Links) LastRefresh(ctx context.Context) (TemplateRefresh, error) {
	var r TemplateRefresh
	var attempted int64
	var ok sql.NullInt64
	err := l.db.read.QueryRowContext(ctx, `SELECT attempted_at, ok_at, error FROM link_template_refresh WHERE singleton = 1`).
		Scan(&attempted, &ok, &r.Error)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, nil
	case err != nil:
		return r, fmt.Errorf("db: template refresh: %w", err)
	}
	r.AttemptedAt = time.UnixMilli(attempted)
	if ok.Valid {
		r.OKAt = time.UnixMilli(ok.Int64)
	}
	return r, nil
}

// RefreshTemplates reads the merchant's templates and each one's details
// into the cache, in one transaction. A changed template gets a new
// version (audited); links already made keep the fields they were sent
// with. A template gone from the console is kept, inactive.
func (l *Links) RefreshTemplates(ctx context.Context) error {
	if l.prov == nil {
		return nil
	}
	err := l.refreshTemplates(ctx)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	now := l.db.nowMS()
	var ok any
	if err == nil {
		ok = now
	}
	if _, werr := l.db.write.ExecContext(context.WithoutCancel(ctx), `INSERT INTO link_template_refresh (singleton, attempted_at, ok_at, error)
		VALUES (1, ?, ?, ?) ON CONFLICT (singleton) DO UPDATE SET attempted_at = excluded.attempted_at,
		ok_at = coalesce(excluded.ok_at, link_template_refresh.ok_at), error = excluded.error`, now, ok, msg); werr != nil && err == nil {
		err = fmt.Errorf("db: template refresh: %w", werr)
	}
	return err
}

func (l *Links) refreshTemplates(ctx context.Context) error {
	list, err := l.prov.Templates(ctx)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	type read struct {
		t       providers.Template
		problem string
	}
	var got []read
	for _, s := range list {
		t, err := l.prov.Template(ctx, s.ID)
		switch {
		case errors.Is(err, providers.ErrNotFound):
			code, words := providers.CodeOf(err)
			got = append(got, read{t: providers.Template{TemplateSummary: s, Currency: "INR"},
				problem: fmt.Sprintf("The provider has no details for this template yet (%s %s): finish it in the merchant console.", code, words)})
		case err != nil:
			return fmt.Errorf("template %s: %w", s.ID, err)
		default:
			if t.Name == "" {
				t.Name = s.Name
			}
			got = append(got, read{t: t})
		}
	}
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE link_templates SET active = 0`); err != nil {
		return fmt.Errorf("db: templates: %w", err)
	}
	now := l.db.nowMS()
	for _, r := range got {
		fields, err := json.Marshal(r.t.Fields)
		if err != nil {
			return err
		}
		if r.t.Fields == nil {
			fields = []byte("[]")
		}
		currency := r.t.Currency
		if currency == "" {
			currency = "INR"
		}
		before, err := getTemplate(ctx, tx, r.t.ID)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			if _, err := tx.ExecContext(ctx, `INSERT INTO link_templates (id, name, currency, fields, min_paise, max_paise, problem,
				active, version, refreshed_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?)`,
				r.t.ID, r.t.Name, currency, string(fields), r.t.MinAmountPaise, r.t.MaxAmountPaise, r.problem, now, now); err != nil {
				return fmt.Errorf("db: insert template: %w", err)
			}
			if err := l.db.audit(ctx, tx, SystemActor, "link_template.added", "link_template", r.t.ID, map[string]any{
				"name": r.t.Name, "fields": fieldNames(r.t.Fields), "problem": r.problem}); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		oldFields, _ := json.Marshal(before.Fields)
		if before.Fields == nil {
			oldFields = []byte("[]")
		}
		changed := string(oldFields) != string(fields) || before.Name != r.t.Name || before.MinPaise != r.t.MinAmountPaise ||
			before.MaxPaise != r.t.MaxAmountPaise || before.Problem != r.problem
		if !changed {
			if _, err := tx.ExecContext(ctx, `UPDATE link_templates SET active = 1, refreshed_at = ? WHERE id = ?`, now, r.t.ID); err != nil {
				return fmt.Errorf("db: template: %w", err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE link_templates SET name = ?, currency = ?, fields = ?, min_paise = ?, max_paise = ?,
			problem = ?, active = 1, version = version + 1, refreshed_at = ?, changed_at = ? WHERE id = ?`,
			r.t.Name, currency, string(fields), r.t.MinAmountPaise, r.t.MaxAmountPaise, r.problem, now, now, r.t.ID); err != nil {
			return fmt.Errorf("db: template: %w", err)
		}
		if err := l.db.audit(ctx, tx, SystemActor, "link_template.changed", "link_template", r.t.ID, map[string]any{
			"version": Change{Before: before.Version, After: before.Version + 1},
			"fields":  Change{Before: fieldNames(before.Fields), After: fieldNames(r.t.Fields)},
			"name":    Change{Before: before.Name, After: r.t.Name}, "problem": r.problem}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func fieldNames(fs []providers.TemplateField) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		s := f.Name
		if f.Required {
			s += " (required)"
		}
		out = append(out, s)
	}
	return out
}

// ---- creating ----

// LinkInput is a new link as typed. Fields holds the template's fields by
// name.
type LinkInput struct {
	TemplateID     string
	ContactID      string
	CustomerName   string
	CustomerEmail  string
	CustomerMobile string
	SendBy         string
	Amount         string // rupees as typed: "5,000.00"
	DueDate        string // YYYY-MM-DD
	Fields         map[string]string
}

// linkDraft is a validated LinkInput.
type linkDraft struct {
	TemplateID, TemplateName, ContactID         string
	CustomerName, CustomerEmail, CustomerMobile string
	SendBy                                      string
	AmountPaise                                 int64
	DueDate                                     string
	Fields                                      []LinkField
}

// The provider's limits (providers/linkpay/decisions.go), refused here with
// a message beside the field rather than by the provider a minute later.
const (
	maxLinkCustomerName = 100
	maxLinkEmail        = 100
	// maxLinkPaise: the provider's largest amount, ₹9,99,99,99,999.99.
	maxLinkPaise int64 = 9_999_999_999_99
	// maxLinkDueDays: a due date at most this far ahead.
	maxLinkDueDays = 366
)

// SendByOptions are the ways a link reaches the customer, as offered.
var SendByOptions = []string{providers.SendEmail, providers.SendSMS, providers.SendEmailSMS, providers.SendNone}

func linkNameRune(r rune) bool {
	return ctLetter(r) || ctDigit(r) || r > 0x7f || strings.ContainsRune(" .,'&()/-", r)
}

// TemplateFieldKey is the form field name of a template field.
func TemplateFieldKey(name string) string { return "f_" + name }

// validateLink checks in against template t as of today (IST) and returns
// the draft and the messages by form field: template_id, customer_name,
// customer_email, customer_mobile, send_by, amount, due_date, and
// TemplateFieldKey(name) for each template field. The contact's details are
// filled in by the caller before.
func validateLink(t LinkTemplate, in LinkInput, today string) (linkDraft, fieldErrors) {
	f := fieldErrors{}
	d := linkDraft{TemplateID: t.ID, TemplateName: t.Name, ContactID: strings.TrimSpace(in.ContactID)}
	if !t.Usable() {
		msg := "Choose a template that is in the merchant console."
		if t.Problem != "" {
			msg = t.Problem
		}
		f.add("template_id", msg)
	}
	d.CustomerName = strings.Join(strings.Fields(in.CustomerName), " ")
	switch n := len([]rune(d.CustomerName)); {
	case n == 0:
		f.add("customer_name", "Enter the customer's name, or choose a contact.")
	case n > maxLinkCustomerName:
		f.add("customer_name", fmt.Sprintf("At most %d characters (NTT DATA's limit).", maxLinkCustomerName))
	case !ctAllOf(d.CustomerName, linkNameRune):
		f.add("customer_name", "Use letters, digits, spaces and . , ' & ( ) / - only.")
	}
	d.CustomerEmail = strings.TrimSpace(in.CustomerEmail)
	if d.CustomerEmail != "" && (len(d.CustomerEmail) > maxLinkEmail || !ctEmail(d.CustomerEmail)) {
		f.add("customer_email", fmt.Sprintf("Enter a valid email address, like accounts@example.com (at most %d characters).", maxLinkEmail))
	}
	d.CustomerMobile = providers.NormalizeMobile(in.CustomerMobile)
	if d.CustomerMobile != "" && !ctMobile(d.CustomerMobile) {
		f.add("customer_mobile", "Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9.")
	}
	d.SendBy = in.SendBy
	switch d.SendBy {
	case providers.SendEmail:
		if d.CustomerEmail == "" {
			f.add("customer_email", "Enter the email address the link is sent to.")
		}
	case providers.SendSMS:
		if d.CustomerMobile == "" {
			f.add("customer_mobile", "Enter the mobile number the link is sent to.")
		}
	case providers.SendEmailSMS:
		if d.CustomerEmail == "" {
			f.add("customer_email", "Enter the email address the link is sent to.")
		}
		if d.CustomerMobile == "" {
			f.add("customer_mobile", "Enter the mobile number the link is sent to.")
		}
	case providers.SendNone:
	default:
		f.add("send_by", "Choose how the link reaches the customer.")
	}
	amount, msg := parseRupees(in.Amount)
	switch {
	case msg != "":
		f.add("amount", msg)
	case t.MinPaise > 0 && amount < t.MinPaise:
		f.add("amount", "This template takes at least "+rupees(t.MinPaise)+".")
	case t.MaxPaise > 0 && amount > t.MaxPaise:
		f.add("amount", "This template takes at most "+rupees(t.MaxPaise)+".")
	case amount > maxLinkPaise:
		f.add("amount", "NTT DATA takes at most "+rupees(maxLinkPaise)+".")
	default:
		d.AmountPaise = amount
	}
	d.DueDate = strings.TrimSpace(in.DueDate)
	due, err := time.ParseInLocation("2006-01-02", d.DueDate, IST)
	todayT, _ := time.ParseInLocation("2006-01-02", today, IST)
	switch {
	case d.DueDate == "":
		f.add("due_date", "Choose the date the customer must pay by.")
	case err != nil:
		f.add("due_date", "Enter a date as YYYY-MM-DD.")
	case d.DueDate < today:
		f.add("due_date", "The due date cannot be in the past.")
	case due.After(todayT.AddDate(0, 0, maxLinkDueDays)):
		f.add("due_date", "The due date can be at most a year ahead.")
	}
	for _, tf := range t.Fields {
		key := TemplateFieldKey(tf.Name)
		v := strings.TrimSpace(in.Fields[tf.Name])
		label := tf.Label
		if label == "" {
			label = tf.Name
		}
		if v == "" {
			if tf.Required {
				f.add(key, label+" is required by the template.")
			}
			continue
		}
		if m := checkTemplateValue(tf, v); m != "" {
			f.add(key, m)
			continue
		}
		d.Fields = append(d.Fields, LinkField{Name: tf.Name, Label: label, Value: v})
	}
	for name := range in.Fields {
		if !slices.ContainsFunc(t.Fields, func(tf providers.TemplateField) bool { return tf.Name == name }) && strings.TrimSpace(in.Fields[name]) != "" {
			f.add(TemplateFieldKey(name), "The template has no field "+name+".")
		}
	}
	return d, f
}

// checkTemplateValue applies a template field's type and length.
func checkTemplateValue(tf providers.TemplateField, v string) string {
	if tf.MaxLength > 0 && len([]rune(v)) > tf.MaxLength {
		return fmt.Sprintf("At most %d characters (the template's limit).", tf.MaxLength)
	}
	switch tf.Type {
	case providers.FieldNumber:
		if !ctAllOf(v, ctDigit) || len(v) > 18 {
			return "Enter a whole number, digits only."
		}
	case providers.FieldDate:
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return "Enter a date as YYYY-MM-DD."
		}
	case providers.FieldEmail:
		if !ctEmail(v) {
			return "Enter a valid email address."
		}
	}
	return ""
}

func newLinkID() string { return "PL" + randomBase32(14) }

// Create validates in and records the link with its job, in one
// transaction, as maker. The job creates the invoice at the provider in the
// background; the link's page shows the invoice number and link once the
// provider has answered.
func (l *Links) Create(ctx context.Context, maker User, in LinkInput) (PaymentLink, error) {
	k, err := l.createTx(ctx, maker, in)
	return k, l.approvals.recordRefusal(ctx, maker.Actor(), err)
}

// requireLinkMaker reads u again inside tx: links are made, resent and
// cancelled by enabled admins and makers, as the database says now.
func requireLinkMaker(ctx context.Context, tx *sql.Tx, u User, attempt, target, what string) (User, error) {
	cur, err := getUser(ctx, tx, u.ID)
	if err != nil {
		return cur, err
	}
	if cur.Disabled || !slices.ContainsFunc(LinkRoles, cur.HasRole) {
		return cur, refuse(attempt, ApprovalRequest{Kind: "payment_link", TargetID: target}, "%s needs the %s role.", what, roleList(LinkRoles))
	}
	return cur, nil
}

func (l *Links) createTx(ctx context.Context, maker User, in LinkInput) (PaymentLink, error) {
	if l.queueErr != nil {
		return PaymentLink{}, fmt.Errorf("db: links queue unavailable: %w", l.queueErr)
	}
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return PaymentLink{}, err
	}
	defer tx.Rollback()
	u, err := requireLinkMaker(ctx, tx, maker, "link.create", "new", "Creating a payment link")
	if err != nil {
		return PaymentLink{}, err
	}
	d, err := l.draft(ctx, tx, in)
	if err != nil {
		return PaymentLink{}, err
	}
	id := newLinkID()
	if err := l.insert(ctx, tx, u, id, d, ""); err != nil {
		return PaymentLink{}, err
	}
	k, err := getLink(ctx, tx, id)
	if err != nil {
		return PaymentLink{}, err
	}
	return k, tx.Commit()
}

// draft reads the template and the contact inside tx and validates in.
func (l *Links) draft(ctx context.Context, tx *sql.Tx, in LinkInput) (linkDraft, error) {
	t, err := getTemplate(ctx, tx, strings.TrimSpace(in.TemplateID))
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return linkDraft{}, err
	}
	d, f, err := l.checkRow(ctx, tx, t, in, ISTDay(l.db.Now()))
	if err != nil {
		return d, err
	}
	return d, f.err()
}

// fillContact fills the customer's details the maker left empty from the
// chosen contact.
func (l *Links) fillContact(ctx context.Context, q querier, in *LinkInput) error {
	in.ContactID = strings.TrimSpace(in.ContactID)
	if in.ContactID == "" {
		return nil
	}
	ct, err := getContact(ctx, q, in.ContactID)
	if ErrorCode(err) == ENOTFOUND {
		return nil // reported by draft
	}
	if err != nil {
		return err
	}
	if strings.TrimSpace(in.CustomerName) == "" {
		in.CustomerName = ct.Name()
	}
	if strings.TrimSpace(in.CustomerEmail) == "" {
		in.CustomerEmail = ct.Email
	}
	if strings.TrimSpace(in.CustomerMobile) == "" {
		in.CustomerMobile = ct.Mobile
	}
	return nil
}

// insert stores draft d as link id with its timeline, audit entry and job.
func (l *Links) insert(ctx context.Context, tx *sql.Tx, u User, id string, d linkDraft, batch string) error {
	fields, err := json.Marshal(d.Fields)
	if err != nil {
		return err
	}
	if d.Fields == nil {
		fields = []byte("[]")
	}
	now := l.db.nowMS()
	if _, err := tx.ExecContext(ctx, `INSERT INTO payment_links (id, template_id, template_name, contact_id, customer_name,
		customer_email, customer_mobile, send_by, amount_paise, due_date, fields, state, batch_id, maker_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'creating', ?, ?, ?, ?)`,
		id, d.TemplateID, d.TemplateName, nullString(d.ContactID), d.CustomerName, d.CustomerEmail, d.CustomerMobile, d.SendBy,
		d.AmountPaise, d.DueDate, string(fields), nullString(batch), u.ID, now, now); err != nil {
		return fmt.Errorf("db: insert payment link: %w", err)
	}
	msg := fmt.Sprintf("%s to %s from template %s, due %s", rupees(d.AmountPaise), d.CustomerName, d.TemplateName, d.DueDate)
	if err := linkTimeline.add(ctx, tx, now, id, "created", string(LinkCreating), "", msg, "", u.Username); err != nil {
		return err
	}
	if err := l.db.audit(ctx, tx, u.Actor(), "link.created", "payment_link", id, map[string]any{
		"template_id": d.TemplateID, "amount_paise": d.AmountPaise, "customer": d.CustomerName, "email": d.CustomerEmail,
		"mobile": d.CustomerMobile, "send_by": d.SendBy, "due_date": d.DueDate, "contact_id": d.ContactID, "fields": d.Fields,
		"batch_id": batch}); err != nil {
		return err
	}
	if err := insertJob(ctx, tx, l.queue, LinkJobArgs{LinkID: id}); err != nil {
		return fmt.Errorf("db: enqueue link %s: %w", id, err)
	}
	return nil
}

// ---- bulk ----

// MaxLinkBatchRows is the most links one CSV upload makes.
const MaxLinkBatchRows = 10_000

// CheckBatch validates rows against template templateID as of today,
// contacts filled in, and returns each row's messages by field (nil for a
// valid row). Nothing is written.
func (l *Links) CheckBatch(ctx context.Context, templateID string, rows []LinkInput) (LinkTemplate, []map[string]string, error) {
	t, err := getTemplate(ctx, l.db.read, templateID)
	if err != nil {
		return t, nil, err
	}
	out := make([]map[string]string, len(rows))
	today := ISTDay(l.db.Now())
	for i, in := range rows {
		in.TemplateID = templateID
		_, f, err := l.checkRow(ctx, l.db.read, t, in, today)
		if err != nil {
			return t, nil, err
		}
		if len(f) > 0 {
			out[i] = f
		}
	}
	return t, out, nil
}

// checkRow fills in's contact and validates it against t.
func (l *Links) checkRow(ctx context.Context, q querier, t LinkTemplate, in LinkInput, today string) (linkDraft, fieldErrors, error) {
	if err := l.fillContact(ctx, q, &in); err != nil {
		return linkDraft{}, nil, err
	}
	d, f := validateLink(t, in, today)
	if in.ContactID != "" {
		if _, err := getContact(ctx, q, in.ContactID); ErrorCode(err) == ENOTFOUND {
			f.add("contact_id", "No such contact.")
		} else if err != nil {
			return d, nil, err
		}
	}
	return d, f, nil
}

// LinkBatch is the outcome of a bulk upload.
type LinkBatch struct {
	ID         string
	LinkIDs    []string
	TotalPaise int64
	TemplateID string
	CreatedAt  time.Time
}

// CreateBatch makes every row a link from template templateID, as maker, in
// one transaction with their jobs: all or none. A row that no longer
// validates refuses the whole batch (EINVALID, fields keyed
// "rows.<i>.<field>").
func (l *Links) CreateBatch(ctx context.Context, maker User, templateID string, rows []LinkInput) (LinkBatch, error) {
	b, err := l.batchTx(ctx, maker, templateID, rows)
	return b, l.approvals.recordRefusal(ctx, maker.Actor(), err)
}

func (l *Links) batchTx(ctx context.Context, maker User, templateID string, rows []LinkInput) (LinkBatch, error) {
	if l.queueErr != nil {
		return LinkBatch{}, fmt.Errorf("db: links queue unavailable: %w", l.queueErr)
	}
	if len(rows) == 0 || len(rows) > MaxLinkBatchRows {
		return LinkBatch{}, Errorf(EINVALID, "A batch holds 1 to %d links.", MaxLinkBatchRows)
	}
	conn, tx, err := l.db.beginWriteConn(ctx)
	if err != nil {
		return LinkBatch{}, err
	}
	defer conn.Close()
	defer tx.Rollback()
	u, err := requireLinkMaker(ctx, tx, maker, "link.batch", "batch", "Creating payment links")
	if err != nil {
		return LinkBatch{}, err
	}
	t, err := getTemplate(ctx, tx, templateID)
	if err != nil {
		return LinkBatch{}, err
	}
	b := LinkBatch{ID: "LB" + randomBase32(12), TemplateID: templateID, CreatedAt: l.db.Now(), LinkIDs: make([]string, len(rows))}
	today := ISTDay(l.db.Now())
	bctx, batch, err := l.db.withTxBatch(ctx, conn, tx)
	if err != nil {
		return LinkBatch{}, err
	}
	for i, in := range rows {
		in.TemplateID = templateID
		d, f, err := l.checkRow(bctx, tx, t, in, today)
		if err != nil {
			return LinkBatch{}, err
		}
		if len(f) > 0 {
			fields := map[string]string{}
			for k, v := range f {
				fields[fmt.Sprintf("rows.%d.%s", i, k)] = v
			}
			return LinkBatch{}, &Error{Code: EINVALID, Message: "A row no longer validates; nothing was saved.", Fields: fields}
		}
		b.LinkIDs[i] = newLinkID()
		b.TotalPaise += d.AmountPaise
		if err := l.insert(bctx, tx, u, b.LinkIDs[i], d, b.ID); err != nil {
			return LinkBatch{}, err
		}
		if err := batch.settle(bctx); err != nil {
			return LinkBatch{}, err
		}
	}
	if err := l.db.audit(bctx, tx, u.Actor(), "link.batch_created", "link_batch", b.ID, map[string]any{
		"template_id": templateID, "links": len(rows), "total_paise": b.TotalPaise}); err != nil {
		return LinkBatch{}, err
	}
	if err := batch.flush(bctx); err != nil {
		return LinkBatch{}, err
	}
	return b, tx.Commit()
}

// ---- resend and cancel ----

// Resend asks the provider, in the background, to send the link to the
// customer again.
func (l *Links) Resend(ctx context.Context, u User, id string) (PaymentLink, error) {
	k, err := l.resendTx(ctx, u, id)
	return k, l.approvals.recordRefusal(ctx, u.Actor(), err)
}

func (l *Links) resendTx(ctx context.Context, user User, id string) (PaymentLink, error) {
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return PaymentLink{}, err
	}
	defer tx.Rollback()
	u, err := requireLinkMaker(ctx, tx, user, "link.resend", id, "Resending a payment link")
	if err != nil {
		return PaymentLink{}, err
	}
	k, err := getLink(ctx, tx, id)
	if err != nil {
		return k, err
	}
	if err := notOpen(k, "resent"); err != nil {
		return k, err
	}
	if k.CustomerEmail == "" && k.CustomerMobile == "" {
		return k, Errorf(ECONFLICT, "This link has no email address or mobile number to send it to; copy the link and share it instead.")
	}
	if err := l.startAction(ctx, tx, u, k, "resend", "resend_requested", "resend requested: the provider sends the link again"); err != nil {
		return k, err
	}
	k, err = getLink(ctx, tx, id)
	if err != nil {
		return k, err
	}
	return k, tx.Commit()
}

// notOpen refuses an action on a link the customer cannot pay now, or one
// with an action under way, saying why in words.
func notOpen(k PaymentLink, verb string) error {
	switch k.State {
	case LinkCancelled:
		return Errorf(ECONFLICT, "This invoice was cancelled, so it cannot be %s: NTT DATA refuses a cancelled invoice (OTS1015 Cancelled Invoice).", verb)
	case LinkPaid:
		return Errorf(ECONFLICT, "This link was paid on %s; it cannot be %s.", whenIST(k.PaidAt), verb)
	case LinkExpired:
		return Errorf(ECONFLICT, "This link expired after its due date, %s; it cannot be %s. Make a new link instead.", k.DueDate, verb)
	case LinkFailed:
		return Errorf(ECONFLICT, "NTT DATA did not create this invoice, so it cannot be %s. Make a new link instead.", verb)
	case LinkCreating:
		return Errorf(ECONFLICT, "NTT DATA has not made the invoice yet; it can be %s once its invoice number shows.", verb)
	}
	if k.CancelRequestID != 0 {
		return Errorf(ECONFLICT, "A cancellation of this link waits for approval (request #%d).", k.CancelRequestID)
	}
	if k.Action != "" {
		return Errorf(ECONFLICT, "Paydesk is already asking NTT DATA to %s this link; wait for its answer.", k.Action)
	}
	return nil
}

func whenIST(t time.Time) string { return t.In(IST).Format("2 Jan 2006 15:04 IST") }

// startAction records action on k (the next action number) with its
// timeline event, audit entry and job, inside tx.
func (l *Links) startAction(ctx context.Context, tx *sql.Tx, u User, k PaymentLink, action, kind, msg string) error {
	seq := k.ActionSeq + 1
	now := l.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE payment_links SET action = ?, action_seq = ?, action_sent_at = NULL, cancel_request_id = NULL,
		updated_at = ? WHERE id = ?`, action, seq, now, k.ID); err != nil {
		return fmt.Errorf("db: link %s %s: %w", k.ID, action, err)
	}
	if err := linkTimeline.add(ctx, tx, now, k.ID, kind, string(k.State), "", msg, "", u.Username); err != nil {
		return err
	}
	if err := l.db.audit(ctx, tx, u.Actor(), "link."+kind, "payment_link", k.ID, map[string]any{
		"invoice_no": k.InvoiceNo, "amount_paise": k.AmountPaise, "message": msg}); err != nil {
		return err
	}
	if err := insertJob(ctx, tx, l.queue, LinkJobArgs{LinkID: k.ID, Seq: seq}); err != nil {
		return fmt.Errorf("db: enqueue link %s %s: %w", k.ID, action, err)
	}
	return nil
}

// Cancel cancels link id. Below the threshold it is cancelled at the
// provider in the background at once; at or above it, a link_cancel
// request is opened for a second person (returned, not nil).
func (l *Links) Cancel(ctx context.Context, u User, id string) (PaymentLink, *ApprovalRequest, error) {
	k, r, err := l.cancelTx(ctx, u, id)
	return k, r, l.approvals.recordRefusal(ctx, u.Actor(), err)
}

// linkCancelPayload is what a link_cancel request carries.
type linkCancelPayload struct {
	LinkID         string `json:"link_id"`
	InvoiceNo      string `json:"invoice_no"`
	Customer       string `json:"customer"`
	AmountPaise    int64  `json:"amount_paise"`
	DueDate        string `json:"due_date"`
	ThresholdPaise int64  `json:"threshold_paise"`
}

func (l *Links) cancelTx(ctx context.Context, user User, id string) (PaymentLink, *ApprovalRequest, error) {
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return PaymentLink{}, nil, err
	}
	defer tx.Rollback()
	u, err := requireLinkMaker(ctx, tx, user, "link.cancel", id, "Cancelling a payment link")
	if err != nil {
		return PaymentLink{}, nil, err
	}
	k, err := getLink(ctx, tx, id)
	if err != nil {
		return k, nil, err
	}
	if err := notOpen(k, "cancelled"); err != nil {
		return k, nil, err
	}
	threshold, err := cancelThreshold(ctx, tx)
	if err != nil {
		return k, nil, err
	}
	var req *ApprovalRequest
	if k.AmountPaise >= threshold {
		amount := k.AmountPaise
		r, err := l.approvals.propose(ctx, tx, u, Proposal{Kind: LinkCancelKind, TargetID: k.ID, AmountPaise: &amount,
			Summary: clipRunes(fmt.Sprintf("Cancel payment link %s of %s to %s", k.InvoiceNo, rupees(k.AmountPaise), k.CustomerName), maxSummaryLen),
			Payload: linkCancelPayload{LinkID: k.ID, InvoiceNo: k.InvoiceNo, Customer: k.CustomerName, AmountPaise: k.AmountPaise,
				DueDate: k.DueDate, ThresholdPaise: threshold}})
		if err != nil {
			return k, nil, err
		}
		req = &r
		now := l.db.nowMS()
		if _, err := tx.ExecContext(ctx, `UPDATE payment_links SET cancel_request_id = ?, updated_at = ? WHERE id = ?`, r.ID, now, k.ID); err != nil {
			return k, nil, fmt.Errorf("db: link %s cancel request: %w", k.ID, err)
		}
		msg := fmt.Sprintf("cancellation proposed: %s is at or above the %s threshold, so a second person confirms it (request #%d)",
			rupees(k.AmountPaise), rupees(threshold), r.ID)
		if err := linkTimeline.add(ctx, tx, now, k.ID, "cancel_proposed", string(k.State), "", msg, "", u.Username); err != nil {
			return k, nil, err
		}
		if err := l.db.audit(ctx, tx, u.Actor(), "link.cancel_proposed", "payment_link", k.ID, map[string]any{
			"request_id": r.ID, "amount_paise": k.AmountPaise, "threshold_paise": threshold}); err != nil {
			return k, nil, err
		}
	} else {
		msg := fmt.Sprintf("cancel requested: %s is below the %s threshold, so it is cancelled without approval", rupees(k.AmountPaise), rupees(threshold))
		if err := l.startAction(ctx, tx, u, k, "cancel", "cancel_requested", msg); err != nil {
			return k, nil, err
		}
	}
	k, err = getLink(ctx, tx, id)
	if err != nil {
		return k, nil, err
	}
	return k, req, tx.Commit()
}

// onCancelApproved starts the approved cancellation, unless the link can no
// longer be cancelled (paid meanwhile): then it says so on the timeline.
func (l *Links) onCancelApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	k, err := getLink(ctx, tx, r.TargetID)
	if err != nil {
		return err
	}
	actor, _ := decider(r)
	u := User{ID: actor.ID, Username: actor.Username}
	if k.CancelRequestID == r.ID {
		k.CancelRequestID = 0
	}
	if err := notOpen(k, "cancelled"); err != nil {
		now := l.db.nowMS()
		if _, err := tx.ExecContext(ctx, `UPDATE payment_links SET cancel_request_id = NULL, updated_at = ? WHERE id = ? AND cancel_request_id = ?`,
			now, k.ID, r.ID); err != nil {
			return fmt.Errorf("db: link %s: %w", k.ID, err)
		}
		return linkTimeline.add(ctx, tx, now, k.ID, "cancel_approved", string(k.State), "",
			fmt.Sprintf("cancellation approved (request #%d), but nothing to cancel: %s", r.ID, ErrorMessage(err)), "", actor.Username)
	}
	return l.startAction(ctx, tx, u, k, "cancel", "cancel_approved",
		fmt.Sprintf("cancellation approved (request #%d): Paydesk cancels it at NTT DATA", r.ID))
}

// onCancelEnded clears a cancellation request that will not happen.
func (l *Links) onCancelEnded(how string) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		k, err := getLink(ctx, tx, r.TargetID)
		if err != nil {
			return err
		}
		actor, _ := decider(r)
		now := l.db.nowMS()
		if _, err := tx.ExecContext(ctx, `UPDATE payment_links SET cancel_request_id = NULL, updated_at = ? WHERE id = ? AND cancel_request_id = ?`,
			now, k.ID, r.ID); err != nil {
			return fmt.Errorf("db: link %s: %w", k.ID, err)
		}
		return linkTimeline.add(ctx, tx, now, k.ID, "cancel_"+how, string(k.State), "",
			fmt.Sprintf("cancellation %s (request #%d): the link stays payable", how, r.ID), "", actor.Username)
	}
}

// LinkCancelOf reads a link_cancel request's link and amounts, for the
// queue's and the request page's view; ok is false for other kinds.
func LinkCancelOf(r ApprovalRequest) (linkID, invoiceNo, customer string, amount, threshold int64, ok bool) {
	if r.Kind != LinkCancelKind {
		return "", "", "", 0, 0, false
	}
	var p linkCancelPayload
	if json.Unmarshal(r.Payload, &p) != nil {
		return "", "", "", 0, 0, false
	}
	return p.LinkID, p.InvoiceNo, p.Customer, p.AmountPaise, p.ThresholdPaise, true
}

// ---- the cancellation threshold ----

func cancelThreshold(ctx context.Context, q querier) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT cancel_threshold_paise FROM link_settings WHERE singleton = 1`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return DefaultLinkCancelThresholdPaise, nil
	case err != nil:
		return 0, fmt.Errorf("db: link cancel threshold: %w", err)
	}
	return v, nil
}

// CancelThreshold is the amount at or above which cancelling a link needs
// approval, who set it and when, and the request changing it (0: none).
type CancelThreshold struct {
	Paise   int64
	SetBy   string
	SetAt   time.Time
	Pending int64
}

// CancelThreshold returns the threshold in force.
func (l *Links) CancelThreshold(ctx context.Context) (CancelThreshold, error) {
	var t CancelThreshold
	var at int64
	err := l.db.read.QueryRowContext(ctx, `SELECT cancel_threshold_paise, set_by, set_at FROM link_settings WHERE singleton = 1`).
		Scan(&t.Paise, &t.SetBy, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		t.Paise = DefaultLinkCancelThresholdPaise
	case err != nil:
		return t, fmt.Errorf("db: link cancel threshold: %w", err)
	default:
		t.SetAt = time.UnixMilli(at)
	}
	t.Pending, _, err = pendingRequestID(ctx, l.db.read, LinkThresholdKind, "link_cancel")
	return t, err
}

// linkThresholdPayload is what a threshold request carries.
type linkThresholdPayload struct {
	BeforePaise int64 `json:"before_paise"`
	AfterPaise  int64 `json:"threshold_paise"`
}

// ThresholdChangeOf reads a threshold request's change, for the queue's
// diff; ok is false for other kinds.
func (l *Links) ThresholdChangeOf(r ApprovalRequest) (before, after int64, ok bool) {
	if r.Kind != LinkThresholdKind {
		return 0, 0, false
	}
	var p linkThresholdPayload
	if json.Unmarshal(r.Payload, &p) != nil {
		return 0, 0, false
	}
	return p.BeforePaise, p.AfterPaise, true
}

// ProposeCancelThreshold sets the threshold to paise, by admin: with two or
// more enabled admins it opens a request another admin approves (applied is
// false); with one it applies at once (adminChange, as for the approval
// rules and the low-balance thresholds).
func (l *Links) ProposeCancelThreshold(ctx context.Context, admin User, paise int64) (ApprovalRequest, bool, error) {
	if paise <= 0 {
		return ApprovalRequest{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"threshold": "Enter an amount more than ₹0."}}
	}
	r, applied, err := l.thresholdTx(ctx, admin, paise)
	return r, applied, l.approvals.recordRefusal(ctx, admin.Actor(), err)
}

func (l *Links) thresholdTx(ctx context.Context, admin User, paise int64) (ApprovalRequest, bool, error) {
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	defer tx.Rollback()
	u, err := enabledAdmin(ctx, tx, admin, refuse("change_link_threshold", ApprovalRequest{Kind: LinkThresholdKind, TargetID: "link_cancel"},
		"Changing the link cancellation threshold needs the admin role."))
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	before, err := cancelThreshold(ctx, tx)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	if before == paise {
		return ApprovalRequest{}, false, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"threshold": "This is already the threshold in force."}}
	}
	r, applied, err := l.approvals.adminChange(ctx, tx, u, Proposal{Kind: LinkThresholdKind, TargetID: "link_cancel",
		Summary: "Cancelling a payment link of " + rupees(paise) + " or more needs approval",
		Payload: linkThresholdPayload{BeforePaise: before, AfterPaise: paise}},
		"A change to this threshold is already waiting for approval (#%d).", func(extra map[string]any) error {
			return l.applyThreshold(ctx, tx, u.Actor(), before, paise, extra)
		})
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	return r, applied, tx.Commit()
}

func (l *Links) applyThreshold(ctx context.Context, tx *sql.Tx, actor Actor, before, after int64, extra map[string]any) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO link_settings (singleton, cancel_threshold_paise, set_by, set_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (singleton) DO UPDATE SET cancel_threshold_paise = excluded.cancel_threshold_paise, set_by = excluded.set_by,
		set_at = excluded.set_at`, after, actor.Username, l.db.nowMS()); err != nil {
		return fmt.Errorf("db: set link cancel threshold: %w", err)
	}
	details := map[string]any{"threshold_paise": Change{Before: before, After: after}}
	for k, v := range extra {
		details[k] = v
	}
	return l.db.audit(ctx, tx, actor, "link_threshold.changed", "link_settings", "link_cancel", details)
}

func (l *Links) onThresholdApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	var p linkThresholdPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return fmt.Errorf("db: link threshold payload: %w", err)
	}
	if p.AfterPaise <= 0 {
		return fmt.Errorf("db: link threshold request %d: threshold %d", r.ID, p.AfterPaise)
	}
	before, err := cancelThreshold(ctx, tx)
	if err != nil {
		return err
	}
	return l.applyThreshold(ctx, tx, Actor{ID: r.MakerID, Username: r.Maker}, before, p.AfterPaise, map[string]any{"request_id": r.ID})
}

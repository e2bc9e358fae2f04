package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/views"
)

// Virtual accounts: the list, an account's page, the form that proposes a
// new account or a change, closing, and the page of a request's accounts
// with the bank's answers. The CSV upload is virtual_accounts_upload.go;
// credits and refunds are va_credits.go. Every change is an approval
// request (db.VirtualAccounts); nothing here talks to the bank.

func vaRow(a db.VirtualAccount) views.VARow {
	r := views.VARow{Number: a.Number, Name: a.Name, Purpose: a.Purpose, ContactID: a.ContactID, ContactName: a.ContactName,
		State: a.State.Label(), StateKind: views.VAStateKind(string(a.State)), Credits: views.Count(a.Credits),
		Total: views.INR(a.CreditsPaise), LastCredit: views.When(a.LastCreditAt), Created: views.When(a.CreatedAt)}
	if a.State == db.VAFailed {
		r.Reason = a.Reason
	}
	return r
}

func canManageVAs(u *db.User) bool {
	return u != nil && !u.Disabled && slices.ContainsFunc(db.VAManagerRoles, u.HasRole)
}

func vaFilter(c *fiber.Ctx) (db.VAFilter, views.VAListFilter) {
	form := views.VAListFilter{Query: strings.TrimSpace(c.Query("q")), State: c.Query("state"), Contact: strings.TrimSpace(c.Query("contact")),
		HasCredits: c.Query("credits"), From: c.Query("from"), To: c.Query("to"), Errors: map[string]string{}}
	if !slices.Contains(stringsOf(db.VAStates), form.State) {
		form.State = ""
	}
	f := db.VAFilter{Query: form.Query, State: db.VAState(form.State), ContactID: form.Contact, After: c.Query("after"), Limit: 50}
	switch form.HasCredits {
	case "yes":
		f.HasCredits = ptr(true)
	case "no":
		f.HasCredits = ptr(false)
	default:
		form.HasCredits = ""
	}
	from, to := dateRange(form.From, form.To, form.Errors)
	f.From, f.To = istDay(from), istDay(to)
	return f, form
}

func ptr[T any](v T) *T { return &v }

// istDay is the start of the Indian day of a date typed as YYYY-MM-DD.
func istDay(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, db.IST)
}

func vaQuery(form views.VAListFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": form.Query, "state": form.State, "contact": form.Contact, "credits": form.HasCredits,
		"from": form.From, "to": form.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (s *Server) vaListPage(c *fiber.Ctx) error {
	f, form := vaFilter(c)
	p := views.VAListProps{Shell: s.shell(c, "Virtual accounts", "/virtual-accounts"), Filter: form,
		CanManage: canManageVAs(auth(c).user), Configured: s.VirtualAccounts.Configured(), Prefix: s.VirtualAccounts.Prefix(),
		Searched: form.Query != ""}
	for _, st := range db.VAStates {
		p.States = append(p.States, views.Option{Value: string(st), Label: st.Label()})
	}
	q := vaQuery(form)
	p.ExportURL = "/virtual-accounts.csv?" + q.Encode()
	status := fiber.StatusOK
	if len(form.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	} else {
		list, more, err := s.VirtualAccounts.List(c.UserContext(), f)
		if err != nil {
			return err
		}
		p.Rows, p.NextURL = onePage(q, "/virtual-accounts", list, more, vaRow, func(a db.VirtualAccount) string { return a.Number })
	}
	return s.render(c, status, views.VAListPage(p), nil)
}

// vaCSV streams the whole filtered set.
func (s *Server) vaCSV(c *fiber.Ctx) error {
	f, form := vaFilter(c)
	if len(form.Errors) > 0 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "The filter is not valid.")
	}
	csvHeaders(c, "virtual-accounts-"+s.DB.Now().UTC().Format("20060102-150405"))
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"number", "suffix", "name", "purpose", "contact_id", "contact", "email", "mobile", "expires_on", "state",
		"bank_reason", "credits", "credits_total", "last_credit_at_utc", "created_at_utc"})
	err := s.VirtualAccounts.Each(c.UserContext(), f, func(a db.VirtualAccount) error {
		last := ""
		if !a.LastCreditAt.IsZero() {
			last = a.LastCreditAt.UTC().Format(time.RFC3339)
		}
		return w.Write([]string{csvSafe(a.Number), csvSafe(a.Suffix), csvSafe(a.Name), csvSafe(a.Purpose), a.ContactID, csvSafe(a.ContactName),
			csvSafe(a.Email), csvSafe(a.Mobile), a.ExpiresOn, string(a.State), csvSafe(a.Reason), strconv.Itoa(a.Credits),
			providers.FormatAmount(a.CreditsPaise), last, a.CreatedAt.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

// vaContacts are the contacts the form offers, by name (the first 500).
func (s *Server) vaContacts(ctx context.Context) ([]views.Option, error) {
	list, _, err := s.Contacts.List(ctx, db.ContactFilter{Limit: 200})
	if err != nil {
		return nil, err
	}
	out := make([]views.Option, 0, len(list))
	for _, ct := range list {
		out = append(out, views.Option{Value: ct.ID, Label: ct.Name() + " (" + ct.ID + ")"})
	}
	return out, nil
}

func (s *Server) renderVAForm(c *fiber.Ctx, status int, title, intro string, f views.VAForm) error {
	contacts, err := s.vaContacts(c.UserContext())
	if err != nil {
		return err
	}
	if f.Contact != "" && f.Contact != "none" && !slices.ContainsFunc(contacts, func(o views.Option) bool { return o.Value == f.Contact }) {
		if ct, err := s.Contacts.Get(c.UserContext(), f.Contact); err == nil {
			contacts = append([]views.Option{{Value: ct.ID, Label: ct.Name() + " (" + ct.ID + ")"}}, contacts...)
		}
	}
	f.Contacts, f.CSRF, f.Prefix = contacts, auth(c).csrf(), s.VirtualAccounts.Prefix()
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	return s.render(c, status, views.VAFormPage(views.VAFormProps{Shell: s.shell(c, title, "/virtual-accounts"), Title: title, Intro: intro, Form: f}), nil)
}

const (
	newVAIntro  = "A checker approves the new account before the bank is asked to open it. Its number is the bank's prefix and the suffix."
	editVAIntro = "A checker sees every field you change, old and new; the account changes at the bank only after approval."
)

func (s *Server) newVAPage(c *fiber.Ctx) error {
	f := views.VAForm{Contact: c.Query("contact")}
	// "Correct and propose again": the refused account, filled in.
	if from := c.Query("from"); from != "" {
		if a, err := s.VirtualAccounts.Get(c.UserContext(), from); err == nil && (a.State == db.VAFailed || a.State == db.VARejected) {
			f = views.VAForm{Suffix: a.Suffix, Name: a.Name, Purpose: a.Purpose, Email: a.Email, Mobile: a.Mobile, Contact: a.ContactID,
				ExpiresOn: a.ExpiresOn, Error: a.Reason}
			if a.Reason != "" {
				f.Error = "Last time: " + a.Reason + ". Correct what needs it and propose again."
			}
		}
	}
	return s.renderVAForm(c, fiber.StatusOK, "New virtual account", newVAIntro, f)
}

func vaFormInput(c *fiber.Ctx) (db.VAChangeInput, views.VAForm) {
	f := views.VAForm{Suffix: c.FormValue("suffix"), Name: c.FormValue("name"), Purpose: c.FormValue("purpose"), Email: c.FormValue("email"),
		Mobile: c.FormValue("mobile"), Contact: c.FormValue("contact"), ExpiresOn: c.FormValue("expires_on")}
	return db.VAChangeInput{Suffix: f.Suffix, Name: f.Name, Purpose: f.Purpose, Email: f.Email, Mobile: f.Mobile, Contact: f.Contact,
		ExpiresOn: f.ExpiresOn}, f
}

// proposalFailed shows the form again with the refusal beside its fields.
func (s *Server) proposalFailed(c *fiber.Ctx, err error, title, intro string, f views.VAForm) error {
	switch db.ErrorCode(err) {
	case db.EINVALID, db.ECONFLICT:
		f.Errors = db.FieldErrors(err)
		if len(f.Errors) == 0 || db.ErrorCode(err) == db.ECONFLICT {
			f.Error = db.ErrorMessage(err)
		}
		return s.renderVAForm(c, fiber.StatusUnprocessableEntity, title, intro, f)
	}
	return err
}

func (s *Server) createVA(c *fiber.Ctx) error {
	in, f := vaFormInput(c)
	in.Op = db.VAOpCreate
	out, err := s.VirtualAccounts.Propose(c.UserContext(), *auth(c).user, []db.VAChangeInput{in}, "")
	if err != nil {
		return s.proposalFailed(c, err, "New virtual account", newVAIntro, f)
	}
	return redirect(c, vaURLOf(out.Numbers[0])+"?proposed="+strconv.FormatInt(out.Requests[0].ID, 10))
}

func vaURLOf(number string) string { return "/virtual-accounts/" + url.PathEscape(number) }

func (s *Server) editVAPage(c *fiber.Ctx) error {
	a, err := s.VirtualAccounts.Get(c.UserContext(), c.Params("number"))
	if err != nil {
		return err
	}
	f := views.VAForm{Number: a.Number, Name: a.Name, Purpose: a.Purpose, Email: a.Email, Mobile: a.Mobile, Contact: a.ContactID, ExpiresOn: a.ExpiresOn}
	if f.Contact == "" {
		f.Contact = "none"
	}
	return s.renderVAForm(c, fiber.StatusOK, "Change "+a.Number, editVAIntro, f)
}

func (s *Server) modifyVA(c *fiber.Ctx) error {
	number := c.Params("number")
	in, f := vaFormInput(c)
	in.Op, in.Number, f.Number = db.VAOpModify, number, number
	out, err := s.VirtualAccounts.Propose(c.UserContext(), *auth(c).user, []db.VAChangeInput{in}, "")
	if err != nil {
		return s.proposalFailed(c, err, "Change "+number, editVAIntro, f)
	}
	return redirect(c, vaURLOf(number)+"?proposed="+strconv.FormatInt(out.Requests[0].ID, 10))
}

func (s *Server) closeVA(c *fiber.Ctx) error {
	number := c.Params("number")
	out, err := s.VirtualAccounts.Propose(c.UserContext(), *auth(c).user, []db.VAChangeInput{{Op: db.VAOpDelete, Number: number}}, "")
	if err != nil {
		if db.ErrorCode(err) == db.EINVALID {
			msg := db.ErrorMessage(err)
			for _, m := range db.FieldErrors(err) {
				msg = m
			}
			return fiber.NewError(fiber.StatusUnprocessableEntity, msg)
		}
		return err
	}
	return redirect(c, vaURLOf(number)+"?proposed="+strconv.FormatInt(out.Requests[0].ID, 10))
}

func changeStateKind(state string) string {
	switch state {
	case "done":
		return "ok"
	case "failed", "rejected":
		return "bad"
	case "sending":
		return "warn"
	}
	return "info"
}

var changeStateLabels = map[string]string{"pending_approval": "waiting for approval", "approved": "approved, queued for the bank",
	"sending": "sent to the bank", "done": "done", "failed": "refused by the bank", "rejected": "not approved"}

func (s *Server) vaChangeRow(ch db.VAChange) views.VAChangeRow {
	r := views.VAChangeRow{RequestID: ch.RequestID, Line: ch.Line, Number: ch.Number, Op: ch.Op, Name: ch.New.Name,
		State: changeStateLabels[ch.State], StateKind: changeStateKind(ch.State), Attempts: ch.Attempts, Updated: views.When(ch.UpdatedAt)}
	if ch.State == "done" || ch.State == "failed" || ch.State == "rejected" {
		r.Answer = strings.TrimSpace(ch.Code + " " + ch.Reason)
	}
	if ch.State == "failed" && ch.Op == db.VAOpCreate {
		r.RetryURL = "/virtual-accounts/new?from=" + url.QueryEscape(ch.Number)
	}
	return r
}

func (s *Server) vaPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, err := s.VirtualAccounts.Get(ctx, c.Params("number"))
	if err != nil {
		return err
	}
	u := auth(c).user
	p := views.VADetailProps{Shell: s.shell(c, a.Number, "/virtual-accounts"), A: vaRow(a), Suffix: a.Suffix, Email: a.Email, Mobile: a.Mobile,
		ExpiresOn: a.ExpiresOn, Updated: views.When(a.UpdatedAt), CanManage: canManageVAs(u), CSRF: auth(c).csrf(),
		CreditsURL: "/credits?account=" + url.QueryEscape(a.Number)}
	p.A.Reason = a.Reason
	if (a.State == db.VAFailed || a.State == db.VARejected) && p.CanManage {
		p.RetryURL = "/virtual-accounts/new?from=" + url.QueryEscape(a.Number)
	}
	p.CreatedBy = "Paydesk"
	if a.CreatedBy != 0 {
		if x, err := s.DB.User(ctx, a.CreatedBy); err == nil {
			p.CreatedBy = x.DisplayName
		}
	}
	changes, err := s.VirtualAccounts.ChangesOf(ctx, a.Number)
	if err != nil {
		return err
	}
	open := false
	for _, ch := range changes {
		p.Changes = append(p.Changes, s.vaChangeRow(ch))
		if ch.State == "pending_approval" || ch.State == "approved" || ch.State == "sending" {
			open = true
			p.PendingURL = "/approvals/" + strconv.FormatInt(ch.RequestID, 10)
		}
	}
	p.CanEdit = p.CanManage && a.State == db.VAActive && !open
	// Only a request among this account's changes is named, never the link's text.
	if id, err := strconv.ParseInt(c.Query("proposed"), 10, 64); err == nil &&
		slices.ContainsFunc(changes, func(ch db.VAChange) bool { return ch.RequestID == id }) {
		p.Notice = "Proposed as request #" + strconv.FormatInt(id, 10) + ". A checker decides it in the approval queue; the bank is asked only after approval."
	}
	credits, _, err := s.VirtualAccounts.Credits(ctx, db.CreditFilter{Account: a.Number, Limit: 20})
	if err != nil {
		return err
	}
	for _, k := range credits {
		p.Credits = append(p.Credits, creditRow(k))
	}
	refunds, err := s.VirtualAccounts.RefundsOfAccount(ctx, a.Number)
	if err != nil {
		return err
	}
	for _, r := range refunds {
		p.Refunds = append(p.Refunds, refundRow(r))
	}
	events, err := s.VirtualAccounts.Timeline(ctx, a.Number)
	if err != nil {
		return err
	}
	p.Timeline = timelineEntries(events)
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "virtual_account:" + a.Number, Limit: 100})
	if err != nil {
		return err
	}
	p.Audit = auditRows(entries)
	return s.render(c, fiber.StatusOK, views.VADetailPage(p), nil)
}

// vaRequestPage lists a request's accounts, in file order, with what the
// bank answered for each.
func (s *Server) vaRequestPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	r, _, err := s.Approvals.Get(ctx, id)
	if err != nil {
		return err
	}
	if _, ok := s.VirtualAccounts.RequestChangeOf(r); !ok {
		return fiber.NewError(fiber.StatusNotFound, "This request does not change virtual accounts.")
	}
	counts, err := s.VirtualAccounts.RequestCounts(ctx, id)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	failedOnly := c.Query("failed") == "1"
	rows, more, err := s.VirtualAccounts.RequestChanges(ctx, id, after, failedOnly, 200)
	if err != nil {
		return err
	}
	p := views.VARequestProps{Shell: s.shell(c, fmt.Sprintf("Request #%d accounts", id), "/virtual-accounts"), RequestID: id,
		RequestURL: "/approvals/" + strconv.FormatInt(id, 10), Summary: r.Summary, State: r.State.Label(), FailedOnly: failedOnly,
		Cards: []views.CSVCard{{Label: "Accounts", Value: views.Count(counts.Total), Note: "request " + r.State.Label()},
			{Label: "Waiting", Value: views.Count(counts.Waiting + counts.Sending), Note: "for approval or the bank"},
			{Label: "Done", Value: views.Count(counts.Done)},
			{Label: "Refused by the bank", Value: views.Count(counts.Failed), Note: "correct and propose again"}}}
	for _, ch := range rows {
		p.Rows = append(p.Rows, s.vaChangeRow(ch))
	}
	if more {
		q := url.Values{"after": {strconv.FormatInt(rows[len(rows)-1].ID, 10)}}
		if failedOnly {
			q.Set("failed", "1")
		}
		p.NextURL = fmt.Sprintf("/virtual-accounts/requests/%d?%s", id, q.Encode())
	}
	return s.render(c, fiber.StatusOK, views.VARequestPage(p), nil)
}

// vaFieldLabels names a change's fields for people.
var vaFieldLabels = map[string]string{"name": "Name", "purpose": "Purpose", "email": "Payer e-mail", "mobile": "Payer mobile",
	"expires_on": "Expires on", "contact": "Contact", "state": "State"}

// vaChanges is a va_* request's field-level change for the queue and the
// request page, with a note; nil and "" for other kinds.
func (s *Server) vaChanges(ctx context.Context, r db.ApprovalRequest) ([]views.FieldChange, string) {
	if s.VirtualAccounts == nil {
		return nil, ""
	}
	ch, ok := s.VirtualAccounts.RequestChangeOf(r)
	if !ok {
		return nil, ""
	}
	if ch.Count != 1 {
		verb := map[string]string{db.VAOpCreate: "to create", db.VAOpModify: "to change", db.VAOpDelete: "to close"}[ch.Op]
		return []views.FieldChange{{Label: "Accounts " + verb, New: views.Count(ch.Count) + " rows"}},
			"Every row, with the bank's answer once approved, is on the request's accounts page."
	}
	var out []views.FieldChange
	for _, f := range ch.Fields {
		if f.Field == "contact" {
			f.Old, f.New = s.contactName(ctx, f.Old), s.contactName(ctx, f.New)
		}
		out = append(out, views.FieldChange{Label: vaFieldLabels[f.Field], Old: f.Old, New: f.New})
	}
	note := "Account " + ch.Number + "; the bank is asked only after approval."
	return out, note
}

// contactVAs lists a contact's virtual accounts for its page: Paydesk's,
// and the one PayMate gives a synced contact, marked as PayMate's.
func (s *Server) contactVAs(ctx context.Context, ct db.Contact) ([]views.VARow, error) {
	var out []views.VARow
	if s.VirtualAccounts != nil {
		list, err := s.VirtualAccounts.ForContact(ctx, ct.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			out = append(out, vaRow(a))
		}
	}
	if ct.VirtualAccountNo != "" {
		out = append(out, views.VARow{Number: ct.VirtualAccountNo, Name: ct.Name(), Purpose: "IFSC " + ct.VirtualIFSC, State: "active",
			StateKind: "ok", Source: "PayMate's", ContactID: ct.ID, ContactName: ct.Name()})
	}
	return out, nil
}

// contactName names a contact id for a checker: "Nelson Group (CT…)".
func (s *Server) contactName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	if ct, err := s.Contacts.Get(ctx, id); err == nil {
		return ct.Name() + " (" + id + ")"
	}
	return id
}

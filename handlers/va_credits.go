package handlers

import (
	"context"
	"encoding/csv"
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

// Credits to virtual accounts: the list with totals, the unmatched work
// list (attach to an account or contact), a credit's page and the refund
// a maker proposes from it.

func creditRow(k db.Credit) views.CreditRow {
	r := views.CreditRow{ID: k.ID, TxnRef: k.TxnRef, PaidTo: k.VANumber, Account: k.Account, AccountName: k.AccountName,
		ContactID: k.ContactID, ContactName: k.ContactName, RemitterName: k.RemitterName, RemitterAccount: k.RemitterAccount,
		RemitterIFSC: k.RemitterIFSC, Mode: k.Mode, UTR: k.UTR, Amount: views.INR(k.AmountPaise), State: k.State,
		StateKind: views.CreditStateKind(k.State), CreditedAt: views.When(k.CreditedAt)}
	if k.RefundedPaise > 0 {
		r.Refunded = views.INR(k.RefundedPaise)
	}
	return r
}

func refundRow(r db.VARefund) views.RefundRow {
	return views.RefundRow{ID: r.ID, CreditID: r.CreditID, Amount: views.INR(r.AmountPaise), Reason: r.Reason, State: db.RefundLabel(r.State),
		StateKind: views.RefundStateKind(string(r.State)), RefundRef: r.RefundRef, UTR: r.UTR, Message: r.Message, Maker: r.Maker,
		Created: views.When(r.CreatedAt), Updated: views.When(r.UpdatedAt)}
}

func creditFilter(c *fiber.Ctx) (db.CreditFilter, views.CreditsFilter) {
	form := views.CreditsFilter{Query: strings.TrimSpace(c.Query("q")), Account: strings.ToUpper(strings.TrimSpace(c.Query("account"))),
		State: c.Query("state"), Mode: c.Query("mode"), Contact: strings.TrimSpace(c.Query("contact")), From: c.Query("from"), To: c.Query("to"),
		Errors: map[string]string{}}
	if !slices.Contains(db.CreditStates, form.State) {
		form.State = ""
	}
	if !slices.Contains(db.CreditModes, form.Mode) {
		form.Mode = ""
	}
	f := db.CreditFilter{Query: form.Query, Account: form.Account, State: form.State, Mode: form.Mode, ContactID: form.Contact, Limit: 50}
	f.After, _ = strconv.ParseInt(c.Query("after"), 10, 64)
	from, to := dateRange(form.From, form.To, form.Errors)
	f.From, f.To = istDay(from), istDay(to)
	return f, form
}

func creditQuery(form views.CreditsFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": form.Query, "account": form.Account, "state": form.State, "mode": form.Mode,
		"contact": form.Contact, "from": form.From, "to": form.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (s *Server) creditsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, form := creditFilter(c)
	p := views.CreditsProps{Shell: s.shell(c, "Credits", "/credits"), Filter: form, States: db.CreditStates, Modes: db.CreditModes,
		Searched: form.Query != "", Configured: s.VirtualAccounts.Configured()}
	var err error
	if p.Unmatched, err = s.VirtualAccounts.CountUnmatched(ctx); err != nil {
		return err
	}
	q := creditQuery(form)
	p.ExportURL = "/credits.csv?" + q.Encode()
	status := fiber.StatusOK
	if len(form.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	} else {
		list, more, err := s.VirtualAccounts.Credits(ctx, f)
		if err != nil {
			return err
		}
		p.Rows, p.NextURL = onePage(q, "/credits", list, more, creditRow, func(k db.Credit) string { return strconv.FormatInt(k.ID, 10) })
		t, err := s.VirtualAccounts.CreditTotals(ctx, f)
		if err != nil {
			return err
		}
		p.Count, p.Total = views.Count(t.Count), views.INR(t.Paise)
	}
	return s.render(c, status, views.CreditsPage(p), nil)
}

func (s *Server) creditsCSV(c *fiber.Ctx) error {
	f, form := creditFilter(c)
	if len(form.Errors) > 0 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "The filter is not valid.")
	}
	csvHeaders(c, "credits-"+s.DB.Now().UTC().Format("20060102-150405"))
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"txn_ref", "utr", "paid_to", "virtual_account", "account_name", "contact_id", "state", "amount", "refunded_or_waiting",
		"remitter_name", "remitter_account", "remitter_ifsc", "mode", "credited_at_utc", "batch_id"})
	err := s.VirtualAccounts.EachCredit(c.UserContext(), f, func(k db.Credit) error {
		return w.Write([]string{csvSafe(k.TxnRef), csvSafe(k.UTR), csvSafe(k.VANumber), k.Account, csvSafe(k.AccountName), k.ContactID, k.State,
			providers.FormatAmount(k.AmountPaise), providers.FormatAmount(k.RefundedPaise), csvSafe(k.RemitterName), csvSafe(k.RemitterAccount),
			csvSafe(k.RemitterIFSC), csvSafe(k.Mode), k.CreditedAt.UTC().Format(time.RFC3339), csvSafe(k.BatchID)})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

func (s *Server) unmatchedPage(c *fiber.Ctx) error {
	// The link carries the credit's id; its reference comes from the record.
	attached := ""
	if id, err := strconv.ParseInt(c.Query("attached"), 10, 64); err == nil {
		if k, err := s.VirtualAccounts.Credit(c.UserContext(), id); err == nil && k.State == db.CreditAttached {
			attached = k.TxnRef
		}
	}
	return s.renderUnmatched(c, fiber.StatusOK, nil, attached)
}

// renderUnmatched draws the unmatched list; forms holds a refused
// attachment by credit id, shown in its row.
func (s *Server) renderUnmatched(c *fiber.Ctx, status int, forms map[int64]views.AttachForm, attached string) error {
	u := auth(c).user
	p := views.UnmatchedProps{Shell: s.shell(c, "Unmatched credits", "/credits"), CanAttach: u.HasRole(db.RoleAdmin), CSRF: auth(c).csrf(),
		Forms: forms}
	f := db.CreditFilter{State: db.CreditUnmatched, Limit: 50}
	// FormValue reads the query first, then a posted form: a refused
	// attachment sends its page's place in the body.
	if f.After, _ = strconv.ParseInt(c.FormValue("after"), 10, 64); f.After > 0 {
		p.After = strconv.FormatInt(f.After, 10)
	}
	list, more, err := s.VirtualAccounts.Credits(c.UserContext(), f)
	if err != nil {
		return err
	}
	if p.Unmatched, err = s.VirtualAccounts.CountUnmatched(c.UserContext()); err != nil {
		return err
	}
	for _, k := range list {
		p.Rows = append(p.Rows, creditRow(k))
	}
	for id, form := range forms {
		if !slices.ContainsFunc(p.Rows, func(r views.CreditRow) bool { return r.ID == id }) {
			p.Error = attachMessage(form)
		}
	}
	if more {
		p.NextURL = "/credits/unmatched?after=" + strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	if attached != "" {
		p.Notice = "Credit " + attached + " attached."
	}
	return s.render(c, status, views.UnmatchedPage(p), nil)
}

func creditID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, fiber.NewError(fiber.StatusNotFound, "No such credit.")
	}
	return id, nil
}

func (s *Server) attachCredit(c *fiber.Ctx) error {
	id, err := creditID(c)
	if err != nil {
		return err
	}
	form := views.AttachForm{Number: c.FormValue("number"), Contact: c.FormValue("contact")}
	k, err := s.VirtualAccounts.Attach(c.UserContext(), *auth(c).user, id, form.Number, form.Contact)
	if err != nil {
		if code := db.ErrorCode(err); code == db.EINVALID || code == db.ECONFLICT {
			form.Errors = db.FieldErrors(err)
			if len(form.Errors) == 0 {
				form.Error = db.ErrorMessage(err)
			}
			return s.renderUnmatched(c, fiber.StatusUnprocessableEntity, map[int64]views.AttachForm{id: form}, "")
		}
		return err
	}
	return redirect(c, "/credits/unmatched?attached="+strconv.FormatInt(k.ID, 10))
}

// attachFields are an attachment's fields in the form's order.
var attachFields = []string{"number", "contact"}

// attachMessage is a refused attachment in one line, for a credit that has
// no row to show it beside its fields: the fields' messages in the form's
// order, so the same refusal always reads the same.
func attachMessage(f views.AttachForm) string {
	if f.Error != "" {
		return f.Error
	}
	var msgs []string
	for _, name := range attachFields {
		if m := f.Errors[name]; m != "" {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(msgs, " ")
}

func canRefund(u *db.User) bool {
	return u != nil && !u.Disabled && slices.ContainsFunc(db.VARefundRoles, u.HasRole)
}

func (s *Server) creditPage(c *fiber.Ctx) error {
	return s.renderCredit(c, fiber.StatusOK, views.RefundForm{}, "")
}

func (s *Server) renderCredit(c *fiber.Ctx, status int, form views.RefundForm, notice string) error {
	ctx := c.UserContext()
	id, err := creditID(c)
	if err != nil {
		return err
	}
	k, err := s.VirtualAccounts.Credit(ctx, id)
	if err != nil {
		return err
	}
	p := views.CreditDetailProps{Shell: s.shell(c, "Credit "+k.TxnRef, "/credits"), C: creditRow(k), BatchID: k.BatchID,
		ReceivedAt: views.When(k.ReceivedAt), Refundable: views.INR(k.RefundablePaise()), CSRF: auth(c).csrf(), Form: form, Notice: notice,
		CanRefund: canRefund(auth(c).user) && k.RefundablePaise() > 0}
	if p.Form.Errors == nil {
		p.Form.Errors = map[string]string{}
	}
	refunds, err := s.VirtualAccounts.RefundsOf(ctx, id)
	if err != nil {
		return err
	}
	for _, r := range refunds {
		p.Refunds = append(p.Refunds, refundRow(r))
	}
	if req, ok := s.queryRequest(c, "refund", db.VARefundKind); ok && notice == "" &&
		slices.ContainsFunc(refunds, func(r db.VARefund) bool { return r.ID == req.TargetID }) {
		p.Notice = "Refund proposed as request #" + strconv.FormatInt(req.ID, 10) + ". A checker decides it; the bank is asked only after approval."
	}
	events, err := s.VirtualAccounts.CreditTimeline(ctx, id)
	if err != nil {
		return err
	}
	p.Timeline = timelineEntries(events)
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "va_credit:" + strconv.FormatInt(id, 10), Limit: 50})
	if err != nil {
		return err
	}
	p.Audit = auditRows(entries)
	return s.render(c, status, views.CreditDetailPage(p), nil)
}

func (s *Server) proposeRefund(c *fiber.Ctx) error {
	id, err := creditID(c)
	if err != nil {
		return err
	}
	form := views.RefundForm{Amount: c.FormValue("amount"), Reason: c.FormValue("reason")}
	_, req, err := s.VirtualAccounts.ProposeRefund(c.UserContext(), *auth(c).user, id, db.RefundInput{Amount: form.Amount, Reason: form.Reason})
	if err != nil {
		if code := db.ErrorCode(err); code == db.EINVALID || code == db.ECONFLICT {
			form.Errors = db.FieldErrors(err)
			if len(form.Errors) == 0 {
				form.Error = db.ErrorMessage(err)
			}
			return s.renderCredit(c, fiber.StatusUnprocessableEntity, form, "")
		}
		return err
	}
	return redirect(c, "/credits/"+strconv.FormatInt(id, 10)+"?refund="+strconv.FormatInt(req.ID, 10))
}

// creditCards are the home page's figures of credits: today's, and the
// unmatched ones waiting for an admin.
func (s *Server) creditCards(ctx context.Context) ([]views.Card, error) {
	today, err := s.VirtualAccounts.CreditsOn(ctx, s.DB.Now())
	if err != nil {
		return nil, err
	}
	unmatched, err := s.VirtualAccounts.CountUnmatched(ctx)
	if err != nil {
		return nil, err
	}
	return []views.Card{
		{Label: "Credits today", Value: views.INR(today.Paise), Hint: views.CountOf(today.Count, "credit", "credits") + " to virtual accounts", Href: "/credits"},
		{Label: "Unmatched credits", Value: views.CountLabel(unmatched), Hint: "waiting to be attached to an account", Href: "/credits/unmatched"},
	}, nil
}

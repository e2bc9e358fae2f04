package handlers

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/views"
)

// attentionAfter is how long a payout may sit unfinished before the list
// flags it for a person.
const attentionAfter = 30 * time.Minute

// attentionShown is how many payouts needing attention the payouts page
// lists, oldest change first; the panel says how many there are.
const attentionShown = 20

var sourceLabels = map[string]string{db.SourceKotakCMS: "Kotak CMS", db.SourcePayMate: "PayMate"}

func payoutStateKind(s providers.PayoutState) string {
	switch s {
	case providers.StateProcessed:
		return "ok"
	case providers.StateRejected, providers.StateFailed, providers.StateReversed:
		return "bad"
	case providers.StateUnknown, providers.StateCancelled:
		return "warn"
	}
	return "info"
}

func payoutRow(p db.Payout) views.PayoutRow {
	src := sourceLabels[p.Source]
	if src == "" {
		src = p.Source
	}
	row := views.PayoutRow{ID: p.ID, Beneficiary: p.BeneficiaryName, Account: p.AccountNo, Amount: views.INR(p.AmountPaise),
		Rail: string(p.Rail), Source: src, State: string(p.State), StateKind: payoutStateKind(p.State), UTR: p.UTR,
		Maker: p.Maker, Created: views.When(p.CreatedAt)}
	if !p.WaitingForFundsSince.IsZero() {
		row.State, row.StateKind = "waiting for funds at "+src, "warn"
	}
	return row
}

// payoutForm reads the form from value: the posted form, or the query of
// the form re-rendered when the contact changes.
func payoutForm(c *fiber.Ctx, value func(key string, def ...string) string) (db.PayoutInput, views.PayoutForm) {
	in := db.PayoutInput{BeneficiaryName: value("beneficiary_name"), AccountNo: value("account_no"),
		IFSC: value("ifsc"), Amount: value("amount"), Rail: value("rail"), Source: value("source"),
		Purpose: value("purpose"), ValueDate: value("value_date"), ContactID: value("contact")}
	// The picker's buttons: a contact's id, or "none" to enter bank details.
	switch pick := value("pick"); pick {
	case "":
	case "none":
		in.ContactID = ""
	default:
		in.ContactID = pick
	}
	return in, views.PayoutForm{BeneficiaryName: in.BeneficiaryName, AccountNo: in.AccountNo, IFSC: in.IFSC, Amount: in.Amount,
		Rail: in.Rail, Source: in.Source, Purpose: in.Purpose, ValueDate: in.ValueDate, Contact: in.ContactID, CSRF: auth(c).csrf(),
		Picks: views.ContactPicks{Query: strings.TrimSpace(value("contact_q"))}}
}

// maxPayableContacts caps a contact select that lists contacts up front
// (the KS Pay form); the payout form searches instead.
const maxPayableContacts = 200

// maxPicks is how many matches the contact picker lists at once.
const maxPicks = 20

// contactPicks finds the payable contacts matching what was typed.
func (s *Server) contactPicks(ctx context.Context, q string) (views.ContactPicks, error) {
	p := views.ContactPicks{Query: q}
	if q == "" {
		return p, nil
	}
	hasBank := true
	list, more, err := s.Contacts.List(ctx, db.ContactFilter{Query: q, HasBank: &hasBank, Limit: maxPicks})
	if err != nil {
		return p, err
	}
	for _, ct := range list {
		p.Options = append(p.Options, views.Option{Value: ct.ID, Label: contactOptionLabel(ct)})
	}
	p.More = more
	return p, nil
}

// contactSearch answers the payout form's picker as the maker types.
func (s *Server) contactSearch(c *fiber.Ctx) error {
	if !isFragmentRequest(c) {
		return s.newPayoutPage(c) // no script: the whole form, with the matches
	}
	p, err := s.contactPicks(c.UserContext(), strings.TrimSpace(c.Query("contact_q")))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, nil, views.ContactPickerResults(p))
}

// withContacts describes the chosen contact's payable details, or says
// beside the field why it cannot be paid; without one, it lists the
// picker's matches.
func (s *Server) withContacts(c *fiber.Ctx, f views.PayoutForm) (views.PayoutForm, error) {
	ctx := c.UserContext()
	if f.Contact == "" {
		var err error
		f.Picks, err = s.contactPicks(ctx, f.Picks.Query)
		return f, err
	}
	f.ContactLabel = f.Contact
	ct, err := s.Contacts.Get(ctx, f.Contact)
	switch {
	case db.ErrorCode(err) == db.ENOTFOUND:
		f.Errors = withError(f.Errors, "contact", "No such contact.")
		return f, nil
	case err != nil:
		return f, err
	}
	f.ContactLabel = contactOptionLabel(ct)
	account, ifsc, err := s.Contacts.PayableDetails(ctx, ct.ID)
	switch {
	case db.ErrorCode(err) == db.ECONFLICT:
		f.Errors = withError(f.Errors, "contact", db.ErrorMessage(err))
	case err != nil:
		return f, err
	default:
		f.ContactBank = fmt.Sprintf("account %s, IFSC %s", account, ifsc)
	}
	return f, nil
}

func contactOptionLabel(ct db.Contact) string {
	label := ct.Name()
	if ct.HasApprovedBank() {
		label += " · " + db.MaskAccount(ct.ApprovedAccountNo) + " · " + ct.ApprovedIFSC
	}
	if ct.HasPendingBank() {
		label += " · change awaiting approval"
	}
	return label
}

// withError adds one message to a form's errors, keeping any already there.
func withError(errs map[string]string, field, msg string) map[string]string {
	if errs == nil {
		errs = map[string]string{}
	}
	if errs[field] == "" {
		errs[field] = msg
	}
	return errs
}

// newPayoutPage is the form; ?contact=ID starts it paying that contact. The
// picker re-requests it (htmx, with the form's values) to switch between a
// contact and typed bank details, so nothing typed is lost.
func (s *Server) newPayoutPage(c *fiber.Ctx) error {
	_, f := payoutForm(c, c.Query)
	if f.Rail == "" {
		f.Rail = "NEFT"
	}
	if f.Source == "" {
		f.Source = db.SourceKotakCMS
	}
	f, err := s.withContacts(c, f)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.NewPayoutPage(views.NewPayoutProps{Shell: s.shell(c, "Propose a payout", "/payouts"), Form: f}),
		views.PayoutFormPanel(f))
}

// proposePayout validates and proposes; errors go beside their fields and
// everything typed is kept.
func (s *Server) proposePayout(c *fiber.Ctx) error {
	in, form := payoutForm(c, c.FormValue)
	// Warnings are shown on the payout page, recomputed from the database.
	p, _, err := s.Payouts.Propose(c.UserContext(), *auth(c).user, in)
	if err != nil {
		if statusOf(err) >= 500 || db.FieldErrors(err) == nil {
			return err
		}
		form.Errors = db.FieldErrors(err)
		if form, err = s.withContacts(c, form); err != nil {
			return err
		}
		page := views.NewPayoutPage(views.NewPayoutProps{Shell: s.shell(c, "Propose a payout", "/payouts"), Form: form,
			Error: "Nothing was saved. Correct the highlighted fields."})
		return s.render(c, fiber.StatusUnprocessableEntity, page, views.PayoutFormPanel(form))
	}
	return redirect(c, "/payouts/"+p.ID+"?proposed=1")
}

// payoutFilter reads the list's filters; bad values are reported beside
// their fields.
func payoutFilter(c *fiber.Ctx) (db.PayoutFilter, views.PayoutListFilter) {
	form := views.PayoutListFilter{State: c.Query("state"), Source: c.Query("source"), Min: c.Query("min"), Max: c.Query("max"),
		From: c.Query("from"), To: c.Query("to"), Batch: c.Query("batch"), Errors: map[string]string{}}
	f := db.PayoutFilter{State: providers.PayoutState(form.State), Source: form.Source, BatchID: form.Batch, After: c.Query("after"), Limit: 50}
	lo, hi := amountRange(form.Min, form.Max, form.Errors)
	f.MinPaise, f.MaxPaise = orZero(lo), orZero(hi)
	f.From, f.To = dateRange(form.From, form.To, form.Errors)
	return f, form
}

func listQuery(form views.PayoutListFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"state": form.State, "source": form.Source, "min": form.Min, "max": form.Max,
		"from": form.From, "to": form.To, "batch": form.Batch} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

var payoutStates = []string{"pending_approval", "queued", "processing", "processed", "unknown", "failed", "rejected", "cancelled", "reversed"}

func (s *Server) payoutsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, form := payoutFilter(c)
	u := auth(c).user
	p := views.PayoutsProps{Shell: s.shell(c, "Payouts", "/payouts"), Filter: form, States: payoutStates, CanPropose: u.HasRole(db.RoleMaker)}
	q := listQuery(form)
	p.ExportURL = "/payouts.csv?" + q.Encode()
	status := fiber.StatusOK
	if len(form.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	} else {
		list, more, err := s.Payouts.List(ctx, f)
		if err != nil {
			return err
		}
		p.Rows, p.NextURL = onePage(q, "/payouts", list, more, payoutRow, func(x db.Payout) string { return x.ID })
	}
	if f.After == "" {
		attention, n, err := s.Payouts.NeedsAttention(ctx, attentionAfter, attentionShown)
		if err != nil {
			return err
		}
		p.AttentionCount = n
		for _, x := range attention {
			p.Attention = append(p.Attention, payoutRow(x))
		}
	}
	if err := s.markRecovering(c, &p); err != nil {
		return err
	}
	return s.render(c, status, views.PayoutsPage(p), nil)
}

// recoveringShown is how many payouts waiting for recovery the page lists.
const recoveringShown = 20

// markRecovering lists the payouts waiting for recovery after a crash and
// marks them in the page's tables with the time each will be checked.
func (s *Server) markRecovering(c *fiber.Ctx, p *views.PayoutsProps) error {
	if s.Recovery == nil {
		return nil
	}
	ctx := c.UserContext()
	due, err := s.Recovery.AwaitingRecovery(ctx)
	if err != nil || len(due) == 0 {
		return err
	}
	label := func(id string) string {
		at, ok := due[id]
		if !ok {
			return ""
		}
		return "waiting for recovery · checked by " + at.UTC().Format("15:04:05") + " UTC"
	}
	ids := make([]string, 0, len(due))
	for id := range due {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(due[a].Compare(due[b]), strings.Compare(a, b)) })
	for _, id := range ids[:min(len(ids), recoveringShown)] {
		po, _, err := s.Payouts.Get(ctx, id)
		if db.ErrorCode(err) == db.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		row := payoutRow(po)
		row.Recovery = label(id)
		p.Recovering = append(p.Recovering, row)
	}
	for _, rows := range [][]views.PayoutRow{p.Rows, p.Attention} {
		for i := range rows {
			rows[i].Recovery = label(rows[i].ID)
		}
	}
	return nil
}

// payoutsCSV streams the whole filtered set, page by page.
func (s *Server) payoutsCSV(c *fiber.Ctx) error {
	f, form := payoutFilter(c)
	if len(form.Errors) > 0 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "The filter is not valid.")
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="paydesk-payouts-`+s.DB.Now().UTC().Format("20060102-150405")+`.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"id", "created_at_utc", "beneficiary_name", "account_no", "ifsc", "amount", "rail", "source", "state",
		"utr", "provider_code", "failure_reason", "maker", "batch_id"})
	f.Limit, f.After = 500, ""
	for {
		list, more, err := s.Payouts.List(c.UserContext(), f)
		if err != nil {
			return err
		}
		for _, p := range list {
			_ = w.Write([]string{p.ID, p.CreatedAt.UTC().Format(time.RFC3339), csvSafe(p.BeneficiaryName), csvSafe(p.AccountNo), csvSafe(p.IFSC),
				providers.FormatAmount(p.AmountPaise), string(p.Rail), p.Source, string(p.State), csvSafe(p.UTR), csvSafe(p.ProviderCode),
				csvSafe(p.FailureReason), csvSafe(p.Maker), p.BatchID})
		}
		if !more || len(list) == 0 {
			break
		}
		f.After = list[len(list)-1].ID
	}
	w.Flush()
	return w.Error()
}

func (s *Server) payoutPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, events, err := s.Payouts.Get(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	req, _, err := s.Approvals.Get(ctx, p.ApprovalRequestID)
	if err != nil {
		return err
	}
	u := auth(c).user
	d := views.PayoutDetailProps{
		Shell: s.shell(c, "Payout "+p.ID, "/payouts"), P: payoutRow(p), IFSC: p.IFSC, Purpose: p.Purpose, ValueDate: p.ValueDate,
		Reason: p.FailureReason, Code: p.ProviderCode, Message: p.ProviderMessage, ApprovalID: req.ID,
		Approval: fmt.Sprintf("#%d · %s · %s", req.ID, req.State.Label(), progress(req)),
		CanRetry: p.State == providers.StateFailed && (u.HasRole(db.RoleChecker) || u.HasRole(db.RoleAdmin)),
	}
	pc, err := s.Payouts.Context(ctx, p)
	if err != nil {
		return err
	}
	if pc.Duplicates > 0 && !p.State.Final() {
		d.Warnings = append(d.Warnings, "Possible duplicate: "+views.CountOf(pc.Duplicates, "other payout", "other payouts")+" to this account for the same amount within 7 days.")
	}
	if pc.FirstToBeneficiary && !p.State.Final() {
		d.Warnings = append(d.Warnings, "First payout to this beneficiary account.")
	}
	if note := contactBankNote(pc.ContactBank); note != "" && p.State == providers.StatePendingApproval {
		d.Warnings = append(d.Warnings, "The "+note+".")
	}
	if req.Reason != "" && d.Reason == "" {
		d.Reason = req.Reason
	}
	if p.ContactID != "" {
		d.ContactID, d.ContactName = p.ContactID, p.ContactID
		if ct, err := s.Contacts.Get(ctx, p.ContactID); err == nil {
			d.ContactName = ct.Name()
		}
	}
	if p.VendorRequestID != 0 {
		d.VendorOrder, d.VendorRequestID = p.ProviderOrderID, p.VendorRequestID
	}
	if c.Query("proposed") != "" {
		d.Notice = "Proposed. It waits in the approval queue for " + progress(req) + "."
	}
	if c.Query("retried") != "" {
		d.Notice = "Retry started: Paydesk asks the bank first and sends again only if the bank never received it."
	}
	d.NextUp = payoutNext(p, req)
	d.Timeline = timelineEntries(events)
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "payout:" + p.ID, Limit: 100})
	if err != nil {
		return err
	}
	d.Audit = auditRows(entries)
	return s.render(c, fiber.StatusOK, views.PayoutDetailPage(d), nil)
}

// proposeFromVendorRequest turns a vendor's request to be paid into a
// payout proposal; the payout page says what happens next.
func (s *Server) proposeFromVendorRequest(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil || id <= 0 {
		return db.Errorf(db.ENOTFOUND, "No such vendor request.")
	}
	p, _, err := s.Payouts.ProposeFromVendorRequest(c.UserContext(), *auth(c).user, int64(id))
	if err != nil {
		return err
	}
	return redirect(c, "/payouts/"+p.ID+"?proposed=1")
}

// timelineEntries shows a payout's or a request's steps.
func timelineEntries(events []db.Event) []views.TimelineEntry {
	out := make([]views.TimelineEntry, 0, len(events))
	for _, e := range events {
		out = append(out, views.TimelineEntry{At: views.WhenPrecise(e.At), Kind: strings.ReplaceAll(e.Kind, "_", " "),
			State: e.State, Code: e.ProviderCode, Message: e.Message, UTR: e.UTR, Actor: e.Actor})
	}
	return out
}

// payoutNext says who or what moves the payout next.
func payoutNext(p db.Payout, req db.ApprovalRequest) string {
	switch p.State {
	case providers.StatePendingApproval:
		left := req.RequiredApprovals - req.Approvals
		return fmt.Sprintf("%d more %s, not by %s", left, approvalWord(left, req.RequiredRole), req.Maker)
	case providers.StateApproved, providers.StateQueued:
		if !p.WaitingForFundsSince.IsZero() {
			return fmt.Sprintf("Waiting for funds at %s since %s: Paydesk keeps asking and approves it again once the account is funded; nothing needs doing here",
				sourceLabels[p.Source], views.When(p.WaitingForFundsSince))
		}
		return "Paydesk sends it to the bank in the background"
	case providers.StateProcessing:
		return "The bank is processing it; Paydesk keeps asking"
	case providers.StateUnknown:
		return "Paydesk is asking the bank what happened before anything else"
	case providers.StateFailed:
		return "A checker may retry it"
	}
	return "Nothing: it is final"
}

func (s *Server) retryPayout(c *fiber.Ctx) error {
	p, err := s.Payouts.Retry(c.UserContext(), *auth(c).user, c.Params("id"))
	if err != nil {
		return err
	}
	return redirect(c, "/payouts/"+p.ID+"?retried=1")
}

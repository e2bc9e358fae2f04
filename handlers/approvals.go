package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

func since(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func (s *Server) kindLabel(kind string) string {
	if k, ok := s.Approvals.Kind(kind); ok && k.Label != "" {
		return k.Label
	}
	return kind
}

func progress(r db.ApprovalRequest) string {
	return fmt.Sprintf("%d of %d %s", r.Approvals, r.RequiredApprovals, approvalWord(r.RequiredApprovals, r.RequiredRole))
}

func amountText(p *int64) string {
	if p == nil {
		return ""
	}
	return views.INR(*p)
}

func (s *Server) queueRow(c *fiber.Ctx, r db.ApprovalRequest) views.QueueRow {
	changes, _ := s.contactChanges(r)
	if changes == nil {
		changes = s.thresholdChanges(r)
	}
	if changes == nil {
		changes = bandChanges(r)
	}
	if changes == nil {
		changes, _ = s.vaChanges(c.UserContext(), r)
	}
	if changes == nil {
		changes, _ = s.linkCancelChanges(r)
	}
	return views.QueueRow{
		ID: r.ID, KindLabel: s.kindLabel(r.Kind), Summary: r.Summary, Amount: amountText(r.AmountPaise),
		Maker: r.MakerName, Age: since(s.DB.Now(), r.CreatedAt), Progress: progress(r),
		Remaining: max(r.RequiredApprovals-r.Approvals, 0), CSRF: auth(c).csrf(), Changes: changes,
	}
}

// queueFilter reads the queue's filters; bad amounts are reported beside
// their fields.
func queueFilter(c *fiber.Ctx, now time.Time) (db.QueueFilter, views.QueueFilterForm) {
	form := views.QueueFilterForm{Q: strings.TrimSpace(c.Query("q")), Kind: c.Query("kind"), Min: c.Query("min"), Max: c.Query("max"), Maker: c.Query("maker"),
		Age: c.Query("age"), Sort: c.Query("sort", "newest"), Errors: map[string]string{}}
	f := db.QueueFilter{Query: form.Q, Kind: form.Kind, Sort: db.QueueSort(form.Sort), Limit: 50}
	f.MinPaise, f.MaxPaise = amountRange(form.Min, form.Max, form.Errors)
	f.MakerID, _ = strconv.ParseInt(form.Maker, 10, 64)
	if d, err := time.ParseDuration(form.Age); err == nil && d > 0 {
		f.CreatedBefore = now.Add(-d)
	}
	f.After, _ = strconv.ParseInt(c.Query("after"), 10, 64)
	return f, form
}

func (s *Server) queuePage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := *auth(c).user
	now := s.DB.Now()
	f, form := queueFilter(c, now)
	p := views.QueueProps{Shell: s.shell(c, "Approval queue", "/queue"), Filter: form, Low: s.lowBalances(ctx)}
	if s.SecondFactor != nil {
		enrolled, err := s.SecondFactor.Enrolled(ctx, u.ID)
		if err != nil {
			return err
		}
		p.StepUpCode = enrolled
	}
	for _, k := range s.Approvals.Kinds() {
		p.Kinds = append(p.Kinds, views.Option{Value: k.Name, Label: k.Label})
	}
	users, err := s.DB.UserOptions(ctx)
	if err != nil {
		return err
	}
	for _, x := range users {
		if x.ID != u.ID {
			p.Makers = append(p.Makers, views.Option{Value: strconv.FormatInt(x.ID, 10), Label: x.DisplayName})
		}
	}
	if p.Waiting, err = s.waiting(c, u); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"q": form.Q, "kind": form.Kind, "min": form.Min, "max": form.Max, "maker": form.Maker, "age": form.Age, "sort": form.Sort} {
		if v != "" {
			q.Set(k, v)
			p.Hidden = append(p.Hidden, views.Option{Value: "f_" + k, Label: v})
		}
	}
	p.Hidden = append(p.Hidden, views.Option{Value: seenField, Label: strconv.FormatInt(now.UnixMilli(), 10)})
	sort.Slice(p.Hidden, func(i, j int) bool { return p.Hidden[i].Value < p.Hidden[j].Value })
	status := fiber.StatusOK
	if len(form.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	} else {
		items, more, err := s.Approvals.Queue(ctx, u, f)
		if err != nil {
			return err
		}
		for _, it := range items {
			p.Rows = append(p.Rows, s.queueRow(c, it.ApprovalRequest))
		}
		if err := s.addPayoutNotes(c, items, p.Rows); err != nil {
			return err
		}
		if more {
			q.Set("after", strconv.FormatInt(items[len(items)-1].ID, 10))
			p.NextURL = "/queue?" + q.Encode()
		}
	}
	mine, err := s.Approvals.Proposed(ctx, u, 50)
	if err != nil {
		return err
	}
	for _, it := range mine {
		p.Mine = append(p.Mine, s.queueRow(c, it.ApprovalRequest))
	}
	return s.render(c, status, views.QueuePage(p), nil)
}

// contactBankNote tells the checker that approving a payout to a contact
// will be refused, and why.
func contactBankNote(state string) string {
	switch state {
	case "held":
		return "contact's bank details are changing: approval refused until that change is decided"
	case "changed":
		return "contact's approved bank details changed since proposal: reject and propose again"
	}
	return ""
}

// addPayoutNotes puts the checker's context beside each payout in the
// queue: possible duplicates and first payouts to a beneficiary.
func (s *Server) addPayoutNotes(c *fiber.Ctx, items []db.QueueItem, rows []views.QueueRow) error {
	var ids []string
	for _, it := range items {
		if it.Kind == db.PayoutKind {
			ids = append(ids, it.TargetID)
		}
	}
	pcs, err := s.Payouts.QueueContext(c.UserContext(), ids)
	if err != nil {
		return err
	}
	accounts, err := s.payoutAccounts(c.UserContext())
	if err != nil {
		return err
	}
	for i, it := range items {
		pc, ok := pcs[it.TargetID]
		if it.Kind != db.PayoutKind || !ok {
			continue
		}
		if pc.Duplicates > 0 {
			rows[i].Notes = append(rows[i].Notes, views.Option{Value: "bad", Label: fmt.Sprintf("possible duplicate (%d)", pc.Duplicates)})
		}
		if pc.FirstToBeneficiary {
			rows[i].Notes = append(rows[i].Notes, views.Option{Value: "warn", Label: "first payout to this account"})
		}
		if note := contactBankNote(pc.ContactBank); note != "" {
			rows[i].Notes = append(rows[i].Notes, views.Option{Value: "bad", Label: note})
		}
		if a, ok := accounts[pc.Source]; ok && a.Known && it.AmountPaise != nil {
			// What is left once the payouts already approved and this one
			// have gone.
			after := a.AvailableAfterPaise() - *it.AmountPaise
			kind := "info"
			if after < 0 || (a.ThresholdPaise > 0 && after < a.ThresholdPaise) {
				kind = "bad"
			}
			label := "balance after: " + views.INR(after)
			if a.ReservedPaise > 0 {
				label += " (after " + views.INR(a.ReservedPaise) + " reserved)"
			}
			rows[i].Notes = append(rows[i].Notes, views.Option{Value: kind,
				Label: label + " (as of " + a.Last.FetchedAt.UTC().Format("15:04") + " UTC)"})
			if a.ThresholdPaise > 0 && after < a.ThresholdPaise {
				rows[i].Notes = append(rows[i].Notes, views.Option{Value: "bad",
					Label: "takes " + sourceLabels[pc.Source] + " below its low-balance threshold of " + views.INR(a.ThresholdPaise)})
			}
		} else {
			rows[i].Notes = append(rows[i].Notes, views.Option{Value: "", Label: "balance not reported by " + sourceLabels[pc.Source]})
		}
		rows[i].Notes = append(rows[i].Notes, views.Option{Value: "", Label: views.CountOf(rows[i].Remaining, "more approval", "more approvals") + " needed"})
	}
	return nil
}

func requestID64(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, fiber.NewError(fiber.StatusNotFound, "No such request.")
	}
	return id, nil
}

// approvalNotices are what a request's page says after ?done=, by code. The
// link carries only the code, so it cannot put words of its own on the page
// ("Approved. Call … to confirm"); an unknown code says nothing.
var approvalNotices = map[string]string{
	"approved":  "Approved by you",
	"rejected":  "Rejected",
	"withdrawn": "Withdrawn",
	"proposed":  "Proposed; another admin must approve it",
	"retried":   "Retry started: Paydesk reads the bank's pending list and sends the decision again if the item still waits there",
}

// queryRequest is the approval request whose number a redirect put in the
// query under key, when it exists and is of kind; ok is false for anything
// else, so a notice never repeats a number a link made up.
func (s *Server) queryRequest(c *fiber.Ctx, key, kind string) (db.ApprovalRequest, bool) {
	id, err := strconv.ParseInt(c.Query(key), 10, 64)
	if err != nil || id <= 0 {
		return db.ApprovalRequest{}, false
	}
	r, _, err := s.Approvals.Get(c.UserContext(), id)
	return r, err == nil && r.Kind == kind
}

// decide runs one decision and answers with the row (htmx from the queue) or
// the request's page; done is its approvalNotices code.
func (s *Server) decide(c *fiber.Ctx, decision func(u db.User, id int64) (db.ApprovalRequest, error), done string) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	if code := c.FormValue("code"); code != "" {
		if err := s.stepUpWith(c, code); err != nil {
			if statusOf(err) >= 500 {
				return err
			}
			return s.renderApproval(c, id, fiber.StatusUnprocessableEntity, err)
		}
	}
	r, err := decision(*auth(c).user, id)
	if db.ErrorCode(err) == db.ESTEPUP {
		// Its page asks for the code beside Approve and Reject.
		return redirect(c, fmt.Sprintf("/approvals/%d", id))
	}
	if err != nil {
		if isFragmentRequest(c) && db.ErrorCode(err) == db.EINVALID {
			before, _, gerr := s.Approvals.Get(c.UserContext(), id)
			if gerr != nil {
				return gerr
			}
			row := s.queueRow(c, before)
			row.Error = db.ErrorMessage(err)
			if msg := db.FieldErrors(err)["reason"]; msg != "" {
				row.Error = msg
			}
			return s.render(c, fiber.StatusUnprocessableEntity, nil, views.QueueTableRow(row))
		}
		return err
	}
	if isFragmentRequest(c) {
		row := s.queueRow(c, r)
		row.Result, row.ResultKind = resultBadge(r, approvalNotices[done])
		if c.FormValue("from") == "mine" {
			return s.render(c, fiber.StatusOK, nil, views.MineRow(row))
		}
		return s.render(c, fiber.StatusOK, nil, views.QueueTableRow(row))
	}
	return c.Redirect(fmt.Sprintf("/approvals/%d?done=%s", r.ID, done), fiber.StatusSeeOther)
}

func resultBadge(r db.ApprovalRequest, done string) (string, string) {
	switch r.State {
	case db.ApprovalApproved:
		return "Approved", "ok"
	case db.ApprovalRejected:
		return "Rejected", "bad"
	case db.ApprovalCancelled:
		return "Withdrawn", "warn"
	}
	return fmt.Sprintf("%s · %d of %d", done, r.Approvals, r.RequiredApprovals), "info"
}

func (s *Server) approveRequest(c *fiber.Ctx) error {
	return s.decide(c, func(u db.User, id int64) (db.ApprovalRequest, error) {
		return s.Approvals.Approve(c.UserContext(), u, id)
	}, "approved")
}

func (s *Server) rejectRequest(c *fiber.Ctx) error {
	return s.decide(c, func(u db.User, id int64) (db.ApprovalRequest, error) {
		return s.Approvals.Reject(c.UserContext(), u, id, c.FormValue("reason"))
	}, "rejected")
}

func (s *Server) withdrawRequest(c *fiber.Ctx) error {
	return s.decide(c, func(u db.User, id int64) (db.ApprovalRequest, error) {
		return s.Approvals.Withdraw(c.UserContext(), u, id)
	}, "withdrawn")
}

// seenField carries when the queue page was drawn (Unix ms) to a decision on
// all requests matching its filter.
const seenField = "f_seen"

// bulkDecide approves or rejects the selected rows, or every row matching the
// filter as the page showed it (none proposed after it was drawn), in one
// transaction, and shows each row's own outcome in place.
func (s *Server) bulkDecide(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := *auth(c).user
	decision := c.FormValue("decision")
	reason := strings.TrimSpace(c.FormValue("reason"))
	if decision != "approve" && decision != "reject" {
		return fiber.NewError(fiber.StatusBadRequest, "Choose Approve or Reject.")
	}
	if decision == "reject" && reason == "" {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "Give a reason to reject the selected requests.")
	}
	var ids []int64
	allMatching := c.FormValue("all_matching") == "1"
	if allMatching {
		q := url.Values{}
		for _, k := range []string{"q", "kind", "min", "max", "maker", "age", "sort"} {
			q.Set(k, c.FormValue("f_"+k))
		}
		c.Request().URI().SetQueryString(q.Encode())
		f, form := queueFilter(c, s.DB.Now())
		if len(form.Errors) > 0 {
			return fiber.NewError(fiber.StatusUnprocessableEntity, "The filter is not valid.")
		}
		// Only what existed when the page was drawn: a request proposed
		// since then is left for the checker to see first.
		seen, perr := strconv.ParseInt(c.FormValue(seenField), 10, 64)
		if perr != nil || seen <= 0 {
			return fiber.NewError(fiber.StatusUnprocessableEntity, "This page is out of date. Reload the queue, check what the filter shows, and decide again.")
		}
		if until := time.UnixMilli(seen + 1); f.CreatedBefore.IsZero() || until.Before(f.CreatedBefore) {
			f.CreatedBefore = until
		}
		var err error
		if ids, err = s.Approvals.WaitingIDs(ctx, u, f, db.MaxBulkDecisions); err != nil {
			return err
		}
	} else {
		for _, v := range c.Request().PostArgs().PeekMulti("id") {
			if id, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "Select at least one request.")
	}
	if code := c.FormValue("code"); code != "" {
		if err := s.stepUpWith(c, code); err != nil {
			return err
		}
	}
	var results []db.BulkResult
	var err error
	if decision == "approve" {
		results, err = s.Approvals.ApproveMany(ctx, u, ids)
	} else {
		results, err = s.Approvals.RejectMany(ctx, u, ids, reason)
	}
	if db.ErrorCode(err) == db.ESTEPUP {
		return stepUpThen(c, "/queue")
	}
	if err != nil {
		return err
	}
	// Each decided row is answered in place. Deciding all matching the
	// filter (up to 10,000), only the rows the page shows and those that
	// failed are sent: the others are not on the page to be replaced.
	shown := map[int64]bool{}
	for _, v := range c.Request().PostArgs().PeekMulti("shown") {
		if id, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			shown[id] = true
		}
	}
	rows := make([]views.QueueRow, 0, min(len(results), 200))
	ok, failed := 0, 0
	for _, res := range results {
		if res.Err != nil {
			failed++
			if res.Request.ID == 0 {
				continue // no such request: nothing to show
			}
			row := s.queueRow(c, res.Request)
			row.Result, row.ResultKind = "Not done", "bad"
			row.Error = db.ErrorMessage(res.Err)
			rows = append(rows, row)
			continue
		}
		ok++
		if allMatching && !shown[res.Request.ID] {
			continue
		}
		row := s.queueRow(c, res.Request)
		row.Result, row.ResultKind = resultBadge(res.Request, map[string]string{"approve": "Approved by you", "reject": "Rejected"}[decision])
		rows = append(rows, row)
	}
	if !isFragmentRequest(c) {
		return c.Redirect("/queue", fiber.StatusSeeOther)
	}
	verb := map[string]string{"approve": "Approved", "reject": "Rejected"}[decision]
	summary := fmt.Sprintf("%s %s.", verb, views.CountOf(ok, "request", "requests"))
	kind := "ok"
	if failed > 0 {
		summary += fmt.Sprintf(" %d could not be decided; see the rows.", failed)
		kind = "warn"
	}
	return s.render(c, fiber.StatusOK, nil, views.BulkOutcome(kind, summary, rows))
}

func (s *Server) approvalPage(c *fiber.Ctx) error {
	id, err := requestID64(c)
	if err != nil {
		return err
	}
	return s.renderApproval(c, id, fiber.StatusOK, nil)
}

// renderApproval draws request id's page; decideErr, from a decision just
// refused, is shown beside the code field or at the top.
func (s *Server) renderApproval(c *fiber.Ctx, id int64, status int, decideErr error) error {
	ctx := c.UserContext()
	r, decisions, err := s.Approvals.Get(ctx, id)
	if err != nil {
		return err
	}
	u := *auth(c).user
	p := views.ApprovalDetailProps{
		Shell: s.shell(c, s.kindLabel(r.Kind)+" #"+strconv.FormatInt(r.ID, 10), "/queue"),
		ID:    r.ID, KindLabel: s.kindLabel(r.Kind), Summary: r.Summary, Amount: amountText(r.AmountPaise),
		Maker: r.MakerName + " (" + r.Maker + ")", State: r.State.Label(), StateKind: stateKind(r.State),
		Created: views.When(r.CreatedAt), Expires: views.When(r.ExpiresAt), Decided: views.When(r.DecidedAt),
		Rule:     fmt.Sprintf("%d %s", r.RequiredApprovals, approvalWord(r.RequiredApprovals, r.RequiredRole)),
		Progress: progress(r), Reason: r.Reason, Payload: payloadRows(r.Payload),
	}
	if ch := s.thresholdChanges(r); ch != nil {
		p.Changes, p.ChangeTitle = ch, "Threshold: now → proposed"
		p.ChangeNote = "Applies when approved; the balances page and the queue warn below it."
	}
	if ch := bandChanges(r); ch != nil {
		p.Changes, p.ChangeTitle = ch, "Step-up band: now → proposed"
		p.ChangeNote = "Applies when approved: deciding anything above it asks for a fresh code."
	}
	if ch, note := s.vaChanges(ctx, r); ch != nil {
		p.Changes, p.ChangeNote, p.ChangeTitle = ch, note, "Virtual account: now → proposed"
		p.ContactURL, p.ContactName, p.LinkLabel = "/virtual-accounts/requests/"+strconv.FormatInt(r.ID, 10), "each row with the bank's answer", "Accounts"
	}
	if ch, note := s.linkCancelChanges(r); ch != nil {
		p.Changes, p.ChangeNote, p.ChangeTitle = ch, note, "Payment link: now → approved"
		if id, invoice, customer, _, _, ok := db.LinkCancelOf(r); ok {
			p.LinkURL, p.LinkName = "/links/"+id, invoice+" · "+customer
		} else {
			p.ChangeTitle = "Link cancellation threshold: now → proposed"
		}
	}
	if r.Kind == db.ContactBankKind {
		p.Changes, p.ChangeNote = s.contactChanges(r)
		p.ContactURL, p.ContactName = "/contacts/"+r.TargetID, r.TargetID
		if ct, err := s.Contacts.Get(ctx, r.TargetID); err == nil {
			p.ContactName = ct.Name()
		}
	}
	if r.Kind == db.BankPendingKind && s.BankSide != nil {
		if p.Bank, err = s.bankItem(ctx, u, r.TargetID); err != nil {
			return err
		}
	}
	decided := map[int64]bool{}
	for _, d := range decisions {
		decided[d.UserID] = true
		p.Decisions = append(p.Decisions, views.DecisionRow{Who: d.Username, What: d.Decision, Reason: d.Reason, At: views.When(d.At)})
	}
	if r.State == db.ApprovalPending {
		p.NextUp = fmt.Sprintf("%s from a %s other than %s", views.CountOf(r.RequiredApprovals-r.Approvals, "more approval", "more approvals"), r.RequiredRole, r.Maker)
		if len(decisions) > 0 {
			p.NextUp += " and those who already approved"
		}
		p.CanDecide = u.ID != r.MakerID && u.HasRole(r.RequiredRole) && !decided[u.ID]
		p.CanWithdraw = u.ID == r.MakerID
		if p.CanDecide {
			if p.StepUp, err = s.Approvals.NeedsStepUpNow(ctx, u, r); err != nil {
				return err
			}
		}
	} else {
		p.NextUp = "Nobody: " + strings.ToLower(r.State.Label()) + " " + views.When(r.DecidedAt)
	}
	if done := approvalNotices[c.Query("done")]; done != "" {
		p.Notice = done + "."
	}
	if decideErr != nil {
		p.CodeError = db.FieldErrors(decideErr)["code"]
		if p.CodeError == "" {
			p.Error = db.ErrorMessage(decideErr)
		}
	}
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "approval_request:" + strconv.FormatInt(r.ID, 10), Limit: 100})
	if err != nil {
		return err
	}
	p.Audit = auditRows(entries)
	return s.render(c, status, views.ApprovalDetailPage(p), nil)
}

func stateKind(s db.ApprovalState) string {
	switch s {
	case db.ApprovalApproved:
		return "ok"
	case db.ApprovalRejected:
		return "bad"
	case db.ApprovalPending:
		return "info"
	}
	return "warn"
}

// payloadRows flattens a request's payload into label/value pairs.
func payloadRows(raw json.RawMessage) []views.Option {
	fields := views.AuditFields(string(raw))
	out := make([]views.Option, len(fields))
	for i, f := range fields {
		out[i] = views.Option{Value: f.Name, Label: f.New}
		if f.Changed {
			out[i].Label = f.Old + " → " + f.New
		}
	}
	return out
}

// payoutAccounts is each debit account's last figure, reservations and
// threshold, by source, for the queue's risk context. Without the balances
// domain wired, the last figures alone serve (nothing reserved).
func (s *Server) payoutAccounts(ctx context.Context) (map[string]db.Account, error) {
	out := map[string]db.Account{}
	if s.Balances != nil {
		all, err := s.Balances.Accounts(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range all {
			out[a.Source] = a
		}
		return out, nil
	}
	balances, err := s.DB.Balances(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range balances {
		out[b.Source] = db.Account{AccountSpec: db.AccountSpec{Source: b.Source, HasBalance: true}, Known: true, Last: b}
	}
	return out, nil
}

// bankItem says where a bank-side item stands at its bank, with the retry
// for an approval holder when its decision failed to reach the bank.
func (s *Server) bankItem(ctx context.Context, u db.User, target string) (*views.BankItem, error) {
	id, err := strconv.ParseInt(target, 10, 64)
	if err != nil {
		return nil, nil
	}
	it, err := s.BankSide.Get(ctx, id)
	if db.ErrorCode(err) == db.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b := &views.BankItem{State: strings.ReplaceAll(string(it.State), "_", " "), StateKind: "info", Attempts: it.Attempts, LastError: it.LastError}
	switch it.State {
	case db.BankPendingAuthorised:
		b.StateKind = "ok"
	case db.BankPendingAuthoriseFailed:
		b.State, b.StateKind = "failed to reach the bank", "bad"
		if u.HasRole(db.RoleChecker) || u.HasRole(db.RoleAdmin) {
			b.RetryURL = "/bank-side/" + target + "/retry"
		}
	}
	return b, nil
}

// retryBankSide sends a decision that failed to reach the bank again.
func (s *Server) retryBankSide(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	it, err := s.BankSide.Retry(c.UserContext(), *auth(c).user, int64(id))
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/approvals/%d?done=retried", it.ApprovalRequestID))
}

// approvalWord is the noun after a count of approvals by role: "checker
// approval" for 1, "checker approvals" otherwise.
func approvalWord(n int, role db.Role) string {
	return views.Plural(n, string(role)+" approval", string(role)+" approvals")
}

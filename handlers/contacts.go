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
	"paydesk/views"
)

// Contacts: the list, the contact page and the create/edit form. Bank
// details typed here never take effect directly: db.Contacts turns them into
// a 'contact_bank' approval request, and payouts use only what a checker
// approved (db.Contacts.PayableDetails).

var syncLabels = map[string][2]string{ // state → label, badge kind
	db.SyncSynced:   {"Synced", "ok"},
	db.SyncUnsynced: {"Not synced", ""},
	db.SyncFailed:   {"Sync failed", "bad"},
}

// contactFieldLabels names a 'contact_bank' change's fields for people.
var contactFieldLabels = map[string]string{"account_no": "Account number", "ifsc": "IFSC"}

func canManageContacts(u *db.User) bool {
	return u != nil && slices.ContainsFunc(db.ContactManagerRoles, u.HasRole)
}

func contactRow(ct db.Contact) views.ContactRow {
	sync := syncLabels[ct.SyncState]
	if sync[0] == "" {
		sync = [2]string{ct.SyncState, ""}
	}
	return views.ContactRow{ID: ct.ID, Name: ct.Name(), Person: ct.Person(), Kind: string(ct.Kind),
		ReferenceCode: ct.ReferenceCode, AccountNo: ct.ApprovedAccountNo, IFSC: ct.ApprovedIFSC,
		SyncLabel: sync[0], SyncKind: sync[1], SyncError: ct.SyncError, ProviderID: ct.ProviderID}
}

// pendingLink is where a contact's waiting bank change is shown: its request
// page, or the contact's bank section when the request cannot be found.
func (s *Server) pendingLink(ctx context.Context, ct db.Contact) (href, label string, err error) {
	if !ct.HasPendingBank() {
		return "", "", nil
	}
	r, ok, err := s.Approvals.PendingFor(ctx, db.ContactBankKind, ct.ID)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "/contacts/" + ct.ID + "#bank", "", nil
	}
	return "/approvals/" + strconv.FormatInt(r.ID, 10), "request #" + strconv.FormatInt(r.ID, 10), nil
}

// contactFilter reads the list's search and filters. Unknown values are
// dropped rather than matched literally.
func contactFilter(c *fiber.Ctx) (db.ContactFilter, views.ContactListFilter) {
	form := views.ContactListFilter{Query: strings.TrimSpace(c.Query("q")), Kind: c.Query("kind"), Bank: c.Query("bank"), Sync: c.Query("sync")}
	if r := []rune(form.Query); len(r) > 100 {
		form.Query = string(r[:100])
	}
	f := db.ContactFilter{Query: form.Query, After: c.Query("after"), Limit: 50}
	switch db.ContactKind(form.Kind) {
	case db.ContactVendor, db.ContactCustomer:
		f.Kind = db.ContactKind(form.Kind)
	default:
		form.Kind = ""
	}
	switch form.Bank {
	case "yes", "no":
		has := form.Bank == "yes"
		f.HasBank = &has
	default:
		form.Bank = ""
	}
	if _, ok := syncLabels[form.Sync]; ok {
		f.SyncState = form.Sync
	} else {
		form.Sync = ""
	}
	return f, form
}

func contactListQuery(form views.ContactListFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": form.Query, "kind": form.Kind, "bank": form.Bank, "sync": form.Sync} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (s *Server) contactsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, form := contactFilter(c)
	q := contactListQuery(form)
	p := views.ContactsProps{Shell: s.shell(c, "Contacts", "/contacts"), Filter: form, ExportURL: "/contacts.csv?" + q.Encode(),
		CanManage: canManageContacts(auth(c).user), Filtered: len(q) > 0 || f.After != ""}
	list, more, err := s.Contacts.List(ctx, f)
	if err != nil {
		return err
	}
	for _, ct := range list {
		row := contactRow(ct)
		if row.PendingURL, _, err = s.pendingLink(ctx, ct); err != nil {
			return err
		}
		p.Rows = append(p.Rows, row)
	}
	if more && len(list) > 0 {
		q.Set("after", list[len(list)-1].ID)
		p.NextURL = "/contacts?" + q.Encode()
	}
	return s.render(c, fiber.StatusOK, views.ContactsPage(p), nil)
}

// contactsCSV streams every contact matching the filters, page by page.
func (s *Server) contactsCSV(c *fiber.Ctx) error {
	f, _ := contactFilter(c)
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="paydesk-contacts-`+s.DB.Now().UTC().Format("20060102-150405")+`.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"id", "kind", "company_name", "first_name", "last_name", "email", "mobile", "gstin", "reference_code",
		"approved_account_no", "approved_ifsc", "pending_account_no", "pending_ifsc", "allow_old_while_pending",
		"sync_state", "sync_error", "paymate_contact_id", "virtual_account_no", "virtual_ifsc", "created_at_utc", "updated_at_utc"})
	f.Limit, f.After = 200, ""
	for {
		list, more, err := s.Contacts.List(c.UserContext(), f)
		if err != nil {
			return err
		}
		for _, ct := range list {
			_ = w.Write([]string{ct.ID, string(ct.Kind), csvSafe(ct.CompanyName), csvSafe(ct.FirstName), csvSafe(ct.LastName),
				csvSafe(ct.Email), csvSafe(ct.Mobile), csvSafe(ct.GSTIN), csvSafe(ct.ReferenceCode),
				csvSafe(ct.ApprovedAccountNo), csvSafe(ct.ApprovedIFSC), csvSafe(ct.PendingAccountNo), csvSafe(ct.PendingIFSC),
				strconv.FormatBool(ct.AllowOldWhilePending), ct.SyncState, csvSafe(ct.SyncError), csvSafe(ct.ProviderID),
				csvSafe(ct.VirtualAccountNo), csvSafe(ct.VirtualIFSC),
				ct.CreatedAt.UTC().Format(time.RFC3339), ct.UpdatedAt.UTC().Format(time.RFC3339)})
		}
		if !more || len(list) == 0 {
			break
		}
		f.After = list[len(list)-1].ID
	}
	w.Flush()
	return w.Error()
}

// contactInput reads the form's own fields and nothing else: whatever else a
// crafted request adds (approved_account_no…) is never read.
func contactInput(c *fiber.Ctx, editing bool) (db.ContactInput, views.ContactForm) {
	in := db.ContactInput{Kind: db.ContactKind(c.FormValue("kind")), CompanyName: c.FormValue("company_name"),
		FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name"), Email: c.FormValue("email"),
		Mobile: c.FormValue("mobile"), GSTIN: c.FormValue("gstin"), AccountNo: c.FormValue("account_no"), IFSC: c.FormValue("ifsc")}
	if editing {
		// The db keeps the reference code as it was; the choice to keep
		// paying the approved account is a change's, made on edit.
		in.AllowOldWhilePending = c.FormValue("allow_old_while_pending") != ""
	} else {
		in.ReferenceCode = c.FormValue("reference_code")
	}
	form := views.ContactForm{Kind: string(in.Kind), CompanyName: in.CompanyName, FirstName: in.FirstName, LastName: in.LastName,
		Email: in.Email, Mobile: in.Mobile, GSTIN: in.GSTIN, ReferenceCode: in.ReferenceCode, AccountNo: in.AccountNo, IFSC: in.IFSC,
		AllowOldWhilePending: in.AllowOldWhilePending, CSRF: auth(c).csrf()}
	return in, form
}

// withBank adds the contact's bank details as they stand to an edit form.
func (s *Server) withBank(ctx context.Context, form views.ContactForm, ct db.Contact) (views.ContactForm, error) {
	form.ID, form.ReferenceCode = ct.ID, ct.ReferenceCode
	form.ApprovedAccountNo, form.ApprovedIFSC = ct.ApprovedAccountNo, ct.ApprovedIFSC
	form.PendingAccountNo, form.PendingIFSC = ct.PendingAccountNo, ct.PendingIFSC
	var err error
	form.PendingURL, form.PendingLabel, err = s.pendingLink(ctx, ct)
	if form.PendingLabel == "" && form.PendingURL != "" {
		form.PendingURL = "" // the contact's own page: no link from its form to itself
	}
	return form, err
}

func (s *Server) renderContactForm(c *fiber.Ctx, status int, title string, form views.ContactForm) error {
	page := views.ContactFormPage(views.ContactFormProps{Shell: s.shell(c, title, "/contacts"), Title: title, Form: form})
	return s.render(c, status, page, views.ContactFormPanel(form))
}

func (s *Server) newContactPage(c *fiber.Ctx) error {
	form := views.ContactForm{Kind: string(db.ContactVendor), CSRF: auth(c).csrf()}
	return s.renderContactForm(c, fiber.StatusOK, "Add a contact", form)
}

// savedURL is the contact page after a save, with what to tell the person.
func savedURL(id, what string, req *db.ApprovalRequest) string {
	q := url.Values{"saved": {what}}
	if req != nil {
		q.Set("request", strconv.FormatInt(req.ID, 10))
	}
	return "/contacts/" + id + "?" + q.Encode()
}

// saveFailed answers a refused save: field errors beside their fields (422)
// or a waiting change above the form (409), everything typed kept. Other
// errors go to the error handler.
func (s *Server) saveFailed(c *fiber.Ctx, err error, title string, form views.ContactForm) error {
	switch {
	case db.ErrorCode(err) == db.EINVALID && db.FieldErrors(err) != nil:
		form.Errors = db.FieldErrors(err)
		form.Error = "Nothing was saved. Correct the highlighted fields."
		return s.renderContactForm(c, fiber.StatusUnprocessableEntity, title, form)
	case db.ErrorCode(err) == db.ECONFLICT:
		msg := db.ErrorMessage(err) + " Nothing was saved."
		if isFragmentRequest(c) {
			// htmx puts error answers at the top of the page (#alerts);
			// the form stays as typed.
			return s.render(c, fiber.StatusConflict, nil, views.Alert("error", msg))
		}
		form.Error = msg
		return s.renderContactForm(c, fiber.StatusConflict, title, form)
	}
	return err
}

func (s *Server) createContact(c *fiber.Ctx) error {
	in, form := contactInput(c, false)
	ct, req, err := s.Contacts.Create(c.UserContext(), *auth(c).user, in)
	if err != nil {
		return s.saveFailed(c, err, "Add a contact", form)
	}
	return redirect(c, savedURL(ct.ID, "created", req))
}

func (s *Server) editContactPage(c *fiber.Ctx) error {
	ct, err := s.Contacts.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	form := views.ContactForm{Kind: string(ct.Kind), CompanyName: ct.CompanyName, FirstName: ct.FirstName, LastName: ct.LastName,
		Email: ct.Email, Mobile: ct.Mobile, GSTIN: ct.GSTIN, CSRF: auth(c).csrf()}
	if form, err = s.withBank(c.UserContext(), form, ct); err != nil {
		return err
	}
	return s.renderContactForm(c, fiber.StatusOK, "Edit "+ct.Name(), form)
}

func (s *Server) updateContact(c *fiber.Ctx) error {
	ct, err := s.Contacts.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	in, form := contactInput(c, true)
	after, req, err := s.Contacts.Update(c.UserContext(), *auth(c).user, ct.ID, in)
	if err != nil {
		// The bank details shown beside the form are read again: the
		// refusal may be because they changed meanwhile.
		if fresh, gerr := s.Contacts.Get(c.UserContext(), ct.ID); gerr == nil {
			ct = fresh
		}
		form, ferr := s.withBank(c.UserContext(), form, ct)
		if ferr != nil {
			return ferr
		}
		return s.saveFailed(c, err, "Edit "+ct.Name(), form)
	}
	return redirect(c, savedURL(after.ID, "updated", req))
}

// contactNotice says what a save did, from the redirect's query; the request
// is named only if it really is this contact's.
func (s *Server) contactNotice(c *fiber.Ctx, ct db.Contact) string {
	var msg string
	switch c.Query("saved") {
	case "created":
		msg = "Contact added."
	case "updated":
		msg = "Changes saved."
	default:
		return ""
	}
	if id, err := strconv.ParseInt(c.Query("request"), 10, 64); err == nil {
		if r, _, err := s.Approvals.Get(c.UserContext(), id); err == nil && r.Kind == db.ContactBankKind && r.TargetID == ct.ID {
			msg += fmt.Sprintf(" Bank details sent for approval (request #%d).", r.ID)
		}
	}
	return msg
}

func (s *Server) contactPage(c *fiber.Ctx) error {
	ct, err := s.Contacts.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	u := auth(c).user
	p := views.ContactPageProps{Shell: s.shell(c, ct.Name(), "/contacts"), C: contactRow(ct), Email: ct.Email, Mobile: ct.Mobile,
		GSTIN: ct.GSTIN, Created: views.When(ct.CreatedAt), Updated: views.When(ct.UpdatedAt), AllowOld: ct.AllowOldWhilePending,
		VirtualAccount: ct.VirtualAccountNo, VirtualIFSC: ct.VirtualIFSC, CanEdit: canManageContacts(u), Notice: s.contactNotice(c, ct)}
	if p.VirtualAccounts, err = s.contactVAs(ctx, ct); err != nil {
		return err
	}
	p.CreatedBy = "imported from PayMate"
	if ct.CreatedBy != 0 {
		if who, err := s.DB.User(ctx, ct.CreatedBy); err == nil {
			p.CreatedBy = "by " + who.DisplayName
		}
	}
	if ct.HasPendingBank() {
		if p.C.PendingURL, p.PendingLabel, err = s.pendingLink(ctx, ct); err != nil {
			return err
		}
		if p.PendingLabel == "" {
			p.C.PendingURL = ""
		}
		p.Changes = []views.FieldChange{
			{Label: contactFieldLabels["account_no"], Old: ct.ApprovedAccountNo, New: ct.PendingAccountNo},
			{Label: contactFieldLabels["ifsc"], Old: ct.ApprovedIFSC, New: ct.PendingIFSC},
		}
	}
	// The same check a payout to the contact goes through: its message
	// says why payouts are held.
	if _, _, err := s.Contacts.PayableDetails(ctx, ct.ID); err == nil {
		p.Payable = true
		p.CanPropose = u.HasRole(db.RoleMaker)
	} else if db.ErrorCode(err) == db.ECONFLICT {
		p.Held = db.ErrorMessage(err)
	} else {
		return err
	}
	switch {
	case ct.SyncState == db.SyncUnsynced && !ct.HasApprovedBank() && ct.Kind == db.ContactVendor:
		p.SyncHint = "Paydesk adds the contact at PayMate in the background once a checker approves its bank details."
	case ct.SyncState == db.SyncUnsynced:
		p.SyncHint = "Paydesk adds the contact at PayMate in the background."
	}
	payouts, _, err := s.Payouts.List(ctx, db.PayoutFilter{ContactID: ct.ID, Limit: contactPageRecent})
	if err != nil {
		return err
	}
	for _, po := range payouts {
		p.Payouts = append(p.Payouts, payoutRow(po))
	}
	if p.Requests, err = s.contactRequests(ctx, ct.ID); err != nil {
		return err
	}
	if p.Links, err = s.contactLinks(c, ct.ID); err != nil {
		return err
	}
	entries, more, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "contact:" + ct.ID, Limit: 10})
	if err != nil {
		return err
	}
	p.Audit = auditRows(entries)
	if more && u.HasRole(db.RoleAdmin) {
		p.AuditURL = "/admin/audit?target=" + url.QueryEscape("contact:"+ct.ID)
	}
	return s.render(c, fiber.StatusOK, views.ContactPage(p), nil)
}

// contactChanges is a 'contact_bank' request's field-level change for the
// queue and the request page, and what payouts do while it waits; nil and
// "" for other kinds.
func (s *Server) contactChanges(r db.ApprovalRequest) ([]views.FieldChange, string) {
	if s.Contacts == nil {
		return nil, ""
	}
	ch, ok := s.Contacts.BankChangeOf(r)
	if !ok {
		return nil, ""
	}
	var out []views.FieldChange
	for _, f := range ch.Fields {
		label := contactFieldLabels[f.Field]
		if label == "" {
			label = f.Field
		}
		out = append(out, views.FieldChange{Label: label, Old: f.Old, New: f.New})
	}
	switch {
	case ch.First:
		return out, "Payouts to this contact are not possible until these details are approved."
	case ch.KeepOld:
		return out, "While this waits, payouts keep using the current approved details, as the maker chose."
	}
	return out, "While this waits, payouts to this contact are held."
}

// contactPageRecent is how many payouts and payment requests the contact
// page lists; the lists filtered by contact hold the rest.
const contactPageRecent = 10

// contactRequests lists the contact's latest payment requests.
func (s *Server) contactRequests(ctx context.Context, contactID string) ([]views.CollectionRow, error) {
	list, _, err := s.Collections.List(ctx, db.CollectionFilter{ContactID: contactID, Limit: contactPageRecent})
	if err != nil {
		return nil, err
	}
	out := make([]views.CollectionRow, 0, len(list))
	for _, r := range list {
		out = append(out, collectionRow(r))
	}
	return out, nil
}

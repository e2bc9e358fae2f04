package handlers

import (
	"cmp"
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

// maxContactOptions bounds the contact select of the request form.
const maxContactOptions = 1000

func collectionStateKind(s db.CollectionState) string {
	switch s {
	case db.CollectionPaid:
		return "ok"
	case db.CollectionFailed:
		return "bad"
	case db.CollectionExpired, db.CollectionCancelled, db.CollectionUnknown:
		return "warn"
	}
	return "info"
}

func vendorRequestStateKind(s db.VendorRequestState) string {
	switch s {
	case db.VendorRequestPaid:
		return "ok"
	case db.VendorRequestFailed:
		return "bad"
	case db.VendorRequestExpired, db.VendorRequestDismissed:
		return "warn"
	}
	return "info"
}

func collectionRow(r db.CollectionRequest) views.CollectionRow {
	var info []string
	for _, s := range []string{r.PayerEmail, r.PayerMobile} {
		if s != "" {
			info = append(info, s)
		}
	}
	return views.CollectionRow{ID: r.ID, Payer: r.PayerName, PayerInfo: strings.Join(info, " · "), ContactID: r.ContactID,
		Amount: views.INR(r.AmountPaise), Purpose: r.Purpose, State: string(r.State), StateKind: collectionStateKind(r.State),
		UTR: r.UTR, Creator: r.Creator, Created: views.When(r.CreatedAt)}
}

func vendorRequestRow(v db.VendorRequest) views.VendorRequestRow {
	return views.VendorRequestRow{ID: v.ID, OrderID: v.OrderID, ProviderRef: v.ProviderRef, Vendor: v.VendorName,
		ContactID: v.ContactID, ContactName: v.ContactName, Amount: views.INR(v.AmountPaise), Purpose: v.Purpose,
		Requested: views.When(v.RequestedAt), State: string(v.State), StateKind: vendorRequestStateKind(v.State),
		PayoutID: v.PayoutID, DismissedBy: v.DismissedBy, Open: v.State == db.VendorRequestOpen && v.PayoutID == ""}
}

// canCollect: the roles that may request payments and dismiss vendor
// requests (db.CollectionRoles; the database checks again).
func canCollect(u *db.User) bool {
	return u != nil && slices.ContainsFunc(db.CollectionRoles, u.HasRole)
}

var (
	collectionStates    = stringsOf(db.CollectionStates)
	vendorRequestStates = stringsOf(db.VendorRequestStates)
)

// stringsOf lists named string values as plain strings, for selects.
func stringsOf[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func (s *Server) collectionsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	form := collectionFilter(c)
	p := views.CollectionsProps{Shell: s.shell(c, "Collections", "/collections"), Filter: form, States: collectionStates,
		CanCreate: canCollect(auth(c).user), Configured: s.Collections.Configured()}
	list, more, err := s.Collections.List(ctx, db.CollectionFilter{Query: form.Query, State: db.CollectionState(form.State),
		ContactID: form.Contact, After: c.Query("after"), Limit: 50})
	if err != nil {
		return err
	}
	for _, r := range list {
		p.Rows = append(p.Rows, collectionRow(r))
	}
	q := collectionQuery(form)
	p.ExportURL = "/collections.csv?" + q.Encode()
	if more {
		q.Set("after", list[len(list)-1].ID)
		p.NextURL = "/collections?" + q.Encode()
	}
	if p.OpenVendorRequests, err = s.Collections.CountOpenVendorRequests(ctx); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.CollectionsPage(p), nil)
}

// collectionFilter reads the list's filters from the query string.
func collectionFilter(c *fiber.Ctx) views.CollectionListFilter {
	form := views.CollectionListFilter{Query: strings.TrimSpace(c.Query("q")), State: c.Query("state"), Contact: c.Query("contact")}
	if !slices.Contains(collectionStates, form.State) {
		form.State = ""
	}
	return form
}

// collectionQuery is the filter as a query string.
func collectionQuery(form views.CollectionListFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": form.Query, "state": form.State, "contact": form.Contact} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// collectionsCSV streams every request the filter matches, newest first.
func (s *Server) collectionsCSV(c *fiber.Ctx) error {
	form := collectionFilter(c)
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="paydesk-collections-`+s.DB.Now().UTC().Format("20060102-150405")+`.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"id", "created_at_utc", "payer", "email", "mobile", "contact_id", "amount", "purpose", "state",
		"paymate_ref", "utr", "paid_at_utc", "requested_by"})
	f := db.CollectionFilter{Query: form.Query, State: db.CollectionState(form.State), ContactID: form.Contact, Limit: 500}
	for {
		list, more, err := s.Collections.List(c.UserContext(), f)
		if err != nil {
			return err
		}
		for _, r := range list {
			paid := ""
			if !r.PaidAt.IsZero() {
				paid = r.PaidAt.UTC().Format(time.RFC3339)
			}
			_ = w.Write([]string{r.ID, r.CreatedAt.UTC().Format(time.RFC3339), csvSafe(r.PayerName), csvSafe(r.PayerEmail),
				csvSafe(r.PayerMobile), r.ContactID, providers.FormatAmount(r.AmountPaise), csvSafe(r.Purpose), string(r.State),
				csvSafe(r.ProviderRef), csvSafe(r.UTR), paid, csvSafe(r.Creator)})
		}
		if !more || len(list) == 0 {
			break
		}
		f.After = list[len(list)-1].ID
	}
	w.Flush()
	return w.Error()
}

// collectionContactOptions lists contacts for the request form: those
// registered at PayMate can be chosen; the others are shown disabled, with
// the reason.
func (s *Server) collectionContactOptions(c *fiber.Ctx) ([]views.CollectionContactOption, bool, error) {
	var out []views.CollectionContactOption
	f := db.ContactFilter{Limit: 200}
	for {
		list, more, err := s.Contacts.List(c.UserContext(), f)
		if err != nil {
			return nil, false, err
		}
		for _, ct := range list {
			o := views.CollectionContactOption{ID: ct.ID, Label: ct.Name()}
			if ct.Email != "" {
				o.Label += " · " + ct.Email
			}
			if ct.ProviderID == "" {
				o.Label += " (not yet registered at PayMate)"
				o.Disabled = true
			}
			out = append(out, o)
		}
		if !more || len(list) == 0 {
			return out, false, nil
		}
		if len(out) >= maxContactOptions {
			return out, true, nil
		}
		f.After = list[len(list)-1].ID
	}
}

func (s *Server) newCollectionPage(c *fiber.Ctx) error {
	f := views.CollectionForm{CSRF: auth(c).csrf(), Payer: "other", ContactID: c.Query("contact")}
	var err error
	if f.Contacts, f.MoreContacts, err = s.collectionContactOptions(c); err != nil {
		return err
	}
	for _, o := range f.Contacts {
		if !o.Disabled {
			f.Payer = "contact" // some contact can be chosen: offer that first
			break
		}
	}
	return s.render(c, fiber.StatusOK, views.NewCollectionPage(views.NewCollectionProps{
		Shell: s.shell(c, "Request a payment", "/collections"), Form: f, Configured: s.Collections.Configured()}), nil)
}

// createCollection validates and saves the request, and has it sent at
// once. Errors go beside their fields and everything typed is kept.
func (s *Server) createCollection(c *fiber.Ctx) error {
	f := views.CollectionForm{Payer: c.FormValue("payer"), ContactID: c.FormValue("contact_id"), Name: c.FormValue("name"),
		Email: c.FormValue("email"), Mobile: c.FormValue("mobile"), Amount: c.FormValue("amount"),
		Purpose: c.FormValue("purpose"), CSRF: auth(c).csrf()}
	if f.Payer != "contact" && f.Payer != "other" {
		// A form without the choice (a script): a chosen contact decides.
		f.Payer = "other"
		if f.ContactID != "" {
			f.Payer = "contact"
		}
	}
	in := db.CollectionInput{Amount: f.Amount, Purpose: f.Purpose}
	if f.Payer == "contact" {
		// None picked: the payer fields are then missing, which is
		// reported beside the select below.
		in.ContactID = f.ContactID
	} else {
		in.Name, in.Email, in.Mobile = f.Name, f.Email, f.Mobile
	}
	cr, err := s.Collections.Create(c.UserContext(), *auth(c).user, in)
	if err != nil {
		fields := db.FieldErrors(err)
		if statusOf(err) >= 500 || fields == nil {
			return err
		}
		f.Errors = fields
		if f.Payer == "contact" && strings.TrimSpace(f.ContactID) == "" {
			f.Errors = map[string]string{"contact_id": "Choose a contact, or choose \"Someone not registered\"."}
			for k, v := range fields {
				if k != "contact_id" && k != "name" && k != "email" && k != "mobile" {
					f.Errors[k] = v
				}
			}
		}
		f.Error = "Nothing was saved. Correct the highlighted fields."
		if f.Contacts, f.MoreContacts, err = s.collectionContactOptions(c); err != nil {
			return err
		}
		page := views.NewCollectionPage(views.NewCollectionProps{Shell: s.shell(c, "Request a payment", "/collections"),
			Form: f, Configured: s.Collections.Configured()})
		return s.render(c, fiber.StatusUnprocessableEntity, page, views.CollectionFormPanel(f))
	}
	return redirect(c, "/collections/"+cr.ID+"?created=1")
}

// collectionNext says who or what moves the request next.
func collectionNext(r db.CollectionRequest, configured bool) string {
	switch {
	case r.State == db.CollectionQueued && !configured:
		return "Waits here until PayMate is configured"
	case r.State == db.CollectionQueued && r.SentAt.IsZero():
		return "Paydesk sends it to PayMate in the background"
	case r.State == db.CollectionQueued:
		return "PayMate has not confirmed it yet; Paydesk asks before sending it again"
	case r.State == db.CollectionUnknown:
		return "Paydesk is asking PayMate what happened before anything else"
	case r.State == db.CollectionPending:
		return "The payer pays through PayMate; Paydesk asks until it is paid or lapses"
	}
	return "Nothing: it is final"
}

func (s *Server) collectionPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r, events, err := s.Collections.Get(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	d := views.CollectionDetailProps{Shell: s.shell(c, "Payment request "+r.ID, "/collections"), R: collectionRow(r),
		Email: r.PayerEmail, Mobile: r.PayerMobile, ProviderRef: r.ProviderRef, Code: r.ProviderCode, Message: r.ProviderMessage,
		PaidAt: "Not paid yet", SentAt: views.When(r.SentAt), Attempts: r.Attempts, NextUp: collectionNext(r, s.Collections.Configured()),
		Configured: s.Collections.Configured()}
	if !r.State.Final() {
		d.LastError = r.LastError
	}
	if !r.PaidAt.IsZero() {
		d.PaidAt = "Paid " + views.When(r.PaidAt)
	}
	if c.Query("created") != "" && !r.State.Final() {
		d.Notice = "Saved. Paydesk sends it to PayMate in the background and follows it on this page."
	}
	d.Timeline = timelineEntries(events)
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "collection_request:" + r.ID, Limit: 100})
	if err != nil {
		return err
	}
	d.Audit = auditRows(entries)
	if !r.State.Final() {
		d.PollURL = "/collections/" + url.PathEscape(r.ID)
	}
	return s.render(c, fiber.StatusOK, views.CollectionDetailPage(d), views.CollectionLive(d))
}

func (s *Server) vendorRequestsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := auth(c).user
	state := c.Query("state", string(db.VendorRequestOpen))
	if !slices.Contains(vendorRequestStates, state) {
		state = "" // "all", or anything unknown: every state
	}
	p := views.VendorRequestsProps{Shell: s.shell(c, "Vendors asking to be paid", "/collections"), State: state,
		States: vendorRequestStates, CanPropose: u.HasRole(db.RoleMaker), CanDismiss: canCollect(u),
		Configured: s.Collections.Configured()}
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	list, more, err := s.Collections.ListVendorRequests(ctx, db.VendorRequestFilter{State: db.VendorRequestState(state), After: after, Limit: 50})
	if err != nil {
		return err
	}
	for _, v := range list {
		p.Rows = append(p.Rows, vendorRequestRow(v))
	}
	if more {
		q := url.Values{}
		q.Set("state", cmp.Or(state, "all"))
		q.Set("after", strconv.FormatInt(list[len(list)-1].ID, 10))
		p.NextURL = "/collections/vendor-requests?" + q.Encode()
	}
	if id := c.Query("dismissed"); id != "" {
		p.Notice = "Vendor request dismissed in Paydesk. Nothing was sent to PayMate."
	}
	return s.render(c, fiber.StatusOK, views.VendorRequestsPage(p), nil)
}

func (s *Server) dismissVendorRequest(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, "No such vendor request.")
	}
	v, err := s.Collections.DismissVendorRequest(c.UserContext(), *auth(c).user, id)
	if err != nil {
		return err
	}
	return redirect(c, "/collections/vendor-requests?dismissed="+strconv.FormatInt(v.ID, 10))
}

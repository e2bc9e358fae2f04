package handlers

import (
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

// Payment links and the invoice templates they are made from (NTT DATA).
// The provider's notification that a link was paid or expired arrives at
// POST /links/notify: no session and no CSRF token (the provider has
// neither), its signature checked by the store.

func linkStateKind(s db.LinkState) string {
	switch s {
	case db.LinkPaid:
		return "ok"
	case db.LinkFailed, db.LinkCancelled:
		return "bad"
	case db.LinkExpired:
		return "warn"
	}
	return "info"
}

func linkRow(k db.PaymentLink) views.LinkRow {
	r := views.LinkRow{ID: k.ID, InvoiceNo: k.InvoiceNo, Template: k.TemplateName, Customer: k.CustomerName, Contact: k.ContactID,
		Amount: views.INR(k.AmountPaise), Due: k.DueDate, State: string(k.State), StateKind: linkStateKind(k.State),
		Created: views.When(k.CreatedAt), Maker: k.Maker}
	switch {
	case k.State == db.LinkPaid:
		r.StateNote = views.When(k.PaidAt)
		if k.BankRef != "" {
			r.StateNote += " · " + k.BankRef
		}
	case k.CancelRequestID != 0:
		r.StateNote = "cancellation waits for approval"
	case k.Action == "cancel":
		r.StateNote = "cancelling at NTT DATA"
	case k.Action == "resend":
		r.StateNote = "resending"
	case k.State == db.LinkFailed:
		r.StateNote = refusal(k.ProviderCode, k.ProviderMessage)
	}
	return r
}

// linkCount counts links in words: "1 link", "2,000 links"; noun is what
// kind ("payment link").
func linkCount(n int, noun ...string) string {
	what := "link"
	if len(noun) > 0 {
		what = noun[0]
	}
	if n == 1 {
		return "1 " + what
	}
	return views.Count(n) + " " + what + "s"
}

func refusal(code, msg string) string {
	if code == "" {
		return msg
	}
	return msg + " (" + code + ")"
}

var linkStates = stringsOf(db.LinkStates)

func linkFilter(c *fiber.Ctx) (db.LinkFilter, views.LinkFilterForm) {
	form := views.LinkFilterForm{Query: strings.TrimSpace(c.Query("q")), State: c.Query("state"), Template: c.Query("template"),
		Contact: c.Query("contact"), Min: c.Query("min"), Max: c.Query("max"), DueFrom: c.Query("due_from"), DueTo: c.Query("due_to"),
		Errors: map[string]string{}}
	if !slices.Contains(linkStates, form.State) {
		form.State = ""
	}
	f := db.LinkFilter{Query: form.Query, State: db.LinkState(form.State), TemplateID: form.Template, ContactID: form.Contact,
		After: c.Query("after"), Limit: 50}
	lo, hi := amountRange(form.Min, form.Max, form.Errors)
	f.MinPaise, f.MaxPaise = orZero(lo), orZero(hi)
	from, to := dateRange(form.DueFrom, form.DueTo, form.Errors)
	if !from.IsZero() {
		f.DueFrom = from.Format("2006-01-02")
	}
	if !to.IsZero() {
		f.DueTo = to.AddDate(0, 0, -1).Format("2006-01-02") // dateRange's end is exclusive
	}
	// dateRange names its errors from and to.
	for src, dst := range map[string]string{"from": "due_from", "to": "due_to"} {
		if msg, ok := form.Errors[src]; ok {
			form.Errors[dst] = msg
			delete(form.Errors, src)
		}
	}
	return f, form
}

func linkQuery(form views.LinkFilterForm) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": form.Query, "state": form.State, "template": form.Template, "contact": form.Contact,
		"min": form.Min, "max": form.Max, "due_from": form.DueFrom, "due_to": form.DueTo} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func canMakeLinks(u *db.User) bool { return u != nil && slices.ContainsFunc(db.LinkRoles, u.HasRole) }

func (s *Server) templateOptions(c *fiber.Ctx, usableOnly bool) ([]views.Option, []db.LinkTemplate, error) {
	ts, err := s.Links.Templates(c.UserContext())
	if err != nil {
		return nil, nil, err
	}
	var out []views.Option
	for _, t := range ts {
		if usableOnly && !t.Usable() {
			continue
		}
		out = append(out, views.Option{Value: t.ID, Label: t.Name + " (" + t.ID + ")"})
	}
	return out, ts, nil
}

// contactOptions lists the first maxPayableContacts contacts for a select,
// and selected first when it is not among them: a contact further down the
// alphabet, reached from its own page (/links?contact=…), must show as the
// filter in force, or the next Filter would silently drop it.
func (s *Server) contactOptions(c *fiber.Ctx, selected string) ([]views.Option, error) {
	if s.Contacts == nil {
		return nil, nil
	}
	ctx := c.UserContext()
	list, _, err := s.Contacts.List(ctx, db.ContactFilter{Limit: maxPayableContacts})
	if err != nil {
		return nil, err
	}
	out := make([]views.Option, 0, len(list)+1)
	for _, ct := range list {
		out = append(out, views.Option{Value: ct.ID, Label: ct.Name()})
	}
	if selected == "" || slices.ContainsFunc(out, func(o views.Option) bool { return o.Value == selected }) {
		return out, nil
	}
	chosen := views.Option{Value: selected, Label: selected + " (no such contact)"}
	switch ct, err := s.Contacts.Get(ctx, selected); {
	case err == nil:
		chosen.Label = ct.Name()
	case db.ErrorCode(err) != db.ENOTFOUND:
		return nil, err
	}
	return append([]views.Option{chosen}, out...), nil
}

func (s *Server) linksPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, form := linkFilter(c)
	u := auth(c).user
	p := views.LinksProps{Shell: s.shell(c, "Payment links", "/links"), Filter: form, States: linkStates, CanCreate: canMakeLinks(u),
		Configured: s.Links.Configured(), Order: string(f.Order())}
	var err error
	if p.Templates, _, err = s.templateOptions(c, false); err != nil {
		return err
	}
	if p.Contacts, err = s.contactOptions(c, form.Contact); err != nil {
		return err
	}
	if p.Threshold, err = s.linkThreshold(c); err != nil {
		return err
	}
	q := linkQuery(form)
	p.ExportURL = "/links.csv?" + q.Encode()
	status := fiber.StatusOK
	if len(form.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	} else {
		list, more, err := s.Links.List(ctx, f)
		if err != nil {
			return err
		}
		p.Rows, p.NextURL = onePage(q, "/links", list, more, linkRow, func(k db.PaymentLink) string { return k.ID })
		t, err := s.Links.Totals(ctx, f)
		if err != nil {
			return err
		}
		paid, open := t.ByState[db.LinkPaid], t.Outstanding()
		p.Totals = views.LinkTotalsView{Links: views.Count(t.Links), Amount: views.INR(t.AmountPaise), Paid: views.INR(paid.Paise),
			PaidCount: linkCount(paid.Count), Outstanding: views.INR(open.Paise), OpenCount: linkCount(open.Count), Capped: t.Capped}
	}
	return s.render(c, status, views.LinksPage(p), nil)
}

func (s *Server) linkThreshold(c *fiber.Ctx) (views.LinkThresholdView, error) {
	t, err := s.Links.CancelThreshold(c.UserContext())
	if err != nil {
		return views.LinkThresholdView{}, err
	}
	v := views.LinkThresholdView{Amount: views.INR(t.Paise), SetBy: t.SetBy, Pending: t.Pending, CSRF: auth(c).csrf(),
		CanSet: auth(c).user.HasRole(db.RoleAdmin), Value: providers.FormatAmount(t.Paise)}
	if !t.SetAt.IsZero() {
		v.SetAt = views.When(t.SetAt)
	}
	if v.SetBy == "system" {
		v.SetBy, v.SetAt = "", "" // the default
	}
	switch c.Query("threshold") {
	case "applied":
		v.Notice = "The threshold was changed."
	case "proposed":
		v.Notice = "The change waits for another admin's approval."
	case "again":
		// Back from the step-up a change asked for (setLinkThreshold): the
		// form holds what was typed, to be sent again.
		if typed := c.Query("amount"); typed != "" {
			v.Value = typed
			v.Unsaved = "The threshold is not changed yet: what you typed is in the form below; press Change threshold to change it."
		}
	}
	return v, nil
}

// linksCSV streams the whole filtered set.
func (s *Server) linksCSV(c *fiber.Ctx) error {
	f, form := linkFilter(c)
	if len(form.Errors) > 0 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "The filter is not valid.")
	}
	csvHeaders(c, "payment-links-"+s.DB.Now().UTC().Format("20060102-150405"))
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"id", "invoice_no", "template_id", "template", "customer", "email", "mobile", "amount", "due_date", "state",
		"paid_at_utc", "bank_ref", "resends", "link", "created_at_utc", "maker"})
	err := s.Links.Each(c.UserContext(), f, func(k db.PaymentLink) error {
		paid := ""
		if !k.PaidAt.IsZero() {
			paid = k.PaidAt.UTC().Format(time.RFC3339)
		}
		return w.Write([]string{k.ID, csvSafe(k.InvoiceNo), csvSafe(k.TemplateID), csvSafe(k.TemplateName), csvSafe(k.CustomerName), csvSafe(k.CustomerEmail),
			csvSafe(k.CustomerMobile), providers.FormatAmount(k.AmountPaise), k.DueDate, string(k.State), paid, csvSafe(k.BankRef),
			strconv.Itoa(k.Resends), csvSafe(k.URL), k.CreatedAt.UTC().Format(time.RFC3339), csvSafe(k.Maker)})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

// ---- templates ----

func amountRules(t db.LinkTemplate) string {
	switch {
	case t.MinPaise > 0 && t.MaxPaise > 0:
		return views.INR(t.MinPaise) + " to " + views.INR(t.MaxPaise)
	case t.MinPaise > 0:
		return "at least " + views.INR(t.MinPaise)
	case t.MaxPaise > 0:
		return "up to " + views.INR(t.MaxPaise)
	}
	return "any, up to NTT DATA's limit"
}

func templateRow(t db.LinkTemplate) views.TemplateRow {
	r := views.TemplateRow{ID: t.ID, Name: t.Name, Fields: len(t.Fields), Amounts: amountRules(t), Version: t.Version,
		Changed: views.When(t.ChangedAt), Active: t.Active, Problem: t.Problem, Refreshed: views.When(t.RefreshedAt)}
	for _, f := range t.Fields {
		if f.Required {
			r.Required = append(r.Required, f.Label)
		}
	}
	return r
}

func (s *Server) templatesPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	ts, err := s.Links.Templates(ctx)
	if err != nil {
		return err
	}
	u := auth(c).user
	p := views.TemplatesProps{Shell: s.shell(c, "Invoice templates", "/links"), CanRefresh: canMakeLinks(u), CanCreate: canMakeLinks(u),
		Configured: s.Links.Configured(), CSRF: auth(c).csrf()}
	for _, t := range ts {
		p.Rows = append(p.Rows, templateRow(t))
	}
	r, err := s.Links.LastRefresh(ctx)
	if err != nil {
		return err
	}
	if !r.OKAt.IsZero() {
		p.Refreshed = views.When(r.OKAt)
	}
	p.RefreshErr = r.Error
	if c.Query("refreshing") != "" {
		p.Notice = "Paydesk is reading the templates from NTT DATA in the background; reload in a few seconds."
	}
	return s.render(c, fiber.StatusOK, views.TemplatesPage(p), nil)
}

// refreshTemplates asks the background loop to read the templates now: a
// provider is never called while a person waits on a click.
func (s *Server) refreshTemplates(c *fiber.Ctx) error {
	s.Links.RefreshSoon()
	return redirect(c, "/templates?refreshing=1")
}

var fieldTypeLabels = map[string]string{providers.FieldText: "text", providers.FieldNumber: "a whole number",
	providers.FieldDate: "date", providers.FieldEmail: "email address"}

func (s *Server) templatePage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, err := s.Links.Template(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	p := views.TemplateProps{Shell: s.shell(c, t.Name, "/links"), T: templateRow(t), CanCreate: canMakeLinks(auth(c).user),
		LinksURL: "/links?template=" + url.QueryEscape(t.ID)}
	for _, f := range t.Fields {
		row := views.TemplateFieldRow{Name: f.Name, Label: f.Label, Type: fieldTypeLabels[f.Type], Required: f.Required, Default: f.Default}
		if f.MaxLength > 0 {
			row.Limit = "up to " + strconv.Itoa(f.MaxLength) + " characters"
		}
		p.Fields = append(p.Fields, row)
	}
	list, _, err := s.Links.List(ctx, db.LinkFilter{TemplateID: t.ID, Limit: 10})
	if err != nil {
		return err
	}
	for _, k := range list {
		p.Links = append(p.Links, linkRow(k))
	}
	return s.render(c, fiber.StatusOK, views.TemplatePage(p), nil)
}

// ---- making a link ----

var sendByLabels = map[string]string{providers.SendEmail: "Email the link", providers.SendSMS: "Text the link by SMS",
	providers.SendEmailSMS: "Email and SMS", providers.SendNone: "Don't send: I'll show or share the link myself"}

func linkInputOf(c *fiber.Ctx, value func(key string, def ...string) string) db.LinkInput {
	in := db.LinkInput{TemplateID: value("template_id"), ContactID: value("contact_id"), CustomerName: value("customer_name"),
		CustomerEmail: value("customer_email"), CustomerMobile: value("customer_mobile"), SendBy: value("send_by"),
		Amount: value("amount"), DueDate: value("due_date"), Fields: map[string]string{}}
	if in.TemplateID == "" {
		in.TemplateID = value("template")
	}
	return in
}

// linkForm builds the form for in: the template's fields as typed inputs
// with their limits beside them, the contact's details filled where empty.
func (s *Server) linkForm(c *fiber.Ctx, in db.LinkInput, errs map[string]string, fill bool) (views.LinkForm, error) {
	ctx := c.UserContext()
	f := views.LinkForm{Template: in.TemplateID, Contact: in.ContactID, CustomerName: in.CustomerName, CustomerEmail: in.CustomerEmail,
		CustomerMobile: in.CustomerMobile, Amount: in.Amount, DueDate: in.DueDate, SendBy: in.SendBy, Errors: errs, CSRF: auth(c).csrf()}
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	now := s.DB.Now()
	f.MinDue = db.ISTDay(now)
	if f.DueDate == "" && !fill {
		f.DueDate = db.ISTDay(now.AddDate(0, 0, 7))
	}
	if f.SendBy == "" {
		f.SendBy = providers.SendEmail
	}
	for _, o := range db.SendByOptions {
		f.SendByOptions = append(f.SendByOptions, views.Option{Value: o, Label: sendByLabels[o]})
	}
	var err error
	var ts []db.LinkTemplate
	if f.Templates, ts, err = s.templateOptions(c, true); err != nil {
		return f, err
	}
	if f.Contacts, err = s.contactOptions(c, in.ContactID); err != nil {
		return f, err
	}
	if len(ts) == 0 {
		f.Error = "No usable templates yet: Paydesk reads them from NTT DATA in the background. Try again in a minute, or see Invoice templates."
	}
	if in.ContactID != "" && s.Contacts != nil && fill {
		if ct, err := s.Contacts.Get(ctx, in.ContactID); err == nil {
			if strings.TrimSpace(f.CustomerName) == "" {
				f.CustomerName = ct.Name()
			}
			if strings.TrimSpace(f.CustomerEmail) == "" {
				f.CustomerEmail = ct.Email
			}
			if strings.TrimSpace(f.CustomerMobile) == "" {
				f.CustomerMobile = ct.Mobile
			}
		}
	}
	f.AmountHint = "In rupees, exact to the paisa; up to NTT DATA's limit"
	i := slices.IndexFunc(ts, func(t db.LinkTemplate) bool { return t.ID == in.TemplateID })
	if i < 0 {
		return f, nil
	}
	t := ts[i]
	f.AmountHint = "In rupees, exact to the paisa; this template takes " + amountRules(t)
	f.TemplateNote = strconv.Itoa(len(t.Fields)) + " fields from NTT DATA's console, version " + strconv.Itoa(t.Version)
	for _, tf := range t.Fields {
		key := db.TemplateFieldKey(tf.Name)
		v, typed := in.Fields[tf.Name]
		if !typed && tf.UseDefault {
			v = tf.Default
		}
		x := views.LinkFormField{Key: key, ID: "lf-" + tf.Name, Label: tf.Label, Value: v, Required: tf.Required, Max: tf.MaxLength,
			Error: f.Errors[key]}
		if x.Label == "" {
			x.Label = tf.Name
		}
		x.Type = map[string]string{providers.FieldNumber: "number", providers.FieldDate: "date", providers.FieldEmail: "email"}[tf.Type]
		if x.Type == "" {
			x.Type = "text"
		}
		x.Hint = strings.Join(fieldRules(tf), " · ")
		x.Hint = strings.ToUpper(x.Hint[:1]) + x.Hint[1:]
		f.Fields = append(f.Fields, x)
	}
	return f, nil
}

// fieldRules are the provider's rules for a template field, in words: its
// type, its length limit, and whether it must be filled. The form shows
// them beside the field; the bulk CSV documents its column with them.
func fieldRules(tf providers.TemplateField) []string {
	var out []string
	if tf.Type != providers.FieldText {
		out = append(out, fieldTypeLabels[tf.Type])
	}
	if tf.MaxLength > 0 && tf.Type != providers.FieldDate {
		out = append(out, "up to "+strconv.Itoa(tf.MaxLength)+" characters")
	}
	switch {
	case tf.Required:
		out = append(out, "required by the template")
	case tf.UseDefault:
		out = append(out, "left empty, NTT DATA uses “"+tf.Default+"”")
	default:
		out = append(out, "optional")
	}
	return out
}

// templateFieldsOf reads the template fields from the form (f_<name>).
func templateFieldsOf(c *fiber.Ctx, in *db.LinkInput, value func(key string, def ...string) string, t db.LinkTemplate) {
	for _, tf := range t.Fields {
		key := db.TemplateFieldKey(tf.Name)
		if v := value(key); v != "" || formHas(c, key) {
			in.Fields[tf.Name] = v
		}
	}
}

// formHas reports whether the request carries key (an emptied field is
// kept empty, not refilled with its default).
func formHas(c *fiber.Ctx, key string) bool {
	if c.Method() == fiber.MethodGet {
		return c.Context().QueryArgs().Has(key)
	}
	return c.Context().PostArgs().Has(key)
}

// newLinkPage is the form; choosing a template or contact re-requests it
// (htmx) with what was typed.
func (s *Server) newLinkPage(c *fiber.Ctx) error {
	in := linkInputOf(c, c.Query)
	if in.TemplateID != "" {
		if t, err := s.Links.Template(c.UserContext(), in.TemplateID); err == nil {
			templateFieldsOf(c, &in, c.Query, t)
		}
	}
	f, err := s.linkForm(c, in, nil, c.Get("HX-Request") == "true")
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.NewLinkPage(views.NewLinkProps{Shell: s.shell(c, "New payment link", "/links"), Form: f,
		Configured: s.Links.Configured()}), views.LinkFormPanel(f))
}

func (s *Server) createLink(c *fiber.Ctx) error {
	in := linkInputOf(c, c.FormValue)
	if t, err := s.Links.Template(c.UserContext(), in.TemplateID); err == nil {
		templateFieldsOf(c, &in, c.FormValue, t)
	}
	k, err := s.Links.Create(c.UserContext(), *auth(c).user, in)
	if err != nil {
		fields := db.FieldErrors(err)
		if statusOf(err) >= 500 || fields == nil {
			return err
		}
		f, ferr := s.linkForm(c, in, fields, true)
		if ferr != nil {
			return ferr
		}
		f.Error = "Nothing was saved. Correct the highlighted fields; everything you typed is kept."
		page := views.NewLinkPage(views.NewLinkProps{Shell: s.shell(c, "New payment link", "/links"), Form: f, Configured: s.Links.Configured()})
		return s.render(c, fiber.StatusUnprocessableEntity, page, views.LinkFormPanel(f))
	}
	return redirect(c, "/links/"+k.ID+"?created=1")
}

// ---- one link ----

func linkNext(k db.PaymentLink, configured bool) string {
	switch {
	case !configured && (k.State == db.LinkCreating || k.Action != ""):
		return "Waits here until NTT DATA link payments are configured"
	case k.State == db.LinkCreating:
		return "Paydesk asks NTT DATA for the invoice in the background"
	case k.Action == "resend":
		return "Paydesk asks NTT DATA to send the link again"
	case k.Action == "cancel":
		return "Paydesk cancels the invoice at NTT DATA"
	case k.CancelRequestID != 0:
		return "A second person approves or rejects the cancellation"
	case k.State.Open():
		return "The customer pays by the link; NTT DATA notifies Paydesk"
	}
	return "Nothing: it is final"
}

var sendByDone = map[string]string{providers.SendEmail: "NTT DATA emails the link to the customer",
	providers.SendSMS: "NTT DATA texts the link to the customer", providers.SendEmailSMS: "NTT DATA emails and texts the link to the customer",
	providers.SendNone: "Not sent by NTT DATA: show or share it yourself"}

func (s *Server) linkPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	k, events, err := s.Links.Get(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderLink(c, k, events, fiber.StatusOK, "")
}

func (s *Server) renderLink(c *fiber.Ctx, k db.PaymentLink, events []db.Event, status int, problem string) error {
	ctx := c.UserContext()
	u := auth(c).user
	title := k.InvoiceNo
	if title == "" {
		title = "Payment link"
	}
	p := views.LinkDetailProps{Shell: s.shell(c, title+" · "+k.CustomerName, "/links"), R: linkRow(k), URL: k.URL, Email: k.CustomerEmail,
		Mobile: k.CustomerMobile, SendBy: sendByDone[k.SendBy], TemplateID: k.TemplateID, Resends: k.Resends, BankRef: k.BankRef,
		ProviderCode: k.ProviderCode, ProviderMsg: k.ProviderMessage, NextUp: linkNext(k, s.Links.Configured()), Error: problem,
		CSRF: auth(c).csrf(), Timeline: timelineEntries(events)}
	if !k.PaidAt.IsZero() {
		p.Paid = views.When(k.PaidAt)
	}
	switch k.State {
	case db.LinkCancelled:
		p.SendBy = "Cancelled: this link no longer takes payment."
	case db.LinkExpired:
		p.SendBy = "Expired: this link no longer takes payment."
	}
	if k.Resends > 0 && k.SendBy != providers.SendNone && k.State.Open() {
		p.SendBy += "; resent once"
		if k.Resends > 1 {
			p.SendBy = sendByDone[k.SendBy] + "; resent " + strconv.Itoa(k.Resends) + " times"
		}
	}
	if k.State == db.LinkCreating || k.Action != "" {
		p.LastError = k.LastError
	}
	if k.State == db.LinkFailed && p.Error == "" {
		p.Error = "NTT DATA refused to create this invoice: " + refusal(k.ProviderCode, k.ProviderMessage) +
			". Nothing was sent to the customer; make a new link with the details corrected."
	}
	for _, f := range k.Fields {
		p.Fields = append(p.Fields, views.LinkFieldView{Label: f.Label, Value: f.Value})
	}
	maker := canMakeLinks(u)
	idle := k.Action == "" && k.CancelRequestID == 0
	// A cancelled link keeps its resend button: asking is how a person
	// learns, in words, why NTT DATA will not send it again.
	p.CanResend = maker && idle && (k.State.Open() || k.State == db.LinkCancelled) && (k.CustomerEmail != "" || k.CustomerMobile != "")
	p.CanCancel = maker && idle && k.State.Open()
	if k.CancelRequestID != 0 {
		p.CancelNote = "Cancelling this link waits for a second person's approval (request #" + strconv.FormatInt(k.CancelRequestID, 10) + ")."
		p.RequestURL = "/approvals/" + strconv.FormatInt(k.CancelRequestID, 10)
	}
	switch c.Query("done") {
	case "created":
		p.Notice = "Saved. Paydesk asks NTT DATA for the invoice in the background; its number and link appear here when NTT DATA answers."
	case "resend":
		p.Notice = "Paydesk asks NTT DATA to send the link again."
	case "cancel":
		p.Notice = "Paydesk cancels the invoice at NTT DATA."
	case "proposed":
		p.Notice = "The link is at or above the cancellation threshold: a second person approves the cancellation in the queue."
	}
	if c.Query("created") != "" {
		p.Notice = "Saved. Paydesk asks NTT DATA for the invoice in the background; its number and link appear here when NTT DATA answers."
	}
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "payment_link:" + k.ID, Limit: 100})
	if err != nil {
		return err
	}
	p.Audit = auditRows(entries)
	return s.render(c, status, views.LinkDetailPage(p), nil)
}

// linkAction answers a resend or cancel: the link's page with the outcome,
// or with the refusal in words when the link cannot take it.
func (s *Server) linkAction(c *fiber.Ctx, act func() (db.PaymentLink, string, error)) error {
	k, done, err := act()
	if err == nil {
		return redirect(c, "/links/"+k.ID+"?done="+done)
	}
	if code := db.ErrorCode(err); code != db.ECONFLICT && code != db.EINVALID {
		return err
	}
	k, events, gerr := s.Links.Get(c.UserContext(), c.Params("id"))
	if gerr != nil {
		return gerr
	}
	return s.renderLink(c, k, events, fiber.StatusConflict, db.ErrorMessage(err))
}

func (s *Server) resendLink(c *fiber.Ctx) error {
	return s.linkAction(c, func() (db.PaymentLink, string, error) {
		k, err := s.Links.Resend(c.UserContext(), *auth(c).user, c.Params("id"))
		return k, "resend", err
	})
}

func (s *Server) cancelLink(c *fiber.Ctx) error {
	return s.linkAction(c, func() (db.PaymentLink, string, error) {
		k, req, err := s.Links.Cancel(c.UserContext(), *auth(c).user, c.Params("id"))
		if req != nil {
			return k, "proposed", err
		}
		return k, "cancel", err
	})
}

func (s *Server) setLinkThreshold(c *fiber.Ctx) error {
	paise, perr := providers.ParseAmount(strings.TrimSpace(c.FormValue("threshold")))
	if perr != nil {
		paise = -1
	}
	_, applied, err := s.Links.ProposeCancelThreshold(c.UserContext(), *auth(c).user, paise)
	if db.ErrorCode(err) == db.ESTEPUP {
		// As for the other changes only admins make: a code first, then
		// back to the form, which the query fills with what was typed.
		back := "/links?" + url.Values{"threshold": {"again"}, "amount": {c.FormValue("threshold")}}.Encode() + "#h-link-threshold"
		return stepUpThen(c, back)
	}
	if err != nil {
		fields := db.FieldErrors(err)
		if fields == nil && db.ErrorCode(err) != db.ECONFLICT {
			return err
		}
		// The list with the message beside the field.
		msg := fields["threshold"]
		if msg == "" {
			msg = db.ErrorMessage(err)
		}
		if perr != nil {
			msg = "Enter an amount in rupees, like 100000 or 1,00,000.00."
		}
		c.Request().URI().SetQueryString("")
		p := views.LinksProps{Shell: s.shell(c, "Payment links", "/links"), States: linkStates, CanCreate: canMakeLinks(auth(c).user),
			Configured: s.Links.Configured(), Filter: views.LinkFilterForm{Errors: map[string]string{}}, ExportURL: "/links.csv"}
		if p.Threshold, err = s.linkThreshold(c); err != nil {
			return err
		}
		p.Threshold.Error, p.Threshold.Value = msg, c.FormValue("threshold")
		return s.render(c, fiber.StatusUnprocessableEntity, views.LinksPage(p), nil)
	}
	if applied {
		return redirect(c, "/links?threshold=applied#h-link-threshold")
	}
	return redirect(c, "/links?threshold=proposed#h-link-threshold")
}

// linkNotify is where NTT DATA tells Paydesk that a link was paid or
// expired. No session and no CSRF token (the provider has neither): the
// body's signature under the response hash key is the proof, checked by the
// store, which refuses and audits a forged or replayed one. Any 2xx tells
// the provider to stop delivering it.
func (s *Server) linkNotify(c *fiber.Ctx) error {
	res, err := s.Links.Notify(c.UserContext(), c.Body(), c.IP())
	if err != nil {
		status := statusOf(err)
		if status >= 500 {
			s.Log.Error("link notification", "err", err)
		}
		return c.Status(status).JSON(fiber.Map{"status": "refused", "reason": db.ErrorMessage(err)})
	}
	out := "accepted"
	if res.Duplicate {
		out = "already received"
	}
	return c.Status(fiber.StatusOK).JSON(fiber.Map{"status": out})
}

// contactLinks lists the contact's latest links, for the contact's page.
func (s *Server) contactLinks(c *fiber.Ctx, contactID string) ([]views.LinkRow, error) {
	if s.Links == nil {
		return nil, nil
	}
	list, _, err := s.Links.List(c.UserContext(), db.LinkFilter{ContactID: contactID, Limit: contactPageRecent})
	if err != nil {
		return nil, err
	}
	out := make([]views.LinkRow, 0, len(list))
	for _, k := range list {
		out = append(out, linkRow(k))
	}
	return out, nil
}

// linkCards are the home page's figures: links paid today and links due
// this week.
func (s *Server) linkCards(c *fiber.Ctx) ([]views.Card, error) {
	if s.Links == nil {
		return nil, nil
	}
	ctx := c.UserContext()
	now := s.DB.Now()
	today := db.ISTDay(now)
	paid, err := s.Links.PaidOn(ctx, today)
	if err != nil {
		return nil, err
	}
	weekEnd := db.ISTDay(now.AddDate(0, 0, 6))
	due, err := s.Links.DueBetween(ctx, today, weekEnd)
	if err != nil {
		return nil, err
	}
	return []views.Card{
		{Label: "Links paid today", Value: views.INR(paid.Paise), Hint: linkCount(paid.Count) + " paid",
			Href: "/links?state=paid"},
		{Label: "Links due this week", Value: views.INR(due.Paise), Hint: linkCount(due.Count) + " open, due by " + weekEnd,
			Href: "/links?due_from=" + today + "&due_to=" + weekEnd},
	}, nil
}

// linkCancelChanges is a link_cancel request's change for the queue and
// the request page; nil for other kinds.
func (s *Server) linkCancelChanges(r db.ApprovalRequest) ([]views.FieldChange, string) {
	if s.Links == nil {
		return nil, ""
	}
	if before, after, ok := s.Links.ThresholdChangeOf(r); ok {
		return []views.FieldChange{{Label: "Cancelling a link needs approval from", Old: views.INR(before), New: views.INR(after)}}, ""
	}
	_, invoice, customer, amount, threshold, ok := db.LinkCancelOf(r)
	if !ok {
		return nil, ""
	}
	return []views.FieldChange{
			{Label: "Invoice " + invoice + " to " + customer, Old: "payable", New: "cancelled"},
			{Label: "Owed by the customer", Old: views.INR(amount), New: views.INR(0) + " (forgiven)"},
		}, "Cancelling forgives " + views.INR(amount) + " owed: at or above the " + views.INR(threshold) +
			" threshold a second person confirms it. Approved, Paydesk cancels the invoice at NTT DATA and its link stops taking payment."
}

package handlers

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/providers/kspay"
	"paydesk/views"
)

// analyticsRanges are the analytics page's ranges, in days.
var analyticsRanges = []int{7, 30, 90}

func gatewayStatusKind(s db.GatewayStatus) string {
	switch s {
	case db.GatewayPaid:
		return "ok"
	case db.GatewayFailed, db.GatewayRefused:
		return "bad"
	case db.GatewayExpired, db.GatewayUnknown:
		return "warn"
	}
	return "info"
}

// minor formats an amount in the currency's minor units: rupees the Indian
// way, others with their code.
func minor(code string, v int64) string {
	if code == "INR" || code == "" {
		return views.INR(v)
	}
	return code + " " + providers.FormatAmount(v)
}

func gatewayRow(t db.GatewayTxn) views.GatewayRow {
	r := views.GatewayRow{ID: t.ID, CustomerRef: t.CustomerRef, ProviderID: t.ProviderTxnID, Amount: minor(t.CurrencyCode, t.AmountMinor),
		Method: t.MethodName, Status: string(t.Status), StatusKind: gatewayStatusKind(t.Status), Origin: t.Origin, Maker: t.Maker,
		Created: views.When(t.CreatedAt), Paid: views.When(t.PaidAt)}
	if r.CustomerRef == "" {
		r.CustomerRef = t.ReferenceNumber
	}
	if t.Origin == "imported" {
		r.Maker = "made outside Paydesk"
	}
	return r
}

var gatewayStatuses = stringsOf(db.GatewayStatuses)

func gatewayFilter(c *fiber.Ctx) (db.GatewayFilter, views.GatewayListFilter) {
	form := views.GatewayListFilter{Query: strings.TrimSpace(c.Query("q")), Status: c.Query("status"), Method: c.Query("method"),
		Currency: c.Query("currency"), Min: c.Query("min"), Max: c.Query("max"), From: c.Query("from"), To: c.Query("to"),
		Errors: map[string]string{}}
	if !slices.Contains(gatewayStatuses, form.Status) {
		form.Status = ""
	}
	f := db.GatewayFilter{Query: form.Query, Status: db.GatewayStatus(form.Status), MethodID: form.Method, Currency: form.Currency,
		After: c.Query("after"), Limit: 50}
	lo, hi := amountRange(form.Min, form.Max, form.Errors)
	f.MinMinor, f.MaxMinor = orZero(lo), orZero(hi)
	from, to := dateRange(form.From, form.To, form.Errors)
	// Dates are Indian days.
	if !from.IsZero() {
		f.From = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, db.IST)
	}
	if !to.IsZero() {
		f.To = time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, db.IST)
	}
	return f, form
}

func gatewayQuery(form views.GatewayListFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": form.Query, "status": form.Status, "method": form.Method, "currency": form.Currency,
		"min": form.Min, "max": form.Max, "from": form.From, "to": form.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func canCollectGateway(u *db.User) bool {
	return u != nil && slices.ContainsFunc(db.GatewayRoles, u.HasRole)
}

func (s *Server) gatewayPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, form := gatewayFilter(c)
	p := views.GatewayProps{Shell: s.shell(c, "KS Pay collections", "/gateway"), Filter: form, Statuses: gatewayStatuses,
		CanCreate: canCollectGateway(auth(c).user), Configured: s.Gateway.Configured(), ByAmount: f.ByAmount()}
	methods, err := s.Gateway.AllMethods(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range methods {
		if !seen[m.ID] {
			seen[m.ID] = true
			p.Methods = append(p.Methods, views.Option{Value: m.ID, Label: m.Name})
		}
	}
	if p.Currencies, err = s.Gateway.AnalyticsCurrencies(ctx); err != nil {
		return err
	}
	q := gatewayQuery(form)
	p.ExportURL = "/gateway.csv?" + q.Encode()
	status := fiber.StatusOK
	if len(form.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	} else {
		list, more, err := s.Gateway.List(ctx, f)
		if err != nil {
			return err
		}
		p.Rows, p.NextURL = onePage(q, "/gateway", list, more, gatewayRow, func(t db.GatewayTxn) string { return t.ID })
	}
	return s.render(c, status, views.GatewayPage(p), nil)
}

// gatewayCSV streams the whole filtered set, page by page.
func (s *Server) gatewayCSV(c *fiber.Ctx) error {
	f, form := gatewayFilter(c)
	if len(form.Errors) > 0 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "The filter is not valid.")
	}
	csvHeaders(c, "kspay-"+s.DB.Now().UTC().Format("20060102-150405"))
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"id", "created_at_utc", "customer_ref", "reference_number", "kspay_id", "currency", "amount", "method",
		"status", "provider_status", "paid_at_utc", "provider_payment_id", "origin", "maker"})
	err := s.Gateway.Each(c.UserContext(), f, func(t db.GatewayTxn) error {
		paid := ""
		if !t.PaidAt.IsZero() {
			paid = t.PaidAt.UTC().Format(time.RFC3339)
		}
		return w.Write([]string{t.ID, t.CreatedAt.UTC().Format(time.RFC3339), csvSafe(t.CustomerRef), csvSafe(t.ReferenceNumber),
			csvSafe(t.ProviderTxnID), csvSafe(t.CurrencyCode), providers.FormatAmount(t.AmountMinor), csvSafe(t.MethodName), string(t.Status),
			csvSafe(t.ProviderStatus), paid, csvSafe(t.ProviderPaymentID), t.Origin, csvSafe(t.Maker)})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

// gatewayForm fills the form's choices: the cached currencies, the chosen
// currency's methods only, and contacts.
func (s *Server) gatewayForm(c *fiber.Ctx, f views.GatewayForm) (views.GatewayForm, error) {
	ctx := c.UserContext()
	cs, refreshed, err := s.Gateway.Currencies(ctx)
	if err != nil {
		return f, err
	}
	f.Currencies = nil
	for _, cur := range cs {
		f.Currencies = append(f.Currencies, views.Option{Value: cur.ID, Label: cur.Code + " · " + cur.Name})
	}
	if f.Currency == "" && len(cs) > 0 {
		f.Currency = cs[0].ID
		for _, cur := range cs {
			if cur.Code == "INR" {
				f.Currency = cur.ID
			}
		}
	}
	if !refreshed.IsZero() {
		f.Refreshed = views.When(refreshed)
	}
	ms, err := s.Gateway.Methods(ctx, f.Currency)
	if err != nil {
		return f, err
	}
	f.Methods = nil
	valid := false
	for _, m := range ms {
		f.Methods = append(f.Methods, views.Option{Value: m.ID, Label: m.Name})
		valid = valid || m.ID == f.Method
	}
	if !valid && len(ms) > 0 {
		f.Method = ms[0].ID
	}
	if s.Contacts != nil {
		list, _, err := s.Contacts.List(ctx, db.ContactFilter{Limit: maxPayableContacts})
		if err != nil {
			return f, err
		}
		f.Contacts = nil
		for _, ct := range list {
			f.Contacts = append(f.Contacts, views.Option{Value: ct.ID, Label: ct.Name()})
		}
	}
	if len(cs) == 0 && f.Error == "" {
		f.Error = "KS Pay's currencies have not been fetched yet; Paydesk fetches them in the background. Try again in a minute."
	}
	return f, nil
}

func gatewayFormOf(c *fiber.Ctx, value func(key string, def ...string) string) views.GatewayForm {
	return views.GatewayForm{Currency: value("currency"), Method: value("method"), Amount: value("amount"),
		CustomerRef: value("customer_ref"), Contact: value("contact"), Description: value("description"), CSRF: auth(c).csrf()}
}

// newGatewayPage is the form; the currency select re-requests it through
// htmx with what was typed, so only that currency's methods are offered.
func (s *Server) newGatewayPage(c *fiber.Ctx) error {
	f, err := s.gatewayForm(c, gatewayFormOf(c, c.Query))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.NewGatewayPage(views.NewGatewayProps{Shell: s.shell(c, "New KS Pay payment request", "/gateway"),
		Form: f, Configured: s.Gateway.Configured()}), views.GatewayFormPanel(f))
}

func (s *Server) createGateway(c *fiber.Ctx) error {
	f := gatewayFormOf(c, c.FormValue)
	t, err := s.Gateway.Initiate(c.UserContext(), *auth(c).user, db.GatewayInput{Amount: f.Amount, CurrencyID: f.Currency,
		MethodID: f.Method, CustomerRef: f.CustomerRef, ContactID: f.Contact, Description: f.Description})
	if err != nil {
		fields := db.FieldErrors(err)
		if statusOf(err) >= 500 || fields == nil {
			return err
		}
		f.Errors, f.Error = fields, "Nothing was saved. Correct the highlighted fields."
		if f, err = s.gatewayForm(c, f); err != nil {
			return err
		}
		f.Errors = fields
		page := views.NewGatewayPage(views.NewGatewayProps{Shell: s.shell(c, "New KS Pay payment request", "/gateway"), Form: f,
			Configured: s.Gateway.Configured()})
		return s.render(c, fiber.StatusUnprocessableEntity, page, views.GatewayFormPanel(f))
	}
	return redirect(c, "/gateway/"+t.ID+"?created=1")
}

func gatewayNext(t db.GatewayTxn, configured bool) string {
	switch {
	case !configured && !t.Status.Final():
		return "Waits here until KS Pay is configured"
	case t.Status == db.GatewayInitiating:
		return "Paydesk creates it at KS Pay in the background"
	case t.Status == db.GatewayUnknown:
		return "Paydesk is asking KS Pay what happened before anything else"
	case t.Status == db.GatewayPending && t.Order == nil:
		return "Paydesk is getting the payer's order from KS Pay"
	case t.Status == db.GatewayPending:
		return "The payer pays at the checkout; Paydesk confirms with KS Pay"
	}
	return "Nothing: it is final"
}

func (s *Server) gatewayTxnPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, events, err := s.Gateway.Get(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	d := views.GatewayDetailProps{Shell: s.shell(c, "KS Pay "+t.CustomerRef, "/gateway"), R: gatewayRow(t), Reference: t.ReferenceNumber,
		OrderID: t.ProviderOrderID, PaymentID: t.ProviderPaymentID, ProvStatus: t.ProviderStatus, Description: t.Description,
		ContactID: t.ContactID, Attempts: t.Attempts, NextUp: gatewayNext(t, s.Gateway.Configured()), CSRF: auth(c).csrf(),
		CanCheck: !t.Status.Final() && t.ProviderTxnID != ""}
	if !t.Status.Final() {
		d.LastError = t.LastError
	}
	if o := t.Order; o != nil && !t.Status.Final() {
		d.HasOrder, d.Gateway, d.Key, d.OrderAmount = true, o.Gateway, o.Key, strconv.FormatInt(o.AmountMinor, 10)
		d.OrderJSON, d.CheckoutURL, d.UPIIntent = string(o.Raw), o.CheckoutURL, o.UPIIntent
		if o.UPIIntent != "" {
			d.QR = qrOf(o.UPIIntent)
		}
	}
	if c.Query("created") != "" && !t.Status.Final() {
		d.Notice = "Saved. Paydesk creates it at KS Pay in the background; this page shows the payer's order once it is ready."
	}
	if c.Query("checked") != "" {
		d.Notice = "Paydesk is asking KS Pay about it now."
	}
	d.Timeline = timelineEntries(events)
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "gateway_transaction:" + t.ID, Limit: 100})
	if err != nil {
		return err
	}
	d.Audit = auditRows(entries)
	return s.render(c, fiber.StatusOK, views.GatewayDetailPage(d), nil)
}

// qrOf draws text as a QR code's modules (one SVG path, a quiet zone of 4).
func qrOf(text string) views.QRCode {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return views.QRCode{}
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	var b strings.Builder
	for y, row := range bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	return views.QRCode{Size: len(bits) + 8, Path: b.String()}
}

func (s *Server) checkGateway(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.Gateway.Check(c.UserContext(), id); err != nil {
		return err
	}
	return redirect(c, "/gateway/"+id+"?checked=1")
}

// gatewayReturn is where KS Pay sends the payer back. The parameters are
// the payer's browser's word, never proof: Paydesk asks KS Pay for the
// transaction by id in the background and shows nothing as paid until KS
// Pay says so. The page is open (the payer has no Paydesk sign-in) and says
// nothing about the transaction beyond that it is being confirmed.
func (s *Server) gatewayReturn(c *fiber.Ctx) error {
	p := views.GatewayReturnProps{Title: "Thank you", Assets: s.viewAssets(),
		Message: "We are confirming your payment with KS Pay. You can close this page; the merchant sees the payment once KS Pay confirms it."}
	q := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { q.Add(string(k), string(v)) })
	r, err := kspay.ParseRedirect(q)
	if err != nil {
		p.Title, p.Message = "Payment not recognised", "This address does not name a payment. If you paid, the merchant will still see it once KS Pay confirms it."
		return s.render(c, fiber.StatusBadRequest, views.GatewayReturnPage(p), nil)
	}
	if r.PaymentStatus != "success" {
		p.Title = "Payment not completed"
		p.Message = "The checkout reported that the payment did not go through. Nothing was taken unless KS Pay confirms otherwise."
	}
	t, err := s.Gateway.ByProviderID(c.UserContext(), r.KsPayID)
	switch {
	case db.ErrorCode(err) == db.ENOTFOUND:
		s.Gateway.Kick() // perhaps made elsewhere: the sync imports it
	case err != nil:
		return err
	default:
		if err := s.Gateway.Check(c.UserContext(), t.ID); err != nil {
			return err
		}
	}
	return s.render(c, fiber.StatusOK, views.GatewayReturnPage(p), nil)
}

func (s *Server) gatewayAnalyticsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	now := s.DB.Now()
	days, from, to := rangeDays(c, now, analyticsRanges)
	currencies, err := s.Gateway.AnalyticsCurrencies(ctx)
	if err != nil {
		return err
	}
	currency := c.Query("currency", "INR")
	if !slices.Contains(currencies, currency) {
		currency = "INR"
	}
	a, err := s.Gateway.Analytics(ctx, from, to, currency)
	if err != nil {
		return err
	}
	p := views.GatewayAnalyticsProps{Shell: s.shell(c, "KS Pay analytics", "/gateway"), Days: days, Ranges: analyticsRanges,
		From: from, To: db.ISTDay(now), Currency: currency, Currencies: currencies,
		ExportURL: "/gateway/analytics.csv?days=" + strconv.Itoa(days) + "&currency=" + url.QueryEscape(currency)}
	money := func(v int64) string { return minor(currency, v) }
	short := views.Short
	if currency != "INR" {
		short = func(v int64) string { return currency + " " + strconv.FormatInt(v/100, 10) }
	}
	var names []string
	var volume, paid, other []int64
	for _, d := range a.Days {
		names = append(names, d.Day)
		volume = append(volume, d.VolumeMinor)
		paid = append(paid, int64(d.Paid))
		other = append(other, int64(d.Txns-d.Paid))
		p.DayRows = append(p.DayRows, views.GatewayDayRow{Day: d.Day, Txns: d.Txns, Paid: d.Paid, Failed: d.Failed, Open: d.Open,
			Volume: money(d.VolumeMinor)})
	}
	slices.Reverse(p.DayRows)
	p.VolumeChart = views.BarChart("Volume collected per day", "Paid amount per day", names,
		[]views.Series{{Label: "Paid volume", Class: "in", Values: volume}}, short)
	p.CountChart = views.BarChart("Payment requests per day", "Paid (solid) and not paid (hatched) requests per day", names,
		[]views.Series{{Label: "Paid", Class: "paid", Values: paid}, {Label: "Not paid (failed, expired or open)", Class: "other", Values: other}},
		views.CountShort)
	methodRow := func(m db.GatewayMethodStat) views.GatewayMethodRow {
		avg := "—"
		if d := m.AvgToPaid(); d > 0 {
			avg = d.Round(time.Second).String()
		}
		return views.GatewayMethodRow{Name: m.Name, Txns: m.Txns, Paid: m.Paid, Failed: m.Failed, Open: m.Open,
			Rate: views.Percent(m.SuccessRate()), Volume: money(m.VolumeMinor), AvgPaid: avg}
	}
	var methodNames []string
	var rates []int64
	for _, m := range a.Methods {
		p.Methods = append(p.Methods, methodRow(m))
		methodNames = append(methodNames, m.Name)
		rates = append(rates, int64(max(m.SuccessRate(), 0)))
	}
	p.Total = methodRow(a.Total)
	p.RateChart = views.BarChart("Success rate per payment method", "Paid of decided requests per method, in percent", methodNames,
		[]views.Series{{Label: "Success rate", Class: "paid", Values: rates}}, func(bp int64) string { return views.Percent(int(bp)) })
	return s.render(c, fiber.StatusOK, views.GatewayAnalyticsPage(p), nil)
}

// gatewayAnalyticsCSV exports the analytics' days and methods.
func (s *Server) gatewayAnalyticsCSV(c *fiber.Ctx) error {
	_, from, to := rangeDays(c, s.DB.Now(), analyticsRanges)
	currency := c.Query("currency", "INR")
	a, err := s.Gateway.Analytics(c.UserContext(), from, to, currency)
	if err != nil {
		return err
	}
	csvHeaders(c, "kspay-analytics-"+from)
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"section", "day_ist_or_method", "currency", "requests", "paid", "failed", "open", "volume", "success_rate_pct", "avg_seconds_to_paid"})
	for _, d := range a.Days {
		_ = w.Write([]string{"day", d.Day, csvSafe(currency), strconv.Itoa(d.Txns), strconv.Itoa(d.Paid), strconv.Itoa(d.Failed), strconv.Itoa(d.Open),
			providers.FormatAmount(d.VolumeMinor), "", ""})
	}
	for _, m := range append(a.Methods, a.Total) {
		rate := ""
		if r := m.SuccessRate(); r >= 0 {
			rate = strconv.FormatFloat(float64(r)/100, 'f', 2, 64)
		}
		_ = w.Write([]string{"method", csvSafe(m.Name), csvSafe(currency), strconv.Itoa(m.Txns), strconv.Itoa(m.Paid), strconv.Itoa(m.Failed),
			strconv.Itoa(m.Open), providers.FormatAmount(m.VolumeMinor), rate, strconv.FormatInt(int64(m.AvgToPaid().Seconds()), 10)})
	}
	w.Flush()
	return w.Error()
}

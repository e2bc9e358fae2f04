package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/views"
)

// balanceRanges are the chart ranges the balances page offers, in days.
var balanceRanges = []int{7, 30, 90}

func sourceLabel(source string) string {
	if l := sourceLabels[source]; l != "" {
		return l
	}
	return source
}

// rangeDays reads ?days= (one of choices, default the second) and returns
// the IST days [from, to) ending today.
func rangeDays(c *fiber.Ctx, now time.Time, choices []int) (int, string, string) {
	days, _ := strconv.Atoi(c.Query("days"))
	if !slices.Contains(choices, days) {
		days = choices[1]
	}
	to := now.In(db.IST).AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -days)
	return days, db.ISTDay(from), db.ISTDay(to)
}

// lowBalances is the banner's content; nil when balances are not wired.
func (s *Server) lowBalances(ctx context.Context) []views.LowBalance {
	if s.Balances == nil {
		return nil
	}
	low, err := s.Balances.Low(ctx)
	if err != nil {
		s.Log.Warn("low balances", "err", err)
		return nil
	}
	out := make([]views.LowBalance, 0, len(low))
	for _, a := range low {
		out = append(out, views.LowBalance{Account: sourceLabel(a.Source), Available: views.INR(a.AvailableAfterPaise()),
			Threshold: views.INR(a.ThresholdPaise)})
	}
	return out
}

// inflowDays sums every money-collected source per IST day in [from, to).
func (s *Server) inflowDays(ctx context.Context, from, to string) (map[string]db.DayAmount, []views.InflowSourceView, db.DayAmount, error) {
	f, _ := time.ParseInLocation("2006-01-02", from, db.IST)
	t, _ := time.ParseInLocation("2006-01-02", to, db.IST)
	byDay := map[string]db.DayAmount{}
	var sources []views.InflowSourceView
	var total db.DayAmount
	for _, src := range s.Inflows {
		days, err := src.InflowsByDay(ctx, f, t)
		if err != nil {
			return nil, nil, total, err
		}
		v := views.InflowSourceView{Name: src.InflowName()}
		var paise int64
		for _, d := range days {
			sum := byDay[d.Day]
			sum.Day, sum.Paise, sum.Count = d.Day, sum.Paise+d.Paise, sum.Count+d.Count
			byDay[d.Day] = sum
			paise += d.Paise
			v.Count += d.Count
		}
		v.Total = views.INR(paise)
		total.Paise += paise
		total.Count += v.Count
		sources = append(sources, v)
	}
	return byDay, sources, total, nil
}

func (s *Server) balancesPage(c *fiber.Ctx) error {
	notice := ""
	// Only an account Paydesk has is named: sourceLabel would echo any text.
	if src := c.Query("set"); slices.ContainsFunc(s.Balances.Specs(), func(a db.AccountSpec) bool { return a.Source == src }) {
		notice = "The low-balance threshold of " + sourceLabel(src) + " is changed."
	}
	// Back from the step-up a threshold change asked for (setThreshold):
	// what was typed goes back into that account's form, to be sent again.
	if src := c.Query("again"); c.Query("threshold") != "" &&
		slices.ContainsFunc(s.Balances.Specs(), func(a db.AccountSpec) bool { return a.Source == src && a.HasBalance }) {
		unsaved := "The low-balance threshold of " + sourceLabel(src) + " is not changed yet: what you typed is in its form below; press Set threshold to set it."
		return s.renderBalances(c, fiber.StatusOK, pageNotes{unsaved: unsaved}, src, nil)
	}
	return s.renderBalances(c, fiber.StatusOK, pageNotes{done: notice}, "", nil)
}

// pageNotes are the messages at the top of a page: done says a change was
// made; unsaved that one is not made yet, its input back in the form.
type pageNotes struct{ done, unsaved string }

// renderBalances draws the page; formSource's threshold form holds the
// threshold typed (posted, or in the query), with fieldErr's message beside
// it.
func (s *Server) renderBalances(c *fiber.Ctx, status int, notes pageNotes, formSource string, fieldErr map[string]string) error {
	ctx := c.UserContext()
	now := s.DB.Now()
	days, from, to := rangeDays(c, now, balanceRanges)
	u := auth(c).user
	p := views.BalancesProps{Shell: s.shell(c, "Balances", "/balances"), Days: days, Ranges: balanceRanges, CSRF: auth(c).csrf(),
		Notice: notes.done, Unsaved: notes.unsaved, From: from, To: db.ISTDay(now)}
	accounts, err := s.Balances.Accounts(ctx)
	if err != nil {
		return err
	}
	inflows, sources, total, err := s.inflowDays(ctx, from, to)
	if err != nil {
		return err
	}
	p.Inflows, p.InTotal, p.InCount = sources, views.INR(total.Paise), total.Count
	outflows := map[string]db.DayAmount{}
	for _, a := range accounts {
		v, out, err := s.accountView(ctx, c, a, from, to, now)
		if err != nil {
			return err
		}
		v.CanSetThreshold = u.HasRole(db.RoleAdmin) && a.HasBalance
		if a.Source == formSource {
			v.ThresholdInput, v.ThresholdError = c.FormValue("threshold"), fieldErr["threshold"]
			if v.ThresholdError == "" {
				v.ThresholdError = fieldErr[""]
			}
		}
		for _, o := range out {
			sum := outflows[o.Day]
			sum.Paise, sum.Count = sum.Paise+o.Paise, sum.Count+o.Count
			outflows[o.Day] = sum
		}
		p.Accounts = append(p.Accounts, v)
	}
	p.Low = s.lowBalances(ctx)
	dayList := db.DaysBetween(from, to)
	in, out := make([]int64, len(dayList)), make([]int64, len(dayList))
	for i, d := range dayList {
		in[i], out[i] = inflows[d].Paise, outflows[d].Paise
		if in[i] == 0 && out[i] == 0 {
			continue // the table lists the days with money in or out
		}
		p.Flows = append(p.Flows, views.FlowDayRow{Day: d, In: views.INR(in[i]), InN: inflows[d].Count, Out: views.INR(out[i]), OutN: outflows[d].Count})
	}
	slices.Reverse(p.Flows) // newest first in the table
	p.FlowChart = views.BarChart("Inflows and outflows per day", "Money collected (solid, above the line) and paid out (hatched, below) each day",
		dayList, []views.Series{{Label: "Collected", Class: "in", Values: in}, {Label: "Paid out", Class: "out", Values: out, Below: true}}, views.Short)
	if len(fieldErr) > 0 {
		p.Error = "The threshold was not changed. See the account below."
	}
	return s.render(c, status, views.BalancesPage(p), nil)
}

// accountView builds one account's block, with its history over [from, to).
func (s *Server) accountView(ctx context.Context, c *fiber.Ctx, a db.Account, from, to string, now time.Time) (views.AccountView, []db.DayAmount, error) {
	v := views.AccountView{Source: a.Source, Label: sourceLabel(a.Source), HasBalance: a.HasBalance, Known: a.Known,
		Balance: views.INR(a.Last.AvailablePaise), Account: a.Last.Account, AsOf: views.When(a.Last.FetchedAt),
		Stale: a.Stale, InFlight: views.INR(a.InFlightPaise), InFlightN: a.InFlightCount, Reserved: views.INR(a.ReservedPaise),
		ReservedN: a.ReservedCount, Available: views.INR(a.AvailableAfterPaise()), Below: a.Below(),
		ThresholdBy: a.ThresholdBy, PendingThreshold: a.PendingThreshold}
	if a.ThresholdPaise > 0 {
		v.Threshold = views.INR(a.ThresholdPaise)
	}
	switch {
	case a.Error != "":
		v.StaleNote = "refresh failing since " + views.When(a.OKAt) + ": " + a.Error
		if !a.Known {
			v.StaleNote = ": " + a.Error
		}
	case a.Stale:
		v.StaleNote = "last fetched " + since(now, a.Last.FetchedAt) + " ago"
	}
	days, err := s.Balances.Days(ctx, a.Source, from, to)
	if err != nil {
		return v, nil, err
	}
	var out []db.DayAmount
	var paid int64
	names := make([]string, len(days))
	values := make([]int64, len(days))
	known := make([]bool, len(days))
	for i, d := range days {
		names[i], values[i], known[i] = d.Day, d.Close, d.Known
		paid += d.OutflowPaise
		v.PaidInRangeN += d.OutflowCount
		out = append(out, db.DayAmount{Day: d.Day, Paise: d.OutflowPaise, Count: d.OutflowCount})
		if !d.Known {
			continue // before the first figure
		}
		v.Days = append(v.Days, views.BalanceDayRow{Day: d.Day, Close: views.INR(d.Close), Low: views.INR(d.Low), High: views.INR(d.High),
			Changes: d.Changes, Out: views.INR(d.OutflowPaise), OutN: d.OutflowCount, Known: d.Known})
	}
	slices.Reverse(v.Days)
	v.PaidInRange = views.INR(paid)
	if a.HasBalance {
		v.Chart = views.LineChart(v.Label+" closing balance", "The balance at the end of each day, one point per day", names, values, known,
			a.ThresholdPaise, "threshold "+views.Short(a.ThresholdPaise))
	}
	return v, out, nil
}

// setThreshold proposes (or, with one admin, applies) an account's
// low-balance threshold.
func (s *Server) setThreshold(c *fiber.Ctx) error {
	source := c.FormValue("source")
	text := c.FormValue("threshold")
	paise, perr := providers.ParseAmount(text)
	if perr != nil {
		c.Status(fiber.StatusUnprocessableEntity)
		return s.renderBalances(c, fiber.StatusUnprocessableEntity, pageNotes{}, source,
			map[string]string{"threshold": "Enter rupees, like 5,00,000 (0 removes the threshold)."})
	}
	req, applied, err := s.Balances.ProposeThreshold(c.UserContext(), *auth(c).user, source, paise)
	if db.ErrorCode(err) == db.ESTEPUP {
		// As for the other changes only admins make: a code first, then
		// back to this page, whose form the query fills with what was typed.
		back := "/balances?" + url.Values{"again": {source}, "threshold": {text}}.Encode()
		return stepUpThen(c, back)
	}
	if err != nil {
		fields := db.FieldErrors(err)
		if fields == nil && statusOf(err) != fiber.StatusConflict {
			return err
		}
		if fields == nil {
			fields = map[string]string{"": db.ErrorMessage(err)}
		}
		return s.renderBalances(c, fiber.StatusUnprocessableEntity, pageNotes{}, source, fields)
	}
	if !applied {
		return redirect(c, fmt.Sprintf("/approvals/%d?done=proposed", req.ID))
	}
	return redirect(c, "/balances?set="+source)
}

// balancesCSV exports every account's days in the range: close, low, high,
// changes, paid out, and the money collected that day.
func (s *Server) balancesCSV(c *fiber.Ctx) error {
	ctx := c.UserContext()
	_, from, to := rangeDays(c, s.DB.Now(), balanceRanges)
	inflows, _, _, err := s.inflowDays(ctx, from, to)
	if err != nil {
		return err
	}
	csvHeaders(c, "balances-"+from)
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"day_ist", "account", "balance_known", "close", "low", "high", "changes", "paid_out", "payouts", "collected_all_sources", "collections"})
	for _, spec := range s.Balances.Specs() {
		days, err := s.Balances.Days(ctx, spec.Source, from, to)
		if err != nil {
			return err
		}
		for _, d := range days {
			known := spec.HasBalance && d.Known
			row := []string{d.Day, spec.Source, strconv.FormatBool(known), "", "", "", strconv.Itoa(d.Changes),
				providers.FormatAmount(d.OutflowPaise), strconv.Itoa(d.OutflowCount),
				providers.FormatAmount(inflows[d.Day].Paise), strconv.Itoa(inflows[d.Day].Count)}
			if known {
				row[3], row[4], row[5] = providers.FormatAmount(d.Close), providers.FormatAmount(d.Low), providers.FormatAmount(d.High)
			}
			_ = w.Write(row)
		}
	}
	w.Flush()
	return w.Error()
}

// balanceChangesCSV exports every recorded change of one account's figure
// in the range, page by page.
func (s *Server) balanceChangesCSV(c *fiber.Ctx) error {
	ctx := c.UserContext()
	source := c.Query("source")
	if !slices.ContainsFunc(s.Balances.Specs(), func(a db.AccountSpec) bool { return a.Source == source && a.HasBalance }) {
		return fiber.NewError(fiber.StatusNotFound, "No such account with a balance.")
	}
	_, from, to := rangeDays(c, s.DB.Now(), balanceRanges)
	f, _ := time.ParseInLocation("2006-01-02", from, db.IST)
	t, _ := time.ParseInLocation("2006-01-02", to, db.IST)
	csvHeaders(c, "balance-changes-"+source+"-"+from)
	w := csv.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"fetched_at_utc", "as_of_utc", "last_confirmed_utc", "account", "balance"})
	var after int64
	for {
		list, more, err := s.Balances.Changes(ctx, source, f, t, after, 1000)
		if err != nil {
			return err
		}
		for _, ch := range list {
			_ = w.Write([]string{ch.FetchedAt.UTC().Format(time.RFC3339), ch.AsOf.UTC().Format(time.RFC3339),
				ch.ConfirmedAt.UTC().Format(time.RFC3339), csvSafe(ch.Account), providers.FormatAmount(ch.Paise)})
		}
		if !more || len(list) == 0 {
			break
		}
		after = list[len(list)-1].ID
	}
	w.Flush()
	return w.Error()
}

func csvHeaders(c *fiber.Ctx, name string) {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="paydesk-`+name+`.csv"`)
}

// thresholdChanges is a threshold request's change for the queue and the
// request page; nil for other kinds.
func (s *Server) thresholdChanges(r db.ApprovalRequest) []views.FieldChange {
	if s.Balances == nil {
		return nil
	}
	ch, ok := s.Balances.ThresholdChangeOf(r)
	if !ok {
		return nil
	}
	text := func(p int64) string {
		if p == 0 {
			return "none"
		}
		return views.INR(p)
	}
	return []views.FieldChange{{Label: "Low-balance threshold of " + sourceLabel(ch.Source), Old: text(ch.Before), New: text(ch.After)}}
}

package handlers

import (
	"encoding/csv"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/views"
)

func auditRows(entries []db.AuditEntry) []views.AuditRow {
	rows := make([]views.AuditRow, len(entries))
	for i, e := range entries {
		target := e.TargetType
		if e.TargetID != "" {
			target += ":" + e.TargetID
		}
		rows[i] = views.AuditRow{ID: e.ID, At: views.WhenPrecise(e.At), Actor: e.Actor, Action: e.Action, Target: target,
			Fields: views.AuditFields(e.Details)}
	}
	return rows
}

// auditFilter reads the filter from the query string; dates are whole UTC
// days, "to" inclusive.
func auditFilter(c *fiber.Ctx) (db.AuditFilter, views.AuditFilterForm) {
	form := views.AuditFilterForm{Actor: c.Query("actor"), Action: c.Query("action"), Target: c.Query("target"),
		From: c.Query("from"), To: c.Query("to"), Errors: map[string]string{}}
	f := db.AuditFilter{Actor: form.Actor, Action: form.Action, Target: form.Target, Limit: 50}
	f.From, f.To = dateRange(form.From, form.To, form.Errors)
	f.Before, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	return f, form
}

func filterQuery(form views.AuditFilterForm) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": form.Actor, "action": form.Action, "target": form.Target, "from": form.From, "to": form.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (s *Server) auditPage(c *fiber.Ctx) error {
	f, form := auditFilter(c)
	p := views.AuditProps{Shell: s.shell(c, "Audit log", "/admin/audit"), Filter: form}
	q := filterQuery(form)
	p.ExportURL = "/admin/audit.csv?" + q.Encode()
	if f.Before > 0 {
		p.FirstURL = "/admin/audit?" + q.Encode()
	}
	actions, err := s.DB.AuditActions(c.UserContext())
	if err != nil {
		return err
	}
	p.Actions = actions
	status := fiber.StatusOK
	if len(form.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	} else {
		entries, more, err := s.DB.ListAudit(c.UserContext(), f)
		if err != nil {
			return err
		}
		p.Rows = auditRows(entries)
		if more {
			q.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
			p.NextURL = "/admin/audit?" + q.Encode()
		}
	}
	return s.render(c, status, views.AuditPage(p), nil)
}

// auditCSV streams every row of the filtered set, newest first.
func (s *Server) auditCSV(c *fiber.Ctx) error {
	f, form := auditFilter(c)
	if len(form.Errors) > 0 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "The date filter is not valid.")
	}
	f.Before = 0
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="paydesk-audit-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	if err := w.Write([]string{"id", "at_utc", "actor", "action", "target_type", "target_id", "details", "hash"}); err != nil {
		return err
	}
	err := s.DB.EachAudit(c.UserContext(), f, func(e db.AuditEntry) error {
		return w.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), csvSafe(e.Actor), e.Action,
			e.TargetType, csvSafe(e.TargetID), csvSafe(e.Details), e.Hash})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

// csvSafe defuses spreadsheet formulas in user-supplied text. Every CSV
// cell whose text a person or a provider chose goes through it (names,
// references, bank and provider values, mobiles, usernames), even where
// intake validates the value today, since stored rows outlive the rules;
// ids, states, dates and amounts Paydesk makes itself do not.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// amountRange reads a "min" and a "max" amount typed in rupees (exact
// paise, Indian grouping allowed), putting a message beside the field that
// is wrong; nil where nothing (or nothing valid) was typed.
func amountRange(minText, maxText string, errs map[string]string) (lo, hi *int64) {
	read := func(text, field string) *int64 {
		if text == "" {
			return nil
		}
		v, err := providers.ParseAmount(text)
		if err != nil || v < 0 {
			errs[field] = "Enter an amount in rupees, like 50000 or 1,00,000.50."
			return nil
		}
		return &v
	}
	return read(minText, "min"), read(maxText, "max")
}

// orZero is the amount, or 0 (no bound) for nil.
func orZero(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// dateRange reads a "from" and an inclusive "to" date typed as YYYY-MM-DD into
// whole UTC days [from, to+1), putting a message on the field that is wrong.
func dateRange(from, to string, errs map[string]string) (time.Time, time.Time) {
	var start, end time.Time
	if from != "" {
		t, err := time.Parse(time.DateOnly, from)
		if err != nil {
			errs["from"] = "Use a date like 2026-11-21."
		}
		start = t
	}
	if to != "" {
		t, err := time.Parse(time.DateOnly, to)
		if err != nil {
			errs["to"] = "Use a date like 2026-11-21."
		} else {
			end = t.AddDate(0, 0, 1)
		}
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		errs["to"] = "The end date is before the start date."
	}
	return start, end
}

package handlers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/views"
)

// Bulk payment links: a CSV per template, its columns the customer's and
// the template's fields; every row is checked (db.Links.CheckBatch) and the
// valid rows become links together (db.Links.CreateBatch, one transaction
// with their jobs). The reading and the round trip of the CSV are
// csvupload.go's.

// linkColumns are the columns every template's CSV has, before its fields.
var linkColumns = []views.CSVColumn{
	{Name: "customer_name", Required: true, Rules: "At most 100 characters: letters, digits, spaces and . , ' & ( ) / -. May be empty with a contact_id.", Example: "Lotus Pharma"},
	{Name: "customer_email", Rules: "At most 100 characters; needed to send by email.", Example: "accounts@lotuspharma.in"},
	{Name: "customer_mobile", Rules: "10 digits starting with 6, 7, 8 or 9; needed to send by SMS.", Example: "9876501234"},
	{Name: "amount", Required: true, Rules: "Rupees, more than ₹0, at most two decimals; Indian or plain commas allowed; within the template's amount rule.", Example: "5,000.00"},
	{Name: "due_date", Required: true, Rules: "YYYY-MM-DD, from today up to a year ahead.", Example: "2026-12-31"},
	{Name: "send_by", Rules: "email, sms, email_sms or none (share it yourself); empty means email.", Example: "email"},
	{Name: "contact_id", Rules: "A Paydesk contact id (CT…); its name, email and mobile fill the columns left empty.", Example: ""},
}

// linkUpload is template t's CSV, and the column of each template field.
func linkUpload(t db.LinkTemplate) (csvUpload, map[string]string) {
	u := csvUpload{id: "link-bulk", noun: "link", maxBytes: 10 << 20, maxRows: db.MaxLinkBatchRows, showValid: 100, showInvalid: 1000,
		columns: slices.Clone(linkColumns)}
	byColumn := map[string]string{}
	for _, f := range t.Fields {
		name := strings.ToLower(f.Name)
		if u.isColumn(name) {
			name = "field_" + name
		}
		byColumn[name] = f.Name
		rules := f.Label + ": " + strings.Join(fieldRules(f), "; ") + "."
		u.columns = append(u.columns, views.CSVColumn{Name: name, Required: f.Required, Rules: rules, Example: f.Default})
	}
	return u, byColumn
}

func linkRowInput(r csvRow, byColumn map[string]string) db.LinkInput {
	in := db.LinkInput{CustomerName: r.get("customer_name"), CustomerEmail: r.get("customer_email"), CustomerMobile: r.get("customer_mobile"),
		Amount: r.get("amount"), DueDate: r.get("due_date"), SendBy: r.get("send_by"), ContactID: r.get("contact_id"),
		Fields: map[string]string{}}
	if in.SendBy == "" {
		in.SendBy = providers.SendEmail
	}
	for col, field := range byColumn {
		if v := r.get(col); v != "" {
			in.Fields[field] = v
		}
	}
	return in
}

var linkBulkHead = []views.CSVHead{{Label: "Customer"}, {Label: "Email"}, {Label: "Mobile", Class: "mono"}, {Label: "Send by"},
	{Label: "Due", Class: "nowrap"}, {Label: "Amount", Class: "num"}}

func linkBulkCells(in db.LinkInput) []string {
	return []string{in.CustomerName, in.CustomerEmail, in.CustomerMobile, in.SendBy, in.DueDate, in.Amount}
}

// linkBulkResult is an upload parsed and checked.
type linkBulkResult struct {
	csv     string
	valid   []db.LinkInput
	rows    []views.CSVRow
	invalid []views.CSVRow
	total   int64
}

// linkBulkCheck checks every row; the keys of a template field's message
// are its column.
func (s *Server) linkBulkCheck(c *fiber.Ctx, t db.LinkTemplate, u csvUpload, byColumn map[string]string, text string,
	rows []csvRow) (linkBulkResult, error) {
	ins := make([]db.LinkInput, len(rows))
	for i, r := range rows {
		ins[i] = linkRowInput(r, byColumn)
	}
	_, problems, err := s.Links.CheckBatch(c.UserContext(), t.ID, ins)
	if err != nil {
		return linkBulkResult{}, err
	}
	columnOf := map[string]string{}
	for col, field := range byColumn {
		columnOf[db.TemplateFieldKey(field)] = col
	}
	res := linkBulkResult{csv: text}
	for i, r := range rows {
		if r.problem == "" && problems[i] == nil {
			res.valid = append(res.valid, ins[i])
			res.rows = append(res.rows, views.CSVRow{Line: r.line, Cells: linkBulkCells(ins[i])})
			if p, err := providers.ParseAmount(ins[i].Amount); err == nil {
				res.total += p
			}
			continue
		}
		fields := map[string]string{}
		for k, v := range problems[i] {
			if col, ok := columnOf[k]; ok {
				k = col
			}
			fields[k] = v
		}
		var reasons []string
		if r.problem != "" {
			reasons = append(reasons, r.problem)
		}
		reasons = append(reasons, u.reasons(fields)...)
		res.invalid = append(res.invalid, views.CSVRow{Line: r.line, Cells: linkBulkCells(ins[i]), Reasons: reasons})
	}
	return res, nil
}

// bulkTemplate is the template the query names, usable.
func (s *Server) bulkTemplate(c *fiber.Ctx) (db.LinkTemplate, error) {
	t, err := s.Links.Template(c.UserContext(), c.Query("template"))
	if err != nil {
		return t, err
	}
	if !t.Usable() {
		return t, db.Errorf(db.ECONFLICT, "Links cannot be made from template %s now.", t.ID)
	}
	return t, nil
}

func (s *Server) renderLinkBulk(c *fiber.Ctx, t db.LinkTemplate, status int, preview *views.CSVPreview, done *views.CSVDone) error {
	u, _ := linkUpload(t)
	q := "?template=" + t.ID
	p := views.CSVPage{Shell: s.shell(c, "Bulk payment links", "/links"), Preview: preview, Done: done,
		Upload: u.uploadView(c, "/links/bulk/preview"+q, "/links/bulk/template.csv"+q)}
	p.Title = "Bulk payment links: " + t.Name
	p.Intro = "Upload a CSV of invoices for template " + t.Name + " (" + t.ID + "): its columns are the customer's and this template's fields. " +
		"Every row is checked first; the valid rows then become links together, and Paydesk asks NTT DATA for each invoice in the background."
	ts, err := s.Links.Templates(c.UserContext())
	if err != nil {
		return err
	}
	for _, o := range ts {
		if o.Usable() && o.ID != t.ID {
			p.Links = append(p.Links, views.CSVLink{Href: "/links/bulk?template=" + o.ID, Label: "Use " + o.Name, Secondary: true})
		}
	}
	return s.render(c, status, views.CSVUploadPage(p), views.CSVResult(preview, done))
}

func (s *Server) linkBulkPage(c *fiber.Ctx) error {
	if c.Query("template") == "" {
		ts, err := s.Links.Templates(c.UserContext())
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.Usable() {
				return redirect(c, "/links/bulk?template="+t.ID)
			}
		}
		return db.Errorf(db.ECONFLICT, "No template can be used yet; see Invoice templates.")
	}
	t, err := s.bulkTemplate(c)
	if err != nil {
		return err
	}
	return s.renderLinkBulk(c, t, fiber.StatusOK, nil, nil)
}

func (s *Server) linkBulkTemplate(c *fiber.Ctx) error {
	t, err := s.bulkTemplate(c)
	if err != nil {
		return err
	}
	u, byColumn := linkUpload(t)
	due := db.ISTDay(s.DB.Now().AddDate(0, 0, 14))
	example := func(name, email, mobile, amount string) []string {
		row := []string{name, email, mobile, amount, due, "email", ""}
		for _, col := range u.columns[len(linkColumns):] {
			v := byColumn[col.Name]
			for _, f := range t.Fields {
				if f.Name == v {
					// The provider's default: a formula there would run.
					v = csvSafe(f.Default)
					if v == "" && f.Required {
						v = "…"
					}
				}
			}
			row = append(row, v)
		}
		return row
	}
	return u.sendTemplate(c, "paydesk-links-"+t.ID+".csv", example("Lotus Pharma", "accounts@lotuspharma.in", "9876501234", "5,000.00"),
		example("Ravi Stores", "ravi@ravistores.in", "", "12,500.50"))
}

func (s *Server) linkBulkPreview(c *fiber.Ctx) error {
	return s.linkBulkChecked(c, false)
}

func (s *Server) linkBulkSubmit(c *fiber.Ctx) error {
	return s.linkBulkChecked(c, true)
}

// linkBulkChecked checks the template's file and shows the preview, or, on
// submit, makes the links when the rows still check as the preview said.
func (s *Server) linkBulkChecked(c *fiber.Ctx, submit bool) error {
	t, err := s.bulkTemplate(c)
	if err != nil {
		return err
	}
	u, byColumn := linkUpload(t)
	render := func(status int, preview *views.CSVPreview, done *views.CSVDone) error {
		return s.renderLinkBulk(c, t, status, preview, done)
	}
	name, text, rows, answered, err := u.rows(c, submit, render)
	if answered || err != nil {
		return err
	}
	res, err := s.linkBulkCheck(c, t, u, byColumn, text, rows)
	if err != nil {
		return err
	}
	q := "?template=" + t.ID
	p := u.preview(c, name, res.csv, "/links/bulk"+q, res.invalid, nil, res.rows)
	p.Head, p.ValidHead = linkBulkHead, linkBulkHead
	p.ValidNote = views.INR(res.total) + " in all"
	p.SubmitNote = "The file is checked again when you submit, and the valid rows become links together or not at all. " +
		"Paydesk then asks NTT DATA for each invoice in the background; the links list shows them as they are made."
	p.SubmitLabel = "Create " + linkCount(p.Valid, "payment link")
	p.Submitting = "Creating links… this takes a few seconds for thousands of rows."
	if !submit {
		return showPreview(render, p)
	}
	if refused, err := refuseSubmit(c, render, &p, len(res.valid), "created"); refused || err != nil {
		return err
	}
	b, err := s.Links.CreateBatch(c.UserContext(), *auth(c).user, t.ID, res.valid)
	if err != nil {
		if db.ErrorCode(err) != db.EINVALID {
			return err
		}
		p.Error, p.CSV = "Nothing was created: "+db.ErrorMessage(err)+" Upload the file again to see which rows.", ""
		return s.renderLinkBulk(c, t, fiber.StatusUnprocessableEntity, &p, nil)
	}
	done := views.CSVDone{ID: u.id, FileName: name, Left: len(res.invalid),
		Message: fmt.Sprintf("%s created for %s; NTT DATA makes their invoices in the background.", linkCount(len(b.LinkIDs), "payment link"),
			views.INR(b.TotalPaise)),
		Cards: []views.CSVCard{{Label: "Links", Value: views.Itoa(len(b.LinkIDs))}, {Label: "Total", Value: views.INR(b.TotalPaise)},
			{Label: "Batch", Value: b.ID, Code: true}},
		Links: []views.CSVLink{{Href: "/links?template=" + t.ID, Label: "See the links"},
			{Href: "/links/bulk" + q, Label: "Upload another file", Secondary: true}}}
	return s.renderLinkBulk(c, t, fiber.StatusOK, nil, &done)
}

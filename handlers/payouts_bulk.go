package handlers

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

// Bulk payout upload: a maker uploads a CSV, sees every row checked, and
// submits the valid rows as one batch. The reading, the limits and the
// round trip of the CSV are csvupload.go's.

// bulkUpload is the payout CSV; the order of the columns is the template's.
var bulkUpload = csvUpload{
	id: "bulk", noun: "payout", maxBytes: 10 << 20, maxRows: db.MaxBatchRows, showValid: 100, showInvalid: 1000,
	columns: []views.CSVColumn{
		{Name: "beneficiary_name", Required: true, Rules: "Letters, spaces and . & ' - only (no digits); at most 100 characters.", Example: "Asha Traders"},
		{Name: "account_no", Required: true, Rules: "6 to 20 letters or digits, no spaces. In Excel, format the column as Text so long numbers keep every digit.", Example: "50100012345678"},
		{Name: "ifsc", Required: true, Rules: "11 characters: 4 letters, 0, then 6 letters or digits.", Example: "HDFC0001234"},
		{Name: "amount", Required: true, Rules: "Rupees, more than ₹0, at most two decimals; Indian or plain commas allowed. RTGS from ₹2,00,000; IMPS up to ₹5,00,000; paymate up to ₹99,99,999.99.", Example: "50000 or 1,00,000.50"},
		{Name: "rail", Required: true, Rules: "NEFT, RTGS or IMPS.", Example: "NEFT"},
		{Name: "source", Required: true, Rules: "The account to pay from: kotakcms or paymate.", Example: "kotakcms"},
		{Name: "purpose", Rules: "At most 60 printable characters; may be empty.", Example: "Invoice 1043"},
		{Name: "value_date", Rules: "YYYY-MM-DD, from today up to 30 days ahead; empty means today."},
		{Name: "contact_reference", Rules: "Optional: a contact's reference code. The row then pays that contact's approved bank details: leave account_no and ifsc empty (a row with both is refused); an empty beneficiary_name takes the contact's name.", Example: "VEND-0042"},
	},
}

var (
	bulkInvalidHead = []views.CSVHead{{Label: "Beneficiary"}, {Label: "Contact", Class: "mono"}, {Label: "Account", Class: "mono"},
		{Label: "IFSC", Class: "mono"}, {Label: "Amount as given", Class: "num"}, {Label: "Rail"}, {Label: "Source"}}
	bulkValidHead = []views.CSVHead{{Label: "Beneficiary"}, {Label: "Contact", Class: "mono"}, {Label: "Account", Class: "mono"},
		{Label: "IFSC", Class: "mono"}, {Label: "Rail"}, {Label: "Source"}, {Label: "Purpose"}, {Label: "Value date", Class: "nowrap"},
		{Label: "Amount", Class: "num"}}
)

func bulkInput(r csvRow) db.PayoutInput {
	return db.PayoutInput{BeneficiaryName: r.get("beneficiary_name"), AccountNo: r.get("account_no"), IFSC: r.get("ifsc"),
		Amount: r.get("amount"), Rail: r.get("rail"), Source: r.get("source"), Purpose: r.get("purpose"), ValueDate: r.get("value_date"),
		ContactRef: r.get("contact_reference")}
}

// bulkResult is an upload parsed and checked.
type bulkResult struct {
	csv     string // normalised text: no BOM, \n line ends
	valid   []csvRow
	drafts  []db.PayoutDraft
	invalid []views.CSVRow
	total   int64
}

// bulkCheck validates every row as of today (a row naming a contact
// against the contact's payable details as they stand).
func (s *Server) bulkCheck(ctx context.Context, text string, rows []csvRow, today time.Time) (bulkResult, error) {
	res := bulkResult{csv: text}
	for _, row := range rows {
		d, fields, err := s.Payouts.CheckRow(ctx, bulkInput(row), today)
		if err != nil {
			return res, err
		}
		if row.problem == "" && len(fields) == 0 {
			res.valid = append(res.valid, row)
			res.drafts = append(res.drafts, d)
			res.total += d.AmountPaise
			continue
		}
		var reasons []string
		if row.problem != "" {
			reasons = append(reasons, row.problem)
		}
		reasons = append(reasons, bulkUpload.reasons(fields)...)
		res.invalid = append(res.invalid, bulkInvalidRow(row, reasons))
	}
	return res, nil
}

func bulkInvalidRow(row csvRow, reasons []string) views.CSVRow {
	in := bulkInput(row)
	return views.CSVRow{Line: row.line, Cells: []string{in.BeneficiaryName, in.ContactRef, in.AccountNo, in.IFSC, in.Amount, in.Rail, in.Source},
		Reasons: reasons}
}

// bulkPreview turns a checked upload into the preview's props.
func (s *Server) bulkPreview(c *fiber.Ctx, fileName string, res bulkResult) views.CSVPreview {
	valid := make([]views.CSVRow, len(res.valid))
	for i, row := range res.valid {
		d := res.drafts[i]
		date := d.ValueDate
		if date == "" {
			date = "today"
		}
		valid[i] = views.CSVRow{Line: row.line, Cells: []string{d.BeneficiaryName, row.get("contact_reference"), d.AccountNo, d.IFSC,
			string(d.Rail), d.Source, d.Purpose, date, views.INR(d.AmountPaise)}}
	}
	p := bulkUpload.preview(c, fileName, res.csv, "/payouts/bulk", res.invalid, nil, valid)
	// One-time: submitting this preview twice makes one batch.
	p.SubmitToken = randomToken(18)
	p.ValidNote = "total " + views.INR(res.total)
	p.Head, p.ValidHead = bulkInvalidHead, bulkValidHead
	p.SubmitNote = "The file is checked again when you submit. Each payout becomes its own approval request; all are saved together or none are."
	p.SubmitLabel = "Submit " + views.CountOf(p.Valid, "valid payout", "valid payouts") + " for approval"
	p.Submitting = "Submitting… this can take a few seconds for thousands of rows."
	return p
}

// renderBulk answers with the whole page, the result area filled, or (htmx)
// with the result area alone.
func (s *Server) renderBulk(c *fiber.Ctx, status int, preview *views.CSVPreview, done *views.CSVDone) error {
	u := bulkUpload.uploadView(c, "/payouts/bulk/preview", "/payouts/bulk/template.csv")
	u.Columns[len(u.Columns)-1].Example = s.DB.Now().Format("2006-01-02") // value_date
	p := views.CSVPage{Shell: s.shell(c, "Bulk payout upload", "/payouts"), Upload: u, Preview: preview, Done: done}
	return s.render(c, status, views.BulkUploadPage(p), views.CSVResult(preview, done))
}

// bulkRenderer renders the bulk upload page of this request.
func (s *Server) bulkRenderer(c *fiber.Ctx) uploadRenderer {
	return func(status int, preview *views.CSVPreview, done *views.CSVDone) error {
		return s.renderBulk(c, status, preview, done)
	}
}

func (s *Server) bulkPayoutsPage(c *fiber.Ctx) error {
	return s.renderBulk(c, fiber.StatusOK, nil, nil)
}

func (s *Server) bulkPayoutsTemplate(c *fiber.Ctx) error {
	return bulkUpload.sendTemplate(c, "paydesk-bulk-payouts-template.csv",
		[]string{"Asha Traders", "50100012345678", "HDFC0001234", "1,25,000.50", "NEFT", "kotakcms", "Invoice 1043", "", ""},
		[]string{"Ravi Kumar", "001234567890", "ICIC0000123", "25000", "IMPS", "paymate", "Refund order 7781", "", ""})
}

func (s *Server) bulkPayoutsPreview(c *fiber.Ctx) error {
	render := s.bulkRenderer(c)
	name, text, rows, answered, err := bulkUpload.rows(c, false, render)
	if answered || err != nil {
		return err
	}
	res, err := s.bulkCheck(c.UserContext(), text, rows, s.DB.Now())
	if err != nil {
		return err
	}
	return showPreview(render, s.bulkPreview(c, name, res))
}

func (s *Server) bulkPayoutsSubmit(c *fiber.Ctx) error {
	render := s.bulkRenderer(c)
	fileName, text, rows, answered, err := bulkUpload.rows(c, true, render)
	if answered || err != nil {
		return err
	}
	res, err := s.bulkCheck(c.UserContext(), text, rows, s.DB.Now())
	if err != nil {
		return err
	}
	p := s.bulkPreview(c, fileName, res)
	token := c.FormValue("submit_token")
	p.SubmitToken = token
	if refused, err := refuseSubmit(c, render, &p, len(res.valid), "submitted"); refused || err != nil {
		return err
	}
	inputs := make([]db.PayoutInput, len(res.valid))
	for i, row := range res.valid {
		inputs[i] = bulkInput(row)
	}
	b, already, err := s.Payouts.SubmitBatch(c.UserContext(), *auth(c).user, token, inputs)
	if err != nil {
		if db.ErrorCode(err) != db.EINVALID {
			return err
		}
		bulkShowBatchErrors(&p, res, err)
		return s.renderBulk(c, fiber.StatusUnprocessableEntity, &p, nil)
	}
	msg := fmt.Sprintf("Submitted %s for approval as batch %s.", views.CountOf(b.Count, "payout", "payouts"), b.ID)
	if already {
		msg = fmt.Sprintf("This file was already submitted as batch %s (%s); nothing new was created.", b.ID, views.CountOf(b.Count, "payout", "payouts"))
	}
	done := views.CSVDone{ID: bulkUpload.id, FileName: fileName, Left: len(res.invalid),
		Message: msg,
		Cards: []views.CSVCard{{Label: "Batch", Value: b.ID, Code: true}, {Label: "Payouts", Value: views.Itoa(b.Count)},
			{Label: "Total", Value: views.INR(b.TotalPaise)}},
		Links: []views.CSVLink{{Href: "/payouts?batch=" + urlQueryEscape(b.ID), Label: "See this batch's payouts"},
			{Href: "/queue", Label: "Approval queue", Secondary: true}, {Href: "/payouts/bulk", Label: "Upload another file", Secondary: true}}}
	return s.renderBulk(c, fiber.StatusOK, nil, &done)
}

// bulkShowBatchErrors puts ProposeBatch's refusal (fields keyed rows.<i>.<field>,
// i counting the valid rows) back onto the rows' lines; nothing was saved.
func bulkShowBatchErrors(p *views.CSVPreview, res bulkResult, err error) {
	byRow := map[int]map[string]string{}
	var general []string
	for k, msg := range db.FieldErrors(err) {
		parts := strings.SplitN(k, ".", 3)
		if len(parts) == 3 && parts[0] == "rows" {
			if i, perr := strconv.Atoi(parts[1]); perr == nil && i >= 0 && i < len(res.valid) {
				if byRow[i] == nil {
					byRow[i] = map[string]string{}
				}
				byRow[i][parts[2]] = msg
				continue
			}
		}
		general = append(general, msg)
	}
	sort.Strings(general)
	idx := make([]int, 0, len(byRow))
	for i := range byRow {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var extra []views.CSVRow
	total := res.total
	for _, i := range idx {
		extra = append(extra, bulkInvalidRow(res.valid[i], bulkUpload.reasons(byRow[i])))
		total -= res.drafts[i].AmountPaise
	}
	p.ValidNote = "total " + views.INR(total)
	p.InvalidRows = append(extra, p.InvalidRows...)
	sort.SliceStable(p.InvalidRows, func(i, j int) bool { return p.InvalidRows[i].Line < p.InvalidRows[j].Line })
	p.Invalid += len(extra)
	p.Valid -= len(extra)
	msg := "Nothing was submitted: " + db.ErrorMessage(err)
	if len(general) > 0 {
		msg += " " + strings.Join(general, " ")
	}
	if len(extra) > 0 {
		msg += " See the " + views.CountOf(len(extra), "row", "rows") + " marked below."
	}
	p.Error = msg
	p.CSV = ""
	p.ValidRows = nil
	p.MoreValid = 0
}

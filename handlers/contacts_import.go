package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

// Contact import: an admin or maker uploads a CSV of contacts, sees every
// row checked (db.Contacts.CheckImport), and imports the valid rows together
// (db.Contacts.Import, one transaction). Bank details never take effect
// here: each contact with them gets a 'contact_bank' approval request. The
// reading and the round trip of the CSV are csvupload.go's.

// contactImport is the contacts CSV; the order of the columns is the
// template's and the contact form's.
var contactImport = csvUpload{
	id: "contacts-import", noun: "contact", maxBytes: 5 << 20, maxRows: db.MaxContactImportRows, showValid: 100, showInvalid: 1000,
	columns: []views.CSVColumn{
		{Name: "kind", Required: true, Rules: "vendor (we pay them) or customer (they pay us).", Example: "vendor"},
		{Name: "company_name", Required: true, Rules: "At most 60 characters: letters, digits, spaces and , . @ ! ' - only (no &).", Example: "Asha Traders Pvt. Ltd."},
		{Name: "first_name", Required: true, Rules: "The contact person: letters and spaces, at most 30 characters.", Example: "Asha"},
		{Name: "last_name", Required: true, Rules: "Letters and spaces, at most 30 characters.", Example: "Rao"},
		{Name: "email", Required: true, Rules: "A valid address, at most 200 characters.", Example: "accounts@ashatraders.in"},
		{Name: "mobile", Rules: "10 digits starting with 6, 7, 8 or 9, without +91 or spaces; may be empty.", Example: "9876543210"},
		{Name: "gstin", Rules: "15 characters; may be empty.", Example: "27ABCDE1234F1Z5"},
		{Name: "reference_code", Rules: "The contact's code at PayMate: at most 20 letters and digits, used by no other contact (any case). Empty: Paydesk's contact id. It cannot be changed later.", Example: "ASHA01"},
		{Name: "account_no", Rules: "At most 30 letters or digits, no spaces; needed for a vendor. In Excel, format the column as Text so long numbers keep every digit. A checker approves it before any payout can use it.", Example: "50100012345678"},
		{Name: "ifsc", Rules: "11 characters: 4 letters, 0, then 6 letters or digits; needed with an account number.", Example: "HDFC0001234"},
	},
}

// contactImportHead heads every table of the preview.
var contactImportHead = []views.CSVHead{{Label: "Kind"}, {Label: "Company"}, {Label: "Contact person"}, {Label: "Email"},
	{Label: "Mobile", Class: "mono"}, {Label: "GSTIN", Class: "mono"}, {Label: "Reference", Class: "mono"},
	{Label: "Account", Class: "mono"}, {Label: "IFSC", Class: "mono"}}

func contactImportInput(r csvRow) db.ContactInput {
	return db.ContactInput{Kind: db.ContactKind(r.get("kind")), CompanyName: r.get("company_name"), FirstName: r.get("first_name"),
		LastName: r.get("last_name"), Email: r.get("email"), Mobile: r.get("mobile"), GSTIN: r.get("gstin"),
		ReferenceCode: r.get("reference_code"), AccountNo: r.get("account_no"), IFSC: r.get("ifsc")}
}

func contactImportCells(in db.ContactInput) []string {
	return []string{string(in.Kind), in.CompanyName, strings.TrimSpace(in.FirstName + " " + in.LastName), in.Email, in.Mobile,
		in.GSTIN, in.ReferenceCode, in.AccountNo, in.IFSC}
}

// contactImportResult is an upload parsed and checked.
type contactImportResult struct {
	csv     string
	valid   []db.ContactImportRow
	rows    []views.CSVRow // the valid rows as they will be saved
	invalid []views.CSVRow
	warned  []views.CSVRow // valid rows with warnings
	bank    int            // valid rows with bank details
}

// contactImportCheck checks every row, adding extra problems (an import's
// refusal) to what CheckImport finds.
func (s *Server) contactImportCheck(ctx context.Context, text string, rows []csvRow, extra []db.ContactRowProblem) (contactImportResult, error) {
	all := make([]db.ContactImportRow, len(rows))
	for i, r := range rows {
		all[i] = db.ContactImportRow{Line: r.line, In: contactImportInput(r)}
	}
	problems, err := s.Contacts.CheckImport(ctx, all)
	if err != nil {
		return contactImportResult{}, err
	}
	errs, warns := map[int]map[string]string{}, map[int]map[string]string{}
	for _, p := range append(problems, extra...) {
		m := errs
		if p.Warning {
			m = warns
		}
		if m[p.Line] == nil {
			m[p.Line] = map[string]string{}
		}
		if _, ok := m[p.Line][p.Field]; !ok {
			m[p.Line][p.Field] = p.Message
		}
	}
	res := contactImportResult{csv: text}
	for i, r := range rows {
		warnings := contactImport.reasons(warns[r.line])
		if r.problem != "" || errs[r.line] != nil {
			var reasons []string
			if r.problem != "" {
				reasons = append(reasons, r.problem)
			}
			reasons = append(reasons, contactImport.reasons(errs[r.line])...)
			res.invalid = append(res.invalid, views.CSVRow{Line: r.line, Cells: contactImportCells(all[i].In),
				Reasons: reasons, Warnings: warnings})
			continue
		}
		in, _ := db.ValidateContact(all[i].In) // as it will be saved
		res.valid = append(res.valid, all[i])
		res.rows = append(res.rows, views.CSVRow{Line: r.line, Cells: contactImportCells(in)})
		if in.AccountNo != "" {
			res.bank++
		}
		if len(warnings) > 0 {
			res.warned = append(res.warned, views.CSVRow{Line: r.line, Cells: contactImportCells(all[i].In), Warnings: warnings})
		}
	}
	return res, nil
}

func (s *Server) contactImportPreview(c *fiber.Ctx, fileName string, res contactImportResult) views.CSVPreview {
	p := contactImport.preview(c, fileName, res.csv, "/contacts/import", res.invalid, res.warned, res.rows)
	p.ValidNote = fmt.Sprintf("%d with bank details for approval", res.bank)
	if len(res.warned) > 0 {
		p.Cards = append(p.Cards, views.CSVCard{Label: "Worth a look", Value: views.Itoa(len(res.warned)), Note: "valid; imported all the same"})
	}
	p.Head, p.ValidHead = contactImportHead, contactImportHead
	p.SubmitNote = "The file is checked again when you import, and the valid rows are saved together or not at all. " +
		"Each contact with bank details gets its own approval request: none can be paid until a checker approves its bank details."
	p.SubmitLabel = fmt.Sprintf("Import %d valid contacts", p.Valid)
	p.Submitting = "Importing… this can take a few seconds for thousands of rows."
	return p
}

func (s *Server) renderContactImport(c *fiber.Ctx, status int, preview *views.CSVPreview, done *views.CSVDone) error {
	p := views.CSVPage{Shell: s.shell(c, "Import contacts", "/contacts"), Preview: preview, Done: done,
		Upload: contactImport.uploadView(c, "/contacts/import/preview", "/contacts/import/template.csv")}
	return s.render(c, status, views.ContactsImportPage(p), views.CSVResult(preview, done))
}

// contactImportRenderer renders the import page of this request.
func (s *Server) contactImportRenderer(c *fiber.Ctx) uploadRenderer {
	return func(status int, preview *views.CSVPreview, done *views.CSVDone) error {
		return s.renderContactImport(c, status, preview, done)
	}
}

func (s *Server) contactsImportPage(c *fiber.Ctx) error {
	return s.renderContactImport(c, fiber.StatusOK, nil, nil)
}

func (s *Server) contactsImportTemplate(c *fiber.Ctx) error {
	return contactImport.sendTemplate(c, "paydesk-contacts-template.csv",
		[]string{"vendor", "Asha Traders Pvt. Ltd.", "Asha", "Rao", "accounts@ashatraders.in", "9876543210", "27ABCDE1234F1Z5", "ASHA01", "50100012345678", "HDFC0001234"},
		[]string{"customer", "Ravi Stores", "Ravi", "Kumar", "ravi@ravistores.in", "", "", "", "", ""})
}

func (s *Server) contactsImportPreview(c *fiber.Ctx) error {
	render := s.contactImportRenderer(c)
	name, text, rows, answered, err := contactImport.rows(c, false, render)
	if answered || err != nil {
		return err
	}
	res, err := s.contactImportCheck(c.UserContext(), text, rows, nil)
	if err != nil {
		return err
	}
	return showPreview(render, s.contactImportPreview(c, name, res))
}

func (s *Server) contactsImportSubmit(c *fiber.Ctx) error {
	render := s.contactImportRenderer(c)
	fileName, text, rows, answered, err := contactImport.rows(c, true, render)
	if answered || err != nil {
		return err
	}
	ctx := c.UserContext()
	res, err := s.contactImportCheck(ctx, text, rows, nil)
	if err != nil {
		return err
	}
	p := s.contactImportPreview(c, fileName, res)
	if refused, err := refuseSubmit(c, render, &p, len(res.valid), "imported"); refused || err != nil {
		return err
	}
	out, err := s.Contacts.Import(ctx, *auth(c).user, res.valid)
	if err != nil {
		if db.ErrorCode(err) != db.EINVALID || len(out.Problems) == 0 {
			return err
		}
		// Something changed since the check (a reference code taken
		// meanwhile): nothing was saved; show which rows and offer no submit.
		refusal := db.ErrorMessage(err)
		if res, err = s.contactImportCheck(ctx, text, rows, out.Problems); err != nil {
			return err
		}
		p = s.contactImportPreview(c, fileName, res)
		p.Error = "Nothing was imported: " + refusal + " See the rows marked below."
		p.CSV = ""
		return s.renderContactImport(c, fiber.StatusUnprocessableEntity, &p, nil)
	}
	n := len(out.ContactIDs)
	done := views.CSVDone{ID: contactImport.id, FileName: fileName, Left: len(res.invalid),
		Message: fmt.Sprintf("%d contacts imported, %d sent for bank-detail approval.", n, out.BankRequests),
		Cards: []views.CSVCard{{Label: "Imported", Value: views.Itoa(n)},
			{Label: "Sent for bank-detail approval", Value: views.Itoa(out.BankRequests), Note: "not payable until a checker approves"},
			{Label: "Without bank details", Value: views.Itoa(n - out.BankRequests)},
			{Label: "Import", Value: out.ID, Code: true}},
		Links: []views.CSVLink{{Href: "/contacts", Label: "See the contacts"},
			{Href: "/queue", Label: "Approval queue", Secondary: true}, {Href: "/contacts/import", Label: "Import another file", Secondary: true}}}
	return s.renderContactImport(c, fiber.StatusOK, nil, &done)
}

package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

// The virtual-account CSV: an admin uploads accounts to create, change or
// close, sees every row checked (db.VirtualAccounts.CheckChanges), and
// proposes the valid rows together (db.VirtualAccounts.Propose, one
// transaction, one approval request per kind of change). The reading and
// the round trip of the CSV are csvupload.go's.

var vaUpload = csvUpload{
	id: "vabulk", noun: "account", maxBytes: 5 << 20, maxRows: db.MaxVAUploadRows, showValid: 100, showInvalid: 1000,
	columns: []views.CSVColumn{
		{Name: "action", Rules: "create (the default), modify or delete.", Example: "create"},
		{Name: "suffix", Rules: "create: 1 to 12 capital letters or digits after the bank's prefix; empty: Paydesk makes one.", Example: "INV2026001"},
		{Name: "number", Rules: "modify and delete: the full account number (or give its suffix).", Example: ""},
		{Name: "name", Required: true, Rules: "The payer or invoice, at most 100 characters: letters, digits, spaces and . & ' / , ( ) - (modify: empty keeps it).", Example: "Meera Textiles"},
		{Name: "purpose", Rules: "At most 50 characters.", Example: "Invoice 2026-001"},
		{Name: "contact", Rules: "A contact's id or reference code; empty: none (modify: keeps it; none removes it).", Example: ""},
		{Name: "email", Rules: "The payer's address, at most 100 characters.", Example: "accounts@meera.in"},
		{Name: "mobile", Rules: "10 digits starting 6–9, without +91.", Example: "9876543210"},
		{Name: "expires_on", Rules: "YYYY-MM-DD, not in the past; empty: never.", Example: ""},
	},
}

var vaUploadHead = []views.CSVHead{{Label: "Action"}, {Label: "Number", Class: "mono"}, {Label: "Name"}, {Label: "Purpose"},
	{Label: "Contact", Class: "mono"}, {Label: "E-mail"}, {Label: "Mobile", Class: "mono"}, {Label: "Expires"}}

func vaUploadInput(r csvRow) db.VAChangeInput {
	return db.VAChangeInput{Line: r.line, Op: r.get("action"), Suffix: r.get("suffix"), Number: r.get("number"), Name: r.get("name"),
		Purpose: r.get("purpose"), Contact: r.get("contact"), Email: r.get("email"), Mobile: r.get("mobile"), ExpiresOn: r.get("expires_on")}
}

func (s *Server) vaUploadCells(in db.VAChangeInput) []string {
	number := in.Number
	if number == "" && in.Suffix != "" {
		number = s.VirtualAccounts.Prefix() + strings.ToUpper(in.Suffix)
	}
	op := in.Op
	if op == "" {
		op = db.VAOpCreate
	}
	return []string{op, number, in.Name, in.Purpose, in.Contact, in.Email, in.Mobile, in.ExpiresOn}
}

// vaUploadResult is an upload parsed and checked.
type vaUploadResult struct {
	csv     string
	valid   []db.VAChangeInput
	rows    []views.CSVRow
	invalid []views.CSVRow
	ops     map[string]int
}

// vaUploadCheck checks every row; extra are problems a refused submit found.
func (s *Server) vaUploadCheck(ctx context.Context, text string, rows []csvRow, extra []db.VARowProblem) (vaUploadResult, error) {
	all := make([]db.VAChangeInput, len(rows))
	byOp := map[string][]db.VAChangeInput{}
	for i, r := range rows {
		all[i] = vaUploadInput(r)
		op := strings.ToLower(strings.TrimSpace(all[i].Op))
		byOp[op] = append(byOp[op], all[i])
	}
	problems := append([]db.VARowProblem(nil), extra...)
	for op, g := range byOp {
		if op != "" && op != db.VAOpCreate && op != db.VAOpModify && op != db.VAOpDelete {
			for _, in := range g {
				problems = append(problems, db.VARowProblem{Line: in.Line, Fields: map[string]string{"action": "create, modify or delete."}})
			}
			continue
		}
		p, err := s.VirtualAccounts.CheckChanges(ctx, g)
		if err != nil {
			return vaUploadResult{}, err
		}
		problems = append(problems, p...)
	}
	errs := map[int]map[string]string{}
	for _, p := range problems {
		if errs[p.Line] == nil {
			errs[p.Line] = map[string]string{}
		}
		for k, v := range p.Fields {
			if _, ok := errs[p.Line][k]; !ok {
				errs[p.Line][k] = v
			}
		}
	}
	res := vaUploadResult{csv: text, ops: map[string]int{}}
	for i, r := range rows {
		cells := s.vaUploadCells(all[i])
		if r.problem != "" || errs[r.line] != nil {
			var reasons []string
			if r.problem != "" {
				reasons = append(reasons, r.problem)
			}
			reasons = append(reasons, vaUpload.reasons(errs[r.line])...)
			res.invalid = append(res.invalid, views.CSVRow{Line: r.line, Cells: cells, Reasons: reasons})
			continue
		}
		res.valid = append(res.valid, all[i])
		res.rows = append(res.rows, views.CSVRow{Line: r.line, Cells: cells})
		res.ops[cells[0]]++
	}
	return res, nil
}

func (s *Server) vaUploadPreview(c *fiber.Ctx, fileName string, res vaUploadResult) views.CSVPreview {
	p := vaUpload.preview(c, fileName, res.csv, "/virtual-accounts/upload", res.invalid, nil, res.rows)
	var parts []string
	for _, op := range []string{db.VAOpCreate, db.VAOpModify, db.VAOpDelete} {
		if n := res.ops[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", n, op))
		}
	}
	p.ValidNote = strings.Join(parts, ", ")
	p.Head, p.ValidHead = vaUploadHead, vaUploadHead
	p.SubmitNote = "The file is checked again when you submit, and the valid rows are saved together or not at all, as one approval request " +
		"per kind of change. The bank is asked only after a checker approves."
	p.SubmitLabel = fmt.Sprintf("Propose %d valid accounts", p.Valid)
	p.Submitting = "Proposing… this can take a few seconds for thousands of rows."
	return p
}

func (s *Server) renderVAUpload(c *fiber.Ctx, status int, preview *views.CSVPreview, done *views.CSVDone) error {
	p := views.CSVPage{Shell: s.shell(c, "Upload virtual accounts", "/virtual-accounts"), Preview: preview, Done: done,
		Upload: vaUpload.uploadView(c, "/virtual-accounts/upload/preview", "/virtual-accounts/upload/template.csv")}
	return s.render(c, status, views.VAUploadPage(p), views.CSVResult(preview, done))
}

// vaUploadRenderer renders the upload page of this request.
func (s *Server) vaUploadRenderer(c *fiber.Ctx) uploadRenderer {
	return func(status int, preview *views.CSVPreview, done *views.CSVDone) error {
		return s.renderVAUpload(c, status, preview, done)
	}
}

func (s *Server) vaUploadPage(c *fiber.Ctx) error {
	return s.renderVAUpload(c, fiber.StatusOK, nil, nil)
}

func (s *Server) vaUploadTemplate(c *fiber.Ctx) error {
	return vaUpload.sendTemplate(c, "paydesk-virtual-accounts-template.csv",
		[]string{"create", "INV2026001", "", "Meera Textiles", "Invoice 2026-001", "", "accounts@meera.in", "9876543210", ""},
		[]string{"create", "", "", "Rao and Sons", "School fees 2026", "", "", "", "2027-03-31"})
}

func (s *Server) vaUploadPreviewPost(c *fiber.Ctx) error {
	render := s.vaUploadRenderer(c)
	name, text, rows, answered, err := vaUpload.rows(c, false, render)
	if answered || err != nil {
		return err
	}
	res, err := s.vaUploadCheck(c.UserContext(), text, rows, nil)
	if err != nil {
		return err
	}
	return showPreview(render, s.vaUploadPreview(c, name, res))
}

func (s *Server) vaUploadSubmit(c *fiber.Ctx) error {
	render := s.vaUploadRenderer(c)
	fileName, text, rows, answered, err := vaUpload.rows(c, true, render)
	if answered || err != nil {
		return err
	}
	ctx := c.UserContext()
	res, err := s.vaUploadCheck(ctx, text, rows, nil)
	if err != nil {
		return err
	}
	p := s.vaUploadPreview(c, fileName, res)
	if refused, err := refuseSubmit(c, render, &p, len(res.valid), "proposed"); refused || err != nil {
		return err
	}
	out, err := s.VirtualAccounts.Propose(ctx, *auth(c).user, res.valid, fileName)
	if err != nil {
		if db.ErrorCode(err) != db.EINVALID || len(out.Problems) == 0 {
			return err
		}
		refusal := db.ErrorMessage(err)
		if res, err = s.vaUploadCheck(ctx, text, rows, out.Problems); err != nil {
			return err
		}
		p = s.vaUploadPreview(c, fileName, res)
		p.Error = "Nothing was proposed: " + refusal + " See the rows marked below."
		p.CSV = ""
		return s.renderVAUpload(c, fiber.StatusUnprocessableEntity, &p, nil)
	}
	done := views.CSVDone{ID: vaUpload.id, FileName: fileName, Left: len(res.invalid),
		Message: fmt.Sprintf("%s proposed in %s.", views.CountOf(len(out.Numbers), "account", "accounts"),
			views.CountOf(len(out.Requests), "approval request", "approval requests")),
		Cards: []views.CSVCard{{Label: "Proposed", Value: views.Itoa(len(out.Numbers))}}}
	for _, r := range out.Requests {
		done.Cards = append(done.Cards, views.CSVCard{Label: s.kindLabel(r.Kind), Value: fmt.Sprintf("#%d", r.ID), Code: true,
			Note: "waiting for a checker"})
		done.Links = append(done.Links, views.CSVLink{Href: fmt.Sprintf("/virtual-accounts/requests/%d", r.ID),
			Label: fmt.Sprintf("Accounts of request #%d", r.ID)})
	}
	done.Links = append(done.Links, views.CSVLink{Href: "/queue", Label: "Approval queue", Secondary: true},
		views.CSVLink{Href: "/virtual-accounts/upload", Label: "Upload another file", Secondary: true})
	return s.renderVAUpload(c, fiber.StatusOK, nil, &done)
}

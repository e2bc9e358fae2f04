package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Contact import: many contacts from a file (handlers/contacts_import.go
// reads the CSV). Every row is checked as the contact form checks it, plus
// what only a file can get wrong; then all of them are made in one
// transaction, each exactly as Create makes it (insertContact): its own
// 'contact.created' audit entry and, with bank details, its own
// 'contact_bank' request. Nothing imported is payable until a checker
// approves its bank details.
//
// Duplicates:
//   - A reference code (PayMate's dedupe key, compared without case) used by
//     an existing contact, or by an earlier line of the file, is an error on
//     every later line, naming the first one.
//   - The same account number and IFSC on two lines of the file, or on an
//     existing contact (approved or pending), is a warning only: a firm that
//     is both our vendor and our customer is two contacts with one account,
//     and the checker sees every bank detail before it becomes payable.

// MaxContactImportRows bounds one import.
const MaxContactImportRows = 5000

// ContactImportRow is one contact of an import and the line it starts on in
// the file (the header is line 1), which names it in problems. A Line of 0
// means the row's position, counting from 1.
type ContactImportRow struct {
	Line int
	In   ContactInput
}

// ContactRowProblem is one thing wrong with, or worth a look at, one row.
type ContactRowProblem struct {
	Line int
	// Field is the form field (and CSV column) blamed: kind, company_name,
	// first_name, last_name, email, mobile, gstin, reference_code,
	// account_no or ifsc.
	Field   string
	Message string
	// Warning is advice only: the row may still be imported.
	Warning bool
}

// ContactImportResult is a finished import, or (with an EINVALID error) why
// nothing was imported.
type ContactImportResult struct {
	ID         string   // "CI…": the import's id in the audit log
	ContactIDs []string // in the order of the rows
	// BankRequests counts the contacts sent for bank-detail approval.
	BankRequests int
	// Problems are the errors that refused the import (warnings left out).
	Problems []ContactRowProblem
}

// contactFieldOrder is the form's (and the CSV's) order, for sorting problems.
var contactFieldOrder = []string{"kind", "company_name", "first_name", "last_name", "email", "mobile", "gstin",
	"reference_code", "account_no", "ifsc"}

func rowLine(r ContactImportRow, i int) int {
	if r.Line > 0 {
		return r.Line
	}
	return i + 1
}

// CheckImport checks rows without saving anything: each as ValidateContact
// does, and the duplicates described above. Problems come sorted by line,
// then in the order of the form's fields.
func (c *Contacts) CheckImport(ctx context.Context, rows []ContactImportRow) ([]ContactRowProblem, error) {
	_, problems, err := checkContactRows(ctx, c.db.read, rows)
	return problems, err
}

// checkContactRows validates rows against each other and the contacts in q,
// returning the normalised inputs and every problem.
func checkContactRows(ctx context.Context, q querier, rows []ContactImportRow) ([]ContactInput, []ContactRowProblem, error) {
	ins := make([]ContactInput, len(rows))
	var problems []ContactRowProblem
	refLine := map[string]int{}  // reference code, upper-cased → first line
	bankLine := map[string]int{} // account|IFSC → first line
	for i, row := range rows {
		line := rowLine(row, i)
		in, fields := ValidateContact(row.In)
		ins[i] = in
		for field, msg := range fields {
			problems = append(problems, ContactRowProblem{Line: line, Field: field, Message: msg})
		}
		if ref := in.ReferenceCode; ref != "" && fields["reference_code"] == "" {
			key := strings.ToUpper(ref)
			if first, ok := refLine[key]; ok {
				problems = append(problems, ContactRowProblem{Line: line, Field: "reference_code",
					Message: fmt.Sprintf("Reference code %s is already on line %d; each contact needs its own.", ref, first)})
			} else {
				refLine[key] = line
				switch msg, err := referenceTaken(ctx, q, ref); {
				case err != nil:
					return nil, nil, err
				case msg != "":
					problems = append(problems, ContactRowProblem{Line: line, Field: "reference_code", Message: msg})
				}
			}
		}
		if in.AccountNo == "" || in.IFSC == "" || fields["account_no"] != "" || fields["ifsc"] != "" {
			continue
		}
		key := in.AccountNo + "|" + in.IFSC
		if first, ok := bankLine[key]; ok {
			problems = append(problems, ContactRowProblem{Line: line, Field: "account_no", Warning: true,
				Message: fmt.Sprintf("Line %d has the same account number and IFSC.", first)})
			continue
		}
		bankLine[key] = line
		var id, name string
		switch err := q.QueryRowContext(ctx, `SELECT id, company_name FROM contacts
			WHERE (approved_account_no = ? AND approved_ifsc = ?) OR (pending_account_no = ? AND pending_ifsc = ?)
			ORDER BY id LIMIT 1`, in.AccountNo, in.IFSC, in.AccountNo, in.IFSC).Scan(&id, &name); {
		case err == nil:
			problems = append(problems, ContactRowProblem{Line: line, Field: "account_no", Warning: true,
				Message: fmt.Sprintf("Contact %s (%s) already has this account number and IFSC.", name, id)})
		case !errors.Is(err, sql.ErrNoRows):
			return nil, nil, fmt.Errorf("db: account check: %w", err)
		}
	}
	slices.SortStableFunc(problems, func(a, b ContactRowProblem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return slices.Index(contactFieldOrder, a.Field) - slices.Index(contactFieldOrder, b.Field)
	})
	return ins, problems, nil
}

// importRefused is the EINVALID answer of an import with bad rows: Fields
// keyed "line.<line>.<field>".
func importRefused(errs []ContactRowProblem) error {
	f := fieldErrors{}
	lines := map[int]bool{}
	for _, p := range errs {
		f.add("line."+strconv.Itoa(p.Line)+"."+p.Field, p.Message)
		lines[p.Line] = true
	}
	return &Error{Code: EINVALID, Fields: f,
		Message: fmt.Sprintf("%d %s of the file %s not valid, so nothing was imported.", len(lines), plural(len(lines), "row", "rows"), plural(len(lines), "is", "are"))}
}

// Import makes a contact of every row as maker (an admin or a maker), all in
// one transaction, after checking them all again inside it (CheckImport's
// checks, as the database is now). Any error and nothing is saved: the
// EINVALID answer lists the problems in the result and as Fields keyed
// "line.<line>.<field>". Warnings do not stop it. Contacts with bank details
// get them as pending with one 'contact_bank' request each.
func (c *Contacts) Import(ctx context.Context, maker User, rows []ContactImportRow) (ContactImportResult, error) {
	if len(rows) == 0 || len(rows) > MaxContactImportRows {
		return ContactImportResult{}, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"rows": fmt.Sprintf("Give 1 to %d contacts.", MaxContactImportRows)}}
	}
	res, err := c.importTx(ctx, maker, rows)
	return res, c.approvals.recordRefusal(ctx, maker.Actor(), err)
}

func (c *Contacts) importTx(ctx context.Context, maker User, rows []ContactImportRow) (ContactImportResult, error) {
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return ContactImportResult{}, err
	}
	defer tx.Rollback()
	res := ContactImportResult{ID: "CI" + randomBase32(12)}
	u, err := c.requireManager(ctx, tx, maker, "contact.import", res.ID)
	if err != nil {
		return ContactImportResult{}, err
	}
	ins, problems, err := checkContactRows(ctx, tx, rows)
	if err != nil {
		return ContactImportResult{}, err
	}
	for _, p := range problems {
		if !p.Warning {
			res.Problems = append(res.Problems, p)
		}
	}
	if len(res.Problems) > 0 {
		return ContactImportResult{Problems: res.Problems}, importRefused(res.Problems)
	}
	res.ContactIDs = make([]string, len(ins))
	for i, in := range ins {
		id := newContactID()
		_, req, err := c.insertContact(ctx, tx, u, id, in)
		if err != nil {
			// The checks above make this unlikely; a field error still
			// names its line.
			var e *Error
			if errors.As(err, &e) && e.Code == EINVALID {
				for field, msg := range e.Fields {
					res.Problems = append(res.Problems, ContactRowProblem{Line: rowLine(rows[i], i), Field: field, Message: msg})
				}
				return ContactImportResult{Problems: res.Problems}, importRefused(res.Problems)
			}
			return ContactImportResult{}, fmt.Errorf("line %d: %w", rowLine(rows[i], i), err)
		}
		res.ContactIDs[i] = id
		if req != nil {
			res.BankRequests++
		}
	}
	if err := c.db.audit(ctx, tx, u.Actor(), "contact.imported_batch", "contact_import", res.ID, map[string]any{
		"count": len(res.ContactIDs), "bank_requests": res.BankRequests, "contact_ids": res.ContactIDs,
	}); err != nil {
		return ContactImportResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return ContactImportResult{}, err
	}
	return res, nil
}

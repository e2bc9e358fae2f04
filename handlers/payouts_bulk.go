package handlers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

// Bulk payout upload: a maker uploads a CSV, sees every row checked, and
// submits the valid rows as one batch. Nothing is kept between the preview and
// the submit: the CSV travels back in the submit form and is parsed and
// checked again, so what is saved never depends on what the page claims.

const (
	bulkUploadMaxBytes   = 10 << 20 // 10 MB
	bulkUploadMaxRows    = db.MaxBatchRows
	bulkUploadShowValid  = 100 // valid rows listed in the preview
	bulkUploadShowFailed = 1000
)

// bulkColumn is one documented CSV column; the order here is the template's.
type bulkColumn struct {
	name     string
	required bool
	rules    string
	example  string
}

var bulkColumns = []bulkColumn{
	{"beneficiary_name", true, "Letters, spaces and . & ' - only (no digits); at most 100 characters.", "Asha Traders"},
	{"account_no", true, "6 to 20 letters or digits, no spaces. In Excel, format the column as Text so long numbers keep every digit.", "50100012345678"},
	{"ifsc", true, "11 characters: 4 letters, 0, then 6 letters or digits.", "HDFC0001234"},
	{"amount", true, "Rupees, more than ₹0, at most two decimals; Indian or plain commas allowed. RTGS from ₹2,00,000; IMPS up to ₹5,00,000; paymate up to ₹99,99,999.99.", "50000 or 1,00,000.50"},
	{"rail", true, "NEFT, RTGS or IMPS.", "NEFT"},
	{"source", true, "The account to pay from: kotakcms or paymate.", "kotakcms"},
	{"purpose", false, "At most 60 printable characters; may be empty.", "Invoice 1043"},
	{"value_date", false, "YYYY-MM-DD, from today up to 30 days ahead; empty means today.", ""},
}

// bulkRow is one data row of an upload with the line it starts on (the
// header is line 1).
type bulkRow struct {
	line int
	in   db.PayoutInput
	// problem is set when the row itself is malformed (wrong number of values).
	problem string
}

// bulkResult is an upload parsed and checked.
type bulkResult struct {
	csv     string // normalised text: no BOM, \n line ends
	valid   []bulkRow
	drafts  []db.PayoutDraft
	invalid []views.BulkUploadInvalid
	total   int64
}

// bulkNormalise drops a UTF-8 BOM and turns \r\n and lone \r into \n, so the
// text survives a round trip through an HTML form (which may change line
// ends) with the same line numbers.
func bulkNormalise(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func bulkHeaderName(h string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(h)), " ", "_")
}

// bulkParse reads the header and the data rows. A problem with the file as
// a whole (not CSV, columns wrong, too many rows) is the returned error, in
// words for the maker.
func bulkParse(text string) ([]bulkRow, error) {
	if strings.HasPrefix(text, "PK\x03\x04") {
		return nil, errors.New("This looks like an Excel workbook, not a CSV file. In Excel choose File → Save As → CSV UTF-8 (comma delimited) and upload that.")
	}
	if !utf8.ValidString(text) {
		return nil, errors.New("The file is not UTF-8 text. In Excel choose File → Save As → CSV UTF-8 (comma delimited) and upload that.")
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("The file is empty. The first line must be the header: " + bulkColumnList() + ".")
	}
	if err != nil {
		return nil, bulkCSVProblem(err)
	}
	index := map[string]int{}
	var unknown, dup []string
	for i, h := range header {
		name := bulkHeaderName(h)
		if name == "" {
			continue
		}
		if _, ok := index[name]; ok {
			dup = append(dup, name)
			continue
		}
		if !bulkIsColumn(name) {
			unknown = append(unknown, strings.TrimSpace(h))
			continue
		}
		index[name] = i
	}
	var missing []string
	for _, col := range bulkColumns {
		if _, ok := index[col.name]; col.required && !ok {
			missing = append(missing, col.name)
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "Missing required column(s): "+strings.Join(missing, ", ")+".")
	}
	if len(unknown) > 0 {
		problems = append(problems, "Unknown column(s): "+strings.Join(unknown, ", ")+".")
	}
	if len(dup) > 0 {
		problems = append(problems, "Column(s) given twice: "+strings.Join(dup, ", ")+".")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, " ") + " The header (line 1) must name the columns " + bulkColumnList() +
			"; purpose and value_date may be left out. Download the template to start from.")
	}
	get := func(rec []string, name string) string {
		if i, ok := index[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []bulkRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bulkCSVProblem(err)
		}
		if bulkBlankRecord(rec) {
			continue // Excel leaves ",,,,,," lines after the data
		}
		if len(rows) == bulkUploadMaxRows {
			return nil, fmt.Errorf("The file has more than %s payout rows. Split it into files of at most %s rows each.",
				bulkThousands(bulkUploadMaxRows), bulkThousands(bulkUploadMaxRows))
		}
		line, _ := r.FieldPos(0)
		row := bulkRow{line: line, in: db.PayoutInput{
			BeneficiaryName: get(rec, "beneficiary_name"), AccountNo: get(rec, "account_no"), IFSC: get(rec, "ifsc"),
			Amount: get(rec, "amount"), Rail: get(rec, "rail"), Source: get(rec, "source"),
			Purpose: get(rec, "purpose"), ValueDate: get(rec, "value_date"),
		}}
		if len(rec) != len(header) {
			row.problem = fmt.Sprintf("row: %d values but the header has %d columns; check for a missing or extra comma (quote values that contain commas).", len(rec), len(header))
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("The file has a header but no payout rows.")
	}
	return rows, nil
}

func bulkCSVProblem(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := "the file is not valid CSV"
		if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
			msg = "a quote (\") is not closed or stands inside an unquoted value; put values containing quotes in double quotes and double the inner quotes"
		}
		return fmt.Errorf("Line %d: %s. Nothing was checked; fix the file and upload it again.", pe.Line, msg)
	}
	return errors.New("The file could not be read as CSV.")
}

func bulkIsColumn(name string) bool {
	for _, c := range bulkColumns {
		if c.name == name {
			return true
		}
	}
	return false
}

func bulkColumnList() string {
	names := make([]string, len(bulkColumns))
	for i, c := range bulkColumns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func bulkBlankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// bulkThousands writes 10000 as "10,000".
func bulkThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// bulkCheck validates every row as of today.
func bulkCheck(text string, rows []bulkRow, today time.Time) bulkResult {
	res := bulkResult{csv: text}
	for _, row := range rows {
		d, fields := db.ValidatePayout(row.in, today)
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
		reasons = append(reasons, bulkReasons(fields)...)
		res.invalid = append(res.invalid, bulkInvalidRow(row, reasons))
	}
	return res
}

// bulkReasons lists "field: message" in the order of the columns.
func bulkReasons(fields map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, col := range bulkColumns {
		if msg, ok := fields[col.name]; ok {
			out = append(out, col.name+": "+msg)
			seen[col.name] = true
		}
	}
	var rest []string
	for k, msg := range fields {
		if !seen[k] {
			rest = append(rest, k+": "+msg)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func bulkInvalidRow(row bulkRow, reasons []string) views.BulkUploadInvalid {
	return views.BulkUploadInvalid{Line: row.line, Name: row.in.BeneficiaryName, AccountNo: row.in.AccountNo, IFSC: row.in.IFSC,
		Amount: row.in.Amount, Rail: row.in.Rail, Source: row.in.Source, Reasons: reasons}
}

// preview turns a checked upload into the preview's props.
func (s *Server) bulkPreview(c *fiber.Ctx, fileName string, res bulkResult) views.BulkUploadPreview {
	p := views.BulkUploadPreview{CSRF: auth(c).csrf(), FileName: fileName, Rows: len(res.valid) + len(res.invalid),
		Valid: len(res.valid), Invalid: len(res.invalid), ValidTotal: views.INR(res.total), CSV: res.csv}
	sort.Slice(res.invalid, func(i, j int) bool { return res.invalid[i].Line < res.invalid[j].Line })
	p.InvalidRows = res.invalid
	if len(p.InvalidRows) > bulkUploadShowFailed {
		p.MoreInvalid = len(p.InvalidRows) - bulkUploadShowFailed
		p.InvalidRows = p.InvalidRows[:bulkUploadShowFailed]
	}
	for i, row := range res.valid {
		if i == bulkUploadShowValid {
			p.MoreValid = len(res.valid) - bulkUploadShowValid
			break
		}
		d := res.drafts[i]
		p.ValidRows = append(p.ValidRows, views.BulkUploadValid{Line: row.line, Name: d.BeneficiaryName, AccountNo: d.AccountNo,
			IFSC: d.IFSC, Amount: views.INR(d.AmountPaise), Rail: string(d.Rail), Source: d.Source, Purpose: d.Purpose, ValueDate: d.ValueDate})
	}
	return p
}

func (s *Server) bulkProps(c *fiber.Ctx) views.BulkUploadProps {
	p := views.BulkUploadProps{Shell: s.shell(c, "Bulk payout upload", "/payouts"), CSRF: auth(c).csrf(),
		MaxRows: bulkThousands(bulkUploadMaxRows), MaxMB: bulkUploadMaxBytes >> 20}
	today := s.DB.Now().Format("2006-01-02")
	for _, col := range bulkColumns {
		ex := col.example
		if col.name == "value_date" {
			ex = today
		}
		p.Columns = append(p.Columns, views.BulkUploadColumn{Name: col.name, Required: col.required, Rules: col.rules, Example: ex})
	}
	return p
}

// renderBulk answers with the whole page, the preview area filled with body,
// or (htmx) with body alone.
func (s *Server) renderBulk(c *fiber.Ctx, status int, preview *views.BulkUploadPreview, done *views.BulkUploadDone) error {
	p := s.bulkProps(c)
	p.Preview, p.Done = preview, done
	return s.render(c, status, views.BulkUploadPage(p), views.BulkUploadResult(p))
}

func (s *Server) bulkError(c *fiber.Ctx, fileName, msg string) error {
	return s.renderBulk(c, fiber.StatusUnprocessableEntity, &views.BulkUploadPreview{FileName: fileName, Error: msg}, nil)
}

func (s *Server) bulkPayoutsPage(c *fiber.Ctx) error {
	return s.renderBulk(c, fiber.StatusOK, nil, nil)
}

func (s *Server) bulkPayoutsTemplate(c *fiber.Ctx) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := make([]string, len(bulkColumns))
	for i, col := range bulkColumns {
		header[i] = col.name
	}
	_ = w.Write(header)
	_ = w.Write([]string{"Asha Traders", "50100012345678", "HDFC0001234", "1,25,000.50", "NEFT", "kotakcms", "Invoice 1043", ""})
	_ = w.Write([]string{"Ravi Kumar", "001234567890", "ICIC0000123", "25000", "IMPS", "paymate", "Refund order 7781", ""})
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="paydesk-bulk-payouts-template.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

func (s *Server) bulkPayoutsPreview(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return s.bulkError(c, "", "Choose a CSV file to upload.")
	}
	if fh.Size > bulkUploadMaxBytes {
		return s.bulkError(c, fh.Filename, fmt.Sprintf("The file is %.1f MB; at most %d MB can be uploaded at once. Split it into smaller files.",
			float64(fh.Size)/(1<<20), bulkUploadMaxBytes>>20))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, bulkUploadMaxBytes+1))
	if err != nil {
		return err
	}
	if len(raw) > bulkUploadMaxBytes {
		return s.bulkError(c, fh.Filename, fmt.Sprintf("At most %d MB can be uploaded at once. Split the file into smaller files.", bulkUploadMaxBytes>>20))
	}
	text := bulkNormalise(raw)
	rows, err := bulkParse(text)
	if err != nil {
		return s.bulkError(c, fh.Filename, err.Error())
	}
	p := s.bulkPreview(c, fh.Filename, bulkCheck(text, rows, s.DB.Now()))
	status := fiber.StatusOK
	if p.Valid == 0 {
		status = fiber.StatusUnprocessableEntity
	}
	return s.renderBulk(c, status, &p, nil)
}

func (s *Server) bulkPayoutsSubmit(c *fiber.Ctx) error {
	fileName := c.FormValue("file_name")
	text := bulkNormalise([]byte(c.FormValue("csv")))
	if len(text) > bulkUploadMaxBytes {
		return s.bulkError(c, fileName, fmt.Sprintf("At most %d MB can be uploaded at once.", bulkUploadMaxBytes>>20))
	}
	rows, err := bulkParse(text)
	if err != nil {
		return s.bulkError(c, fileName, err.Error())
	}
	res := bulkCheck(text, rows, s.DB.Now())
	p := s.bulkPreview(c, fileName, res)
	if len(res.valid) == 0 {
		p.Error = "None of the rows is valid, so nothing was submitted. Fix the rows below and upload the file again."
		return s.renderBulk(c, fiber.StatusUnprocessableEntity, &p, nil)
	}
	// The maker agreed to a number; if the rows check differently now (a
	// value date passed, the text was changed) they look again first.
	if want, err := strconv.Atoi(c.FormValue("expect_valid")); err != nil || want != len(res.valid) {
		p.Error = fmt.Sprintf("The rows check differently than in the preview: %d are valid now. Nothing was submitted; review them and submit again.", len(res.valid))
		return s.renderBulk(c, fiber.StatusUnprocessableEntity, &p, nil)
	}
	inputs := make([]db.PayoutInput, len(res.valid))
	for i, row := range res.valid {
		inputs[i] = row.in
	}
	b, err := s.Payouts.ProposeBatch(c.UserContext(), *auth(c).user, inputs)
	if err != nil {
		if db.ErrorCode(err) != db.EINVALID {
			return err
		}
		bulkShowBatchErrors(&p, res, err)
		return s.renderBulk(c, fiber.StatusUnprocessableEntity, &p, nil)
	}
	done := views.BulkUploadDone{BatchID: b.ID, Count: b.Count, Total: views.INR(b.TotalPaise), FileName: fileName, Left: len(res.invalid),
		ListURL: "/payouts?batch=" + urlQueryEscape(b.ID)}
	return s.renderBulk(c, fiber.StatusOK, nil, &done)
}

// bulkShowBatchErrors puts ProposeBatch's refusal (fields keyed rows.<i>.<field>,
// i counting the valid rows) back onto the rows' lines; nothing was saved.
func bulkShowBatchErrors(p *views.BulkUploadPreview, res bulkResult, err error) {
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
	var extra []views.BulkUploadInvalid
	total := res.total
	for _, i := range idx {
		extra = append(extra, bulkInvalidRow(res.valid[i], bulkReasons(byRow[i])))
		total -= res.drafts[i].AmountPaise
	}
	p.ValidTotal = views.INR(total)
	p.InvalidRows = append(extra, p.InvalidRows...)
	sort.SliceStable(p.InvalidRows, func(i, j int) bool { return p.InvalidRows[i].Line < p.InvalidRows[j].Line })
	p.Invalid += len(extra)
	p.Valid -= len(extra)
	msg := "Nothing was submitted: " + db.ErrorMessage(err)
	if len(general) > 0 {
		msg += " " + strings.Join(general, " ")
	}
	if len(extra) > 0 {
		msg += fmt.Sprintf(" See the %d row(s) marked below.", len(extra))
	}
	p.Error = msg
	p.CSV = ""
	p.ValidRows = nil
	p.MoreValid = 0
}

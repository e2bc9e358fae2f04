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
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"paydesk/views"
)

// CSV uploads (the bulk payout upload, the contact import): a person
// uploads a file, sees every row checked, and submits the valid rows
// together. Nothing is kept between the preview and the submit: the CSV
// travels back in the submit form and is parsed and checked again, so what
// is saved never depends on what the page claims. This file is what the
// uploads share: reading the file, matching the header, the limits, and the
// preview's scaffolding (views/csvupload.templ).

// csvUpload is one kind of upload: its columns and limits.
type csvUpload struct {
	id          string // prefix of the page's element ids
	noun        string // what one row is, for messages: "payout"
	columns     []views.CSVColumn
	maxBytes    int
	maxRows     int
	showValid   int // valid rows listed in the preview
	showInvalid int // invalid (and warned) rows listed
}

// csvRow is one data row of an upload with the line it starts on (the
// header is line 1).
type csvRow struct {
	line int
	// vals holds the row's values, trimmed, in the upload's column order
	// (columns, shared by every row): a slice, not a map by name, because a
	// 10,000-row file keeps every row in memory while it is checked.
	columns []views.CSVColumn
	vals    []string
	// problem is set when the row itself is malformed (wrong number of values).
	problem string
}

// get is the row's value in the named column, "" when the file leaves the
// column out.
func (r csvRow) get(name string) string {
	for i, c := range r.columns {
		if c.Name == name {
			return r.vals[i]
		}
	}
	return ""
}

// csvNormalise drops a UTF-8 BOM and turns \r\n and lone \r into \n, so the
// text survives a round trip through an HTML form (which may change line
// ends) with the same line numbers.
func csvNormalise(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// csvHeaderName matches header names forgivingly: any case, surrounding
// spaces, spaces for underscores.
func csvHeaderName(h string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(h)), " ", "_")
}

// csvAndList writes "a", "a and b", "a, b and c".
func csvAndList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func (u *csvUpload) names(required bool) []string {
	var out []string
	for _, c := range u.columns {
		if c.Required == required {
			out = append(out, c.Name)
		}
	}
	return out
}

func (u *csvUpload) columnList() string {
	names := make([]string, len(u.columns))
	for i, c := range u.columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func (u *csvUpload) isColumn(name string) bool {
	for _, c := range u.columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// optionalNote says which columns may be left out of the header.
func (u *csvUpload) optionalNote() string {
	if opt := u.names(false); len(opt) > 0 {
		return csvAndList(opt) + " may be left out"
	}
	return "none may be left out"
}

// parse reads the header and the data rows. A problem with the file as a
// whole (not CSV, columns wrong, too many rows) is the returned error, in
// words for the person.
func (u *csvUpload) parse(text string) ([]csvRow, error) {
	if strings.HasPrefix(text, "PK\x03\x04") {
		return nil, errors.New("This looks like an Excel workbook, not a CSV file. In Excel choose File → Save As → CSV UTF-8 (comma delimited) and upload that.")
	}
	if !utf8.ValidString(text) {
		return nil, errors.New("The file is not UTF-8 text. In Excel choose File → Save As → CSV UTF-8 (comma delimited) and upload that.")
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	// Each row's values are copied into the row (substrings of one string
	// per record), so the reader's slice can be reused.
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("The file is empty. The first line must be the header: " + u.columnList() + ".")
	}
	if err != nil {
		return nil, csvProblem(err)
	}
	index := map[string]int{}
	var unknown, dup []string
	for i, h := range header {
		name := csvHeaderName(h)
		if name == "" {
			continue
		}
		if _, ok := index[name]; ok {
			dup = append(dup, name)
			continue
		}
		if !u.isColumn(name) {
			unknown = append(unknown, strings.TrimSpace(h))
			continue
		}
		index[name] = i
	}
	var missing []string
	for _, name := range u.names(true) {
		if _, ok := index[name]; !ok {
			missing = append(missing, name)
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, views.Plural(len(missing), "Missing required column: ", "Missing required columns: ")+strings.Join(missing, ", ")+".")
	}
	if len(unknown) > 0 {
		problems = append(problems, views.Plural(len(unknown), "Unknown column: ", "Unknown columns: ")+strings.Join(unknown, ", ")+".")
	}
	if len(dup) > 0 {
		problems = append(problems, views.Plural(len(dup), "Column given twice: ", "Columns given twice: ")+strings.Join(dup, ", ")+".")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, " ") + " The header (line 1) must name the columns " + u.columnList() +
			"; " + u.optionalNote() + ". Download the template to start from.")
	}
	headerLen := len(header) // the reader reuses header's array from here on
	var rows []csvRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvProblem(err)
		}
		if csvBlankRecord(rec) {
			continue // Excel leaves ",,,,,," lines after the data
		}
		if len(rows) == u.maxRows {
			return nil, fmt.Errorf("The file has more than %s %s rows. Split it into files of at most %s rows each.",
				views.Count(u.maxRows), u.noun, views.Count(u.maxRows))
		}
		line, _ := r.FieldPos(0)
		row := csvRow{line: line, columns: u.columns, vals: make([]string, len(u.columns))}
		for c, col := range u.columns {
			if i, ok := index[col.Name]; ok && i < len(rec) {
				row.vals[c] = strings.TrimSpace(rec[i])
			}
		}
		if len(rec) != headerLen {
			row.problem = fmt.Sprintf("row: %d values but the header has %d columns; check for a missing or extra comma (quote values that contain commas).", len(rec), headerLen)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("The file has a header but no %s rows.", u.noun)
	}
	return rows, nil
}

func csvProblem(err error) error {
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

func csvBlankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// read returns the uploaded file's name and normalised text. problem, when
// set, is for the person (no file, too large); err is ours.
func (u *csvUpload) read(c *fiber.Ctx) (name, text, problem string, err error) {
	fh, ferr := c.FormFile("file")
	if ferr != nil {
		return "", "", "Choose a CSV file to upload.", nil
	}
	if fh.Size > int64(u.maxBytes) {
		return fh.Filename, "", fmt.Sprintf("The file is %.1f MB; at most %d MB can be uploaded at once. Split it into smaller files.",
			float64(fh.Size)/(1<<20), u.maxBytes>>20), nil
	}
	f, err := fh.Open()
	if err != nil {
		return fh.Filename, "", "", err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, int64(u.maxBytes)+1))
	if err != nil {
		return fh.Filename, "", "", err
	}
	if len(raw) > u.maxBytes {
		return fh.Filename, "", fmt.Sprintf("At most %d MB can be uploaded at once. Split the file into smaller files.", u.maxBytes>>20), nil
	}
	return fh.Filename, csvNormalise(raw), "", nil
}

// carried returns the file name and text a submit form carries back.
func (u *csvUpload) carried(c *fiber.Ctx) (name, text, problem string) {
	name = c.FormValue("file_name")
	text = csvNormalise([]byte(c.FormValue("csv")))
	if len(text) > u.maxBytes {
		return name, "", fmt.Sprintf("At most %d MB can be uploaded at once.", u.maxBytes>>20)
	}
	return name, text, ""
}

// uploadRenderer renders one kind of upload's page: the checked preview or
// the outcome of a submit.
type uploadRenderer func(status int, preview *views.CSVPreview, done *views.CSVDone) error

// rows reads the file (a preview: the upload; a submit: the text the form
// carried back) and parses it. answered is true when a problem with the
// file as a whole (none, too large, not CSV, wrong columns) was shown
// beside the upload instead; the caller then returns err as it is.
func (u *csvUpload) rows(c *fiber.Ctx, submit bool, render uploadRenderer) (name, text string, rows []csvRow, answered bool, err error) {
	var problem string
	if submit {
		name, text, problem = u.carried(c)
	} else if name, text, problem, err = u.read(c); err != nil {
		return name, "", nil, false, err
	}
	if problem == "" {
		if rows, err = u.parse(text); err != nil {
			problem, err = err.Error(), nil
		}
	}
	if problem != "" {
		return name, text, nil, true, render(fiber.StatusUnprocessableEntity, &views.CSVPreview{ID: u.id, FileName: name, Error: problem}, nil)
	}
	return name, text, rows, false, nil
}

// showPreview renders a checked file's preview: 422 when no row is valid.
func showPreview(render uploadRenderer, p views.CSVPreview) error {
	status := fiber.StatusOK
	if p.Valid == 0 {
		status = fiber.StatusUnprocessableEntity
	}
	return render(status, &p, nil)
}

// refuseSubmit shows the preview again with why a submit cannot go on (no
// valid row: nothing was done, in the upload's own verb; or rows that check
// differently than the preview said) and reports whether it did.
func refuseSubmit(c *fiber.Ctx, render uploadRenderer, p *views.CSVPreview, valid int, nothingWas string) (bool, error) {
	if valid == 0 {
		p.Error = "None of the rows is valid, so nothing was " + nothingWas + ". Fix the rows below and upload the file again."
	} else if msg, changed := changedSinceCheck(c, valid); changed {
		p.Error = msg
	} else {
		return false, nil
	}
	return true, render(fiber.StatusUnprocessableEntity, p, nil)
}

// changedSinceCheck reports whether the submit's rows check differently
// than the preview the person agreed to (a date passed, the text was
// changed), with the preview's message for it; they look again first.
func changedSinceCheck(c *fiber.Ctx, valid int) (string, bool) {
	if want, err := strconv.Atoi(c.FormValue("expect_valid")); err == nil && want == valid {
		return "", false
	}
	return fmt.Sprintf("The rows check differently than in the preview: %d are valid now. Nothing was submitted; review them and submit again.", valid), true
}

// reasons lists "field: message" in the order of the columns, then any
// other fields by name.
func (u *csvUpload) reasons(fields map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, col := range u.columns {
		if msg, ok := fields[col.Name]; ok {
			out = append(out, col.Name+": "+msg)
			seen[col.Name] = true
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

// preview is the scaffolding of a checked file's props: counts, the invalid
// rows by line, the first valid rows. The caller adds its heads, figures and
// words.
func (u *csvUpload) preview(c *fiber.Ctx, fileName, text, submitURL string, invalid, warned, valid []views.CSVRow) views.CSVPreview {
	p := views.CSVPreview{ID: u.id, CSRF: auth(c).csrf(), FileName: fileName, Rows: len(valid) + len(invalid),
		Valid: len(valid), Invalid: len(invalid), CSV: text, SubmitURL: submitURL}
	byLine := func(rows []views.CSVRow) {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Line < rows[j].Line })
	}
	byLine(invalid)
	byLine(warned)
	p.InvalidRows, p.MoreInvalid = csvFirst(invalid, u.showInvalid)
	p.WarningRows, p.MoreWarnings = csvFirst(warned, u.showInvalid)
	p.ValidRows, p.MoreValid = csvFirst(valid, u.showValid)
	return p
}

func csvFirst(rows []views.CSVRow, n int) ([]views.CSVRow, int) {
	if len(rows) > n {
		return rows[:n], len(rows) - n
	}
	return rows, 0
}

// uploadView is the upload form's props.
func (u *csvUpload) uploadView(c *fiber.Ctx, previewURL, templateURL string) views.CSVUpload {
	return views.CSVUpload{ID: u.id, CSRF: auth(c).csrf(), PreviewURL: previewURL, TemplateURL: templateURL,
		MaxRows: views.Count(u.maxRows), MaxMB: u.maxBytes >> 20, Columns: append([]views.CSVColumn(nil), u.columns...),
		ColumnsNote: "Columns may come in any order; names are matched ignoring case and surrounding spaces; " + u.optionalNote() + "."}
}

// sendTemplate answers with the template CSV: the header and rows.
func (u *csvUpload) sendTemplate(c *fiber.Ctx, fileName string, rows ...[]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := make([]string, len(u.columns))
	for i, col := range u.columns {
		header[i] = col.Name
	}
	_ = w.Write(header)
	for _, r := range rows {
		_ = w.Write(r)
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+fileName+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

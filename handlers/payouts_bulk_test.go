package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"paydesk/db"
	"paydesk/views"
)

// bulkPost sends a multipart form, as the upload and submit forms do; file
// is left out when fileName is empty.
func (c *client) bulkPost(path string, fields map[string]string, fileName, file string, headers ...string) (*http.Response, string) {
	c.e.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if _, ok := fields["_csrf"]; !ok {
		_ = w.WriteField("_csrf", c.csrf)
	}
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if fileName != "" {
		fw, err := w.CreateFormFile("file", fileName)
		if err != nil {
			c.e.t.Fatal(err)
		}
		_, _ = fw.Write([]byte(file))
	}
	_ = w.Close()
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

const bulkHeader = "beneficiary_name,account_no,ifsc,amount,rail,source,purpose,value_date"

// bulkGoodRow is a valid row; amounts differ so totals are checkable.
func bulkGoodRow(i int) string {
	name := "Vendor " + string(rune('A'+i%26)) + string(rune('a'+(i/26)%26)) + " Traders"
	source, date := "kotakcms", ""
	if i%2 == 1 {
		source, date = "paymate", "2026-11-25"
	}
	return fmt.Sprintf("%s,5010%08d,HDFC0001234,\"%d,000.50\",NEFT,%s,Invoice %d,%s", name, i, 1+i%90, source, i, date)
}

// bulkBadRows are rows each failing in its own way, with the field(s) blamed.
var bulkBadRows = []struct {
	row    string
	fields []string
}{
	{"Asha Traders,50100012345678,HDFC000123,5000,NEFT,kotakcms,,", []string{"ifsc"}},
	{"Asha Traders,5010 0012,HDFC0001234,5000,NEFT,kotakcms,,", []string{"account_no"}},
	{"Asha Traders,50100012345678,HDFC0001234,five thousand,NEFT,kotakcms,,", []string{"amount"}},
	{"Asha Traders,50100012345678,HDFC0001234,0,NEFT,kotakcms,,", []string{"amount"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000,UPI,kotakcms,,", []string{"rail"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000,NEFT,icici,,", []string{"source"}},
	{"R2D2 Traders,50100012345678,HDFC0001234,5000,NEFT,kotakcms,,", []string{"beneficiary_name"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000,NEFT,kotakcms,,2026-11-01", []string{"value_date"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000,NEFT,kotakcms,,21/11/2026", []string{"value_date"}},
	{"Asha Traders,50100012345678,HDFC0001234,\"6,00,000\",IMPS,kotakcms,,", []string{"amount"}},
	{"Asha Traders,50100012345678,HDFC0001234,1000,RTGS,kotakcms,,", []string{"amount"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000,NEFT,kotakcms," + strings.Repeat("x", 61) + ",", []string{"purpose"}},
	{",50100012345678,HDFC0001234,5000,NEFT,kotakcms,,", []string{"beneficiary_name"}},
	{"Asha Traders,50100012345678,HDFC000123,abc,NEFT,kotakcms,,", []string{"ifsc", "amount"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000.123,NEFT,kotakcms,,", []string{"amount"}},
	{"Asha Traders,50100012345678,HDFC0001234,,NEFT,kotakcms,,", []string{"amount"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000,NEFT,kotakcms,,2027-03-01", []string{"value_date"}},
	{"Asha Traders,50100012345678,HDFC0001234,5000,NEFT", []string{"row"}}, // too few values
	{"Asha Traders,50100012345678,1234HDFC567,5000,NEFT,kotakcms,,", []string{"ifsc"}},
	{"Asha Traders,50100012345678,HDFC0001234,-5000,NEFT,kotakcms,,", []string{"amount"}},
}

// bulkFile builds n data rows with the bad ones at the given data-row
// indexes (0-based), returning the CSV and the bad rows' line numbers.
func bulkFile(n int, badAt []int) (string, []int, int64) {
	bad := map[int]int{}
	for k, i := range badAt {
		bad[i] = k
	}
	var b strings.Builder
	b.WriteString(bulkHeader + "\n")
	var lines []int
	var total int64
	for i := 0; i < n; i++ {
		if k, ok := bad[i]; ok {
			b.WriteString(bulkBadRows[k%len(bulkBadRows)].row + "\n")
			lines = append(lines, i+2)
			continue
		}
		b.WriteString(bulkGoodRow(i) + "\n")
		total += int64(1+i%90)*100000 + 50
	}
	return b.String(), lines, total
}

var (
	bulkLinePattern  = regexp.MustCompile(`<tr data-line="(\d+)"`)
	bulkCSVPattern   = regexp.MustCompile(`name="csv" value="([^"]*)"`)
	bulkTokenPattern = regexp.MustCompile(`name="submit_token" value="([^"]*)"`)
	bulkBatchPattern = regexp.MustCompile(`PB[A-Z2-7]{12}`)
)

// bulkInvalidSection is the preview's table of invalid rows.
func bulkInvalidSection(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, `id="bulk-invalid"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i:], "</table>")
	return page[i : i+j]
}

func bulkInvalidLines(t *testing.T, page string) []int {
	var out []int
	for _, m := range bulkLinePattern.FindAllStringSubmatch(bulkInvalidSection(t, page), -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

func (e *testEnv) bulkPayoutCount(t *testing.T, batch string) int {
	t.Helper()
	n, after := 0, ""
	for {
		list, more, err := e.srv.Payouts.List(context.Background(), db.PayoutFilter{BatchID: batch, Limit: 500, After: after})
		if err != nil {
			t.Fatal(err)
		}
		n += len(list)
		if !more || len(list) == 0 {
			return n
		}
		after = list[len(list)-1].ID
	}
}

func TestBulkUploadPreviewsAndSubmitsOnlyValidRows(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")

	resp, page := maker.get("/payouts/bulk")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bulk page: %d", resp.StatusCode)
	}
	for _, want := range []string{"beneficiary_name", "value_date", "/payouts/bulk/template.csv", `name="file"`, `hx-encoding="multipart/form-data"`, "Checking rows…"} {
		if !strings.Contains(page, want) {
			t.Errorf("bulk page lacks %q", want)
		}
	}

	var badAt []int
	for k := 0; k < 20; k++ {
		badAt = append(badAt, 7+k*24)
	}
	file, wantLines, wantTotal := bulkFile(500, badAt)
	resp, page = maker.bulkPost("/payouts/bulk/preview", nil, "vendors.csv", file)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, page)
	}
	if got := bulkInvalidLines(t, page); fmt.Sprint(got) != fmt.Sprint(wantLines) {
		t.Fatalf("invalid lines %v, want %v", got, wantLines)
	}
	section := bulkInvalidSection(t, page)
	for k, bad := range bulkBadRows {
		row := section[strings.Index(section, fmt.Sprintf(`data-line="%d"`, wantLines[k])):]
		row = row[:strings.Index(row, "</tr>")]
		for _, f := range bad.fields {
			if !strings.Contains(row, "<div>"+f+": ") {
				t.Errorf("line %d (%s): no %q reason in %s", wantLines[k], bad.row, f, row)
			}
		}
	}
	if !strings.Contains(section, "ifsc: Enter an 11-character IFSC") {
		t.Errorf("the IFSC reason is not actionable:\n%s", section)
	}
	for _, want := range []string{">500<", ">480<", ">20<", "Submit 480 valid payouts for approval", "The 20 invalid rows will be left out"} {
		if !strings.Contains(page, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if !strings.Contains(page, "total "+views.INR(wantTotal)) {
		t.Errorf("preview lacks the valid total %s", views.INR(wantTotal))
	}
	if strings.Count(page, `<tr data-line=`) != 20+100 || !strings.Contains(page, "and 380 more") {
		t.Errorf("valid rows: want the first 100 and \"and 380 more\"")
	}
	m := bulkCSVPattern.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the preview carries no csv for the submit")
	}
	carried := html.UnescapeString(m[1])
	if carried != file {
		t.Fatal("the carried csv differs from the upload")
	}
	token := bulkTokenPattern.FindStringSubmatch(page)[1]
	if e.bulkPayoutCount(t, "") != 0 {
		t.Fatal("the preview saved payouts")
	}

	// The rows checked differently than the maker saw: nothing is saved.
	resp, page = maker.bulkPost("/payouts/bulk", map[string]string{"csv": carried, "expect_valid": "479", "submit_token": token}, "", "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Nothing was submitted") {
		t.Fatalf("mismatched count: %d", resp.StatusCode)
	}
	if e.bulkPayoutCount(t, "") != 0 {
		t.Fatal("a mismatched submit saved payouts")
	}

	resp, page = maker.bulkPost("/payouts/bulk", map[string]string{"csv": carried, "expect_valid": "480", "file_name": "vendors.csv", "submit_token": token}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("submit: %d\n%s", resp.StatusCode, page)
	}
	batch := bulkBatchPattern.FindString(page)
	if batch == "" || !strings.Contains(page, "Submitted 480 payouts") || !strings.Contains(page, "/payouts?batch="+batch) ||
		!strings.Contains(page, `href="/queue"`) || !strings.Contains(page, views.INR(wantTotal)) {
		t.Fatalf("submit answer lacks batch, count, total or links:\n%s", page)
	}
	if n := e.bulkPayoutCount(t, batch); n != 480 {
		t.Fatalf("batch %s has %d payouts, want 480", batch, n)
	}
	list, _, _ := e.srv.Payouts.List(context.Background(), db.PayoutFilter{BatchID: batch, Limit: 500})
	var sum int64
	for _, p := range list {
		sum += p.AmountPaise
	}
	if sum != wantTotal {
		t.Fatalf("batch total %d, want %d", sum, wantTotal)
	}
	checker := e.client()
	checker.signIn("checker")
	if n, err := e.srv.Approvals.CountWaiting(context.Background(), bulkUser(t, e, "checker")); err != nil || n != 480 {
		t.Fatalf("checker's queue: %d, %v; want 480", n, err)
	}

	// A tampered submit of only bad rows saves nothing.
	var tampered strings.Builder
	tampered.WriteString(bulkHeader + "\n")
	for _, b := range bulkBadRows {
		tampered.WriteString(b.row + "\n")
	}
	resp, page = maker.bulkPost("/payouts/bulk", map[string]string{"csv": tampered.String(), "expect_valid": "20", "submit_token": token}, "", "",
		"HX-Request", "true")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "nothing was submitted") {
		t.Fatalf("tampered submit: %d\n%s", resp.StatusCode, page)
	}
	if got := bulkInvalidLines(t, page); len(got) != len(bulkBadRows) {
		t.Fatalf("tampered submit lists %d invalid rows, want %d", len(got), len(bulkBadRows))
	}
	if n := e.bulkPayoutCount(t, ""); n != 480 {
		t.Fatalf("after the tampered submit there are %d payouts, want 480", n)
	}
}

func bulkUser(t *testing.T, e *testEnv, name string) db.User {
	t.Helper()
	u, err := e.db.UserByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestBulkUploadFileProblems(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")
	cases := []struct {
		name, file string
		want       []string
	}{
		{"missing column", "beneficiary_name,account_no,amount,rail,source\nAsha Traders,50100012345678,5000,NEFT,kotakcms\n",
			[]string{"Missing required column: ifsc."}},
		{"unknown column", bulkHeader + ",gst_no\n" + bulkGoodRow(1) + ",X\n", []string{"Unknown column: gst_no."}},
		{"two missing and a typo", "beneficary_name,account_no,amount,source\nA,1,2,3\n",
			[]string{"Missing required columns: beneficiary_name, ifsc, rail.", "Unknown column: beneficary_name."}},
		{"empty", "", []string{"The file is empty"}},
		{"header only", bulkHeader + "\n", []string{"no payout rows"}},
		{"broken quote", bulkHeader + "\n" + bulkGoodRow(0) + "\nAsha \"Traders,1,2,3,4,5,6,7\n", []string{"Line 3:"}},
		{"excel workbook", "PK\x03\x04rest", []string{"Excel workbook"}},
		{"not utf-8", bulkHeader + "\nCaf\xe9 Traders,50100012345678,HDFC0001234,5000,NEFT,kotakcms,,\n", []string{"not UTF-8"}},
	}
	for _, tc := range cases {
		resp, page := maker.bulkPost("/payouts/bulk/preview", nil, "x.csv", tc.file, "HX-Request", "true")
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d", tc.name, resp.StatusCode)
		}
		if strings.Contains(page, "<html") {
			t.Errorf("%s: htmx got a whole page", tc.name)
		}
		for _, w := range tc.want {
			if !strings.Contains(page, html.EscapeString(w)) {
				t.Errorf("%s: answer lacks %q:\n%s", tc.name, w, page)
			}
		}
		if strings.Contains(page, `id="bulk-submit"`) {
			t.Errorf("%s: offers a submit", tc.name)
		}
	}

	// No file chosen: a whole page for a plain form post.
	resp, page := maker.bulkPost("/payouts/bulk/preview", nil, "", "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Choose a CSV file") || !strings.Contains(page, "<html") {
		t.Errorf("no file: %d", resp.StatusCode)
	}

	// More than 10,000 rows.
	var b strings.Builder
	b.WriteString(bulkHeader + "\n")
	for i := 0; i < db.MaxBatchRows+1; i++ {
		b.WriteString(bulkGoodRow(i) + "\n")
	}
	resp, page = maker.bulkPost("/payouts/bulk/preview", nil, "big.csv", b.String())
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "more than 10,000 payout rows") {
		t.Errorf("10,001 rows: %d", resp.StatusCode)
	}
	if e.bulkPayoutCount(t, "") != 0 {
		t.Fatal("payouts saved")
	}
}

func TestBulkUploadHeaderIsForgiving(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")
	// BOM, CRLF, any order, any case, spaces, no optional columns, a blank
	// Excel line at the end and a quoted value with a comma and a newline.
	file := "\xef\xbb\xbf Amount , IFSC,Beneficiary Name,SOURCE,rail,account_no\r\n" +
		"\"1,00,000.50\",hdfc0001234,Asha Traders,KotakCMS,neft,50100012345678\r\n" +
		"25000,ICIC0000123,\"Ravi\nKumar\",paymate,IMPS,001234567890\r\n" +
		"abc,ICIC0000123,Ravi Kumar,paymate,IMPS,001234567890\r\n" +
		",,,,,\r\n"
	resp, page := maker.bulkPost("/payouts/bulk/preview", nil, "mixed.csv", file, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, page)
	}
	if got := bulkInvalidLines(t, page); fmt.Sprint(got) != "[5]" {
		t.Fatalf("invalid lines %v, want [5] (the quoted newline moves the last row down)", got)
	}
	if !strings.Contains(page, "₹1,25,000.50") || !strings.Contains(page, "Submit 2 valid payouts") {
		t.Fatalf("preview:\n%s", page)
	}
	carried := html.UnescapeString(bulkCSVPattern.FindStringSubmatch(page)[1])
	token := bulkTokenPattern.FindStringSubmatch(page)[1]
	// A browser may send the carried text back with \r\n line ends.
	resp, page = maker.bulkPost("/payouts/bulk", map[string]string{"csv": strings.ReplaceAll(carried, "\n", "\r\n"), "expect_valid": "2",
		"submit_token": token}, "", "",
		"HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Submitted 2 payouts") {
		t.Fatalf("submit: %d\n%s", resp.StatusCode, page)
	}
	list, _, _ := e.srv.Payouts.List(context.Background(), db.PayoutFilter{})
	var names []string
	for _, p := range list {
		names = append(names, p.BeneficiaryName+"/"+p.IFSC+"/"+string(p.Rail)+"/"+p.Source)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[Asha Traders/HDFC0001234/NEFT/kotakcms Ravi Kumar/ICIC0000123/IMPS/paymate]" {
		t.Fatalf("saved %v", names)
	}
}

func TestBulkUploadTemplateChecksClean(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")
	resp, body := maker.get("/payouts/bulk/template.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("template: %d %v", resp.StatusCode, resp.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != bulkHeader+",contact_reference" {
		t.Fatalf("template: %v %q", err, body)
	}
	resp, page := maker.bulkPost("/payouts/bulk/preview", nil, "template.csv", body, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Submit 2 valid payouts") || strings.Contains(page, `id="bulk-invalid"`) {
		t.Fatalf("the template's own rows do not check clean: %d\n%s", resp.StatusCode, page)
	}
}

func TestBulkUploadIsForMakersOnly(t *testing.T) {
	e := newTestEnv(t, false)
	checker := e.client()
	checker.signIn("checker")
	for _, path := range []string{"/payouts/bulk", "/payouts/bulk/template.csv"} {
		if resp, _ := checker.get(path); resp.StatusCode != http.StatusForbidden {
			t.Errorf("checker GET %s: %d, want 403", path, resp.StatusCode)
		}
	}
	file, _, _ := bulkFile(3, nil)
	if resp, _ := checker.bulkPost("/payouts/bulk/preview", nil, "x.csv", file); resp.StatusCode != http.StatusForbidden {
		t.Errorf("checker preview: %d, want 403", resp.StatusCode)
	}
	if resp, _ := checker.bulkPost("/payouts/bulk", map[string]string{"csv": file, "expect_valid": "3"}, "", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("checker submit: %d, want 403", resp.StatusCode)
	}
	if n := e.bulkPayoutCount(t, ""); n != 0 {
		t.Fatalf("checker saved %d payouts", n)
	}
	// Without the CSRF token a maker's submit is refused too.
	maker := e.client()
	maker.signIn("maker")
	if resp, _ := maker.bulkPost("/payouts/bulk", map[string]string{"_csrf": "", "csv": file, "expect_valid": "3"}, "", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("submit without CSRF token: %d, want 403", resp.StatusCode)
	}
	if n := e.bulkPayoutCount(t, ""); n != 0 {
		t.Fatalf("saved %d payouts without a token", n)
	}
}

// A refusal by ProposeBatch after the rows checked clean (here: no approval
// rule covers one amount) is shown on the row's line and saves nothing.
func TestBulkUploadShowsBatchRefusalOnTheRow(t *testing.T) {
	e := newTestEnv(t, false)
	if _, err := e.db.Writer().Exec(`DELETE FROM approval_rules WHERE kind = 'payout' AND min_paise > 0`); err != nil {
		t.Fatal(err)
	}
	maker := e.client()
	maker.signIn("maker")
	file := bulkHeader + "\n" + bulkGoodRow(0) + "\n" +
		"Big Vendor,50100012345678,HDFC0001234,\"20,00,000\",RTGS,kotakcms,,\n" + bulkGoodRow(2) + "\n"
	resp, page := maker.bulkPost("/payouts/bulk/preview", nil, "big.csv", file)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Submit 3 valid payouts") {
		t.Fatalf("preview: %d", resp.StatusCode)
	}
	carried := html.UnescapeString(bulkCSVPattern.FindStringSubmatch(page)[1])
	token := bulkTokenPattern.FindStringSubmatch(page)[1]
	resp, page = maker.bulkPost("/payouts/bulk", map[string]string{"csv": carried, "expect_valid": "3", "submit_token": token}, "", "", "HX-Request", "true")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Nothing was submitted") {
		t.Fatalf("submit: %d\n%s", resp.StatusCode, page)
	}
	if got := bulkInvalidLines(t, page); fmt.Sprint(got) != "[3]" || !strings.Contains(page, "amount: No approval rule") {
		t.Fatalf("refused rows %v:\n%s", got, page)
	}
	if strings.Contains(page, `id="bulk-submit"`) {
		t.Fatal("a refused batch offers the same submit again")
	}
	if n := e.bulkPayoutCount(t, ""); n != 0 {
		t.Fatalf("%d payouts saved from a refused batch", n)
	}
}

// TestBulkSubmitTwiceMakesOneBatch: the same preview submitted twice (a
// double click, a second tab) makes one batch; the second submit says so.
func TestBulkSubmitTwiceMakesOneBatch(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")
	file := bulkHeader + "\n" + bulkGoodRow(1) + "\n" + bulkGoodRow(2) + "\n"
	resp, page := maker.bulkPost("/payouts/bulk/preview", nil, "twice.csv", file)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d", resp.StatusCode)
	}
	form := map[string]string{"csv": html.UnescapeString(bulkCSVPattern.FindStringSubmatch(page)[1]), "expect_valid": "2",
		"file_name": "twice.csv", "submit_token": bulkTokenPattern.FindStringSubmatch(page)[1]}
	resp, first := maker.bulkPost("/payouts/bulk", form, "", "", "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(first, "Submitted 2 payouts") {
		t.Fatalf("first submit: %d\n%s", resp.StatusCode, first)
	}
	resp, second := maker.bulkPost("/payouts/bulk", form, "", "", "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(second, "already submitted as batch") {
		t.Fatalf("second submit: %d\n%s", resp.StatusCode, second)
	}
	if n := e.bulkPayoutCount(t, ""); n != 2 {
		t.Fatalf("%d payouts after two submits, want 2", n)
	}
	// A submit without the preview's token (a crafted form) saves nothing.
	delete(form, "submit_token")
	if resp, page := maker.bulkPost("/payouts/bulk", form, "", "", "HX-Request", "true"); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "one-time token") {
		t.Fatalf("tokenless submit: %d\n%s", resp.StatusCode, page)
	}
	if n := e.bulkPayoutCount(t, ""); n != 2 {
		t.Fatalf("%d payouts, want 2", n)
	}
}

// TestBulkContactReference: a row naming a contact pays its approved
// details; a row with a contact and bank details is refused on its line.
func TestBulkContactReference(t *testing.T) {
	e := newTestEnv(t, false)
	ct := e.approvedTestContact(t, "Kaveri Steel", "50100234567890", "HDFC0001234")
	ref := ct.ReferenceCode
	if ref == "" {
		ref = ct.ID
	}
	maker := e.client()
	maker.signIn("maker")
	file := bulkHeader + ",contact_reference\n" +
		",,,\"12,500\",NEFT,kotakcms,Invoice 9,," + ref + "\n" +
		"Kaveri Steel,99990000111,ICIC0000001,100,NEFT,kotakcms,,," + ref + "\n"
	resp, page := maker.bulkPost("/payouts/bulk/preview", nil, "contacts.csv", file)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Submit 1 valid payout for approval") ||
		!strings.Contains(page, "leave account_no and ifsc empty") || !strings.Contains(page, "50100234567890") {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, page)
	}
	form := map[string]string{"csv": html.UnescapeString(bulkCSVPattern.FindStringSubmatch(page)[1]), "expect_valid": "1",
		"submit_token": bulkTokenPattern.FindStringSubmatch(page)[1]}
	if resp, page := maker.bulkPost("/payouts/bulk", form, "", "", "HX-Request", "true"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(page, "Submitted 1 payout ") {
		t.Fatalf("submit: %d\n%s", resp.StatusCode, page)
	}
	list, _, _ := e.srv.Payouts.List(context.Background(), db.PayoutFilter{})
	if len(list) != 1 || list[0].ContactID != ct.ID || list[0].AccountNo != "50100234567890" || list[0].BeneficiaryName != "Kaveri Steel" {
		t.Fatalf("payouts: %+v", list)
	}
}

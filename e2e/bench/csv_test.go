package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"paydesk/db"
)

const csvRows = 10_000

// bulkCSV is a 10,000-row upload in the template's column order, every row
// valid; amounts alternate plain and Indian-grouped (quoted) forms.
func bulkCSV(rows int) []byte {
	rng := rand.New(rand.NewPCG(7, 7))
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"beneficiary_name", "account_no", "ifsc", "amount", "rail", "source", "purpose", "value_date"})
	for i := range rows {
		in := payoutRow(rng, i)
		if i%2 == 0 {
			in.Amount = indianGrouping(in.Amount)
		}
		_ = w.Write([]string{in.BeneficiaryName, in.AccountNo, in.IFSC, in.Amount, in.Rail, in.Source, in.Purpose, in.ValueDate})
	}
	w.Flush()
	return buf.Bytes()
}

// indianGrouping writes 1234567 as 12,34,567 (the paise part untouched).
func indianGrouping(s string) string {
	whole, frac, hasDot := strings.Cut(s, ".")
	if len(whole) > 3 {
		head, tail := whole[:len(whole)-3], whole[len(whole)-3:]
		var parts []string
		for len(head) > 2 {
			parts = append([]string{head[len(head)-2:]}, parts...)
			head = head[:len(head)-2]
		}
		if head != "" {
			parts = append([]string{head}, parts...)
		}
		whole = strings.Join(append(parts, tail), ",")
	}
	if hasDot {
		return whole + "." + frac
	}
	return whole
}

// validateCSV is the CSV validation path as the bulk upload runs it
// (handlers/payouts_bulk.go: normaliseCSV, parseBulkCSV, checkBulk, which are
// unexported): BOM and line ends normalised, UTF-8 checked, the header mapped
// to columns, each record read with encoding/csv and checked with
// db.ValidatePayout. It returns the valid and invalid row counts.
func validateCSV(raw []byte, today time.Time) (valid, invalid int, total int64, err error) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\r", "\n")
	if !utf8.ValidString(text) {
		return 0, 0, 0, errors.New("not UTF-8")
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return 0, 0, 0, err
	}
	index := map[string]int{}
	for i, h := range header {
		index[strings.ReplaceAll(strings.ToLower(strings.TrimSpace(h)), " ", "_")] = i
	}
	get := func(rec []string, name string) string {
		if i, ok := index[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return valid, invalid, total, err
		}
		_, _ = r.FieldPos(0)
		in := db.PayoutInput{
			BeneficiaryName: get(rec, "beneficiary_name"), AccountNo: get(rec, "account_no"), IFSC: get(rec, "ifsc"),
			Amount: get(rec, "amount"), Rail: get(rec, "rail"), Source: get(rec, "source"),
			Purpose: get(rec, "purpose"), ValueDate: get(rec, "value_date"),
		}
		d, fields := db.ValidatePayout(in, today)
		if len(fields) > 0 || len(rec) != len(header) {
			invalid++
			continue
		}
		valid++
		total += d.AmountPaise
	}
	return valid, invalid, total, nil
}

// BenchmarkCSVValidate10k parses and validates a 10,000-row CSV in process
// (encoding/csv + db.ValidatePayout; see validateCSV).
func BenchmarkCSVValidate10k(b *testing.B) {
	raw := bulkCSV(csvRows)
	today := time.Now()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		valid, invalid, _, err := validateCSV(raw, today)
		if err != nil || valid != csvRows || invalid != 0 {
			b.Fatalf("valid %d invalid %d err %v", valid, invalid, err)
		}
	}
	b.ReportMetric(float64(csvRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBulkPreview10k uploads the 10,000-row CSV to POST
// /payouts/bulk/preview over loopback HTTP as a maker (htmx fragment): the
// real parse + validate + preview render path of handlers/payouts_bulk.go,
// including the multipart upload and the CSV echoed back in the form.
func BenchmarkBulkPreview10k(b *testing.B) {
	fx := newServer(b)
	c := newClient(fx.BaseURL, 4)
	defer c.close()
	if err := c.signIn("maker"); err != nil {
		b.Fatal(err)
	}
	raw := bulkCSV(csvRows)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := previewUpload(c, raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(csvRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

var validCount = regexp.MustCompile(`<div class="label">Valid</div>\s*<div class="value">([0-9]+)</div>`)

// previewUpload posts raw as the bulk upload's file and checks that every row
// came back valid.
func previewUpload(c *client, raw []byte) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "payouts-10k.csv")
	if err != nil {
		return err
	}
	_, _ = fw.Write(raw)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, c.base+"/payouts/bulk/preview", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("HX-Request", "true")
	status, resp, err := c.do(req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("preview: status %d: %.300s", status, resp)
	}
	if m := validCount.FindSubmatch(resp); m == nil || string(m[1]) != fmt.Sprint(csvRows) {
		return fmt.Errorf("preview: valid count %q, want %d", m, csvRows)
	}
	return nil
}

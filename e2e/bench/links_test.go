package bench

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/db"
)

// linkFields are the seeded templates' fields: a required description and
// an optional PO number, as NTT DATA's console would define them.
const linkFields = `[{"Name":"description","Label":"Description","Type":"text","Required":true,"MaxLength":200},` +
	`{"Name":"poNumber","Label":"PO number","Type":"text","MaxLength":30}]`

// seedTemplates caches three usable templates.
func seedTemplates(tb testing.TB, fx *fixture) {
	now := time.Now().UnixMilli()
	execSQL(tb, fx, `INSERT OR IGNORE INTO link_templates (id, name, fields, refreshed_at, changed_at) VALUES
		('1001', 'Standard Invoice', ?, ?, ?), ('1002', 'School Fee', ?, ?, ?), ('1003', 'Subscription Renewal', ?, ?, ?)`,
		linkFields, now, now, linkFields, now, now, linkFields, now, now)
}

// withLinks wires the payment links into the fixture's server once (their
// approval kinds register once), without a provider: links wait.
func (fx *fixture) withLinks() {
	if fx.Srv.Links != nil {
		return
	}
	fx.Srv.Links = db.NewLinks(fx.DB, fx.Srv.Approvals, nil, db.LinksOptions{})
}

// seedLinks makes n payment links over the last year from three templates,
// in every state, a tenth to contacts (the summaries follow by trigger).
func seedLinks(tb testing.TB, fx *fixture, n int) {
	tb.Helper()
	fx.withLinks()
	now := time.Now().UnixMilli()
	seedTemplates(tb, fx)
	step := int64(365*24*3600*1000) / int64(n)
	execSeed(tb, fx, n, `INSERT INTO payment_links (id, template_id, template_name, customer_name, customer_email, customer_mobile,
			send_by, amount_paise, due_date, fields, state, invoice_no, url, paid_at, bank_ref, maker_id, created_at, updated_at)
		SELECT printf('PLB%013d', i), CASE i % 3 WHEN 0 THEN '1001' WHEN 1 THEN '1002' ELSE '1003' END,
			CASE i % 3 WHEN 0 THEN 'Standard Invoice' WHEN 1 THEN 'School Fee' ELSE 'Subscription Renewal' END,
			json_extract(`+benchNames+`, '$[' || (i % 20) || ']') || ' ' || (i % 7000), 'cust' || (i % 7000) || '@example.in',
			printf('98%08d', i % 7000), 'email', 100 * (100 + (i * 7919) % 500000),
			date((? - i * ?) / 1000 + 7 * 86400, 'unixepoch', '+330 minutes'),
			'[{"name":"description","label":"Description","value":"Invoice ' || i || '"}]',
			CASE i % 7 WHEN 0 THEN 'expired' WHEN 1 THEN 'sent' WHEN 2 THEN 'resent' WHEN 3 THEN 'paid' WHEN 4 THEN 'cancelled'
				WHEN 5 THEN 'paid' ELSE 'sent' END,
			printf('INV%09d', i), 'https://paynetzuat.atomtech.in/paylink/' || hex(randomblob(12)),
			CASE WHEN i % 7 IN (3, 5) THEN ? - i * ? + 3600000 END, CASE WHEN i % 7 IN (3, 5) THEN printf('ATOM%012d', i) ELSE '' END,
			?, ? - i * ?, ? - i * ?
		FROM n`, now, step, now, step, fx.Maker.ID, now, step, now, step)
}

// linkCSV is a 10,000-row CSV for template 1001, every row valid.
func linkCSV(rows int) []byte {
	var b strings.Builder
	b.WriteString("customer_name,customer_email,customer_mobile,amount,due_date,send_by,contact_id,description,ponumber\n")
	due := db.ISTDay(time.Now().AddDate(0, 0, 14))
	for i := range rows {
		fmt.Fprintf(&b, "Customer %d,c%d@example.in,98%08d,\"%s\",%s,email,,Invoice %d for services,PO-%d\n",
			i, i, i, indianGrouping(fmt.Sprintf("%d.%02d", 1000+i*7%900000, i%100)), due, i, i)
	}
	return []byte(b.String())
}

var linkValidCount = regexp.MustCompile(`<div class="label">Valid</div>\s*<div class="value">([0-9]+)</div>`)

// linksCSV measures the 10,000-row link CSV: checked (POST
// /links/bulk/preview, 5 runs) and staged (POST /links/bulk: 10,000 links,
// their timeline, audit entries and River jobs in one transaction).
func (r *report) linksCSV(t *testing.T, fx *fixture, c *client) {
	fx.withLinks()
	seedTemplates(t, fx)
	raw := linkCSV(csvRows)
	r.printf("\n== Payment link CSV: %d rows for one template, all valid (%.0f KB)\n", csvRows, float64(len(raw))/1024)
	var ds []time.Duration
	var page []byte
	for range 5 {
		t0 := time.Now()
		body, err := linkPreview(c, raw)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
		page = body
	}
	slices.Sort(ds)
	r.printf("checked over HTTP, POST /links/bulk/preview (parse + template rules + contact lookups + preview render, 5 runs): min %s, median %s, max %s\n",
		ms(ds[0]), ms(ds[2]), ms(ds[4]))
	csvText := regexp.MustCompile(`name="csv" value="([^"]*)"`).FindSubmatch(page)
	if csvText == nil {
		t.Fatal("preview carries no CSV to submit")
	}
	form := url.Values{"csv": {htmlUnescape(string(csvText[1]))}, "file_name": {"links-10k.csv"}, "expect_valid": {fmt.Sprint(csvRows)}}
	t0 := time.Now()
	status, resp, err := c.postForm(context.Background(), "/links/bulk?template=1001", form)
	if err != nil || status != http.StatusOK || !bytes.Contains(resp, []byte("payment links created")) {
		t.Fatalf("submit: %d %v %.300s", status, err, resp)
	}
	r.printf("staged over HTTP, POST /links/bulk (check again, then %d links with timeline, audit and River jobs in one transaction): %s\n",
		csvRows, ms(time.Since(t0)))
}

var htmlUnescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace

func linkPreview(c *client, raw []byte) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "links-10k.csv")
	if err != nil {
		return nil, err
	}
	_, _ = fw.Write(raw)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, c.base+"/links/bulk/preview?template=1001", &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("HX-Request", "true")
	status, resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("preview: status %d: %.300s", status, resp)
	}
	if m := linkValidCount.FindSubmatch(resp); m == nil || string(m[1]) != fmt.Sprint(csvRows) {
		return nil, fmt.Errorf("preview: valid count %q, want %d", m, csvRows)
	}
	return resp, nil
}

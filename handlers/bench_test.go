package handlers

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/gzip"

	"paydesk/db"
)

// BenchmarkLoginPage renders the sign-in page for a visitor with a session.
func BenchmarkLoginPage(b *testing.B) {
	e := newTestEnv(b, false)
	c := &client{e: e, cookies: map[string]*http.Cookie{}}
	c.get("/login")
	ck := c.sessionCookie()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/login", nil)
		req.AddCookie(ck)
		resp, err := e.app.Test(req, -1)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
	}
}

// BenchmarkAuthenticatedPage renders the admin users page for a signed-in
// admin: session lookup, user lookup, a list query and the layout.
func BenchmarkAuthenticatedPage(b *testing.B) {
	e := newTestEnv(b, false)
	c := e.client()
	c.signIn("admin")
	ck := c.sessionCookie()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/admin/users", nil)
		req.AddCookie(ck)
		resp, err := e.app.Test(req, -1)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
	}
}

// BenchmarkKeptPageGzip compresses a checker's queue page of 50 payouts at
// the level the compress middleware uses and at the one the page cache
// uses, and unpacks each as a Go client does: what a kept page costs to
// keep, its bytes on the wire (gz-bytes) and what unpacking it costs.
func BenchmarkKeptPageGzip(b *testing.B) {
	e := newTestEnv(b, false)
	maker, err := e.db.UserByUsername(context.Background(), "maker")
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		if _, _, err := e.srv.Payouts.Propose(context.Background(), maker, db.PayoutInput{BeneficiaryName: []string{"Asha Traders", "Ravi Logistics", "Meera Textiles", "Arjun Foods"}[i%4],
			AccountNo: fmt.Sprintf("501000123%05d", i), IFSC: "HDFC0001234", Amount: fmt.Sprintf("%d.%02d", 1000+i*7919, i),
			Rail: "NEFT", Source: db.SourceKotakCMS, Purpose: "Invoice"}); err != nil {
			b.Fatal(err)
		}
	}
	checker := e.client()
	checker.signIn("checker")
	_, page := checker.get("/queue")
	html := []byte(page)
	for _, level := range []struct {
		name  string
		level int
	}{{"best-speed", gzip.BestSpeed}, {"default", gzip.DefaultCompression}} {
		zw, _ := gzip.NewWriterLevel(nil, level.level)
		pack := func(dst *bytes.Buffer) {
			dst.Reset()
			zw.Reset(dst)
			zw.Write(html)
			zw.Close()
		}
		// Packed once here, so that either sub-benchmark runs alone.
		var packed bytes.Buffer
		pack(&packed)
		b.Run(level.name+"/compress", func(b *testing.B) {
			var out bytes.Buffer
			b.SetBytes(int64(len(html)))
			for b.Loop() {
				pack(&out)
			}
			b.ReportMetric(float64(out.Len()), "gz-bytes")
		})
		b.Run(level.name+"/unpack", func(b *testing.B) {
			var zr stdgzip.Reader
			b.SetBytes(int64(len(html)))
			for b.Loop() {
				if err := zr.Reset(bytes.NewReader(packed.Bytes())); err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, &zr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

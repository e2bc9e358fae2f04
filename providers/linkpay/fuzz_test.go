package linkpay

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeResponse: the client's decoder and signature check never panic
// and never accept a body without a statusCode.
func FuzzDecodeResponse(f *testing.F) {
	good := &Response{StatusCode: CodeLinkSent, MerchID: DemoMID, MerchantTxnID: "A", InvoiceNo: "INV1", Amount: "1.00"}
	good.Signature = Sign(DemoResponseHashKey, responseSigString(good))
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"statusCode":"OTS0000","templates":[{"templateId":"1","templateName":"x"}]}`))
	f.Add([]byte(`{"statusCode":"OTS0000","template":{"templateId":"1","fields":[{"fieldName":"a","maxLength":-1}]}}`))
	f.Add([]byte(`{"statusCode":"OTS1014","invoiceNo":"INV1","amount":"1e99"}`))
	f.Add([]byte(`{"statusCode":""}`))
	f.Add([]byte(`{"statusCode":"OTS0001"} {}`))
	f.Add(b[:len(b)/2])
	f.Add([]byte("<html>503</html>"))
	c, _ := NewClient(DemoConfig("http://x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeResponse(body)
		if err != nil {
			return
		}
		if r.StatusCode == "" {
			t.Fatal("accepted an answer without statusCode")
		}
		_ = c.verify("Fuzz", r, nil)
		_ = linkResult(r)
		_ = classify(r.StatusCode, false)
	})
}

// FuzzVerify: signature checking never panics and only accepts the real one.
func FuzzVerify(f *testing.F) {
	f.Add("KEY123657234", "317157Test@1236545e02c9d8355INRREFUNDINIT", "a4df46")
	f.Add("", "", "")
	f.Add("k", "m", strings.Repeat("zz", 64))
	f.Fuzz(func(t *testing.T, key, msg, sig string) {
		if Verify(key, msg, sig) && !strings.EqualFold(sig, Sign(key, msg)) {
			t.Fatalf("accepted %q for %q", sig, msg)
		}
	})
}

// FuzzSandboxRequests: every sandbox endpoint parses arbitrary bodies without
// panicking and always answers with an OTS envelope.
func FuzzSandboxRequests(f *testing.F) {
	paths := []string{PathGetTemplate, PathGetTemplateDetails, PathCreatePaymentLink, PathResendPaymentLink, PathCancelPaymentLink, PathPrefix + "x"}
	create := CreateLinkRequest{
		MerchID: DemoMID, Password: DemoPassword, TemplateID: "1002", MerchantTxnID: "FZ-1", Amount: "10.00",
		CustomerName: "A", CustomerMobile: "9876543210", DueDate: "2025-12-31",
		Fields:    []FieldValue{{Name: "studentName", Value: "x"}, {Name: "class", Value: "1"}},
		Signature: Sign(DemoRequestHashKey, createSigString(DemoMID, DemoPassword, "10.00", "FZ-1")),
	}
	cb, _ := json.Marshal(create)
	f.Add(uint8(2), cb)
	f.Add(uint8(0), []byte(`{"merchId":"317157","password":"Test@123","signature":"`+Sign(DemoRequestHashKey, DemoMID+DemoPassword)+`"}`))
	f.Add(uint8(1), []byte(`{"merchId":"317157","password":"Test@123","templateId":"1001","signature":"`+Sign(DemoRequestHashKey, DemoMID+DemoPassword+"1001")+`"}`))
	f.Add(uint8(3), []byte(`{"merchId":"317157","password":"Test@123","invoiceNo":"INV100000001","signature":"`+Sign(DemoRequestHashKey, DemoMID+DemoPassword+"INV100000001")+`"}`))
	f.Add(uint8(4), []byte(`{"merchId":1}`))
	f.Add(uint8(5), []byte(`[]`))
	f.Add(uint8(2), []byte(`{"fields":[{"fieldName":null}],"dueDate":"9999-99-99"}`))
	now := time.Date(2025, 3, 10, 0, 0, 0, 0, istZone)
	sb := NewSandbox(SandboxConfig{Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := paths[int(which)%len(paths)]
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		sb.ServeHTTP(rec, req)
		r, err := decodeResponse(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("sandbox answered a non-envelope %q: %v", rec.Body.String(), err)
		}
		if Describe(r.StatusCode) == "" {
			t.Fatalf("sandbox answered unknown code %q", r.StatusCode)
		}
	})
}

// FuzzFillFields: template field filling never panics, and on success every
// mandatory field has a value.
func FuzzFillFields(f *testing.F) {
	f.Add("studentName", "x", "class", "5B")
	f.Add("seats", "two", "renewalDate", "2025-13-01")
	f.Add("", "", "", "")
	tpls := DemoMerchants()[0].Templates
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		for i := range tpls {
			out, code, _ := fillFields(&tpls[i], []FieldValue{{Name: n1, Value: v1}, {Name: n2, Value: v2}})
			if code != "" {
				continue
			}
			for _, fd := range tpls[i].Fields {
				if fd.Mandatory && strings.TrimSpace(out[fd.FieldName]) == "" {
					t.Fatalf("template %s accepted without %s", tpls[i].TemplateID, fd.FieldName)
				}
			}
		}
	})
}

package kotakva

import (
	"encoding/json"
	"testing"
	"time"
)

func FuzzDecodeAccountsResponse(f *testing.F) {
	f.Add([]byte(`{"StatusCd":"005","StatusRem":"1 of 2","Results":[{"VirtualAccountNo":"90909010KR0M","Status":"SUCCESS","Code":"000"},{"Status":"FAILURE","Code":"102"}]}`))
	f.Add([]byte(`{"StatusCd":"000","Results":[{"Status":"MAYBE"}]}`))
	f.Add([]byte(`{"StatusCd":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeAccountsResponse(b)
		if err == nil && r.StatusCd == "" {
			t.Fatal("accepted without StatusCd")
		}
	})
}

func FuzzDecodeTransactionsResponse(f *testing.F) {
	f.Add([]byte(`{"StatusCd":"000","BatchId":"B1","Records":[{"TxnRef":"KVA1","UTR":"HDFCN26061000001","VirtualAccountNo":"90909010A","Amount":"10.50","Mode":"NEFT","CreditedAt":"2026-03-02T10:00:00+05:30"}]}`))
	f.Add([]byte(`{"StatusCd":"000","Records":[{"TxnRef":"KVA1","Amount":"1"}]}`))
	f.Add([]byte(`{"StatusCd":"000","BatchId":"B","Records":[{"TxnRef":"A","Amount":"1.234","CreditedAt":"x"}]}`))
	f.Add([]byte(`{"StatusCd":"000","BatchId":"","Records":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, recs, err := decodeTransactionsResponse(b)
		if err != nil {
			return
		}
		if len(recs) != len(r.Records) || len(recs) > BatchSize {
			t.Fatal("records lost or too many")
		}
		for _, c := range recs {
			if c.TxnRef == "" || c.AmountPaise < 0 {
				t.Fatalf("bad record accepted: %+v", c)
			}
		}
	})
}

func FuzzDecodeRefundResponses(f *testing.F) {
	f.Add([]byte(`{"StatusCd":"000","RefundRef":"RF1","TxnRef":"KVA1","Amount":"5.00","Status":"INITIATED"}`))
	f.Add([]byte(`{"StatusCd":"000","RefundRef":"RF1","Status":"PROCESSED","Amount":"5.00","UTR":"123456789012","UpdatedAt":"2026-03-02T10:00:00+05:30"}`))
	f.Add([]byte(`{"StatusCd":"302","RefundRef":"RF1","Status":"INITIATED"}`))
	f.Add([]byte(`{"StatusCd":"000","Status":"WEIRD","Amount":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeRefundResponse(b); err == nil && r.StatusCd == "000" && r.RefundRef == "" {
			t.Fatal("accepted refund without RefundRef")
		}
		if r, err := decodeRefundStatusResponse(b); err == nil && r.StatusCd == "000" {
			if _, ok := RefundState(r.Status); !ok {
				t.Fatal("accepted unknown status")
			}
		}
		decodeStatusResponse(b)
	})
}

func fuzzSandbox() *Sandbox {
	cfg := DefaultSandboxConfig()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return now }
	s := NewSandbox(cfg)
	s.create([]byte(`{"ClientCode":"` + DemoClientCode + `","PhysicalAccountNo":"` + DemoPhysicalAcct + `","Accounts":[{"Suffix":"FZ1","Name":"Fuzz"}]}`))
	s.AddCredits(CreditRequest{Count: 150})
	return s
}

// FuzzSandboxRequests feeds the same bytes to every request parser of the
// sandbox: none may panic, each answers a known StatusCd, and nothing is ever
// refunded twice.
func FuzzSandboxRequests(f *testing.F) {
	s := fuzzSandbox()
	head := `"ClientCode":"` + DemoClientCode + `","PhysicalAccountNo":"` + DemoPhysicalAcct + `"`
	f.Add([]byte(`{` + head + `,"Accounts":[{"Suffix":"AB1","Name":"A","ExpiresOn":"2026-12-31"}]}`))
	f.Add([]byte(`{` + head + `,"Accounts":[{"VirtualAccountNo":"90909010FZ1","Mobile":"9876543210"}]}`))
	f.Add([]byte(`{` + head + `}`))
	f.Add([]byte(`{"ClientCode":"` + DemoClientCode + `","BatchId":"B26030200000152","TxnRefs":["KVA26030200000002"]}`))
	f.Add([]byte(`{"ClientCode":"` + DemoClientCode + `","ClientName":"` + DemoClientName + `","TxnRef":"KVA26030200000002","Reason":"r","Amount":"1.00"}`))
	f.Add([]byte(`{"ClientCode":"` + DemoClientCode + `","TxnRef":"KVA26030200000002"}`))
	f.Add([]byte(`{"Accounts":[null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		answers := []string{
			s.create(b).StatusCd, s.modify(b).StatusCd, s.delete(b).StatusCd, s.transactions(b).StatusCd,
			s.ack(b).StatusCd, s.refund(b).StatusCd, s.refundStatus(b).StatusCd,
		}
		for _, c := range answers {
			if _, ok := codes[c]; !ok {
				t.Fatalf("unknown StatusCd %q", c)
			}
		}
		if len(s.Ledger().Duplicates()) != 0 {
			t.Fatal("a credit refunded twice")
		}
		if _, err := json.Marshal(s.transactions(b)); err != nil {
			t.Fatal(err)
		}
	})
}

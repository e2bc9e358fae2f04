package kotakcms

import (
	"encoding/json"
	"encoding/xml"
	"testing"
	"time"
)

// Seeds for the XML decoders: real answers of the sandbox plus the shapes of
// the public samples (prefixed namespaces) and broken ones.
func payAnswerSeeds() [][]byte {
	ok, _ := marshalEnvelope(payAck("M1", "000", "ok", []ackInstrument{{InstRefNo: "R1", InstStatusCd: "007", InstStatusRem: "ok"}}))
	dup, _ := marshalEnvelope(payAck("M1", "009", "all rejected", []ackInstrument{{InstRefNo: "R1", InstStatusCd: "006", InstStatusRem: "Duplicate InstRefNo"}}))
	prefixed := []byte(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="` + NSSOAP + `"><SOAP-ENV:Body><ns0:Payment xmlns:ns0="` + NSPayResponse + `"><ns0:AckHeader><ns0:MessageId>M1</ns0:MessageId><ns0:StatusCd>000</ns0:StatusCd><ns0:StatusRem>ok</ns0:StatusRem></ns0:AckHeader></ns0:Payment></SOAP-ENV:Body></SOAP-ENV:Envelope>`)
	return [][]byte{ok, dup, prefixed, ok[:len(ok)/2], []byte("<a><b></a>"), []byte(""), []byte("<!DOCTYPE x [<!ENTITY a 'b'>]><Envelope>&a;</Envelope>")}
}

func FuzzDecodePayResponse(f *testing.F) {
	for _, s := range payAnswerSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodePayResponse(b)
		if err == nil && r.AckHeader.StatusCd == "" {
			t.Fatal("accepted an answer without StatusCd")
		}
	})
}

func FuzzDecodeRevResponse(f *testing.F) {
	ok, _ := marshalEnvelope(revAnswer(revHeader{ReqID: "RQ"}, []RevDetail{{MsgID: "R1", StatusCode: "U", StatusDesc: "Processed", UTR: "KKBKN26061000001"}}))
	f.Add(ok)
	f.Add(ok[:len(ok)/3])
	f.Add([]byte(`<s:Envelope xmlns:s="` + NSSOAP + `"><s:Body><r:Reversal xmlns:r="` + NSRevResponse + `"><r:Details><r:Rev_Detail><r:Msg_Id>X</r:Msg_Id><r:Status_Desc>Data Not Found</r:Status_Desc></r:Rev_Detail></r:Details></r:Reversal></s:Body></s:Envelope>`))
	f.Add([]byte("<Envelope><Body/></Envelope>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRevResponse(b)
		if err == nil {
			for _, d := range r.Details.RevDetails {
				StateOf(d.StatusCode, d.StatusDesc)
				isNotFound(d.StatusCode, d.StatusDesc)
			}
		}
	})
}

func FuzzDecodePendingResponse(f *testing.F) {
	f.Add([]byte(`{"StatusCd":"000","StatusRem":"1","Instruments":[{"InstRefNo":"R1","PayMode":"NEFT","TxnAmnt":"10.50","CreatedAt":"2026-03-02T10:00:00+05:30"}]}`))
	f.Add([]byte(`{"StatusCd":"000","Instruments":[{"InstRefNo":"R1","TxnAmnt":"1e9"}]}`))
	f.Add([]byte(`{"StatusCd":""}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodePendingResponse(b)
		if err == nil && r.StatusCd == "" {
			t.Fatal("accepted without StatusCd")
		}
	})
}

func FuzzDecodeAuthorizeResponse(f *testing.F) {
	f.Add([]byte(`{"MessageId":"A","StatusCd":"005","Results":[{"InstRefNo":"R","StatusCd":"006","StatusRem":"Data Not Found"}]}`))
	f.Add([]byte(`{"StatusCd":"000","Results":null}`))
	f.Add([]byte(`{"StatusCd":7}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeAuthorizeResponse(b)
		if err == nil {
			for _, it := range r.Results {
				authItemError(it)
			}
		}
	})
}

func fuzzSandbox() *Sandbox {
	cfg := DefaultSandboxConfig()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return now }
	cfg.PendingSendFor, cfg.InProcessFor = 0, 0
	return NewSandbox(cfg)
}

func FuzzSandboxPay(f *testing.F) {
	sb := fuzzSandbox()
	good := payRequest{
		XMLName:       xml.Name{Space: NSPayRequest, Local: elemPayment},
		RequestHeader: requestHeader{MessageID: "M1", MsgSource: "S", ClientCode: DemoClientCode},
		InstrumentList: instrumentList{Instruments: []wireInstrument{{
			InstRefNo: "R1", MyProdCode: "VPAY", PayMode: "NEFT", TxnAmnt: "10.00", AccountNo: DemoDebitAccount,
			PaymentDt: "2026-03-02", RecBrCd: "HDFC0001234", BeneAcctNo: "123", BeneName: "B",
		}}},
	}
	b, _ := marshalEnvelope(good)
	f.Add(b)
	f.Add(b[:len(b)-20])
	f.Add([]byte(`<soap:Envelope xmlns:soap="` + NSSOAP + `" xmlns:pay="` + NSPayRequest + `"><soap:Body><pay:Payment><pay:RequestHeader><pay:MessageId>X</pay:MessageId></pay:RequestHeader></pay:Payment></soap:Body></soap:Envelope>`))
	f.Add([]byte("\x00\xff<"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := sb.pay(b)
		if _, ok := ackCodes[r.AckHeader.StatusCd]; !ok {
			t.Fatalf("answered unknown code %q", r.AckHeader.StatusCd)
		}
		if _, err := marshalEnvelope(r); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSandboxInquiry(f *testing.F) {
	sb := fuzzSandbox()
	b, _ := marshalEnvelope(revRequest{
		XMLName: xml.Name{Space: NSRevRequest, Local: elemReversal},
		Header:  revHeader{ReqID: "RQ", MsgSrc: "S", ClientCode: DemoClientCode, DatePost: "2026-03-02"},
		Details: revDetails{MsgIDs: []string{"R1", "R2"}},
	})
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte(`<Envelope xmlns="` + NSSOAP + `"><Body><Reversal xmlns="` + NSRevRequest + `"/></Body></Envelope>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := sb.inquiry(b)
		if len(r.Details.RevDetails) == 0 {
			t.Fatal("inquiry answered nothing")
		}
		if _, err := marshalEnvelope(r); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSandboxPending(f *testing.F) {
	sb := fuzzSandbox()
	f.Add([]byte(`{"ClientCode":"` + DemoClientCode + `"}`))
	f.Add([]byte(`{"ClientCode":null}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := sb.pending(b)
		if r.StatusCd == "" {
			t.Fatal("no StatusCd")
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSandboxAuthorize(f *testing.F) {
	sb := fuzzSandbox()
	f.Add([]byte(`{"MessageId":"A1","ClientCode":"` + DemoClientCode + `","InstRefNo":["R1"],"Action":"APPROVE"}`))
	f.Add([]byte(`{"MessageId":"A2","ClientCode":"` + DemoClientCode + `","InstRefNo":["R1","R1"],"Action":"REJECT","Remarks":"x"}`))
	f.Add([]byte(`{"InstRefNo":[1,2]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := sb.authorize(b)
		if r.StatusCd == "" {
			t.Fatal("no StatusCd")
		}
		if sb.Ledger() != nil && len(sb.Ledger().Duplicates()) != 0 {
			t.Fatal("an instrument executed twice")
		}
	})
}

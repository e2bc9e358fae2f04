package kotakcms

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestSandboxFieldValidation(t *testing.T) {
	e := newEnv(t)
	today := e.clk.Now()
	type mod func(r *payRequest)
	inst := func(f func(in *wireInstrument)) mod {
		return func(r *payRequest) { f(&r.InstrumentList.Instruments[0]) }
	}
	cases := []struct {
		name   string
		mod    mod
		header string // expected header StatusCd
		inst   string // expected instrument code, "" when the request is refused whole
		remark string // substring of the remark
	}{
		{"valid", nil, "000", "007", "pending approval"},
		{"MessageId 20 chars ok", func(r *payRequest) { r.RequestHeader.MessageID = strings.Repeat("M", 20) }, "000", "007", ""},
		{"MessageId 21 chars", func(r *payRequest) { r.RequestHeader.MessageID = strings.Repeat("M", 21) }, "001", "", "MessageId longer than 20"},
		{"MessageId missing", func(r *payRequest) { r.RequestHeader.MessageID = "" }, "001", "", "MessageId is required"},
		{"MsgSource 21", func(r *payRequest) { r.RequestHeader.MsgSource = strings.Repeat("S", 21) }, "001", "", "MsgSource"},
		{"ClientCode 11", func(r *payRequest) { r.RequestHeader.ClientCode = strings.Repeat("C", 11) }, "001", "", "ClientCode longer than 10"},
		{"ClientCode unknown", func(r *payRequest) { r.RequestHeader.ClientCode = "OTHER" }, "003", "", "Invalid Client Code"},
		{"BatchRef 101", func(r *payRequest) { r.RequestHeader.BatchRefNmbr = strings.Repeat("B", 101) }, "001", "", "BatchRefNmbr"},
		{"no instruments", func(r *payRequest) { r.InstrumentList.Instruments = nil }, "001", "", "instruments per request"},
		{"InstRefNo 100 ok", inst(func(in *wireInstrument) { in.InstRefNo = strings.Repeat("R", 100) }), "000", "007", ""},
		{"InstRefNo 101", inst(func(in *wireInstrument) { in.InstRefNo = strings.Repeat("R", 101) }), "001", "", "InstRefNo longer than 100"},
		{"MyProdCode 21", inst(func(in *wireInstrument) { in.MyProdCode = strings.Repeat("P", 21) }), "001", "", "MyProdCode"},
		{"PayMode UPI", inst(func(in *wireInstrument) { in.PayMode = "UPI" }), "001", "", "PayMode"},
		{"TxnAmnt 3 decimals", inst(func(in *wireInstrument) { in.TxnAmnt = "10.123" }), "001", "", "TxnAmnt"},
		{"TxnAmnt text", inst(func(in *wireInstrument) { in.TxnAmnt = "ten" }), "001", "", "TxnAmnt"},
		{"TxnAmnt negative", inst(func(in *wireInstrument) { in.TxnAmnt = "-5.00" }), "001", "", "TxnAmnt"},
		{"TxnAmnt zero", inst(func(in *wireInstrument) { in.TxnAmnt = "0.00" }), "009", "006", "greater than zero"},
		{"AccountNo 21", inst(func(in *wireInstrument) { in.AccountNo = strings.Repeat("1", 21) }), "001", "", "AccountNo longer than 20"},
		{"AccountNo not ours", inst(func(in *wireInstrument) { in.AccountNo = "1111111111" }), "009", "006", "not mapped"},
		{"DrDesc 140 ok", inst(func(in *wireInstrument) { in.DrDesc = strings.Repeat("d", 140) }), "000", "007", ""},
		{"DrDesc 141", inst(func(in *wireInstrument) { in.DrDesc = strings.Repeat("d", 141) }), "001", "", "DrDesc longer than 140"},
		{"PaymentDt format", inst(func(in *wireInstrument) { in.PaymentDt = "02-03-2026" }), "001", "", "PaymentDt"},
		{"PaymentDt past", inst(func(in *wireInstrument) { in.PaymentDt = today.AddDate(0, 0, -1).Format(time.DateOnly) }), "009", "006", "past"},
		{"PaymentDt far", inst(func(in *wireInstrument) { in.PaymentDt = today.AddDate(0, 0, 31).Format(time.DateOnly) }), "009", "006", "days ahead"},
		{"IFSC fifth not zero", inst(func(in *wireInstrument) { in.RecBrCd = "HDFC1001234" }), "009", "006", "IFSC"},
		{"IFSC lower", inst(func(in *wireInstrument) { in.RecBrCd = "hdfc0001234" }), "009", "006", "IFSC"},
		{"IFSC missing", inst(func(in *wireInstrument) { in.RecBrCd = "" }), "009", "006", "IFSC"},
		{"IFT needs Kotak IFSC", inst(func(in *wireInstrument) { in.PayMode = "IFT" }), "009", "006", "Kotak IFSC"},
		{"BeneAcctNo 20 ok", inst(func(in *wireInstrument) { in.BeneAcctNo = strings.Repeat("7", 20) }), "000", "007", ""},
		{"BeneAcctNo 21", inst(func(in *wireInstrument) { in.BeneAcctNo = strings.Repeat("7", 21) }), "001", "", "BeneAcctNo longer than 20"},
		{"BeneAcctNo symbols", inst(func(in *wireInstrument) { in.BeneAcctNo = "1234-5678" }), "009", "006", "letters and digits"},
		{"BeneName 200 ok", inst(func(in *wireInstrument) { in.BeneName = strings.Repeat("n", 200) }), "000", "007", ""},
		{"BeneName 201", inst(func(in *wireInstrument) { in.BeneName = strings.Repeat("n", 201) }), "001", "", "BeneName longer than 200"},
		{"BeneName missing", inst(func(in *wireInstrument) { in.BeneName = "" }), "001", "", "BeneName is required"},
		{"BeneCode 51", inst(func(in *wireInstrument) { in.BeneCode = strings.Repeat("c", 51) }), "001", "", "BeneCode"},
		{"BeneEmail bad", inst(func(in *wireInstrument) { in.BeneEmail = "nobody" }), "009", "006", "BeneEmail"},
		{"BeneMb bad", inst(func(in *wireInstrument) { in.BeneMb = "12ab" }), "009", "006", "BeneMb"},
		{"RTGS below 2 lakh", inst(func(in *wireInstrument) { in.PayMode, in.TxnAmnt = "RTGS", "199999.99" }), "009", "006", "RTGS amount below"},
		{"RTGS at 2 lakh", inst(func(in *wireInstrument) { in.PayMode, in.TxnAmnt = "RTGS", "200000.00" }), "000", "007", ""},
		{"IMPS at 5 lakh", inst(func(in *wireInstrument) { in.PayMode, in.TxnAmnt = "IMPS", "500000" }), "000", "007", ""},
		{"IMPS above 5 lakh", inst(func(in *wireInstrument) { in.PayMode, in.TxnAmnt = "IMPS", "500000.01" }), "009", "006", "IMPS amount above"},
		{"duplicate within request", func(r *payRequest) {
			r.InstrumentList.Instruments = append(r.InstrumentList.Instruments, r.InstrumentList.Instruments[0])
		}, "004", "", "Duplicate Instrument Ref Number"},
		{"wrong namespace", func(r *payRequest) { r.XMLName = xml.Name{Space: "urn:other", Local: "Payment"} }, "001", "", "SOAP 1.2"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := "V" + string(rune('A'+i%26)) + string(rune('A'+i/26))
			req := e.goodRequest("MV"+ref, e.goodInstrument(ref))
			if tc.mod != nil {
				tc.mod(&req)
			}
			resp := e.rawPay(t, req)
			h := resp.AckHeader
			if h.StatusCd != tc.header {
				t.Fatalf("StatusCd %s (%s), want %s", h.StatusCd, h.StatusRem, tc.header)
			}
			rem := h.StatusRem
			if tc.inst != "" {
				if resp.InstrumentList == nil || len(resp.InstrumentList.Instruments) != 1 {
					t.Fatalf("instruments %+v", resp.InstrumentList)
				}
				got := resp.InstrumentList.Instruments[0]
				if got.InstStatusCd != tc.inst {
					t.Fatalf("InstStatusCd %s (%s), want %s", got.InstStatusCd, got.InstStatusRem, tc.inst)
				}
				rem = got.InstStatusRem
			} else if resp.InstrumentList != nil {
				t.Fatal("refused request lists instruments")
			}
			if !strings.Contains(rem, tc.remark) {
				t.Fatalf("remark %q lacks %q", rem, tc.remark)
			}
		})
	}
}

// A request refused whole (001/003/004) does not use up its MessageId; one
// that reached the instruments does, even if all were rejected.
func TestSandboxMessageIdConsumption(t *testing.T) {
	e := newEnv(t)
	bad := e.goodRequest("M-REUSE", e.goodInstrument("R1"))
	bad.InstrumentList.Instruments[0].TxnAmnt = "1.234"
	if got := e.rawPay(t, bad).AckHeader.StatusCd; got != "001" {
		t.Fatal(got)
	}
	if got := e.rawPay(t, e.goodRequest("M-REUSE", e.goodInstrument("R1"))).AckHeader.StatusCd; got != "000" {
		t.Fatalf("MessageId consumed by a 001: %s", got)
	}
	rej := e.goodRequest("M-REJ", e.goodInstrument("R2"))
	rej.InstrumentList.Instruments[0].RecBrCd = "BAD"
	if got := e.rawPay(t, rej).AckHeader.StatusCd; got != "009" {
		t.Fatal(got)
	}
	if got := e.rawPay(t, e.goodRequest("M-REJ", e.goodInstrument("R2"))).AckHeader.StatusCd; got != "002" {
		t.Fatalf("MessageId of a 009 reusable: %s", got)
	}
	// The rejected instrument was never held: a new request may carry it.
	if got := e.rawPay(t, e.goodRequest("M-REJ2", e.goodInstrument("R2"))).AckHeader.StatusCd; got != "000" {
		t.Fatal(got)
	}
}

func TestSandboxInquiryAndApprovalValidation(t *testing.T) {
	e := newEnv(t)
	rev := func(r revRequest) []RevDetail {
		r.XMLName = xml.Name{Space: NSRevRequest, Local: elemReversal}
		body, _ := marshalEnvelope(r)
		status, out := e.raw(t, PathInquiry, ContentXML, body)
		if status != 200 {
			t.Fatal(status)
		}
		resp, err := decodeRevResponse(out)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Details.RevDetails
	}
	good := revHeader{ReqID: "RQ1", MsgSrc: "PAYDESK", ClientCode: DemoClientCode, DatePost: "2026-03-02"}
	if d := rev(revRequest{Header: good, Details: revDetails{MsgIDs: []string{"X"}}}); len(d) != 1 || d[0].StatusDesc != descNotFound {
		t.Fatalf("%+v", d)
	}
	h := good
	h.ClientCode = "NOPE"
	if d := rev(revRequest{Header: h, Details: revDetails{MsgIDs: []string{"X"}}}); d[0].StatusCode != "003" || d[0].MsgID != "RQ1" {
		t.Fatalf("%+v", d)
	}
	h = good
	h.DatePost = "2026/03/02"
	if d := rev(revRequest{Header: h, Details: revDetails{MsgIDs: []string{"X"}}}); d[0].StatusCode != "001" {
		t.Fatalf("%+v", d)
	}
	if d := rev(revRequest{Header: good}); d[0].StatusCode != "001" {
		t.Fatalf("%+v", d)
	}
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = "X"
	}
	if d := rev(revRequest{Header: good, Details: revDetails{MsgIDs: ids}}); d[0].StatusCode != "001" {
		t.Fatalf("%+v", d)
	}
	// The client maps request-level inquiry codes onto errors.
	cfg := e.cfg
	cfg.ClientCode = "NOPE"
	other, _ := NewClient(cfg)
	if _, err := other.StatusInquiry(ctx, "X"); err == nil || !strings.Contains(err.Error(), "003") {
		t.Fatalf("err = %v", err)
	}
	if _, err := other.PendingApprovals(ctx); err == nil || !strings.Contains(err.Error(), "003") {
		t.Fatalf("err = %v", err)
	}

	auth := func(v any) authorizeResponse {
		b, _ := json.Marshal(v)
		status, out := e.raw(t, PathAuthorize, ContentJSON, b)
		if status != 200 {
			t.Fatal(status)
		}
		r, err := decodeAuthorizeResponse(out)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for name, req := range map[string]authorizeRequest{
		"no MessageId":  {ClientCode: DemoClientCode, InstRefNo: []string{"X"}, Action: ActionApprove},
		"bad action":    {MessageID: "A1", ClientCode: DemoClientCode, InstRefNo: []string{"X"}, Action: "MAYBE"},
		"no refs":       {MessageID: "A2", ClientCode: DemoClientCode, Action: ActionApprove},
		"long remarks":  {MessageID: "A3", ClientCode: DemoClientCode, InstRefNo: []string{"X"}, Action: ActionReject, Remarks: strings.Repeat("r", 201)},
		"empty ref":     {MessageID: "A4", ClientCode: DemoClientCode, InstRefNo: []string{""}, Action: ActionApprove},
		"long clientcd": {MessageID: "A5", ClientCode: strings.Repeat("C", 11), InstRefNo: []string{"X"}, Action: ActionApprove},
	} {
		if r := auth(req); r.StatusCd != "001" {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if r := auth(authorizeRequest{MessageID: "A6", ClientCode: "OTHER", InstRefNo: []string{"X"}, Action: ActionApprove}); r.StatusCd != "003" {
		t.Errorf("client code: %+v", r)
	}
	if r := auth(authorizeRequest{MessageID: "A7", ClientCode: DemoClientCode, InstRefNo: []string{"X"}, Action: ActionApprove}); r.StatusCd != "009" || r.Results[0].StatusRem != descNotFound {
		t.Errorf("unknown ref: %+v", r)
	}
	if status, out := e.raw(t, PathPending, ContentJSON, []byte("{")); status != 200 || !strings.Contains(string(out), `"StatusCd":"001"`) {
		t.Errorf("pending garbage: %d %s", status, out)
	}
}

package paymate

import (
	"errors"
	"strings"
	"testing"

	"paydesk/providers"
)

// seedCodes is the seed page's "Error Codes & Description" table, copied
// by hand, so that the code table cannot silently lose or reword a row.
var seedCodes = map[string]string{
	"000": "Success", "101": "UnAuthorised User Access Denied", "102": "Request Data Decryption Failed",
	"103": "Invalid Header XpressID", "104": "UnAuthorised Access of Request Type / Sub Type",
	"105": "Request Data has been Tampered", "106": "Request Data Validation Fail - Company Name",
	"107": "Request Data Validation Fail - Contact Person", "108": "Request Data Validation Fail - Mobile Number",
	"109": "Request Data Validation Fail - Email Address", "120": "SOAP Credential is Empty",
	"122": "Request Data Validation Fail - Company Code", "123": "Invalid Company Code",
	"124": "Empty / Invalid Company Name", "125": "Empty / Invalid Contact Person", "126": "Empty / Invalid Mobile Number",
	"127": "Empty / Invalid Email Address", "128": "Empty / Invalid Company Address", "129": "Request from invalid Source",
	"159": "Transaction Amount is Blank or Invalid Amount", "162": "Remitter Bank Account No is Blank",
	"163": "Invalid Remitter Account No", "166": "Remitter Bank IFSC is Blank", "167": "Invalid Remitter Bank IFSC",
	"176": "Invalid OrderId", "177": "Invalid PMX TransactionID", "178": "Invalid Input Parameter(s)",
	"179": "Cannot Abort Transaction", "180": "Amount limit exceeded", "181": "Remarks length exceeded",
	"192": "No Method Access for ip", "198": "Awaiting to check", "199": "Awaiting to approve", "200": "Awaiting to pay",
	"201": "Awaiting payment", "202": "Sent to bank", "203": "Aborted", "204": "Failed", "205": "Expired", "207": "Pending",
	"211": "Processing", "212": "Rejected", "214": "Returned from beneficiary", "215": "Scheduled for next working day",
	"216": "Sent to Beneficiary", "224": "Transaction already processed", "225": "No Record(s) found",
	"226": "Invalid Vendor's XpressId", "227": "OrderID Already Exsits.", "228": "Empty / Invalid Sender Code.",
	"229": "Sender Name is Empty.", "230": "Payment request has been initiated successfully", "231": "Paid",
	"232": "Empty / Invalid Company Name.", "233": "Empty / Invalid Account No.", "234": "Empty / Invalid Date.",
	"235": "Invalid Date Range", "999": "Technical error",
}

func TestCodeTableCoversSeed(t *testing.T) {
	if len(seedCodes) != 58 {
		t.Fatalf("seed table copy has %d rows, the seed 58", len(seedCodes))
	}
	for code, msg := range seedCodes {
		if got := CodeMessage(code); got != msg {
			t.Errorf("%s: %q, seed says %q", code, got, msg)
		}
	}
	if CodeMessage("250") != "Pending" {
		t.Error("250 from the request report sample missing")
	}
	if len(codes) != len(seedCodes)+1 {
		t.Errorf("table has %d codes, want the seed's 58 + 250", len(codes))
	}
}

func TestPayoutStateMapping(t *testing.T) {
	want := map[string]providers.PayoutState{
		"198": providers.StateQueued, "199": providers.StateQueued,
		"200": providers.StateQueued, "201": providers.StateProcessing, "202": providers.StateProcessing,
		"211": providers.StateProcessing, "215": providers.StateProcessing, "216": providers.StateProcessing,
		"231": providers.StateProcessed, "203": providers.StateCancelled, "204": providers.StateFailed,
		"205": providers.StateFailed, "212": providers.StateRejected, "214": providers.StateReversed,
		"000": providers.StateUnknown, "227": providers.StateUnknown, "": providers.StateUnknown, "777": providers.StateUnknown,
	}
	for code, st := range want {
		if got := PayoutStateOf(code); got != st {
			t.Errorf("%q: %s, want %s", code, got, st)
		}
	}
	coll := map[string]providers.CollectionState{
		"250": providers.CollectionPending, "201": providers.CollectionPending, "231": providers.CollectionPaid,
		"205": providers.CollectionExpired, "203": providers.CollectionCancelled, "204": providers.CollectionFailed,
	}
	for code, st := range coll {
		if got, ok := CollectionStateOf(code); !ok || got != st {
			t.Errorf("collection %q: %s", code, got)
		}
	}
	if _, ok := CollectionStateOf("102"); ok {
		t.Error("102 is not a request status")
	}
}

func TestCodeErrors(t *testing.T) {
	cases := []struct {
		code  string
		write bool
		kind  error
	}{
		{"101", true, providers.ErrAuth}, {"102", false, providers.ErrAuth}, {"103", true, providers.ErrAuth},
		{"104", true, providers.ErrAuth}, {"105", true, providers.ErrAuth}, {"120", true, providers.ErrAuth},
		{"129", true, providers.ErrAuth}, {"192", false, providers.ErrAuth},
		{"106", true, providers.ErrRejected}, {"159", true, providers.ErrRejected}, {"180", true, providers.ErrRejected},
		{"179", true, providers.ErrRejected}, {"235", false, providers.ErrRejected},
		{"123", true, providers.ErrDuplicate}, {"224", true, providers.ErrDuplicate}, {"227", true, providers.ErrDuplicate},
		{"225", false, providers.ErrNotFound},
		{"999", true, providers.ErrOutcomeUnknown}, {"999", false, providers.ErrTransient},
		{"555", true, providers.ErrOutcomeUnknown}, {"555", false, providers.ErrTransient},
	}
	all := []error{providers.ErrAuth, providers.ErrRejected, providers.ErrDuplicate, providers.ErrNotFound, providers.ErrOutcomeUnknown, providers.ErrTransient}
	for _, c := range cases {
		err := codeError("BookPayment", c.code, "", c.write)
		for _, k := range all {
			if errors.Is(err, k) != (k == c.kind) {
				t.Errorf("%s write=%v: errors.Is(%v) = %v", c.code, c.write, k, errors.Is(err, k))
			}
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != c.code || !IsCode(err, c.code) {
			t.Errorf("%s: not an *Error with the code", c.code)
		}
	}
	err := codeError("BookPayment", "227", "", true)
	if got := err.Error(); !strings.HasPrefix(got, "paymate: BookPayment: 227 OrderID Already Exsits.") {
		t.Errorf("message %q", got)
	}
	// PayMate's own words win over the table's.
	if got := codeError("AddContact", "000", "Contact saved successfully.", true).Message; got != "Contact saved successfully." {
		t.Errorf("description %q", got)
	}
	for code := range codes {
		ci := codes[code]
		if isAnswer(code) != (ci.Class == classOK || ci.Class == classState) {
			t.Errorf("%s: isAnswer", code)
		}
		if ci.Class == classState && ci.Payout == "" {
			t.Errorf("%s: status without a payout state", code)
		}
	}
}

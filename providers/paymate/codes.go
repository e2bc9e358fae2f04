package paymate

import (
	"errors"
	"fmt"
	"strings"

	"paydesk/providers"
)

// class says how a caller must treat a PayMate code when it comes back as an
// answer's ErrorCode.
type class int

const (
	// classOK: the call did what was asked.
	classOK class = iota
	// classState: a lifecycle status. As an ErrorCode it is an answer, not a
	// failure; as a TransactionStatus it maps to a payout/collection state.
	classState
	// classAuth: identification, encryption, role or source refused.
	classAuth
	// classRejected: validation or business rule; the same request cannot succeed.
	classRejected
	// classDuplicate: PayMate already has the item (OrderID, ReferenceCode,
	// an approval already done).
	classDuplicate
	// classNotFound: PayMate has no such item.
	classNotFound
	// classTechnical: PayMate failed inside; a write may or may not have
	// happened, a read can be asked again.
	classTechnical
)

// codeInfo is one row of PayMate's code table.
type codeInfo struct {
	Message    string
	Class      class
	Payout     providers.PayoutState     // when the code is a payment's status
	Collection providers.CollectionState // when the code is a payment request's status
}

// codes is THE table: every code on the seed page (its "Error Codes &
// Description" table, plus "250 Pending" from the GetRequestPaymentReport
// sample), with the seed's own words.
//
// Payout states: 198/199 wait at PayMate for a checker/approver, which from
// Paydesk's side is a payout queued at the provider (StateQueued), and
// PendingApprovals/Authorise is how it moves on. 200/201 (a vendor's request
// awaiting our payment) and everything between "sent to bank" and "paid" are
// processing.
var codes = map[string]codeInfo{
	"000": {"Success", classOK, "", ""},
	"101": {"UnAuthorised User Access Denied", classAuth, "", ""},
	"102": {"Request Data Decryption Failed", classAuth, "", ""},
	"103": {"Invalid Header XpressID", classAuth, "", ""},
	"104": {"UnAuthorised Access of Request Type / Sub Type", classAuth, "", ""},
	"105": {"Request Data has been Tampered", classAuth, "", ""},
	"106": {"Request Data Validation Fail - Company Name", classRejected, "", ""},
	"107": {"Request Data Validation Fail - Contact Person", classRejected, "", ""},
	"108": {"Request Data Validation Fail - Mobile Number", classRejected, "", ""},
	"109": {"Request Data Validation Fail - Email Address", classRejected, "", ""},
	"120": {"SOAP Credential is Empty", classAuth, "", ""},
	"122": {"Request Data Validation Fail - Company Code", classRejected, "", ""},
	// 123: the sandbox answers it for a ReferenceCode already in use (decision).
	"123": {"Invalid Company Code", classDuplicate, "", ""},
	"124": {"Empty / Invalid Company Name", classRejected, "", ""},
	"125": {"Empty / Invalid Contact Person", classRejected, "", ""},
	"126": {"Empty / Invalid Mobile Number", classRejected, "", ""},
	"127": {"Empty / Invalid Email Address", classRejected, "", ""},
	"128": {"Empty / Invalid Company Address", classRejected, "", ""},
	"129": {"Request from invalid Source", classAuth, "", ""},
	"159": {"Transaction Amount is Blank or Invalid Amount", classRejected, "", ""},
	"162": {"Remitter Bank Account No is Blank", classRejected, "", ""},
	"163": {"Invalid Remitter Account No", classRejected, "", ""},
	"166": {"Remitter Bank IFSC is Blank", classRejected, "", ""},
	"167": {"Invalid Remitter Bank IFSC", classRejected, "", ""},
	"176": {"Invalid OrderId", classRejected, "", ""},
	"177": {"Invalid PMX TransactionID", classRejected, "", ""},
	"178": {"Invalid Input Parameter(s)", classRejected, "", ""},
	"179": {"Cannot Abort Transaction", classRejected, "", ""},
	"180": {"Amount limit exceeded", classRejected, "", ""},
	"181": {"Remarks length exceeded", classRejected, "", ""},
	"192": {"No Method Access for ip", classAuth, "", ""},
	"198": {"Awaiting to check", classState, providers.StateQueued, providers.CollectionPending},
	"199": {"Awaiting to approve", classState, providers.StateQueued, providers.CollectionPending},
	// 200 is a vendor's request waiting for the business to pay it: like 199,
	// it waits for our approval (ApprovePayment), so it is queued, not moving.
	"200": {"Awaiting to pay", classState, providers.StateQueued, providers.CollectionPending},
	"201": {"Awaiting payment", classState, providers.StateProcessing, providers.CollectionPending},
	"202": {"Sent to bank", classState, providers.StateProcessing, providers.CollectionPending},
	"203": {"Aborted", classState, providers.StateCancelled, providers.CollectionCancelled},
	"204": {"Failed", classState, providers.StateFailed, providers.CollectionFailed},
	"205": {"Expired", classState, providers.StateFailed, providers.CollectionExpired},
	"207": {"Pending", classState, providers.StateProcessing, providers.CollectionPending},
	"211": {"Processing", classState, providers.StateProcessing, providers.CollectionPending},
	"212": {"Rejected", classState, providers.StateRejected, providers.CollectionCancelled},
	"214": {"Returned from beneficiary", classState, providers.StateReversed, providers.CollectionFailed},
	"215": {"Scheduled for next working day", classState, providers.StateProcessing, providers.CollectionPending},
	"216": {"Sent to Beneficiary", classState, providers.StateProcessing, providers.CollectionPending},
	"224": {"Transaction already processed", classDuplicate, "", ""},
	"225": {"No Record(s) found", classNotFound, "", ""},
	"226": {"Invalid Vendor's XpressId", classRejected, "", ""},
	"227": {"OrderID Already Exsits.", classDuplicate, "", ""},
	"228": {"Empty / Invalid Sender Code.", classRejected, "", ""},
	"229": {"Sender Name is Empty.", classRejected, "", ""},
	"230": {"Payment request has been initiated successfully", classState, providers.StateProcessing, providers.CollectionPending},
	"231": {"Paid", classState, providers.StateProcessed, providers.CollectionPaid},
	"232": {"Empty / Invalid Company Name.", classRejected, "", ""},
	"233": {"Empty / Invalid Account No.", classRejected, "", ""},
	"234": {"Empty / Invalid Date.", classRejected, "", ""},
	"235": {"Invalid Date Range", classRejected, "", ""},
	"250": {"Pending", classState, providers.StateProcessing, providers.CollectionPending},
	"999": {"Technical error", classTechnical, "", ""},
}

// CodeMessage returns the seed's description of a PayMate code, or "" when the
// code is not in the table.
func CodeMessage(code string) string { return codes[code].Message }

// PayoutStateOf maps a payment's TransactionStatus onto Paydesk's payout
// states. A code that is not a known payment status is StateUnknown: Paydesk
// then keeps asking rather than guessing.
func PayoutStateOf(code string) providers.PayoutState {
	if ci, ok := codes[code]; ok && ci.Payout != "" {
		return ci.Payout
	}
	return providers.StateUnknown
}

// CollectionStateOf maps a payment request's status onto Paydesk's collection
// states; ok is false for a code that is not a request status.
func CollectionStateOf(code string) (providers.CollectionState, bool) {
	ci, found := codes[code]
	if !found || ci.Collection == "" {
		return "", false
	}
	return ci.Collection, true
}

// Error is a failed PayMate call. It wraps one of the providers sentinels
// (errors.Is(err, providers.ErrDuplicate) …) and, for transport failures, the
// underlying cause.
type Error struct {
	Op         string // PayMate method, e.g. "BookPayment"
	Code       string // PayMate's ErrorCode; "" when no answer was read
	Message    string // PayMate's ErrorDescription, or what went wrong
	HTTPStatus int    // set when the HTTP layer failed
	Kind       error  // the providers sentinel
	Err        error  // the cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("paymate: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Code != "":
		b.WriteString(e.Code)
		b.WriteString(" ")
		b.WriteString(e.Message)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
	default:
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Kind != nil {
		b.WriteString(" (")
		b.WriteString(e.Kind.Error())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap exposes both the sentinel and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// IsCode reports whether err is a PayMate answer carrying code.
func IsCode(err error, code string) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Code == code
}

// codeError turns a non-success ErrorCode into an *Error. write tells whether
// the call may have moved money or created something: a technical error (999
// or a code this table does not know) then means "outcome unknown", while for
// a read it is merely transient.
func codeError(op, code, desc string, write bool) *Error {
	ci, known := codes[code]
	if desc == "" {
		desc = ci.Message
	}
	if desc == "" {
		desc = "unknown PayMate code"
	}
	e := &Error{Op: op, Code: code, Message: desc}
	cl := ci.Class
	if !known {
		cl = classTechnical
	}
	switch cl {
	case classAuth:
		e.Kind = providers.ErrAuth
	case classRejected:
		e.Kind = providers.ErrRejected
		if op == "ApprovePayment" && code == insufficientBalanceCode {
			// The payment stays at 199 until the Xpress Account is funded.
			e.Err = providers.ErrInsufficientFunds
		}
	case classDuplicate:
		e.Kind = providers.ErrDuplicate
	case classNotFound:
		e.Kind = providers.ErrNotFound
	default: // classTechnical
		e.Kind = providers.ErrTransient
		if write {
			e.Kind = providers.ErrOutcomeUnknown
		}
	}
	return e
}

// isAnswer reports whether an ErrorCode means the call was answered as asked:
// success, or a lifecycle status some PayMate builds put in ErrorCode.
func isAnswer(code string) bool {
	ci, ok := codes[code]
	return ok && (ci.Class == classOK || ci.Class == classState)
}

package kotakcms

import (
	"strings"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
)

// Name is the provider's name in Paydesk.
const Name = "kotakcms"

// Error is the typed error every client call returns; errors.Is with the
// providers sentinels works on it.
type Error = kotak.Error

// ackCode describes one StatusCd of the payment acknowledgement (public list,
// providers.md §1). Kind is nil for the codes that mean accepted.
type ackCode struct {
	Desc string
	Kind error
}

// ackCodes is the one table of Kotak's payment acknowledgement codes, used
// for the request header (StatusCd) and for each instrument (InstStatusCd).
var ackCodes = map[string]ackCode{
	"000": {"All Instruments accepted Successfully.", nil},
	"001": {"XML Schema validation failed", providers.ErrRejected},
	"002": {"Duplicate Message Id", providers.ErrDuplicate},
	"003": {"Invalid Client Code.", providers.ErrRejected},
	"004": {"Duplicate Instrument Ref Number within Request.", providers.ErrRejected},
	"005": {"Request Partially Accepted.", nil},
	"006": {"Instrument rejected due to data validation failure.", providers.ErrRejected},
	"007": {"Instrument validated successfully.", nil},
	"008": {"Invalid Web service consumer IP address.", providers.ErrAuth},
	"009": {"All Instruments rejected due to data validation failure", providers.ErrRejected},
	"010": {"Default user not found for given client.", providers.ErrRejected},
	// A severe error is an answer from inside the bank: whether the
	// instruments were taken cannot be known from it.
	"011": {"System encountered severe error. Please contact admin.", providers.ErrOutcomeUnknown},
}

// statusCode describes one Status_Code of the status inquiry and the payout
// state it maps onto.
type statusCode struct {
	Desc  string
	State providers.PayoutState
}

// statusCodes is the one table of instrument status codes (public list,
// providers.md §1; state mapping is Paydesk's). PA is "accepted by the bank,
// awaiting the bank-side authoriser", which for Paydesk's worker is queued:
// it will call Authorise next.
var statusCodes = map[string]statusCode{
	"PA": {"Pending Approval", providers.StateQueued},
	"PS": {"Pending Send", providers.StateProcessing},
	"C":  {descInProgress, providers.StateProcessing},
	"DC": {"Debited", providers.StateProcessing},
	"O":  {"In Process", providers.StateProcessing},
	"U":  {"Processed", providers.StateProcessed},
	"R":  {"Rejected", providers.StateRejected},
	"CF": {"Credit Failed", providers.StateFailed},
	"DF": {"Debit Failed", providers.StateFailed},
	"CN": {"Cancelled", providers.StateCancelled},
	"AR": {"Returned", providers.StateReversed},
	"CR": {"Reversed", providers.StateReversed},
	"DL": {"Returned and Deleted", providers.StateReversed},
}

// StateOf maps an inquiry answer onto Paydesk's payout state. ok is false for
// "Data Not Found" and for codes outside the table.
func StateOf(code, desc string) (providers.PayoutState, bool) {
	if sc, ok := statusCodes[strings.ToUpper(strings.TrimSpace(code))]; ok {
		return sc.State, true
	}
	if strings.TrimSpace(code) == "" && strings.EqualFold(strings.TrimSpace(desc), descInProgress) {
		return providers.StateProcessing, true
	}
	return "", false
}

func isNotFound(code, desc string) bool {
	return strings.TrimSpace(code) == "" && strings.EqualFold(strings.TrimSpace(desc), descNotFound) ||
		strings.EqualFold(strings.TrimSpace(code), descNotFound)
}

// isDuplicateRemark tells a repeat of an InstRefNo the bank already holds
// from other 006 rejections.
func isDuplicateRemark(rem string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(rem)), "duplicate")
}

// ackError turns a non-accepting acknowledgement code into the typed error.
func ackError(op, code, rem string) error {
	c := strings.TrimSpace(code)
	ac, ok := ackCodes[c]
	if ok && ac.Kind == nil {
		return nil
	}
	kind := providers.ErrRejected
	if ok {
		kind = ac.Kind
	} else {
		// A code we do not know is an answer we cannot read: whether the
		// bank took the request is unknown.
		kind = providers.ErrOutcomeUnknown
	}
	if c == "006" && isDuplicateRemark(rem) {
		kind = providers.ErrDuplicate
	}
	msg := strings.TrimSpace(rem)
	if msg == "" {
		msg = ac.Desc
	}
	return &Error{Provider: Name, Op: op, Code: c, Message: msg, Kind: kind}
}

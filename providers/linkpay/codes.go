package linkpay

import (
	"errors"

	"paydesk/providers"
)

// Status codes of the seed page, in one table: what they say and which
// providers sentinel a caller sees. kindDepends marks the codes whose meaning
// for the caller depends on whether the call was a read or a write.
const (
	CodeOK               = "OTS0000" // Request Executed Successfully
	CodeLinkSent         = "OTS0001" // Invoice Link Sent Successfully
	CodeLinkCancelled    = "OTS0002" // Invoice Link Cancelled Successfully
	CodeParamsMissing    = "OTS1001"
	CodeInvalidMerchant  = "OTS1002"
	CodeInactiveMerchant = "OTS1003"
	CodeTemplateNotFound = "OTS1004"
	CodeTemplateDetails  = "OTS1005"
	CodeFieldsMissing    = "OTS1006"
	CodeDefaultMissing   = "OTS1007"
	CodeInvalidJSON      = "OTS1008"
	CodeBadRequest       = "OTS1009"
	CodeWentWrong        = "OTS1010"
	CodeSignature        = "OTS1011"
	CodeInvoiceNotFound  = "OTS1012"
	CodeActionNotFound   = "OTS1013"
	CodeRequestFailed    = "OTS1014"
	CodeCancelledInvoice = "OTS1015"
)

type codeInfo struct {
	desc    string
	success bool
	kind    error // nil for successes; kindDepends: see classify
}

// kindDepends: OTS1010 "Something Went Wrong" does not say whether the
// provider acted. A read may simply be asked again; a write's outcome is
// unknown.
var kindDepends = errors.New("depends on the call")

var codes = map[string]codeInfo{
	CodeOK:               {"Request Executed Successfully", true, nil},
	CodeLinkSent:         {"Invoice Link Sent Successfully", true, nil},
	CodeLinkCancelled:    {"Invoice Link Cancelled Successfully", true, nil},
	CodeParamsMissing:    {"Parameters Are Missing", false, providers.ErrRejected},
	CodeInvalidMerchant:  {"Invalid Merch ID/Password", false, providers.ErrAuth},
	CodeInactiveMerchant: {"Inactive Merchant", false, providers.ErrAuth},
	CodeTemplateNotFound: {"Template Not Found", false, providers.ErrNotFound},
	CodeTemplateDetails:  {"Template Details Not Found", false, providers.ErrNotFound},
	CodeFieldsMissing:    {"Template Field/s Is/Are Missing", false, providers.ErrRejected},
	CodeDefaultMissing:   {"Default Value Missing", false, providers.ErrRejected},
	CodeInvalidJSON:      {"Value Missing (If Request Format(JSON) Is Invalid)", false, providers.ErrRejected},
	CodeBadRequest:       {"Bad Request (For Unexpected Errors)", false, providers.ErrRejected},
	CodeWentWrong:        {"Something Went Wrong", false, kindDepends},
	CodeSignature:        {"Signature Mismatched", false, providers.ErrAuth},
	CodeInvoiceNotFound:  {"Invoice Not Found", false, providers.ErrNotFound},
	CodeActionNotFound:   {"Action Not Found", false, providers.ErrRejected},
	// OTS1014 on create with the existing invoice attached is our duplicate
	// guard (see decisions.go) and becomes ErrDuplicate in the client.
	CodeRequestFailed:    {"Request Failed", false, providers.ErrRejected},
	CodeCancelledInvoice: {"Cancelled Invoice", false, providers.ErrRejected},
}

// Describe returns the seed's description of code, or "" for a code the table
// does not know.
func Describe(code string) string { return codes[code].desc }

// IsSuccess reports whether code is one of the OTS000x successes.
func IsSuccess(code string) bool { return codes[code].success }

// classify returns the sentinel for a refusal. Codes the table does not know
// are treated like OTS1010: nobody can say what happened.
func classify(code string, idempotent bool) error {
	info, ok := codes[code]
	if !ok || info.kind == kindDepends {
		if idempotent {
			return providers.ErrTransient
		}
		return providers.ErrOutcomeUnknown
	}
	return info.kind
}

// Error is what the client returns for anything but success. Code is the OTS
// code when the provider answered, or one of the client's own markers
// (CodeTransport, CodeHTTP, CodeMalformed, CodeBadSignature) when it did not
// answer usably.
type Error struct {
	Op         string
	Code       string
	Message    string
	HTTPStatus int
	// Existing is the invoice the provider already holds for the
	// merchantTxnId when a create was refused as a duplicate.
	Existing *LinkResult

	kind error
	err  error
}

// Client-side markers used as Error.Code when there is no OTS code.
const (
	CodeTransport    = "TRANSPORT"
	CodeHTTP         = "HTTP"
	CodeMalformed    = "MALFORMED"
	CodeBadSignature = "RESPONSE_SIGNATURE"
)

func (e *Error) Error() string {
	s := "linkpay: " + e.Op + ": " + e.Code
	if e.Message != "" {
		s += " " + e.Message
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// ProviderCode is the OTS code (or the client's marker).
func (e *Error) ProviderCode() string { return e.Code }

// ProviderMessage is the provider's words for the code.
func (e *Error) ProviderMessage() string {
	if e.Message != "" {
		return e.Message
	}
	return Describe(e.Code)
}

var _ providers.CodedError = (*Error)(nil)

// Unwrap exposes the providers sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.err != nil {
		out = append(out, e.err)
	}
	return out
}

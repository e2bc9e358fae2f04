package kotakva

import (
	"strings"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
)

// Name is the provider's name in Paydesk.
const Name = "kotakva"

// Error is the typed error every client call returns; errors.Is with the
// providers sentinels works on it.
type Error = kotak.Error

type code struct {
	Desc string
	Kind error // nil: success
}

// codes is the one table of StatusCd values (all decisions, modelled on the
// CMS acknowledgement codes where they overlap): request level, per account
// (1xx), transactions (2xx) and refunds (3xx).
var codes = map[string]code{
	"000": {"Success", nil},
	"001": {"Request validation failed", providers.ErrRejected},
	"003": {"Invalid client code or client name", providers.ErrRejected},
	"004": {"Physical account not mapped to client", providers.ErrRejected},
	"005": {"Request partially processed", nil},
	"009": {"No account in the request could be processed", nil}, // per-account results tell why
	"011": {"System encountered severe error", providers.ErrOutcomeUnknown},

	"101": {"Field validation failed", providers.ErrRejected},
	"102": {"Virtual account already exists", providers.ErrDuplicate},
	"103": {"Virtual account not found", providers.ErrNotFound},
	"104": {"Virtual account is deleted", providers.ErrRejected},

	"201": {"Unknown BatchId", providers.ErrNotFound},
	"202": {"TxnRefs do not match the batch", providers.ErrRejected},

	"301": {"Transaction not found", providers.ErrNotFound},
	"302": {"Refund already initiated for this transaction", providers.ErrDuplicate},
	"303": {"Refund amount exceeds the transaction amount", providers.ErrRejected},
	"304": {"Refund not found", providers.ErrNotFound},
}

// refundStatus is one refund Status and the payout state it maps onto.
type refundStatus struct {
	Desc  string
	State providers.PayoutState
}

// Refund statuses. INITIATED means accepted and debited (the money has left,
// waiting to be sent), so for Paydesk the refund is processing.
var refundStatuses = map[string]refundStatus{
	"INITIATED":  {"Refund initiated", providers.StateProcessing},
	"IN_PROCESS": {"Refund in process", providers.StateProcessing},
	"PROCESSED":  {"Refund credited to remitter", providers.StateProcessed},
	"FAILED":     {"Refund failed", providers.StateFailed},
	"RETURNED":   {"Refund returned by remitter bank", providers.StateReversed},
}

// RefundState maps a refund Status onto Paydesk's payout state.
func RefundState(status string) (providers.PayoutState, bool) {
	rs, ok := refundStatuses[strings.ToUpper(strings.TrimSpace(status))]
	return rs.State, ok
}

// codeError is the typed error for a StatusCd, nil for the success codes.
func codeError(op, statusCd, rem string) error {
	c := strings.TrimSpace(statusCd)
	info, ok := codes[c]
	if ok && info.Kind == nil {
		return nil
	}
	kind := providers.ErrOutcomeUnknown // a code we cannot read
	if ok {
		kind = info.Kind
	}
	msg := strings.TrimSpace(rem)
	if msg == "" {
		msg = info.Desc
	}
	return &Error{Provider: Name, Op: op, Code: c, Message: msg, Kind: kind}
}

package linkpay

import (
	"regexp"
	"time"
)

// Every choice made where the seed page and public sources stop lives here, so
// it can be swapped in one place when NTT DATA's full specification arrives.
// The seed gives the five calls, the OTS codes, the HMAC-SHA512 algorithm and
// the create/resend/cancel signature strings; everything else is ours.

// Paths: JSON over POST, one path per call (decision). Anything else under
// PathPrefix is answered with OTS1013 "Action Not Found".
const (
	PathPrefix             = "/ots/v1/"
	PathGetTemplate        = PathPrefix + "getTemplate"
	PathGetTemplateDetails = PathPrefix + "getTemplateDetails"
	PathCreatePaymentLink  = PathPrefix + "createPaymentLink"
	PathResendPaymentLink  = PathPrefix + "resendPaymentLink"
	PathCancelPaymentLink  = PathPrefix + "cancelPaymentLink"
)

// Field limits the sandbox enforces (decision: the console's own limits are
// not public; these follow NTT DATA's AIPAY field sizes where they overlap).
const (
	maxMerchantTxnID = 35
	maxCustomerName  = 100
	maxEmail         = 100
	maxTemplateID    = 20
	maxInvoiceNo     = 30
	maxFieldValue    = 250 // when a template field sets no MaxLength
	maxAmountRupees  = 9_999_999_999
	// currencyINR is the only currency templates are made in.
	currencyINR = "INR"
	// dateLayout is how dueDate travels.
	dateLayout = "2006-01-02"
)

// Decision: an invoice without a due date stays payable this long.
const defaultLinkTTL = 7 * 24 * time.Hour

// Decision: a repeated merchantTxnId is refused with OTS1014 "Request Failed"
// and the answer carries the invoice already made for it (invoiceNo, amount,
// paymentLink, signed). The same link is therefore never created twice, and a
// caller whose create timed out can send it again to learn what happened.
const codeDuplicateTxn = "OTS1014"

// Decision: how the link reaches the customer (notifyBy). Absent: by every
// channel the request gives (email and/or mobile), as before the field
// existed. NONE sends nothing: the merchant shows or shares the link itself,
// and neither email nor mobile is needed.
const (
	notifyEmail    = "EMAIL"
	notifyEmailSMS = "EMAIL_SMS"
	notifySMS      = "SMS"
	notifyNone     = "NONE"
)

// Decision: the provider tells the merchant that an invoice was paid or
// expired by POSTing a signed Notification (JSON) to the notification URL
// configured in the merchant console. Any 2xx acknowledges it; otherwise, or
// without an answer within notifyTimeout, it is delivered again after 1 s,
// 2 s, 4 s … (notifyAttempts in all). Every delivery of one event carries the
// same notificationId and a new sentAt, and is signed afresh.
const (
	notifyAttempts = 8
	notifyTimeout  = 10 * time.Second
	notifyBackoff  = time.Second
)

// notificationSigString is what a notification's signature covers (decision):
// every member but the signature, in the order of the struct, under the
// response hash key.
func notificationSigString(n *Notification) string {
	return n.MerchID + n.NotificationID + n.MerchantTxnID + n.InvoiceNo + n.Amount + n.InvoiceStatus + n.BankRef + n.EventAt + n.SentAt
}

// Patterns of the values the sandbox checks.
var (
	reMerchantTxnID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,35}$`)
	// Decision: the amount is exactly two decimals, as the signature is made
	// over the literal string sent; "100" and "100.5" are OTS1009.
	reAmount = regexp.MustCompile(`^[0-9]{1,10}\.[0-9]{2}$`)
	reEmail  = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$`)
	reMobile = regexp.MustCompile(`^[6-9][0-9]{9}$`)
	reName   = regexp.MustCompile(`^[\p{L}\p{N} .,'&()/-]+$`)
)

// istZone is where due dates end: an invoice due 2025-04-01 is payable until
// midnight IST that night.
var istZone = time.FixedZone("IST", 5*3600+1800)

// Request signature strings. The seed fixes the first two; the template calls
// carry a signature too (decision) so that every call proves the request hash
// key: GetTemplate signs MID+Password, GetTemplateDetails MID+Password+templateId.
func createSigString(mid, password, amount, merchantTxnID string) string {
	return mid + password + amount + merchantTxnID
}

func invoiceSigString(mid, password, invoiceNo string) string {
	return mid + password + invoiceNo
}

func templateListSigString(mid, password string) string { return mid + password }

func templateDetailsSigString(mid, password, templateID string) string {
	return mid + password + templateID
}

// responseSigString is what the provider signs with the response hash key
// (decision): merchId + statusCode + templateId + merchantTxnId + invoiceNo +
// amount + paymentLink, absent fields as empty strings. Answers given before
// MID and password are checked (OTS1001 for them, OTS1002, OTS1008, OTS1013)
// and OTS1011 carry no signature; every other answer is signed, and the
// client refuses a success, or any answer naming an invoice or a template,
// without a valid one.
func responseSigString(r *Response) string {
	var tid string
	if r.Template != nil {
		tid = r.Template.TemplateID
	}
	return r.MerchID + r.StatusCode + tid + r.MerchantTxnID + r.InvoiceNo + r.Amount + r.PaymentLink
}

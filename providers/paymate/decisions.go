package paymate

import "time"

// Every choice made where the seed page and public documents stop lives here,
// so that it can be swapped in one place when PayMate's full specification
// arrives. See .notes/paymate.md for the reasoning behind each.
const (
	// DefaultEncField is the JSON member that carries the base64 ciphertext
	// of a request body and of an answer: {"encData":"<base64>"}. The newer
	// public document names it so; Config.EncField can change it.
	DefaultEncField = "encData"

	// servicePath is the WCF REST layout: <base>/PMXClients.svc/PMXClients/<Method>.
	servicePath = "/PMXClients.svc/PMXClients/"

	// Header names. The seed calls the first one BusinessIdentification, a
	// newer document MerchantIdentification; the sandbox accepts both and the
	// client sends whichever Config.BusinessHeader names.
	HeaderBusiness  = "BusinessIdentification"
	HeaderMerchant  = "MerchantIdentification"
	HeaderTerminal  = "TerminalIdentification"
	HeaderXpressID  = "XpressID"
	HeaderUserEmail = "UserEmail"

	// maxHeaderIDLen: the seed's header table says 20 characters while its
	// signup text promises "32 digit alphanumeric" ids. Accept up to 32.
	maxHeaderIDLen = 32

	// Plain (unencrypted) answers. When the sandbox cannot establish which
	// business is calling (101/103/120/129/192) or cannot decrypt the body
	// (102/105), it answers with the plain envelope, because the caller may not
	// hold the key it would encrypt with. The client accepts a plain envelope
	// only when it carries an error code: a plain "000" is never trusted.

	// codeSuccess is PayMate's "all went well".
	codeSuccess = "000"

	// requestPendingCode is the status a payment request (RequestPayment,
	// RequestPaymentByXpressID) shows while the customer has not paid. The
	// seed's code table has no such entry; its GetRequestPaymentReport sample
	// shows "250"/"Pending", which the sandbox uses.
	requestPendingCode = "250"

	// vendorRequestCode is the status of a vendor's request to be paid
	// (VendorRequestPayment): a payable "Awaiting to pay" in the business's
	// payment report until the business approves it with ApprovePayment.
	vendorRequestCode = "200"

	// bookedCode: BookPayment and BookPaymentsByXpressID create the payment
	// in "Awaiting to approve"; money moves only on ApprovePayment.
	bookedCode = "199"

	// insufficientBalanceCode: the seed has no "insufficient funds" code. An
	// approval that the Xpress Account balance cannot cover is refused with
	// 180 "Amount limit exceeded" and the payment stays in 199.
	insufficientBalanceCode = "180"

	// duplicateContactCode: AddContact with a ReferenceCode that another
	// contact already has is refused with 123 "Invalid Company Code" (the
	// client maps 123 to providers.ErrDuplicate). Contacts without a
	// ReferenceCode are never considered duplicates.
	duplicateContactCode = "123"

	// maxAmountPaise is decimal(9,2): at most seven integer digits.
	maxAmountPaise = 9_999_999_99
	// instantLimitPaise: IMPS ("Instant") carries at most ₹5,00,000; above it
	// the booking is refused with 180 "Amount limit exceeded".
	instantLimitPaise = 5_00_000_00

	// bookByXpressIDOrderLen: the seed's BookPaymentsByXpressID table limits
	// OrderID to 10 characters (20 everywhere else). Paydesk payout ids used
	// with a ContactRef must fit.
	bookByXpressIDOrderLen = 10

	// rejectReasonLen: ApprovePayment's Reason is at most 60 characters; the
	// adapter cuts longer remarks rather than have the rejection refused.
	rejectReasonLen = 60

	// requestSenderNameLen: RequestPayment's SenderName is at most 30
	// characters; the adapter cuts a longer payer name to fit.
	requestSenderNameLen = 30
)

// Wire date layouts. Request filters use DD/MM/YYYY; the payment report writes
// "24-04-2018 14:45:21" and the request report "26/04/2018 18:27:55".
const (
	layoutFilterDate  = "02/01/2006"
	layoutPaymentDate = "02-01-2006 15:04:05"
	layoutRequestDate = "02/01/2006 15:04:05"
)

// ist is India Standard Time, the zone of every PayMate date. A fixed zone
// avoids depending on the host's tzdata.
var ist = time.FixedZone("IST", 5*3600+1800)

// Sandbox decisions.
const (
	// SandboxFailAccount: a payment to this account goes 202 → 211 → 204
	// (failed at the bank); the debit is refunded.
	SandboxFailAccount = "999000000204"
	// SandboxReturnAccount: a payment to this account is paid (231) and then
	// returned by the beneficiary bank (214); the debit is refunded.
	SandboxReturnAccount = "999000000214"
	// SandboxScheduledAccount: a payment to this account waits in 215
	// "Scheduled for next working day" for one step before going on.
	SandboxScheduledAccount = "999000000215"

	// defaultCommissionPaise is PayMate's fee per executed payment (the seed's
	// report sample shows Commission 10.00 and ServiceTax 1.80 = 18%).
	defaultCommissionPaise = 10_00
	serviceTaxPercent      = 18

	defaultStep       = 2 * time.Second
	defaultRequestTTL = 7 * 24 * time.Hour
	// defaultOpeningBalancePaise matches the seed's balance sample, 6000070.20.
	defaultOpeningBalancePaise = 6000070_20
	// defaultVANIFSC is the IFSC the seed's samples give virtual accounts.
	defaultVANIFSC = "CITI0100000"
)

// Demo credentials shared by NewSandbox's defaults and DemoConfig. They are
// not secrets: the sandbox is a local stand-in.
const (
	DemoBusinessID = "PMXDEMOBUSINESS0000000000000001A"
	DemoTerminalID = "PMXDEMOTERMINAL0000000000000001A"
	DemoXpressID   = "LEGM000001"
	// DemoKey is the 32 UTF-8 bytes used as the AES-256 key.
	DemoKey = "PaydeskPayMateSandboxAESKey32byt"
	// DemoIV is the 16 UTF-8 bytes used as the CBC IV.
	DemoIV = "PaydeskPMXIV0001"
	// DemoMakerEmail may book but not approve (104 on ApprovePayment).
	DemoMakerEmail = "maker@demo.paydesk.in"
	// DemoViewerEmail may only read (104 on every write).
	DemoViewerEmail = "viewer@demo.paydesk.in"
)

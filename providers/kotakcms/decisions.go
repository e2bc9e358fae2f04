package kotakcms

import "time"

// Every choice made where Kotak's public facts stop lives here, so it can be
// swapped when the full CMS specification arrives. The wire facts themselves
// (paths, namespaces, field names, status codes) are in wire.go and codes.go.

// Paths of the bank's API gateway.
const (
	PathToken     = "/auth/oauth/v2/token" // public
	PathPay       = "/v1/cms/pay"          // public
	PathInquiry   = "/v1/cms/rev"          // public ("Reversal" in Kotak's naming)
	PathPending   = "/v1/cms/pending"      // decision: no public wire format
	PathAuthorize = "/v1/cms/authorize"    // decision: no public wire format
)

// Content types. The XML calls keep application/xml even when the body is the
// encrypted base64 text, as the public integrations do.
const (
	ContentXML  = "application/xml"
	ContentJSON = "application/json"
)

const (
	// Decision: bodies of all four CMS calls, requests and answers, are
	// encrypted with Kotak's AES scheme (internal/kotak.Cipher) unless
	// Config.Plaintext is set. Public integrations encrypt the XML; we
	// extend it to the JSON approval calls so one key protects everything.
	// Decision: when Config.EncryptionKey is empty the client secret is the
	// key, as the public integrations do.

	// Decision: the status inquiry's Msg_Id carries our InstRefNo (the
	// Paydesk payout id), so a payout's status can be asked without
	// remembering which MessageId carried it. Rev_Detail is per instrument.

	// Decision: MessageId = "PD" + 18 hex chars of SHA-256(kind|ref|attempt):
	// 20 chars, the schema's maximum, deterministic for a given payout and
	// attempt. The adapter counts attempts per payout; a 002 (MessageId
	// already used, e.g. after a restart reset the counter) moves to the
	// next attempt — safe, because 002 refuses the whole request and the
	// InstRefNo guard stops any double payment.
	messageIDPrefix = "PD"
	// maxMessageIDAttempts bounds how many 002 answers the adapter skips.
	maxMessageIDAttempts = 16

	// Decision: per-instrument InstStatusCd of an accepted instrument is
	// "007" (instrument validated) with the instrument now in PA; rejected
	// ones carry "006" with the reason, "004" for a repeat inside the same
	// request. A repeat of an InstRefNo the bank already holds is "006" with
	// a remark starting "Duplicate" — the client recognises it by that word.
	instAccepted = "007"

	// Decision: the request header's StatusCd is "000" when every
	// instrument was accepted, "005" when some were, "009" when none were.
	// XSD-level faults (unreadable XML, wrong namespace, missing or
	// over-long fields, TxnAmnt/PaymentDt syntax, unknown PayMode) are
	// "001" for the whole request and do not use up the MessageId; business
	// rules (IFSC shape, rail limits, debit account, value date, duplicate)
	// reject one instrument with "006".

	// Decision: an inquiry for an id the bank does not hold answers a
	// Rev_Detail with empty Status_Code and Status_Desc "Data Not Found";
	// request-level faults of the inquiry answer one Rev_Detail whose
	// Msg_Id is the Req_Id and whose Status_Code is the 3-digit header code.
	descNotFound   = "Data Not Found"
	descInProgress = "Transaction is in Progress"

	// Decision: per-item StatusCd of /v1/cms/authorize is "000" when the
	// action was applied or had already been applied (approving an approved
	// item is a no-op and never executes twice), "006" when refused, with
	// the remark naming why ("Data Not Found" for an unknown InstRefNo).
	authDone    = "000"
	authRefused = "006"

	// Limits per payment rail (public: RTGS minimum ₹2,00,000, IMPS maximum
	// ₹5,00,000 per transaction). Decision: NEFT and IFT have no upper limit
	// in the sandbox beyond the balance.
	rtgsMinPaise int64 = 2_00_000_00
	impsMaxPaise int64 = 5_00_000_00

	// Decision: sandbox magic — a beneficiary account number ending in
	// "9999" is returned by the beneficiary bank: the instrument goes
	// PS → C → CF and the debit is reversed on the balance (the execution
	// stays in the ledger: money did leave).
	returnedAcctSuffix = "9999"

	// Decision: a value date (PaymentDt) may not be in the past (IST) nor
	// more than 30 days ahead; future-dated instruments are not warehoused
	// in the sandbox — they execute when approved.
	maxForwardDays = 30

	// Decision: at most 1000 instruments per payment request, 100 Msg_Ids
	// per inquiry and 1000 InstRefNos per authorisation.
	maxInstruments = 1000
	maxInquiryIDs  = 100
	maxAuthorize   = 1000
)

// Field limits (providers.md §1; BeneEmail, BeneMb and PaymentRef limits are
// decisions). One public schema version caps InstRefNo at 20 characters; we
// follow providers.md's 100.
const (
	maxMessageID  = 20
	maxMsgSource  = 20
	maxClientCode = 10
	maxBatchRef   = 100
	maxInstRefNo  = 100
	maxProdCode   = 20
	maxAccountNo  = 20
	maxDrDesc     = 140
	maxBeneAcctNo = 20
	maxBeneName   = 200
	maxBeneCode   = 50
	maxBeneEmail  = 100
	maxBeneMb     = 15
	maxPaymentRef = 50
	maxReqID      = 50
	maxRemarks    = 200
)

// Sandbox defaults (DefaultSandboxConfig / DemoConfig).
const (
	DemoClientID      = "paydesk-cms-demo"
	DemoClientSecret  = "Kotak#CMS#Sandbox#Secret#2026#32" // 32 chars: also the AES-256 key
	DemoClientCode    = "PAYDESK01"
	DemoMsgSource     = "PAYDESK"
	DemoDebitAccount  = "9512345678"
	DemoProductCode   = "VPAY"
	demoOpeningPaise  = 50_00_00_000_00 // ₹50 crore
	defaultTokenTTL   = time.Hour
	defaultPendingFor = 2 * time.Second // PS → C
	defaultInProcess  = 5 * time.Second // C → U
)

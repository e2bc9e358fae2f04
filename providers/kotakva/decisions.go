package kotakva

import "time"

// Every choice made where public facts stop. Kotak publishes only the seed's
// description of its virtual-account (e-collect) services, so the whole wire
// format is ours (providers.md §2); field names live in wire.go, codes in
// codes.go, the rest here.

// Paths. Same gateway and OAuth as Kotak CMS.
const (
	PathToken        = "/auth/oauth/v2/token"
	PathCreate       = "/v1/va/create"
	PathModify       = "/v1/va/modify"
	PathDelete       = "/v1/va/delete"
	PathTransactions = "/v1/va/transactions"
	PathAck          = "/v1/va/transactions/ack"
	PathRefund       = "/v1/va/refund"
	PathRefundStatus = "/v1/va/refund/status" // decision: refunds are inquired like CMS payments
)

// ContentJSON is the content type of every call, also when the body is the
// encrypted base64 text.
const ContentJSON = "application/json"

const (
	// Decision: bodies are encrypted with Kotak's AES scheme (as CMS) unless
	// Plaintext is set; an empty EncryptionKey means the client secret.

	// Decision: a virtual account number is the bank-allotted Prefix (8
	// digits) followed by the client's Suffix (1–12 upper-case letters or
	// digits), at most 20 characters. The client sends the Suffix; the bank
	// answers with the full number.
	maxSuffix = 12

	// Decision: deleted numbers stay reserved — a late credit must never
	// reach a new holder — so creating one again is refused as a duplicate.
	// Deleting an already deleted account is not an error (a re-sent delete
	// after a lost answer must not fail).

	// Decision: 1–100 accounts per create/modify/delete request.
	maxAccounts = 100

	// BatchSize is how many credits one fetch returns (seed: "batch of 100
	// records").
	BatchSize = 100

	// Decision: an acknowledgement must name the outstanding BatchId and
	// exactly its TxnRefs, or it is refused (201 unknown batch, 202 not the
	// batch's records). Re-acknowledging a batch already acknowledged with
	// the same TxnRefs answers success, so the client may retry an ack
	// whose answer was lost; the bank never moves past records it has not
	// been told were received.

	// Decision: at most one refund per credit (TxnRef), whole or partial.
	// TxnRef is thus the refund's idempotency key: a second request for
	// the same credit is refused with 302 and the existing RefundRef. The
	// refund status inquiry takes RefundRef or TxnRef, so a refund whose
	// answer was lost can still be found.

	// Decision: refund lifecycle INITIATED (accepted, money debited and
	// recorded in the ledger) → IN_PROCESS → PROCESSED with a UTR, or
	// FAILED when the remitter's account refuses it (sandbox: remitter
	// account ending "9999"); RETURNED only through the control surface.
	// A refund travels back on the credit's rail (UPI as IMPS; RTGS as
	// NEFT when the refund is under ₹2,00,000).
	failingRemitterSuffix = "9999"

	// Decision: field limits of our JSON (bank-like): Name 1–100, Purpose
	// ≤50, Email ≤100, Mobile 10 digits starting 6–9, ExpiresOn YYYY-MM-DD
	// not in the past, ClientName 1–100, Reason 1–100, TxnRef 1–30,
	// RequestId-free (the bodies carry no message id).
	maxName       = 100
	maxPurpose    = 50
	maxEmail      = 100
	maxClientName = 100
	maxReason     = 100
	maxTxnRef     = 30
	maxClientCode = 10
	maxAccountNo  = 20
	maxBatchID    = 30
)

// Sandbox defaults (DefaultSandboxConfig / DemoConfig).
const (
	DemoClientID       = "paydesk-va-demo"
	DemoClientSecret   = "Kotak#eCollect#Sandbox#Key#2026!" // 32 chars: also the AES-256 key
	DemoClientCode     = "PAYDESK01"
	DemoClientName     = "Paydesk Demo Pvt Ltd"
	DemoPhysicalAcct   = "9512345678"
	DemoPrefix         = "90909010"
	defaultTokenTTL    = time.Hour
	defaultRefundSend  = 2 * time.Second
	defaultRefundFinal = 5 * time.Second
	// maxScheduledBurst caps the credits a scheduled clock jump can create
	// in one go.
	maxScheduledBurst = 1000
)

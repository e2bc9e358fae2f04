// Package providers is the domain-facing side of the provider layer: the small
// interfaces Paydesk's background workers call, the internal payout states every
// provider is mapped onto, and the error kinds a caller must tell apart.
//
// Each provider lives in its own sub-package (providers/kotakcms, …) with a
// client that speaks the provider's wire protocol and a sandbox that behaves
// like it. Nothing here imports those packages; they import this one.
package providers

import (
	"context"
	"errors"
	"time"
)

// PayoutState is Paydesk's own lifecycle of a payout, whatever the provider.
type PayoutState string

// The internal payout states (see shared/providers.md). Unknown is a real
// state: a call whose outcome could not be learnt stays Unknown until a status
// inquiry resolves it, and is never re-sent blindly.
const (
	StateDraft           PayoutState = "draft"
	StatePendingApproval PayoutState = "pending_approval"
	StateApproved        PayoutState = "approved"
	StateQueued          PayoutState = "queued"
	StateProcessing      PayoutState = "processing"
	StateProcessed       PayoutState = "processed"
	StateRejected        PayoutState = "rejected"
	StateCancelled       PayoutState = "cancelled"
	StateFailed          PayoutState = "failed"
	StateReversed        PayoutState = "reversed"
	StateUnknown         PayoutState = "unknown"
)

// Final reports whether no further provider event can change the state.
func (s PayoutState) Final() bool {
	switch s {
	case StateProcessed, StateRejected, StateCancelled, StateFailed, StateReversed:
		return true
	}
	return false
}

// Rail is the interbank rail a payout travels on.
type Rail string

// Rails Paydesk can send a payout on. IFT is a transfer within the debit bank.
const (
	RailNEFT Rail = "NEFT"
	RailRTGS Rail = "RTGS"
	RailIMPS Rail = "IMPS"
	RailIFT  Rail = "IFT"
)

// Errors a caller must tell apart. Provider packages wrap these (errors.Is
// works) inside their own typed errors that carry the provider's code.
var (
	// ErrOutcomeUnknown: the request may or may not have been executed (timeout
	// after send, connection dropped, unreadable answer). Ask for status before
	// anything else; never re-send.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrTransient: the provider refused before executing (a 503 or 429 from
	// its front door, a documented "busy, not processed" code). Safe to retry
	// the same request later. A 5xx that may have executed is ErrOutcomeUnknown.
	ErrTransient = errors.New("transient provider error")
	// ErrDuplicate: the provider already has a request with our idempotency
	// key. The original's status tells what happened.
	ErrDuplicate = errors.New("duplicate request")
	// ErrRejected: the provider refused the request for good (validation,
	// business rule). Retrying the same request cannot succeed.
	ErrRejected = errors.New("rejected by provider")
	// ErrNotFound: the provider does not know the item asked about.
	ErrNotFound = errors.New("not found at provider")
	// ErrAuth: credentials, token, signature or encryption material refused.
	ErrAuth = errors.New("provider authentication failed")
	// ErrInsufficientFunds comes beside ErrRejected when an approval is
	// refused because the debit account does not hold enough: the provider
	// keeps the payout waiting, and approving it again once the account is
	// funded goes through.
	ErrInsufficientFunds = errors.New("insufficient funds at provider")
)

// CodedError is a provider's answer carrying its own code and words.
type CodedError interface {
	error
	ProviderCode() string
	ProviderMessage() string
}

// CodeOf returns the provider's code and words err carries, if any.
func CodeOf(err error) (code, message string) {
	var c CodedError
	if errors.As(err, &c) {
		return c.ProviderCode(), c.ProviderMessage()
	}
	return "", ""
}

// MaxContactPayoutIDLen is the longest payout id a provider takes when it
// pays a registered contact (PayMate's BookPaymentsByXpressID limits OrderID
// to 10 characters, 20 elsewhere). Paydesk gives payouts to contacts ids
// that fit.
const MaxContactPayoutIDLen = 10

// Payout is one payment Paydesk asks a bank to make. ID is Paydesk's own id and
// doubles as the idempotency key (Kotak InstRefNo, PayMate OrderID).
type Payout struct {
	ID               string
	AmountPaise      int64
	Rail             Rail
	BeneficiaryName  string
	BeneficiaryAcct  string
	BeneficiaryIFSC  string
	BeneficiaryEmail string
	BeneficiaryPhone string
	// ContactRef is the provider's id for a registered beneficiary (PayMate
	// ContactXpressID); when set, providers that can pay a contact do so,
	// provided ID is at most MaxContactPayoutIDLen long. Otherwise the
	// payout is booked with the beneficiary's details written out.
	ContactRef string
	Purpose    string
	ValueDate  time.Time // zero: today
}

// PayoutStatus is what a provider says about one payout.
type PayoutStatus struct {
	ID           string
	State        PayoutState
	ProviderCode string // the provider's own status code, shown on the timeline
	Message      string // the provider's own words
	UTR          string
	ProviderRef  string // the provider's id for the payout, if it has one
	CheckedAt    time.Time
}

// PendingPayout is a payout waiting for approval at the bank itself (made in
// Paydesk or on the bank's portal).
type PendingPayout struct {
	Ref             string // opaque: pass back to Authorise
	ID              string // the payer's reference (InstRefNo / OrderID)
	AmountPaise     int64
	Rail            Rail
	BeneficiaryName string
	BeneficiaryAcct string
	BeneficiaryIFSC string
	Purpose         string
	CreatedAt       time.Time
}

// Decision is an authoriser's answer to a bank-side pending payout.
type Decision string

// Decisions.
const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
)

// Payouts sends money out of a debit account.
type Payouts interface {
	// InitiatePayout books the payout. An error wrapping ErrOutcomeUnknown
	// means: call PayoutStatus before anything else.
	InitiatePayout(ctx context.Context, p Payout) (PayoutStatus, error)
	// PayoutStatus asks the provider about a payout by Paydesk's id.
	PayoutStatus(ctx context.Context, id string) (PayoutStatus, error)
	// PendingApprovals lists payouts awaiting authorisation at the provider.
	PendingApprovals(ctx context.Context) ([]PendingPayout, error)
	// Authorise approves or rejects bank-side pending payouts.
	Authorise(ctx context.Context, refs []string, d Decision, remarks string) error
}

// Balance is a debit account's balance as the provider last reported it.
type Balance struct {
	Account        string
	AvailablePaise int64
	AsOf           time.Time
}

// Balances reports the balance of the provider's debit account.
type Balances interface {
	Balance(ctx context.Context) (Balance, error)
}

// Contact is a vendor or customer registered at the provider.
type Contact struct {
	ReferenceCode string // Paydesk's id; the dedupe key for imports
	CompanyName   string
	FirstName     string
	LastName      string
	Email         string
	Mobile        string
	AccountNo     string
	IFSC          string
	GSTIN         string
	IsVendor      bool
	// Filled in by the provider.
	ProviderID       string // PayMate ContactXpressID
	VirtualAccountNo string
	VirtualIFSC      string
}

// Contacts registers and lists contacts at the provider.
type Contacts interface {
	AddContact(ctx context.Context, c Contact) (Contact, error)
	ListContacts(ctx context.Context) ([]Contact, error)
}

// CollectionState is the lifecycle of a request for payment.
type CollectionState string

// Collection states.
const (
	CollectionPending   CollectionState = "pending"
	CollectionPaid      CollectionState = "paid"
	CollectionExpired   CollectionState = "expired"
	CollectionCancelled CollectionState = "cancelled"
	CollectionFailed    CollectionState = "failed"
)

// Final reports whether the collection request can still change.
func (s CollectionState) Final() bool { return s != CollectionPending }

// CollectionRequest asks someone to pay us. ContactRef set: a registered
// contact (PayMate RequestPaymentByXpressID); empty: anyone, by name, email
// and mobile (RequestPayment).
type CollectionRequest struct {
	ID          string // Paydesk's id, the idempotency key
	ContactRef  string
	Name        string
	Email       string
	Mobile      string
	AmountPaise int64
	Purpose     string
	DueDate     time.Time
}

// CollectionStatus is what the provider says about a collection request.
type CollectionStatus struct {
	ID           string
	ProviderRef  string
	State        CollectionState
	ProviderCode string
	Message      string
	PaidAt       time.Time
	UTR          string
}

// VendorRequest is a request to pay raised by a vendor on the provider's side.
type VendorRequest struct {
	ProviderRef string
	ContactRef  string
	VendorName  string
	AmountPaise int64
	Purpose     string
	InvoiceNo   string
	RequestedAt time.Time
}

// Collections asks customers to pay, and surfaces vendors asking to be paid.
type Collections interface {
	RequestPayment(ctx context.Context, r CollectionRequest) (CollectionStatus, error)
	CollectionStatus(ctx context.Context, id string) (CollectionStatus, error)
	VendorRequests(ctx context.Context) ([]VendorRequest, error)
}

// VirtualAccount is a collection account number given to one payer.
type VirtualAccount struct {
	Number    string // bank prefix + client suffix
	Suffix    string
	Name      string
	Purpose   string
	Email     string
	Mobile    string
	ExpiresOn time.Time // zero: never
}

// VAResult is the provider's answer for one account of a batch.
type VAResult struct {
	Number string
	OK     bool
	Code   string
	Reason string
}

// Credit is money a payer sent to a virtual account.
type Credit struct {
	TxnRef          string
	UTR             string
	VirtualAccount  string
	AmountPaise     int64
	RemitterName    string
	RemitterAccount string
	RemitterIFSC    string
	Mode            Rail
	CreditedAt      time.Time
}

// CreditBatch is one batch of unacknowledged credits. The provider repeats it
// until it is acknowledged.
type CreditBatch struct {
	BatchID string
	Credits []Credit
}

// Refund sends a received credit back to its remitter. ID is Paydesk's
// refund id and the idempotency key; a credit may be refunded in parts, each
// with its own ID, up to its amount.
type Refund struct {
	ID          string
	TxnRef      string
	AmountPaise int64 // 0: the whole credit (what is left of it)
	Reason      string
}

// RefundStatus is the provider's answer about a refund.
type RefundStatus struct {
	RefundRef    string
	ID           string // the ID the refund was sent with, if any
	State        PayoutState
	ProviderCode string
	Message      string
	UTR          string
}

// VirtualAccounts manages virtual accounts and receives their credits.
type VirtualAccounts interface {
	CreateVirtualAccounts(ctx context.Context, accts []VirtualAccount) ([]VAResult, error)
	ModifyVirtualAccounts(ctx context.Context, accts []VirtualAccount) ([]VAResult, error)
	DeleteVirtualAccounts(ctx context.Context, numbers []string) ([]VAResult, error)
	// FetchCredits returns the oldest unacknowledged batch (empty when none).
	FetchCredits(ctx context.Context) (CreditBatch, error)
	AcknowledgeCredits(ctx context.Context, b CreditBatch) error
	RefundCredit(ctx context.Context, r Refund) (RefundStatus, error)
	RefundStatus(ctx context.Context, refundRef string) (RefundStatus, error)
}

// TemplateSummary names an invoice template made in the provider's console.
type TemplateSummary struct {
	ID   string
	Name string
}

// Template field types: how a value is typed and checked.
const (
	FieldText   = "text"
	FieldNumber = "number" // a whole number
	FieldDate   = "date"   // YYYY-MM-DD
	FieldEmail  = "email"
)

// TemplateField is one field of an invoice template, with the provider's
// rules for its value.
type TemplateField struct {
	Name  string
	Label string
	Type  string // FieldText, FieldNumber, FieldDate or FieldEmail
	// Required: the request must fill it (mandatory at the provider and no
	// default the provider applies).
	Required bool
	Default  string
	// UseDefault: left empty, the provider fills Default.
	UseDefault bool
	// MaxLength is the longest value the provider takes (characters).
	MaxLength int
}

// Template is an invoice template with its fields and amount rules.
type Template struct {
	TemplateSummary
	Currency string
	Fields   []TemplateField
	// MinAmountPaise and MaxAmountPaise bound an invoice's amount (0: the
	// provider's general limits only).
	MinAmountPaise int64
	MaxAmountPaise int64
}

// How a payment link reaches the customer.
const (
	SendEmail    = "email"
	SendSMS      = "sms"
	SendEmailSMS = "email_sms"
	SendNone     = "none" // the merchant shows or shares the link itself
)

// LinkRequest creates an invoice with a payment link from a template.
type LinkRequest struct {
	ID            string // Paydesk's id: the merchant transaction id
	TemplateID    string
	AmountPaise   int64
	CustomerName  string
	CustomerEmail string
	CustomerPhone string
	SendBy        string // SendEmail, SendSMS, SendEmailSMS or SendNone
	Fields        map[string]string
	DueDate       time.Time
}

// Link is a created invoice and its payment link.
type Link struct {
	ID           string
	InvoiceNo    string
	URL          string
	AmountPaise  int64
	ProviderCode string
	Message      string
}

// Link states the provider reports.
const (
	LinkPaid      = "paid"
	LinkExpired   = "expired"
	LinkCancelled = "cancelled"
)

// LinkEvent is what the provider tells the merchant about an invoice (its
// notification to the merchant's URL): paid or expired.
type LinkEvent struct {
	// NotificationID is the provider's id of the event, the same on every
	// retry of its delivery.
	NotificationID string
	LinkID         string // the merchant transaction id (Paydesk's id)
	InvoiceNo      string
	Status         string // LinkPaid or LinkExpired
	AmountPaise    int64
	BankRef        string
	At             time.Time // when it was paid or expired
	// SentAt is when this delivery was signed; a receiver refuses one too
	// old (a replay).
	SentAt time.Time
}

// PaymentLinks creates and manages invoice payment links.
type PaymentLinks interface {
	Templates(ctx context.Context) ([]TemplateSummary, error)
	Template(ctx context.Context, id string) (Template, error)
	// CreateLink creates the invoice for r.ID. It is idempotent by r.ID: a
	// second call returns the invoice the first made, so after
	// ErrOutcomeUnknown the caller calls it again (the provider has no
	// status inquiry; its duplicate guard answers instead).
	CreateLink(ctx context.Context, r LinkRequest) (Link, error)
	ResendLink(ctx context.Context, invoiceNo string) error
	CancelLink(ctx context.Context, invoiceNo string) error
	// ParseNotification verifies a notification's signature and reads it.
	// A forged or tampered one is an error wrapping ErrAuth.
	ParseNotification(body []byte) (LinkEvent, error)
}

// Currency is one currency a payment gateway accepts.
type Currency struct {
	ID   string
	Code string
	Name string
}

// PaymentMethod is one way to pay in a currency.
type PaymentMethod struct {
	ID         string
	CurrencyID string
	Name       string
}

// GatewayPayment starts a customer payment through a gateway.
type GatewayPayment struct {
	ID              string // Paydesk's reference number
	CurrencyID      string
	PaymentMethodID string
	AmountPaise     int64 // minor units of the currency
	RedirectURL     string
}

// GatewayTransaction is the gateway's record of one payment.
type GatewayTransaction struct {
	ID                string
	ProviderOrderID   string
	ProviderPaymentID string // the underlying gateway's payment id, once paid
	Reference         string
	CurrencyID        string
	CurrencyCode      string
	PaymentMethodID   string
	AmountPaise       int64
	// Status is a CollectionState (pending, paid, failed, expired);
	// ProviderStatus is the provider's own word for it.
	Status         string
	ProviderStatus string
	Paid           bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// GatewayOrder is what the payer's checkout takes for one transaction.
type GatewayOrder struct {
	TransactionID   string
	ProviderOrderID string
	Gateway         string // the gateway the provider routes the payment to
	Key             string // the gateway's public checkout key
	AmountMinor     int64
	Currency        string
	Reference       string
	// CheckoutURL and UPIIntent are set when the order carries a hosted
	// checkout page or a UPI intent the payer can open or scan.
	CheckoutURL string
	UPIIntent   string
	// Raw is the order object as the provider sent it, for the checkout.
	Raw []byte
}

// GatewayQuery selects one page of a gateway's transactions, newest first.
// From and To (IST days, both or neither) bound the creation date.
type GatewayQuery struct {
	Page     int // from 1
	PageSize int
	From, To time.Time
}

// GatewayPage is one page of transactions and how many match in all.
type GatewayPage struct {
	Transactions []GatewayTransaction
	Total        int
}

// Gateway takes customer payments through a payment engine.
type Gateway interface {
	Currencies(ctx context.Context) ([]Currency, error)
	PaymentMethods(ctx context.Context, currencyID string) ([]PaymentMethod, error)
	// InitiatePayment creates the transaction for p.ID (the reference, the
	// provider's duplicate guard). An error wrapping ErrOutcomeUnknown means:
	// ask TransactionByReference before anything else.
	InitiatePayment(ctx context.Context, p GatewayPayment) (GatewayTransaction, error)
	// ProcessPayment returns the order the payer's checkout takes.
	ProcessPayment(ctx context.Context, id string) (GatewayOrder, error)
	Transaction(ctx context.Context, id string) (GatewayTransaction, error)
	// TransactionByReference finds the transaction made for Paydesk's
	// reference; ok is false when the provider has none.
	TransactionByReference(ctx context.Context, ref string) (t GatewayTransaction, ok bool, err error)
	TransactionsPage(ctx context.Context, q GatewayQuery) (GatewayPage, error)
}

// Capability names one of the interfaces above.
type Capability string

// Capabilities.
const (
	CapPayouts         Capability = "payouts"
	CapBalances        Capability = "balances"
	CapContacts        Capability = "contacts"
	CapCollections     Capability = "collections"
	CapVirtualAccounts Capability = "virtual_accounts"
	CapPaymentLinks    Capability = "payment_links"
	CapGateway         Capability = "gateway"
)

// Provider is one configured provider. It declares its capabilities by the
// interfaces above that it implements.
type Provider interface {
	Name() string
}

// Capabilities lists what p can do.
func Capabilities(p Provider) []Capability {
	var caps []Capability
	if _, ok := p.(Payouts); ok {
		caps = append(caps, CapPayouts)
	}
	if _, ok := p.(Balances); ok {
		caps = append(caps, CapBalances)
	}
	if _, ok := p.(Contacts); ok {
		caps = append(caps, CapContacts)
	}
	if _, ok := p.(Collections); ok {
		caps = append(caps, CapCollections)
	}
	if _, ok := p.(VirtualAccounts); ok {
		caps = append(caps, CapVirtualAccounts)
	}
	if _, ok := p.(PaymentLinks); ok {
		caps = append(caps, CapPaymentLinks)
	}
	if _, ok := p.(Gateway); ok {
		caps = append(caps, CapGateway)
	}
	return caps
}

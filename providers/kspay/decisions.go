package kspay

import (
	"regexp"
	"time"
)

// Every choice made where the seed page (and the public Kalp Studio docs)
// stop lives here, so it can be swapped in one place.

// Paths as the seed gives them, relative to the base URL (…/v1).
const (
	pathGenerateToken     = "/auth/generate-token/" // + appId
	pathGenerateSignature = "/auth/generate-signature/"
	pathRefreshToken      = "/auth/refresh-token"
	pathCurrencies        = "/currencies"
	pathPaymentMethods    = "/payment-methods" // /{currencyId}/payment-methods
	pathInitiate          = "/transaction/initiate"
	pathProcess           = "/transaction/process"
	pathTxnByID           = "/transaction/txnId/" // + txnId
	pathTransactions      = "/transaction"
)

// Header carrying the request signature on initiate and process.
const headerSignature = "x-signature"

// IDs are a prefix plus a nanoid, 12 characters in all; the seed's -17 message
// says "alphanumeric characters following the prefix".
const idLength = 12

// ID prefixes (seed): currency, payment method, transaction, app, user,
// gateway configuration.
const (
	prefixCurrency      = "c_"
	prefixPaymentMethod = "pm_"
	prefixTxn           = "tx_"
	prefixApp           = "ap_"
	prefixUser          = "us_"
	prefixGatewayConfig = "gc_"
)

// Decision: tokens are JWTs (HS256) whose claims carry sub (appId), typ
// ("access" or "refresh"), jti, iat and exp. The client reads exp, unverified,
// only to know when to refresh; when a token is not a readable JWT it falls
// back to these lifetimes.
const (
	fallbackAccessTTL  = 5 * time.Minute
	fallbackRefreshTTL = 24 * time.Hour
)

// Sandbox token lifetimes (decision; "short-lived" per the seed).
const (
	defaultAccessTTL  = 15 * time.Minute
	defaultRefreshTTL = 7 * 24 * time.Hour
)

// Decision: the signature from /auth/generate-signature and sent as
// x-signature is
//
//	<appId>:<unixMillis>:<hex(HMAC-SHA256(secretKey, appId + unixMillis))>
//
// lowercase hex, unixMillis in decimal. It is valid for defaultSignatureTTL
// after unixMillis (and at most signatureSkew ahead of the provider's clock).
// Expired → 11005 "The provided signature has expired" (HTTP 400); not three
// parts, a non-numeric time or not 64 hex digits → 11006 "The format of the
// provided signature is invalid"; right format, wrong HMAC → 9007.
const (
	defaultSignatureTTL = 5 * time.Minute
	signatureSkew       = time.Minute
	// signatureMargin: the client stops using a signature this long before it
	// expires.
	signatureMargin = 30 * time.Second
)

// Decision: amounts travel as JSON numbers written from paise (never via
// float). Like the provider's JavaScript validator, trailing zeros do not
// count as decimals: 345.670 is 345.67; 345.678 is -19.
const maxAmountPaise = 99_999_999_99 // ₹99,99,99,999.99

// Decision: referenceNumber is 1–40 of letters, digits, '-' and '_' (refused
// with the seed's customError, code -17, otherwise). A repeated
// referenceNumber never makes a second transaction: the identical request
// (same currency, payment method and amount) is answered with the existing
// transaction (HTTP 200 instead of 201); a different request reusing it is
// refused with -17 and a message starting "referenceNumber already used".
var reReference = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

const msgReferenceUsed = "referenceNumber already used"

// Decision: the seed's order object carries no payment link. The order is
// read with two optional members, checkoutUrl (a hosted checkout page of the
// gateway, where the payer pays without the NPM package) and upiIntent (a
// upi://pay deep link for UPI methods, shown as a QR code). The sandbox
// serves its hosted checkout at /checkout/txn/{txnId}: a page with "Pay now"
// and "Decline" that completes the payment and sends the payer to
// redirectUrl with the seed's three parameters.
const pathCheckout = "/checkout/txn/"

// Decision: /transaction/process takes {"pe_txnId": "tx_…"} (the name the
// initiate answer uses; "txnId" is accepted too) with x-signature, and
// answers 201 with the order object the NPM checkout package takes.

// Decision: GET /transaction takes page (default 1), limit (default 10, at
// most 100), optional startDate and endDate (YYYY-MM-DD, Indian time, both or
// neither, at most 90 days apart), referenceNumber and status; the result is
// {transactions, total, page, limit}, newest first.
const (
	defaultPageLimit = 10
	maxPageLimit     = 100
	maxDateRangeDays = 90
	dateLayout       = "2006-01-02"
)

// Transaction states. PENDING after initiate; PAID or FAILED when the payer
// finishes at the gateway; EXPIRED (decision) when nobody paid within the
// sandbox's TxnTTL.
const (
	StatusPending = "PENDING"
	StatusPaid    = "PAID"
	StatusFailed  = "FAILED"
	StatusExpired = "EXPIRED"
)

// Redirect query parameters the payer lands with (seed).
const (
	paramPaymentStatus     = "payment_status"
	paramKsPayID           = "kspay_id"
	paramProviderPaymentID = "provider_payment_id"
)

// istZone is where the provider's dates are counted.
var istZone = time.FixedZone("IST", 5*3600+1800)

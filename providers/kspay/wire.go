package kspay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// envelope is every answer: success {status, message, result}, failure
// {status, message, code}. Framework errors of the provider's NestJS stack
// say statusCode instead of status; both are read.
type envelope struct {
	Status     int             `json:"status"`
	StatusCode int             `json:"statusCode,omitempty"`
	Message    json.RawMessage `json:"message"`
	Code       *int            `json:"code,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
}

// message returns the message as text; NestJS validation errors send an
// array of strings.
func (e *envelope) message() string {
	if len(e.Message) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(e.Message, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(e.Message, &list) == nil {
		var b bytes.Buffer
		for i, m := range list {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(m)
		}
		return b.String()
	}
	return string(e.Message)
}

var errNotEnvelope = errors.New("answer is not a KS Pay envelope")

// decodeEnvelope reads one JSON object and refuses trailing data, so a
// truncated or foreign body is never mistaken for an answer.
func decodeEnvelope(body []byte) (*envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var e envelope
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after answer")
	}
	if e.Status == 0 {
		e.Status = e.StatusCode
	}
	if e.Status == 0 && e.Code == nil && len(e.Result) == 0 {
		return nil, errNotEnvelope
	}
	return &e, nil
}

// credentialsBody is the body of generate-token and generate-signature.
type credentialsBody struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

// TokenPair is what generate-token and refresh-token return.
type TokenPair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// Currency is one currency of the seed's /currencies answer.
type Currency struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Code      string `json:"code"`
	Symbol    string `json:"symbol"`
	Type      string `json:"type"`
	UserID    string `json:"userId"`
	IsActive  bool   `json:"isActive"`
	CreatedAt string `json:"createdAt"`
}

// PaymentMethod is one entry of /{currencyId}/payment-methods.
type PaymentMethod struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	IsActive bool   `json:"isActive"`
}

// initiateBody is the body of /transaction/initiate. Amount is a JSON number
// written from paise.
type initiateBody struct {
	CurrencyID      string      `json:"currencyId"`
	PaymentMethodID string      `json:"paymentMethodId"`
	Amount          json.Number `json:"amount"`
	ReferenceNumber string      `json:"referenceNumber"`
	AppID           string      `json:"appId,omitempty"`
	RedirectURL     string      `json:"redirectUrl,omitempty"`
}

// initiateResult is the answer's result.
type initiateResult struct {
	TxnID           string      `json:"pe_txnId"`
	ProviderOrderID string      `json:"providerOrderId"`
	Amount          json.Number `json:"amount"`
	Currency        string      `json:"currency"`
}

// processBody is the body of /transaction/process (decision).
type processBody struct {
	TxnID string `json:"pe_txnId"`
}

// Order is the object /transaction/process answers with, to be handed to the
// KS Pay checkout package. Amount is in minor units, as gateway checkouts
// take it.
type Order struct {
	TxnID           string `json:"pe_txnId"`
	ProviderOrderID string `json:"providerOrderId"`
	Gateway         string `json:"gateway"`
	GatewayConfigID string `json:"gatewayConfigId"`
	Key             string `json:"key"`
	AmountMinor     int64  `json:"amount"`
	Currency        string `json:"currency"`
	ReferenceNumber string `json:"referenceNumber"`
	RedirectURL     string `json:"redirectUrl,omitempty"`
	Status          string `json:"status"`
	// CheckoutURL and UPIIntent (decisions.go) are read when present.
	CheckoutURL string `json:"checkoutUrl,omitempty"`
	UPIIntent   string `json:"upiIntent,omitempty"`
}

// Transaction is the provider's transaction object.
type Transaction struct {
	ID                string `json:"id"`
	ProviderOrderID   string `json:"providerOrderId"`
	ProviderPaymentID string `json:"providerPaymentId,omitempty"`
	CurrencyID        string `json:"currencyId"`
	AppID             string `json:"appId"`
	ReferenceNumber   string `json:"referenceNumber"`
	PaymentMethodID   string `json:"paymentMethodId"`
	GatewayConfigID   string `json:"gatewayConfigId,omitempty"`
	Amount            string `json:"amount"`
	CurrencyCode      string `json:"currencyCode"`
	Status            string `json:"status"`
	ProviderStatus    string `json:"providerStatus"`
	IsPaid            bool   `json:"isPaid"`
	RedirectURL       string `json:"redirectUrl,omitempty"`
	CreatedAt         string `json:"createdAt"`
	UpdatedAt         string `json:"updatedAt"`
}

// TransactionPage is one page of GET /transaction.
type TransactionPage struct {
	Transactions []Transaction `json:"transactions"`
	Total        int           `json:"total"`
	Page         int           `json:"page"`
	Limit        int           `json:"limit"`
}

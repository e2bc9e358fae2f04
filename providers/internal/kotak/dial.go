package kotak

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ConnOptions is how a Kotak client reaches the gateway: the part of the CMS
// and VA configurations that the two share.
type ConnOptions struct {
	BaseURL      string
	ClientID     string
	ClientSecret string
	// EncryptionKey is the AES key as a 32-character secret; with
	// EncryptionKeyBase64 it is base64 of the raw key. Empty: the client
	// secret. Plaintext turns body encryption off.
	EncryptionKey       string
	EncryptionKeyBase64 bool
	Plaintext           bool

	HTTPClient         *http.Client  // nil: a client with Timeout
	Timeout            time.Duration // per request when HTTPClient is nil; zero: 30 s
	Retries            int           // idempotent calls; zero: 2, negative: none
	Backoff            time.Duration
	TokenRefreshBefore time.Duration
}

// Check reports a missing gateway address or credential. Clients call it
// before their own checks so that a config missing both reports this first.
func (o ConnOptions) Check(provider string) error {
	if o.BaseURL == "" || o.ClientID == "" || o.ClientSecret == "" {
		return fmt.Errorf("%s: BaseURL, ClientID and ClientSecret are required", provider)
	}
	return nil
}

// Dial checks o and builds the token source and the API on top of it;
// errors carry provider as their prefix.
func Dial(provider string, o ConnOptions) (*API, *TokenSource, error) {
	if err := o.Check(provider); err != nil {
		return nil, nil, err
	}
	hc := o.HTTPClient
	if hc == nil {
		to := o.Timeout
		if to <= 0 {
			to = 30 * time.Second
		}
		hc = &http.Client{Timeout: to}
	}
	cipher, err := o.cipher()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", provider, err)
	}
	base := strings.TrimRight(o.BaseURL, "/")
	ts := &TokenSource{
		Provider: provider, URL: base + TokenPath, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		HTTP: hc, RefreshBefore: o.TokenRefreshBefore, Retries: o.Retries, Backoff: o.Backoff,
	}
	api := &API{
		Provider: provider, BaseURL: base, HTTP: hc, Tokens: ts, Cipher: cipher,
		Retries: o.Retries, Backoff: o.Backoff,
	}
	return api, ts, nil
}

func (o ConnOptions) cipher() (*Cipher, error) {
	return bodyCipher(o.Plaintext, o.EncryptionKey, o.ClientSecret, o.EncryptionKeyBase64)
}

// bodyCipher is the key rule clients and sandboxes share: no cipher in plain
// text mode, else the configured key, else the client secret.
func bodyCipher(plaintext bool, key, secret string, base64 bool) (*Cipher, error) {
	if plaintext {
		return nil, nil
	}
	if key == "" {
		key = secret
	}
	return ParseKey(key, base64)
}

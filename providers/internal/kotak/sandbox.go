package kotak

import (
	"fmt"
	"net/http"
	"time"

	"paydesk/providers/sandboxkit"
)

// SandboxAuth is what a Kotak sandbox holds clients to: the OAuth2
// credentials and the body key, with the same key rule as the clients.
type SandboxAuth struct {
	ClientID            string
	ClientSecret        string
	EncryptionKey       string // empty: the client secret
	EncryptionKeyBase64 bool
	Plaintext           bool
	TokenTTL            time.Duration
	Now                 func() time.Time // nil: time.Now
}

// SandboxBase is what the CMS and VA sandboxes share on top of
// sandboxkit.Base: the gateway in front of their API routes (token issuer,
// bearer check, body encryption) and the control route that expires tokens.
// Embed it, add routes with Route, then call Mount.
type SandboxBase struct {
	sandboxkit.Base
	issuer *Issuer
	wire   Wire
	api    *http.ServeMux
}

// NewSandboxBase returns the gateway for provider's sandbox, with the token
// route in place. It panics on an unusable key, which is a programming error
// in the caller's configuration.
func NewSandboxBase(provider string, a SandboxAuth) SandboxBase {
	c, err := bodyCipher(a.Plaintext, a.EncryptionKey, a.ClientSecret, a.EncryptionKeyBase64)
	if err != nil {
		panic(fmt.Sprintf("%s sandbox: %v", provider, err))
	}
	b := SandboxBase{
		Base:   sandboxkit.NewBase(provider),
		issuer: &Issuer{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TTL: a.TokenTTL, Now: a.Now},
		wire:   Wire{Cipher: c},
		api:    http.NewServeMux(),
	}
	b.api.Handle("POST "+TokenPath, b.issuer)
	return b
}

// Route serves POST path to bearers of a valid token: the body (at most limit
// bytes) is decrypted for answer, and what answer returns is encrypted and
// sent as contentType. An answer that fails to encode gets a 500.
func (b *SandboxBase) Route(path, contentType string, limit int64, answer func(body []byte) ([]byte, error)) {
	b.api.Handle("POST "+path, b.issuer.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := b.wire.Read(w, r, limit)
		if !ok {
			return
		}
		out, err := answer(body)
		if err != nil {
			http.Error(w, "encoding answer", http.StatusInternalServerError)
			return
		}
		b.wire.Write(w, contentType, out)
	})))
}

// Mount puts the routes behind the fault injector and returns the control
// mux, holding the shared routes and POST /tokens/expire, for the sandbox to
// add its own.
func (b *SandboxBase) Mount() *http.ServeMux {
	ctl := b.Attach(b.api)
	ctl.HandleFunc("POST /tokens/expire", func(w http.ResponseWriter, r *http.Request) {
		b.issuer.ExpireAll()
		w.WriteHeader(http.StatusNoContent)
	})
	return ctl
}

// Faults returns the fault injector of the API routes.
func (b *SandboxBase) Faults() *sandboxkit.Injector { return b.Injector() }

// Issuer returns the token issuer (tests expire tokens through it).
func (b *SandboxBase) Issuer() *Issuer { return b.issuer }

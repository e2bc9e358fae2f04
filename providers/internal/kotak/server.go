package kotak

import (
	"io"
	"net/http"

	"paydesk/providers/sandboxkit"
)

// Wire is the sandbox side of the body encryption: it decrypts what clients
// send and encrypts what the sandbox answers. A nil Cipher means plain text.
type Wire struct {
	Cipher *Cipher
}

// Read returns the decrypted request body. On failure it has already answered
// (413 for oversize bodies, 400 invalid_encryption for bodies the key cannot
// open — the gateway refuses those before the API sees them) and returns
// false.
func (wr Wire) Read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		sandboxkit.WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]string{
			"error": "invalid_request", "error_description": "body too large or unreadable",
		})
		return nil, false
	}
	if wr.Cipher == nil {
		return raw, true
	}
	plain, err := wr.Cipher.Decrypt(raw)
	if err != nil {
		sandboxkit.WriteJSON(w, http.StatusBadRequest, map[string]string{
			"error": DecryptErrorCode, "error_description": "request body could not be decrypted with the configured key",
		})
		return nil, false
	}
	return plain, true
}

// Write answers 200 with plain encrypted (when a Cipher is set).
func (wr Wire) Write(w http.ResponseWriter, contentType string, plain []byte) {
	body := plain
	if wr.Cipher != nil {
		enc, err := wr.Cipher.Encrypt(plain)
		if err != nil {
			http.Error(w, "encryption failed", http.StatusInternalServerError)
			return
		}
		body = []byte(enc)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

package linkpay

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
)

// Sign is the provider's signature: HMAC-SHA512 of msg under key (both UTF-8),
// written as lowercase hex.
func Sign(key, msg string) string {
	m := hmac.New(sha512.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of msg under key. Hex case does
// not matter (the provider's own samples mix both); the comparison is
// constant-time.
func Verify(key, msg, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha512.Size {
		return false
	}
	m := hmac.New(sha512.New, []byte(key))
	m.Write([]byte(msg))
	return hmac.Equal(got, m.Sum(nil))
}

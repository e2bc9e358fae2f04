// Package kotak holds what Kotak's CMS payout API and its virtual-account
// (e-collect) API share: the OAuth2 client-credentials token source and the
// sandbox's token issuer, the AES body encryption, the HTTP call discipline
// (which failures mean "not executed" and which mean "outcome unknown"), the
// typed error and the UTR formats of the Indian rails.
package kotak

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"paydesk/providers/internal/aescbc"
)

// ErrKey: the configured key is not usable AES key material.
var ErrKey = errors.New("kotak: AES key must be 16, 24 or 32 bytes (a 32-char secret for AES-256)")

// ErrCiphertext: a body could not be decrypted (not base64, not whole blocks,
// too short to hold the IV block, or bad padding — in practice a wrong key).
var ErrCiphertext = errors.New("kotak: body could not be decrypted")

// Cipher is Kotak's body encryption: AES-CBC with PKCS#7 padding, base64
// text. The sender puts a 16-byte block in front of the plaintext before
// encrypting; the receiver decrypts and drops the first 16 plaintext bytes.
// Because only the first plaintext block depends on the CBC IV, the receiver
// never needs to know which IV the sender used.
type Cipher struct {
	key []byte
}

// NewCipher takes the key as Kotak hands it out: a secret whose UTF-8 bytes
// are the AES key (32 characters → AES-256).
func NewCipher(secret string) (*Cipher, error) {
	return newCipher([]byte(secret))
}

// NewCipherBase64 takes the key as base64 text of the raw key bytes, the
// second key form some Kotak setups use.
func NewCipherBase64(b64 string) (*Cipher, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return newCipher(key)
}

// ParseKey picks the key form: base64 when isBase64, the UTF-8 secret
// otherwise.
func ParseKey(key string, isBase64 bool) (*Cipher, error) {
	if isBase64 {
		return NewCipherBase64(key)
	}
	return NewCipher(key)
}

func newCipher(key []byte) (*Cipher, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, ErrKey
	}
	return &Cipher{key: append([]byte(nil), key...)}, nil
}

// Encrypt encrypts msg for the wire. It prepends a random block and uses an
// independent random CBC IV. Public Kotak integrations use the prepended IV
// as the CBC IV as well (see EncryptIV); that makes the first ciphertext
// block always E_K(0) and the whole ciphertext deterministic for a given
// message. The receiver cannot tell the difference, so we randomise both.
func (c *Cipher) Encrypt(msg []byte) (string, error) {
	var prefix, iv [aes.BlockSize]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return "", err
	}
	if _, err := rand.Read(iv[:]); err != nil {
		return "", err
	}
	return c.encrypt(iv[:], prefix[:], msg)
}

// EncryptIV is the exact construction of the public Kotak integrations and
// of `openssl enc -aes-256-cbc -K <key> -iv <iv>` fed with iv||msg: the
// 16-byte iv is both prepended to msg and used as the CBC IV. Kept for
// known-answer tests and for byte-for-byte comparison with Kotak samples.
func (c *Cipher) EncryptIV(iv, msg []byte) (string, error) {
	if len(iv) != aes.BlockSize {
		return "", errors.New("kotak: iv must be 16 bytes")
	}
	return c.encrypt(iv, iv, msg)
}

func (c *Cipher) encrypt(iv, prefix, msg []byte) (string, error) {
	plain := make([]byte, 0, aes.BlockSize+len(msg))
	plain = append(plain, prefix...)
	plain = append(plain, msg...)
	ct, err := aescbc.Encrypt(c.key, iv, plain)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// Decrypt reverses Encrypt and EncryptIV. Whitespace inside the base64 text
// (openssl wraps at 64 columns) is ignored.
func (c *Cipher) Decrypt(text []byte) ([]byte, error) {
	clean := make([]byte, 0, len(text))
	for _, b := range text {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		clean = append(clean, b)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(raw, clean)
	if err != nil {
		return nil, ErrCiphertext
	}
	raw = raw[:n]
	// At least the prefix block and one block of message+padding.
	if len(raw) < 2*aes.BlockSize || len(raw)%aes.BlockSize != 0 {
		return nil, ErrCiphertext
	}
	// Decrypting blocks 2..n with block 1 as IV yields exactly plaintext
	// blocks 2..n: the same as decrypting everything under any IV and
	// dropping the first 16 bytes.
	msg, err := aescbc.Decrypt(c.key, raw[:aes.BlockSize], raw[aes.BlockSize:])
	if err != nil {
		return nil, ErrCiphertext
	}
	return msg, nil
}

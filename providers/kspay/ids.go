package kspay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// validID reports whether id is prefix followed by alphanumerics, idLength
// characters in all.
func validID(id, prefix string) bool {
	if len(id) != idLength || !strings.HasPrefix(id, prefix) {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ---- request signature (decisions.go) ----

// SignatureFor builds the x-signature value for appID at t under secretKey.
// The provider's /auth/generate-signature returns the same string; the
// function exists so tests and offline tools can check one.
func SignatureFor(appID, secretKey string, t time.Time) string {
	ms := strconv.FormatInt(t.UnixMilli(), 10)
	return appID + ":" + ms + ":" + signatureMAC(secretKey, appID+ms)
}

func signatureMAC(secretKey, msg string) string {
	m := hmac.New(sha256.New, []byte(secretKey))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// parsedSignature is an x-signature taken apart.
type parsedSignature struct {
	AppID string
	At    time.Time
	ms    string
	MAC   string
}

var errSignatureFormat = errors.New("signature format")

// parseSignature splits an x-signature; any deviation from the decided
// format is errSignatureFormat (11006).
func parseSignature(s string) (parsedSignature, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return parsedSignature{}, errSignatureFormat
	}
	app, ms, mac := parts[0], parts[1], parts[2]
	if !validID(app, prefixApp) || len(ms) == 0 || len(ms) > 15 || len(mac) != 64 {
		return parsedSignature{}, errSignatureFormat
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n < 0 || ms[0] == '+' {
		return parsedSignature{}, errSignatureFormat
	}
	if _, err := hex.DecodeString(mac); err != nil {
		return parsedSignature{}, errSignatureFormat
	}
	return parsedSignature{AppID: app, At: time.UnixMilli(n), ms: ms, MAC: strings.ToLower(mac)}, nil
}

// verify reports whether the MAC is right for secretKey.
func (p parsedSignature) verify(secretKey string) bool {
	want := signatureMAC(secretKey, p.AppID+p.ms)
	return hmac.Equal([]byte(want), []byte(p.MAC))
}

// ---- tokens (decisions.go: HS256 JWTs) ----

type claims struct {
	Sub string `json:"sub"`
	Typ string `json:"typ"`
	Jti string `json:"jti"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

func signJWT(secret []byte, c claims) string {
	body, _ := json.Marshal(c)
	unsigned := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errToken = errors.New("token malformed or not ours")

// verifyJWT checks the token's MAC and returns its claims (expiry is the
// caller's business: the provider answers it with its own code).
func verifyJWT(secret []byte, tok string) (claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return claims{}, errToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return claims{}, errToken
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return claims{}, errToken
	}
	return readClaims(parts[1])
}

func readClaims(seg string) (claims, error) {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return claims{}, errToken
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return claims{}, errToken
	}
	return c, nil
}

// tokenExpiry reads a token's exp without verifying it: the client only needs
// to know when to refresh. ok is false for anything that is not a JWT with a
// plausible exp.
func tokenExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	c, err := readClaims(parts[1])
	if err != nil || c.Exp <= 0 || c.Exp > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(c.Exp, 0), true
}

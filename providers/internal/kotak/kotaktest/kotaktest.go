// Package kotaktest holds what the Kotak CMS and VA tests share to talk to
// their sandboxes past the client, as a misbehaving caller would.
package kotaktest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"paydesk/providers/internal/kotak"
	"paydesk/providers/sandboxkit/sandboxtest"
)

// NewClock returns the clock both packages' tests start at: a weekday
// morning in IST, inside banking hours.
func NewClock() *sandboxtest.Clock {
	return sandboxtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, kotak.IST))
}

// Post sends plain, encrypted with secret as the key, to url with the bearer
// token, and returns the status and the answer: decrypted when the status is
// 200, as sent otherwise. An empty contentType sends none.
func Post(t testing.TB, url, token, contentType, secret string, plain []byte) (int, []byte) {
	t.Helper()
	c, err := kotak.NewCipher(secret)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(enc)))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, body
	}
	out, err := c.Decrypt(body)
	if err != nil {
		t.Fatalf("decrypting answer: %v", err)
	}
	return resp.StatusCode, out
}

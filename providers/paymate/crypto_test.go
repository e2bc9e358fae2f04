package paymate

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"paydesk/providers/internal/aescbc"
)

// Known answers produced with OpenSSL 3.0.19 when this test was written:
//
//	printf '%s' "$PLAIN" | openssl enc -aes-256-cbc -K "$KEY" -iv "$IV" -base64 -A
var aesVectors = []struct {
	name, keyHex, ivHex, plain, b64 string
}{
	{
		// Demo key and IV as UTF-8 bytes; the seed's GetPaymentReport request
		// exactly as the client marshals it.
		name:   "demo key, GetPaymentReport request",
		keyHex: "5061796465736b5061794d61746553616e64626f784145534b65793332627974",
		ivHex:  "5061796465736b504d58495630303031",
		plain:  `{"OrderId":"WAT9856343","TransactionRefNo":"","FromDate":"","ToDate":""}`,
		b64:    "1vUyodljGzs04yFOZj5jgzwEWNtpE/1fvHPK902Zlp9lljz+rCff1zYz7rQIGYVgoYxKsnYmeQSvdget2GQ4V35VOUavKJktDswZoTSR3Zw=",
	},
	{
		name:   "binary key, balance envelope",
		keyHex: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		ivHex:  "f0e0d0c0b0a090807060504030201000",
		plain:  `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","Response":{"XpressBalance":"6000070.20"}}`,
		b64:    "XUGC1db34nuSNCy3/HNyeNhQb53t5NX21T5Df5t6ciJKwAMoEnp4lcJ2Sm1fsoTgRrU3fp0Fqi8MmGVE5xvmavtvZsTqXQ5u2uktKS7pmyzILTZ1LPWN4BHwgN85zLcwGfrncm0b/3GM4C+3CSSDuYgTdTnMmDm9D+JMa9YBsLo=",
	},
	{
		name:   "empty plaintext is one block of padding",
		keyHex: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		ivHex:  "f0e0d0c0b0a090807060504030201000",
		plain:  "",
		b64:    "bcL6bJ1IOEkpCdz03UmQlw==",
	},
}

func TestAESKnownAnswers(t *testing.T) {
	for _, v := range aesVectors {
		t.Run(v.name, func(t *testing.T) {
			key, _ := hex.DecodeString(v.keyHex)
			iv, _ := hex.DecodeString(v.ivHex)
			box, err := newCipherBox(key, iv)
			if err != nil {
				t.Fatal(err)
			}
			got, err := box.seal([]byte(v.plain))
			if err != nil {
				t.Fatal(err)
			}
			if got != v.b64 {
				t.Fatalf("seal:\n got %s\nwant %s", got, v.b64)
			}
			plain, err := box.open(v.b64)
			if err != nil || string(plain) != v.plain {
				t.Fatalf("open: %q, %v", plain, err)
			}
		})
	}
}

// The client's body on the wire is exactly {"encData":"<openssl's base64>"}.
func TestClientSendsKnownCiphertext(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	c, err := NewClient(DemoConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetPaymentReport(ctx(t), PaymentQuery{OrderID: "WAT9856343"})
	want, _ := json.Marshal(map[string]string{"encData": aesVectors[0].b64})
	if !bytes.Equal(got, want) {
		t.Fatalf("body:\n got %s\nwant %s", got, want)
	}
}

func TestAESRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 32)
	iv := make([]byte, 16)
	for i := range key {
		key[i] = byte(r.IntN(256))
	}
	for i := range iv {
		iv[i] = byte(r.IntN(256))
	}
	box, err := newCipherBox(key, iv)
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(key)
	other[0] ^= 1
	wrong, _ := newCipherBox(other, iv)
	wrongFails := 0
	for n := 0; n < 200; n++ {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(r.IntN(256))
		}
		text, err := box.seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		back, err := box.open(text)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("len %d: round trip failed: %v", n, err)
		}
		if got, err := wrong.open(text); err != nil || !bytes.Equal(got, plain) {
			wrongFails++
		}
	}
	if wrongFails != 200 {
		t.Fatalf("a wrong key decrypted %d of 200 texts", 200-wrongFails)
	}
	if _, err := box.open("not base64!"); !errors.Is(err, errTampered) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := box.open("AAAA"); !errors.Is(err, errTampered) {
		t.Fatalf("short: %v", err)
	}
	if _, err := wrong.open(aesVectors[0].b64); !errors.Is(err, aescbc.ErrCiphertext) && err == nil {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := newCipherBox(key[:16], iv); err == nil {
		t.Fatal("AES-128 key accepted")
	}
	if _, err := newCipherBox(key, iv[:8]); err == nil {
		t.Fatal("short IV accepted")
	}
}

func TestDemoCredentialShapes(t *testing.T) {
	if len(DemoKey) != 32 || len(DemoIV) != 16 {
		t.Fatalf("demo key %d bytes, IV %d", len(DemoKey), len(DemoIV))
	}
	for _, id := range []string{DemoBusinessID, DemoTerminalID} {
		if len(id) != 32 || !isAlnum(id) {
			t.Fatalf("%q: want 32 alphanumerics", id)
		}
	}
	if len(DemoXpressID) != 10 || !isAlnum(DemoXpressID) {
		t.Fatalf("XpressID %q", DemoXpressID)
	}
}

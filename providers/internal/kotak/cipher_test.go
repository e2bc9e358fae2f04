package kotak

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Known answers produced with OpenSSL 3.0.19 on 2026 host, feeding iv||msg:
//
//	KEY='0123456789abcdefPAYDESKKOTAK2026'
//	KHEX=$(echo -n "$KEY" | xxd -p -c 256)
//	(echo -n $IV | xxd -r -p; echo -n "$MSG") | openssl enc -aes-256-cbc -K $KHEX -iv $IV -base64 -A
const (
	katKey    = "0123456789abcdefPAYDESKKOTAK2026"
	katKeyB64 = "MDEyMzQ1Njc4OWFiY2RlZlBBWURFU0tLT1RBSzIwMjY="

	katIV1  = "000102030405060708090a0b0c0d0e0f"
	katMsg1 = "<Payment><InstRefNo>PD-0001</InstRefNo><TxnAmnt>1234.56</TxnAmnt></Payment>"
	katCT1  = "oFVPB32wK1jOPDZQMcSJPLJKuv7WjloXIeKY4Id9ZjOFGkNeiMwuUrX2IAW4q5/Jdf4ELAgoQXn0+2jiJTmoD6nbD4IW7AtYZJqxg9SZN/9PuzXeu+v/PQFMC8ahiR/6"

	katIV2  = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
	katMsg2 = `{"BatchId":"B1","TxnRefs":["VA0001"]}`
	katCT2  = "oFVPB32wK1jOPDZQMcSJPKLY937PLH++I1BWns+w0wtOA4wnuHo0eSg1O5Opg3pEva+4TUnz1Ne3Cr+HrQvQgg=="
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCipherKnownAnswerOpenSSL(t *testing.T) {
	for _, form := range []struct {
		name string
		c    func() (*Cipher, error)
	}{
		{"utf8 secret", func() (*Cipher, error) { return NewCipher(katKey) }},
		{"base64 key", func() (*Cipher, error) { return NewCipherBase64(katKeyB64) }},
		{"ParseKey base64", func() (*Cipher, error) { return ParseKey(katKeyB64, true) }},
	} {
		t.Run(form.name, func(t *testing.T) {
			c, err := form.c()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []struct{ iv, msg, ct string }{{katIV1, katMsg1, katCT1}, {katIV2, katMsg2, katCT2}} {
				got, err := c.EncryptIV(mustHex(t, v.iv), []byte(v.msg))
				if err != nil {
					t.Fatal(err)
				}
				if got != v.ct {
					t.Errorf("EncryptIV = %s\nwant (openssl)  %s", got, v.ct)
				}
				plain, err := c.Decrypt([]byte(v.ct))
				if err != nil {
					t.Fatal(err)
				}
				if string(plain) != v.msg {
					t.Errorf("Decrypt(openssl) = %q, want %q", plain, v.msg)
				}
			}
		})
	}
}

// The public IV-as-prefix-and-CBC-IV construction makes the first block
// E_K(0) whatever the IV: both OpenSSL vectors share it. Our Encrypt must
// not, and must not repeat itself.
func TestCipherEncryptIsRandomised(t *testing.T) {
	c, _ := NewCipher(katKey)
	if katCT1[:21] != katCT2[:21] {
		t.Fatal("expected the OpenSSL vectors to share their first block")
	}
	a, err := c.Encrypt([]byte(katMsg1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Encrypt([]byte(katMsg1))
	if a == b {
		t.Fatal("two encryptions of one message are identical")
	}
	if strings.HasPrefix(a, katCT1[:21]) {
		t.Fatal("Encrypt leaks the deterministic E_K(0) first block")
	}
	for _, ct := range []string{a, b} {
		p, err := c.Decrypt([]byte(ct))
		if err != nil || string(p) != katMsg1 {
			t.Fatalf("round trip: %q %v", p, err)
		}
	}
}

func TestCipherRoundTripSizes(t *testing.T) {
	c, _ := NewCipher(katKey)
	for n := 0; n <= 70; n++ {
		msg := bytes.Repeat([]byte{byte('a' + n%26)}, n)
		ct, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		// Wrapped like openssl without -A: still accepted.
		wrapped := wrap(ct, 64)
		got, err := c.Decrypt([]byte(wrapped))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("n=%d: got %q", n, got)
		}
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteString("\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestCipherRejects(t *testing.T) {
	c, _ := NewCipher(katKey)
	other, _ := NewCipher(strings.Repeat("x", 32))
	ct, _ := c.Encrypt([]byte("hello"))
	if _, err := other.Decrypt([]byte(ct)); !errors.Is(err, ErrCiphertext) {
		// A wrong key almost always breaks the padding; 1 in ~256 it does
		// not and yields garbage, so only fail on a different error.
		if err != nil {
			t.Fatalf("wrong key: %v", err)
		}
	}
	raw16 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, bad := range []string{"", "not base64!!", raw16, base64.StdEncoding.EncodeToString(make([]byte, 33))} {
		if _, err := c.Decrypt([]byte(bad)); !errors.Is(err, ErrCiphertext) {
			t.Errorf("Decrypt(%q) err = %v", bad, err)
		}
	}
	for _, k := range []string{"", "short", strings.Repeat("k", 31), strings.Repeat("k", 33)} {
		if _, err := NewCipher(k); !errors.Is(err, ErrKey) {
			t.Errorf("NewCipher(%d chars) err = %v", len(k), err)
		}
	}
	if _, err := NewCipherBase64("%%%"); !errors.Is(err, ErrKey) {
		t.Errorf("bad base64 key err = %v", err)
	}
}

func FuzzCipherDecrypt(f *testing.F) {
	c, _ := NewCipher(katKey)
	f.Add([]byte(katCT1))
	f.Add([]byte(katCT2))
	f.Add([]byte(""))
	f.Add([]byte("AAAA"))
	f.Add([]byte(katCT1[:len(katCT1)/2] + "\x00<!-- upstream reset -->{"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := c.Decrypt(in)
		if err == nil {
			// Whatever decrypts must re-encrypt and decrypt to itself.
			ct, err := c.Encrypt(out)
			if err != nil {
				t.Fatal(err)
			}
			back, err := c.Decrypt([]byte(ct))
			if err != nil || !bytes.Equal(back, out) {
				t.Fatalf("re-round-trip failed: %v", err)
			}
		}
	})
}

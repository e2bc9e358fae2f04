package kotakcms

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"paydesk/providers/internal/kotak"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, kotak.IST)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	ad     *Adapter
	clk    *clock
	cfg    Config
}

// newEnv starts a sandbox on a fake clock (1 min PS, 2 min C) with a client
// and adapter pointed at it; mods adjust the sandbox and client configs.
func newEnv(t *testing.T, mods ...func(*SandboxConfig, *Config)) *env {
	t.Helper()
	clk := newClock()
	scfg := DefaultSandboxConfig()
	scfg.Now = clk.Now
	scfg.PendingSendFor = time.Minute
	scfg.InProcessFor = 2 * time.Minute
	ccfg := DemoConfig("")
	ccfg.Now = clk.Now
	ccfg.Backoff = time.Millisecond
	ccfg.Timeout = 5 * time.Second
	for _, m := range mods {
		m(&scfg, &ccfg)
	}
	sb := NewSandbox(scfg)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	ccfg.BaseURL = srv.URL
	c, err := NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, srv: srv, client: c, ad: NewAdapter(c), clk: clk, cfg: ccfg}
}

func (e *env) cipher(t *testing.T) *kotak.Cipher {
	t.Helper()
	c, err := kotak.NewCipher(DemoClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw posts plain (encrypted with the demo key) with the client's token and
// returns the HTTP status and the decrypted answer.
func (e *env) raw(t *testing.T, path, contentType string, plain []byte) (int, []byte) {
	t.Helper()
	tok, err := e.client.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := e.cipher(t)
	enc, err := c.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader([]byte(enc)))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", contentType)
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

func (e *env) rawPay(t *testing.T, req payRequest) payResponse {
	t.Helper()
	if req.XMLName.Local == "" {
		req.XMLName = xml.Name{Space: NSPayRequest, Local: elemPayment}
	}
	body, err := marshalEnvelope(req)
	if err != nil {
		t.Fatal(err)
	}
	status, out := e.raw(t, PathPay, ContentXML, body)
	if status != 200 {
		t.Fatalf("pay: HTTP %d %s", status, out)
	}
	resp, err := decodePayResponse(out)
	if err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	return resp
}

func (e *env) control(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	rec := httptest.NewRecorder()
	e.sb.Control().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// goodInstrument is a valid NEFT instrument for the demo client today.
func (e *env) goodInstrument(ref string) wireInstrument {
	return wireInstrument{
		InstRefNo: ref, MyProdCode: DemoProductCode, PayMode: "NEFT", TxnAmnt: "1500.75",
		AccountNo: DemoDebitAccount, DrDesc: "Invoice 42", PaymentDt: e.clk.Now().Format(time.DateOnly),
		RecBrCd: "HDFC0001234", BeneAcctNo: "50100123456789", BeneName: "Asha Traders",
	}
}

func (e *env) goodRequest(msgID string, ins ...wireInstrument) payRequest {
	return payRequest{
		RequestHeader:  requestHeader{MessageID: msgID, MsgSource: DemoMsgSource, ClientCode: DemoClientCode},
		InstrumentList: instrumentList{Instruments: ins},
	}
}

func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

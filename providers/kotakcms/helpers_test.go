package kotakcms

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"paydesk/providers/internal/kotak"
	"paydesk/providers/internal/kotak/kotaktest"
	"paydesk/providers/sandboxkit/sandboxtest"
)

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	ad     *Adapter
	clk    *sandboxtest.Clock
	cfg    Config
}

// newEnv starts a sandbox on a fake clock (1 min PS, 2 min C) with a client
// and adapter pointed at it; mods adjust the sandbox and client configs.
func newEnv(t *testing.T, mods ...func(*SandboxConfig, *Config)) *env {
	t.Helper()
	clk := kotaktest.NewClock()
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
	return kotaktest.Post(t, e.srv.URL+path, tok.AccessToken, contentType, DemoClientSecret, plain)
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
	return sandboxtest.Control(e.sb.Control(), method, path, body)
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

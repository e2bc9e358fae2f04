package registry

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/sandboxes"
)

func noEnv(string) string { return "" }

// TestSandboxWiring builds every client against the sandbox set served over
// real HTTP, through the path prefixes, and makes one read per capability.
func TestSandboxWiring(t *testing.T) {
	set := sandboxes.New(sandboxes.Options{Seed: 1})
	srv := httptest.NewServer(set.Handler())
	defer srv.Close()
	reg, err := Load(Options{SandboxRoot: srv.URL, Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	wantCaps := map[string][]providers.Capability{
		"kotakcms": {providers.CapPayouts},
		"kotakva":  {providers.CapVirtualAccounts},
		"paymate":  {providers.CapPayouts, providers.CapBalances, providers.CapContacts, providers.CapCollections},
		"linkpay":  {providers.CapPaymentLinks},
		"kspay":    {providers.CapGateway},
	}
	if len(reg.Entries()) != len(wantCaps) {
		t.Fatalf("entries = %d", len(reg.Entries()))
	}
	ctx := context.Background()
	for _, e := range reg.Entries() {
		name := e.Provider.Name()
		if got := providers.Capabilities(e.Provider); !slices.Equal(got, wantCaps[name]) {
			t.Errorf("%s capabilities = %v, want %v", name, got, wantCaps[name])
		}
		if !e.Sandbox || !strings.HasSuffix(e.BaseURL, "/"+name) {
			t.Errorf("%s: %+v", name, e)
		}
	}
	cms, _ := reg.Payouts("kotakcms")
	if _, err := cms.PendingApprovals(ctx); err != nil {
		t.Errorf("kotakcms pending: %v", err)
	}
	pm, _ := reg.Get("paymate")
	if b, err := pm.(providers.Balances).Balance(ctx); err != nil || b.AvailablePaise <= 0 {
		t.Errorf("paymate balance: %+v %v", b, err)
	}
	va, _ := reg.Get("kotakva")
	if _, err := va.(providers.VirtualAccounts).FetchCredits(ctx); err != nil {
		t.Errorf("kotakva credits: %v", err)
	}
	lp, _ := reg.Get("linkpay")
	if ts, err := lp.(providers.PaymentLinks).Templates(ctx); err != nil || len(ts) == 0 {
		t.Errorf("linkpay templates: %v %v", ts, err)
	}
	ks, _ := reg.Get("kspay")
	if cs, err := ks.(providers.Gateway).Currencies(ctx); err != nil || len(cs) == 0 {
		t.Errorf("kspay currencies: %v %v", cs, err)
	}
}

func TestLiveConfigurationFromEnvironment(t *testing.T) {
	env := map[string]string{
		"PAYDESK_LINKPAY_URL":               "https://payment.example.in/ots",
		"PAYDESK_LINKPAY_MERCHANT_ID":       "400100",
		"PAYDESK_LINKPAY_PASSWORD":          "live-password",
		"PAYDESK_LINKPAY_REQUEST_HASH_KEY":  "live-request-key",
		"PAYDESK_LINKPAY_RESPONSE_HASH_KEY": "live-response-key",
		"PAYDESK_KSPAY_URL":                 "https://kspay.example.in",
		"PAYDESK_KSPAY_APP_ID":              "ap_abcdefghij",
	}
	reg, err := Load(Options{Production: true, Getenv: func(k string) string { return env[k] }})
	if err == nil || !strings.Contains(err.Error(), "PAYDESK_KSPAY_ACCESS_KEY") || !strings.Contains(err.Error(), "PAYDESK_KSPAY_SECRET_KEY") {
		t.Fatalf("missing variables not named: %v", err)
	}
	if e, ok := reg.Get("linkpay"); !ok || e == nil {
		t.Fatal("a fully configured provider was dropped")
	}
	if _, ok := reg.Get("paymate"); ok {
		t.Fatal("an unconfigured provider appeared in production")
	}
}

func TestProductionRefusesDemoCredentials(t *testing.T) {
	env := map[string]string{
		"PAYDESK_LINKPAY_URL":               "https://payment.example.in/ots",
		"PAYDESK_LINKPAY_MERCHANT_ID":       "317157",
		"PAYDESK_LINKPAY_PASSWORD":          "Test@123",
		"PAYDESK_LINKPAY_REQUEST_HASH_KEY":  "KEY123657234",
		"PAYDESK_LINKPAY_RESPONSE_HASH_KEY": "KEYRESP123657234",
	}
	_, err := Load(Options{Production: true, Getenv: func(k string) string { return env[k] }})
	if err == nil || !strings.Contains(err.Error(), "demo credentials") {
		t.Fatalf("demo credentials accepted in production: %v", err)
	}
}

// Package registry builds Paydesk's provider clients from configuration.
// Pointing Paydesk at a live provider is configuration only: set
// PAYDESK_<PROVIDER>_URL and its credentials; leave them unset in sandbox mode
// and the client talks to the in-process sandbox with demo credentials.
package registry

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/kotakcms"
	"paydesk/providers/kotakva"
	"paydesk/providers/kspay"
	"paydesk/providers/linkpay"
	"paydesk/providers/paymate"
	"paydesk/providers/sandboxes"
)

// Entry is one configured provider.
type Entry struct {
	Provider providers.Provider
	BaseURL  string
	// Sandbox is true when the entry talks to a sandbox with demo credentials.
	Sandbox bool
}

// Registry is every configured provider, by name.
type Registry struct {
	entries map[string]Entry
}

// Entries lists the configured providers in name order.
func (r *Registry) Entries() []Entry {
	out := make([]Entry, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider.Name() < out[j].Provider.Name() })
	return out
}

// Get returns the named provider.
func (r *Registry) Get(name string) (providers.Provider, bool) {
	e, ok := r.entries[name]
	return e.Provider, ok
}

// Payouts returns the named provider's payout capability.
func (r *Registry) Payouts(name string) (providers.Payouts, bool) {
	p, ok := r.entries[name].Provider.(providers.Payouts)
	return p, ok
}

// env reads PAYDESK_<PROVIDER>_<KEY> and remembers what was missing.
type env struct {
	getenv  func(string) string
	prefix  string
	missing []string
}

func (e *env) get(key string) string { return strings.TrimSpace(e.getenv(e.prefix + key)) }

func (e *env) need(key string) string {
	v := e.get(key)
	if v == "" {
		e.missing = append(e.missing, e.prefix+key)
	}
	return v
}

func (e *env) err() error {
	if len(e.missing) == 0 {
		return nil
	}
	return fmt.Errorf("missing %s", strings.Join(e.missing, ", "))
}

// spec builds one provider: demo config for the sandbox, or live config from
// the environment. isDemo spots demo credentials in a live config.
type spec struct {
	name string
	demo func(baseURL string, t http.RoundTripper) (providers.Provider, error)
	live func(e *env, baseURL string, t http.RoundTripper) (providers.Provider, bool, error)
}

var specs = []spec{
	{
		name: kotakcms.Name,
		demo: func(u string, t http.RoundTripper) (providers.Provider, error) {
			return kotakCMS(kotakcms.DemoConfig(u), t)
		},
		live: func(e *env, u string, t http.RoundTripper) (providers.Provider, bool, error) {
			c := kotakcms.Config{Conn: kotakConn(e, u), ClientCode: e.need("CLIENT_CODE"), MsgSource: e.get("MSG_SOURCE"), DebitAccount: e.need("DEBIT_ACCOUNT"),
				ProductCode: e.need("PRODUCT_CODE")}
			if err := e.err(); err != nil {
				return nil, false, err
			}
			p, err := kotakCMS(c, t)
			return p, c.ClientSecret == kotakcms.DemoClientSecret, err
		},
	},
	{
		name: kotakva.Name,
		demo: func(u string, t http.RoundTripper) (providers.Provider, error) {
			return kotakVA(kotakva.DemoConfig(u), t)
		},
		live: func(e *env, u string, t http.RoundTripper) (providers.Provider, bool, error) {
			c := kotakva.Config{Conn: kotakConn(e, u), ClientCode: e.need("CLIENT_CODE"), ClientName: e.need("CLIENT_NAME"), PhysicalAccountNo: e.need("PHYSICAL_ACCOUNT")}
			if err := e.err(); err != nil {
				return nil, false, err
			}
			p, err := kotakVA(c, t)
			return p, c.ClientSecret == kotakva.DemoClientSecret, err
		},
	},
	{
		name: paymate.Name,
		demo: func(u string, t http.RoundTripper) (providers.Provider, error) {
			return payMate(paymate.DemoConfig(u), t)
		},
		live: func(e *env, u string, t http.RoundTripper) (providers.Provider, bool, error) {
			c := paymate.Config{BaseURL: u, BusinessIdentification: e.need("BUSINESS_ID"), TerminalIdentification: e.need("TERMINAL_ID"),
				XpressID: e.need("XPRESS_ID"), UserEmail: e.get("USER_EMAIL"), Key: []byte(e.need("AES_KEY")), IV: []byte(e.need("AES_IV"))}
			if e.get("BUSINESS_HEADER") != "" {
				c.BusinessHeader = e.get("BUSINESS_HEADER")
			}
			if err := e.err(); err != nil {
				return nil, false, err
			}
			p, err := payMate(c, t)
			return p, string(c.Key) == paymate.DemoKey, err
		},
	},
	{
		name: linkpay.Name,
		demo: func(u string, t http.RoundTripper) (providers.Provider, error) {
			return linkPay(linkpay.DemoConfig(u), t)
		},
		live: func(e *env, u string, t http.RoundTripper) (providers.Provider, bool, error) {
			c := linkpay.Config{BaseURL: u, MerchantID: e.need("MERCHANT_ID"), Password: e.need("PASSWORD"),
				RequestHashKey: e.need("REQUEST_HASH_KEY"), ResponseHashKey: e.need("RESPONSE_HASH_KEY")}
			if err := e.err(); err != nil {
				return nil, false, err
			}
			p, err := linkPay(c, t)
			return p, c.RequestHashKey == linkpay.DemoRequestHashKey, err
		},
	},
	{
		name: kspay.Name,
		demo: func(u string, t http.RoundTripper) (providers.Provider, error) { return ksPay(kspay.DemoConfig(u), t) },
		live: func(e *env, u string, t http.RoundTripper) (providers.Provider, bool, error) {
			c := kspay.Config{BaseURL: u, AppID: e.need("APP_ID"), AccessKey: e.need("ACCESS_KEY"), SecretKey: e.need("SECRET_KEY")}
			if err := e.err(); err != nil {
				return nil, false, err
			}
			p, err := ksPay(c, t)
			return p, c.SecretKey == kspay.DemoSecretKey, err
		},
	},
}

// kotakConn reads the gateway settings both Kotak APIs share.
func kotakConn(e *env, u string) kotakcms.Conn {
	return kotakcms.Conn{BaseURL: u, ClientID: e.need("CLIENT_ID"), ClientSecret: e.need("CLIENT_SECRET"),
		EncryptionKey: e.get("ENCRYPTION_KEY"), EncryptionKeyBase64: e.get("ENCRYPTION_KEY_BASE64") == "true"}
}

// kotakHTTP is a Kotak client's HTTP client over t, with the timeout the
// client would give its own; nil (the client's own) when t is nil.
func kotakHTTP(c kotakcms.Conn, t http.RoundTripper) *http.Client {
	if t == nil {
		return c.HTTPClient
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &http.Client{Transport: t, Timeout: timeout}
}

func kotakCMS(c kotakcms.Config, t http.RoundTripper) (providers.Provider, error) {
	c.HTTPClient = kotakHTTP(c.Conn, t)
	cl, err := kotakcms.NewClient(c)
	if err != nil {
		return nil, err
	}
	return kotakcms.NewAdapter(cl), nil
}

func kotakVA(c kotakva.Config, t http.RoundTripper) (providers.Provider, error) {
	c.HTTPClient = kotakHTTP(c.Conn, t)
	cl, err := kotakva.NewClient(c)
	if err != nil {
		return nil, err
	}
	return kotakva.NewAdapter(cl), nil
}

func payMate(c paymate.Config, t http.RoundTripper) (providers.Provider, error) {
	if t != nil {
		c.HTTPClient = &http.Client{Transport: t}
	}
	cl, err := paymate.NewClient(c)
	if err != nil {
		return nil, err
	}
	return paymate.NewAdapter(cl), nil
}

func linkPay(c linkpay.Config, t http.RoundTripper) (providers.Provider, error) {
	if t != nil {
		c.HTTPClient = &http.Client{Transport: t}
	}
	cl, err := linkpay.NewClient(c)
	if err != nil {
		return nil, err
	}
	return linkpay.NewAdapter(cl), nil
}

func ksPay(c kspay.Config, t http.RoundTripper) (providers.Provider, error) {
	if t != nil {
		c.HTTPClient = &http.Client{Transport: t}
	}
	cl, err := kspay.NewClient(c)
	if err != nil {
		return nil, err
	}
	return kspay.NewAdapter(cl), nil
}

// Options say where the sandboxes are and whether demo credentials may be used.
type Options struct {
	// SandboxRoot is the URL the sandbox set is served at; empty in
	// production, where a provider without PAYDESK_<NAME>_URL is left out.
	SandboxRoot string
	// Production refuses demo credentials.
	Production bool
	Getenv     func(string) string
	// Transport, when set, gives each provider's client the round tripper
	// to call it through (metrics wrap the default transport here); nil:
	// each client uses its own.
	Transport func(provider string) http.RoundTripper
}

// EnvPrefix is the prefix of a provider's variables: PAYDESK_KOTAKCMS_.
func EnvPrefix(name string) string { return "PAYDESK_" + strings.ToUpper(name) + "_" }

// Load builds every provider that is configured.
func Load(o Options) (*Registry, error) {
	r := &Registry{entries: map[string]Entry{}}
	var errs []error
	for _, s := range specs {
		e := &env{getenv: o.Getenv, prefix: EnvPrefix(s.name)}
		url := e.get("URL")
		var t http.RoundTripper
		if o.Transport != nil {
			t = o.Transport(s.name)
		}
		switch {
		case url != "":
			p, demo, err := s.live(e, url, t)
			if err == nil && demo && o.Production {
				err = errors.New("uses the sandbox's demo credentials")
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
				continue
			}
			r.entries[s.name] = Entry{Provider: p, BaseURL: url, Sandbox: demo}
		case o.SandboxRoot != "" && !o.Production:
			base := sandboxes.BaseURL(o.SandboxRoot, s.name)
			p, err := s.demo(base, t)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
				continue
			}
			r.entries[s.name] = Entry{Provider: p, BaseURL: base, Sandbox: true}
		}
	}
	return r, errors.Join(errs...)
}

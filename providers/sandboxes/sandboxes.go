// Package sandboxes runs all five provider sandboxes behind one handler: each
// provider under /<name>/, each control surface under /_sandbox/<name>/. The
// app points its clients at it by URL exactly as it would at live providers.
package sandboxes

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"paydesk/providers/kotakcms"
	"paydesk/providers/kotakva"
	"paydesk/providers/kspay"
	"paydesk/providers/linkpay"
	"paydesk/providers/paymate"
	"paydesk/providers/sandboxkit"
)

// Options shape the whole set.
type Options struct {
	// Seed makes random credits and ids repeatable.
	Seed uint64
	// CreditEvery makes a customer pay into a random virtual account this
	// often (0: only on demand through the control surface).
	CreditEvery time.Duration
	// Now is the sandboxes' clock; nil: time.Now.
	Now func() time.Time
	// LinkNotifyURL is where the link-payments sandbox notifies paid and
	// expired invoices (Paydesk's /links/notify); empty: nowhere. Invoices
	// past their due date are looked for every minute.
	LinkNotifyURL string
}

// Set is the five sandboxes.
type Set struct {
	KotakCMS *kotakcms.Sandbox
	KotakVA  *kotakva.Sandbox
	PayMate  *paymate.Sandbox
	LinkPay  *linkpay.Sandbox
	KSPay    *kspay.Sandbox
}

// New builds every sandbox with the demo credentials their clients'
// DemoConfig uses.
func New(o Options) *Set {
	cms := kotakcms.DefaultSandboxConfig()
	cms.Now = o.Now
	va := kotakva.DefaultSandboxConfig()
	va.Now, va.CreditEvery = o.Now, o.CreditEvery
	if o.Seed != 0 {
		va.Seed = o.Seed
	}
	return &Set{
		KotakCMS: kotakcms.NewSandbox(cms),
		KotakVA:  kotakva.NewSandbox(va),
		PayMate:  paymate.NewSandbox(paymate.SandboxConfig{Now: o.Now}),
		LinkPay:  linkpay.NewSandbox(linkpay.SandboxConfig{Now: o.Now, NotifyURL: o.LinkNotifyURL, ExpireEvery: linkExpireEvery(o)}),
		KSPay:    kspay.NewSandbox(kspay.SandboxConfig{Now: o.Now, Seed: o.Seed}),
	}
}

func linkExpireEvery(o Options) time.Duration {
	if o.LinkNotifyURL == "" {
		return 0
	}
	return time.Minute
}

// All lists the sandboxes by name.
func (s *Set) All() []sandboxkit.Sandbox {
	all := []sandboxkit.Sandbox{s.KotakCMS, s.KotakVA, s.PayMate, s.LinkPay, s.KSPay}
	sort.Slice(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
	return all
}

// Handler serves every sandbox under its own prefix, and at /_sandbox/ an
// index of what is mounted.
func (s *Set) Handler() http.Handler {
	mux := http.NewServeMux()
	var names []string
	for _, sb := range s.All() {
		name := sb.Name()
		names = append(names, name)
		mux.Handle("/"+name+"/", http.StripPrefix("/"+name, sb))
		mux.Handle("/_sandbox/"+name+"/", http.StripPrefix("/_sandbox/"+name, sb.Control()))
	}
	mux.HandleFunc("GET /_sandbox/{$}", func(w http.ResponseWriter, r *http.Request) {
		index := map[string]any{}
		for _, n := range names {
			index[n] = map[string]string{"api": "/" + n + "/", "control": "/_sandbox/" + n + "/"}
		}
		sandboxkit.WriteJSON(w, http.StatusOK, index)
	})
	return mux
}

// BaseURL returns where the named provider's API lives under root.
func BaseURL(root, name string) string {
	return strings.TrimSuffix(root, "/") + "/" + name
}

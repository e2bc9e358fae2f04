package sandboxkit

import "net/http"

// Base is the plumbing every sandbox repeats: a name, the fault injector in
// front of the provider endpoints, the ledger, and the control surface.
// Embedding it gives a sandbox the Sandbox interface plus Ledger and
// Injector.
type Base struct {
	name     string
	injector *Injector
	ledger   *Ledger
	handler  http.Handler
	control  *http.ServeMux
}

// NewBase returns a Base for the named provider with no faults and an empty
// ledger. It serves nothing until Attach.
func NewBase(name string) Base {
	return Base{name: name, injector: NewInjector(), ledger: NewLedger()}
}

// Attach puts the fault injector in front of api and returns the control mux,
// already holding the shared routes (NewControl), for the sandbox to add its
// own.
func (b *Base) Attach(api http.Handler) *http.ServeMux {
	b.handler = b.injector.Wrap(api)
	b.control = NewControl(b.injector, b.ledger)
	return b.control
}

// Name is the provider's name.
func (b *Base) Name() string { return b.name }

// ServeHTTP serves the provider endpoints, with faults injected.
func (b *Base) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.handler.ServeHTTP(w, r) }

// Control serves the control surface, to be mounted at /_sandbox/<name>/.
func (b *Base) Control() http.Handler { return b.control }

// Injector is the fault injector wrapping the provider endpoints.
func (b *Base) Injector() *Injector { return b.injector }

// Ledger records the executions so far.
func (b *Base) Ledger() *Ledger { return b.ledger }

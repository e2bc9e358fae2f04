package sandboxkit

import (
	"encoding/json"
	"net/http"
)

// Sandbox is what every provider sandbox offers: its provider endpoints, and a
// control surface mounted at /_sandbox/<name>/.
type Sandbox interface {
	http.Handler
	Name() string
	Control() http.Handler
}

// NewControl returns the control routes every sandbox shares:
//
//	GET  /faults  current fault configuration
//	PUT  /faults  replace it (JSON Faults)
//	GET  /ledger  executions so far
//
// A sandbox adds its own routes (incoming credits, "mark paid", …) to the
// returned mux.
func NewControl(in *Injector, l *Ledger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, in.Get())
	})
	mux.HandleFunc("PUT /faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		in.Set(f)
		WriteJSON(w, http.StatusOK, in.Get())
	})
	mux.HandleFunc("GET /ledger", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, l.Entries())
	})
	return mux
}

// WriteJSON writes v as a JSON answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

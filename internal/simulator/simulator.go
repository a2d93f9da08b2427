// Package simulator plays the enterprise systems Baton's activities call:
// credit bureau, KYC, loan core, fraud screening, inventory, payments,
// shipping, HR, IT provisioning, equipment, payroll, facilities and mail.
// State is in memory. Every mutating call needs an Idempotency-Key header: a
// repeated key returns the first result and performs nothing again. A ledger
// records each side effect by key, kind and business reference, with a count
// of repeats, so tests can prove that nothing happened twice. Faults (error
// rate, latency, fail-after-apply) are injected by configuration with seeded
// randomness so that a run can be repeated.
package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Faults configures injected failures for one system or, under the key "*",
// for all of them.
type Faults struct {
	// ErrorRate is the share (0..1) of calls answered 503 before doing anything.
	ErrorRate float64 `json:"errorRate"`
	// FailAfterApplyRate is the share of mutating calls whose side effect
	// happens and whose response is then a 500: the hard case for idempotency.
	FailAfterApplyRate float64 `json:"failAfterApplyRate"`
	// Latency is added to every call, e.g. "250ms".
	Latency Duration `json:"latency"`
}

// Duration reads and writes Go duration syntax in JSON ("250ms").
type Duration time.Duration

// MarshalJSON writes "250ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("latency: want a duration such as \"250ms\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Config configures a simulator.
type Config struct {
	Seed   uint64            `json:"seed"`
	Faults map[string]Faults `json:"faults"` // by system name, "*" for all
	// Now returns the time stamped on records; time.Now when nil.
	Now func() time.Time `json:"-"`
}

// Systems are the path prefixes the simulator serves.
var Systems = []string{"credit", "kyc", "loans", "fraud", "inventory", "payments", "shipping", "hr", "it", "equipment", "payroll", "facilities", "mail", "claims"}

// LedgerEntry is one side effect.
type LedgerEntry struct {
	Key     string    `json:"key"`
	System  string    `json:"system"`
	Kind    string    `json:"kind"`
	Ref     string    `json:"ref"`
	Repeats int       `json:"repeats"` // calls with the same key answered from the first result
	At      time.Time `json:"at"`
	// Amount is the money the effect moved (payouts, disbursements,
	// charges); 0 for others.
	Amount float64 `json:"amount,omitempty"`
}

// Message is a notification in the mail outbox.
type Message struct {
	ID      string    `json:"id"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
	Ref     string    `json:"ref"`
	At      time.Time `json:"at"`
}

type stored struct {
	status int
	body   []byte
	path   string
}

// Server is the simulator; it is an http.Handler.
type Server struct {
	mu       sync.Mutex
	cfg      Config
	rng      *rand.Rand
	mux      *http.ServeMux
	idem     map[string]*stored
	ledger   []*LedgerEntry
	byKey    map[string]*LedgerEntry
	stock    map[string]int
	reserved map[string]reservation
	charges  map[string]charge
	outbox   []Message
	seq      int
}

type reservation struct {
	OrderID  string
	Items    []Item
	Released bool
}

type charge struct {
	OrderID  string
	Amount   float64
	Refunded float64
}

// New builds a simulator with the seed data docs/guide.md documents.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		idem:     map[string]*stored{},
		byKey:    map[string]*LedgerEntry{},
		stock:    map[string]int{},
		reserved: map[string]reservation{},
		charges:  map[string]charge{},
	}
	for sku, n := range SeedStock {
		s.stock[sku] = n
	}
	s.routes()
	return s
}

// SetFaults replaces the fault configuration at run time.
func (s *Server) SetFaults(f map[string]Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Faults = f
}

// ServeHTTP serves the systems.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiError is the JSON body of every non-2xx answer.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes the activities classify; 4xx codes are business refusals.
const (
	CodeInvalidInput       = "invalid_input"
	CodeNotFound           = "not_found"
	CodeKYCFailed          = "kyc_failed"
	CodeVerificationFailed = "verification_failed"
	CodeCardDeclined       = "card_declined"
	CodeOutOfStock         = "out_of_stock"
	CodeMissingKey         = "missing_idempotency_key"
	CodeUnavailable        = "unavailable"
	CodeFailedAfterApp     = "failed_after_apply"
)

// bizError is a refusal returned by a handler.
type bizError struct {
	status int
	apiError
}

func (e *bizError) Error() string { return e.Message }

func refuse(status int, code, format string, args ...any) *bizError {
	return &bizError{status, apiError{Code: code, Message: fmt.Sprintf(format, args...)}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// faultsFor merges the system's faults over the global ones.
func (s *Server) faultsFor(system string) Faults {
	f, ok := s.cfg.Faults[system]
	if !ok {
		f = s.cfg.Faults["*"]
	}
	return f
}

// roll draws from the seeded generator under the lock.
func (s *Server) roll(rate float64) bool {
	return rate > 0 && s.rng.Float64() < rate
}

// effect describes the side effect a mutating handler performs.
type effect struct {
	kind   string
	ref    string
	amount float64
}

// handler is the shape of every system endpoint: it runs under the lock and
// returns a response body, the side effect it performed (nil for reads), or
// a refusal.
type handler func(r *http.Request, body []byte) (any, *effect, error)

// route wraps a handler with faults, idempotency and the ledger.
func (s *Server) route(pattern, system string, mutating bool, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faultsFor(system)
		unavailable := s.roll(f.ErrorRate)
		s.mu.Unlock()
		if f.Latency > 0 {
			select {
			case <-time.After(time.Duration(f.Latency)):
			case <-r.Context().Done():
				return
			}
		}
		if unavailable {
			writeJSON(w, http.StatusServiceUnavailable, apiError{CodeUnavailable, system + " is unavailable (injected)"})
			return
		}
		var body []byte
		if r.Body != nil {
			body, _ = readLimited(r)
		}
		key := r.Header.Get("Idempotency-Key")
		if mutating && key == "" {
			writeJSON(w, http.StatusBadRequest, apiError{CodeMissingKey, "the Idempotency-Key header is required"})
			return
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		if mutating {
			if st, ok := s.idem[key]; ok {
				if st.path != r.URL.Path {
					writeJSON(w, http.StatusUnprocessableEntity, apiError{CodeInvalidInput, "Idempotency-Key reused for another operation: " + st.path})
					return
				}
				if e := s.byKey[key]; e != nil {
					e.Repeats++
				}
				w.Header().Set("Idempotent-Replay", "true")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(st.status)
				_, _ = w.Write(st.body)
				return
			}
		}
		res, eff, err := h(r, body)
		status := http.StatusOK
		var out any = res
		if err != nil {
			be, ok := err.(*bizError)
			if !ok {
				be = refuse(http.StatusInternalServerError, "internal", "%v", err)
			}
			status, out = be.status, be.apiError
		}
		if mutating {
			encoded, _ := json.Marshal(out)
			// Refusals (4xx) are remembered too: the same request gets the
			// same answer. 5xx answers are not, so a retry can succeed.
			if status < 500 {
				s.idem[key] = &stored{status: status, body: append(encoded, '\n'), path: r.URL.Path}
			}
			if eff != nil {
				e := &LedgerEntry{Key: key, System: system, Kind: eff.kind, Ref: eff.ref, At: s.cfg.Now(), Amount: eff.amount}
				s.ledger = append(s.ledger, e)
				s.byKey[key] = e
				if s.roll(f.FailAfterApplyRate) {
					writeJSON(w, http.StatusInternalServerError, apiError{CodeFailedAfterApp, system + " applied the change, then failed to answer (injected)"})
					return
				}
			}
		}
		writeJSON(w, status, out)
	})
}

func readLimited(r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return refuse(http.StatusBadRequest, CodeInvalidInput, "body: %v", err)
	}
	return nil
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%06d", prefix, s.seq)
}

// Ledger returns a copy of the side effects so far.
func (s *Server) Ledger() []LedgerEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LedgerEntry, len(s.ledger))
	for i, e := range s.ledger {
		out[i] = *e
	}
	return out
}

// Duplicates lists side effects performed more than once for the same kind
// and business reference: what broken idempotency looks like.
func Duplicates(ledger []LedgerEntry) map[string]int {
	count := map[string]int{}
	for _, e := range ledger {
		count[e.Kind+" "+e.Ref]++
	}
	dup := map[string]int{}
	for k, n := range count {
		if n > 1 {
			dup[k] = n
		}
	}
	return dup
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.mux.HandleFunc("GET /ledger", func(w http.ResponseWriter, r *http.Request) {
		entries := s.Ledger()
		if ref := r.URL.Query().Get("ref"); ref != "" {
			kept := entries[:0]
			for _, e := range entries {
				if e.Ref == ref || strings.HasPrefix(e.Ref, ref+"/") {
					kept = append(kept, e)
				}
			}
			entries = kept
		}
		repeats := 0
		for _, e := range entries {
			repeats += e.Repeats
		}
		writeJSON(w, 200, map[string]any{"entries": entries, "repeats": repeats, "duplicates": Duplicates(entries)})
	})
	s.mux.HandleFunc("PUT /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		body, _ := readLimited(r)
		var f map[string]Faults
		if err := json.Unmarshal(body, &f); err != nil {
			writeJSON(w, 400, apiError{CodeInvalidInput, err.Error()})
			return
		}
		for name := range f {
			if name != "*" && !known(name) {
				writeJSON(w, 400, apiError{CodeInvalidInput, "unknown system " + name})
				return
			}
		}
		s.SetFaults(f)
		writeJSON(w, 200, f)
	})
	s.registerFinance()
	s.registerRetail()
	s.registerPeople()
	s.registerInsurance()
}

func known(system string) bool {
	for _, s := range Systems {
		if s == system {
			return true
		}
	}
	return false
}

func sortedSKUs(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

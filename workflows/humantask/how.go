package humantask

// How says how a decision came, for its audit entry (and the audit store's
// via, signature and reason columns).
type How struct {
	Via       string // update or signal
	Signature string // the decider's signature, as sent
	// Reason is the refusal code of a refused decision, or the decider's
	// comment on an accepted one.
	Reason string
}

// refusedHow describes a decision refused on the signal path.
func refusedHow(d Decision, err error) How {
	h := How{Via: "signal", Signature: Clip(d.Signature, MaxSignatureBytes), Reason: RefusedInvalid}
	if r, ok := err.(*Refusal); ok {
		h.Reason = r.Code
	}
	return h
}

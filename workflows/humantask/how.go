package humantask

import "encoding/json"

// How says how a decision came, for its audit entry (and the audit store's
// via, signature, reason and data columns).
type How struct {
	Via       string // update, signal, or trail (a decision a reset run honoured)
	Signature string // the decider's signature, as sent
	// Reason is the refusal code of a refused decision, or the decider's
	// comment on an accepted one.
	Reason string
	// Data is the entry's structured data (compact JSON): a decision's is
	// DecisionData, a task-opened entry's OpenedData.
	Data json.RawMessage
}

// refusedHow describes a refused decision: its code, and the decision as
// received with its task's subject.
func refusedHow(d Decision, err error, via string, s Subject) How {
	h := How{Via: via, Signature: Clip(d.Signature, MaxSignatureBytes), Reason: RefusedInvalid, Data: decisionData(d.clipped(), s)}
	if r, ok := err.(*Refusal); ok {
		h.Reason = r.Code
	}
	return h
}

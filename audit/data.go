package audit

import "time"

// EndData is what an instance's completed entry carries as data, for a
// what-if over the durable audit store once the history is gone: how the
// instance was handled and ended, the routing decision and the facts it
// was taken on, and its human tasks. The reason is the entry's details and
// the close its own time.
type EndData struct {
	StartedAt    time.Time         `json:"startedAt"`
	HandlingPath string            `json:"handlingPath,omitempty"`
	Outcome      string            `json:"outcome"`
	Decision     string            `json:"decision,omitempty"`
	Facts        map[string]string `json:"facts"`
	Tasks        []TaskOutcome     `json:"tasks,omitempty"`
	// Omitted, alone, says the data was not stored and why (it was over
	// the store's bound).
	Omitted string `json:"omitted,omitempty"`
}

// TaskOutcome is a human task as an instance's result and its completed
// entry record it: when it opened and closed, how it ended, and each
// decision (who, which verdict, when).
type TaskOutcome struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	OpenedAt  time.Time `json:"openedAt"`
	ClosedAt  time.Time `json:"closedAt"`
	Decisions []Vote    `json:"decisions,omitempty"`
}

// Vote is one accepted decision on a human task.
type Vote struct {
	Actor      string    `json:"actor"`
	Verdict    string    `json:"verdict"`
	Comment    string    `json:"comment,omitempty"`
	DelegateTo string    `json:"delegateTo,omitempty"`
	At         time.Time `json:"at"`
	Via        string    `json:"via"` // update, signal or trail
	// Signer and Authenticated are set when a trusted signer vouched for
	// the actor (see humantask.Decision).
	Signer        string `json:"signer,omitempty"`
	Authenticated string `json:"authenticated,omitempty"`
	// For names the user Actor decided for, as their substitute while
	// they were away (see policy.Substitute); their vote is spent too.
	For string `json:"for,omitempty"`
	// Values are the task form's values this decision entered, canonical,
	// personal fields left out (the decision entries hold their digests).
	Values map[string]string `json:"values,omitempty"`
}

// KeyState is what the store knows of a workflow ID's instance: the first
// start entry of its chain (whose run, or the lineage its data names, owns
// the business key), its last terminal entry, and the time of its last
// entry. Start is nil when no instance started under the key.
type KeyState struct {
	Start  *Stored   `json:"start,omitempty"`
	End    *Stored   `json:"end,omitempty"`
	LastAt time.Time `json:"lastAt,omitzero"`
}

// AppendResult counts what an append did.
type AppendResult struct {
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	// Heads is each instance's chain head after the append (hex SHA-256):
	// returned to the workflow, it lands in history as an anchor that a
	// rewrite of the whole chain cannot match.
	Heads map[string]string `json:"heads,omitempty"`
}

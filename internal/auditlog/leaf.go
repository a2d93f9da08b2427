package auditlog

import (
	"encoding/json"
	"fmt"
	"time"
)

// Leaf is what the log holds for one stored entry: enough to find the
// entry in the store and prove it unchanged (its chain hash, which covers
// its content, position and predecessor) and who wrote it.
type Leaf struct {
	V           int       `json:"v"`
	WorkflowID  string    `json:"workflowId"`
	Pos         int64     `json:"pos"`
	Hash        string    `json:"hash"`
	At          time.Time `json:"at"`
	Attestation string    `json:"attestation"`
}

// Marshal is the leaf's bytes in the log (JSON, fields in this order).
func (l Leaf) Marshal() []byte {
	l.V = 1
	b, _ := json.Marshal(l)
	return b
}

// ParseLeaf reads a leaf's bytes.
func ParseLeaf(b []byte) (Leaf, error) {
	var l Leaf
	if err := json.Unmarshal(b, &l); err != nil || l.V != 1 || l.WorkflowID == "" || l.Pos < 1 {
		return l, fmt.Errorf("not a Baton audit leaf: %.80q", b)
	}
	return l, nil
}

// Indexed is a leaf's place in the log, as the anchor's index serves it.
type Indexed struct {
	Index uint64    `json:"index"`
	Pos   int64     `json:"pos"`
	Hash  string    `json:"hash"`
	At    time.Time `json:"at"`
}

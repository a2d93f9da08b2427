// Package audit is the audit trail's entry as every side sees it: the
// workflow that writes it, the store that keeps it, the verifiers that
// check it offline. It holds the entry type, the actions, the structured
// data entries carry, and the canonical encoding and hash chain. It
// imports nothing of Baton's: any package may import it.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sources of entries.
const (
	// SourceWorkflow entries come from an instance's own trail, written
	// through the audit activity and keyed by the instance's sequence.
	SourceWorkflow = "workflow"
	// SourceValidator entries are decisions refused by the update
	// validator, which cannot write history; the worker's interceptor
	// writes them, keyed by the update ID.
	SourceValidator = "validator"
)

// Entry is one audit entry as its writer produced it: the instance's trail
// holds them (the record's audit query answers them), the audit activity
// carries them to the store. Its identity in the
// store is (WorkflowID, RunID, Seq) when Seq > 0, or (WorkflowID, RunID,
// UpdateID) for a refused update (Seq 0): a retried write of the same entry
// is stored once.
type Entry struct {
	WorkflowID  string `json:"workflowId"`
	RunID       string `json:"runId"`
	Seq         int64  `json:"seq,omitempty"`
	UpdateID    string `json:"updateId,omitempty"`
	EventID     int64  `json:"eventId,omitempty"`
	Process     string `json:"process"`
	BusinessKey string `json:"businessKey"`
	// Time is workflow time for workflow entries, the worker's clock for
	// validator refusals. The store keeps microseconds.
	Time          time.Time `json:"time"`
	Actor         string    `json:"actor"`
	Action        string    `json:"action"`
	TaskID        string    `json:"taskId,omitempty"`
	Details       string    `json:"details,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	Via           string    `json:"via,omitempty"`
	Signature     string    `json:"signature,omitempty"`
	PolicyVersion string    `json:"policyVersion,omitempty"`
	Source        string    `json:"source"`
	// Data is structured data of the entry, compact JSON, at most
	// MaxDataBytes: an instance's terminal entry carries what a what-if
	// replays (handling path, outcome, routing decision, the facts it was
	// taken on, task timings); the writer puts other data on other entries
	// (the record: the start, tasks opened, decisions).
	Data json.RawMessage `json:"data,omitempty"`
}

// MaxDataBytes bounds an entry's Data. A terminal entry's facts are a few
// scores and amounts and its tasks a few timings: well under 1 KB.
const MaxDataBytes = 32 << 10

// Key identifies an entry within its instance: its run and its sequence
// (or update ID for a validator refusal).
func (e Entry) Key() string { return e.RunID + "/" + e.DedupKey() }

// Stored is an entry as the store keeps it: its place in the instance's
// chain.
type Stored struct {
	Entry
	Pos        int64     `json:"pos,omitempty"`
	PrevHash   string    `json:"prevHash,omitempty"`
	Hash       string    `json:"hash,omitempty"`
	RecordedAt time.Time `json:"recordedAt,omitzero"`
	// Attestation is the writer's signature over Hash ("name base64",
	// auditlog.Writer); empty on entries written without a writer key.
	Attestation string `json:"attestation,omitempty"`
}

// Normalize brings an entry to the form the store keeps (UTC,
// microseconds: PostgreSQL's timestamptz precision), so the hash computed
// before the write matches the one recomputed from the row.
func (e Entry) Normalize() Entry {
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	return e
}

// ErrInvalid wraps an entry that cannot be stored (a missing field).
var ErrInvalid = errors.New("invalid audit entry")

// Validate names the first missing or malformed field (ErrInvalid).
func (e Entry) Validate() error {
	if err := e.check(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func (e Entry) check() error {
	for _, f := range []struct{ name, v string }{
		{"workflowId", e.WorkflowID}, {"runId", e.RunID}, {"process", e.Process},
		{"actor", e.Actor}, {"action", e.Action}, {"source", e.Source},
	} {
		if f.v == "" {
			return fmt.Errorf("%s is empty", f.name)
		}
	}
	if e.Seq < 0 {
		return fmt.Errorf("%s: seq %d is negative", e.WorkflowID, e.Seq)
	}
	if e.Seq == 0 && e.UpdateID == "" {
		return fmt.Errorf("%s: needs a seq or an updateId to be stored exactly once", e.WorkflowID)
	}
	if e.Time.IsZero() {
		return fmt.Errorf("%s: time is empty", e.WorkflowID)
	}
	if len(e.Data) > MaxDataBytes {
		return fmt.Errorf("%s: data is %d bytes, over the bound of %d", e.WorkflowID, len(e.Data), MaxDataBytes)
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return fmt.Errorf("%s: data is not valid JSON", e.WorkflowID)
	}
	return nil
}

// DedupKey identifies an entry within its run: "s:<seq>", or "u:<update
// ID>" for a validator refusal (the store's dedup_key column).
func (e Entry) DedupKey() string {
	if e.Seq > 0 {
		return "s:" + strconv.FormatInt(e.Seq, 10)
	}
	return "u:" + e.UpdateID
}

// Encoding tags start every canonical encoding; a new encoding gets a new
// tag. An entry without Data is encoded as version 1, exactly as before
// Data existed, so chains written then still verify.
const (
	encodingTag     = "baton-audit/v1"
	encodingTagData = "baton-audit/v2"
)

// Canonical is the entry's canonical encoding. Version 1 (an entry without
// Data): the tag "baton-audit/v1", then each field in this fixed order as a
// 4-byte big-endian length followed by its UTF-8 bytes — workflowId, runId,
// seq, updateId, eventId, process, businessKey, time, actor, action,
// taskId, details, reason, via, signature, policyVersion, source — with
// integers in decimal and time in RFC 3339 UTC with up to 6 fractional
// digits. Version 2 (an entry with Data): the tag "baton-audit/v2", the
// same fields, then data (its JSON bytes as stored).
func (e Entry) Canonical() []byte {
	e = e.Normalize()
	fields := []string{
		e.WorkflowID, e.RunID, strconv.FormatInt(e.Seq, 10), e.UpdateID,
		strconv.FormatInt(e.EventID, 10), e.Process, e.BusinessKey,
		e.Time.Format("2006-01-02T15:04:05.999999Z07:00"), e.Actor, e.Action, e.TaskID,
		e.Details, e.Reason, e.Via, e.Signature, e.PolicyVersion, e.Source,
	}
	var b bytes.Buffer
	if len(e.Data) > 0 {
		fields = append(fields, string(e.Data))
		b.WriteString(encodingTagData)
	} else {
		b.WriteString(encodingTag)
	}
	var n [4]byte
	for _, f := range fields {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		b.Write(n[:])
		b.WriteString(f)
	}
	return b.Bytes()
}

// GenesisHash is the previous hash of an instance's first entry.
var GenesisHash = make([]byte, sha256.Size)

// ChainHash is SHA-256 over the previous entry's hash (32 bytes), the
// entry's position in its instance's chain (8 bytes, big-endian, from 1)
// and its canonical encoding.
func ChainHash(prev []byte, pos int64, e Entry) []byte {
	h := sha256.New()
	h.Write(prev)
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], uint64(pos))
	h.Write(p[:])
	h.Write(e.Canonical())
	return h.Sum(nil)
}

// SameFact reports whether two entries under one key record the same fact.
// Time and event ID are left out: an entry made in a workflow task that is
// retried (its worker died after the audit write, before the task
// completed) is made again at the retry's workflow time and history
// length. Its Data may carry times derived from that time too (a task
// closed as the instance ends, a task's deadline counted from when it
// opened), so within Data a timestamp matches when it is the same instant
// or lies at the same distance from its entry's own time, and nothing else
// may differ: other facts, other times, or Data present on one side only
// are a conflict (a completed entry planted before the instance wrote its
// own must not stand as the record). The first write is the record.
func SameFact(a, b Entry) bool {
	if !sameData(a, b) {
		return false
	}
	a.Time, b.Time, a.EventID, b.EventID = time.Time{}, time.Time{}, 0, 0
	a.Data, b.Data = nil, nil
	return bytes.Equal(a.Canonical(), b.Canonical())
}

// sameData compares two entries' Data as JSON, timestamps as SameFact says.
// Data that does not decode is compared byte for byte.
func sameData(a, b Entry) bool {
	if len(a.Data) == 0 || len(b.Data) == 0 {
		return len(a.Data) == len(b.Data)
	}
	va, okA := decodeData(a.Data)
	vb, okB := decodeData(b.Data)
	if !okA || !okB {
		return bytes.Equal(a.Data, b.Data)
	}
	return sameJSON(va, vb, a.Normalize().Time, b.Normalize().Time)
}

func decodeData(data json.RawMessage) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// sameJSON compares decoded JSON values; strings that are both timestamps
// match at the same instant or at the same distance from ta and tb.
func sameJSON(a, b any, ta, tb time.Time) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameJSON(v, w, ta, tb) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i], ta, tb) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		tx, errX := time.Parse(time.RFC3339Nano, x)
		ty, errY := time.Parse(time.RFC3339Nano, y)
		if errX != nil || errY != nil {
			return false
		}
		tx, ty = tx.UTC().Truncate(time.Microsecond), ty.UTC().Truncate(time.Microsecond)
		return tx.Equal(ty) || tx.Sub(ta) == ty.Sub(tb)
	default: // json.Number, bool, nil
		return a == b
	}
}

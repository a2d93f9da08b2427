package auditstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

// Entry is one audit entry as its writer produced it. Its identity in the
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
}

// Key identifies an entry within its instance: its run and its sequence
// (or update ID for a validator refusal).
func (e Entry) Key() string { return e.RunID + "/" + e.dedupKey() }

// Record is an entry as stored: its place in the instance's chain.
type Record struct {
	Entry
	Pos        int64     `json:"pos,omitempty"`
	PrevHash   string    `json:"prevHash,omitempty"`
	Hash       string    `json:"hash,omitempty"`
	RecordedAt time.Time `json:"recordedAt,omitzero"`
}

// normalize brings an entry to the form the store keeps (UTC,
// microseconds: PostgreSQL's timestamptz precision), so the hash computed
// before the write matches the one recomputed from the row.
func (e Entry) normalize() Entry {
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	return e
}

// ErrInvalid wraps an entry that cannot be stored (a missing field).
var ErrInvalid = errors.New("invalid audit entry")

// validate names the first missing field.
func (e Entry) validate() error {
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
	return nil
}

// dedupKey mirrors the table's generated column.
func (e Entry) dedupKey() string {
	if e.Seq > 0 {
		return "s:" + strconv.FormatInt(e.Seq, 10)
	}
	return "u:" + e.UpdateID
}

// encodingTag starts every canonical encoding; a new encoding gets a new tag.
const encodingTag = "baton-audit/v1"

// Canonical is the entry's canonical encoding (version 1): the tag
// "baton-audit/v1", then each field in this fixed order as a 4-byte
// big-endian length followed by its UTF-8 bytes — workflowId, runId, seq,
// updateId, eventId, process, businessKey, time, actor, action, taskId,
// details, reason, via, signature, policyVersion, source — with integers in
// decimal and time in RFC 3339 UTC with up to 6 fractional digits.
func (e Entry) Canonical() []byte {
	e = e.normalize()
	fields := []string{
		e.WorkflowID, e.RunID, strconv.FormatInt(e.Seq, 10), e.UpdateID,
		strconv.FormatInt(e.EventID, 10), e.Process, e.BusinessKey,
		e.Time.Format("2006-01-02T15:04:05.999999Z07:00"), e.Actor, e.Action, e.TaskID,
		e.Details, e.Reason, e.Via, e.Signature, e.PolicyVersion, e.Source,
	}
	var b bytes.Buffer
	b.WriteString(encodingTag)
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
// length. The first write is the record; anything else differing is a
// conflict.
func SameFact(a, b Entry) bool {
	a.Time, b.Time, a.EventID, b.EventID = time.Time{}, time.Time{}, 0, 0
	return bytes.Equal(a.Canonical(), b.Canonical())
}

// ErrConflict is returned when an entry's key is already stored with
// different content: the writer is not deterministic, or the row was
// changed. It is never retried.
var ErrConflict = errors.New("audit entry conflicts with the stored one")

func hexHash(b []byte) string { return hex.EncodeToString(b) }

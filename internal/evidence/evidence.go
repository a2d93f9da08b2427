// Package evidence is the evidence pack of one instance: everything an
// auditor needs to check its audit trail with no server and no database —
// its entries, their leaves in the audit log with inclusion proofs, the
// log's checkpoint signed by the log and cosigned by the witness, the
// public keys of the log, the witness and the writer, the text of every
// policy the entries name (its version is its content hash), and the
// decisions' signatures, checked against the keys the pinned policy holds.
package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/policy"
)

// Format names this pack's format.
const Format = "baton-evidence/v1"

// Pack is one instance's evidence.
type Pack struct {
	Format     string    `json:"format"`
	WorkflowID string    `json:"workflowId"`
	CreatedAt  time.Time `json:"createdAt"`
	// Entries are the instance's whole trail, in position order.
	Entries []audit.Stored `json:"entries"`
	// Leaves are the log's leaves of those entries, with inclusion proofs
	// against Checkpoint.
	Leaves []auditlog.Proven `json:"leaves"`
	// Checkpoint is the log's signed note: signed by the log's key,
	// cosigned by every witness in Keys.
	Checkpoint string `json:"checkpoint"`
	Keys       Keys   `json:"keys"`
	// Policies are the texts of the policy versions the entries name.
	Policies map[string]string `json:"policies"`
}

// Keys are the public keys (signed-note form) the pack is checked with.
type Keys struct {
	Log       string   `json:"log"`
	Witnesses []string `json:"witnesses"`
	Writers   []string `json:"writers"`
}

// decisionData reads a decision entry's Data (humantask.DecisionData),
// telling a missing decision or subject from an empty one.
type decisionData struct {
	Decision *humantask.Decision `json:"decision"`
	Subject  *humantask.Subject  `json:"subject"`
}

// Item is one check of Verify.
type Item struct {
	Name   string `json:"item"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Pins are keys the auditor knows from elsewhere; when set, the pack's
// keys must be these.
type Pins struct {
	Log, Witness, Writer string
}

// Report is Verify's answer: every check in order; the first one that
// failed is Failed.
type Report struct {
	Items  []Item `json:"items"`
	Failed *Item  `json:"failed,omitempty"`
	// Notes are things that could not be checked offline and are not
	// failures (a decision recorded without its signed payload).
	Notes []string `json:"notes,omitempty"`
	// Size is the checkpoint's (0 when it did not verify).
	Size uint64 `json:"checkpointSize,omitempty"`
}

// Verify checks a pack offline and stops at the first item that fails.
func Verify(p *Pack, pins Pins) Report {
	var rep Report
	ok := func(name, format string, args ...any) {
		rep.Items = append(rep.Items, Item{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)})
	}
	fail := func(name, format string, args ...any) Report {
		it := Item{Name: name, Detail: fmt.Sprintf(format, args...)}
		rep.Items = append(rep.Items, it)
		rep.Failed = &it
		return rep
	}
	if p.Format != Format {
		return fail("format", "%q is not %s", p.Format, Format)
	}
	// Keys.
	for _, pin := range []struct{ name, want, got string }{{"log key", pins.Log, p.Keys.Log}} {
		if pin.want != "" && pin.want != pin.got {
			return fail(pin.name, "the pack's %s is not the one you pinned", pin.got)
		}
	}
	if pins.Witness != "" && !slices.Contains(p.Keys.Witnesses, pins.Witness) {
		return fail("witness key", "the pack's witnesses do not include the one you pinned")
	}
	if pins.Writer != "" && !slices.Contains(p.Keys.Writers, pins.Writer) {
		return fail("writer key", "the pack's writers do not include the one you pinned")
	}
	logV, err := auditlog.Verifiers("log key", []string{p.Keys.Log})
	if err != nil {
		return fail("log key", "%v", err)
	}
	witV, err := auditlog.CosignatureVerifiers("witness keys", p.Keys.Witnesses)
	if err != nil || len(witV) == 0 {
		return fail("witness keys", "no usable witness key (%v)", err)
	}
	writers, err := auditlog.Verifiers("writer keys", p.Keys.Writers)
	if err != nil || len(writers) == 0 {
		return fail("writer keys", "no usable writer key (%v)", err)
	}
	ok("keys", "log %s, %d witness(es), %d writer key(s)", logV[0].Name(), len(witV), len(writers))
	// The checkpoint.
	cp, err := auditlog.ParseCheckpoint([]byte(p.Checkpoint), logV[0], witV)
	if err != nil {
		return fail("checkpoint", "%v", err)
	}
	rep.Size = cp.Size
	ok("checkpoint", "%d leaves, signed by %s and cosigned by every witness", cp.Size, cp.Origin)
	// The entries: chain, hashes, attestations.
	prev := hex.EncodeToString(audit.GenesisHash)
	for i, r := range p.Entries {
		name := fmt.Sprintf("entry %d", r.Pos)
		if r.WorkflowID != p.WorkflowID {
			return fail(name, "belongs to %s, not %s", r.WorkflowID, p.WorkflowID)
		}
		if r.Pos != int64(i+1) {
			return fail(name, "is at index %d of the trail: entries are missing or out of order", i+1)
		}
		if r.PrevHash != prev {
			return fail(name, "does not carry the hash of the entry before it")
		}
		if kind, detail := auditlog.Attested(r, writers); kind != "" {
			return fail(name, "%s: %s", kind, detail)
		}
		prev = r.Hash
	}
	ok("entries", "%d entries: chained from the first, each matches its hash and carries a writer's attestation", len(p.Entries))
	// The leaves: included in the checkpoint, and anchoring every entry.
	anchored := map[int64]bool{}
	for _, l := range p.Leaves {
		name := fmt.Sprintf("leaf %d", l.Index)
		if err := auditlog.VerifyInclusion(l.Index, cp.Size, l.Data, l.Proof, cp.Hash); err != nil {
			return fail(name, "%v", err)
		}
		leaf, err := auditlog.ParseLeaf(l.Data)
		if err != nil {
			return fail(name, "%v", err)
		}
		if leaf.WorkflowID != p.WorkflowID || leaf.Pos < 1 || leaf.Pos > int64(len(p.Entries)) {
			return fail(name, "anchors entry %d of %s, which the pack does not hold", leaf.Pos, leaf.WorkflowID)
		}
		if e := p.Entries[leaf.Pos-1]; e.Hash != leaf.Hash {
			return fail(fmt.Sprintf("entry %d", leaf.Pos), "is not the entry the log anchored at leaf %d", l.Index)
		}
		anchored[leaf.Pos] = true
	}
	for _, r := range p.Entries {
		if !anchored[r.Pos] {
			return fail(fmt.Sprintf("entry %d", r.Pos), "is not anchored in the pack's checkpoint")
		}
	}
	ok("anchoring", "every entry is a leaf of the checkpoint's tree (inclusion proofs verify)")
	// The policies.
	parsed := map[string]*policy.Policy{}
	for _, r := range p.Entries {
		v := r.PolicyVersion
		if v == "" || parsed[v] != nil {
			continue
		}
		text, have := p.Policies[v]
		if !have {
			return fail("policy "+v, "the entries name it; the pack lacks its text")
		}
		sum := sha256.Sum256([]byte(text))
		if "sha256:"+hex.EncodeToString(sum[:])[:12] != v {
			return fail("policy "+v, "its text does not hash to its version: it was changed")
		}
		pol, err := policy.Parse([]byte(text))
		if err != nil {
			return fail("policy "+v, "%v", err)
		}
		parsed[v] = pol
	}
	ok("policies", "%d pinned policy text(s), each matching its version", len(parsed))
	// The decisions.
	signed := 0
	for _, r := range p.Entries {
		if r.Action == audit.ActionDecisionRefused {
			continue // refused: its signature need not verify (it may be why)
		}
		var d decisionData
		if len(r.Data) == 0 || json.Unmarshal(r.Data, &d) != nil || d.Decision == nil {
			if r.Action == audit.ActionDecisionAccepted {
				rep.Notes = append(rep.Notes, fmt.Sprintf("entry %d (%s by %s): signature not checkable offline (recorded without its signed decision)", r.Pos, r.Action, r.Actor))
			}
			continue
		}
		name := fmt.Sprintf("decision at entry %d", r.Pos)
		if d.Subject == nil {
			return fail(name, "carries no subject: what its signature covers is unknown")
		}
		if d.Decision.Actor != r.Actor {
			return fail(name, "is by %s, the entry says %s", d.Decision.Actor, r.Actor)
		}
		pol := parsed[r.PolicyVersion]
		if pol == nil {
			return fail(name, "names no pinned policy to check its signature with")
		}
		msg := humantask.SigningBytes(*d.Subject, *d.Decision)
		switch {
		case d.Decision.Signer != "":
			sg, have := pol.Signers[d.Decision.Signer]
			if !have {
				return fail(name, "signer %s is not in policy %s", d.Decision.Signer, r.PolicyVersion)
			}
			if err := humantask.VerifySignerSignature(d.Decision.Signer, d.Decision.Actor, sg, msg, d.Decision.Signature); err != nil {
				return fail(name, "%v", err)
			}
			signed++
		case d.Decision.Signature != "":
			if err := humantask.VerifySignature(d.Decision.Actor, pol.Users[d.Decision.Actor], msg, d.Decision.Signature); err != nil {
				return fail(name, "%v", err)
			}
			signed++
		default:
			rep.Notes = append(rep.Notes, fmt.Sprintf("entry %d (%s by %s): unsigned (policy %s requires signatures: %t)", r.Pos, r.Action, r.Actor, r.PolicyVersion, pol.RequireSignedDecisions))
			if pol.RequireSignedDecisions {
				return fail(name, "is unsigned, and policy %s requires signed decisions", r.PolicyVersion)
			}
		}
	}
	ok("decisions", "%d signed decision(s) verify with the keys of their pinned policy", signed)
	return rep
}

// Marshal writes a pack as JSON.
func (p *Pack) Marshal() ([]byte, error) {
	var b bytes.Buffer
	// Compact, no HTML escaping: an entry's data is hashed as the bytes
	// it was stored with, which indenting or escaping would change.
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Parse reads a pack.
func Parse(b []byte) (*Pack, error) {
	var p Pack
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not an evidence pack: %v", err)
	}
	return &p, nil
}

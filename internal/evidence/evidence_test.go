package evidence_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditlog/auditlogtest"
	"github.com/batonhq/baton/internal/evidence"
)

// packFixture is one instance with a signed decision, anchored, and the
// pack built for it.
type packFixture struct {
	pack  *evidence.Pack
	stack *auditlogtest.Stack
}

func version(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

func newFixture(t *testing.T, tamperSignature bool) packFixture {
	t.Helper()
	ctx := context.Background()
	s := auditlogtest.NewStack(t)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	text := fmt.Sprintf("requireSignedDecisions: true\nusers:\n  ana: {name: Ana, roles: [underwriter], publicKey: %s}\n", base64.StdEncoding.EncodeToString(pub))
	v := version(text)
	if err := s.Store.PutPolicy(ctx, v, []byte(text)); err != nil {
		t.Fatal(err)
	}
	id := "loan-EV1"
	subject := humantask.Subject{WorkflowID: id, RunID: "r1", TaskID: "underwriting", Occurrence: 1, Digest: "0123456789abcdef0123456789abcdef"}
	d := humantask.Decision{TaskID: "underwriting", Verdict: humantask.Approve, Actor: "ana", Comment: "income verified"}
	humantask.Sign(key, subject, &d)
	if tamperSignature {
		d.Comment = "income not verified" // signed over the other comment
	}
	data, _ := json.Marshal(humantask.DecisionData{Decision: d, Subject: subject})
	es := auditlogtest.Entries(id, 3)
	for i := range es {
		es[i].PolicyVersion = v
	}
	es[1].Actor, es[1].Action, es[1].Data = "ana", audit.ActionDecisionAccepted, data
	if _, err := s.Store.Append(ctx, es); err != nil {
		t.Fatal(err)
	}
	s.AnchorAll(t, 3)
	keys := evidence.Keys{Log: s.Keys.LogPub, Witnesses: []string{s.Keys.WitnessPub}, Writers: []string{s.Keys.WriterPub}}
	p, err := evidence.Build(ctx, s.Store, s.Verifier, keys, id, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return packFixture{pack: p, stack: s}
}

// roundTrip writes and reads a pack as an auditor receives it.
func roundTrip(t *testing.T, p *evidence.Pack) *evidence.Pack {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := evidence.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestEvidencePackVerifiesOfflineAndNamesTheFirstEditedItem(t *testing.T) {
	f := newFixture(t, false)
	rep := evidence.Verify(roundTrip(t, f.pack), evidence.Pins{Log: f.pack.Keys.Log})
	if rep.Failed != nil {
		t.Fatalf("a genuine pack fails: %+v", rep.Failed)
	}
	if len(f.pack.Leaves) != 3 || len(f.pack.Policies) != 1 || !strings.Contains(rep.Items[len(rep.Items)-1].Detail, "1 signed decision") {
		t.Fatalf("pack: %d leaves, %d policies; %+v", len(f.pack.Leaves), len(f.pack.Policies), rep.Items)
	}
	for _, tc := range []struct {
		name, item string
		edit       func(p *evidence.Pack)
		pins       evidence.Pins
	}{
		{"an entry's details", "entry 3", func(p *evidence.Pack) { p.Entries[2].Details = "approved by the director" }, evidence.Pins{}},
		{"an entry removed", "leaf 2", func(p *evidence.Pack) { p.Entries = p.Entries[:2] }, evidence.Pins{}},
		{"the decision's comment", "entry 2", func(p *evidence.Pack) {
			p.Entries[1].Data = json.RawMessage(strings.Replace(string(p.Entries[1].Data), "income verified", "income checked", 1))
		}, evidence.Pins{}},
		{"an attestation", "entry 1", func(p *evidence.Pack) { p.Entries[0].Attestation = p.Entries[1].Attestation }, evidence.Pins{}},
		{"the checkpoint's size", "checkpoint", func(p *evidence.Pack) { p.Checkpoint = strings.Replace(p.Checkpoint, "\n3\n", "\n4\n", 1) }, evidence.Pins{}},
		{"a witness key of one's own", "checkpoint", func(p *evidence.Pack) {
			k := auditlogtest.NewKeys(t)
			p.Keys.Witnesses = []string{k.WitnessPub}
		}, evidence.Pins{}},
		{"another log key than the pinned one", "log key", func(p *evidence.Pack) {}, evidence.Pins{Log: auditlogtest.NewKeys(t).LogPub}},
		{"an inclusion proof", "leaf 1", func(p *evidence.Pack) { p.Leaves[1].Proof[0][0] ^= 1 }, evidence.Pins{}},
		{"a leaf's data", "leaf 0", func(p *evidence.Pack) {
			p.Leaves[0].Data = []byte(strings.Replace(string(p.Leaves[0].Data), `"pos":1`, `"pos":2`, 1))
		}, evidence.Pins{}},
		{"the policy text", "policy " + f.pack.Entries[0].PolicyVersion, func(p *evidence.Pack) {
			for v, text := range p.Policies {
				p.Policies[v] = strings.Replace(text, "[underwriter]", "[underwriter, director]", 1)
			}
		}, evidence.Pins{}},
		{"the policy text left out", "policy " + f.pack.Entries[0].PolicyVersion, func(p *evidence.Pack) { p.Policies = map[string]string{} }, evidence.Pins{}},
		{"the format", "format", func(p *evidence.Pack) { p.Format = "baton-evidence/v0" }, evidence.Pins{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := roundTrip(t, f.pack)
			tc.edit(p)
			rep := evidence.Verify(roundTrip(t, p), tc.pins)
			if rep.Failed == nil || rep.Failed.Name != tc.item {
				t.Fatalf("edited %s: failed %+v, want item %q", tc.name, rep.Failed, tc.item)
			}
		})
	}
}

// A decision whose signature does not cover what the entry records fails
// as that decision, even though the writer attested the entry (the
// worker recorded what it received).
func TestEvidencePackChecksDecisionSignatures(t *testing.T) {
	f := newFixture(t, true)
	rep := evidence.Verify(roundTrip(t, f.pack), evidence.Pins{})
	if rep.Failed == nil || rep.Failed.Name != "decision at entry 2" || !strings.Contains(rep.Failed.Detail, "does not verify for ana") {
		t.Fatalf("failed: %+v", rep.Failed)
	}
}

// A decision entry recorded without its signed payload is noted, not
// failed.
func TestEvidencePackNotesDecisionsWithoutPayload(t *testing.T) {
	f := newFixture(t, false)
	p := roundTrip(t, f.pack)
	rep := evidence.Verify(p, evidence.Pins{})
	if rep.Failed != nil || len(rep.Notes) != 0 {
		t.Fatalf("genuine: %+v %v", rep.Failed, rep.Notes)
	}
	// Build one: an entry without data, re-anchored in a fresh instance.
	ctx := context.Background()
	es := auditlogtest.Entries("loan-EV2", 2)
	es[1].Actor, es[1].Action = "ana", audit.ActionDecisionAccepted
	if _, err := f.stack.Store.Append(ctx, es); err != nil {
		t.Fatal(err)
	}
	f.stack.AnchorAll(t, 5)
	q, err := evidence.Build(ctx, f.stack.Store, f.stack.Verifier, f.pack.Keys, "loan-EV2", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rep = evidence.Verify(roundTrip(t, q), evidence.Pins{})
	if rep.Failed != nil || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "signature not checkable offline") {
		t.Fatalf("no payload: %+v %v", rep.Failed, rep.Notes)
	}
}

// A refused decision's signature need not verify (a bad one may be why it
// was refused): the pack checks accepted decisions only.
func TestEvidencePackLeavesRefusedDecisionsUnchecked(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	subject := humantask.Subject{WorkflowID: "loan-EV3", RunID: "r1", TaskID: "underwriting", Occurrence: 1, Digest: "d"}
	data, _ := json.Marshal(humantask.DecisionData{Decision: humantask.Decision{TaskID: "underwriting", Verdict: humantask.Approve, Actor: "ana", Signature: "bm90LWEtc2lnbmF0dXJl"}, Subject: subject})
	es := auditlogtest.Entries("loan-EV3", 2)
	for i := range es {
		es[i].PolicyVersion = f.pack.Entries[0].PolicyVersion
	}
	es[1].Actor, es[1].Action, es[1].Data = "ana", audit.ActionDecisionRefused, data
	if _, err := f.stack.Store.Append(ctx, es); err != nil {
		t.Fatal(err)
	}
	f.stack.AnchorAll(t, 5)
	p, err := evidence.Build(ctx, f.stack.Store, f.stack.Verifier, f.pack.Keys, "loan-EV3", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep := evidence.Verify(roundTrip(t, p), evidence.Pins{}); rep.Failed != nil {
		t.Fatalf("a refused decision failed the pack: %+v", rep.Failed)
	}
}

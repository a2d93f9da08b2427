package humantask

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/textsafe"
)

// Subject is exactly what a decision decides: the run of the instance, the
// task occurrence (the task id and the number the workflow gave the task
// when it opened it) and a digest of the instance's business facts as they
// stood then. A signature covers it, so a signature captured from history
// cannot be replayed on a re-started instance (another run), on a later
// task (another occurrence) or on other facts (another digest). Clients read
// it from the tasks query (TaskView.Subject) before signing.
type Subject struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	TaskID     string `json:"taskId"`
	Occurrence int    `json:"occurrence"`
	Digest     string `json:"digest"`
}

// SigningBytes is what a decision's signature covers: its subject and every
// field of the decision; a decision from a trusted signer (the web inbox)
// also covers the signer and how it authenticated the actor. It is the one
// signing function: the starter's --key and the web inbox call it.
func SigningBytes(s Subject, d Decision) []byte {
	fields := []string{"baton-decision/v2",
		s.WorkflowID, s.RunID, s.TaskID, strconv.Itoa(s.Occurrence), s.Digest,
		d.Verdict, d.Actor, d.DelegateTo, d.Comment}
	if d.Signer != "" {
		fields = append(fields, "signer:"+d.Signer, "authenticated:"+d.Authenticated)
	}
	return []byte(strings.Join(fields, "\n"))
}

// Sign fills in d's signature over subject with key.
func Sign(key ed25519.PrivateKey, s Subject, d *Decision) {
	d.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, SigningBytes(s, *d)))
}

// VerifySignature checks sig (base64) over msg with user's public key; the
// error names what is wrong, for a refusal.
func VerifySignature(user string, u policy.User, msg []byte, sig string) error {
	if u.PublicKey == "" {
		return fmt.Errorf("signature: %s has no public key in the directory", user)
	}
	pub, err := policy.ParsePublicKey(u.PublicKey)
	if err != nil {
		return fmt.Errorf("signature: %s's public key is not an Ed25519 key", user)
	}
	if !verifies(pub, msg, sig) {
		return fmt.Errorf("signature: does not verify for %s", user)
	}
	return nil
}

// VerifySignerSignature checks sig (base64) over msg with a trusted
// signer's public key, for a decision it signed on behalf of actor.
func VerifySignerSignature(signer, actor string, sg policy.Signer, msg []byte, sig string) error {
	pub, err := policy.ParsePublicKey(sg.PublicKey)
	if err != nil {
		return fmt.Errorf("signature: signer %s's public key is not an Ed25519 key", signer)
	}
	if !verifies(pub, msg, sig) {
		return fmt.Errorf("signature: does not verify for %s by signer %s", actor, signer)
	}
	return nil
}

// verifies reports whether sig (base64) is pub's signature of msg.
func verifies(pub ed25519.PublicKey, msg []byte, sig string) bool {
	raw, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && ed25519.Verify(pub, msg, raw)
}

// Bounds of every field of a message (decision, withdraw, cancel), checked
// before anything is stored: Temporal keeps every accepted message in the
// instance's history, so an unbounded field is a way to fill it.
const (
	// MaxNameBytes bounds ids: actor, task id, verdict, delegate.
	MaxNameBytes = 128
	// MaxTextBytes bounds comments and reasons.
	MaxTextBytes = 2000
	// MaxSignatureBytes bounds a signature (an Ed25519 one is 88 in base64).
	MaxSignatureBytes = 128
)

// Field is one field of a message, for CheckBounds.
type Field struct {
	Name, Value string
	Max         int
}

// CheckBounds names the first field longer than its bound, without
// repeating its content.
func CheckBounds(fields ...Field) error {
	for _, f := range fields {
		if len(f.Value) > f.Max {
			return fmt.Errorf("%s: %d bytes, at most %d", f.Name, len(f.Value), f.Max)
		}
	}
	return nil
}

func (d Decision) bounds() error {
	return CheckBounds(
		Field{"taskId", d.TaskID, MaxNameBytes}, Field{"verdict", d.Verdict, MaxNameBytes},
		Field{"actor", d.Actor, MaxNameBytes}, Field{"delegateTo", d.DelegateTo, MaxNameBytes},
		Field{"comment", d.Comment, MaxTextBytes}, Field{"signature", d.Signature, MaxSignatureBytes},
		Field{"signer", d.Signer, MaxNameBytes}, Field{"authenticated", d.Authenticated, MaxTextBytes})
}

// Clip is how much of an untrusted value a refusal records: at most n
// bytes, marked when cut, with control characters and invalid UTF-8
// escaped (textsafe.Clean), so it can neither grow the trail nor rewrite a
// terminal that shows it.
func Clip(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…(cut)"
	}
	return textsafe.Clean(s)
}

// Overlay is the pinned policy with live (the worker's current
// directory entries of some users, read at decision time through a local
// activity so replay sees the same) laid over it: the entries of ids are
// replaced by their live ones (removed when the live directory no longer
// lists them), the trusted signers are the live ones (a signer key removed
// from the policy stops signing for running instances too), and signatures
// are required when either requires them. This is how revocation reaches a
// running instance while its routing rules stay pinned.
func Overlay(pinned, live *policy.Policy, ids ...string) *policy.Policy {
	c := *pinned
	c.Users = maps.Clone(pinned.Users)
	for _, id := range ids {
		if id == "" {
			continue
		}
		if u, ok := live.Users[id]; ok {
			c.Users[id] = u
		} else {
			delete(c.Users, id)
		}
	}
	c.Signers = live.Signers
	c.RequireSignedDecisions = pinned.RequireSignedDecisions || live.RequireSignedDecisions
	return &c
}

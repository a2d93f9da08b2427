package humantask

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/converter"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/strictjson"
	"github.com/batonhq/baton/textsafe"
)

// DecisionData is the data of every decision entry (accepted, delegated,
// honoured, refused): the decision as received, signature included, and
// the subject of its task, so that an auditor can recompute
// SigningBytes(Subject, Decision) from the entry alone and check the
// signature with the key the policy names.
type DecisionData struct {
	Decision Decision `json:"decision"`
	Subject  Subject  `json:"subject"`
	// For is the substitution the actor decided under, standing in for
	// its principal (nil: as themselves).
	For *policy.Substitute `json:"for,omitempty"`
}

// decisionData encodes a decision entry's data.
func decisionData(d Decision, s Subject) json.RawMessage {
	b, _ := json.Marshal(DecisionData{Decision: d, Subject: s, For: d.acting})
	return b
}

// clipped is d with each field cut to its bound (Decision.bounds): what a
// refusal records of an oversize message. A message within its bounds is
// recorded exactly as received.
func (d Decision) clipped() Decision {
	d.TaskID, d.Verdict, d.Actor, d.DelegateTo = cut(d.TaskID, MaxNameBytes), cut(d.Verdict, MaxNameBytes), cut(d.Actor, MaxNameBytes), cut(d.DelegateTo, MaxNameBytes)
	d.Comment, d.Signature = cut(d.Comment, MaxTextBytes), cut(d.Signature, MaxSignatureBytes)
	d.Signer, d.Authenticated = cut(d.Signer, MaxNameBytes), cut(d.Authenticated, MaxTextBytes)
	if len(d.Values)+len(d.Digests) > MaxFields {
		d.Values, d.Digests = nil, nil
	}
	if len(d.Values) > 0 {
		values := map[string]string{}
		for k, v := range d.Values {
			values[cut(k, MaxNameBytes)] = cut(v, MaxValueBytes)
		}
		d.Values = values
	}
	return d
}

// cut keeps at most n bytes of s (on a rune boundary), marking a cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…(cut)"
}

// maxMalformedBytes bounds how much of an undecodable message a refusal
// records as it came.
const maxMalformedBytes = 4 << 10

// decodeDecision decodes a decision signal's payload strictly: JSON, one
// object, no unknown or duplicate keys, every field of its type. The error
// names the field.
func decodeDecision(raw converter.RawValue) (Decision, error) {
	var d Decision
	p := raw.Payload()
	if p == nil {
		return d, fmt.Errorf("payload: empty")
	}
	if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != converter.MetadataEncodingJSON {
		return d, fmt.Errorf("payload: encoding %q is not JSON", cut(enc, MaxNameBytes))
	}
	if err := strictjson.Decode(p.GetData(), &d); err != nil {
		return d, err
	}
	return d, nil
}

// malformedData is what a refusal of an undecodable decision records: the
// message as it came when it is JSON and small, and the subject of the
// instance (no task could be read from it).
func malformedData(raw converter.RawValue, s Subject) json.RawMessage {
	var data struct {
		Decision json.RawMessage `json:"decision"`
		Subject  Subject         `json:"subject"`
	}
	data.Subject = s
	if p := raw.Payload(); p != nil && len(p.GetData()) <= maxMalformedBytes && json.Valid(p.GetData()) {
		data.Decision = p.GetData()
		// Values may be personal: an undecodable message keeps their names.
		var obj map[string]json.RawMessage
		if json.Unmarshal(p.GetData(), &obj) == nil && (obj["values"] != nil || obj["salt"] != nil) {
			delete(obj, "salt")
			if obj["values"] != nil {
				obj["values"] = json.RawMessage(`"(not recorded: the message was refused undecoded)"`)
			}
			data.Decision, _ = json.Marshal(obj)
		}
	}
	b, _ := json.Marshal(data)
	return b
}

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
	// A refused message's values are all recorded as digests: its task, and
	// so which of its fields are personal, may be unknown.
	all := s
	all.Personal = strings.Join(sortedKeys(d.Values), ",")
	h := How{Via: via, Signature: Clip(d.Signature, MaxSignatureBytes), Reason: RefusedInvalid, Data: decisionData(Seal(all, d.clipped()), s)}
	if r, ok := err.(*Refusal); ok {
		h.Reason = r.Code
	}
	return h
}

// Verdicts.
const (
	Approve  = "approve"
	Reject   = "reject"
	Delegate = "delegate"
)

// Decision is the payload of the decide update and the decision signal.
type Decision struct {
	// TaskID may be omitted when exactly one task is open.
	TaskID     string `json:"taskId,omitempty"`
	Verdict    string `json:"verdict"`
	Actor      string `json:"actor"`
	Comment    string `json:"comment,omitempty"`
	DelegateTo string `json:"delegateTo,omitempty"`
	// Signature is an Ed25519 signature (base64) over SigningBytes of the
	// task's Subject and this decision.
	Signature string `json:"signature,omitempty"`
	// Signer names a service the policy trusts to sign for the users it
	// authenticated (policy signers, e.g. the web inbox); the signature is
	// then the signer's, and Authenticated says how it knew the actor
	// (e.g. "oidc https://login.example.com"). Both are covered by it.
	Signer        string `json:"signer,omitempty"`
	Authenticated string `json:"authenticated,omitempty"`

	// acting is the substitution the gate found the actor decides under
	// (not sent: the gate decides it from the directory).
	acting *policy.Substitute
	// Values are the task form's fields as entered (Form.Check: canonical
	// or as people type them), by field name; covered by the signature.
	Values map[string]string `json:"values,omitempty"`
	// Salt (at least 16 random bytes, base64) is required with a personal
	// value: the trail records ValueDigest(salt, name, value) in its place.
	Salt string `json:"salt,omitempty"`
	// Digests stand for personal values in a sealed decision (Seal: what
	// the trail records); a sender never sets them.
	Digests map[string]string `json:"digests,omitempty"`
}

// DecisionResult answers an accepted decision.
type DecisionResult struct {
	TaskID    string `json:"taskId"`
	State     string `json:"state"`
	Approvals int    `json:"approvals"`
	Quorum    int    `json:"quorum"`
	Message   string `json:"message"`
}

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
	// Personal names the task form's personal fields, comma separated:
	// their values are signed, and recorded, as salted digests
	// (ValueDigest).
	Personal string `json:"personal,omitempty"`
}

// SigningBytes is what a decision's signature covers: its subject and every
// field of the decision; a decision from a trusted signer (the web inbox)
// also covers the signer and how it authenticated the actor. It is the one
// signing function: the starter's --key and the web inbox call it.
//
// A decision without values is signed as "baton-decision/v2" (fields
// joined by newlines), exactly as before forms existed, so recorded
// signatures and existing keys keep verifying. A decision with values (or
// digests) is "baton-decision/v3": the tag, then every field on its own
// line as a JSON string (so no field can pass for another): the subject,
// verdict, actor, delegateTo, comment, "signer:" and "authenticated:", then
// one "value:<name>=<value>" per value in name order, where a personal
// field (the subject's Personal) is "value:<name>#sha256=<digest>" with
// ValueDigest(salt, name, value) or, in a sealed decision, its recorded
// digest. So the trail's sealed decision verifies without the value.
func SigningBytes(s Subject, d Decision) []byte {
	if len(d.Values) == 0 && len(d.Digests) == 0 {
		fields := []string{"baton-decision/v2",
			s.WorkflowID, s.RunID, s.TaskID, strconv.Itoa(s.Occurrence), s.Digest,
			d.Verdict, d.Actor, d.DelegateTo, d.Comment}
		if d.Signer != "" {
			fields = append(fields, "signer:"+d.Signer, "authenticated:"+d.Authenticated)
		}
		return []byte(strings.Join(fields, "\n"))
	}
	fields := []string{s.WorkflowID, s.RunID, s.TaskID, strconv.Itoa(s.Occurrence), s.Digest,
		d.Verdict, d.Actor, d.DelegateTo, d.Comment, "signer:" + d.Signer, "authenticated:" + d.Authenticated}
	names := sortedKeys(d.Values)
	for n := range d.Digests {
		if _, dup := d.Values[n]; !dup {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		switch digest, sealed := d.Digests[n]; {
		case sealed:
			fields = append(fields, "value:"+n+"#sha256="+digest)
		case s.isPersonal(n):
			fields = append(fields, "value:"+n+"#sha256="+ValueDigest(d.Salt, n, d.Values[n]))
		default:
			fields = append(fields, "value:"+n+"="+d.Values[n])
		}
	}
	var b strings.Builder
	b.WriteString("baton-decision/v3")
	for _, f := range fields {
		b.WriteByte('\n')
		b.WriteString(jsonString(f))
	}
	return []byte(b.String())
}

// isPersonal reports whether the subject's task declares name personal.
func (s Subject) isPersonal(name string) bool {
	return s.Personal != "" && slices.Contains(strings.Split(s.Personal, ","), name)
}

// jsonString is s as a JSON string, without HTML escaping.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// Sign fills in d's signature over subject with key.
func Sign(key ed25519.PrivateKey, s Subject, d *Decision) {
	d.Signature = SignBytes(key, SigningBytes(s, *d))
}

// SignBytes is key's signature of msg as messages carry it (base64): for
// actions (ActionSigningBytes) and substitutions, signed as decisions are.
func SignBytes(key ed25519.PrivateKey, msg []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
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

// Bound is one field of a message and its bound, for CheckBounds.
type Bound struct {
	Name, Value string
	Max         int
}

// CheckBounds names the first field longer than its bound, without
// repeating its content.
func CheckBounds(fields ...Bound) error {
	for _, f := range fields {
		if len(f.Value) > f.Max {
			return fmt.Errorf("%s: %d bytes, at most %d", f.Name, len(f.Value), f.Max)
		}
	}
	return nil
}

func (d Decision) bounds() error {
	if n := len(d.Values) + len(d.Digests); n > MaxFields {
		return fmt.Errorf("values: %d values, at most %d", n, MaxFields)
	}
	for _, name := range sortedKeys(d.Values) {
		if err := CheckBounds(Bound{"values: a field name", name, MaxNameBytes}, Bound{"values." + cut(name, MaxNameBytes), d.Values[name], MaxValueBytes}); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(d.Digests) {
		if err := CheckBounds(Bound{"digests: a field name", name, MaxNameBytes}, Bound{"digests." + cut(name, MaxNameBytes), d.Digests[name], MaxNameBytes}); err != nil {
			return err
		}
	}
	return CheckBounds(Bound{"salt", d.Salt, MaxNameBytes},
		Bound{"taskId", d.TaskID, MaxNameBytes}, Bound{"verdict", d.Verdict, MaxNameBytes},
		Bound{"actor", d.Actor, MaxNameBytes}, Bound{"delegateTo", d.DelegateTo, MaxNameBytes},
		Bound{"comment", d.Comment, MaxTextBytes}, Bound{"signature", d.Signature, MaxSignatureBytes},
		Bound{"signer", d.Signer, MaxNameBytes}, Bound{"authenticated", d.Authenticated, MaxTextBytes})
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

package humantask

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/converter"

	"github.com/batonhq/baton/internal/strictjson"
)

// DecisionData is the data of every decision entry (accepted, delegated,
// honoured, refused): the decision as received, signature included, and
// the subject of its task, so that an auditor can recompute
// SigningBytes(Subject, Decision) from the entry alone and check the
// signature with the key the policy names.
type DecisionData struct {
	Decision Decision `json:"decision"`
	Subject  Subject  `json:"subject"`
}

// OpenedData is a task-opened entry's data: the occurrence, its subject and
// the task's governance as opened.
type OpenedData struct {
	Occurrence int      `json:"occurrence"`
	Subject    Subject  `json:"subject"`
	Spec       SpecData `json:"spec"`
}

// SpecData is a task's governance as its task-opened entry records it; the
// deadline is absolute (opening time plus the spec's deadline).
type SpecData struct {
	Roles         []string    `json:"roles,omitempty"`
	Users         []string    `json:"users,omitempty"`
	Quorum        int         `json:"quorum"`
	Rejections    int         `json:"rejections"`
	Exclusions    []Exclusion `json:"exclusions,omitempty"`
	Deadline      time.Time   `json:"deadline"`
	OnDeadline    string      `json:"onDeadline"`
	EscalateAfter string      `json:"escalateAfter,omitempty"`
	EscalateTo    []string    `json:"escalateTo,omitempty"`
	DelegateRoles []string    `json:"delegateRoles,omitempty"`
}

// decisionData encodes a decision entry's data.
func decisionData(d Decision, s Subject) json.RawMessage {
	b, _ := json.Marshal(DecisionData{Decision: d, Subject: s})
	return b
}

// openedData encodes t's task-opened data.
func openedData(t *task) json.RawMessage {
	s := t.spec
	sd := SpecData{Roles: t.roles, Users: s.Users, Quorum: s.Quorum, Rejections: t.rejectionsNeeded(), Exclusions: s.Exclusions,
		Deadline: t.deadline, OnDeadline: s.OnDeadline, EscalateTo: s.EscalateTo, DelegateRoles: s.DelegateRoles}
	if s.EscalateAfter > 0 {
		sd.EscalateAfter = s.EscalateAfter.String()
	}
	b, _ := json.Marshal(OpenedData{Occurrence: t.subject.Occurrence, Subject: t.subject, Spec: sd})
	return b
}

// clipped is d with each field cut to its bound (Decision.bounds): what a
// refusal records of an oversize message. A message within its bounds is
// recorded exactly as received.
func (d Decision) clipped() Decision {
	d.TaskID, d.Verdict, d.Actor, d.DelegateTo = cut(d.TaskID, MaxNameBytes), cut(d.Verdict, MaxNameBytes), cut(d.Actor, MaxNameBytes), cut(d.DelegateTo, MaxNameBytes)
	d.Comment, d.Signature = cut(d.Comment, MaxTextBytes), cut(d.Signature, MaxSignatureBytes)
	d.Signer, d.Authenticated = cut(d.Signer, MaxNameBytes), cut(d.Authenticated, MaxTextBytes)
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
	}
	b, _ := json.Marshal(data)
	return b
}

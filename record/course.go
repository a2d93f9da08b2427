package record

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
)

// Course is an instance's trail in brief: what process discovery and
// conformance read of it (the sequence of steps, routing, tasks with their
// specs, decisions with signer and via, escalations and closings, with
// their times), without the entries' texts. The terminal entry's data
// carries it (FinishWith, FailWith), so a reader of the audit store reads
// one attested row per ended instance instead of its whole trail; it is
// the same as CourseOf over the entries the store holds for the run, which
// is how a reader of a whole trail reads it too.
type Course struct {
	// Entries are the run's entries before the terminal one, in order,
	// except refused messages (decision-refused, request-refused,
	// refused-summary), which are not steps.
	Entries []Brief `json:"entries"`
	// Refused counts the decision-refused entries among them.
	Refused int `json:"refused,omitempty"`
}

// EndData is a terminal entry's data as a process writes it
// (FinishWith, FailWith): what a what-if replays (audit.EndData) and the
// run's course. CourseOmitted says the course did not fit the store's
// bound: readers read the whole trail then (Course is also nil on entries
// written before it was recorded).
type EndData struct {
	audit.EndData
	Course        *Course `json:"course,omitempty"`
	CourseOmitted bool    `json:"courseOmitted,omitempty"`
}

// Brief is one entry as discovery and conformance read it: its place,
// time, action, actor and task, and what its details and data say, read
// once (Read).
type Brief struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Task   string    `json:"task,omitempty"`
	// Name is what the entry is about: a step's name without its
	// occurrence (step-completed, step-failed, compensated), the routing
	// decision (routed) or how a task closed (task-closed).
	Name string `json:"name,omitempty"`
	// A task-opened entry's occurrence and governance (Spec, from its
	// data); a trail written before the spec was recorded names the
	// quorum, due time and candidates in the details instead.
	Occurrence int                 `json:"occurrence,omitempty"`
	Spec       *humantask.SpecData `json:"spec,omitempty"`
	Quorum     int                 `json:"quorum,omitempty"`
	Due        time.Time           `json:"due,omitzero"`
	Roles      []string            `json:"roles,omitempty"`
	Users      []string            `json:"users,omitempty"`
	// A decision's verdict, delegate, how it came, the trusted signer who
	// vouched for it and whether it was signed.
	Verdict    string `json:"verdict,omitempty"`
	DelegateTo string `json:"delegateTo,omitempty"`
	Via        string `json:"via,omitempty"`
	Signer     string `json:"signer,omitempty"`
	Signed     bool   `json:"signed,omitempty"`
	// An escalation's added roles and the deadline it extended to.
	AddedRoles []string  `json:"addedRoles,omitempty"`
	Extended   time.Time `json:"extended,omitzero"`
}

// Listed reports whether an action is listed in a course (refused
// messages are counted, not listed).
func Listed(action string) bool {
	switch action {
	case audit.ActionDecisionRefused, audit.ActionRequestRefused, audit.ActionRefusedSummary:
		return false
	}
	return true
}

// CourseOf is the course of a run's entries (in order, the terminal entry
// left out by the caller): one Brief per listed entry, the refused
// decisions counted.
func CourseOf(entries []audit.Entry) Course {
	c := Course{Entries: []Brief{}}
	for _, e := range entries {
		if !Listed(e.Action) {
			if e.Action == audit.ActionDecisionRefused {
				c.Refused++
			}
			continue
		}
		c.Entries = append(c.Entries, Read(e))
	}
	return c
}

var (
	quorumRe    = regexp.MustCompile(`, quorum (\d+), due (\S+)$`)
	addedRe     = regexp.MustCompile(`; added role (.+)$`)
	delegateRe  = regexp.MustCompile(`^delegated to (\S+) via `)
	signerRe    = regexp.MustCompile(`, signed by (\S+) \(authenticated: `)
	extendedRe  = regexp.MustCompile(`deadline extended to ([^;\s]+)`)
	stepIndexRe = regexp.MustCompile(`#\d+$`)
)

// Read reads one entry into its brief: from its data where the entry
// carries it (a task's spec, a decision as received), else from its
// details (trails written before the data was recorded).
func Read(e audit.Entry) Brief {
	// Its time as the store keeps it (UTC, microseconds).
	b := Brief{Seq: e.Seq, At: e.Time.UTC().Truncate(time.Microsecond), Action: e.Action, Actor: e.Actor, Task: e.TaskID}
	switch e.Action {
	case audit.ActionStepCompleted, audit.ActionStepFailed, audit.ActionCompensated:
		b.Name = stepName(e.Details)
	case audit.ActionRouted:
		b.Name, _, _ = strings.Cut(e.Details, ":")
	case audit.ActionTaskClosed:
		b.Name, _, _ = strings.Cut(e.Details, ":")
	case audit.ActionTaskOpened:
		readOpened(&b, e)
	case audit.ActionDecisionAccepted, audit.ActionDelegated:
		readDecision(&b, e)
	case audit.ActionEscalated:
		if m := addedRe.FindStringSubmatch(e.Details); m != nil {
			b.AddedRoles = strings.Split(m[1], ", ")
		}
		if m := extendedRe.FindStringSubmatch(e.Details); m != nil {
			b.Extended, _ = time.Parse(time.RFC3339, m[1])
		}
	}
	return b
}

// stepName is a step's name without its occurrence ("provision-equipment#2").
func stepName(details string) string {
	name, _, _ := strings.Cut(details, ":")
	return stepIndexRe.ReplaceAllString(name, "")
}

// readOpened reads a task-opened entry: its data when recorded, else what
// its details say ("<title>: role a or b, or to be u, quorum 2, due <time>").
func readOpened(b *Brief, e audit.Entry) {
	var d struct {
		Occurrence int                 `json:"occurrence"`
		Spec       *humantask.SpecData `json:"spec"`
	}
	if len(e.Data) > 0 && json.Unmarshal(e.Data, &d) == nil && d.Spec != nil {
		b.Occurrence, b.Spec = d.Occurrence, d.Spec
		return
	}
	loc := quorumRe.FindStringSubmatchIndex(e.Details)
	if loc == nil {
		return
	}
	b.Quorum, _ = strconv.Atoi(e.Details[loc[2]:loc[3]])
	b.Due, _ = time.Parse(time.RFC3339, e.Details[loc[4]:loc[5]])
	// The candidates follow the title's last ": " before them.
	head := e.Details[:loc[0]]
	i := max(strings.LastIndex(head, ": role "), strings.LastIndex(head, ": to be "))
	if i < 0 {
		return
	}
	for _, part := range strings.Split(head[i+2:], ", or ") {
		if r, ok := strings.CutPrefix(part, "role "); ok {
			b.Roles = strings.Split(r, " or ")
		} else if u, ok := strings.CutPrefix(part, "to be "); ok {
			b.Users = strings.Split(u, " or ")
		}
	}
}

// readDecision reads a decision entry: its data when recorded, else its
// action and details ("approve (1 of 2) via update", "reject via signal:
// why", "delegated to ben via update").
func readDecision(b *Brief, e audit.Entry) {
	b.Via, b.Signed = e.Via, e.Signature != ""
	var data struct {
		Decision *humantask.Decision `json:"decision"`
	}
	if len(e.Data) > 0 && json.Unmarshal(e.Data, &data) == nil && data.Decision != nil {
		b.Verdict, b.DelegateTo, b.Signer = data.Decision.Verdict, data.Decision.DelegateTo, data.Decision.Signer
		return
	}
	if e.Action == audit.ActionDelegated {
		b.Verdict = humantask.Delegate
		if m := delegateRe.FindStringSubmatch(e.Details); m != nil {
			b.DelegateTo = m[1]
		}
	} else {
		b.Verdict, _, _ = strings.Cut(e.Details, " ")
	}
	if m := signerRe.FindStringSubmatch(e.Details); m != nil {
		b.Signer = m[1]
	}
}

package insight

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// Policies resolves a pinned policy by its version (the content hash every
// entry carries). ErrUnknownPolicy means it cannot be read here.
type Policies interface {
	PolicyByVersion(ctx context.Context, version string) (*policy.Policy, error)
}

// ErrUnknownPolicy is a policy version no source here holds.
var ErrUnknownPolicy = errors.New("policy version not known")

// PolicySet is Policies over policies loaded in memory (the current policy
// file, earlier files a user names), by version.
type PolicySet map[string]*policy.Policy

// NewPolicySet indexes policies by their versions.
func NewPolicySet(pols ...*policy.Policy) PolicySet {
	s := PolicySet{}
	for _, p := range pols {
		s[p.Version] = p
	}
	return s
}

// PolicyByVersion implements Policies.
func (s PolicySet) PolicyByVersion(_ context.Context, version string) (*policy.Policy, error) {
	if p, ok := s[version]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownPolicy, version)
}

// Processes is what conformance needs of the process descriptions: their
// routing rule and the human tasks their policy requires, both pure
// functions of recorded facts and a policy (workflows.Process.Route and
// Tasks).
type Processes interface {
	Route(process string, facts map[string]string, pol *policy.Policy) (Route, error)
	Tasks(process string, facts map[string]string, pol *policy.Policy) ([]TaskRule, error)
}

// Route is a routing decision's path and decision.
type Route struct {
	Path     string
	Decision string
}

// TaskRule is a human task a policy requires (see workflows.TaskRule).
type TaskRule struct {
	ID            string
	Roles         []string
	Quorum        int
	Deadline      time.Duration
	OnDeadline    string
	EscalateAfter time.Duration
	EscalateTo    []string
	DelegateRoles []string
	// DistinctFrom are earlier tasks whose approvers may not decide it.
	DistinctFrom []string
	// Optional tasks open only when something goes wrong; ID is a prefix.
	Optional bool
}

// Breach kinds.
const (
	BreachSeparation  = "separation-of-duties"
	BreachQuorum      = "four-eyes-and-quorum"
	BreachLevels      = "levels"
	BreachCandidate   = "not-a-candidate"
	BreachDeadline    = "deadline"
	BreachAfterClose  = "decision-after-close"
	BreachRouting     = "routing"
	BreachRevoked     = "revoked"
	BreachUnreadable  = "unreadable"
	deadlineTolerance = 5 * time.Minute
)

// BreachKinds lists every kind, in the order reports list them.
func BreachKinds() []string {
	return []string{BreachSeparation, BreachQuorum, BreachLevels, BreachCandidate, BreachDeadline, BreachAfterClose, BreachRouting, BreachRevoked}
}

// Breach is one rule an instance broke, with the entries that prove it.
type Breach struct {
	WorkflowID    string     `json:"workflowId"`
	Process       string     `json:"process"`
	Kind          string     `json:"kind"`
	TaskID        string     `json:"taskId,omitempty"`
	Detail        string     `json:"detail"`
	PolicyVersion string     `json:"policyVersion"`
	Evidence      []Evidence `json:"evidence"`
}

// Evidence is an entry a breach rests on.
type Evidence struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	TaskID  string    `json:"taskId,omitempty"`
	Details string    `json:"details,omitempty"`
}

func evidence(e audit.Entry) Evidence {
	return Evidence{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, TaskID: e.TaskID, Details: e.Details}
}

// Unchecked says why a rule could not be checked on some instances.
type Unchecked struct {
	Rule      string   `json:"rule"`
	Why       string   `json:"why"`
	Instances int      `json:"instances"`
	Examples  []string `json:"examples"`
}

// Conformance is the check of ended instances against their pinned
// policies.
type Conformance struct {
	Instances int            `json:"instances"`
	Checked   int            `json:"checked"`
	Breaches  []Breach       `json:"breaches"`
	ByKind    map[string]int `json:"byKind"`
	Unchecked []Unchecked    `json:"unchecked"`
	// Policies lists the versions the instances pinned and whether each
	// could be read.
	Policies map[string]bool `json:"policies"`
	// PolicyProblems says why a version that is kept somewhere was not
	// used (a stored text that does not hash to its version).
	PolicyProblems map[string]string `json:"policyProblems,omitempty"`
	// Incomplete lists breaches of trails read from their course whose
	// whole trail could not be read again for the evidence (their evidence
	// lacks the entries' details), with why.
	Incomplete []string `json:"incompleteEvidence,omitempty"`
}

// Conform checks every trail (ended instances) against the policy it
// pinned: separation of duties, four-eyes and quorum, approval levels,
// candidates, deadlines and what happened at them, decisions after a task
// closed, automated routing the policy's rule would not have taken on the
// recorded facts, and decisions by users, keys or signers that the policy
// in force at the time no longer listed. The policy "in force" at a time is
// the version most recently pinned by an instance started before it.
func Conform(ctx context.Context, trails []*Trail, pols Policies, procs Processes) Conformance {
	c := Conformance{Instances: len(trails), ByKind: map[string]int{}, Policies: map[string]bool{}}
	resolved, failed := Resolve(ctx, trails, pols)
	for v := range resolved {
		c.Policies[v] = true
	}
	for v, err := range failed {
		c.Policies[v] = false
		if !errors.Is(err, ErrUnknownPolicy) {
			if c.PolicyProblems == nil {
				c.PolicyProblems = map[string]string{}
			}
			c.PolicyProblems[v] = err.Error()
		}
	}
	timeline := newTimeline(trails, resolved)
	unchecked := map[[2]string]*Unchecked{}
	skip := func(t *Trail, rule, why string) {
		k := [2]string{rule, why}
		u := unchecked[k]
		if u == nil {
			u = &Unchecked{Rule: rule, Why: why}
			unchecked[k] = u
		}
		u.Instances++
		if len(u.Examples) < 3 {
			u.Examples = append(u.Examples, t.WorkflowID)
		}
	}
	check := func(t *Trail) *checker {
		ch := &checker{t: t, pol: resolved[t.PolicyVersion], polErr: failed[t.PolicyVersion], procs: procs, timeline: timeline}
		ch.skip = func(t *Trail, rule, why string) { ch.skips = append(ch.skips, [2]string{rule, why}) }
		ch.run()
		return ch
	}
	for _, t := range trails {
		if t.Ended == "" {
			continue
		}
		c.Checked++
		ch := check(t)
		if ch.partial && t.Full != nil {
			// A breach of a trail read from its course: the whole trail,
			// read again, gives its evidence (the same breaches: the
			// course is the trail's, CourseOf).
			if full, err := t.Full(ctx); err == nil && full.Ended != "" {
				ch = check(full)
			} else if err != nil {
				c.Incomplete = append(c.Incomplete, t.WorkflowID+": "+err.Error())
			}
		}
		for _, k := range ch.skips {
			skip(t, k[0], k[1])
		}
		c.Breaches = append(c.Breaches, ch.breaches...)
	}
	for _, b := range c.Breaches {
		c.ByKind[b.Kind]++
	}
	for _, k := range slices.SortedFunc(maps.Keys(unchecked), func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) }) {
		c.Unchecked = append(c.Unchecked, *unchecked[k])
	}
	if c.Breaches == nil {
		c.Breaches = []Breach{}
	}
	return c
}

// timeline is which policy version was in force when: each version from the
// start of the first instance that pinned it.
type timeline struct {
	from     []time.Time
	versions []string
	pols     map[string]*policy.Policy
}

func newTimeline(trails []*Trail, pols map[string]*policy.Policy) timeline {
	first := map[string]time.Time{}
	for _, t := range trails {
		at := cmp.Or(t.Span.Begun, t.Span.Start)
		if v := t.PolicyVersion; v != "" && !at.IsZero() {
			if f, ok := first[v]; !ok || at.Before(f) {
				first[v] = at
			}
		}
	}
	tl := timeline{pols: pols}
	for _, v := range slices.SortedFunc(maps.Keys(first), func(a, b string) int { return first[a].Compare(first[b]) }) {
		tl.from, tl.versions = append(tl.from, first[v]), append(tl.versions, v)
	}
	return tl
}

// at is the version in force at t and its policy (nil when not readable).
func (tl timeline) at(t time.Time) (string, *policy.Policy) {
	i, _ := slices.BinarySearchFunc(tl.from, t, func(a, b time.Time) int { return a.Compare(b) })
	// i is the first start after or at t; the one in force started before.
	for i < len(tl.from) && !tl.from[i].After(t) {
		i++
	}
	if i == 0 {
		return "", nil
	}
	v := tl.versions[i-1]
	return v, tl.pols[v]
}

type checker struct {
	t        *Trail
	pol      *policy.Policy
	polErr   error
	procs    Processes
	timeline timeline
	skip     func(t *Trail, rule, why string)
	skips    [][2]string
	breaches []Breach
	// partial: a breach's evidence lies in entries not read (FromCourse)
	partial bool
}

func (c *checker) breach(kind, task, detail string, entries ...int) {
	b := Breach{WorkflowID: c.t.WorkflowID, Process: c.t.Process, Kind: kind, TaskID: task, Detail: detail, PolicyVersion: c.t.PolicyVersion}
	slices.Sort(entries)
	for _, i := range slices.Compact(entries) {
		if e, ok := c.t.entry(i); ok {
			b.Evidence = append(b.Evidence, evidence(e))
		} else if i >= 0 && i < len(c.t.Course) {
			// Known from the course only: without its details until
			// Conform reads the whole trail (Trail.Full).
			br := c.t.Course[i]
			b.Evidence = append(b.Evidence, Evidence{Seq: br.Seq, Time: br.At, Actor: br.Actor, Action: br.Action, TaskID: br.Task})
			c.partial = true
		}
	}
	c.breaches = append(c.breaches, b)
}

func (c *checker) run() {
	t := c.t
	c.afterClose()
	c.separation()
	c.deadlines()
	if c.pol == nil {
		why := "policy " + cmp.Or(t.PolicyVersion, "(none recorded)") + " is not known here"
		if c.polErr != nil && !errors.Is(c.polErr, ErrUnknownPolicy) {
			why = c.polErr.Error()
		}
		for _, rule := range []string{BreachRouting, BreachQuorum, BreachLevels, BreachCandidate, BreachRevoked} {
			c.skip(t, rule, why)
		}
		return
	}
	c.candidates()
	c.revoked()
	switch {
	case t.Unreadable != "":
		c.breach(BreachUnreadable, "", t.Unreadable, c.terminalEntry())
		return
	case t.Ended != audit.ActionCompleted:
		return // a failed instance recorded no facts: its routing and tasks cannot be held to the rule
	case !t.Recorded:
		why := "the trail is older than the recorded facts (its completed entry has no data)"
		for _, rule := range []string{BreachRouting, BreachQuorum, BreachLevels} {
			c.skip(t, rule, why)
		}
		return
	}
	c.routing()
	c.required()
}

// entryOf finds the index of the first course entry with action (and
// task, if set).
func (c *checker) entryOf(action, task string) int {
	for i, b := range c.t.Course {
		if b.Action == action && (task == "" || b.Task == task) {
			return i
		}
	}
	return -1
}

func (c *checker) terminalEntry() int {
	for i := len(c.t.Course) - 1; i >= 0; i-- {
		if terminal(c.t.Course[i].Action) {
			return i
		}
	}
	return -1
}

// afterClose: no decision is accepted once its task closed, or once the
// instance ended.
func (c *checker) afterClose() {
	end := c.terminalEntry()
	for _, k := range c.t.Tasks {
		for _, d := range k.Decisions {
			switch {
			case k.ClosedAt >= 0 && d.Entry > k.ClosedAt:
				c.breach(BreachAfterClose, k.ID, fmt.Sprintf("%s's %s was accepted after task %s closed %s", d.Actor, d.Verdict, k.ID, k.State), k.ClosedAt, d.Entry)
			case end >= 0 && d.Entry > end:
				c.breach(BreachAfterClose, k.ID, fmt.Sprintf("%s's %s was accepted after the instance ended", d.Actor, d.Verdict), end, d.Entry)
			}
		}
	}
}

// separation: nobody decides a task the spec excluded them from, nor
// decides one task twice.
func (c *checker) separation() {
	recorded := false
	for _, k := range c.t.Tasks {
		seen := map[string]int{}
		if k.Spec != nil {
			recorded = true
		}
		for _, d := range k.Decisions {
			if k.Spec != nil {
				for _, x := range k.Spec.Exclusions {
					if d.Actor == x.User || (d.DelegateTo != "" && d.DelegateTo == x.User) {
						who := d.Actor
						if d.Actor != x.User {
							who = "delegate " + d.DelegateTo
						}
						c.breach(BreachSeparation, k.ID, fmt.Sprintf("%s decided task %s although excluded (%s)", who, k.ID, x.Reason), k.OpenedAt, d.Entry)
					}
				}
			}
			if first, ok := seen[d.Actor]; ok && d.Verdict != humantask.Delegate {
				c.breach(BreachSeparation, k.ID, fmt.Sprintf("%s decided task %s twice", d.Actor, k.ID), first, d.Entry)
			}
			if d.Verdict != humantask.Delegate {
				seen[d.Actor] = d.Entry
			}
		}
	}
	if !recorded && len(c.t.Tasks) > 0 {
		c.skip(c.t, BreachSeparation, "the trail is older than recorded task specs: exclusions (the requester, the new hire) not checked; levels and repeated deciders are")
	}
}

// deadlines: no decision after the deadline; at the deadline the task
// expired or escalated as its spec says; an escalation due before it
// happened.
func (c *checker) deadlines() {
	for _, k := range c.t.Tasks {
		due := k.Deadline()
		if due.IsZero() {
			c.skip(c.t, BreachDeadline, "a task's deadline is not recorded")
			continue
		}
		for _, d := range k.Decisions {
			if d.At.After(due.Add(deadlineTolerance)) {
				c.breach(BreachDeadline, k.ID, fmt.Sprintf("%s's %s at %s came after the deadline %s", d.Actor, d.Verdict, d.At.Format(time.RFC3339), due.Format(time.RFC3339)), k.OpenedAt, d.Entry)
			}
		}
		closed := k.Closed
		if closed.IsZero() {
			closed = c.t.Span.Close
		}
		if k.State != humantask.StateExpired && !closed.IsZero() && closed.After(due.Add(deadlineTolerance)) {
			c.breach(BreachDeadline, k.ID, fmt.Sprintf("task %s was still open %s after its deadline %s, neither expired nor escalated", k.ID, closed.Sub(due).Round(time.Second), due.Format(time.RFC3339)),
				k.OpenedAt, k.ClosedAt)
		}
		if k.State == humantask.StateExpired && k.Spec != nil && k.Spec.OnDeadline == "escalate" && k.Extended.IsZero() {
			c.breach(BreachDeadline, k.ID, fmt.Sprintf("task %s expired at its deadline where its spec escalates", k.ID), k.OpenedAt, k.ClosedAt)
		}
	}
}

// candidates: every decider held a candidate role under the pinned policy
// (the task's roles, those an escalation added, its delegation roles for
// a named-user task), was named, or was delegated to.
func (c *checker) candidates() {
	for _, k := range c.t.Tasks {
		if len(k.Roles) == 0 && len(k.Users) == 0 {
			c.skip(c.t, BreachCandidate, "a task's candidates are not recorded")
			continue
		}
		named := slices.Clone(k.Users)
		for _, d := range k.Decisions {
			ok := slices.Contains(named, d.Actor)
			roles := append(slices.Clone(k.Roles), k.AddedRoles...)
			for _, r := range roles {
				ok = ok || c.pol.HasRole(d.Actor, r)
			}
			if !ok {
				c.breach(BreachCandidate, k.ID, fmt.Sprintf("%s decided task %s without being a candidate under policy %s (needs %s)", d.Actor, k.ID, c.pol.Version, candidates(roles, named)), k.OpenedAt, d.Entry)
			}
			if d.DelegateTo != "" {
				named = append(named, d.DelegateTo)
			}
		}
	}
}

func candidates(roles, users []string) string {
	var parts []string
	if len(roles) > 0 {
		parts = append(parts, "role "+strings.Join(roles, " or "))
	}
	if len(users) > 0 {
		parts = append(parts, "to be "+strings.Join(users, " or "))
	}
	return cmp.Or(strings.Join(parts, ", or "), "nobody")
}

// revoked: a decision stands only if the policy in force when it was taken
// still listed its actor (with a candidate role), its signer and, for a
// decision signed by the actor, the key that signed it.
func (c *checker) revoked() {
	for _, k := range c.t.Tasks {
		for _, d := range k.Decisions {
			v, live := c.timeline.at(d.At)
			if v == "" || v == c.t.PolicyVersion {
				if d.Signer != "" {
					if _, ok := c.pol.Signers[d.Signer]; !ok {
						c.breach(BreachRevoked, k.ID, fmt.Sprintf("%s's %s is signed by %s, which policy %s does not trust", d.Actor, d.Verdict, d.Signer, c.pol.Version), d.Entry)
					}
				}
				continue
			}
			if live == nil {
				c.skip(c.t, BreachRevoked, "the policy in force at a decision ("+v+") is not known here")
				continue
			}
			u, listed := live.Users[d.Actor]
			pinned := c.pol.Users[d.Actor]
			switch {
			case !listed:
				c.breach(BreachRevoked, k.ID, fmt.Sprintf("%s decided at %s, when policy %s in force no longer listed them", d.Actor, d.At.Format(time.RFC3339), v), d.Entry)
			case d.Signer != "":
				if _, ok := live.Signers[d.Signer]; !ok {
					c.breach(BreachRevoked, k.ID, fmt.Sprintf("%s's %s is signed by %s, no longer trusted by policy %s in force at %s", d.Actor, d.Verdict, d.Signer, v, d.At.Format(time.RFC3339)), d.Entry)
				}
			case d.Signed && u.PublicKey != pinned.PublicKey:
				c.breach(BreachRevoked, k.ID, fmt.Sprintf("%s signed with a key policy %s in force at %s had replaced or removed", d.Actor, v, d.At.Format(time.RFC3339)), d.Entry)
			}
			if listed && !slices.Contains(k.Users, d.Actor) {
				held := false
				for _, r := range append(slices.Clone(k.Roles), k.AddedRoles...) {
					held = held || slices.Contains(u.Roles, r)
				}
				delegated := false
				for _, o := range k.Decisions {
					delegated = delegated || (o.DelegateTo == d.Actor && o.Entry < d.Entry)
				}
				if !held && !delegated && (len(k.Roles) > 0 || len(k.AddedRoles) > 0) {
					c.breach(BreachRevoked, k.ID, fmt.Sprintf("%s decided at %s, when policy %s in force no longer gave them %s", d.Actor, d.At.Format(time.RFC3339), v, candidates(append(slices.Clone(k.Roles), k.AddedRoles...), nil)), d.Entry)
				}
			}
		}
	}
}

// routing: an instance's recorded route is the one the pinned policy's
// rule takes on its recorded facts.
func (c *checker) routing() {
	t := c.t
	if len(t.Facts) == 0 && t.Decision == "" {
		return // ended before routing
	}
	r, err := c.procs.Route(t.Process, t.Facts, c.pol)
	if err != nil {
		c.skip(t, BreachRouting, "the recorded facts do not suffice: "+err.Error())
		return
	}
	if r.Path == t.Path && (t.Decision == "" || r.Decision == t.Decision) {
		return
	}
	what := "automated routing"
	if t.Path != record.PathAutomated {
		what = "routing"
	}
	c.breach(BreachRouting, "", fmt.Sprintf("%s %s (%s) is not what policy %s takes on the recorded facts %s: %s (%s)",
		what, cmp.Or(t.Decision, "-"), t.Path, c.pol.Version, factsText(t.Facts), r.Decision, r.Path),
		c.entryOf(audit.ActionRouted, ""), c.terminalEntry())
}

func factsText(f map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		parts = append(parts, k+"="+f[k])
	}
	return strings.Join(parts, ", ")
}

// required: every task the policy requires on the facts was opened with
// at least its quorum, approved by that many distinct candidates before a
// later level opened or the instance completed past it, by people who did
// not approve the levels it must be distinct from.
func (c *checker) required() {
	t := c.t
	rules, err := c.procs.Tasks(t.Process, t.Facts, c.pol)
	if err != nil {
		c.skip(t, BreachLevels, "the recorded facts do not suffice: "+err.Error())
		return
	}
	byID := map[string]*Task{}
	for _, k := range t.Tasks {
		byID[k.ID] = k
	}
	stopped := "" // a required task that was not approved ends the chain
	for _, r := range rules {
		if r.Optional {
			for _, k := range t.Tasks {
				if strings.HasPrefix(k.ID, r.ID) {
					c.quorum(r, k)
				}
			}
			continue
		}
		k := byID[r.ID]
		if k == nil {
			if stopped == "" && !c.endedBefore(r) {
				c.breach(BreachLevels, r.ID, fmt.Sprintf("policy %s requires task %s (%s, quorum %d) on the recorded facts %s; the instance completed (%s) without it",
					c.pol.Version, r.ID, candidates(r.Roles, nil), r.Quorum, factsText(t.Facts), cmp.Or(t.Outcome, "-")), c.terminalEntry())
			}
			continue
		}
		if stopped != "" {
			c.breach(BreachLevels, k.ID, fmt.Sprintf("task %s opened although task %s before it was not approved", k.ID, stopped), k.OpenedAt)
		}
		c.quorum(r, k)
		for _, earlier := range r.DistinctFrom {
			if e := byID[earlier]; e != nil {
				for _, a := range k.Approvers() {
					if slices.Contains(e.Approvers(), a) {
						c.breach(BreachSeparation, k.ID, fmt.Sprintf("%s approved both %s and %s: levels must be decided by different people", a, earlier, k.ID),
							e.approval(a), k.approval(a))
					}
				}
			}
		}
		if k.State != humantask.StateApproved && stopped == "" {
			stopped = k.ID
		}
	}
}

// endedBefore reports whether the instance ended (rejected, withdrawn,
// cancelled) before it could reach the required task: it then completed
// with a task of the chain not approved, or with none opened and no step
// after routing.
func (c *checker) endedBefore(r TaskRule) bool {
	t := c.t
	for _, k := range t.Tasks {
		if k.State != humantask.StateApproved {
			return true
		}
	}
	// No task at all: ended before the first (a customer's withdrawal).
	routed := c.entryOf(audit.ActionRouted, "")
	if routed < 0 {
		return true
	}
	for _, b := range t.Course[routed+1:] {
		if b.Action == audit.ActionRequested {
			return true
		}
	}
	return false
}

// quorum: an approved task had its quorum of distinct approvers, and was
// opened with it.
func (c *checker) quorum(r TaskRule, k *Task) {
	if k.Quorum > 0 && k.Quorum < r.Quorum {
		c.breach(BreachQuorum, k.ID, fmt.Sprintf("task %s opened with quorum %d where policy %s requires %d on the recorded facts %s", k.ID, k.Quorum, c.pol.Version, r.Quorum, factsText(c.t.Facts)), k.OpenedAt)
	}
	if k.State != humantask.StateApproved {
		return
	}
	if n := len(k.Approvers()); n < r.Quorum {
		entries := []int{k.OpenedAt, k.ClosedAt}
		for _, d := range k.Decisions {
			entries = append(entries, d.Entry)
		}
		c.breach(BreachQuorum, k.ID, fmt.Sprintf("task %s closed approved by %d distinct approver(s) (%s); policy %s requires %d", k.ID, n, strings.Join(k.Approvers(), ", "), c.pol.Version, r.Quorum), entries...)
	}
}

// approval is the entry of user's approval of the task (-1: none).
func (k *Task) approval(user string) int {
	for _, d := range k.Decisions {
		if d.Actor == user && d.Verdict == humantask.Approve {
			return d.Entry
		}
	}
	return -1
}

package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tasks is how people work on tasks, across processes: claims, comments,
// priority and substitutes. Every part is optional; TaskSettings fills in
// the defaults.
type Tasks struct {
	Claims      Claims           `yaml:"claims,omitempty" json:"claims,omitzero"`
	Comments    Comments         `yaml:"comments,omitempty" json:"comments,omitzero"`
	Priority    PriorityRules    `yaml:"priority,omitempty" json:"priority,omitzero"`
	Substitutes SubstituteRights `yaml:"substitutes,omitempty" json:"substitutes,omitzero"`
}

// Claim modes.
const (
	// ClaimAdvisory: a claim shows who works on a task; others may still
	// decide it (the default).
	ClaimAdvisory = "advisory"
	// ClaimExclusive: while a claim holds, only its holder may decide the
	// task or claim it.
	ClaimExclusive = "exclusive"
)

// Claims say what a claim on a task means.
type Claims struct {
	// Mode is advisory (the default) or exclusive.
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// LapseAfter ends a claim its holder left idle this long (no comment,
	// follow-up or decision of theirs on the task); 0: claims never lapse.
	LapseAfter Duration `yaml:"lapseAfter,omitempty" json:"lapseAfter,omitempty"`
	// ReleaseRoles may release anyone's claim (the holder always may).
	ReleaseRoles []string `yaml:"releaseRoles,omitempty" json:"releaseRoles,omitempty"`
}

// Comments bound a task's thread.
type Comments struct {
	// Max is how many comments a task takes (default DefaultMaxComments).
	Max int `yaml:"max,omitempty" json:"max,omitempty"`
}

// DefaultMaxComments bounds a task's thread when the policy does not.
const DefaultMaxComments = 50

// PriorityRules give tasks their priority.
type PriorityRules struct {
	// Rules raise a task's priority: the highest a matching rule gives
	// wins; without one it is normal. A rule with DueWithin raises it when
	// that little time is left before the deadline.
	Rules []PriorityRule `yaml:"rules,omitempty" json:"rules,omitempty"`
	// SetRoles may set a task's priority by hand; from then on the rules
	// leave that task's priority alone.
	SetRoles []string `yaml:"setRoles,omitempty" json:"setRoles,omitempty"`
}

// PriorityRule gives Priority to tasks that match every condition it sets.
type PriorityRule struct {
	Priority string `yaml:"priority" json:"priority"`
	// Process limits the rule to one process.
	Process string `yaml:"process,omitempty" json:"process,omitempty"`
	// AmountAbove matches tasks of instances whose amount is above it.
	AmountAbove *float64 `yaml:"amountAbove,omitempty" json:"amountAbove,omitempty"`
	// DueWithin matches once no more than this is left before the deadline.
	DueWithin Duration `yaml:"dueWithin,omitempty" json:"dueWithin,omitempty"`
}

// SubstituteRights say who may set substitutes and for how long.
type SubstituteRights struct {
	// SetRoles may set a substitute for anyone (a user always may for
	// themselves).
	SetRoles []string `yaml:"setRoles,omitempty" json:"setRoles,omitempty"`
	// MaxDays bounds a substitution's window (default DefaultMaxSubstituteDays).
	MaxDays int `yaml:"maxDays,omitempty" json:"maxDays,omitempty"`
}

// DefaultMaxSubstituteDays bounds a substitution when the policy does not.
const DefaultMaxSubstituteDays = 90

// Priorities, lowest first; tasks are normal unless a rule or a person
// says otherwise.
const (
	PriorityLow    = 1
	PriorityNormal = 2
	PriorityHigh   = 3
	PriorityUrgent = 4
)

var priorityNames = []string{"", "low", "normal", "high", "urgent"}

// PriorityName names a priority ("normal" for an unknown one).
func PriorityName(p int) string {
	if p < PriorityLow || p > PriorityUrgent {
		return "normal"
	}
	return priorityNames[p]
}

// ParsePriority reads a priority's name.
func ParsePriority(s string) (int, error) {
	if i := slices.Index(priorityNames, strings.ToLower(strings.TrimSpace(s))); i > 0 {
		return i, nil
	}
	return 0, fmt.Errorf("%q is not one of low, normal, high, urgent", s)
}

// TaskSettings is the policy's tasks section with its defaults filled in
// (never nil).
func (p *Policy) TaskSettings() Tasks {
	var t Tasks
	if p != nil && p.Tasks != nil {
		t = *p.Tasks
	}
	if t.Claims.Mode == "" {
		t.Claims.Mode = ClaimAdvisory
	}
	if t.Comments.Max <= 0 {
		t.Comments.Max = DefaultMaxComments
	}
	if t.Substitutes.MaxDays <= 0 {
		t.Substitutes.MaxDays = DefaultMaxSubstituteDays
	}
	return t
}

// HoldsAny reports whether user holds one of roles.
func (p *Policy) HoldsAny(user string, roles []string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return p.HasRole(user, r) })
}

// Priority is the priority the rules give a task of process, of an
// instance with amount (nil: none), left before its deadline.
func (r PriorityRules) Priority(process string, amount *float64, left time.Duration) int {
	best := PriorityNormal
	for _, rule := range r.Rules {
		if rule.matches(process, amount) && (rule.DueWithin == 0 || left <= rule.DueWithin.D()) {
			if p, err := ParsePriority(rule.Priority); err == nil && p > best {
				best = p
			}
		}
	}
	return best
}

// Raises lists, soonest first, the times left before a deadline at which
// a DueWithin rule would raise the priority of a task of process with
// amount above current.
func (r PriorityRules) Raises(process string, amount *float64) []time.Duration {
	var out []time.Duration
	for _, rule := range r.Rules {
		if rule.DueWithin > 0 && rule.matches(process, amount) && !slices.Contains(out, rule.DueWithin.D()) {
			out = append(out, rule.DueWithin.D())
		}
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int(b - a) })
	return out
}

func (rule PriorityRule) matches(process string, amount *float64) bool {
	if rule.Process != "" && rule.Process != process {
		return false
	}
	if rule.AmountAbove != nil && (amount == nil || *amount <= *rule.AmountAbove) {
		return false
	}
	return true
}

// validateTasks checks the tasks section and names the bad entry.
func (p *Policy) validateTasks() error {
	t := p.Tasks
	if t == nil {
		return nil
	}
	switch t.Claims.Mode {
	case "", ClaimAdvisory, ClaimExclusive:
	default:
		return fmt.Errorf("policy: tasks.claims.mode: %q is not one of advisory, exclusive", t.Claims.Mode)
	}
	if t.Claims.LapseAfter < 0 {
		return fmt.Errorf("policy: tasks.claims.lapseAfter: negative")
	}
	if err := p.rolesHaveUsers("tasks.claims.releaseRoles", t.Claims.ReleaseRoles); err != nil {
		return err
	}
	if t.Comments.Max < 0 || t.Comments.Max > 1000 {
		return fmt.Errorf("policy: tasks.comments.max: %d is not between 0 (the default, %d) and 1000", t.Comments.Max, DefaultMaxComments)
	}
	for i, r := range t.Priority.Rules {
		path := fmt.Sprintf("tasks.priority.rules[%d]", i)
		if _, err := ParsePriority(r.Priority); err != nil {
			return fmt.Errorf("policy: %s.priority: %w", path, err)
		}
		if r.DueWithin < 0 {
			return fmt.Errorf("policy: %s.dueWithin: negative", path)
		}
		if r.Process == "" && r.AmountAbove == nil && r.DueWithin == 0 {
			return fmt.Errorf("policy: %s: set at least one of process, amountAbove, dueWithin", path)
		}
	}
	if err := p.rolesHaveUsers("tasks.priority.setRoles", t.Priority.SetRoles); err != nil {
		return err
	}
	if err := p.rolesHaveUsers("tasks.substitutes.setRoles", t.Substitutes.SetRoles); err != nil {
		return err
	}
	if t.Substitutes.MaxDays < 0 || t.Substitutes.MaxDays > 366 {
		return fmt.Errorf("policy: tasks.substitutes.maxDays: %d is not between 0 (the default, %d) and 366", t.Substitutes.MaxDays, DefaultMaxSubstituteDays)
	}
	return nil
}

// Substitute is a time-bounded substitution: Substitute may decide what
// Principal may, while Principal is away (From to Until), for Roles (empty:
// all of Principal's roles and the tasks named to them). Substitutions are
// not part of the policy file: they are set while processes run (package
// substitutes keeps them, signed and audited) and reach a decision through
// the live directory (Policy.Substitutes).
type Substitute struct {
	ID         string    `json:"id"`
	Principal  string    `json:"principal"`
	Substitute string    `json:"substitute"`
	Roles      []string  `json:"roles,omitempty"`
	From       time.Time `json:"from"`
	Until      time.Time `json:"until"`
	// SetBy is who set it (Principal, or a holder of a role of
	// tasks.substitutes.setRoles).
	SetBy string `json:"setBy"`
}

// InForce reports whether the substitution holds at t: From <= t < Until.
func (s Substitute) InForce(t time.Time) bool { return !t.Before(s.From) && t.Before(s.Until) }

// Covers reports whether the substitution covers role.
func (s Substitute) Covers(role string) bool {
	return len(s.Roles) == 0 || slices.Contains(s.Roles, role)
}

// Text is the substitution as the trail and the inbox say it: "ben for
// ana, away 2026-12-20 to 2027-01-04".
func (s Substitute) Text() string {
	return fmt.Sprintf("%s for %s, away %s to %s", s.Substitute, s.Principal, day(s.From), day(s.Until))
}

// day writes t as a date, or a date and time when it is not midnight UTC.
func day(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// InForceAt keeps the substitutions that hold at t.
func InForceAt(subs []Substitute, t time.Time) []Substitute {
	var out []Substitute
	for _, s := range subs {
		if s.InForce(t) {
			out = append(out, s)
		}
	}
	return out
}

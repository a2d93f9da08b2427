// Package policy defines Baton's governance file: the directory of users and
// roles, and one section per process (routing rules, approval levels, quorum,
// deadlines, reminders, escalation) that the process itself decodes with
// Section and checks with ValidateTask. The worker loads and validates it;
// processes receive it through an activity, so each instance pins the exact
// policy (and its version) in its history.
//
// The package holds plain data and pure functions only, so that workflow code
// may import it.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Deadline outcomes of a human task.
const (
	OnDeadlineReject   = "reject"   // the task expires and counts as a rejection
	OnDeadlineEscalate = "escalate" // escalation roles are added and the deadline restarts once
)

// Policy is the whole governance file plus its content-hash version.
type Policy struct {
	// Version is "sha256:" and the first 12 hex digits of the file's hash;
	// it is set by Parse, never read from the file.
	Version string `yaml:"-" json:"version"`
	// RequireSignedDecisions refuses unsigned decisions when true.
	RequireSignedDecisions bool            `yaml:"requireSignedDecisions" json:"requireSignedDecisions"`
	Users                  map[string]User `yaml:"users" json:"users"`
	// Signers are services trusted to sign decisions on behalf of the users
	// they authenticated (the web inbox): a decision naming a signer is
	// verified against the signer's key instead of the actor's.
	Signers map[string]Signer `yaml:"signers,omitempty" json:"signers,omitempty"`
	// Insight names who may see how the processes run (the web inbox's
	// process maps and charts): holders of its roles.
	Insight *Insight `yaml:"insight,omitempty" json:"insight,omitempty"`
	// Tasks says how people work on tasks: claims, comments, priority,
	// substitutes (TaskSettings fills in its defaults).
	Tasks *Tasks `yaml:"tasks,omitempty" json:"tasks,omitempty"`
	// Substitutes are the substitutions of the live directory (never
	// read from the file): see Substitute.
	Substitutes []Substitute `yaml:"-" json:"substitutes,omitempty"`
	// Processes holds each process's own section, as JSON. The policy
	// package does not know the processes: each decodes and validates its
	// section with Section (package workflows does that for all of them).
	Processes map[string]json.RawMessage `yaml:"-" json:"processes"`
}

// User is one entry of the directory.
type User struct {
	Name  string   `yaml:"name" json:"name"`
	Roles []string `yaml:"roles" json:"roles"`
	// PublicKey is an Ed25519 public key, base64; used for signed decisions.
	PublicKey string `yaml:"publicKey,omitempty" json:"publicKey,omitempty"`
	// Subject and Email map an OpenID Connect identity to this user: the
	// provider's subject ("sub"), or a verified email address.
	Subject string `yaml:"subject,omitempty" json:"subject,omitempty"`
	Email   string `yaml:"email,omitempty" json:"email,omitempty"`
}

// Signer is a service trusted to sign decisions for any user it has
// authenticated.
type Signer struct {
	// PublicKey is an Ed25519 public key, base64.
	PublicKey string `yaml:"publicKey" json:"publicKey"`
}

// Insight is who may see the insight pages.
type Insight struct {
	Roles []string `yaml:"roles" json:"roles"`
}

// MaySeeInsight reports whether user holds a role of the policy's insight
// entry (nobody, without one).
func (p *Policy) MaySeeInsight(user string) bool {
	return p.Insight != nil && slices.ContainsFunc(p.Insight.Roles, func(r string) bool { return p.HasRole(user, r) })
}

// Task is the governance of one kind of human task.
type Task struct {
	Roles  []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	Quorum int      `yaml:"quorum,omitempty" json:"quorum,omitempty"`
	// Rejections is how many distinct rejections end the task rejected;
	// 0 or 1 means any rejection does.
	Rejections    int         `yaml:"rejections,omitempty" json:"rejections,omitempty"`
	Deadline      Duration    `yaml:"deadline" json:"deadline"`
	ReminderEvery Duration    `yaml:"reminderEvery,omitempty" json:"reminderEvery,omitempty"`
	Escalation    *Escalation `yaml:"escalation,omitempty" json:"escalation,omitempty"`
	OnDeadline    string      `yaml:"onDeadline,omitempty" json:"onDeadline,omitempty"`
}

// Escalation widens a task's candidates after a delay.
type Escalation struct {
	After    Duration `yaml:"after" json:"after"`
	AddRoles []string `yaml:"addRoles" json:"addRoles"`
}

// Duration is a time.Duration written as "48h" or "30m" in the file.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 48h", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use e.g. 48h, 30m)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON reads "48h" (as the file has it) or nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a duration such as 48h, got %s", b)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (use e.g. 48h, 30m)", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the file's form ("48h0m0s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Parse decodes and validates a policy file's content and stamps its version.
func Parse(data []byte) (*Policy, error) {
	if len(data) > MaxFileBytes {
		return nil, errTooLarge
	}
	var file struct {
		Policy    `yaml:",inline"`
		Processes map[string]any `yaml:"processes"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p := file.Policy
	p.Processes = map[string]json.RawMessage{}
	for name, section := range file.Processes {
		raw, err := json.Marshal(section)
		if err != nil {
			return nil, fmt.Errorf("policy: processes.%s: %w", name, err)
		}
		p.Processes[name] = raw
	}
	sum := sha256.Sum256(data)
	p.Version = "sha256:" + hex.EncodeToString(sum[:])[:12]
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// HasRole reports whether user holds role.
func (p *Policy) HasRole(user, role string) bool {
	u, ok := p.Users[user]
	return ok && slices.Contains(u.Roles, role)
}

// UsersWithRole lists the users holding role, sorted.
func (p *Policy) UsersWithRole(role string) []string {
	var out []string
	for id, u := range p.Users {
		if slices.Contains(u.Roles, role) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks the whole policy and names the first bad entry.
func (p *Policy) Validate() error {
	if len(p.Users) == 0 {
		return fmt.Errorf("policy: users: the directory is empty")
	}
	for _, id := range slices.Sorted(maps.Keys(p.Users)) {
		u := p.Users[id]
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, " \t") {
			return fmt.Errorf("policy: users.%q: user ids are single words", id)
		}
		if len(u.Roles) == 0 {
			return fmt.Errorf("policy: users.%s.roles: a user needs at least one role", id)
		}
	}
	if err := p.validateKeys(); err != nil {
		return err
	}
	if p.Insight != nil {
		if len(p.Insight.Roles) == 0 {
			return fmt.Errorf("policy: insight.roles: name at least one role (or leave insight out: nobody sees the insight pages)")
		}
		if err := p.rolesHaveUsers("insight.roles", p.Insight.Roles); err != nil {
			return err
		}
	}
	if err := p.validateTasks(); err != nil {
		return err
	}
	return p.validateIdentities()
}

// validateIdentities checks the signers' keys and that no OpenID Connect
// subject or email maps to two users.
func (p *Policy) validateIdentities() error {
	for _, name := range slices.Sorted(maps.Keys(p.Signers)) {
		if _, err := ParsePublicKey(p.Signers[name].PublicKey); err != nil {
			return fmt.Errorf("policy: signers.%s.publicKey: %w", name, err)
		}
	}
	subjects, emails := map[string]string{}, map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(p.Users)) {
		u := p.Users[id]
		if u.Subject != "" {
			if other, dup := subjects[u.Subject]; dup {
				return fmt.Errorf("policy: users.%s.subject: already the subject of %s", id, other)
			}
			subjects[u.Subject] = id
		}
		if u.Email != "" {
			e := strings.ToLower(u.Email)
			if other, dup := emails[e]; dup {
				return fmt.Errorf("policy: users.%s.email: already the email of %s", id, other)
			}
			emails[e] = id
		}
	}
	return nil
}

// UserByIdentity finds the user an OpenID Connect identity maps to: by
// subject, else by email when the provider verified it.
func (p *Policy) UserByIdentity(subject, email string, emailVerified bool) (string, bool) {
	for _, id := range slices.Sorted(maps.Keys(p.Users)) {
		if s := p.Users[id].Subject; s != "" && s == subject {
			return id, true
		}
	}
	if email == "" || !emailVerified {
		return "", false
	}
	for _, id := range slices.Sorted(maps.Keys(p.Users)) {
		if e := p.Users[id].Email; e != "" && strings.EqualFold(e, email) {
			return id, true
		}
	}
	return "", false
}

// Section decodes process's section of the policy into a T, refusing
// unknown keys; errors name the section. Processes call it to read their own
// governance (in workflow code too: it is a pure function of the pinned policy).
func Section[T any](p *Policy, process string) (T, error) {
	var out T
	raw, ok := p.Processes[process]
	if !ok {
		return out, fmt.Errorf("policy: processes.%s: the section is missing", process)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		msg = strings.Replace(msg, "unknown field", "field", 1)
		if strings.HasPrefix(msg, "field ") && !strings.Contains(msg, " not found") {
			msg += " not found"
		}
		return out, fmt.Errorf("policy: processes.%s: %s", process, msg)
	}
	return out, nil
}

// ValidateTask checks one task entry at path (e.g. processes.loan.underwriting);
// needRoles says whether the entry must name candidate roles.
func (p *Policy) ValidateTask(path string, t Task, needRoles bool) error {
	if needRoles && len(t.Roles) == 0 {
		return fmt.Errorf("policy: %s.roles: at least one role is needed", path)
	}
	if err := p.rolesHaveUsers(path+".roles", t.Roles); err != nil {
		return err
	}
	if t.Quorum < 0 {
		return fmt.Errorf("policy: %s.quorum: %d is negative", path, t.Quorum)
	}
	if err := p.validateQuorum(path, t); err != nil {
		return err
	}
	if t.Rejections < 0 {
		return fmt.Errorf("policy: %s.rejections: %d is negative", path, t.Rejections)
	}
	if t.Deadline <= 0 {
		return fmt.Errorf("policy: %s.deadline: a positive deadline is needed (e.g. 48h)", path)
	}
	if t.ReminderEvery < 0 {
		return fmt.Errorf("policy: %s.reminderEvery: negative", path)
	}
	if e := t.Escalation; e != nil {
		if e.After <= 0 || e.After >= t.Deadline {
			return fmt.Errorf("policy: %s.escalation.after: must be positive and before the deadline (%s)", path, t.Deadline.D())
		}
		if len(e.AddRoles) == 0 {
			return fmt.Errorf("policy: %s.escalation.addRoles: at least one role is needed", path)
		}
		if err := p.rolesHaveUsers(path+".escalation.addRoles", e.AddRoles); err != nil {
			return err
		}
	}
	switch t.OnDeadline {
	case "", OnDeadlineReject, OnDeadlineEscalate:
	default:
		return fmt.Errorf("policy: %s.onDeadline: %q is not one of reject, escalate", path, t.OnDeadline)
	}
	if t.OnDeadline == OnDeadlineEscalate && t.Escalation == nil {
		return fmt.Errorf("policy: %s.onDeadline: escalate needs an escalation entry", path)
	}
	return nil
}

func (p *Policy) rolesHaveUsers(path string, roles []string) error {
	for _, r := range roles {
		if len(p.UsersWithRole(r)) == 0 {
			return fmt.Errorf("policy: %s: role '%s' has no users", path, r)
		}
	}
	return nil
}

// QuorumOrOne returns the task's quorum, at least 1.
func (t Task) QuorumOrOne() int {
	if t.Quorum < 1 {
		return 1
	}
	return t.Quorum
}

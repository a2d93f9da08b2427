package humantask

// Substitutes at the gate: who a substitute decides for, and the
// directory a message is judged by with the substitutions in force laid
// over it. The substitutions themselves are kept, signed and audited by
// package substitutes; they reach a running instance only through the
// live directory (a recorded local activity, so replay sees the same).

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/batonhq/baton/policy"
)

// OverlayAt is Overlay with the live directory's substitutions in force at
// now (workflow time) in which users stand in, and the live entries of the
// users they stand in for: a substitution is honoured only inside its
// window, and only for roles its principal holds now.
func OverlayAt(pinned, live *policy.Policy, now time.Time, users ...string) *policy.Policy {
	subs := policy.InForceAt(live.Substitutes, now)
	ids := slices.Clone(users)
	for _, s := range subs {
		if slices.Contains(users, s.Substitute) {
			ids = append(ids, s.Principal)
		}
	}
	c := Overlay(pinned, live, ids...)
	c.Substitutes = subs
	return c
}

// actingFor is the substitution under which user may decide t (nil when
// none): one in p.Substitutes naming user as the substitute of someone who
// may decide t by a role the substitution covers (or, when it covers all
// roles, by being named), who is not excluded and has not decided. The
// first such principal in name order is chosen. A user who may decide t
// themselves acts as themselves (nil).
func (t TaskView) actingFor(p *policy.Policy, user string) *policy.Substitute {
	if p == nil || t.named(user) || t.holdsRole(p, user) || t.holdsDelegation(p, user) {
		return nil
	}
	for _, s := range t.substitutions(p, user) {
		if _, excluded := t.exclusion(s.Principal); !excluded && !t.decided(s.Principal) {
			return &s
		}
	}
	return nil
}

// substitutions are the substitutions in p under which user stands in for
// someone who is a candidate of t by a covered role (or by name, for one
// covering all roles), by principal.
func (t TaskView) substitutions(p *policy.Policy, user string) []policy.Substitute {
	var out []policy.Substitute
	for _, s := range p.Substitutes {
		if s.Substitute != user || s.Principal == user {
			continue
		}
		covered := len(s.Roles) == 0 && t.named(s.Principal)
		for _, r := range t.Roles {
			if s.Covers(r) && p.HasRole(s.Principal, r) {
				covered = true
			}
		}
		if covered {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Principal < out[j].Principal })
	return out
}

// substituteRefusal is MayAct's code for a user who is no candidate of t
// themselves: excluded or already decided when the only users they stand
// in for are, else not a candidate.
func (t TaskView) substituteRefusal(p *policy.Policy, user string) string {
	code := RefusedNoRole
	if p == nil {
		return code
	}
	for _, s := range t.substitutions(p, user) {
		if _, excluded := t.exclusion(s.Principal); excluded {
			code = RefusedExcluded
		} else if code != RefusedExcluded && t.decided(s.Principal) {
			code = RefusedAlreadyDecided
		}
	}
	return code
}

// exclusionText says why user is excluded from t: their own exclusion, or
// that of the user they stand in for.
func (t TaskView) exclusionText(p *policy.Policy, user string) string {
	if reason, ok := t.exclusion(user); ok {
		return reason
	}
	if p != nil {
		for _, s := range t.substitutions(p, user) {
			if reason, ok := t.exclusion(s.Principal); ok {
				return fmt.Sprintf("%s stands in for %s: %s", user, s.Principal, reason)
			}
		}
	}
	return "excluded"
}

// decidedText says why user's vote on t is spent: they decided it, their
// substitute decided it for them, or the users they stand in for decided it.
func (t TaskView) decidedText(p *policy.Policy, user, what string) string {
	for _, v := range t.Votes {
		switch {
		case v.Actor == user && what == "decide":
			return fmt.Sprintf("%s already decided task %q", user, t.ID)
		case v.Actor == user:
			return fmt.Sprintf("%s may not %s task %q: they already decided it", user, what, t.ID)
		case v.For == user:
			return fmt.Sprintf("%s may not %s task %q: %s decided it for them, as their substitute", user, what, t.ID, v.Actor)
		}
	}
	var principals []string
	if p != nil {
		for _, s := range t.substitutions(p, user) {
			principals = append(principals, s.Principal)
		}
	}
	return fmt.Sprintf("%s may not %s task %q: %s, for whom %s stands in, already decided it", user, what, t.ID, orNone(principals), user)
}

// principalOf is the user a substitution stands in for ("" for nil).
func principalOf(s *policy.Substitute) string {
	if s == nil {
		return ""
	}
	return s.Principal
}

// actingText names, for the trail, whom a decision was taken for: ", ben
// for ana, away 2026-12-20 to 2027-01-04".
func actingText(d Decision) string {
	if d.acting == nil {
		return ""
	}
	return ", " + d.acting.Text()
}

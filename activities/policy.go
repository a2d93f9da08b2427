package activities

import (
	"context"
	"sync"

	"github.com/batonhq/baton/policy"
)

// Policy serves the governance policy the worker loaded and validated at
// start. Processes call it first, so the exact policy is recorded in their
// history and pinned per instance (replay-safe).
type Policy struct {
	Current *policy.Policy
	mu      sync.RWMutex
}

// ReloadPolicy replaces the worker's current policy: running instances
// keep their pinned routing rules, but their decisions are checked against
// the new directory (see Directory). (A function, not a method: every
// method of Policy is an activity.)
func ReloadPolicy(p *Policy, pol *policy.Policy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Current = pol
}

func (p *Policy) current() *policy.Policy {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.Current
}

// Directory returns the worker's current directory entries of users (those
// it lists), its trusted signers, its version and whether it requires
// signed decisions: read at
// decision time as a local activity, so a key or role removed from the
// policy stops working on running instances.
func (p *Policy) Directory(_ context.Context, users []string) (*policy.Policy, error) {
	return CurrentDirectory(p, users...), nil
}

// CurrentDirectory is what the Directory activity returns, read directly:
// the worker gives it to the update validator (humantask.ValidatorDirectory),
// which cannot call an activity. (A function, not a method: every method
// of Policy is an activity.)
func CurrentDirectory(p *Policy, users ...string) *policy.Policy {
	cur := p.current()
	out := &policy.Policy{Version: cur.Version, RequireSignedDecisions: cur.RequireSignedDecisions,
		Users: map[string]policy.User{}, Signers: cur.Signers}
	for _, u := range users {
		if e, ok := cur.Users[u]; ok {
			out.Users[u] = e
		}
	}
	return out
}

// LoadPolicyResult is the policy snapshot a process pins.
type LoadPolicyResult struct {
	Policy policy.Policy `json:"policy"`
}

// LoadPolicy returns the policy snapshot.
func (p *Policy) LoadPolicy(_ context.Context) (*LoadPolicyResult, error) {
	return &LoadPolicyResult{Policy: *p.current()}, nil
}

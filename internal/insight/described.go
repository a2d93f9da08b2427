package insight

import (
	"fmt"
	"sync"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
)

// Described is Processes over Baton's process descriptions: each one's own
// routing function and task rules (process.Description.Rules, the ones its
// workflow runs), compiled once per process and policy. The zero value is
// ready; it is safe for concurrent use.
type Described struct {
	// Catalog is the processes whose rules it takes.
	Catalog *process.Catalog
	mu      sync.Mutex
	rules   map[describedKey]process.Rules
}

type describedKey struct {
	process string
	pol     *policy.Policy
}

func (d *Described) compiled(name string, pol *policy.Policy) (process.Rules, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := describedKey{name, pol}
	if r, ok := d.rules[k]; ok {
		return r, nil
	}
	desc, ok := d.Catalog.Lookup(name)
	if !ok {
		return process.Rules{}, fmt.Errorf("unknown process %q", name)
	}
	r, err := desc.Rules(pol)
	if err != nil {
		return r, err
	}
	if d.rules == nil {
		d.rules = map[describedKey]process.Rules{}
	}
	d.rules[k] = r
	return r, nil
}

// Route implements Processes.
func (d *Described) Route(process string, facts map[string]string, pol *policy.Policy) (Route, error) {
	r, err := d.compiled(process, pol)
	if err != nil {
		return Route{}, err
	}
	route, err := r.Route(facts)
	return Route{Path: route.Path, Decision: route.Decision}, err
}

// Tasks implements Processes.
func (d *Described) Tasks(process string, facts map[string]string, pol *policy.Policy) ([]TaskRule, error) {
	r, err := d.compiled(process, pol)
	if err != nil {
		return nil, err
	}
	rules, err := r.Tasks(facts)
	if err != nil {
		return nil, err
	}
	out := make([]TaskRule, len(rules))
	for i, r := range rules {
		out[i] = TaskRule{ID: r.ID, Roles: r.Roles, Quorum: r.Quorum, Deadline: r.Deadline, OnDeadline: r.OnDeadline,
			EscalateAfter: r.EscalateAfter, EscalateTo: r.EscalateTo, DelegateRoles: r.DelegateRoles, DistinctFrom: r.DistinctFrom, Optional: r.Optional}
	}
	return out, nil
}

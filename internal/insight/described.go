package insight

import (
	"fmt"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
)

// Described is Processes over Baton's process descriptions: each one's own
// routing function and task rules (workflows.Process.Route and Tasks), the
// ones its workflow runs.
type Described struct{}

// Route implements Processes.
func (Described) Route(process string, facts map[string]string, pol *policy.Policy) (Route, error) {
	d, ok := workflows.Lookup(process)
	if !ok {
		return Route{}, fmt.Errorf("unknown process %q", process)
	}
	r, err := d.Route(facts, pol)
	return Route{Path: r.Path, Decision: r.Decision}, err
}

// Tasks implements Processes.
func (Described) Tasks(process string, facts map[string]string, pol *policy.Policy) ([]TaskRule, error) {
	d, ok := workflows.Lookup(process)
	if !ok {
		return nil, fmt.Errorf("unknown process %q", process)
	}
	rules, err := d.Tasks(facts, pol)
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

package activities

import (
	"context"

	"baton/policy"
)

// Policy serves the governance policy the worker loaded and validated at
// start. Processes call it first, so the exact policy is recorded in their
// history and pinned per instance (replay-safe).
type Policy struct {
	Current *policy.Policy
}

// LoadPolicyResult is the policy snapshot a process pins.
type LoadPolicyResult struct {
	Policy policy.Policy `json:"policy"`
}

// LoadPolicy returns the policy snapshot.
func (p *Policy) LoadPolicy(_ context.Context) (*LoadPolicyResult, error) {
	return &LoadPolicyResult{Policy: *p.Current}, nil
}

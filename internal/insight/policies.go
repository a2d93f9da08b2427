package insight

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/batonhq/baton/policy"
)

// PolicyTexts is where the pinned policies' texts are kept by version
// (auditstore.Store: its append-only audit_policies table, which the
// worker fills with the text of every policy it pins). A version not kept
// answers nil, nil.
type PolicyTexts interface {
	Policy(ctx context.Context, version string) ([]byte, error)
}

// StoredPolicies is Policies over the texts a PolicyTexts keeps. A text is
// trusted only when it hashes to its version (the version is the text's
// content hash, so the text proves itself, as in an evidence pack) and it
// validates as a policy with every process's section; otherwise the
// version is not used, and the error says why. Answers are kept, so each
// version is read once. Safe for concurrent use.
type StoredPolicies struct {
	Texts PolicyTexts
	// Check validates a policy's process sections (the catalog's
	// CheckPolicy); nil checks the policy alone.
	Check func(*policy.Policy) error

	mu   sync.Mutex
	read map[string]storedPolicy
}

type storedPolicy struct {
	pol *policy.Policy
	err error
}

// PolicyByVersion implements Policies.
func (s *StoredPolicies) PolicyByVersion(ctx context.Context, version string) (*policy.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.read[version]; ok {
		return r.pol, r.err
	}
	pol, err := s.parse(ctx, version)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	if s.read == nil {
		s.read = map[string]storedPolicy{}
	}
	s.read[version] = storedPolicy{pol, err}
	return pol, err
}

func (s *StoredPolicies) parse(ctx context.Context, version string) (*policy.Policy, error) {
	body, err := s.Texts.Policy(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", version, err)
	}
	if body == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPolicy, version)
	}
	pol, err := policy.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("policy %s: the audit store's text does not read as a policy: %w", version, err)
	}
	if pol.Version != version {
		return nil, fmt.Errorf("policy %s: the audit store's text hashes to %s, not to its version: it was changed in the database, so it is not used (starter audit --verify checks the entries)", version, pol.Version)
	}
	if s.Check == nil {
		return pol, nil
	}
	if err := s.Check(pol); err != nil {
		return nil, fmt.Errorf("policy %s: the audit store's text does not validate here: %w", version, err)
	}
	return pol, nil
}

// FirstOf is Policies that asks each of pols in turn and answers with the
// first that knows the version. When none does, the error is the first
// that says more than "not known" (a text that does not hash to its
// version), else ErrUnknownPolicy.
func FirstOf(pols ...Policies) Policies { return firstOf(pols) }

type firstOf []Policies

func (f firstOf) PolicyByVersion(ctx context.Context, version string) (*policy.Policy, error) {
	var worse error
	for _, p := range f {
		pol, err := p.PolicyByVersion(ctx, version)
		if err == nil {
			return pol, nil
		}
		if worse == nil && !errors.Is(err, ErrUnknownPolicy) {
			worse = err
		}
	}
	if worse != nil {
		return nil, worse
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownPolicy, version)
}

// Resolve reads the policy of every version the trails pinned: the ones
// read, by version, and why each of the others could not be.
func Resolve(ctx context.Context, trails []*Trail, pols Policies) (map[string]*policy.Policy, map[string]error) {
	read, failed := map[string]*policy.Policy{}, map[string]error{}
	for _, t := range trails {
		v := t.PolicyVersion
		if _, ok := read[v]; ok || v == "" {
			continue
		}
		if _, ok := failed[v]; ok {
			continue
		}
		if p, err := pols.PolicyByVersion(ctx, v); err != nil {
			failed[v] = err
		} else {
			read[v] = p
		}
	}
	return read, failed
}

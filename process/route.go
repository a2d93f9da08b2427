package process

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/policy"
)

// Route is a routing decision: the handling path (record.PathAutomated or
// record.PathManual), the decision taken, why (for the audit trail), and
// the facts it was taken on (recorded in the instance record, so it can be
// taken again). Verdict is what an automated decision decides
// (humantask.Approve or humantask.Reject; empty when people decide), so a
// what-if can set it beside what people decided.
type Route struct {
	Path     string            `json:"path"`
	Decision string            `json:"decision"`
	Verdict  string            `json:"verdict,omitempty"`
	Reason   string            `json:"reason"`
	Facts    map[string]string `json:"facts,omitempty"`
}

// Route records a routing decision: its handling path, the facts it used,
// and why, in the audit trail.
func (p *Proc) Route(ctx workflow.Context, r Route) {
	p.decision = r.Decision
	for _, k := range slices.Sorted(maps.Keys(r.Facts)) {
		p.SetFact(k, r.Facts[k])
	}
	p.SetPath(ctx, r.Path, r.Reason)
}

// CheckSection builds a description's CheckPolicy: it decodes the
// process's section into a T and hands it to check.
func CheckSection[T any](process string, check func(p *policy.Policy, sec T) error) func(*policy.Policy) error {
	return func(p *policy.Policy) error {
		sec, err := policy.Section[T](p, process)
		if err != nil {
			return err
		}
		return check(p, sec)
	}
}

// SectionRules builds a description's Rules from the process's pure
// routing and task functions: its section of a policy is decoded into a T
// once, and each instance's recorded facts are read with parsers into an F.
func SectionRules[T, F any](process string, parsers func(f *F) []FactParser, route func(f F, sec T) Route, tasks func(f F, sec T) []TaskRule) func(*policy.Policy) (Rules, error) {
	return func(p *policy.Policy) (Rules, error) {
		sec, err := policy.Section[T](p, process)
		if err != nil {
			return Rules{}, err
		}
		read := func(facts map[string]string) (F, error) {
			var f F
			return f, ParseFacts(facts, parsers(&f)...)
		}
		return Rules{
			Route: func(facts map[string]string) (Route, error) {
				f, err := read(facts)
				if err != nil {
					return Route{}, err
				}
				return route(f, sec), nil
			},
			Tasks: func(facts map[string]string) ([]TaskRule, error) {
				f, err := read(facts)
				if err != nil {
					return nil, err
				}
				return tasks(f, sec), nil
			},
		}, nil
	}
}

// A FactParser reads one recorded fact (for a routing decision taken again).
type FactParser struct {
	key      string
	parse    func(v string) error
	optional bool
}

// Optional lets the fact be missing (an instance that never recorded it:
// the value stays as it was).
func (p FactParser) Optional() FactParser { p.optional = true; return p }

// IntFact reads the fact key into dst.
func IntFact(key string, dst *int) FactParser {
	return FactParser{key: key, parse: func(v string) (err error) { *dst, err = strconv.Atoi(v); return err }}
}

// FloatFact reads the fact key into dst.
func FloatFact(key string, dst *float64) FactParser {
	return FactParser{key: key, parse: func(v string) (err error) { *dst, err = strconv.ParseFloat(v, 64); return err }}
}

// ParseFacts reads the facts a routing decision needs, naming a missing or
// malformed one.
func ParseFacts(facts map[string]string, parsers ...FactParser) error {
	for _, p := range parsers {
		v, ok := facts[p.key]
		if !ok && p.optional {
			continue
		}
		if !ok {
			return fmt.Errorf("fact %s: not recorded", p.key)
		}
		if err := p.parse(v); err != nil {
			return fmt.Errorf("fact %s: %q is not a number", p.key, v)
		}
	}
	return nil
}

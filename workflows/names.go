// Package workflows holds Baton's deterministic process code, one file per
// process, each declaring its Process description; the worker, the starter,
// the demo, the replayer and the policy check iterate over Processes().
//
// Names that cross the wire are declared once: the task queue, the
// customers' messages and workflow IDs here; the human tasks' messages in
// humantask; the record's queries and search attributes in record.
package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows/humantask"
)

// DefaultTaskQueue is the task queue the worker polls unless configured otherwise.
const DefaultTaskQueue = "baton"

// Customers' messages that end an instance (payload record.Request).
const (
	// SignalWithdraw lets a loan applicant withdraw until disbursement.
	SignalWithdraw = "withdraw"
	// SignalCancel lets a customer cancel an order before shipment.
	SignalCancel = "cancel"
)

// ProcessPing is the worker's health probe, not a business process.
const ProcessPing = "ping"

// WorkflowID builds the business-key workflow ID of a process instance,
// e.g. WorkflowID("loan", "A-17") = "loan-A-17".
func WorkflowID(process, key string) string { return process + "-" + key }

// Input is what every process input offers its starters: validation naming
// the field, the business key, what the Web UI shows, and its business id.
// Inputs are pointers (SetID writes).
type Input interface {
	Validate() error
	// Key is the business key: the workflow ID.
	Key() string
	Summary() string
	Details() string
	// SetID sets the business id field (applicationId, orderId, ...).
	SetID(id string)
}

// Process describes one business process: everything the worker, the
// starter, the demo, the replayer and the policy check need, declared once
// in the process's own file. Adding a process adds its file, its section of
// config/policy.yaml and its examples/, and nothing else.
type Process struct {
	// Name is the process type: workflow type, ProcessType, the CLI's
	// argument and the workflow ID prefix ("loan" → "loan-A-17").
	Name string
	// Title is the process for people ("Loan origination").
	Title string
	// IDField is the input's business id field ("applicationId"); IDPrefix
	// starts generated ids ("A" → "A-1126-093000.123").
	IDField, IDPrefix string
	// Stages is how many stages the Web UI counts (0: the process sets it
	// once known).
	Stages int
	// NewInput returns an empty input to decode into.
	NewInput func() Input
	// Workflow is the workflow function.
	Workflow any
	// Flags are the starter's flags for the input's common fields.
	Flags []Flag
	// Directory lists the input's fields that name users of the directory;
	// the starter checks them before starting, the workflow at its start.
	Directory func(in Input) []UserField
	// Demo returns the demo's instances of this process; id(n) makes the
	// n-th business id unique to the run.
	Demo func(id func(n int) string, today time.Time) []Input
	// CheckPolicy decodes and validates the process's section of the policy.
	CheckPolicy func(p *policy.Policy) error
	// Rules are the process's routing and task rules under a policy (its
	// section decoded once, for many instances): pure functions of the
	// facts an instance recorded.
	Rules func(p *policy.Policy) (Rules, error)
	// Route is the process's routing decision as a pure function of the
	// facts an instance recorded and the policy: what the workflow decided,
	// or would decide under another policy (what-if). From Rules.
	Route func(facts map[string]string, p *policy.Policy) (Route, error)
	// Tasks lists the human tasks the policy requires of an instance with
	// these recorded facts, in the order the workflow opens them, built by
	// the same functions the workflow opens them with: what conformance
	// (starter conformance) holds the trail against. From Rules.
	Tasks func(facts map[string]string, p *policy.Policy) ([]TaskRule, error)
}

// Rules are a process's routing and task rules under one policy.
type Rules struct {
	// Route is the routing decision the policy takes on recorded facts.
	Route func(facts map[string]string) (Route, error)
	// Tasks are the human tasks the policy requires on them, in order.
	Tasks func(facts map[string]string) ([]TaskRule, error)
}

// TaskRule is a human task the policy requires: its Spec as the workflow
// opens it (titles and the instance's own exclusions and named users
// aside, which the facts do not hold).
type TaskRule struct {
	humantask.Spec
	// DistinctFrom names earlier tasks whose approvers may not decide this
	// one (an approval chain's levels are decided by different people).
	DistinctFrom []string `json:"distinctFrom,omitempty"`
	// Optional tasks open only when something goes wrong, any number of
	// times (onboarding's provisioning fix); Spec.ID is then the prefix of
	// their ids.
	Optional bool `json:"optional,omitempty"`
}

// UserField is an input field that names a user of the directory.
type UserField struct{ Field, User string }

// Route is a routing decision: the handling path, the decision taken, why
// (for the audit trail), and the facts it was taken on (recorded in the
// instance record, so it can be taken again). Verdict is what an automated
// decision decides (humantask.Approve or humantask.Reject; empty when people
// decide), so a what-if can set it beside what people decided.
type Route struct {
	Path     string            `json:"path"`
	Decision string            `json:"decision"`
	Verdict  string            `json:"verdict,omitempty"`
	Reason   string            `json:"reason"`
	Facts    map[string]string `json:"facts,omitempty"`
}

// FlagKind is the type of a starter flag's value.
type FlagKind int

// Flag kinds, and the Go type Set receives.
const (
	FlagString  FlagKind = iota // string
	FlagFloat                   // float64
	FlagInt                     // int
	FlagStrings                 // []string, one value per use (repeatable)
	FlagList                    // []string, comma separated
)

// Flag binds a starter flag to an input field. Set receives the value as
// the kind's Go type; an error is a usage error.
type Flag struct {
	Name, Usage string
	Kind        FlagKind
	Set         func(in Input, v any) error
}

// stringFlag and the others declare the common kinds of flag.
func stringFlag(name, usage string, field func(in Input) *string) Flag {
	return Flag{Name: name, Usage: usage, Kind: FlagString, Set: func(in Input, v any) error { *field(in) = v.(string); return nil }}
}

func floatFlag(name, usage string, field func(in Input) *float64) Flag {
	return Flag{Name: name, Usage: usage, Kind: FlagFloat, Set: func(in Input, v any) error { *field(in) = v.(float64); return nil }}
}

func intFlag(name, usage string, field func(in Input) *int) Flag {
	return Flag{Name: name, Usage: usage, Kind: FlagInt, Set: func(in Input, v any) error { *field(in) = v.(int); return nil }}
}

// processes is every described process, sorted by name; each process file
// adds its own in init (wf there: a package variable naming its workflow
// function would be an initialization cycle).
var processes []*Process

func describe(p *Process, wf any) {
	p.Workflow = wf
	p.Route = func(facts map[string]string, pol *policy.Policy) (Route, error) {
		r, err := p.Rules(pol)
		if err != nil {
			return Route{}, err
		}
		return r.Route(facts)
	}
	p.Tasks = func(facts map[string]string, pol *policy.Policy) ([]TaskRule, error) {
		r, err := p.Rules(pol)
		if err != nil {
			return nil, err
		}
		return r.Tasks(facts)
	}
	processes = append(processes, p)
	slices.SortFunc(processes, func(a, b *Process) int { return strings.Compare(a.Name, b.Name) })
}

// Processes lists the business processes people start, by name.
func Processes() []*Process { return slices.Clone(processes) }

// Names lists the processes' names.
func Names() []string {
	var out []string
	for _, p := range processes {
		out = append(out, p.Name)
	}
	return out
}

// Lookup finds a process by name.
func Lookup(name string) (*Process, bool) {
	for _, p := range processes {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// ProcessOf returns the process of a business-key workflow ID (nil if none).
func ProcessOf(workflowID string) *Process {
	for _, p := range processes {
		if strings.HasPrefix(workflowID, p.Name+"-") && len(workflowID) > len(p.Name)+1 {
			return p
		}
	}
	return nil
}

// CheckPolicy validates every process's section of the policy and refuses
// sections no process owns.
func CheckPolicy(p *policy.Policy) error {
	for _, name := range slices.Sorted(maps.Keys(p.Processes)) {
		if _, ok := Lookup(name); !ok {
			return fmt.Errorf("policy: processes.%s: no such process (one of %s)", name, strings.Join(Names(), ", "))
		}
	}
	for _, d := range processes {
		if err := d.CheckPolicy(p); err != nil {
			return err
		}
	}
	return nil
}

// LoadPolicy reads, versions and validates the policy file, every process's
// section included: what the worker serves and the starter checks against.
func LoadPolicy(path string) (*policy.Policy, error) {
	p, err := policy.Load(path)
	if err != nil {
		return nil, err
	}
	if err := CheckPolicy(p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Registry is what both the SDK worker and the replayer offer.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers every workflow under its stable name. The worker and
// the replay tests call it, so both know the same workflows.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(Ping, workflow.RegisterOptions{Name: ProcessPing})
	for _, p := range processes {
		r.RegisterWorkflowWithOptions(p.Workflow, workflow.RegisterOptions{Name: p.Name})
	}
}

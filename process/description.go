// Package process is the process frame a team's own processes are built
// on: a Description declares a process once (its name, input, starter
// flags, policy section and routing), Define binds its body to the frame,
// and a Catalog lists the processes a worker hosts and a starter starts.
//
// The frame (Proc) runs every instance the same way: it validates the
// input, refuses a business key that has ended, builds the instance record
// (package record), pins the policy, and runs the body, whose helpers read
// as the business story: Step (an activity, audited, with compensation),
// Decide (a human task, package humantask), Route (a routing decision and
// the facts it was taken on), End (the outcome). Everything here is
// workflow code: deterministic, replay-safe.
package process

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

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

// Description describes one business process: everything the worker, the
// starter, the demo, the replayer and the policy check need, declared once
// in the process's own file. Define binds it to its body.
type Description struct {
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
	// Flags are the starter's flags for the input's common fields.
	Flags []Flag
	// Messages are the customers' messages that end an instance (withdraw,
	// cancel): the starter offers a command for each.
	Messages []Message
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
	// facts an instance recorded (SectionRules builds them).
	Rules func(p *policy.Policy) (Rules, error)
	// Case, if set, is the case file the web inbox shows a task's decider:
	// the input's data in sections, formatted, personal items marked
	// (shown only to users who may see them, each view recorded).
	Case func(in Input) []CaseSection
	// Currency of the process's amounts (facts named *amount*), for people.
	Currency string

	// Set by Define.
	newInput func() Input
	workflow func(s record.Settings) any
}

// Routing is the process's routing decision on the facts an instance
// recorded under a policy: what the workflow decided, or would decide
// under another policy (what-if). From Rules.
func (d *Description) Routing(facts map[string]string, p *policy.Policy) (Route, error) {
	r, err := d.Rules(p)
	if err != nil {
		return Route{}, err
	}
	return r.Route(facts)
}

// Tasks lists the human tasks the policy requires of an instance with
// these recorded facts, in the order the workflow opens them, built by the
// same functions the workflow opens them with: what conformance (starter
// conformance) holds the trail against. From Rules.
func (d *Description) Tasks(facts map[string]string, p *policy.Policy) ([]TaskRule, error) {
	r, err := d.Rules(p)
	if err != nil {
		return nil, err
	}
	return r.Tasks(facts)
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

// NewInput returns an empty input of the process to decode into.
func (d *Description) NewInput() Input { return d.newInput() }

// Workflow is the process's workflow function with the worker's settings
// bound into it: what Catalog.Register registers under the process's name.
func (d *Description) Workflow(s record.Settings) any { return d.workflow(s) }

// Body is a process's business story: it runs once the frame has built the
// instance's record, and returns the instance's ending (End) or an error.
type Body[I, R any] func(ctx workflow.Context, p *Proc, in I, res *R) error

// result is a process result: it embeds Ending.
type result interface{ ending() *Ending }

// Define binds a process's body to its description: the workflow runs the
// frame (input validation, the business key's claim, the record, Start,
// compensation and the end) around body. I is the input (a struct whose
// pointer is an Input), R the result (a struct embedding Ending).
func Define[I, R any, PI interface {
	*I
	Input
}, PR interface {
	*R
	result
}](d Description, body Body[I, R]) *Description {
	desc := &d
	desc.newInput = func() Input { return PI(new(I)) }
	desc.workflow = func(s record.Settings) any {
		return func(ctx workflow.Context, in I) (*R, error) {
			res := new(R)
			err := run(ctx, s, desc, PI(&in), PR(res).ending(), func(ctx workflow.Context, p *Proc) error { return body(ctx, p, in, res) })
			if err != nil {
				return nil, err
			}
			return res, nil
		}
	}
	return desc
}

// UserField is an input field that names a user of the directory.
type UserField struct{ Field, User string }

// Message is a customer's message that ends an instance (the process
// listens for it with record.EndOn): the starter's command for it.
type Message struct {
	// Name is the update and signal name and the starter's command
	// ("withdraw").
	Name string
	// Short and Example are the command's help.
	Short, Example string
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

// StringFlag binds a string flag to the input field field returns.
func StringFlag[I any](name, usage string, field func(in *I) *string) Flag {
	return Flag{Name: name, Usage: usage, Kind: FlagString, Set: func(in Input, v any) error { *field(any(in).(*I)) = v.(string); return nil }}
}

// FloatFlag binds a number flag to the input field field returns.
func FloatFlag[I any](name, usage string, field func(in *I) *float64) Flag {
	return Flag{Name: name, Usage: usage, Kind: FlagFloat, Set: func(in Input, v any) error { *field(any(in).(*I)) = v.(float64); return nil }}
}

// IntFlag binds an integer flag to the input field field returns.
func IntFlag[I any](name, usage string, field func(in *I) *int) Flag {
	return Flag{Name: name, Usage: usage, Kind: FlagInt, Set: func(in Input, v any) error { *field(any(in).(*I)) = v.(int); return nil }}
}

// ListFlag binds a comma-separated list flag to the input field field
// returns.
func ListFlag[I any](name, usage string, field func(in *I) *[]string) Flag {
	return Flag{Name: name, Usage: usage, Kind: FlagList, Set: func(in Input, v any) error { *field(any(in).(*I)) = v.([]string); return nil }}
}

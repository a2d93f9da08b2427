package process

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/substitutes"
)

// DefaultTaskQueue is the task queue a worker polls unless configured
// otherwise.
const DefaultTaskQueue = "baton"

// Catalog is the processes one worker hosts and one starter starts, listed
// explicitly (no registration by import), with what they share.
type Catalog struct {
	processes []*Description
	// Remind sends the human tasks' reminders (e.g. as mail); nil: they
	// are audited, not sent. The worker's settings take it from here.
	Remind func(ctx workflow.Context, m record.Reminder) error
}

// NewCatalog lists processes (sorted by name). A name given twice panics:
// it is a programming error in the catalog's one list.
func NewCatalog(processes ...*Description) *Catalog {
	c := &Catalog{processes: slices.Clone(processes)}
	slices.SortFunc(c.processes, func(a, b *Description) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(c.processes); i++ {
		if c.processes[i].Name == c.processes[i-1].Name {
			panic("process: the catalog lists " + c.processes[i].Name + " twice")
		}
	}
	return c
}

// Processes lists the business processes people start, by name.
func (c *Catalog) Processes() []*Description { return slices.Clone(c.processes) }

// Names lists the processes' names.
func (c *Catalog) Names() []string {
	var out []string
	for _, p := range c.processes {
		out = append(out, p.Name)
	}
	return out
}

// Lookup finds a process by name.
func (c *Catalog) Lookup(name string) (*Description, bool) {
	for _, p := range c.processes {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// ProcessOf returns the process of a business-key workflow ID (nil if none).
func (c *Catalog) ProcessOf(workflowID string) *Description {
	for _, p := range c.processes {
		if strings.HasPrefix(workflowID, p.Name+"-") && len(workflowID) > len(p.Name)+1 {
			return p
		}
	}
	return nil
}

// CheckPolicy validates every process's section of the policy and refuses
// sections no process owns.
func (c *Catalog) CheckPolicy(p *policy.Policy) error {
	for _, name := range slices.Sorted(maps.Keys(p.Processes)) {
		if _, ok := c.Lookup(name); !ok {
			return fmt.Errorf("policy: processes.%s: no such process (one of %s)", name, strings.Join(c.Names(), ", "))
		}
	}
	for _, d := range c.processes {
		if d.CheckPolicy == nil {
			continue
		}
		if err := d.CheckPolicy(p); err != nil {
			return err
		}
	}
	return nil
}

// ParsePolicy decodes, versions and validates a policy file's content, every
// process's section included: what the worker serves and the starter
// checks against. (Reading the file is the caller's: config.LoadPolicy.)
func (c *Catalog) ParsePolicy(data []byte) (*policy.Policy, error) {
	p, err := policy.Parse(data)
	if err != nil {
		return nil, err
	}
	if err := c.CheckPolicy(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Registry is what both the SDK worker and the replayer offer.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers every process's workflow under its name, with the
// worker's settings bound into it (the catalog's Remind unless the settings
// name one), and the ping workflow. The worker and the replay tests call
// it, so both know the same workflows. The substitutes workflow (package
// substitutes: who decides for whom while away) is every worker's too.
func (c *Catalog) Register(r Registry, s record.Settings) {
	if s.Remind == nil {
		s.Remind = c.Remind
	}
	r.RegisterWorkflowWithOptions(Ping, workflow.RegisterOptions{Name: PingName})
	r.RegisterWorkflowWithOptions(substitutes.Workflow(s), workflow.RegisterOptions{Name: substitutes.WorkflowType})
	for _, p := range c.processes {
		r.RegisterWorkflowWithOptions(p.Workflow(s), workflow.RegisterOptions{Name: p.Name})
	}
}

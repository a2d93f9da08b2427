package starter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/policy"
)

func (a *app) newCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Scaffold a new process",
	}
	var dir, policyFile, examples, role string
	proc := &cobra.Command{
		Use:   "process <name> [--dir DIR] [--policy FILE] [--examples DIR] [--role ROLE]",
		Short: "Write a new process: its file, its unit test, its policy section and an example input",
		Long: `Writes a new process into the Go package at --dir (the one whose catalog
lists the processes): <name>.go, a request that is approved automatically up
to a limit and by a holder of --role above it, the requester excluded;
<name>_test.go, its unit test on processtest; its section of the policy
file (processes.<name>); --examples/<name>.json, an input to start it with;
and adds it to the catalog (process.NewCatalog(...)) of the package.
Nothing existing is overwritten. docs/first-process.md walks on from here.`,
		Example: "  starter new process travel --dir workflows --policy config/policy.yaml\n" +
			"  starter new process travel                # in a team's module: ., policy.yaml, examples/",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("new process needs a name, e.g. starter new process travel")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if policyFile == "" {
				// The configured policy file, or a team module's own
				// policy.yaml beside its processes.
				cfg, err := a.config()
				if err != nil {
					return err
				}
				policyFile = cfg.Policy.File
				if _, err := os.Stat(policyFile); err != nil {
					if own := filepath.Join(dir, "policy.yaml"); fileExists(own) {
						policyFile = own
					}
				}
			}
			written, err := scaffold(scaffoldOptions{Name: args[0], Dir: dir, PolicyFile: policyFile, Examples: examples, Role: role})
			if err != nil {
				return err
			}
			for _, f := range written {
				fmt.Fprintln(a.out, "wrote", f)
			}
			pkg := "./" + filepath.ToSlash(filepath.Clean(dir))
			if filepath.IsAbs(dir) || filepath.Clean(dir) == "." {
				pkg = filepath.Clean(dir)
			}
			_, err = fmt.Fprintf(a.out, "next: go test %s (its unit test), rebuild and restart the worker, then\n  starter start %s --file %s\n",
				pkg, args[0], filepath.Join(examples, args[0]+".json"))
			return err
		},
	}
	f := proc.Flags()
	f.StringVar(&dir, "dir", ".", "the Go package of the processes (where the catalog is)")
	f.StringVar(&policyFile, "policy", "", "the policy file to add the section to (default: policy.file, else policy.yaml in --dir)")
	f.StringVar(&examples, "examples", "examples", "where the example input goes")
	f.StringVar(&role, "role", "manager", "the role that approves above the automatic limit")
	cmd.AddCommand(proc)
	return cmd
}

// scaffoldOptions say what to write where.
type scaffoldOptions struct {
	Name, Dir, PolicyFile, Examples, Role string
}

// scaffoldData fills the templates.
type scaffoldData struct {
	Name, Ident, Package, Catalog, Role, Requester, PolicyFromDir string
}

var processName = regexp.MustCompile(`^[a-z][a-z0-9]{0,30}$`)

// catalogFunc finds the function that builds a package's catalog.
var catalogFunc = regexp.MustCompile(`func (\w+)\(\) \*process\.Catalog \{`)

// scaffold writes the process and returns the files written or changed.
func scaffold(o scaffoldOptions) ([]string, error) {
	if !processName.MatchString(o.Name) {
		return nil, usageErr("name: %q must be lower-case letters and digits, starting with a letter (it is the workflow type and the ID prefix)", o.Name)
	}
	d := scaffoldData{Name: o.Name, Ident: strings.ToUpper(o.Name[:1]) + o.Name[1:], Role: o.Role}
	goFile, testFile := filepath.Join(o.Dir, o.Name+".go"), filepath.Join(o.Dir, o.Name+"_test.go")
	example := filepath.Join(o.Examples, o.Name+".json")
	for _, f := range []string{goFile, testFile, example} {
		if _, err := os.Stat(f); err == nil {
			return nil, usageErr("%s exists: nothing was written (pick another name, or remove it)", f)
		}
	}
	pkg, catalogFile, catalog, err := packageOf(o.Dir)
	if err != nil {
		return nil, err
	}
	d.Package, d.Catalog = pkg, catalog
	src, err := config.ReadPolicyFile(o.PolicyFile)
	if err != nil {
		return nil, err
	}
	pol, err := policy.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.PolicyFile, err)
	}
	if _, taken := pol.Processes[o.Name]; taken {
		return nil, usageErr("%s already has a section processes.%s: nothing was written", o.PolicyFile, o.Name)
	}
	if d.Requester, err = requesterFor(pol, o.Role); err != nil {
		return nil, err
	}
	if d.PolicyFromDir, err = filepath.Rel(o.Dir, o.PolicyFile); err != nil {
		return nil, err
	}
	d.PolicyFromDir = filepath.ToSlash(d.PolicyFromDir)

	var written []string
	write := func(path string, tmpl *template.Template, gosrc bool) error {
		var b bytes.Buffer
		if err := tmpl.Execute(&b, d); err != nil {
			return err
		}
		out := b.Bytes()
		if gosrc {
			if out, err = format.Source(out); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return err
		}
		written = append(written, path)
		return nil
	}
	if err := write(goFile, processTemplate, true); err != nil {
		return written, err
	}
	if err := write(testFile, testTemplate, true); err != nil {
		return written, err
	}
	in, _ := json.Marshal(map[string]any{"requestId": strings.ToUpper(o.Name[:1]) + "-1", "requester": d.Requester, "amount": 2500, "description": "what the " + o.Name + " is for"})
	if err := os.WriteFile(example, append(in, '\n'), 0o644); err != nil {
		return written, err
	}
	written = append(written, example)
	if err := os.WriteFile(o.PolicyFile, withSection(src, o.Name, o.Role), 0o644); err != nil {
		return written, err
	}
	written = append(written, o.PolicyFile)
	if catalogFile == "" {
		catalogFile = filepath.Join(o.Dir, "catalog.go")
		if err := write(catalogFile, catalogTemplate, true); err != nil {
			return written, err
		}
		return written, nil
	}
	if err := addToCatalog(catalogFile, d.Ident); err != nil {
		return written, err
	}
	return append(written, catalogFile), nil
}

// packageOf reads the package name of the Go files in dir and the file
// and function of its catalog ("" when it has none).
func packageOf(dir string) (pkg, catalogFile, catalog string, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", "", "", err
	}
	pkgLine := regexp.MustCompile(`(?m)^package (\w+)\s*$`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return "", "", "", err
		}
		if m := pkgLine.FindSubmatch(src); m != nil && pkg == "" {
			pkg = string(m[1])
		}
		if m := catalogFunc.FindSubmatch(src); m != nil && bytes.Contains(src, []byte("process.NewCatalog(")) {
			catalogFile, catalog = f, string(m[1])
		}
	}
	if pkg == "" {
		return "", "", "", usageErr("--dir %s: no Go package there (run it where your processes are, or name the directory)", dir)
	}
	if pkg == "main" {
		return "", "", "", usageErr("--dir %s: package main; processes go in a package of their own", dir)
	}
	if catalog == "" {
		catalog = "Catalog"
	}
	return pkg, catalogFile, catalog, nil
}

// requesterFor is a user to put in the example input: one who does not
// hold role (so that others approve), after checking someone does.
func requesterFor(pol *policy.Policy, role string) (string, error) {
	var holders, others []string
	for id := range pol.Users {
		if pol.HasRole(id, role) {
			holders = append(holders, id)
		} else {
			others = append(others, id)
		}
	}
	if len(holders) == 0 {
		return "", usageErr("--role: no user of the directory holds role %q; name one that exists", role)
	}
	slices.Sort(holders)
	slices.Sort(others)
	if len(others) > 0 {
		return others[0], nil
	}
	if len(holders) < 2 {
		return "", usageErr("--role: %s is the only holder of %q and would approve their own requests; add another", holders[0], role)
	}
	return holders[0], nil
}

// withSection adds processes.<name> to the policy file's text, keeping
// every other line as it is (comments, flow style): at the end of the
// processes block, or a new processes block at the end of the file.
func withSection(src []byte, name, role string) []byte {
	section := fmt.Sprintf("  %s:\n    autoApproveUpTo: 1000     # approved automatically up to this amount\n"+
		"    approval:                 # above it, a holder of the role decides (the requester excluded)\n"+
		"      roles: [%s]\n      deadline: 72h\n      reminderEvery: 24h\n      onDeadline: reject\n", name, role)
	lines := strings.SplitAfter(string(src), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "processes:") })
	if start < 0 {
		text := strings.TrimRight(string(src), "\n") + "\n\nprocesses:\n" + section
		return []byte(text)
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "#") {
			end = i
			break
		}
	}
	// After the block's last non-blank line.
	last := end
	for last > start+1 && strings.TrimSpace(lines[last-1]) == "" {
		last--
	}
	if last > 0 && !strings.HasSuffix(lines[last-1], "\n") {
		lines[last-1] += "\n"
	}
	sep := "\n"
	out := slices.Concat(lines[:last], []string{sep + section}, lines[last:])
	return []byte(strings.Join(out, ""))
}

// addToCatalog adds ident to the process.NewCatalog(...) call of file.
func addToCatalog(file, ident string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	i := bytes.Index(src, []byte("process.NewCatalog("))
	if i < 0 {
		return errors.New(file + ": no process.NewCatalog(...) to add the process to")
	}
	j := bytes.IndexByte(src[i:], ')')
	if j < 0 {
		return errors.New(file + ": process.NewCatalog( is not closed")
	}
	call := src[i : i+j]
	sep := ", "
	if bytes.HasSuffix(bytes.TrimSpace(call), []byte("(")) {
		sep = ""
	} else if bytes.HasSuffix(bytes.TrimRight(call, " \t\n"), []byte(",")) {
		sep = " "
	}
	out := slices.Concat(src[:i+j], []byte(sep+ident), src[i+j:])
	if out, err = format.Source(out); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return os.WriteFile(file, out, 0o644)
}

var processTemplate = template.Must(template.New("process").Parse(`package {{.Package}}

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
)

// {{.Ident}}Name is the {{.Name}} process's name: workflow type and
// workflow ID prefix ("{{.Name}}-<requestId>").
const {{.Ident}}Name = "{{.Name}}"

// {{.Ident}}Policy is the {{.Name}} section of the policy file
// (processes.{{.Name}}).
type {{.Ident}}Policy struct {
	// AutoApproveUpTo: requests up to this amount need no approval.
	AutoApproveUpTo float64 ` + "`json:\"autoApproveUpTo\"`" + `
	// Approval is the human task above it.
	Approval policy.Task ` + "`json:\"approval\"`" + `
}

// {{.Ident}}Input is one request.
type {{.Ident}}Input struct {
	RequestID   string  ` + "`json:\"requestId\"`" + `
	Requester   string  ` + "`json:\"requester\"`" + `
	Amount      float64 ` + "`json:\"amount\"`" + `
	Description string  ` + "`json:\"description\"`" + `
}

// Validate names the first bad field.
func (in {{.Ident}}Input) Validate() error {
	if err := process.RequireKey("requestId", in.RequestID); err != nil {
		return err
	}
	if err := process.RequireKey("requester", in.Requester); err != nil {
		return err
	}
	if err := process.AmountUpTo("amount", in.Amount, 1_000_000); err != nil {
		return err
	}
	if strings.TrimSpace(in.Description) == "" {
		return process.Invalid("description", "required")
	}
	return process.AtMost("description", in.Description, 500)
}

// Key is the business key: the workflow ID.
func (in {{.Ident}}Input) Key() string { return process.WorkflowID({{.Ident}}Name, in.RequestID) }

// SetID sets the request id.
func (in *{{.Ident}}Input) SetID(id string) { in.RequestID = id }

// Summary is the one line the Web UI shows: business facts, no personal data.
func (in {{.Ident}}Input) Summary() string {
	return fmt.Sprintf("{{.Ident}} %s: %s", in.RequestID, process.Money(in.Amount))
}

// Details are the business facts every operator sees.
func (in {{.Ident}}Input) Details() string {
	return process.Details("{{.Ident}} request", in.Key(), "amount", process.Money(in.Amount))
}

// {{.Ident}}Result is how a request ended.
type {{.Ident}}Result struct {
	process.Ending
	Approvers []string ` + "`json:\"approvers,omitempty\"`" + `
}

// {{.Ident}}Route decides on an amount: automated up to the limit, people
// above it. A pure function: the workflow takes it, and starter whatif
// takes it again under another policy.
func {{.Ident}}Route(amount float64, pol {{.Ident}}Policy) process.Route {
	facts := map[string]string{"amount": process.FormatAmount(amount)}
	if amount <= pol.AutoApproveUpTo {
		return process.Route{Path: record.PathAutomated, Decision: "auto-approve", Verdict: humantask.Approve, Facts: facts,
			Reason: fmt.Sprintf("%s is within the automatic limit of %s", process.Money(amount), process.Money(pol.AutoApproveUpTo))}
	}
	return process.Route{Path: record.PathManual, Decision: "approval", Facts: facts,
		Reason: fmt.Sprintf("%s is above the automatic limit of %s", process.Money(amount), process.Money(pol.AutoApproveUpTo))}
}

// {{.Ident}} is the {{.Name}} process: approved automatically up to the
// policy's limit, by a holder of the approval's role above it (never the
// requester).
var {{.Ident}} = process.Define(process.Description{
	Name: {{.Ident}}Name, Title: "{{.Ident}} request", IDField: "requestId", IDPrefix: "{{slice .Ident 0 1}}", Stages: 2,
	Flags: []process.Flag{
		process.StringFlag("requester", "who asks (a user of the directory)", func(in *{{.Ident}}Input) *string { return &in.Requester }),
		process.FloatFlag("amount", "the amount", func(in *{{.Ident}}Input) *float64 { return &in.Amount }),
		process.StringFlag("description", "what it is for", func(in *{{.Ident}}Input) *string { return &in.Description }),
	},
	Directory: func(in process.Input) []process.UserField {
		return []process.UserField{{"{{"}}Field: "requester", User: in.(*{{.Ident}}Input).Requester{{"}}"}}
	},
	Demo: func(id func(int) string, _ time.Time) []process.Input {
		return []process.Input{
			&{{.Ident}}Input{RequestID: id(1), Requester: "{{.Requester}}", Amount: 300, Description: "within the automatic limit"},
			&{{.Ident}}Input{RequestID: id(2), Requester: "{{.Requester}}", Amount: 2500, Description: "for an approver"},
		}
	},
	CheckPolicy: process.CheckSection({{.Ident}}Name, func(p *policy.Policy, sec {{.Ident}}Policy) error {
		if sec.AutoApproveUpTo < 0 {
			return fmt.Errorf("policy: processes.{{.Name}}.autoApproveUpTo: %v is negative", sec.AutoApproveUpTo)
		}
		return p.ValidateTask("processes.{{.Name}}.approval", sec.Approval, true)
	}),
	Rules: process.SectionRules({{.Ident}}Name, func(amount *float64) []process.FactParser {
		return []process.FactParser{process.FloatFact("amount", amount)}
	}, func(amount float64, sec {{.Ident}}Policy) process.Route { return {{.Ident}}Route(amount, sec) },
		func(amount float64, sec {{.Ident}}Policy) []process.TaskRule {
			if {{.Ident}}Route(amount, sec).Path != record.PathManual {
				return nil
			}
			return []process.TaskRule{{"{{"}}Spec: {{.Name}}Approval(sec, ""){{"}}"}}
		}),
}, {{.Name}}Body)

// {{.Name}}Approval is the approval task as the policy sets it (the
// workflow adds the title and the requester's exclusion); conformance
// checks trails against the same.
func {{.Name}}Approval(pol {{.Ident}}Policy, title string) humantask.Spec {
	return humantask.FromPolicy("approval", title, pol.Approval)
}

func {{.Name}}Body(ctx workflow.Context, p *process.Proc, in {{.Ident}}Input, res *{{.Ident}}Result) error {
	pol, err := process.Start[{{.Ident}}Policy](ctx, p, fmt.Sprintf("request %s by %s for %s", in.RequestID, in.Requester, process.Money(in.Amount)))
	if err != nil {
		return err
	}
	route := {{.Ident}}Route(in.Amount, pol)
	p.Route(ctx, route)
	if route.Path == record.PathManual {
		p.SetStage(ctx, 1, "approval", "awaiting approval")
		spec := {{.Name}}Approval(pol, "{{.Ident}} request "+in.Key())
		spec.Exclusions = []humantask.Exclusion{{"{{"}}User: in.Requester, Reason: "the requester"{{"}}"}}
		r, err := p.Decide(ctx, spec, process.Review{Outcome: process.OutcomeRejected, Decision: "approval"})
		if err != nil {
			return err
		}
		res.Approvers = r.Approvers
	}
	p.SetStage(ctx, 2, "done", "approved")
	// Call your systems here, each an audited step:
	//   p.Step(ctx, "book", "travel desk: book for "+in.Key(), desk.Book, BookInput{...}, &booked)
	return process.End(process.OutcomeApproved, fmt.Sprintf("%s approved (%s)", process.Money(in.Amount), route.Path))
}
`))

var testTemplate = template.Must(template.New("test").Parse(`package {{.Package}}

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/processtest"
	"github.com/batonhq/baton/record"
)

// Up to the limit a request is approved without anyone deciding; above it
// a holder of the role approves, never the requester.
func Test{{.Ident}}(t *testing.T) {
	env := processtest.New(t, {{.Catalog}}(), "{{.PolicyFromDir}}")
	var res {{.Ident}}Result
	if err := env.Run({{.Ident}}, &{{.Ident}}Input{RequestID: "T-1", Requester: "{{.Requester}}", Amount: 100, Description: "small"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "approved" || res.HandlingPath != record.PathAutomated {
		t.Errorf("small request: %+v", res)
	}

	env = processtest.New(t, {{.Catalog}}(), "{{.PolicyFromDir}}")
	self := env.Decide(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "{{.Requester}}"})
	var approver string
	for id := range env.Policy.Users {
		if id != "{{.Requester}}" && env.Policy.HasRole(id, "{{.Role}}") {
			approver = id
		}
	}
	ok := env.Decide(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: approver})
	res = {{.Ident}}Result{}
	if err := env.Run({{.Ident}}, &{{.Ident}}Input{RequestID: "T-2", Requester: "{{.Requester}}", Amount: 5000, Description: "large"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "approved" || res.HandlingPath != record.PathManual || len(res.Approvers) != 1 || res.Approvers[0] != approver {
		t.Errorf("large request: %+v", res)
	}
	if self.Accepted || self.Err == nil || !strings.Contains(self.Err.Error(), "may not decide") {
		t.Errorf("the requester's own approval: %+v", self)
	}
	if !ok.Accepted {
		t.Errorf("%s's approval: %+v", approver, ok)
	}
}
`))

var catalogTemplate = template.Must(template.New("catalog").Parse(`package {{.Package}}

import "github.com/batonhq/baton/process"

// {{.Catalog}} lists the processes the worker hosts and the starter starts.
func {{.Catalog}}() *process.Catalog { return process.NewCatalog({{.Ident}}) }
`))

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

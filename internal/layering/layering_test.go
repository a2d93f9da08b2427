package layering

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/batonhq/baton"

// The layers, lowest first: a package imports only its own layer or below.
var layers = []string{"leaf", "workflow", "client", "service", "entry", "cmd"}

// Third-party and standard packages the workflow side never depends on:
// the database, the logging library, and (imported directly: the SDK's own
// graph holds both) files and HTTP.
var (
	workflowNeverDeps    = []string{"github.com/jackc/pgx", "go.uber.org/zap"}
	workflowNeverImports = []string{"os", "net/http"}
	// Baton's own processes and systems: only cmd/ (and each other, and
	// the systems' HTTP side) import them; the libraries take a catalog.
	consumerOnly = map[string][]string{
		"workflows":  {"cmd/", "internal/insight/insighttest"},
		"activities": {"cmd/", "workflows", "activities/httpsys", "internal/insight/insighttest"},
	}
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// table reads the layering table from docs/design.md: package → layer.
func table(t *testing.T, root string) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- layering:begin -->")
	body, _, ok2 := strings.Cut(rest, "<!-- layering:end -->")
	if !ok || !ok2 {
		t.Fatal("docs/design.md: no layering table (<!-- layering:begin --> ... <!-- layering:end -->)")
	}
	row := regexp.MustCompile("^\\| `([^`]+)` \\| (\\w+) \\|")
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			if !slices.Contains(layers, m[2]) {
				t.Fatalf("docs/design.md: %s: layer %q is not one of %s", m[1], m[2], strings.Join(layers, ", "))
			}
			out[m[1]] = m[2]
		}
	}
	return out
}

// packages lists the module's packages with their imports and deps.
func packages(t *testing.T, root string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var all []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/") {
			all = append(all, p)
		}
	}
	return all
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func ours(path string) bool { return strings.HasPrefix(path, module+"/") }

func rank(layer string) int { return slices.Index(layers, layer) }

// Check reports every way the module breaks the layering of table.
func check(all []pkg, table map[string]string) []string {
	var bad []string
	for _, p := range all {
		name := rel(p.ImportPath)
		layer, ok := table[name]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: not in the layering table of docs/design.md: give it a layer", name))
			continue
		}
		for _, imp := range p.Imports {
			if !ours(imp) {
				if name == "audit" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					bad = append(bad, fmt.Sprintf("audit imports %s: the leaf imports the standard library only", imp))
				}
				if layer == "workflow" || layer == "leaf" {
					if slices.Contains(workflowNeverImports, imp) {
						bad = append(bad, fmt.Sprintf("%s (%s) imports %s: workflow code reads no files and calls no network", name, layer, imp))
					}
				}
				continue
			}
			dep := rel(imp)
			if name == "audit" {
				bad = append(bad, fmt.Sprintf("audit imports %s: the leaf imports nothing of ours", dep))
			}
			if strings.HasPrefix(dep, "cmd/") {
				bad = append(bad, fmt.Sprintf("%s imports %s: nothing imports a main", name, dep))
			}
			if dl, ok := table[dep]; ok && rank(dl) > rank(layer) {
				bad = append(bad, fmt.Sprintf("%s (%s) imports %s (%s): a package imports only its own layer or below", name, layer, dep, dl))
			}
			if allowed, ok := consumerOnly[dep]; ok && !slices.ContainsFunc(allowed, func(a string) bool { return name == a || strings.HasPrefix(name, a) && strings.HasSuffix(a, "/") }) {
				bad = append(bad, fmt.Sprintf("%s imports %s: Baton's own processes and systems are for cmd/ only; take a process.Catalog", name, dep))
			}
		}
		if layer == "workflow" || layer == "leaf" {
			for _, d := range p.Deps {
				switch {
				case ours(d) && strings.HasPrefix(rel(d), "internal/"):
					bad = append(bad, fmt.Sprintf("%s (%s) depends on %s: the workflow side uses no internal package", name, layer, rel(d)))
				case ours(d) && rank(table[rel(d)]) > rank("workflow"):
					bad = append(bad, fmt.Sprintf("%s (%s) depends on %s (%s): the workflow side's graph stays on the workflow side", name, layer, rel(d), table[rel(d)]))
				default:
					for _, n := range workflowNeverDeps {
						if d == n || strings.HasPrefix(d, n+"/") {
							bad = append(bad, fmt.Sprintf("%s (%s) depends on %s: no database or logging library in workflow code", name, layer, n))
						}
					}
				}
			}
		}
	}
	for name := range table {
		if !slices.ContainsFunc(all, func(p pkg) bool { return rel(p.ImportPath) == name }) {
			bad = append(bad, fmt.Sprintf("%s: in the layering table of docs/design.md, but no such package", name))
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

// The module follows the layering docs/design.md states.
func TestLayering(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range check(packages(t, root), table(t, root)) {
		t.Error(b)
	}
}

// Each rule catches its violation (planted in a made-up module graph).
func TestLayeringCatchesViolations(t *testing.T) {
	tab := map[string]string{"audit": "leaf", "policy": "leaf", "record": "workflow", "process": "workflow", "workflows": "workflow",
		"activities": "workflow", "config": "client", "internal/auditstore": "service", "internal/whatif": "service", "worker": "entry", "cmd/worker": "cmd"}
	m := func(p string) string { return module + "/" + p }
	for _, tc := range []struct {
		name string
		p    pkg
		want string
	}{
		{"leaf imports ours", pkg{ImportPath: m("audit"), Imports: []string{m("policy")}}, "audit imports policy"},
		{"leaf imports third party", pkg{ImportPath: m("audit"), Imports: []string{"go.yaml.in/yaml/v3"}}, "standard library only"},
		{"workflow imports os", pkg{ImportPath: m("record"), Imports: []string{"os"}}, "record (workflow) imports os"},
		{"workflow depends on internal", pkg{ImportPath: m("process"), Deps: []string{m("internal/auditstore")}}, "depends on internal/auditstore"},
		{"workflow depends on pgx", pkg{ImportPath: m("record"), Deps: []string{"github.com/jackc/pgx/v5/pgxpool"}}, "depends on github.com/jackc/pgx"},
		{"workflow depends on the client side", pkg{ImportPath: m("process"), Deps: []string{m("config")}}, "depends on config (client)"},
		{"upward import", pkg{ImportPath: m("config"), Imports: []string{m("worker")}}, "config (client) imports worker (entry)"},
		{"a main imported", pkg{ImportPath: m("worker"), Imports: []string{m("cmd/worker")}}, "nothing imports a main"},
		{"internal imports Baton's processes", pkg{ImportPath: m("internal/whatif"), Imports: []string{m("workflows")}}, "take a process.Catalog"},
		{"a package not in the table", pkg{ImportPath: m("newpkg")}, "newpkg: not in the layering table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := []pkg{tc.p}
			for name := range tab {
				if name != rel(tc.p.ImportPath) {
					all = append(all, pkg{ImportPath: m(name)})
				}
			}
			bad := check(all, tab)
			if !slices.ContainsFunc(bad, func(b string) bool { return strings.Contains(b, tc.want) }) {
				t.Errorf("want a report containing %q, got %q", tc.want, bad)
			}
		})
	}
}

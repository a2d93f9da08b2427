package starter

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
)

// copyDir copies the tree at src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// starter new process writes a process into a copy of the example module
// (a team's own): the module builds, vets and passes its tests, the new
// one's included (which loads the policy with the new section, checked
// by the catalog the process was added to); nothing is overwritten on a
// second run.
func TestNewProcessScaffoldsAWorkingProcess(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	copyDir(t, filepath.Join(root, "examples", "purchase"), mod)
	gomod := filepath.Join(mod, "go.mod")
	src, _ := os.ReadFile(gomod)
	if err := os.WriteFile(gomod, bytes.Replace(src, []byte("=> ../.."), []byte("=> "+root), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	run := func(args ...string) error {
		root := newApp(workflows.Catalog(), &out, &errOut).rootCommand()
		root.SetArgs(args)
		return root.ExecuteContext(context.Background())
	}
	args := []string{"new", "process", "travel", "--dir", mod, "--policy", filepath.Join(mod, "policy.yaml"), "--examples", filepath.Join(mod, "examples")}
	if err := run(args...); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, f := range []string{"travel.go", "travel_test.go", "examples/travel.json", "policy.yaml", "purchase.go"} {
		if !strings.Contains(out.String(), filepath.Join(mod, f)) {
			t.Errorf("%s not reported as written:\n%s", f, out.String())
		}
	}
	if cat, _ := os.ReadFile(filepath.Join(mod, "purchase.go")); !strings.Contains(string(cat), "process.NewCatalog(Purchase, Travel)") {
		t.Errorf("the catalog does not list the new process")
	}
	pol, err := policy.Parse(mustRead(t, filepath.Join(mod, "policy.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pol.Processes["travel"]; !ok || !strings.Contains(string(mustRead(t, filepath.Join(mod, "policy.yaml"))), "# The purchase team's policy") {
		t.Errorf("policy.yaml: no travel section, or the rest not kept:\n%s", mustRead(t, filepath.Join(mod, "policy.yaml")))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, cmd := range [][]string{{"go", "vet", "./..."}, {"go", "test", "-count=1", "./..."}} {
		c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
		c.Dir = mod
		if b, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s in the scaffolded module: %v\n%s", strings.Join(cmd, " "), err, b)
		}
	}

	out.Reset()
	if err := run(args...); err == nil || !strings.Contains(err.Error(), "travel.go exists: nothing was written") {
		t.Errorf("a second run: %v", err)
	}
	if err := run("new", "process", "Travel-2", "--dir", mod); err == nil || exitCode(err) != exitUsage {
		t.Errorf("a bad name: %v", err)
	}
}

// The scaffold's edits keep the repository's own files as they are: the
// section goes at the end of the processes block of config/policy.yaml
// (a valid policy, every other line kept), the name into Baton's catalog.
func TestNewProcessEditsInPlace(t *testing.T) {
	src := mustRead(t, "../config/policy.yaml")
	withTravel := withSection(src, "travel", "manager")
	p, err := config.LoadPolicy(writeTemp(t, withTravel), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, withTravel)
	}
	if _, ok := p.Processes["travel"]; !ok {
		t.Errorf("no travel section:\n%s", withTravel)
	}
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.Contains(string(withTravel), line) {
			t.Errorf("line lost: %q", line)
		}
	}
	cat := writeTemp(t, mustRead(t, "../workflows/catalog.go"))
	if err := addToCatalog(cat, "Travel"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mustRead(t, cat)), "process.NewCatalog(Claim, Expense, Loan, Onboarding, Order, Travel)") {
		t.Errorf("catalog:\n%s", mustRead(t, cat))
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

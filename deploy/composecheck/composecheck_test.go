// Package composecheck validates docker-compose.yml the way `docker compose
// config` does (compose-go is the library behind it), where no container
// engine runs, and checks what was learned running the same shape with
// `make cluster`. Its own module keeps compose-go out of Baton's go.mod.
package composecheck

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func load(t *testing.T) *types.Project {
	t.Helper()
	file, err := filepath.Abs("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithWorkingDirectory(filepath.Dir(file)), cli.WithOsEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func TestComposeFileIsValid(t *testing.T) {
	p := load(t)
	if p.Name != "baton" || len(p.Services) < 8 {
		t.Errorf("project %q with %d services", p.Name, len(p.Services))
	}
}

// Nothing in the stack authenticates: every published port is on loopback.
func TestPortsOnLoopback(t *testing.T) {
	for name, s := range load(t).Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s:%d on %q, want 127.0.0.1", name, port.Published, port.Target, port.HostIP)
			}
		}
	}
}

// Images are pinned to tags that exist (admin-tools carries the tctl and
// CLI versions in its tag), and set-up failures are not hidden.
func TestImagesAndSetUp(t *testing.T) {
	p := load(t)
	want := map[string]string{
		"temporal":       "temporalio/auto-setup:1.29.1",
		"temporal-setup": "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
		"temporal-ui":    "temporalio/ui:2.42.1",
	}
	for name, image := range want {
		if got := p.Services[name].Image; got != image {
			t.Errorf("%s image = %q, want %q", name, got, image)
		}
	}
	for name, s := range p.Services {
		script := strings.Join(append(append([]string{}, s.Entrypoint...), s.Command...), " ")
		if strings.Contains(script, "|| true") {
			t.Errorf("%s hides failures with || true: %s", name, script)
		}
	}
	setup := p.Services["temporal-setup"]
	if len(setup.Entrypoint) < 2 || setup.Entrypoint[1] != "-ec" {
		t.Errorf("temporal-setup entrypoint = %v, want sh -ec (stop at the first failure)", setup.Entrypoint)
	}
	if dep := p.Services["worker"].DependsOn["temporal-setup"]; dep.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("worker depends on temporal-setup with %q", dep.Condition)
	}
}

// Workers come back after a crash; the default namespace keeps instances
// long enough for `starter report --since 7d`; links point at this UI.
func TestWorkersAndRetention(t *testing.T) {
	p := load(t)
	w := p.Services["worker"]
	if w.Restart != types.RestartPolicyUnlessStopped && w.Restart != types.RestartPolicyAlways {
		t.Errorf("worker restart = %q, want unless-stopped", w.Restart)
	}
	if r := p.Services["temporal"].Environment["DEFAULT_NAMESPACE_RETENTION"]; r == nil || *r != "7d" {
		t.Errorf("temporal DEFAULT_NAMESPACE_RETENTION = %v, want 7d", r)
	}
	ui := p.Services["temporal-ui"].Ports
	if len(ui) != 1 {
		t.Fatalf("temporal-ui ports = %v", ui)
	}
	if u := w.Environment["BATON_UI_URL"]; u == nil || *u != "http://localhost:"+ui[0].Published {
		t.Errorf("worker BATON_UI_URL = %v, want the UI's published port %s", u, ui[0].Published)
	}
}

// The audit store's roles and keys: the workers append as the writer
// role, the owner role is only the migration job's, and each audit key
// volume is mounted by the one process that signs with it (and the job
// that makes the key).
func TestAuditRolesAndKeys(t *testing.T) {
	p := load(t)
	env := func(service, key string) string {
		if v := p.Services[service].Environment[key]; v != nil {
			return *v
		}
		return ""
	}
	if d := env("worker", "BATON_AUDIT_DSN"); !strings.Contains(d, "//baton_writer:") {
		t.Errorf("worker BATON_AUDIT_DSN = %q, want the baton_writer role", d)
	}
	if d := env("anchor", "BATON_AUDIT_DSN"); !strings.Contains(d, "//baton_reader:") {
		t.Errorf("anchor BATON_AUDIT_DSN = %q, want the baton_reader role", d)
	}
	for name := range p.Services {
		if env(name, "BATON_AUDIT_OWNER_DSN") != "" && name != "audit-migrate" {
			t.Errorf("%s has the owner's DSN", name)
		}
	}
	mounts := map[string][]string{}
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			mounts[v.Source] = append(mounts[v.Source], name)
		}
	}
	for vol, want := range map[string][]string{"anchor-data": {"anchor", "anchor-key"}, "witness-data": {"witness", "witness-key"}} {
		got := mounts[vol]
		if len(got) != len(want) {
			t.Errorf("%s is mounted by %v, want only %v", vol, got, want)
		}
		for _, n := range got {
			if n != want[0] && n != want[1] {
				t.Errorf("%s is mounted by %s", vol, n)
			}
		}
	}
	for _, n := range mounts["baton-keys"] {
		if n == "anchor" || n == "witness" {
			t.Errorf("%s mounts the workers' keys", n)
		}
	}
	if dep := p.Services["worker"].DependsOn["audit-migrate"]; dep.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("worker depends on audit-migrate with %q", dep.Condition)
	}
}

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

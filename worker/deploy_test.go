package worker

import (
	"encoding/json"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/record"
)

// The production-shaped stack cannot run here (no container engine), so its
// file is checked against the code it deploys.
func TestComposeStackMatchesTheCode(t *testing.T) {
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image       string         `yaml:"image"`
			Build       any            `yaml:"build"`
			Healthcheck map[string]any `yaml:"healthcheck"`
			Deploy      struct {
				Replicas int `yaml:"replicas"`
			} `yaml:"deploy"`
			Command     []string          `yaml:"command"`
			Entrypoint  []string          `yaml:"entrypoint"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"postgresql", "temporal", "temporal-ui", "simulator", "worker", "temporal-setup", "prometheus", "grafana", "codecserver", "inbox", "inbox-keys"} {
		if _, ok := doc.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	w := doc.Services["worker"]
	if w.Deploy.Replicas != 2 || w.Build == nil || w.Healthcheck == nil {
		t.Errorf("worker: replicas=%d build=%v healthcheck=%v; want 2 replicas built from the Dockerfile with a health check", w.Deploy.Replicas, w.Build, w.Healthcheck)
	}
	if w.Environment["TEMPORAL_ADDRESS"] != "temporal:7233" {
		t.Errorf("worker TEMPORAL_ADDRESS = %q", w.Environment["TEMPORAL_ADDRESS"])
	}
	// The inbox signs with the key inbox-keys creates, under the policy copy
	// that trusts it, which the workers load too.
	in := doc.Services["inbox"]
	if in.Environment["BATON_POLICY_FILE"] != "/keys/policy.yaml" || w.Environment["BATON_POLICY_FILE"] != "/keys/policy.yaml" ||
		in.Environment["BATON_INBOX_SIGNING_KEY"] != "/keys/inbox.key" || in.Environment["BATON_INBOX_DEV_SIGN_IN"] != "true" {
		t.Errorf("inbox %v / worker %v: both need the policy that trusts the inbox's key; the dev sign-in must be explicit", in.Environment, w.Environment)
	}
	if keys := strings.Join(doc.Services["inbox-keys"].Entrypoint, " "); !strings.Contains(keys, "trust --create-key --key /keys/inbox.key") ||
		!strings.Contains(keys, "--out /keys/policy.yaml") {
		t.Errorf("inbox-keys entrypoint = %q", keys)
	}
	// The worker's audit store is a database on the same PostgreSQL,
	// created by the init script the postgresql service mounts.
	dsn, err := url.Parse(w.Environment["BATON_AUDIT_DSN"])
	if err != nil || dsn.Host != "postgresql:5432" {
		t.Errorf("worker BATON_AUDIT_DSN = %q, want the postgresql service", w.Environment["BATON_AUDIT_DSN"])
	} else {
		init, err := os.ReadFile("../deploy/postgres/init-audit.sql")
		if err != nil || !strings.Contains(string(init), "CREATE DATABASE "+strings.TrimPrefix(dsn.Path, "/")) ||
			!strings.Contains(string(init), "CREATE ROLE "+dsn.User.Username()) {
			t.Errorf("deploy/postgres/init-audit.sql does not create the database and role of %s: %v", dsn.Redacted(), err)
		}
		if !strings.Contains(string(data), "init-audit.sql:/docker-entrypoint-initdb.d/") {
			t.Error("the postgresql service does not mount deploy/postgres/init-audit.sql")
		}
	}
	// Payload encryption: the workers get the keys from the environment of
	// compose (never a value in the file), the codec server the same keys
	// and a token, and the UI decodes through the codec server.
	if k := w.Environment["BATON_CODEC_KEYS"]; !strings.HasPrefix(k, "${BATON_CODEC_KEYS:?") {
		t.Errorf("worker BATON_CODEC_KEYS = %q, want it required from the environment", k)
	}
	cs := doc.Services["codecserver"]
	if cs.Environment["BATON_CODEC_KEYS"] != w.Environment["BATON_CODEC_KEYS"] || !strings.HasPrefix(cs.Environment["BATON_CODEC_SERVER_TOKENS"], "${BATON_CODEC_TOKEN:?") ||
		cs.Environment["BATON_CODEC_SERVER_UI_ORIGINS"] != "http://localhost:8080" || cs.Environment["BATON_CODEC_SERVER_LISTEN"] != "0.0.0.0:8234" {
		t.Errorf("codecserver environment = %v", cs.Environment)
	}
	if ep := doc.Services["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"]; !strings.HasPrefix(ep, "http://localhost:8234/t/${BATON_CODEC_TOKEN:?") {
		t.Errorf("temporal-ui TEMPORAL_CODEC_ENDPOINT = %q, want the codec server with the token", ep)
	}
	for _, name := range []string{"postgresql", "temporal", "simulator", "codecserver", "inbox"} {
		if doc.Services[name].Healthcheck == nil {
			t.Errorf("%s has no health check", name)
		}
	}
	// The set-up job creates exactly the search attributes the code uses.
	setup := strings.Join(doc.Services["temporal-setup"].Command, " ")
	var got []string
	for _, f := range strings.Fields(setup) {
		f = strings.TrimSuffix(f, ";")
		if i := strings.Index(f, "="); i > 0 && !strings.ContainsAny(f, "$\"") {
			got = append(got, f)
		}
	}
	var want []string
	for name, typ := range record.SearchAttributes() {
		want = append(want, name+"="+typ.String())
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("temporal-setup creates %v, the code needs %v", got, want)
	}
}

func TestDockerfileIsMultiStageStaticNonRoot(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{"AS build", "CGO_ENABLED=0", "USER nonroot", "COPY --from=build", "./cmd/..."} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// The dashboard charts every business metric the code emits, and
// Prometheus scrapes the workers' metrics port.
func TestMonitoringMatchesTheCode(t *testing.T) {
	dash, err := os.ReadFile("../deploy/grafana/dashboards/baton.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &doc); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var exprs strings.Builder
	for _, p := range doc.Panels {
		for _, tg := range p.Targets {
			exprs.WriteString(tg.Expr + "\n")
		}
	}
	for _, m := range []string{record.MetricProcessStarted, record.MetricProcessCompleted, record.MetricProcessDuration,
		humantask.MetricTaskWait, humantask.MetricDecisions, humantask.MetricRefusals, humantask.MetricEscalations,
		humantask.MetricTasksClosed, record.MetricCompensations} {
		if !strings.Contains(exprs.String(), m+"_") {
			t.Errorf("the dashboard charts no %s", m)
		}
	}
	prom, err := os.ReadFile("../deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prom), "names: [worker]") || !strings.Contains(string(prom), "port: 9464") {
		t.Errorf("prometheus does not scrape the workers on 9464:\n%s", prom)
	}
}

// The cluster's dynamic config carries the server limits every Baton server
// runs with (record.ServerLimits), so a hostile signal flood cannot reach the
// history size limit there either.
func TestClusterDynamicConfigHasTheServerLimits(t *testing.T) {
	data, err := os.ReadFile("../deploy/cluster/dynamicconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dc map[string][]struct {
		Value any `yaml:"value"`
	}
	if err := yaml.Unmarshal(data, &dc); err != nil {
		t.Fatal(err)
	}
	for key, want := range record.ServerLimits() {
		v := dc[key]
		if len(v) != 1 || v[0].Value != want {
			t.Errorf("%s = %v, want %d", key, v, want)
		}
	}
}

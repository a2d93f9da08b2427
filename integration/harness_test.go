// Package integration runs Baton end to end: the pinned Temporal dev server,
// the simulated systems, and the real worker and starter binaries, all on
// free ports, started by TestMain and torn down after the last test.
//
// With BATON_TEST_TEMPORAL_ADDRESS set, the tests run against that server
// instead (make test-cluster points it at a PostgreSQL-backed cluster): the
// run registers a namespace of its own, so nothing else polls its task queue
// and nothing it lists comes from earlier runs. BATON_TEST_TEMPORAL_UI names
// that server's Web UI, BATON_TEST_CLUSTER_DIR the scripts/cluster.sh state
// folder the cluster fault test restarts the server and PostgreSQL through.
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/internal/pgtest"
	"github.com/batonhq/baton/record"
)

// env is the running system every test talks to.
var env struct {
	root       string // repository root
	bin        string // folder of the built binaries
	temporal   string // the pinned Temporal CLI
	address    string // dev server frontend
	namespace  string
	client     client.Client
	external   bool   // a server this run did not start
	clusterDir string // scripts/cluster.sh state of that server, if any
	workerLog  *lockedBuffer
	worker     *exec.Cmd
	healthURL  string
	policyFile string
	simURL     string
	sim        *exec.Cmd
	uiURL      string
	pg         *pgtest.Server
	auditDSN   string // the audit store the worker and the starter use: the append-only writer role
	auditDSNs  pgtest.AuditDSNs
	// The audit log: the keys (in tmp), the anchor and the witness.
	audit auditLogEnv
	// The payload codec: the key file every binary reads, the codec server
	// the Web UI and the temporal CLI decode through, and its token.
	keyFile    string
	keyring    *codec.Keyring
	codecURL   string
	codecToken string
	tokenFile  string
	codecLog   *lockedBuffer
	codecCmd   *exec.Cmd
}

func TestMain(m *testing.M) {
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration set-up failed:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	wd, _ := os.Getwd()
	env.root = filepath.Dir(wd)
	env.namespace = "default"
	env.policyFile = filepath.Join(env.root, "config", "policy.yaml")

	var err error
	env.temporal, err = temporalBinary()
	if err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp("", "baton-it-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	env.bin = filepath.Join(tmp, "bin")
	for _, name := range []string{"worker", "starter", "simulator", "codecserver", "inbox", "anchor", "witness"} {
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(env.bin, name), "./cmd/"+name)
		build.Dir = env.root
		if out, err := build.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("build %s: %v\n%s", name, err, out)
		}
	}

	addr := os.Getenv("BATON_TEST_TEMPORAL_ADDRESS")
	var uiPort string
	if addr != "" {
		env.uiURL = os.Getenv("BATON_TEST_TEMPORAL_UI")
	} else {
		uiAddr := freePort()
		_, uiPort, _ = net.SplitHostPort(uiAddr)
		env.uiURL = "http://" + uiAddr
	}
	// The codec server (and its key, which every client needs) first: it
	// allows the UI's origin.
	if err := startCodecServer(ctx, tmp); err != nil {
		return 0, err
	}
	defer func() { _ = env.codecCmd.Process.Signal(syscall.SIGTERM); _ = env.codecCmd.Wait() }()
	if addr != "" {
		if err := useExternalServer(ctx, addr); err != nil {
			return 0, err
		}
		defer env.client.Close()
	} else {
		serverLog := &lockedBuffer{}
		server, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
			ExistingPath: env.temporal,
			LogLevel:     "error",
			EnableUI:     true,
			UIPort:       uiPort,
			// The UI decodes through the codec server; the dev server's UI has
			// no sign-in to pass a token from, so the token is in the endpoint.
			ExtraArgs:     append(append(record.DevServerArgs(), devServerArgs()...), "--ui-codec-endpoint", env.codecURL+"/t/"+env.codecToken),
			Stdout:        serverLog,
			Stderr:        serverLog,
			ClientOptions: withCodec(&client.Options{Namespace: env.namespace, Logger: quiet{}}),
		})
		if err != nil {
			return 0, fmt.Errorf("start dev server from %s: %w\n%s", env.temporal, err, serverLog.String())
		}
		defer func() { _ = server.Stop() }()
		env.address = server.FrontendHostPort()
		env.client = server.Client()
	}

	// The audit store: a throwaway PostgreSQL, as make dev starts one.
	if env.pg, err = pgtest.New(ctx); err != nil {
		return 0, err
	}
	defer env.pg.Close()
	if err := makeAuditKeys(tmp); err != nil {
		return 0, err
	}
	if env.auditDSNs, err = newAuditDB(ctx, "baton"); err != nil {
		return 0, err
	}
	env.auditDSN = env.auditDSNs.Writer
	stopLog, err := startAuditLog(ctx, tmp)
	if err != nil {
		return 0, err
	}
	defer stopLog()

	if err := startSimulator(ctx); err != nil {
		return 0, err
	}
	defer func() { _ = env.sim.Process.Signal(syscall.SIGTERM); _ = env.sim.Wait() }()
	if err := startWorker(ctx, tmp); err != nil {
		return 0, err
	}
	defer stopWorker()

	code := m.Run()
	for _, f := range benchCleanup {
		f()
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "---- worker log (last 4 KiB) ----\n%s\n", tail(env.workerLog.String(), 4096))
	}
	return code, nil
}

// benchCleanup stops what benchmarks started once per run.
var benchCleanup []func()

// useExternalServer points the run at a running server, in a namespace of
// its own that it registers and waits for: a real server caches namespaces,
// so one registered a moment ago reads as not found for about a second.
// The worker started next creates the search attributes and waits until
// they are usable.
func useExternalServer(ctx context.Context, addr string) error {
	env.external = true
	env.address = addr
	env.clusterDir = os.Getenv("BATON_TEST_CLUSTER_DIR")
	env.namespace = fmt.Sprintf("baton-it-%d", time.Now().UnixNano())
	var err error
	env.client, err = client.DialContext(ctx, *withCodec(&client.Options{HostPort: addr, Namespace: env.namespace, Logger: quiet{}}))
	if err != nil {
		return fmt.Errorf("dial the external server %s (BATON_TEST_TEMPORAL_ADDRESS): %w", addr, err)
	}
	if err := registerNamespace(ctx, env.client, env.namespace); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "integration: external server %s, namespace %s\n", addr, env.namespace)
	return nil
}

// registerNamespace registers ns and returns once the server answers calls
// in it.
func registerNamespace(ctx context.Context, cl client.Client, ns string) error {
	if _, err := cl.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(72 * time.Hour),
	}); err != nil {
		return fmt.Errorf("register namespace %s: %w", ns, err)
	}
	for {
		_, err := cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s not usable: %w", ns, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// temporalBinary finds the pinned CLI that the Makefile builds. A missing
// binary fails the run with the reason: integration tests never skip.
func temporalBinary() (string, error) {
	p := os.Getenv("BATON_TEMPORAL_BIN")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache", "baton", "temporal-v1.5.1", "temporal")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("pinned Temporal CLI not found at %s (build it with: make temporal): %w", p, err)
	}
	return p, nil
}

// devServerArgs are extra dev server flags. BATON_IT_SA_CACHE=production
// turns off the CLI dev server's refresh of search-attribute metadata on every
// read (system.forceSearchAttributesCacheRefreshOnRead, on in the CLI's dev
// server so that new attributes show at once, off by default in a real
// server): with it on, visibility reads the namespace and cluster metadata
// from the database for every row it returns. Tests that create namespaces
// need it on; the inbox benchmark runs with it off.
func devServerArgs() []string {
	if os.Getenv("BATON_IT_SA_CACHE") == "production" {
		return []string{"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false"}
	}
	return nil
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// baseEnv is the environment of the binaries under test.
func baseEnv() []string {
	return append(os.Environ(),
		"TEMPORAL_ADDRESS="+env.address,
		"TEMPORAL_NAMESPACE="+env.namespace,
		"BATON_POLICY_FILE="+env.policyFile,
		"BATON_LOG_FORMAT=json",
		"BATON_SYSTEMS_URL="+env.simURL,
		"BATON_AUDIT_DSN="+env.auditDSN,
		"BATON_CODEC_KEY_FILE="+env.keyFile,
		"BATON_AUDIT_WRITER_KEY="+env.audit.writerKey,
		"BATON_AUDIT_WRITER_PUBLIC_KEYS="+env.audit.writerKey+".pub",
		"BATON_AUDIT_LOG_URL="+env.audit.logURL,
		"BATON_AUDIT_LOG_PUBLIC_KEY="+env.audit.logKey+".pub",
		"BATON_AUDIT_WITNESS_PUBLIC_KEYS="+env.audit.witnessKey+".pub",
		"BATON_AUDIT_CHECKPOINT_FILE="+env.audit.checkpointFile,
		// No profile of the host's user (make dev writes one) reaches the
		// binaries under test.
		"XDG_CONFIG_HOME="+filepath.Join(filepath.Dir(env.bin), "config"),
	)
}

// withCodec sets the payload codec on client options, as every Baton
// binary does.
func withCodec(o *client.Options) *client.Options {
	o.DataConverter = codec.DataConverter(env.keyring)
	o.FailureConverter = codec.FailureConverter(o.DataConverter)
	return o
}

// startCodecServer writes a fresh key file and token and starts the codec
// server binary, allowing the Web UI's origin.
func startCodecServer(ctx context.Context, tmp string) error {
	env.keyFile = filepath.Join(tmp, "codec.keys")
	if err := writeKeyFile(env.keyFile); err != nil {
		return err
	}
	var err error
	if env.keyring, err = codec.LoadKeyFile(env.keyFile); err != nil {
		return err
	}
	if env.codecToken, err = codec.NewToken(); err != nil {
		return err
	}
	env.tokenFile = filepath.Join(tmp, "codec.token")
	if err := os.WriteFile(env.tokenFile, []byte(env.codecToken+"\n"), 0o600); err != nil {
		return err
	}
	addr := freePort()
	env.codecURL = "http://" + addr
	env.codecLog = &lockedBuffer{}
	cmd := exec.Command(filepath.Join(env.bin, "codecserver"))
	cmd.Env = append(os.Environ(), "BATON_CODEC_KEY_FILE="+env.keyFile, "BATON_CODEC_SERVER_LISTEN="+addr,
		"BATON_CODEC_SERVER_TOKEN_FILE="+env.tokenFile, "BATON_UI_URL="+env.uiURL, "BATON_LOG_FORMAT=json")
	cmd.Stdout, cmd.Stderr = env.codecLog, env.codecLog
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start codec server: %w", err)
	}
	env.codecCmd = cmd
	return waitHealthy(ctx, env.codecURL+"/healthz", env.codecLog)
}

// testKeyFile is the committed test-only key that encrypts the committed
// replay histories (workflows/replay_test.go decodes them with it).
const testKeyFile = "workflows/testdata/test.keys"

// writeKeyFile writes the run's key file: a fresh key, or, when recording
// the replay histories (BATON_RECORD_HISTORIES, make histories), the
// committed test-only key, so the histories are exported encrypted with a
// key the replay test holds.
func writeKeyFile(path string) error {
	if os.Getenv("BATON_RECORD_HISTORIES") == "" {
		_, _, err := codec.AppendNewKey(path, "it-")
		return err
	}
	data, err := os.ReadFile(filepath.Join(env.root, testKeyFile))
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func startSimulator(ctx context.Context) error {
	addr := freePort()
	env.simURL = "http://" + addr
	cmd := exec.Command(filepath.Join(env.bin, "simulator"), "--listen", addr, "--seed", "11")
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	env.sim = cmd
	return waitHealthy(ctx, env.simURL+"/healthz", log)
}

func waitHealthy(ctx context.Context, url string, log fmt.Stringer) error {
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w\n%s", url, ctx.Err(), log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// workerExtraEnv is added to the worker's environment (the benchmark's
// "without audit writes" worker).
var workerExtraEnv []string

func startWorker(ctx context.Context, tmp string) error {
	metrics := freePort()
	env.healthURL = "http://" + metrics + "/healthz"
	env.workerLog = &lockedBuffer{}
	cmd := exec.Command(filepath.Join(env.bin, "worker"))
	cmd.Env = append(baseEnv(), "BATON_METRICS_ADDRESS="+metrics, "BATON_WORKER_STOP_TIMEOUT=5s")
	cmd.Env = append(cmd.Env, workerExtraEnv...)
	cmd.Stdout = env.workerLog
	cmd.Stderr = env.workerLog
	cmd.Dir = tmp
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	env.worker = cmd
	return waitHealthy(ctx, env.healthURL, env.workerLog)
}

// spawnWorker runs one more worker in namespace ns, logging into log, and
// returns once it polls; the test's cleanup stops it.
func spawnWorker(t testing.TB, ctx context.Context, ns string, log *lockedBuffer, extraEnv ...string) *exec.Cmd {
	t.Helper()
	health, cmd := launchWorker(t, ns, log, extraEnv...)
	if err := waitHealthy(ctx, health, log); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// launchWorker starts one more worker in namespace ns and returns its
// health URL and process; the test's cleanup stops it.
func launchWorker(t testing.TB, ns string, log *lockedBuffer, extraEnv ...string) (string, *exec.Cmd) {
	t.Helper()
	return launchWorkerBin(t, "worker", ns, log, extraEnv...)
}

// launchWorkerBin is launchWorker with another worker binary of env.bin (a
// team's own, built on the worker package).
func launchWorkerBin(t testing.TB, bin, ns string, log *lockedBuffer, extraEnv ...string) (string, *exec.Cmd) {
	t.Helper()
	metrics := freePort()
	for _, e := range extraEnv { // a test that scrapes it picks the address
		if a, ok := strings.CutPrefix(e, "BATON_METRICS_ADDRESS="); ok {
			metrics = a
		}
	}
	cmd := exec.Command(filepath.Join(env.bin, bin))
	cmd.Env = append(append(baseEnv(), "TEMPORAL_NAMESPACE="+ns, "BATON_METRICS_ADDRESS="+metrics, "BATON_WORKER_STOP_TIMEOUT=5s"), extraEnv...)
	cmd.Dir = env.root
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	return "http://" + metrics + "/healthz", cmd
}

func stopWorker() {
	if env.worker == nil || env.worker.Process == nil {
		return
	}
	_ = env.worker.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- env.worker.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = env.worker.Process.Kill()
	}
}

// result is one run of a binary under test.
type result struct {
	stdout, stderr string
	code           int
}

// runBin runs a built binary with the test environment.
func runBin(t *testing.T, name string, args ...string) result {
	t.Helper()
	return runBinEnv(t, name, nil, args...)
}

// runBinEnv runs a built binary with extra environment variables and waits
// for it to exit.
func runBinEnv(t *testing.T, name string, extraEnv []string, args ...string) result {
	t.Helper()
	return runBinInput(t, name, extraEnv, "", args...)
}

// runBinStdin runs a built binary with stdin as its standard input.
func runBinStdin(t *testing.T, stdin string, name string, args ...string) result {
	t.Helper()
	return runBinInput(t, name, nil, stdin, args...)
}

func runBinInput(t *testing.T, name string, extraEnv []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.bin, name), args...)
	cmd.Env = append(baseEnv(), extraEnv...)
	cmd.Dir = env.root
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", name, args, err)
	}
	return r
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// lockedBuffer collects a child process's output: exec copies it in from
// another goroutine while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}

// runWorkerOnce runs the worker binary expecting it to exit by itself.
func runWorkerOnce(t *testing.T, extraEnv ...string) result {
	t.Helper()
	return runBinEnv(t, "worker", append([]string{"BATON_METRICS_ADDRESS=" + freePort()}, extraEnv...))
}

package workflows

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/record"
)

// testKeys is the committed, test-only key the recorded histories are
// encrypted with (make histories runs the test system on it).
const testKeys = "testdata/test.keys"

// Histories exported from real runs on the dev server (make histories) are
// replayed with the worker's own registration and the worker's converters
// (the codec on the test key): a change to workflow code that would break
// running instances fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files := historyFiles(t)
	covered := map[string]bool{}
	for _, f := range files {
		covered[strings.SplitN(filepath.Base(f), "-", 2)[0]] = true
	}
	for _, p := range Catalog().Names() {
		if !covered[p] {
			t.Errorf("no recorded history for %s in testdata/ (run: make histories)", p)
		}
	}
	ring, err := codec.LoadKeyFile(testKeys)
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(ring)
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: codec.FailureConverter(dc)})
			if err != nil {
				t.Fatal(err)
			}
			Catalog().Register(r, record.Settings{})
			hist, key := recordedHistory(t, f, dc)
			// Replayed under its business key (a process refuses any other
			// workflow ID) and, for a run made by a reset, under its own
			// run ID, as a worker replays it: the reset run acts on what
			// runs before it recorded (humantask.Host.Earlier).
			opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: key, RunID: resetRunID(hist)}}
			if err := r.ReplayWorkflowHistoryWithOptions(logger, hist, opts); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// recordedHistory reads a history file and the business key of its input
// (decoded with dc: the input is encrypted).
func recordedHistory(t *testing.T, file string, dc converter.DataConverter) (*historypb.History, string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	started := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	p, ok := Catalog().Lookup(started.GetWorkflowType().GetName())
	if !ok {
		t.Fatalf("%s: unknown process %s", file, started.GetWorkflowType().GetName())
	}
	in := p.NewInput()
	if err := dc.FromPayload(started.GetInput().GetPayloads()[0], in); err != nil {
		t.Fatalf("%s: input: %v", file, err)
	}
	return hist, in.Key()
}

// resetRunID is the run a reset made of hist (the last reset's new run),
// or "" for a history no reset made.
func resetRunID(hist *historypb.History) string {
	run := ""
	for _, e := range hist.GetEvents() {
		if a := e.GetWorkflowTaskFailedEventAttributes(); a.GetCause() == enums.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
			run = a.GetNewRunId()
		}
	}
	return run
}

func historyFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/ (run: make histories)")
	}
	return files
}

// The committed histories are public: read as they are, every payload
// decoded from base64 and the encrypted ones left out, they show no card
// number, card digits, name, customer id or free text of the examples the
// integration tests start, and no staff member's name from the directory.
// Decrypted with the test key, the same histories do hold the examples'
// card numbers and the new hire's name: the sentinels are in the data.
func TestCommittedHistoriesHoldNoPersonalDataInClear(t *testing.T) {
	sentinels := exampleSentinels(t)
	ring, err := codec.LoadKeyFile(testKeys)
	if err != nil {
		t.Fatal(err)
	}
	c := codec.New(ring)
	var decrypted strings.Builder
	for _, f := range historyFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		w := &payloadWalker{codec: c}
		clear, err := json.Marshal(w.walk(doc))
		if err != nil {
			t.Fatal(err)
		}
		if w.err != nil {
			t.Fatalf("%s: %v", f, w.err)
		}
		if w.encrypted == 0 {
			t.Errorf("%s holds no encrypted payload: record it with make histories", f)
		}
		text := string(clear)
		for _, s := range sentinels {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q in clear", f, s)
			}
		}
		decrypted.WriteString(w.plain.String())
	}
	for _, s := range []string{"4111111111111111", "4000000000000002", "Nora Noll"} {
		if !slices.Contains(sentinels, s) {
			t.Fatalf("sentinel %q is not among the examples' values: update this test", s)
		}
		if !strings.Contains(decrypted.String(), s) {
			t.Errorf("no committed history holds %q once decrypted: the test would not see it in clear either", s)
		}
	}
}

// exampleSentinels are the personal values of examples/*.json (the inputs
// the integration tests start), at least 5 characters long, and the staff
// directory's names.
func exampleSentinels(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../examples/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var in map[string]any
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, field := range []string{"cardNumber", "name", "purpose", "description", "applicantId", "customerId", "claimant", "policyNumber"} {
			v, _ := in[field].(string)
			if len(v) < 5 {
				continue // too short to be told from other text ("car")
			}
			out = append(out, v)
			if field == "cardNumber" && len(v) > 4 {
				out = append(out, "•••• "+v[len(v)-4:], "ending "+v[len(v)-4:])
			}
		}
	}
	pol, err := config.LoadPolicy("../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range pol.Users {
		out = append(out, u.Name)
	}
	return out
}

// payloadWalker replaces every payload ({metadata, data}) of an exported
// history by what a reader without the key sees: encrypted ones by
// nothing, the others by their decoded data. It keeps the decrypted text
// of the encrypted ones apart.
type payloadWalker struct {
	codec     *codec.Codec
	encrypted int
	plain     strings.Builder
	err       error
}

func (w *payloadWalker) walk(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if data, ok := x["data"].(string); ok {
			if md, ok := x["metadata"].(map[string]any); ok {
				return w.payload(md, data)
			}
		}
		for k, e := range x {
			x[k] = w.walk(e)
		}
	case []any:
		for i, e := range x {
			x[i] = w.walk(e)
		}
	}
	return v
}

func (w *payloadWalker) payload(md map[string]any, data string) any {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		w.err = err
		return nil
	}
	meta := map[string][]byte{}
	for k, v := range md {
		s, _ := v.(string)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			w.err = err
			return nil
		}
		meta[k] = b
	}
	if string(meta["encoding"]) != "binary/encrypted" {
		return map[string]any{"encoding": string(meta["encoding"]), "data": string(raw)}
	}
	w.encrypted++
	p, err := w.codec.Decode([]*commonpb.Payload{{Metadata: meta, Data: raw}})
	if err != nil {
		w.err = err
		return nil
	}
	w.plain.Write(p[0].GetData())
	w.plain.WriteByte('\n')
	return map[string]any{"encoding": "binary/encrypted"}
}

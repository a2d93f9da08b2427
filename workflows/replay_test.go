package workflows

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Histories exported from real runs on the dev server (make histories) are
// replayed with the worker's own registration: a change to workflow code
// that would break running instances fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, f := range files {
		covered[strings.SplitN(filepath.Base(f), "-", 2)[0]] = true
	}
	for _, p := range Names() {
		if !covered[p] {
			t.Errorf("no recorded history for %s in testdata/ (run: make histories)", p)
		}
	}
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			hist, key := recordedHistory(t, f)
			// Replayed under its business key: a process refuses any other
			// workflow ID.
			opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: key}}
			if err := r.ReplayWorkflowHistoryWithOptions(logger, hist, opts); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// recordedHistory reads a history file and the business key of its input.
func recordedHistory(t *testing.T, file string) (*historypb.History, string) {
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
	p, ok := Lookup(started.GetWorkflowType().GetName())
	if !ok {
		t.Fatalf("%s: unknown process %s", file, started.GetWorkflowType().GetName())
	}
	in := p.NewInput()
	if err := json.Unmarshal(started.GetInput().GetPayloads()[0].GetData(), in); err != nil {
		t.Fatalf("%s: input: %v", file, err)
	}
	return hist, in.Key()
}

package workflows

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
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
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

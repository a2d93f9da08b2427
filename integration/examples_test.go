package integration

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/workflows"
)

// Every process's own example, examples/<process>.json (what starter new
// process writes), runs to its end: started as a newcomer starts it, each
// task it opens approved by the first user the directory lets decide it.
// Recording (make histories), it is the history of every process that has
// none yet in workflows/testdata, so a new process needs no test of its
// own to be replayed.
func TestEveryProcessRunsItsExample(t *testing.T) {
	pol, err := config.LoadPolicy(env.policyFile, workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, p := range workflows.Catalog().Processes() {
		example := filepath.Join("examples", p.Name+".json")
		if _, err := os.Stat(filepath.Join(env.root, example)); err != nil {
			continue
		}
		ran++
		id := uniq("E")
		wf := p.Name + "-" + id
		starter(t, "start", p.Name, "--file", example, "--id", id)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		run := env.client.GetWorkflow(ctx, wf, "")
		done := make(chan error, 1)
		go func() { done <- run.Get(ctx, nil) }()
	drive:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: %v", wf, err)
				}
				break drive
			case <-time.After(300 * time.Millisecond):
			}
			var st struct {
				OpenTasks []humantask.TaskView `json:"openTasks"`
			}
			_ = json.Unmarshal([]byte(runBin(t, "starter", "status", wf, "-o", "json").stdout), &st)
			for _, task := range st.OpenTasks {
				for _, user := range slices.Sorted(maps.Keys(pol.Users)) {
					if humantask.MayAct(pol, user, task) == "" {
						runBin(t, "starter", "approve", wf, "--as", user, "--task", task.ID)
						break
					}
				}
			}
		}
		cancel()
		if recorded, _ := filepath.Glob(filepath.Join(env.root, "workflows", "testdata", p.Name+"-*.json")); len(recorded) == 0 {
			saveHistory(t, p.Name+"-example", wf)
		}
	}
	if ran == 0 {
		t.Fatal("no process has an example named examples/<process>.json")
	}
}

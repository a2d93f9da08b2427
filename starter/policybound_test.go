package starter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// whatif --policy with a file far larger than any policy is refused at once,
// naming the file and the bound (it took 1.3 GB of memory on 200 MB).
func TestWhatifRefusesAnOversizePolicy(t *testing.T) {
	isolate(t)
	big := filepath.Join(t.TempDir(), "proposed.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(200 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = runStarter(t, "whatif", "--policy", big, "--source", "history")
	if err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "larger than 1048576 bytes (1 MiB)") || strings.Contains(err.Error(), "\n") {
		t.Errorf("whatif with a 200 MB policy: %v", err)
	}
}

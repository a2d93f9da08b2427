package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/batonhq/baton/policy"
)

// A policy file larger than policy.MaxFileBytes is refused with its name and the
// bound, without being read whole: a 200 MB file (whatif --policy took
// 1.3 GB on one) costs about the bound in memory.
func TestLoadBoundsTheFileSize(t *testing.T) {
	big := filepath.Join(t.TempDir(), "proposed.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("requireSignedDecisions: false\nusers:\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(200 << 20); err != nil { // sparse: no 200 MB on disk
		t.Fatal(err)
	}
	f.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = LoadPolicy(big, nil)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "larger than 1048576 bytes (1 MiB)") {
		t.Fatalf("a 200 MB policy file: %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("refusing a 200 MB policy file allocated %d MB", grew>>20)
	}

	// One byte over the bound, and a device that never ends.
	over := filepath.Join(t.TempDir(), "over.yaml")
	if err := os.WriteFile(over, []byte(strings.Repeat("#", policy.MaxFileBytes+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicy(over, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("one byte over: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := LoadPolicy("/dev/zero", nil); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
	if _, err := policy.Parse([]byte(strings.Repeat("#", policy.MaxFileBytes+1))); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("Parse of more than the bound: %v", err)
	}
	// The development policy is far inside the bound.
	if _, err := LoadPolicy("policy.yaml", nil); err != nil {
		t.Errorf("config/policy.yaml: %v", err)
	}
}

func TestLoadPolicyNamesTheFile(t *testing.T) {
	_, err := LoadPolicy("/nonexistent/policy.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/policy.yaml") {
		t.Fatalf("err = %v", err)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/workflows"
)

// Every example input passes the starter's strict decoding and its
// process's validation.
func TestExamplesAreStrictlyValid(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.json")
	if len(files) < 10 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, f := range files {
		name, _, _ := strings.Cut(filepath.Base(f), "-")
		p, ok := workflows.Lookup(strings.TrimSuffix(name, ".json"))
		if !ok {
			t.Errorf("%s: no process %q", f, name)
			continue
		}
		in := p.NewInput()
		if err := readInput(f, os.Stdin, in); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := in.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

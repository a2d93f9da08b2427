package config

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the settings table of docs/configuration.md")

const (
	referenceDoc   = "../docs/configuration.md"
	referenceBegin = "<!-- settings: generated from config/config.go by `go test ./config -run TestConfigurationReference -update`; edit there -->"
	referenceEnd   = "<!-- end of settings -->"
)

// referenceTable renders every setting as the documentation's table.
func referenceTable() string {
	var b strings.Builder
	b.WriteString("| key | environment | flag | default | what it sets |\n|---|---|---|---|---|\n")
	for _, s := range settings {
		env := "`" + strings.Join(s.env, "`, `") + "`"
		fl := ""
		if s.flag != "" {
			fl = "`--" + s.flag + "`"
		}
		def := fmt.Sprint(s.def)
		if d, ok := s.def.(time.Duration); ok {
			def = d.String() // 10s, 30m0s, 8h0m0s: shown as 10s, 30m, 8h
			if strings.HasSuffix(def, "m0s") {
				def = strings.TrimSuffix(def, "0s")
			}
			if strings.HasSuffix(def, "h0m") {
				def = strings.TrimSuffix(def, "0m")
			}
		}
		if def == "" {
			def = "(none)"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.key, env, fl, def, strings.ReplaceAll(s.usage, "|", `\|`))
	}
	return b.String()
}

// docs/configuration.md holds the table of every setting as config.go
// declares it: a key added, renamed or given another default without the
// document following fails here.
func TestConfigurationReference(t *testing.T) {
	data, err := os.ReadFile(referenceDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	head, rest, ok1 := strings.Cut(doc, referenceBegin+"\n")
	table, tail, ok2 := strings.Cut(rest, referenceEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s: the markers of the settings table are missing:\n%s\n%s", referenceDoc, referenceBegin, referenceEnd)
	}
	want := referenceTable()
	if table == want {
		return
	}
	if *update {
		if err := os.WriteFile(referenceDoc, []byte(head+referenceBegin+"\n"+want+referenceEnd+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the settings table differs from config.go's; rewrite it with: go test ./config -run TestConfigurationReference -update", referenceDoc)
}

// Every environment variable the project reads or sets (Go code, scripts,
// the Makefile, docker-compose.yml) is named in docs/configuration.md.
func TestConfigurationNamesEveryVariable(t *testing.T) {
	data, err := os.ReadFile(referenceDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	re := regexp.MustCompile(`\b(BATON|TEMPORAL)_[A-Z0-9_]*[A-Z0-9]\b`)
	seen := map[string][]string{}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if strings.HasPrefix(name, ".") && path != ".." || name == "docs" || name == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".sh") && name != "Makefile" && name != "docker-compose.yml" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range re.FindAllString(string(b), -1) {
			// TEMPORAL_* variables other than the settings' are the
			// Temporal tools' own (the UI server's, the Makefile's paths).
			if strings.HasPrefix(v, "TEMPORAL_") && !slices.ContainsFunc(settings, func(s setting) bool { return slices.Contains(s.env, v) }) {
				continue
			}
			seen[v] = append(seen[v], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 40 {
		t.Fatalf("found only %d variables: the walk missed the tree", len(seen))
	}
	for v, where := range seen {
		if !regexp.MustCompile(`\b` + v + `\b`).MatchString(doc) {
			t.Errorf("%s (used in %s) is not in %s", v, where[0], referenceDoc)
		}
	}
}

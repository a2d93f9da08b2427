package starter

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/workflows"
)

// docFiles are the README and every document under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents under ../docs: %v", err)
	}
	return append([]string{"../README.md"}, files...)
}

// slug is GitHub's anchor for a heading.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors lists the headings of a markdown file as GitHub links them
// (code blocks left out).
func anchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fenced := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced && strings.HasPrefix(line, "#") {
			out[slug(strings.TrimLeft(line, "#"))] = true
		}
	}
	return out
}

// Every link between the README and the documents reaches a file that
// exists and, where it names one, a heading of that file.
func TestDocumentLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s links to %s, which does not exist", file, target)
					continue
				}
			}
			if anchor != "" && !anchors(t, dest)[anchor] {
				t.Errorf("%s links to %s: %s has no heading #%s", file, target, dest, anchor)
			}
		}
	}
}

// The README stays short enough for a newcomer to finish.
func TestReadmeIsShort(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n > 250 {
		t.Errorf("README.md has %d lines; keep it at most 250 and move reference material to docs/", n)
	}
}

// Every examples/ file that a command's help or a document names exists:
// a newcomer copies these commands first.
func TestNamedExamplesExist(t *testing.T) {
	re := regexp.MustCompile(`examples/[A-Za-z0-9._*-]+`)
	check := func(where, text string) {
		for _, path := range re.FindAllString(text, -1) {
			path = strings.TrimRight(path, ".")
			matches, err := filepath.Glob(filepath.Join("..", path))
			if err != nil || len(matches) == 0 {
				t.Errorf("%s names %s, which does not exist", where, path)
			}
		}
	}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		text := cmd.Use + "\n" + cmd.Short + "\n" + cmd.Long + "\n" + cmd.Example + "\n" + cmd.Flags().FlagUsages()
		check("starter "+cmd.CommandPath()+" --help", text)
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(newApp(workflows.Catalog(), io.Discard, io.Discard).rootCommand())
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		check(file, string(data))
	}
}

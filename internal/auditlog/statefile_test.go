package auditlog

import (
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// A verifier keeps one checkpoint per log key: a second stack's log (same
// origin, another key) starts its own history instead of failing against
// the first log's checkpoint ("does not verify with the log's key"), and
// the same key finds the checkpoint it kept.
func TestCheckpointKeptPerLogKey(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	verifier := func() note.Verifier {
		pub, err := NewKeyFile(filepath.Join(t.TempDir(), "log.key"), LogOrigin)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(pub)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b := verifier(), verifier()
	fa, err := DefaultStateFile(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := DefaultStateFile(b)
	again, _ := DefaultStateFile(a)
	if fa == fb {
		t.Errorf("two log keys share the kept checkpoint %s", fa)
	}
	if fa != again {
		t.Errorf("the same key's checkpoint moved: %s, then %s", fa, again)
	}
	dir, _ := DefaultStateDir()
	if filepath.Dir(fa) != dir {
		t.Errorf("checkpoint %s is not in the state dir %s", fa, dir)
	}
}

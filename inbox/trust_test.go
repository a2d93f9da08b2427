package inbox

import (
	"os"
	"strings"
	"testing"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
)

// trust adds the signer to a copy of the policy, keeps the rest, replaces
// an earlier key, and refuses what is not a valid policy.
func TestWithSigner(t *testing.T) {
	src, err := os.ReadFile("../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const k1, k2 = "TQHOzw7TB3E9w81Nd7VTQnKF8cWDOnL4pkZiXDYiSF8=", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	out, err := withSigner(src, "inbox", k1, workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(out)
	if err != nil || p.Signers["inbox"].PublicKey != k1 || p.Users["ana"].Name != "Ana Alves" || p.Processes["expense"] == nil {
		t.Fatalf("policy with signer: %v %+v", err, p)
	}
	if !strings.Contains(string(out), "# Baton development policy") {
		t.Error("comments were lost")
	}
	again, err := withSigner(out, "inbox", k2, workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := policy.Parse(again); p.Signers["inbox"].PublicKey != k2 || strings.Count(string(again), "signers:") != 1 {
		t.Fatalf("replacing the key:\n%s", again)
	}
	if _, err := withSigner([]byte("users: {}\n"), "inbox", k1, workflows.Catalog().CheckPolicy); err == nil || !strings.Contains(err.Error(), "users: the directory is empty") {
		t.Fatalf("invalid policy: %v", err)
	}
}

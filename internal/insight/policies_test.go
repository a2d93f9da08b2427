package insight

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/pgtest"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
)

// pinned is a copy of a recorded trail pinned to another policy version.
func pinned(t *testing.T, name, key, version string) *Trail {
	tr := trailCopy(t, name, key)
	for i := range tr {
		tr[i].PolicyVersion = version
	}
	return NewTrail(tr)
}

// Conformance reads the pinned policies the audit store keeps: two
// versions in one window, each instance checked under its own, and a
// stored text that does not hash to its version is not used, saying why.
func TestConformanceUnderEveryVersionTheStoreKeeps(t *testing.T) {
	ctx := context.Background()
	st, err := auditstore.Open(ctx, pgtest.Start(t).DB(t, "policies"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	textA, err := os.ReadFile("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Version B auto-approves only from a score of 800.
	textB := []byte(strings.Replace(string(textA), "autoApprove: {minScore: 720", "autoApprove: {minScore: 800", 1))
	a, errA := policy.Parse(textA)
	b, errB := policy.Parse(textB)
	if errA != nil || errB != nil || a.Version == b.Version {
		t.Fatalf("versions %v %v", errA, errB)
	}
	const forged = "sha256:0123456789ab"
	for v, text := range map[string][]byte{a.Version: textA, b.Version: textB, forged: textA} {
		if err := st.PutPolicy(ctx, v, text); err != nil {
			t.Fatal(err)
		}
	}
	trails := []*Trail{
		pinned(t, "auto", "loan-under-a", a.Version),  // score 780: automated under A
		pinned(t, "auto", "loan-under-b", b.Version),  // the same route under B is a breach
		pinned(t, "four-eyes", "loan-b-2", b.Version), // manual under both
		pinned(t, "auto", "loan-forged-text", forged), // its text does not hash to it
		pinned(t, "auto", "loan-unknown", "sha256:ffffffffffff"),
	}
	// Without --policy files: every version comes from the store.
	c := Conform(ctx, trails, FirstOf(NewPolicySet(), &StoredPolicies{Texts: st}), &Described{Catalog: workflows.Catalog()})
	if !c.Policies[a.Version] || !c.Policies[b.Version] || c.Policies[forged] || c.Policies["sha256:ffffffffffff"] {
		t.Errorf("policies read = %v", c.Policies)
	}
	// Under B the loan should have gone to underwriting: its automated
	// route breaches, and the task B requires is missing.
	for _, br := range c.Breaches {
		if br.WorkflowID != "loan-under-b" || br.PolicyVersion != b.Version {
			t.Errorf("breach of %s under %s: %s", br.WorkflowID, br.PolicyVersion, br.Detail)
		}
	}
	if c.ByKind[BreachRouting] != 1 || c.ByKind[BreachLevels] != 1 || len(c.Breaches) != 2 {
		t.Fatalf("breaches = %+v, want loan-under-b's routing and levels under %s", c.Breaches, b.Version)
	}
	if !strings.Contains(c.PolicyProblems[forged], "hashes to "+a.Version+", not to its version") {
		t.Errorf("policy problems = %v", c.PolicyProblems)
	}
	why := map[string]string{}
	for _, u := range c.Unchecked {
		if u.Rule == BreachRouting {
			why[u.Examples[0]] = u.Why
		}
	}
	if !strings.Contains(why["loan-forged-text"], "not to its version") || !strings.Contains(why["loan-unknown"], "is not known here") {
		t.Errorf("not checked = %+v", c.Unchecked)
	}
	// A --policy file of the same version answers before the store.
	c = Conform(ctx, trails[:2], FirstOf(NewPolicySet(a), &StoredPolicies{Texts: st}), &Described{Catalog: workflows.Catalog()})
	if !c.Policies[a.Version] || !c.Policies[b.Version] || len(c.Breaches) != 2 {
		t.Errorf("with a file for A: policies %v, breaches %+v", c.Policies, c.Breaches)
	}
}

package policy

import (
	"os"
	"strings"
	"testing"
)

func devFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// refusesEdit checks that the development policy with old replaced by repl
// is refused with an error that contains want.
func refusesEdit(t *testing.T, old, repl, want string) {
	t.Helper()
	src := devFile(t)
	if !strings.Contains(src, old) {
		t.Fatalf("fixture drifted: %q not in config/policy.yaml", old)
	}
	_, err := Parse([]byte(strings.Replace(src, old, repl, 1)))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestDevelopmentPolicy(t *testing.T) {
	p, err := Parse([]byte(devFile(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ana": "underwriter", "ben": "underwriter", "sam": "senior-underwriter", "fay": "fraud-analyst",
		"mia": "manager", "max": "manager", "fin": "finance", "dan": "director", "hal": "hr", "ivy": "it-admin"}
	for user, role := range want {
		if !p.HasRole(user, role) {
			t.Errorf("%s lacks %s", user, role)
		}
	}
	// A section is the process's own: here decoded into a stand-in type.
	l, err := Section[struct {
		AutoDeclineBelow int            `json:"autoDeclineBelow"`
		Underwriting     Task           `json:"underwriting"`
		AutoApprove      map[string]any `json:"autoApprove"`
		FourEyesAbove    float64        `json:"fourEyesAbove"`
	}](p, "loan")
	if err != nil {
		t.Fatal(err)
	}
	if l.AutoDeclineBelow != 550 || l.FourEyesAbove != 100000 {
		t.Errorf("loan routing = %+v", l)
	}
	if l.Underwriting.Deadline.D().Hours() != 48 || l.Underwriting.Escalation.After.D().Hours() != 24 || l.Underwriting.Escalation.AddRoles[0] != "senior-underwriter" {
		t.Errorf("underwriting = %+v", l.Underwriting)
	}
	if _, err := Section[struct{}](p, "loan"); err == nil || !strings.Contains(err.Error(), `processes.loan: field "autoApprove" not found`) {
		t.Errorf("unknown key in a section: err = %v", err)
	}
	if _, err := Section[struct{}](p, "mortgage"); err == nil || !strings.Contains(err.Error(), "processes.mortgage: the section is missing") {
		t.Errorf("missing section: err = %v", err)
	}
}

func TestVersionIsTheContentHash(t *testing.T) {
	a, _ := Parse([]byte(devFile(t)))
	b, _ := Parse([]byte(devFile(t) + "\n# a comment changes the file\n"))
	if a.Version == b.Version || !strings.HasPrefix(a.Version, "sha256:") || len(a.Version) != 19 {
		t.Errorf("versions %s %s", a.Version, b.Version)
	}
	c, _ := Parse([]byte(devFile(t)))
	if a.Version != c.Version {
		t.Error("same content, different version")
	}
}

// Process sections are validated by the processes (workflows.CheckPolicy);
// the directory and the file's shape are validated here.
func TestValidationNamesTheEntry(t *testing.T) {
	cases := []struct {
		old, new, want string
	}{
		{"ivy: {name: Ivy Ito,       roles: [it-admin]}", "ivy: {name: Ivy Ito,       roles: []}", "users.ivy.roles: a user needs at least one role"},
		{"requireSignedDecisions: false", "requireSignedDecisions: false\nrequireSigned: true", "field requireSigned not found"},
		{"\nusers:", "\nsigners:\n  inbox: {publicKey: bm90LWEta2V5}\nusers:", "signers.inbox.publicKey: an Ed25519 public key is 32 bytes, this one is 9"},
		{"ben: {name: Ben Brandt,    roles: [underwriter]}", "ben: {name: Ben Brandt,    roles: [underwriter], subject: s-1}\n  zed: {name: Zed, roles: [senior-underwriter], subject: s-1}", "users.zed.subject: already the subject of ben"},
		{"ben: {name: Ben Brandt,    roles: [underwriter]}", "ben: {name: Ben Brandt,    roles: [underwriter], email: b@x.test}\n  zed: {name: Zed, roles: [senior-underwriter], email: B@x.test}", "users.zed.email: already the email of ben"},
		{"insight: {roles: [manager, director]}", "insight: {roles: [manager, auditor]}", "insight.roles: role 'auditor' has no users"},
		{"insight: {roles: [manager, director]}", "insight: {roles: []}", "insight.roles: name at least one role"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			refusesEdit(t, tc.old, tc.new, tc.want)
		})
	}
}

func TestInsightIsForTheRolesThePolicyNames(t *testing.T) {
	p, err := Parse([]byte(devFile(t)))
	if err != nil {
		t.Fatal(err)
	}
	if !p.MaySeeInsight("max") || !p.MaySeeInsight("dan") || p.MaySeeInsight("ana") || p.MaySeeInsight("nobody") {
		t.Errorf("insight viewers: max %v, dan %v, ana %v", p.MaySeeInsight("max"), p.MaySeeInsight("dan"), p.MaySeeInsight("ana"))
	}
	p.Insight = nil
	if p.MaySeeInsight("max") {
		t.Error("without an insight entry nobody sees the insight pages")
	}
}

// An OpenID Connect identity maps to a user by subject first, and by email
// only when the provider verified it.
func TestUserByIdentity(t *testing.T) {
	p, err := Parse([]byte(`
users:
  ana: {name: Ana, roles: [underwriter], subject: "248289761001"}
  ben: {name: Ben, roles: [underwriter], email: Ben@Bank.test}
processes:
  loan: {underwriting: {roles: [underwriter], deadline: 1h}}
  order: {fraudReview: {roles: [underwriter], deadline: 1h}}
  onboarding: {managerApproval: {deadline: 1h}, provisioningFix: {roles: [underwriter], deadline: 1h}}
  expense: {levels: [{name: m, above: 0, roles: [underwriter], deadline: 1h}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sub, email string
		verified   bool
		want       string
	}{
		{"248289761001", "", false, "ana"},
		{"other", "ben@bank.test", true, "ben"},
		{"other", "ben@bank.test", false, ""},
		{"", "ana@bank.test", true, ""},
	} {
		if got, _ := p.UserByIdentity(c.sub, c.email, c.verified); got != c.want {
			t.Errorf("UserByIdentity(%q, %q, %v) = %q, want %q", c.sub, c.email, c.verified, got, c.want)
		}
	}
}

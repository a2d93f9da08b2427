package workflows

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// Each process validates its own section of the policy; errors name the entry.
func TestPolicySectionsNameTheEntry(t *testing.T) {
	b, err := os.ReadFile("../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	cases := []struct {
		old, new, want string
	}{
		{"roles: [underwriter]\n      quorum: 1", "roles: [undrwriter]\n      quorum: 1", "processes.loan.underwriting.roles: role 'undrwriter' has no users"},
		{"{name: finance,  above: 500,  roles: [finance]", "{name: finance,  above: 500,  roles: [financ]", "processes.expense.levels[1].roles: role 'financ' has no users"},
		{"{name: director, above: 5000", "{name: director, above: 400", "processes.expense.levels[2].above: 400.00 must exceed the previous level's 500.00"},
		{"deadline: 48h", "deadline: 2 days", `"2 days" is not a duration`},
		{"deadline: 48h", "deadline: 0s", "processes.loan.underwriting.deadline: a positive deadline is needed"},
		{"escalation: {after: 24h, addRoles: [senior-underwriter]}", "escalation: {after: 72h, addRoles: [senior-underwriter]}", "processes.loan.underwriting.escalation.after: must be positive and before the deadline"},
		{"escalation: {after: 48h, addRoles: [hr]}", "escalation: {after: 48h, addRoles: [people]}", "processes.onboarding.managerApproval.escalation.addRoles: role 'people' has no users"},
		{"onDeadline: reject\n\n  order", "onDeadline: approve\n\n  order", `processes.loan.underwriting.onDeadline: "approve" is not one of reject, escalate`},
		{"fraudReviewAt: 70", "fraudReviewAt: 170", "processes.order.fraudReviewAt: 170 is outside 0..100"},
		{"      roles: [fraud-analyst]\n      deadline: 24h", "      roles: [fraud-analyst]\n      rejections: -1\n      deadline: 24h", "processes.order.fraudReview.rejections: -1 is negative"},
		{"autoDeclineBelow: 550", "autoDeclineBelow: 750", "processes.loan.autoDeclineBelow: 750 is above autoApprove.minScore 720"},
		{"fraudReviewAt: 70", "fraudReviewAt: 70\n    fraudReviewAfter: 3", `processes.order: field "fraudReviewAfter" not found`},
		{"\n  order:\n", "\n  orders:\n", "processes.orders: no such process"},
		{"roles: [underwriter]\n      quorum: 1", "roles: [underwriter]\n      quorum: 3", "processes.loan.underwriting.quorum: 3 approvals needed but only 2 users hold [underwriter]"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if !strings.Contains(src, tc.old) {
				t.Fatalf("fixture drifted: %q not in config/policy.yaml", tc.old)
			}
			p, err := policy.Parse([]byte(strings.Replace(src, tc.old, tc.new, 1)))
			if err == nil {
				err = Catalog().CheckPolicy(p)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDevelopmentPolicyChecks(t *testing.T) {
	if _, err := config.LoadPolicy("../config/policy.yaml", Catalog().CheckPolicy); err != nil {
		t.Fatal(err)
	}
}

// Baton's own largest payload, the policy each instance pins, stays well
// under the blob limit the servers run with (record.ServerLimits).
func TestPinnedPolicyIsWellUnderTheBlobLimit(t *testing.T) {
	p := loadDevPolicy(t)
	b, err := json.Marshal(record.LoadPolicyResult{Policy: *p})
	if err != nil {
		t.Fatal(err)
	}
	if limit := record.ServerLimits()["limit.blobSize.error"]; len(b) > limit/4 {
		t.Errorf("the pinned policy is %d bytes; the blob limit is %d", len(b), limit)
	}
}

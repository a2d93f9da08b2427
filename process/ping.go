package process

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/record"
)

// PingName is the worker's health probe's workflow type: not a business
// process (starter ping).
const PingName = "ping"

// PingInput is empty today; a struct keeps the payload growable.
type PingInput struct{}

// PingResult tells which policy the answering worker serves.
type PingResult struct {
	PolicyVersion string `json:"policyVersion"`
	Users         int    `json:"users"`
}

// Ping proves a worker polls the task queue and reports the policy it serves.
func Ping(ctx workflow.Context, _ PingInput) (*PingResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		Summary:             "policy: load",
	})
	var res record.LoadPolicyResult
	if err := workflow.ExecuteActivity(ctx, record.ActivityLoadPolicy).Get(ctx, &res); err != nil {
		return nil, err
	}
	return &PingResult{PolicyVersion: res.Policy.Version, Users: len(res.Policy.Users)}, nil
}

// Package activities holds Baton's automated tasks: one struct per external
// system, each holding its HTTP client, built once by the worker.
package activities

import "go.temporal.io/sdk/activity"

// Registry is what the SDK worker offers for activities.
type Registry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Set is every activity struct the processes call.
type Set struct {
	Policy *Policy
}

// Register registers every activity struct's methods.
func Register(r Registry, s Set) {
	r.RegisterActivityWithOptions(s.Policy, activity.RegisterOptions{})
}

// Command worker hosts Baton's processes on a Temporal task queue (see
// package worker), with Baton's systems as their activities.
package main

import (
	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/activities/httpsys"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/worker"
	"github.com/batonhq/baton/workflows"
)

func main() {
	worker.Main(workflows.Catalog(), worker.Activities(func(r worker.ActivityRegistry, cfg *config.Config) error {
		activities.Register(r, httpsys.NewSet(cfg.Systems.URL, cfg.Systems.Timeout))
		return nil
	}))
}

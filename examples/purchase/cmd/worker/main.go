// Command worker hosts the purchase process and its ordering system.
package main

import (
	"go.temporal.io/sdk/activity"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/worker"

	"example.com/purchase"
)

func main() {
	worker.Main(purchase.Catalog(), worker.Activities(func(r worker.ActivityRegistry, _ *config.Config) error {
		r.RegisterActivityWithOptions(&purchase.Purchasing{}, activity.RegisterOptions{})
		return nil
	}))
}

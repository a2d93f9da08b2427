// Command starter is the CLI people use to start and steer Baton's
// processes (see package starter).
package main

import (
	"github.com/batonhq/baton/starter"
	"github.com/batonhq/baton/workflows"
)

func main() { starter.Main(workflows.Catalog()) }

// Command inbox serves Baton's web inbox (see package inbox).
package main

import (
	"github.com/batonhq/baton/inbox"
	"github.com/batonhq/baton/workflows"
)

func main() { inbox.Main(workflows.Catalog()) }

// Command inbox serves the web inbox for purchase requests.
package main

import (
	"github.com/batonhq/baton/inbox"

	"example.com/purchase"
)

func main() { inbox.Main(purchase.Catalog()) }

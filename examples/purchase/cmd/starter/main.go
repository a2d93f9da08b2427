// Command starter starts and steers purchase requests (Baton's starter
// over this team's catalog).
package main

import (
	"github.com/batonhq/baton/starter"

	"example.com/purchase"
)

func main() { starter.Main(purchase.Catalog()) }

// Command starter is the CLI people use to start and steer Baton's
// processes (see package starter).
package main

import "github.com/batonhq/baton/starter"

func main() { starter.Main() }

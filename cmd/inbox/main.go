// Command inbox serves Baton's web inbox (see package inbox).
package main

import "github.com/batonhq/baton/inbox"

func main() { inbox.Main() }

// Command worker hosts Baton's processes on a Temporal task queue (see
// package worker).
package main

import "github.com/batonhq/baton/worker"

func main() { worker.Main() }

// Package layering checks the layering docs/design.md states: its test
// reads the table of packages and layers from that file and checks every
// package of the module against it with go list -deps.
package layering

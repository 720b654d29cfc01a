//go:build !linux

package pgserver

import "os/exec"

// endWithParent does nothing where the system cannot tie the server's life
// to its parent's; Stop still ends it.
func endWithParent(*exec.Cmd) {}

package pgserver

import (
	"os/exec"
	"syscall"
)

// endWithParent stops the server when the process that started it dies.
func endWithParent(cmd *exec.Cmd) { cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM }

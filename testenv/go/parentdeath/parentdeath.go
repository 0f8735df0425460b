// Package parentdeath ties a control-plane process to the process that started
// it. Tests and `roost dev` start etcd, kube-apiserver and
// kube-controller-manager as children; if that parent is killed outright
// (SIGKILL, an aborted test run) no cleanup code runs, so the kernel must end
// the children instead.
package parentdeath

import (
	"os"
	"syscall"
)

// Arm asks the kernel to send SIGTERM to this process when its parent dies, if
// ROOST_EXIT_WITH_PARENT is set. A parent that died before the call leaves us
// re-parented already, so that case exits at once.
func Arm() {
	if os.Getenv("ROOST_EXIT_WITH_PARENT") == "" {
		return
	}
	parent := os.Getppid()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return
	}
	if os.Getppid() != parent || parent == 1 {
		os.Exit(1)
	}
}

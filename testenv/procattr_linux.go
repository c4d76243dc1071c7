package testenv

import "syscall"

// sysProcAttr makes the kernel kill a started process when the test binary
// dies, so that a crashed test run leaves no emulator or Azurite behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

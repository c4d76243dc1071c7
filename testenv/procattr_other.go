//go:build !linux

package testenv

import "syscall"

// sysProcAttr sets nothing outside Linux: the emulator still exits when its
// standard input closes.
func sysProcAttr() *syscall.SysProcAttr { return nil }

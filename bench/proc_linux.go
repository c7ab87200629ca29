package main

import "syscall"

// sysProcAttr puts a child in its own process group, so that a terminal's
// Ctrl-C reaches only the bench (which then stops its children in order),
// and has the kernel kill it if the bench dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

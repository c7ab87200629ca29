//go:build !linux

package main

import "syscall"

// sysProcAttr returns nil: process groups and parent-death signals are set
// up on Linux only, where the bench is meant to run (it reads /proc).
func sysProcAttr() *syscall.SysProcAttr { return nil }

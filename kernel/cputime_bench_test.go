// SPDX-License-Identifier: Apache-2.0

//go:build unix

package kernel_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system, every thread, GC included)
// the test process has used so far. On a shared machine it measures the
// kernel's own cost where wall time also counts other processes.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

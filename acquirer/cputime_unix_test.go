// SPDX-License-Identifier: Apache-2.0

//go:build unix

package acquirer_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system, every thread) the test process
// has used so far: in the loopback benchmark, terminal, simulated acquirer
// and issuer together. On a shared machine it is their own cost where wall
// time also counts the neighbours.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

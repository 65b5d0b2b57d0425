// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package kernel_test

import "time"

// processCPU is not measured on this system: cpu-ns/op is not reported.
func processCPU() time.Duration { return 0 }

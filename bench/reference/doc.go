// SPDX-License-Identifier: Apache-2.0

// Package reference holds benchmarks of the machine rather than of pboc:
// how a compute-only loop and an allocation-only loop scale from one core
// to two. bench/run.sh runs them beside the 16-pump kernel benchmark, so
// that its scaling can be read against what the machine and the Go
// runtime allow.
package reference

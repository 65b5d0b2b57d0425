// SPDX-License-Identifier: Apache-2.0

// Package cputime reads the process's CPU time for the benchmarks'
// cpu-ns/op and cpu-sec/op: on a shared machine the process's own cost,
// where wall time also counts the neighbours.
package cputime

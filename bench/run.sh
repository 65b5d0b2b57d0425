#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh — run the project's benchmarks and summarise them with benchstat.
#
#   bench/run.sh               run the benchmarks, print benchstat
#   bench/run.sh OLD.txt       ... and compare with an earlier run (old → new)
#
# Environment:
#   COUNT=6      runs of each benchmark (benchstat needs 6+ for its intervals)
#   BENCH=.      the -bench pattern
#   PKGS="..."   the packages (default: tlv apdu bcd crypto/oda kernel)
#   OUT=bench/out  where the raw outputs go (new.txt, scaling-*.txt)
#
# The whole-transaction benchmarks of ./kernel replay a recorded card, so
# they measure the kernel alone; they report cpu-ns/op (process CPU per
# transaction, GC included) beside ns/op: on a shared machine wall time also
# counts the neighbours, CPU time is the kernel's own.
#
# Scaling. The 16-pump benchmark (BenchmarkPurchaseContactECParallel) and
# two benchmarks of the machine itself (./bench/reference: a compute-only
# and an allocation-only loop) run with GOMAXPROCS 1 pinned to each core in
# turn (taskset), then with GOMAXPROCS 2 on both cores; COUNT rounds, so
# that a neighbour's burst on a shared machine hits every configuration
# alike. Cores of a shared virtual machine need not be equally fast, so
# "linear" is measured against what the two cores do apart: the ideal time
# per purchase on both is 1 / (1/t0 + 1/t1), and the summary prints the
# measured time's share of that ideal. Without taskset (or with other
# than 2 CPUs) the GOMAXPROCS 1 runs are not pinned and only benchstat's
# comparison is printed.
#
# benchstat is a tool, not a dependency: it is installed at a pinned version
# with `go install` and never added to go.mod. If it cannot be built (no
# network or module proxy), the raw `go test` output is printed instead.
set -eu

cd "$(dirname "$0")/.."

BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
COUNT=${COUNT:-6}
BENCH=${BENCH:-.}
PKGS=${PKGS:-"./tlv ./apdu ./bcd ./crypto/oda ./kernel"}
OUT=${OUT:-bench/out}
OLD=${1:-}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
new="$OUT/new.txt"

benchstat=""
if go install "$BENCHSTAT" 2>"$OUT/benchstat-install.log"; then
	bin=$(go env GOBIN)
	[ -n "$bin" ] || bin="$(go env GOPATH | cut -d: -f1)/bin"
	benchstat="$bin/benchstat"
else
	echo "bench/run.sh: cannot build $BENCHSTAT (see $OUT/benchstat-install.log): raw output follows" >&2
fi

echo "\$ go test -run '^\$' -bench '$BENCH' -benchmem -count $COUNT $PKGS" >&2
# shellcheck disable=SC2086 # PKGS is a list of packages
go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" $PKGS >"$new"

# Scaling: compiled once, run from each package's directory (the kernel's
# benchmarks read ../testdata).
go test -c -o "$OUT/kernel.test" ./kernel
go test -c -o "$OUT/reference.test" ./bench/reference
pin=""
if command -v taskset >/dev/null 2>&1 && [ "$(getconf _NPROCESSORS_ONLN)" = 2 ]; then
	pin=yes
fi
# scale FILE CPUS [CORE]: one round of the scaling benchmarks.
scale() {
	set -- "$1" "$2" "${3:-}"
	run=""
	[ -n "$3" ] && run="taskset -c $3"
	(cd kernel && $run "$OUT/kernel.test" -test.run '^$' -test.bench 'Parallel$' -test.benchmem -test.cpu "$2") >>"$1"
	(cd bench/reference && $run "$OUT/reference.test" -test.run '^$' -test.bench 'Parallel$' -test.benchmem -test.cpu "$2") >>"$1"
}
if [ -n "$pin" ]; then
	echo "\$ for i in \$(seq $COUNT); do for core in 0 1; do taskset -c \$core kernel.test -test.bench 'Parallel\$' -test.cpu 1; done;" \
		"kernel.test -test.bench 'Parallel\$' -test.cpu 2; done   (and the same for bench/reference)" >&2
else
	echo "\$ for i in \$(seq $COUNT); do kernel.test -test.bench 'Parallel\$' -test.cpu 1; kernel.test -test.bench 'Parallel\$' -test.cpu 2; done" \
		"  (and the same for bench/reference)" >&2
fi
: >"$OUT/scaling-core0.txt"
: >"$OUT/scaling-core1.txt"
: >"$OUT/scaling-1cpu.txt"
: >"$OUT/scaling-2cpu.txt"
i=0
while [ "$i" -lt "$COUNT" ]; do
	if [ -n "$pin" ]; then
		scale "$OUT/scaling-core0.txt" 1 0
		scale "$OUT/scaling-core1.txt" 1 1
	else
		scale "$OUT/scaling-1cpu.txt" 1
	fi
	scale "$OUT/scaling-2cpu.txt" 2
	i=$((i + 1))
done

# median NAME FILE: the median ns/op of benchmark NAME (GOMAXPROCS suffix
# ignored) in FILE.
median() {
	awk -v name="$1" '$1 ~ "^Benchmark"name"(-[0-9]+)?$" { print $3 }' "$2" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'
}
# floor: a DDA purchase's kernel cost against the crypto it cannot avoid,
# from the same run: the bare floor (three RSA e = 3 operations and their
# SHA-1 hashes, nothing else: BenchmarkBareDDAFloor), the whole ODA of a
# DDA card on raw tag values (issuer certificate, ICC certificate, signed
# dynamic data), and the same for an issuer whose certificate the kernel
# already knows.
floor() {
	p=$(median 'PurchaseContactEC/DDA' "$new")
	bare=$(median 'BareDDAFloor' "$new")
	cold=$(median 'ODAMethod/RSA-e3/DDA' "$new")
	warm=$(median 'ODAMethod/RSA-e3/DDA-known-issuer' "$new")
	[ -n "$p" ] && [ -n "$bare" ] && [ -n "$cold" ] && [ -n "$warm" ] || return 0
	echo "# A DDA purchase against its crypto floor (median ns/op of this run)"
	awk -v p="$p" -v b="$bare" -v c="$cold" -v w="$warm" 'BEGIN {
		printf "PurchaseContactEC/DDA %8.0f  bare floor (3 RSA + SHA-1) %8.0f = %.2fx  ODA floor (issuer + ICC + SDAD) %8.0f = %.2fx  known issuer (ICC + SDAD) %8.0f = %.2fx\n", p, b, p / b, c, p / c, w, p / w
	}'
}
summary() {
	[ -n "$pin" ] || return 0
	echo "# Scaling against the cores' own speeds (median ns/op; ideal = 1 / (1/core0 + 1/core1))"
	for name in PurchaseContactECParallel ComputeParallel AllocParallel; do
		c0=$(median "$name" "$OUT/scaling-core0.txt")
		c1=$(median "$name" "$OUT/scaling-core1.txt")
		both=$(median "$name" "$OUT/scaling-2cpu.txt")
		awk -v n="$name" -v c0="$c0" -v c1="$c1" -v b="$both" 'BEGIN {
			ideal = 1 / (1 / c0 + 1 / c1)
			printf "%-26s core 0 %8.0f  core 1 %8.0f  ideal on both %8.0f  measured on both %8.0f  = %3.0f%% of ideal, %.2fx the faster core\n",
				n, c0, c1, ideal, b, 100 * ideal / b, (c0 < c1 ? c0 : c1) / b
		}'
	done
}

if [ -z "$benchstat" ]; then
	cat "$new"
	for f in "$OUT"/scaling-*.txt; do
		echo
		cat "$f"
	done
	echo
	summary
	floor
	exit 0
fi

if [ -n "$OLD" ]; then
	"$benchstat" old="$OLD" new="$new"
else
	"$benchstat" "$new"
fi
echo
echo "# 16 pumps on one Kernel, and the machine's own compute-only and allocation-only loops"
echo "# (sec/op is wall time per operation)"
if [ -n "$pin" ]; then
	"$benchstat" -ignore /gomaxprocs -filter '.unit:(sec/op OR cpu-sec/op)' core0="$OUT/scaling-core0.txt" core1="$OUT/scaling-core1.txt" both="$OUT/scaling-2cpu.txt"
else
	"$benchstat" -ignore /gomaxprocs -filter '.unit:(sec/op OR cpu-sec/op)' "1 core=$OUT/scaling-1cpu.txt" "2 cores=$OUT/scaling-2cpu.txt"
fi
echo
summary
echo
floor

#!/bin/sh
# bench/run.sh — run the project's benchmarks and summarise them with benchstat.
#
#   bench/run.sh               run the benchmarks, print benchstat
#   bench/run.sh OLD.txt       ... and compare with an earlier run (old → new)
#
# Environment:
#   COUNT=6      runs of each benchmark (benchstat needs 6+ for its intervals)
#   BENCH=.      the -bench pattern
#   PKGS="..."   the packages (default: tlv apdu bcd crypto/oda kernel)
#   OUT=bench/out  where the raw outputs go (new.txt, scaling*.txt)
#
# The whole-transaction benchmarks of ./kernel replay a recorded card, so
# they measure the kernel alone; they report cpu-ns/op (process CPU per
# transaction, GC included) beside ns/op: on a shared machine wall time also
# counts the neighbours, CPU time is the kernel's own. The 16-pump benchmark
# runs again with -cpu 1,2 to show how throughput scales with cores, beside
# two benchmarks of the machine itself (./bench/reference: a compute-only
# and an allocation-only loop). Those runs alternate one core and two, COUNT
# rounds, so that a neighbour's burst on a shared machine hits both alike;
# each round runs the 16 pumps once more with GOGC=400 (scaling-gogc400.txt).
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
new="$OUT/new.txt"
scaling="$OUT/scaling.txt"
gogc="$OUT/scaling-gogc400.txt"

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

echo "\$ for i in \$(seq $COUNT); do go test -run '^\$' -bench 'Parallel\$' -benchmem -cpu 1,2 ./kernel ./bench/reference;" \
	"GOGC=400 go test -run '^\$' -bench 'Parallel\$' -benchmem -cpu 1,2 ./kernel; done" >&2
: >"$scaling"
: >"$gogc"
i=0
while [ "$i" -lt "$COUNT" ]; do
	go test -run '^$' -bench 'Parallel$' -benchmem -cpu 1,2 ./kernel ./bench/reference >>"$scaling"
	GOGC=400 go test -run '^$' -bench 'Parallel$' -benchmem -cpu 1,2 ./kernel >>"$gogc"
	i=$((i + 1))
done

if [ -z "$benchstat" ]; then
	cat "$new"
	echo
	cat "$scaling"
	echo
	cat "$gogc"
	exit 0
fi

if [ -n "$OLD" ]; then
	"$benchstat" old="$OLD" new="$new"
else
	"$benchstat" "$new"
fi
echo
echo "# 16 pumps on one Kernel, and the machine's own compute-only and allocation-only loops:"
echo "# GOMAXPROCS 1 and 2 (sec/op is wall time per operation: half is linear scaling)"
"$benchstat" -col /gomaxprocs "$scaling"
echo
echo "# the same 16 pumps with GOGC=400"
"$benchstat" -col /gomaxprocs "$gogc"

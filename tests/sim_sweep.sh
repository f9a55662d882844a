#!/bin/sh
# sim_sweep.sh - runs the PBFT simulator over many seeds split across the machine's cores
# (`make sim SEEDS=n`): one qchain_sim process per core on consecutive seed ranges, each
# range's failures and summary printed, then one total line. Exit 1 if any seed failed.
# Usage: sim_sweep.sh QCHAIN_SIM SEEDS [FROM]   (SIM_JOBS overrides the number of processes)
set -eu
bin=$1
seeds=$2
from=${3:-1}
jobs=${SIM_JOBS:-$(nproc)}
[ "$jobs" -ge 1 ] || jobs=1
per=$(( (seeds + jobs - 1) / jobs ))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
end=$((from + seeds))
start=$from
i=0
pids=""
while [ "$start" -lt "$end" ]; do
    count=$per
    [ $((start + count)) -gt "$end" ] && count=$((end - start))
    "$bin" --seeds "$count" --from "$start" > "$tmp/part$i.log" 2>&1 &
    pids="$pids $!"
    start=$((start + count))
    i=$((i + 1))
done
t0=$(date +%s)
status=0
for p in $pids; do wait "$p" || status=1; done
t1=$(date +%s)
grep -h -v '^\.\.\. ' "$tmp"/part*.log
cat "$tmp"/part*.log | awk -v jobs="$i" -v secs=$((t1 - t0)) '
    /^pbft sim: / { n += $3; f += $9 + 0 }
    END { printf "pbft sim total: %d seeds over %d processes in %d s, %d failed\n", n, jobs, secs, f }'
exit $status

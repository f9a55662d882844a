#!/bin/sh
# Runs every benchmark binary given, after a header naming the machine it runs on.
set -u
echo "== qchain benchmarks on $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
rc=0
for b in "$@"; do
  echo "-- $(basename "$b")"
  "$b" || rc=1
done
exit $rc

#!/bin/sh
# Runs each libFuzzer binary for the given number of seconds over its seed corpus
# (tests/fuzz/corpus/NAME/, read-only: new inputs go to a scratch dir). Fails on any crash.
set -u
secs=$1; shift
rc=0; n=0
for b in "$@"; do
  name=$(basename "$b")
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  scratch=$(mktemp -d)
  mkdir -p build/fuzz/artifacts
  if "$b" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ "$scratch" ${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} \
       >"$scratch.log" 2>&1; then
    echo "  ok    $name ($secs s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$scratch.log" | cut -d" " -f2) runs)"
    n=$((n + 1))
  else
    echo "  FAIL  $name"; tail -30 "$scratch.log"; rc=1
  fi
  rm -rf "$scratch" "$scratch.log"
done
echo "fuzz: $n passed, $(( $# - n )) failed"
exit $rc

#!/bin/sh
# it_addcity.sh - the README's admin walkthrough: while the Quick start's nine-city consortium
# runs (testnet/run.sh), testnet/add-city.sh adds a tenth city by governance; it must end with
# the new city voting in epoch 1, and every node (the new one too) must stop cleanly.
set -eu
dir=$(mktemp -d)
port=$(( 12000 + ($$ % 600) * 12 + 7200 ))
case "${BUILD:-build}" in *asan*) port=$((port + 5)) ;; esac
QCHAIN_BASE_PORT=$port QCHAIN_TESTNET_DIR="$dir/tn" sh testnet/run.sh >"$dir/run.log" 2>&1 &
run=$!
cleanup() { kill -TERM $run 2>/dev/null || true; wait $run 2>/dev/null || true; }
fail() { echo "it_addcity: $*"; cat "$dir/run.log"; echo "---- add-city"; cat "$dir/add.log" 2>/dev/null; cleanup; rm -rf "$dir"; exit 1; }
i=0
until grep -q 'the consortium keeps running' "$dir/run.log"; do
  i=$((i + 1)); [ $i -le 600 ] || fail "the consortium did not start"
  kill -0 $run 2>/dev/null || fail "testnet/run.sh exited"
  sleep 0.1
done
QCHAIN_BASE_PORT=$port QCHAIN_TESTNET_DIR="$dir/tn" sh testnet/add-city.sh weifang 'Weifang 潍坊' \
  >"$dir/add.log" 2>&1 || fail "add-city.sh failed"
grep -q '"validator": true' "$dir/add.log" || fail "weifang does not vote"
grep -q '"epoch": 1' "$dir/add.log" || fail "epoch 1 is not in force at weifang"
grep -q 'enacted' "$dir/add.log" || fail "the proposal is not enacted"
pid=$(cat "$dir/tn/weifang.pid")
cleanup
grep -q 'exited with' "$dir/run.log" && fail "a node did not exit cleanly"
kill -0 "$pid" 2>/dev/null && fail "weifang's node still runs after make run stopped"
grep -q 'AddressSanitizer\|runtime error\|LeakSanitizer' "$dir/tn/logs/weifang.log" &&
  fail "weifang's node: a sanitizer report ($(grep -m1 -i sanitizer "$dir/tn/logs/weifang.log"))"
rm -rf "$dir"
echo "it_addcity: weifang joined the running nine-city consortium and votes in epoch 1"

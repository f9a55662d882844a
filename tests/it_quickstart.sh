#!/bin/sh
# it_quickstart.sh - runs the README's Quick start (testnet/run.sh) once, on its own ports and
# directory: nine nodes start, three cities anchor records, every node shows the same head,
# receipts verify offline and a tampered document is refused, zibo endorses jinan's licence and
# taian revokes its agreement (zibo's revoke of jinan's licence is refused), taian's city log is
# proven complete (and jinan's licence proven not anchored by taian), then all nodes stop.
set -eu
dir=$(mktemp -d)
# below the kernel's ephemeral range (32768+), where outgoing connections could take our ports
port=$(( 12000 + ($$ % 600) * 12 ))
case "${BUILD:-build}" in *asan*) port=$((port + 5)) ;; esac
out=$(QCHAIN_RUN_ONCE=1 QCHAIN_BASE_PORT=$port QCHAIN_TESTNET_DIR="$dir/tn" sh testnet/run.sh 2>&1) || {
  echo "$out"; rm -rf "$dir"; exit 1; }
rm -rf "$dir"
heads=$(printf '%s\n' "$out" | grep -c 'height 3  head')
valid=$(printf '%s\n' "$out" | grep -c '^VALID: record')
refused=$(printf '%s\n' "$out" | grep -c 'tampered copy of the licence is refused')
if [ "$heads" -ne 9 ] || [ "$valid" -ne 3 ] || [ "$refused" -ne 1 ]; then
  echo "$out"; echo "expected 9 nodes at height 3, 3 VALID receipts, 1 refusal"; exit 1
fi
# the lifecycle: an endorsement and a revocation, as the node that serves them reports them
printf '%s\n' "$out" | grep -q 'jinan-licence.txt (owner jinan): valid, endorsed by zibo at height 4' &&
  printf '%s\n' "$out" | grep -q 'taian-data-sharing.txt (owner taian): revoked at height 5' &&
  printf '%s\n' "$out" | grep -q 'zibo may not revoke jinan.s licence: record .* is owned by jinan' &&
  [ "$(printf '%s\n' "$out" | grep -c 'VALID proof: record')" -ge 3 ] &&
  printf '%s\n' "$out" | grep -q 'valid; endorsed by zibo (purpose 1: e-seal recognition) at height 4' &&
  printf '%s\n' "$out" | grep -q 'revoked at height 5 (reason 2' || {
  echo "$out"; echo "expected jinan's licence endorsed by zibo, taian's agreement revoked, zibo's revoke refused"; exit 1; }
# taian's city log: its anchoring and its revocation, and jinan's licence proven not taian's
printf '%s\n' "$out" | grep -q 'VALID proof: city taian, heights 1\.\.5' &&
  [ "$(printf '%s\n' "$out" | grep -c '^  height [35]  \(anchor\|revoke\) ')" -eq 2 ] &&
  printf '%s\n' "$out" | grep -q 'taian did NOT anchor [0-9a-f]* in heights 1\.\.5 (proof of completeness)' || {
  echo "$out"; echo "expected taian's proven city log (anchor at 3, revoke at 5) and the licence not taian's"; exit 1; }
# every node shows the same head hash
n=$(printf '%s\n' "$out" | grep 'height 3  head' | awk '{print $5}' | sort -u | wc -l)
[ "$n" -eq 1 ] || { echo "$out"; echo "nodes disagree on the head"; exit 1; }
echo "quickstart: 9 nodes agreed, 3 receipts verified offline, tampering refused, an endorsement and a revocation shown and proven offline, a city log proven complete"

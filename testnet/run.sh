#!/bin/sh
# run.sh - the Quick start: a nine-city consortium on loopback from built-in defaults.
# Makes a fresh testnet in testnet/out, starts the nine nodes, anchors sample records from
# three cities, shows the block committed with the same hash on every node, verifies the
# receipts offline with only the genesis file, then keeps running until Ctrl-C, which stops
# every node cleanly. QCHAIN_RUN_ONCE=1 stops right after the verification (used by tests);
# QCHAIN_BASE_PORT moves the ports (peers BASE+1..BASE+9, API BASE+1001..BASE+1009).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BASE=${QCHAIN_BASE_PORT:-7100}
OUT=${QCHAIN_TESTNET_DIR:-testnet/out}
QCHAIN=$BUILD/bin/qchain
QCHAIND=$BUILD/bin/qchaind
CITIES="jinan zibo taian liaocheng dezhou binzhou dongying jining heze"
PIDS=""

if [ -t 1 ]; then B=$(printf '\033[1m'); N=$(printf '\033[0m'); else B=; N=; fi
say() { printf '%s==> %s%s\n' "$B" "$*" "$N"; }

stop_nodes() {
  [ -n "$PIDS" ] || return 0
  say "stopping the nine nodes (SIGTERM)"
  added=""
  for f in "$OUT"/*.pid; do # cities added by testnet/add-city.sh (not this shell's children)
    [ -f "$f" ] || continue
    added="$added $(cat "$f")"
    rm -f "$f"
  done
  kill -TERM $PIDS $added 2>/dev/null || true
  for p in $PIDS; do
    if wait "$p"; then :; else echo "node $p exited with $?"; fi
  done
  for p in $added; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  done
  PIDS=""
  say "stopped; the ledgers stay in $OUT/*/data"
}
trap 'stop_nodes; exit 0' INT TERM
trap 'stop_nodes' EXIT

say "making a fresh nine-city testnet in $OUT (ports $((BASE + 1))..$((BASE + 9)), API $((BASE + 1001))..$((BASE + 1009)))"
"$QCHAIN" testnet --out "$OUT" --base-port "$BASE" --force >/dev/null
mkdir -p "$OUT/logs" "$OUT/records"
for c in $CITIES; do
  "$QCHAIND" --config "$OUT/$c/node.json" >"$OUT/logs/$c.log" 2>&1 &
  PIDS="$PIDS $!"
done

api() { # api CITY_INDEX PATH
  curl -sf --max-time 3 "http://127.0.0.1:$((BASE + 1000 + $1))$2" || true
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)" 2>/dev/null || true; }
height() { api "$1" /v1/status | field "['height']"; } # height CITY_INDEX
# wait_height H CITY_INDEX...: a block committed through one city (the client returns once that
# node has it) reaches the others a moment later, later still under load; a read at another
# node waits first (30 s at most) until that node has applied block H.
wait_height() {
  wh_h=$1; shift
  case $wh_h in '' | *[!0-9]*) echo "no height to wait for (a node's /v1/status did not answer)"; exit 1 ;; esac
  wh_end=$(($(date +%s) + 30))
  for wh_n in "$@"; do
    while :; do
      wh_got=$(height "$wh_n")
      case $wh_got in '' | *[!0-9]*) ;; *) [ "$wh_got" -ge "$wh_h" ] && break ;; esac
      if [ "$(date +%s)" -ge $wh_end ]; then
        echo "$(echo "$CITIES" | cut -d' ' -f"$wh_n")'s node did not reach height $wh_h within 30 s (it is at ${wh_got:-?}); see $OUT/logs/"
        exit 1
      fi
      sleep 0.2
    done
  done
}

say "waiting for the nine nodes to connect"
i=0
while :; do
  up=0; n=1
  for c in $CITIES; do
    [ "$(api $n /v1/status | field "['peers_up']")" = 8 ] && up=$((up + 1))
    n=$((n + 1))
  done
  [ $up -eq 9 ] && break
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "nodes did not connect; see $OUT/logs/"; exit 1; fi
  sleep 0.2
done
echo "    all nine nodes have authenticated, encrypted links to each other"

R=$OUT/records
printf 'Business licence JN-2026-000123\nHolder: Quancheng Tea Co., Ltd.\nIssued by: Jinan Administrative Approval Service Bureau\n' >"$R/jinan-licence.txt"
printf 'Sealed notice ZB-2026-0456: cross-city recognition of electronic seals\nSealed by: Zibo Municipal Government\n' >"$R/zibo-sealed-notice.txt"
printf 'Data-sharing agreement TA-2026-0789\nParties: Tai an Big Data Bureau, Jinan Big Data Bureau\nScope: enterprise credit records\n' >"$R/taian-data-sharing.txt"

say "anchoring sample records (each city signs with its own seal key)"
"$QCHAIN" anchor "$R/jinan-licence.txt" --config "$OUT/jinan/node.json" --type licence
"$QCHAIN" anchor "$R/zibo-sealed-notice.txt" --config "$OUT/zibo/node.json" --type sealed-document
"$QCHAIN" anchor "$R/taian-data-sharing.txt" --config "$OUT/taian/node.json" --type data-sharing

say "every node holds the same chain"
h=$(height 3) # taian's anchor, committed at taian: every node shows it
wait_height "$h" 1 2 3 4 5 6 7 8 9
n=1
for c in $CITIES; do
  api $n /v1/status | python3 -c "import json,sys; d=json.load(sys.stdin); print('    %-10s height %d  head %s  records %d  view %d' % (d['city'], d['height'], d['head_hash'][:16], d['log_size'], d['view']))"
  n=$((n + 1))
done

say "verifying the receipts offline, with nothing but the genesis file"
for f in "$R/jinan-licence.txt" "$R/zibo-sealed-notice.txt" "$R/taian-data-sharing.txt"; do
  "$QCHAIN" verify "$f" --receipt "$f.receipt.json" --genesis "$OUT/genesis.json"
done
printf 'tampered\n' >>"$R/jinan-licence.txt"
if "$QCHAIN" verify "$R/jinan-licence.txt" --receipt "$R/jinan-licence.txt.receipt.json" --genesis "$OUT/genesis.json"; then
  echo "a tampered document verified: this must never happen"; exit 1
fi
echo "    (a tampered copy of the licence is refused, as it must be)"

say "the record lifecycle: zibo recognises jinan's e-seal on the licence, taian withdraws its agreement"
LICENCE=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['record']['digest'])" "$R/jinan-licence.txt.receipt.json")
AGREEMENT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['record']['digest'])" "$R/taian-data-sharing.txt.receipt.json")
"$QCHAIN" endorse "$LICENCE" --purpose 1 --note "mutual recognition of e-seals" --config "$OUT/zibo/node.json"
"$QCHAIN" revoke "$AGREEMENT" --reason 2 --config "$OUT/taian/node.json"
if "$QCHAIN" revoke "$LICENCE" --reason 1 --config "$OUT/zibo/node.json" 2>"$OUT/logs/refused.txt"; then
  echo "zibo revoked jinan's licence: this must never happen"; exit 1
fi
echo "    (zibo may not revoke jinan's licence: $(sed 's/.*HTTP 400): //' "$OUT/logs/refused.txt"))"
# taian's revocation (and zibo's endorsement before it), committed at taian, as liaocheng and
# dezhou (statuses, city log) and zibo (a status proof) serve them
h=$(height 3)
wait_height "$h" 2 4 5
show_status() { # show_status CITY_INDEX DIGEST NAME
  api "$1" "/v1/records/$2" | python3 -c "
import json, sys
d = json.load(sys.stdin)
line = '    %s (owner %s): %s' % (sys.argv[1], d['owner'], d['state'])
if d.get('revoked'):
    line += ' at height %d (%s)' % (d['revoked']['height'], d['revoked']['reason_name'])
for e in d['endorsements']:
    line += ', endorsed by %s at height %d (%s)' % (e['city'], e['height'], e['purpose_name'])
print(line)" "$3"
}
show_status 4 "$LICENCE" jinan-licence.txt
show_status 5 "$AGREEMENT" taian-data-sharing.txt
say "the same statuses proven: status proofs served by a node, checked with nothing but the genesis file"
"$QCHAIN" status-proof "$LICENCE" --api "http://127.0.0.1:$((BASE + 1002))" \
  --genesis "$OUT/genesis.json" --out "$R/jinan-licence.txt.status.json"
"$QCHAIN" status-proof --proof "$R/jinan-licence.txt.status.json" --genesis "$OUT/genesis.json"
"$QCHAIN" status-proof --file "$R/taian-data-sharing.txt" --api "http://127.0.0.1:$((BASE + 1003))" \
  --genesis "$OUT/genesis.json"
say "everything one city did, proven complete: taian's city log, and that taian never anchored jinan's licence"
"$QCHAIN" city-log taian --from 1 --api "http://127.0.0.1:$((BASE + 1004))" \
  --genesis "$OUT/genesis.json" --digest "$LICENCE"

if [ "${QCHAIN_RUN_ONCE:-0}" = 1 ]; then exit 0; fi
say "the consortium keeps running. Try:"
echo "    curl -s http://127.0.0.1:$((BASE + 1001))/v1/status"
echo "    $QCHAIN anchor FILE --config $OUT/jinan/node.json"
echo "    $QCHAIN verify FILE --receipt FILE.receipt.json --genesis $OUT/genesis.json"
echo "    $QCHAIN status-proof --file FILE --config $OUT/zibo/node.json   (its status, proven)"
echo "    $QCHAIN city-log jinan --from 1 --config $OUT/zibo/node.json   (all jinan did, proven complete)"
echo "    sh testnet/add-city.sh weifang 'Weifang 潍坊'   (a tenth city joins by governance)"
echo "    logs: $OUT/logs/   Ctrl-C stops every node cleanly."
while :; do sleep 1; done

#!/bin/sh
# add-city.sh - the admin walkthrough on the running `make run` consortium: a tenth city joins by
# governance. It makes the new city's three keys and its node config, starts its node (a
# learner until its epoch), has Jinan's admin propose it, the other cities' admins approve until
# the threshold passes it, anchors records until the checkpoint switches the epoch, and shows
# the new city voting. Usage: sh testnet/add-city.sh NAME ["DISPLAY NAME"]
# (QCHAIN_TESTNET_DIR, QCHAIN_BASE_PORT and BUILD as for testnet/run.sh.)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BASE=${QCHAIN_BASE_PORT:-7100}
OUT=${QCHAIN_TESTNET_DIR:-testnet/out}
QCHAIN=$BUILD/bin/qchain
NAME=${1:?usage: add-city.sh NAME [DISPLAY]}
DISPLAY=${2:-$NAME}
say() { printf '==> %s\n' "$*"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
# wait_height CITY H [SECS]: a block committed through one city (the client returns once that
# node has it) reaches the others a moment later, later still under load; a read or a vote at
# another node waits first (SECS, 30 by default, at most) until that node has applied block H.
wait_height() {
  wh_api=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['api']['listen'])" "$OUT/$1/node.json")
  wh_secs=${3:-30}
  wh_end=$(($(date +%s) + wh_secs))
  while :; do
    wh_got=$(curl -sf --max-time 3 "http://$wh_api/v1/status" | json "['height']" 2>/dev/null || true)
    case $wh_got in '' | *[!0-9]*) ;; *) [ "$wh_got" -ge "$2" ] && return 0 ;; esac
    if [ "$(date +%s)" -ge $wh_end ]; then
      echo "$1's node did not reach height $2 within $wh_secs s (it is at ${wh_got:-?}); see $OUT/logs/$1.log"
      exit 1
    fi
    sleep 0.2
  done
}

[ -f "$OUT/jinan/node.json" ] || { echo "no testnet in $OUT: start 'make run' first"; exit 1; }
[ ! -e "$OUT/$NAME" ] || { echo "$OUT/$NAME exists already"; exit 1; }
n=$(ls -d "$OUT"/*/node.json | wc -l)
idx=$((n + 1))
P2P=127.0.0.1:$((BASE + idx))
API=127.0.0.1:$((BASE + 1000 + idx))

say "the city's operators make its keys (on a real deployment: offline; only .pub files leave)"
mkdir -p "$OUT/$NAME/keys"
for role in node seal admin; do
  "$QCHAIN" keygen --role $role --out "$OUT/$NAME/keys/$role.key" >/dev/null
done
python3 - "$OUT" "$NAME" "$P2P" "$API" <<'PY'
import json, sys
out, name, p2p, api = sys.argv[1:]
cfg = json.load(open("%s/jinan/node.json" % out))
cfg["city"] = name
cfg["p2p"]["listen"] = p2p
cfg["api"]["listen"] = api
json.dump(cfg, open("%s/%s/node.json" % (out, name), "w"), indent=2)
PY
mkdir -p "$OUT/logs"
"$BUILD/bin/qchaind" --config "$OUT/$NAME/node.json" >"$OUT/logs/$NAME.log" 2>&1 &
echo $! >"$OUT/$NAME.pid"
echo "    $NAME's node runs (pid $!, log $OUT/logs/$NAME.log): a learner until its epoch"

say "Jinan's admin proposes adding $NAME"
k=$OUT/$NAME/keys
r=$("$QCHAIN" member propose --config "$OUT/jinan/node.json" --add "$NAME" --display "$DISPLAY" \
  --node-key "$k/node.pub" --seal-key "$k/seal.pub" --admin-key "$k/admin.pub" \
  --p2p "$P2P" --api "$API" --json)
id=$(printf '%s\n' "$r" | json "['proposal']['id']")
h=$(printf '%s\n' "$r" | json "['height']") # the last block committed (here, at jinan)
echo "    proposal $id"

say "the other cities' admins approve until the threshold is met"
for c in zibo taian liaocheng dezhou binzhou dongying jining heze; do
  wait_height "$c" "$h" # the proposal, and the approvals before this one
  r=$("$QCHAIN" member approve "$id" --config "$OUT/$c/node.json" --json)
  st=$(printf '%s\n' "$r" | json "['proposal']['status']")
  h=$(printf '%s\n' "$r" | json "['height']")
  echo "    $c approved: $st"
  [ "$st" = open ] || break
done

say "records keep coming; the change takes effect at the next checkpoint"
i=0
while :; do
  wait_height "$NAME" "$h" 60 # a learner: it syncs the chain once the change has passed
  s=$(curl -sf --max-time 3 "http://$API/v1/status" || true)
  v=$(printf '%s\n' "$s" | json "['validator']" 2>/dev/null || true)
  [ "$v" = True ] && break
  i=$((i + 1))
  [ $i -le 30 ] || { echo "$NAME did not become a validator; see $OUT/logs/$NAME.log"; exit 1; }
  printf 'record %s for %s\n' "$i" "$NAME" >"$OUT/records/walkthrough-$i.txt"
  r=$("$QCHAIN" anchor "$OUT/records/walkthrough-$i.txt" --config "$OUT/jinan/node.json" --json)
  h=$(printf '%s\n' "$r" | json "['height']")
done
# zibo shows the proposal enacted once it has applied the checkpoint block that switched the
# epoch, as the new city's node has
hw=$(printf '%s\n' "$s" | json "['height']")
if [ "$hw" -gt "$h" ]; then h=$hw; fi
wait_height zibo "$h"
"$QCHAIN" member show "$id" --config "$OUT/zibo/node.json"
"$QCHAIN" member history --config "$OUT/zibo/node.json"
curl -sf "http://$API/v1/status" | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)))" |
  sed 's/^/    /'
say "$NAME votes; stop its node with: kill \$(cat $OUT/$NAME.pid)  (make run's Ctrl-C stops it too)"

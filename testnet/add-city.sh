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
id=$("$QCHAIN" member propose --config "$OUT/jinan/node.json" --add "$NAME" --display "$DISPLAY" \
  --node-key "$k/node.pub" --seal-key "$k/seal.pub" --admin-key "$k/admin.pub" \
  --p2p "$P2P" --api "$API" --json | json "['proposal']['id']")
echo "    proposal $id"

say "the other cities' admins approve until the threshold is met"
for c in zibo taian liaocheng dezhou binzhou dongying jining heze; do
  st=$("$QCHAIN" member approve "$id" --config "$OUT/$c/node.json" --json | json "['proposal']['status']")
  echo "    $c approved: $st"
  [ "$st" = open ] || break
done

say "records keep coming; the change takes effect at the next checkpoint"
i=0
while :; do
  v=$(curl -sf --max-time 3 "http://$API/v1/status" | json "['validator']" 2>/dev/null || true)
  [ "$v" = True ] && break
  i=$((i + 1))
  [ $i -le 30 ] || { echo "$NAME did not become a validator; see $OUT/logs/$NAME.log"; exit 1; }
  printf 'record %s for %s\n' "$i" "$NAME" >"$OUT/records/walkthrough-$i.txt"
  "$QCHAIN" anchor "$OUT/records/walkthrough-$i.txt" --config "$OUT/jinan/node.json" >/dev/null
done
"$QCHAIN" member show "$id" --config "$OUT/zibo/node.json"
"$QCHAIN" member history --config "$OUT/zibo/node.json"
curl -sf "http://$API/v1/status" | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)))" |
  sed 's/^/    /'
say "$NAME votes; stop its node with: kill \$(cat $OUT/$NAME.pid)  (make run's Ctrl-C stops it too)"

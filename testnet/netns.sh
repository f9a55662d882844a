#!/bin/sh
# netns.sh - the nine-city consortium with one Linux network namespace per city, so that
# addresses, partitions and reconnects are real (testnet/README.md, "Nine hosts on one machine").
#
#   netns.sh up              namespaces qc9-<city> (10.99.0.1..9 on eth0), veth links to the
#                            bridge qc9br0 (10.99.0.254 in the root namespace)
#   netns.sh down            kills every process left in those namespaces, deletes them, the
#                            bridge, and unmounts any tmpfs the chaos run put under the testnet
#   netns.sh exec CITY CMD…  runs CMD inside CITY's namespace
#   netns.sh run             up, a fresh testnet in $QCHAIN_TESTNET_DIR (default testnet/out-netns)
#                            whose genesis addresses are 10.99.0.i, the nine nodes, a record
#                            anchored and verified; then runs until Ctrl-C (QCHAIN_RUN_ONCE=1:
#                            stops after the check). Everything is removed at exit, also on failure.
# Needs root (network namespaces); without it, says so and exits 1 having changed nothing.
# QC9_PREFIX (default qc9) names the namespaces, bridge and veths; QC9_SUBNET (default 10.99.0)
# is the /24 they use.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
P=${QC9_PREFIX:-qc9}
NET=${QC9_SUBNET:-10.99.0}
BR=${P}br0
CITIES="jinan zibo taian liaocheng dezhou binzhou dongying jining heze"

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "netns.sh: needs root (it creates network namespaces, veth links and a bridge); nothing was changed" >&2
    exit 1
  fi
  command -v ip >/dev/null || { echo "netns.sh: the ip command (iproute2) is missing" >&2; exit 1; }
}

city_index() { # city -> 1..9
  i=1
  for c in $CITIES; do [ "$c" = "$1" ] && { echo $i; return 0; }; i=$((i + 1)); done
  echo "netns.sh: unknown city $1" >&2; return 1
}

up() {
  down_quiet
  ip link add "$BR" type bridge
  ip addr add "$NET.254/24" dev "$BR"
  ip link set "$BR" up
  i=1
  for c in $CITIES; do
    ns=$P-$c
    ip netns add "$ns"
    ip link add "${P}v$i" type veth peer name "${P}p$i"
    ip link set "${P}p$i" netns "$ns"
    ip link set "${P}v$i" master "$BR" up
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip link set "${P}p$i" name eth0
    ip netns exec "$ns" ip addr add "$NET.$i/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    i=$((i + 1))
  done
}

# Removes whatever up made, whatever state it is in; never fails.
down_quiet() {
  for c in $CITIES; do
    ns=$P-$c
    ip netns list 2>/dev/null | grep -q "^$ns\( \|$\)" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for c in $CITIES; do
    ns=$P-$c
    ip netns list 2>/dev/null | grep -q "^$ns\( \|$\)" || continue
    # The pids may take a moment to exit; a namespace with live processes still deletes.
    ip netns del "$ns" 2>/dev/null || true
  done
  i=1
  for c in $CITIES; do ip link del "${P}v$i" 2>/dev/null || true; i=$((i + 1)); done
  ip link del "$BR" 2>/dev/null || true
  # tmpfs mounts the chaos run's disk-fill fault left under a testnet (dir name holds $P-).
  awk -v p="/$P-" '$3 == "tmpfs" && index($2, p) { print $2 }' /proc/mounts 2>/dev/null |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  return 0
}

run() {
  OUT=${QCHAIN_TESTNET_DIR:-testnet/out-netns}
  PIDS=""
  cleanup() {
    [ -z "$PIDS" ] || kill -TERM $PIDS 2>/dev/null || true
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    PIDS=""
    down_quiet
    echo "==> stopped the nodes and removed the namespaces; ledgers stay in $OUT/*/data"
  }
  trap 'cleanup; exit 0' INT TERM
  trap 'cleanup' EXIT
  echo "==> nine namespaces $P-<city> on bridge $BR ($NET.0/24)"
  up
  "$BUILD/bin/qchain" testnet --out "$OUT" --host-base "$NET.0" --force
  mkdir -p "$OUT/logs"
  for c in $CITIES; do
    ip netns exec "$P-$c" "$BUILD/bin/qchaind" --config "$OUT/$c/node.json" >"$OUT/logs/$c.log" 2>&1 &
    PIDS="$PIDS $!"
  done
  echo "==> waiting for every node to link to its eight peers"
  n=0
  while :; do
    up_count=0; i=1
    for c in $CITIES; do
      peers=$(curl -sf --max-time 2 "http://$NET.$i:$((8100 + i))/v1/status" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["peers_up"])' 2>/dev/null || true)
      [ "$peers" = 8 ] && up_count=$((up_count + 1))
      i=$((i + 1))
    done
    [ $up_count -eq 9 ] && break
    n=$((n + 1))
    [ $n -le 150 ] || { echo "netns.sh: nodes did not link; see $OUT/logs/" >&2; exit 1; }
    sleep 0.2
  done
  f=$OUT/netns-record.txt
  printf 'netns testnet record %s\n' "$(date +%s%N)" >"$f"
  "$BUILD/bin/qchain" anchor "$f" --config "$OUT/zibo/node.json" --wait-ms 20000
  "$BUILD/bin/qchain" verify "$f" --receipt "$f.receipt.json" --genesis "$OUT/genesis.json"
  i=1
  for c in $CITIES; do
    curl -sf --max-time 2 "http://$NET.$i:$((8100 + i))/v1/status" | python3 -c \
      "import json,sys; d=json.load(sys.stdin); print('    %-10s $NET.$i height %d head %s peers %d' % (d['city'], d['height'], d['head_hash'][:16], d['peers_up']))"
    i=$((i + 1))
  done
  [ "${QCHAIN_RUN_ONCE:-0}" = 1 ] && exit 0
  echo "==> running; Ctrl-C stops the nodes and removes the namespaces"
  while :; do sleep 1; done
}

cmd=${1:-}
case "$cmd" in
  up) need_root; up; echo "netns: nine namespaces up on $BR" ;;
  down) need_root; down_quiet; echo "netns: removed" ;;
  exec) need_root; [ $# -ge 3 ] || { echo "usage: netns.sh exec CITY CMD..." >&2; exit 2; }
        city_index "$2" >/dev/null; ns=$P-$2; shift 2; exec ip netns exec "$ns" "$@" ;;
  run) need_root; run ;;
  *) echo "usage: netns.sh up|down|exec CITY CMD...|run" >&2; exit 2 ;;
esac

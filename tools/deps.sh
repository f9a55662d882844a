#!/bin/sh
# Installs (or checks for) the Debian 12 packages qchain needs to build and test.
# usage: deps.sh install   - apt-get install everything (as root), or print the command
#        deps.sh ensure    - do nothing if all are present, else behave like install
set -u
PKGS="build-essential pkg-config libsodium-dev libleveldb-dev libuv1-dev libprotobuf-c-dev \
protobuf-c-compiler libcmocka-dev libjansson-dev node-llhttp clang libclang-rt-14-dev libcurl4-openssl-dev \
python3 python3-yaml procps curl iproute2 nftables adduser systemd chromium openssl"

missing() {
  for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s ' "$p"
  done
}

mode=${1:-ensure}
m=$(missing)
if [ "$mode" = ensure ] && [ -z "$m" ]; then exit 0; fi
if [ "$mode" = install ] && [ -z "$m" ]; then echo "deps: all packages present"; exit 0; fi
echo "deps: missing Debian packages: $m"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: not root; run this, then retry:"
  echo "  sudo apt-get update && sudo apt-get install -y $m"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $m >/dev/null || {
  echo "deps: apt-get install failed" >&2; exit 1; }
echo "deps: installed $m"

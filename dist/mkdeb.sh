#!/bin/sh
# mkdeb.sh - builds the qchain Debian package from a build folder with Debian's own dpkg-deb:
# the files of dist/install.sh under /usr, the maintainer scripts of dist/debian/, and a
# Depends line read from the binaries' shared libraries (dpkg -S), so it matches the build.
# usage: dist/mkdeb.sh BUILD OUTDIR VERSION   (prints the .deb's path last)
set -eu
[ $# -eq 3 ] || { echo "usage: $0 BUILD OUTDIR VERSION" >&2; exit 2; }
build=$1; out=$2; version=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v dpkg-deb >/dev/null || { echo "mkdeb: dpkg-deb not found (Debian's dpkg package)" >&2; exit 1; }
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/qchain-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
sh "$here/install.sh" "$build" "$stage" /usr /lib/systemd/system >/dev/null
strip --strip-unneeded "$stage/usr/bin/qchaind" "$stage/usr/bin/qchain" 2>/dev/null || true
chmod 0755 "$stage"
# The packages that own the shared libraries the binaries link directly (their NEEDED
# entries: libc6, libsodium23, ...), found where the dynamic linker finds them.
deps=$(for b in qchaind qchain; do
    ldd "$build/bin/$b" > "$stage/ldd"
    objdump -p "$build/bin/$b" | awk '$1 == "NEEDED" {print $2}' | while read -r so; do
      awk -v so="$so" '$1 == so && $2 == "=>" {print $3}' "$stage/ldd"
    done
  done | sort -u |
  while read -r lib; do
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null ||
      dpkg -S "/usr$lib" 2>/dev/null || echo "mkdeb: no package owns $lib" >&2
  done | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g')
rm -f "$stage/ldd"
[ -n "$deps" ] || { echo "mkdeb: could not find the packages of the binaries' libraries" >&2; exit 1; }
install -d -m 0755 "$stage/DEBIAN"
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@DEPENDS@|$deps, adduser|" \
  "$here/debian/control.in" > "$stage/DEBIAN/control"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$stage/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
echo "Installed-Size: $size" >> "$stage/DEBIAN/control"
mkdir -p "$out"
deb="$out/qchain_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"

#!/bin/sh
# install.sh - installs qchain's binaries, systemd unit, alert rules, example config and docs
# under DESTDIR/PREFIX: the one list `make install` and `make deb` share.
# usage: dist/install.sh BUILD DESTDIR PREFIX [UNITDIR]
#   BUILD    the build folder holding bin/qchaind and bin/qchain
#   DESTDIR  staging root ("" for the live system)
#   PREFIX   e.g. /usr/local (make install) or /usr (the Debian package)
#   UNITDIR  where the unit goes (default PREFIX/lib/systemd/system)
set -eu
[ $# -ge 3 ] || { echo "usage: $0 BUILD DESTDIR PREFIX [UNITDIR]" >&2; exit 2; }
build=$1; destdir=$2; prefix=$3; unitdir=${4:-$prefix/lib/systemd/system}
here=$(cd "$(dirname "$0")" && pwd); top=$(dirname "$here")
for b in qchaind qchain; do
  [ -x "$build/bin/$b" ] || { echo "install: $build/bin/$b not built (make BUILD=$build)" >&2; exit 1; }
done
bindir=$prefix/bin; docdir=$prefix/share/doc/qchain; datadir=$prefix/share/qchain
install -d -m 0755 "$destdir$bindir" "$destdir$unitdir" "$destdir$docdir/examples" \
  "$destdir$datadir/prometheus"
install -m 0755 "$build/bin/qchaind" "$build/bin/qchain" "$destdir$bindir/"
sed -e "s|@BINDIR@|$bindir|g" -e "s|@DOCDIR@|$docdir|g" "$here/qchaind.service.in" \
  > "$destdir$unitdir/qchaind.service"
chmod 0644 "$destdir$unitdir/qchaind.service"
install -m 0644 "$here/node.json.example" "$here/passphrase.conf" "$destdir$docdir/examples/"
install -m 0644 "$here/qchain-alerts.yml" "$destdir$datadir/prometheus/"
install -m 0644 "$top/README.md" "$top"/docs/*.md "$top/docs/openapi.yaml" "$destdir$docdir/"
echo "install: qchaind, qchain -> $destdir$bindir; unit -> $destdir$unitdir/qchaind.service"

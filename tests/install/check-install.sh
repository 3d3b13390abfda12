#!/usr/bin/env bash
# meson install into a scratch DESTDIR, then build tests/install/consumer.c
# against it through pkg-config, shared and static, and run both.
# Usage: check-install.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
DESTDIR="$root" meson install -C "$build" --quiet >/dev/null
pcdir=$(dirname "$(find "$root" -name greenkern.pc | head -n1)")
export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_PATH="$pcdir"
src=$(dirname "$0")/consumer.c
libdir=$(dirname "$(find "$root" -name 'libgreenkern.so' | head -n1)")
cc -std=c11 "$src" $(pkg-config --cflags --libs greenkern) -o "$root/consumer-shared"
LD_LIBRARY_PATH="$libdir" "$root/consumer-shared"
# static greenkern, shared dependencies (a fully static link would also
# need hwloc's own static dependencies, e.g. libudev)
cc -std=c11 "$src" $(pkg-config --cflags greenkern) "$libdir/libgreenkern.a" \
  $(pkg-config --libs sleef hwloc) -fopenmp -lm -o "$root/consumer-static"
"$root/consumer-static"
test -x "$root$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')/bin/greenkern-tune"
echo "install: header, shared and static library, greenkern.pc and greenkern-tune OK"

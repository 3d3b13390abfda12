#!/bin/sh
# The shared library exports gk_* symbols only (and the public ones only:
# internal gk_ helpers are hidden). Usage: check_exports.sh libgreenkern.so header
set -eu
lib=$1 header=$2
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^gk_' || true)
if [ -n "$bad" ]; then
  echo "non-gk_ symbols exported:"; echo "$bad"; exit 1
fi
# every exported gk_ symbol is declared in the public header
missing=0
for s in $(nm -D --defined-only "$lib" | awk '{print $3}'); do
  grep -q "\\b$s\\b" "$header" || { echo "exported but not in greenkern.h: $s"; missing=1; }
done
[ $missing -eq 0 ] || exit 1
echo "exports: $(nm -D --defined-only "$lib" | wc -l) gk_* symbols, all public"

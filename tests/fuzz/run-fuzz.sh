#!/bin/sh
# Runs the profile-parser fuzzer briefly on a copy of the seed corpus
# (libFuzzer adds what it finds to its first corpus directory; the seeds in
# the source tree stay as they are).
#   run-fuzz.sh FUZZER SEEDS SECONDS   (the meson test, -Dfuzz=true)
#   run-fuzz.sh [SECONDS]              (stand-alone: configures build-fuzz
#                                       with clang + ASan/UBSan, builds, runs)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 2 ]; then
  fuzzer=$1 seeds=$2 secs=${3:-20}
else
  secs=${1:-20}
  root=$(cd "$here/../.." && pwd)
  dir="$root/build-fuzz"
  if [ ! -f "$dir/meson-private/coredata.dat" ]; then
    CC=clang CXX=clang++ meson setup "$dir" "$root" -Dfuzz=true -Dbench=disabled \
      -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  fi
  ninja -C "$dir" tests/fuzz/fuzz_profile >/dev/null
  fuzzer="$dir/tests/fuzz/fuzz_profile" seeds="$here/corpus"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$seeds"/* "$work"/
"$fuzzer" -max_total_time="$secs" -max_len=8192 -print_final_stats=1 \
          -artifact_prefix="${TMPDIR:-/tmp}/greenkern-fuzz-" "$work"  # crashes kept there

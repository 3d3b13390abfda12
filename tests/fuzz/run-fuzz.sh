#!/bin/sh
# Runs the profile-parser fuzzer briefly on a copy of the seed corpus
# (libFuzzer adds what it finds to its first corpus directory; the seeds in
# the source tree stay as they are). Usage: run-fuzz.sh FUZZER SEEDS SECONDS
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$2"/* "$work"/
"$1" -max_total_time="$3" -max_len=8192 -print_final_stats=1 \
     -artifact_prefix="$work/" "$work"

#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is missing, builds
# greenkern, runs greenkern-tune (default effort) and prints its crossover
# report. Extra arguments go to greenkern-tune (e.g. --effort quick).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh build bench plots
if [ -f build/meson-private/coredata.dat ]; then meson setup --reconfigure build; else rm -rf build && meson setup build; fi >/dev/null
ninja -C build
exec ./build/tuner/greenkern-tune "$@"

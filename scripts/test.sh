#!/usr/bin/env bash
# Every test, on a fresh Debian 12 machine: installs what is missing, then
#  1. native release build: checkasm (every variant the CPU runs), unit tests,
#     exported symbols, and a consumer built against a DESTDIR install;
#  2. ASan/UBSan build: the same suite (covers the AVX-512 code valgrind can't run);
#  3. valgrind (memcheck) over the unit tests with GK_ISA=avx2;
#  4. AVX-512 emulation build with ASan (on CPUs without AVX-512): the suite
#     with the AVX-512 variants compiled against SIMDe over AVX2;
#  5. aarch64 cross build: the suite under qemu-user, NEON variants included;
#  6. libFuzzer over the profile parser, briefly.
# Exit status is non-zero on any failure. Build trees: build-test*, reused.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
jobs=$(nproc)
step() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

setup() { # dir, meson options...
  local dir=$1; shift
  local log
  log=$(mktemp)
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" >"$log" 2>&1
  else
    rm -rf "$dir" && meson setup "$dir" "$@" >"$log" 2>&1
  fi || { cat "$log"; rm -f "$log"; return 1; }
  rm -f "$log"
}

step "native build and tests"
setup build-test
ninja -C build-test -j"$jobs"
meson test -C build-test --print-errorlogs --num-processes "$jobs"
tests/install/check-install.sh build-test

step "ASan/UBSan build and tests"
# -O0: with the sanitizers GCC spent 23 of CI's 31 minutes on -O2 of one
# file, the AVX-512 GEMM engine's unrolled micro-kernels (ASan alone at -O2:
# 12 minutes, -O1: over 15); at -O0 the whole build takes about a minute
# and the suite runs the same checks, unoptimised
setup build-test-asan -Dbuildtype=debug -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbench=disabled
ninja -C build-test-asan -j"$jobs"
meson test -C build-test-asan --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3

step "valgrind (GK_ISA=avx2: valgrind 3.19 cannot execute AVX-512)"
GK_ISA=avx2 meson test -C build-test --suite unit --print-errorlogs \
  --wrapper 'valgrind --error-exitcode=1 --quiet --leak-check=full' --timeout-multiplier 10

step "AVX-512 variants under emulation (SIMDe over AVX2, ASan)"
# Where the CPU runs AVX-512, steps 1-2 check those variants natively.
# -O0: GCC spends over 10 minutes on -O2 of the AVX-512 GEMM engine written
# through SIMDe; at -O0 the build takes about two minutes, the suite two.
# ASan catches reads past an edge, which checkasm's guard zones (outputs
# only) cannot; not UBSan, which flags SIMDe's own wrapping byte adds.
if grep -qw avx512f /proc/cpuinfo; then
  echo "this CPU has AVX-512: its variants ran natively above"
else
  setup build-test-avx512emu -Davx512_emulation=true -Dbuildtype=debug -Dbench=disabled \
    -Db_sanitize=address -Db_lundef=false
  ninja -C build-test-avx512emu -j"$jobs"
  meson test -C build-test-avx512emu --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3
fi

step "aarch64 (NEON) cross build, tests under qemu-user"
setup build-test-arm --cross-file cross/aarch64-linux-gnu.ini -Dbench=disabled
ninja -C build-test-arm -j"$jobs"
meson test -C build-test-arm --print-errorlogs --num-processes "$jobs" --timeout-multiplier 4

step "libFuzzer over the profile parser (clang, ASan/UBSan, 20 s)"
# -O0: the target exercises the parser, and clang with the sanitizers
# spends minutes optimising the GEMM engine's unrolled micro-kernels
CC=clang CXX=clang++ setup build-test-fuzz -Dfuzz=true -Dbuildtype=debug \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbench=disabled
ninja -C build-test-fuzz -j"$jobs" tests/fuzz/fuzz_profile
meson test -C build-test-fuzz --no-rebuild fuzz-profile --print-errorlogs

# One plain closing line over every suite run above.
python3 - build-test build-test-asan build-test-avx512emu build-test-arm build-test-fuzz <<'PY'
import json, sys, os
passed = failed = skipped = 0
for d in sys.argv[1:]:
    path = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
step "all tests passed"

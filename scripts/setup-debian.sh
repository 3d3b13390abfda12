#!/usr/bin/env bash
# Installs the Debian 12 packages greenkern needs, only those missing.
#   scripts/setup-debian.sh [build] [bench] [cross] [emulation] [fuzz] [plots] [torch]
# With no argument: everything but torch (PyTorch, ~1 GB, only for
# scripts/bench_torch_attention.py). Uses sudo when not root.
set -euo pipefail

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(build bench cross emulation fuzz plots)

pkgs=()
arm64=0
for w in "${want[@]}"; do
  case "$w" in
    build) pkgs+=(gcc g++ meson ninja-build pkg-config libsleef-dev libhwloc-dev
                  libcmocka-dev liblapacke-dev python3 python3-numpy valgrind) ;;
    bench) pkgs+=(libbenchmark-dev libopenblas-dev libblis-dev libdnnl-dev libfaiss-dev) ;;
    cross) arm64=1
           pkgs+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static
                  libsleef-dev:arm64 libhwloc-dev:arm64 libcmocka-dev:arm64
                  liblapacke-dev:arm64 libgomp1:arm64) ;;
    emulation) pkgs+=(libsimde-dev) ;;  # AVX-512 variants checked without AVX-512
    fuzz)  pkgs+=(clang libclang-rt-14-dev) ;;
    plots) pkgs+=(gnuplot-nox) ;;
    torch) pkgs+=(python3-torch) ;;
    *) echo "setup-debian.sh: unknown group '$w'" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if [ $arm64 -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  need_update=1
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ "${need_update:-0}" -eq 1 ]; then
  echo "setup-debian.sh: installing ${missing[*]:-(index update only)}"
  $SUDO apt-get update -qq
  [ ${#missing[@]} -gt 0 ] && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup-debian.sh: packages ready"

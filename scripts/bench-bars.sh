#!/usr/bin/env bash
# The issues' performance bars in one side-by-side run: greenkern against its
# peers in the same benchmark binary, medians of repeated runs, ratios.
#   scripts/bench-bars.sh [BUILD_DIR] [OUT_JSON]
# OpenBLAS runs with OPENBLAS_L2_SIZE unset and OPENBLAS_CORETYPE set to
# $GKB_OPENBLAS_CORETYPE (default Cooperlake): some machines set an older
# core that halves its speed, and Debian 12's OpenBLAS 0.3.21 does not
# recognise newer Xeons (family 6 model 207), falling back to Prescott
# (SSE3) when the variable is unset. The report's context names the kernel
# it ran. Takes ~10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-bench-bars.json}
bench=$build/bench/greenkern-bench
[ -x "$bench" ] || { echo "bench-bars: $bench not built (meson setup $build && ninja -C $build)"; exit 2; }

filters=(
  # dense GEMM, BERT shapes, 1 thread: every AVX-512/AVX2 tile vs peers
  '^gemm/.*(avx512|avx2|peer).*/M=(128|512)/K=(768|3072)/N=(768|3072)/threads=1'
  # dense GEMM, 2 threads scaling
  '^gemm/.*(14x32__avx512|peer:onednn).*/M=2048/K=768/N=3072/threads=(1|2)'
  # fused rank-r vs dense vs the peers' two calls, K = N = 768
  '^lowrank/(f32_lowrank_ukernel_14x32__avx512|dense-packed|public|peer:onednn|peer:openblas)/M=(32|128|512)/K=768/N=768/r=(16|64|128|256|384)/threads=1'
  # plan overhead at tiny shapes
  '^plan-overhead/'
  # full attention vs Linformer, 12 heads x d=64
  '^attention/.*avx512/heads=12/d=64/n=(1024|4096)/threads=(1|2)'
  '^linformer/heads=12/d=64/n=(1024|4096)/k=128/threads=1'
  # all-pairs Hamming distances, n = 4096
  '^hamming_dist/(.*avx512|.*avx2|baseline|peer).*/b=256/n=4096/threads=1'
  # Hamming attention, b = 16: linear vs quadratic, and linear growth
  '^hamming_attn/linear:.*/b=16/n=(8192|16384)/heads=12/d=64/threads=1'
  '^hamming_attn/quadratic:.*/b=16/n=8192/heads=12/d=64/threads=1'
)
filter=$(IFS='|'; echo "(${filters[*]})")
echo "bench-bars: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="${GKB_OPENBLAS_CORETYPE:-Cooperlake}" "$bench" --benchmark_filter="$filter" \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null

python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
print("| context | |\n|---|---|")
for k in ("cpu_brand", "greenkern_build", "greenkern_isa", "caches", "peers", "openblas_core",
          "OPENBLAS_CORETYPE", "onednn_version"):
    if k in ctx: print(f"| {k} | {ctx[k]} |")
print()
print("| benchmark | median | GFLOP/s or rate |")
print("|---|---:|---:|")
for b in d["benchmarks"]:
    if b.get("aggregate_name") != "median": continue
    rate = ""
    for c in ("GFLOP/s", "Gpairs/s", "pairs/s", "tokens/s"):
        if c in b:
            v = b[c]
            rate = f"{v:.1f} {c}" if c == "GFLOP/s" else f"{v:.3g} {c}"
            break
    name = b["run_name"].replace("/min_time:0.200", "").replace("/real_time", "")
    print(f"| {name} | {b['real_time']:.4g} {b['time_unit']} | {rate} |")
PY

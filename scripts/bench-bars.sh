#!/usr/bin/env bash
# The issues' performance bars in side-by-side runs: greenkern against its
# peers in the same benchmark binary, medians of repeated runs, and the
# ratios each bar is judged on.
#   scripts/bench-bars.sh [BUILD_DIR] [OUT_PREFIX]
# writes OUT_PREFIX-<isa>.json for the widest ISA this CPU runs (avx512,
# else avx2; the bars are judged on that ISA's default tiles: 8x48 on
# AVX-512, 6x16 on AVX2) and, on AVX-512 machines, OUT_PREFIX-avx2.json for
# the AVX2 bar (default prefix bench-bars), then prints the medians and the
# ratio tables.
#
# OpenBLAS runs with OPENBLAS_L2_SIZE unset and OPENBLAS_CORETYPE set:
# Debian 12's OpenBLAS 0.3.21 does not recognise newer Xeons (family 6
# model 207) and falls back to its SSE3 Prescott kernel when the variable
# is unset, and some machines set an older core that halves its speed. The
# first run uses $GKB_OPENBLAS_CORETYPE (default Cooperlake on AVX-512
# machines, Haswell on the others), the AVX2 run Haswell (the AVX2 bar
# compares against OpenBLAS's Haswell kernel). Each report's context names
# the kernel OpenBLAS ran.
# GKB_PROFILE=FILE sets the rank crossovers of a greenkern-tune profile beside
# those read off the benchmark.
# "% of peak" needs the single-core FMA peak: set GKB_PEAK_GFLOPS (measure
# it with a peak-FLOPS tool such as the project's shared peak.c).
# Takes ~15 minutes on 2 cores; run it on a quiet machine.
#
# Drift: on a shared VM a kernel's speed drifts by 15-30% within minutes
# (host load), which makes ratios between benchmarks run minutes apart
# (1 vs 2 threads, ours vs a peer) unreliable. The repetitions are
# therefore interleaved in random order across all benchmarks (Google
# Benchmark's random interleaving), so drift spreads over every contestant
# instead of landing on one. GKB_REPS sets the repetitions (default 3).
# GKB_RT=1 runs the binary at real-time priority (chrt -f 10, needs root):
# other processes then cannot take a core in the middle of a 2-thread
# benchmark, which otherwise stalls its barriers for a whole time slice.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-bench-bars}
bench=$build/bench/greenkern-bench
[ -x "$bench" ] || { echo "bench-bars: $bench not built (meson setup $build && ninja -C $build)"; exit 2; }

join() { local IFS='|'; echo "(${*})"; }
if grep -qw avx512f /proc/cpuinfo; then
  top=avx512 tile=8x48 core=${GKB_OPENBLAS_CORETYPE:-Cooperlake}
else
  top=avx2 tile=6x16 core=${GKB_OPENBLAS_CORETYPE:-Haswell}
fi
top_filters=(
  # dense GEMM, BERT shapes: every tile of that ISA vs peers, 1 thread; 2 threads scaling
  "^gemm/.*(__$top|peer).*/M=(128|512|2048)/K=(768|3072)/N=(768|3072)/threads=1"
  "^gemm/.*(${tile}__$top|peer:onednn).*/M=(512|2048)/K=(768|3072)/N=(768|3072)/threads=2"
  # fused rank-r (the default tile) vs dense on W = U·V vs the peers' two calls
  "^lowrank/(f32_lowrank_ukernel_${tile}__$top|dense-packed|peer:onednn|peer:openblas)/M=(32|128|512|2048)/K=768/N=768/r=(16|32|64|128|192|256|384)/threads=1"
  "^lowrank/(f32_lowrank_ukernel_${tile}__$top|dense-packed|peer:onednn|peer:openblas)/M=(128|512)/K=(768|3072)/N=(768|3072)/r=(16|64|256)/threads=1"
  "^lowrank/(f32_lowrank_ukernel_${tile}__$top|peer:onednn|peer:openblas)/M=(32|128|512|2048)/K=768/N=768/r=(16|32|64|128|192|256|384)/threads=2"
  # rank crossover: fused at ranks around the break-even against dense on W = U·V
  '^rank-crossover/'
  # plan overhead at tiny shapes
  '^plan-overhead/'
  # full attention vs Linformer, 12 heads x d=64
  "^attention/.*__$top/heads=12/d=64/n=(1024|2048|4096|8192)/threads=(1|2)"
  '^linformer/heads=12/d=64/n=(1024|2048|4096|8192)/k=(64|128|256)/threads=(1|2)'
  # Linformer's attention part alone: n queries against k = 128 projected rows
  "^attention_kv/.*__$top/heads=12/d=64/n=4096/k=128/threads=1"
  # all-pairs Hamming distances, n = 4096
  '^hamming_dist/(.*avx512|.*avx2|baseline|peer).*/b=256/n=4096/threads=1'
  # Hamming attention, b = 16: linear vs quadratic, and linear growth
  '^hamming_attn/linear:.*/b=16/n=(8192|16384)/heads=12/d=64/threads=1'
  '^hamming_attn/quadratic:.*/b=16/n=8192/heads=12/d=64/threads=1'
)
avx2_filters=('^gemm/.*(avx2|peer:openblas).*/M=(128|512)/K=(768|3072)/N=(768|3072)/threads=1')

run() { # CORETYPE OUT FILTER...
  local core=$1 json=$2; shift 2
  env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$core" "${rt[@]}" "$bench" \
    --benchmark_filter="$(join "$@")" --benchmark_enable_random_interleaving=true \
    --benchmark_repetitions="${GKB_REPS:-3}" --benchmark_report_aggregates_only=true \
    --benchmark_out="$json" --benchmark_out_format=json >/dev/null
}
rt=()
[ "${GKB_RT:-0}" = 1 ] && rt=(chrt -f 10)
echo "bench-bars: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
run "$core" "$out-$top.json" "${top_filters[@]}"
second=-
if [ "$top" != avx2 ]; then second=$out-avx2.json; run Haswell "$second" "${avx2_filters[@]}"; fi
echo "bench-bars: load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out-$top.json" "$second" "${GKB_PEAK_GFLOPS:-0}" "$top" "$tile" <<'PY'
import json, os, re, sys
from collections import defaultdict

peak = float(sys.argv[3])
runs = [json.load(open(p)) for p in sys.argv[1:3] if p != "-"]
top, tile = sys.argv[4], sys.argv[5]  # widest ISA run, its default tile
def clean(run_name):  # the benchmark's name without Google Benchmark's run options
    return re.sub(r"/(min_time:[^/]*|iterations:\d+|real_time)", "", run_name)

med = {}  # run name -> (seconds, GFLOP/s or None), per run index
for i, d in enumerate(runs):
    for b in d["benchmarks"]:
        if b.get("aggregate_name") != "median": continue
        name = clean(b["run_name"])
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        med[(i, name)] = (b["real_time"] * scale, b.get("GFLOP/s"))

def ctx(i):
    c = runs[i]["context"]
    return ", ".join(f"{k} {c[k]}" for k in ("cpu_brand", "greenkern_build", "caches",
                                                 "openblas_core", "onednn_version") if k in c)

def fmt_t(s): return f"{s*1e3:.3f} ms" if s >= 1e-4 else f"{s*1e6:.2f} us"
def ratio_cell(x, bar): return f"{x:.2f}x" + ("" if x >= bar else " (below)")

for i, what in enumerate((f"{top} run", "AVX2 run")[:len(runs)]): print(f"{what}: {ctx(i)}")
print()
print("| benchmark | median | GFLOP/s or rate |\n|---|---:|---:|")
for i, d in enumerate(runs):
    for b in d["benchmarks"]:
        if b.get("aggregate_name") != "median": continue
        name = clean(b["run_name"])
        rate = ""
        for c in ("GFLOP/s", "Gpairs/s", "pairs/s", "tokens/s"):
            if c in b:
                rate = f"{b[c]:.1f} {c}" if c == "GFLOP/s" else f"{b[c]:.3g} {c}"
                break
        print(f"| {name} | {b['real_time']:.4g} {b['time_unit']} | {rate} |")

# ---- dense GEMM: best tile vs the faster of oneDNN and OpenBLAS (time ratio)
def split(run, prefix):
    """{shape: {who: seconds}} for names prefix/<who>/<shape>."""
    out = defaultdict(dict)
    for (i, name), (t, _) in med.items():
        if i != run or not name.startswith(prefix + "/"): continue
        who, shape = name[len(prefix) + 1:].split("/", 1)
        out[shape][who] = t
    return out

print("\n### Dense GEMM, 1 thread: peer time / our time (bar 0.95x)\n")
print("| shape | our best tile | ours | best peer | peer | ratio |\n|---|---|---:|---|---:|---:|")
# the AVX2 bar (against OpenBLAS's Haswell kernel) from the AVX2 run, or
# from the first run where AVX2 is the widest ISA
for run, isa, peers in ((0, top, ("peer:onednn", "peer:openblas")),
                        (len(runs) - 1, "avx2", ("peer:openblas",))):
    for shape, rows in sorted(split(run, "gemm").items()):
        if not shape.endswith("threads=1"): continue
        ours = {w: t for w, t in rows.items() if w.endswith("__" + isa)}
        theirs = {w: t for w, t in rows.items() if w in peers}
        if not ours or not theirs: continue
        bo, bp = min(ours, key=ours.get), min(theirs, key=theirs.get)
        print(f"| {shape} | {bo} | {fmt_t(ours[bo])} | {bp} | {fmt_t(theirs[bp])} | "
              f"{ratio_cell(theirs[bp] / ours[bo], 0.95)} |")

print("\n### Thread scaling: 1-thread time / 2-thread time (bar 1.8x)\n")
print("| benchmark | 1 thread | 2 threads | scaling |\n|---|---:|---:|---:|")
for (i, name), (t2, _) in sorted(med.items()):
    if i != 0 or not name.endswith("threads=2") or "peer" in name: continue
    one = med.get((0, name[:-1] + "1"))
    if one: print(f"| {name[:-10]} | {fmt_t(one[0])} | {fmt_t(t2)} | {ratio_cell(one[0] / t2, 1.8)} |")

# ---- rank-r: fused vs the best peer's two calls, and vs our dense on W = U·V
print("\n### Fused rank-r vs the best peer's two calls: peer time / our time (bar > 1)\n")
print("| shape | fused | best peer | peer | speedup | dense on U·V / fused |\n|---|---:|---|---:|---:|---:|")
wins = total = 0
for shape, rows in sorted(split(0, "lowrank").items(),
                          key=lambda kv: [int(x) for x in re.findall(r"\d+", kv[0])]):
    fused = rows.get(f"f32_lowrank_ukernel_{tile}__{top}")
    theirs = {w: t for w, t in rows.items() if w.startswith("peer:")}
    if not fused or not theirs: continue
    bp = min(theirs, key=theirs.get)
    s = theirs[bp] / fused
    wins += s > 1; total += 1
    dense = rows.get("dense-packed")
    print(f"| {shape} | {fmt_t(fused)} | {bp} | {fmt_t(theirs[bp])} | {ratio_cell(s, 1.0)} | "
          f"{dense / fused:.2f} |" if dense else f"| {shape} | {fmt_t(fused)} | {bp} | "
          f"{fmt_t(theirs[bp])} | {ratio_cell(s, 1.0)} | |")
print(f"\nfused faster than the best peer at {wins} of {total} points")

# ---- rank crossover read off the benchmark (set beside the tuner's, GKB_PROFILE)
tuned, tune_threads = {}, None  # the tuner's r* per (M, K, N), at its thread count
if os.environ.get("GKB_PROFILE"):
    for line in open(os.environ["GKB_PROFILE"]):
        f = line.split()
        if f and f[0] == "rank_crossover" and len(f) >= 5:
            tuned[tuple(int(x) for x in f[1:4])] = f"{f[4]} ± {f[5]}" if len(f) > 5 else f[4]
        if f and f[0] == "tune_threads" and len(f) == 2:
            tune_threads = int(f[1])
print("\n### Rank crossover: largest r at which fused beats dense on W = U·V\n")
print("Dense time / fused time at each rank; the crossover is where that ratio falls through 1,")
print("interpolated linearly between the ranks measured.")
if tuned: print(f"The tuner's r* comes from {os.environ['GKB_PROFILE']} ({tune_threads} threads).")
print("\n| M | K | N | threads | dense / fused at r | crossover | tuner r* |\n|---:|---:|---:|---:|---|---:|---:|")
layers = defaultdict(dict)
for (i, name), (t, _) in med.items():
    m = re.match(r"rank-crossover/(dense|fused)/M=(\d+)/K=(\d+)/N=(\d+)/r=(\d+)/threads=(\d+)", name)
    if i == 0 and m:
        who, M, K, N, r, th = m.groups()
        layers[(int(M), int(K), int(N), int(th))][who if who == "dense" else int(r)] = t
for (M, K, N, th), rows in sorted(layers.items()):
    dense = rows.pop("dense", None)
    if not dense or not rows: continue
    pts = sorted((r, dense / t) for r, t in rows.items())
    cross = f"> {pts[-1][0]}" if pts[-1][1] > 1 else f"< {pts[0][0]}" if pts[0][1] <= 1 else ""
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if q0 > 1 >= q1: cross = f"{r0 + (q0 - 1) / (q0 - q1) * (r1 - r0):.0f}"; break
    cells = ", ".join(f"{r}: {q:.2f}" for r, q in pts)
    print(f"| {M} | {K} | {N} | {th} | {cells} | {cross} | {tuned.get((M, K, N), '') if th == tune_threads else ''} |")

# ---- plan overhead: apply against the engine call it makes, K = N = 16
print("\n### Plan overhead at K = N = 16: apply minus the engine call (bar 2 us)\n")
print("| plan | M | apply | engine | overhead |\n|---|---:|---:|---:|---:|")
for (i, name), (t, _) in sorted(med.items()):
    m = re.match(r"plan-overhead/((?:lowrank-r4/)?)apply/M=(\d+)$", name)
    if i != 0 or not m: continue
    kind, M = m.groups()
    k = med.get((0, f"plan-overhead/{kind}kernel/M={M}"))
    if not k: continue
    over = t - k[0]
    print(f"| {'rank-4 factors' if kind else 'dense'} | {M} | {fmt_t(t)} | {fmt_t(k[0])} | "
          f"{over * 1e9:.0f} ns{'' if over <= 2e-6 else ' (above)'} |")

# ---- attention and Linformer
print("\n### Attention, 12 heads x d = 64\n")
print(f"| n | threads | full ({top}) | GFLOP/s | % of peak | Linformer k=128 | full / Linformer |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for (i, name), (t, g) in sorted(med.items()):
    m = re.match(rf"attention/.*__{top}/heads=12/d=64/n=(\d+)/threads=(\d)", name)
    if i != 0 or not m: continue
    n, th = m.groups()
    lin = med.get((0, f"linformer/heads=12/d=64/n={n}/k=128/threads={th}"))
    pk = f"{100 * g / peak:.0f}%" if peak and g and th == "1" else ""
    print(f"| {n} | {th} | {fmt_t(t)} | {g or 0:.1f} | {pk} | "
          f"{fmt_t(lin[0]) if lin else ''} | {f'{t / lin[0]:.1f}x' if lin else ''} |")
PY

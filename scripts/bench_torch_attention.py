#!/usr/bin/python3
"""Side-by-side: greenkern vs PyTorch CPU attention and Linformer attention.

Shapes: 12 heads x d = 64 in the [tokens, heads*d] layout, n in --n, k in --k,
thread counts in --threads. For each shape it runs greenkern-bench (Google
Benchmark, JSON) and then PyTorch in this process, one after the other, so
both see the same machine state, and prints medians and ratios.

PyTorch's attention is what Debian's torch 1.13 offers on CPU (it has no fused
scaled_dot_product_attention): matmul + softmax + matmul. Its Linformer is the
lucidrains/fairseq form: K' = E[:, :n]·K and V' = F[:, :n]·V over all heads at
once (headwise sharing), then the same attention over the k projected rows.

Measure as the issue prescribes: Debian's /usr/bin/python3 (the only one that
sees python3-torch, which scripts/setup-debian.sh torch installs),
OPENBLAS_L2_SIZE unset (some VMs set it with an older core, which halves
OpenBLAS and so torch), and
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (torch allocates per call and fresh 4K
pages are slow here). OPENBLAS_CORETYPE is then set to $GKB_OPENBLAS_CORETYPE
(default Cooperlake on AVX-512 machines, Haswell on the others, as
bench-bars.sh does): Debian 12's OpenBLAS 0.3.21 does not recognise newer
Xeons (family 6 model 207) and, unset, falls back to its SSE3 Prescott
kernel, which would make torch look slower than it is; forced to Cooperlake
without AVX-512 it would die on an illegal instruction. The script
re-executes itself that way when needed. The greenkern attention variant
compared is the CPU's widest (--variant avx512 or avx2).

  scripts/bench_torch_attention.py [--bench build/bench/greenkern-bench]
      [--n 128,256,...] [--k 64,128,256] [--threads 1,2] [--reps 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

def has_avx512():
    with open("/proc/cpuinfo") as f:
        return any(line.startswith("flags") and " avx512f" in line for line in f)


AVX512 = has_avx512()
WANT_ENV = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
            "OPENBLAS_CORETYPE": os.environ.get("GKB_OPENBLAS_CORETYPE",
                                                "Cooperlake" if AVX512 else "Haswell")}
DROP_ENV = ("OPENBLAS_L2_SIZE",)


def reexec_if_needed():
    env_ok = all(os.environ.get(k) == v for k, v in WANT_ENV.items()) and not any(
        k in os.environ for k in DROP_ENV)
    if env_ok and sys.executable == "/usr/bin/python3":
        return
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env.update(WANT_ENV)
    os.execve("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:], env)


H, D = 12, 64


def set_blas_threads(t):
    """Caps the BLAS that torch calls at t threads; returns its name, or None.

    Debian's torch (BLAS_INFO=generic) hands its matmuls to the system BLAS,
    OpenBLAS, whose own thread pool torch.set_num_threads does not reach: at
    "1 thread" a 512 x 3072 x 768 matmul ran at 104-111 GFLOP/s on a 2-core
    Zen 3, above one core's FMA peak, and 63-65 once OpenBLAS was capped."""
    import ctypes
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            f = getattr(ctypes.CDLL(name), "openblas_set_num_threads", None)
        except OSError:
            continue
        if f:
            f(t)
            return name
    return None


def torch_time(fn, reps, long_call):
    """Median seconds of fn() over reps runs (one warm-up; long calls: 1 run)."""
    fn()
    n = 1 if long_call else reps
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def attend(torch, q, k, v):
    """softmax(q·kᵀ/sqrt(d))·v per head, [rows, H*D] in and out."""
    n, m = q.shape[0], k.shape[0]
    qh = q.view(n, H, D).transpose(0, 1)
    kh = k.view(m, H, D).transpose(0, 1)
    vh = v.view(m, H, D).transpose(0, 1)
    p = torch.softmax(torch.matmul(qh, kh.transpose(-1, -2)) * D ** -0.5, dim=-1)
    return torch.matmul(p, vh).transpose(0, 1).reshape(n, H * D)


def torch_attention(torch, n, reps):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.rand(n, H * D, generator=g) * 2 - 1 for _ in range(3))
    with torch.no_grad():
        return torch_time(lambda: attend(torch, q, k, v), reps, n >= 4096)


def torch_linformer(torch, n, kk, reps):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.rand(n, H * D, generator=g) * 2 - 1 for _ in range(3))
    E = torch.rand(kk, n, generator=g) * 2 - 1
    F = torch.rand(kk, n, generator=g) * 2 - 1
    # K' = E[:, :n]·K and V' = F[:, :n]·V (k x H*D), then attention over them
    run = lambda: attend(torch, q, torch.matmul(E[:, :n], k), torch.matmul(F[:, :n], v))
    with torch.no_grad():
        return torch_time(run, reps, False)


def gk_times(bench, regex, reps):
    """{benchmark name prefix: median seconds} from greenkern-bench's JSON."""
    out = subprocess.run([bench, "--benchmark_filter=" + regex, "--benchmark_format=json",
                          "--benchmark_repetitions=%d" % reps,
                          "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name", "median") != "median" or b.get("error_occurred"):
            continue
        name = b["run_name"].split("/min_time")[0].split("/iterations")[0].split("/real_time")[0]
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        res[name] = b["real_time"] * unit
    return res


def main():
    reexec_if_needed()
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bench", default=os.path.join(here, "..", "build", "bench", "greenkern-bench"))
    ap.add_argument("--n", default="128,256,512,1024,2048,4096")
    ap.add_argument("--k", default="64,128,256")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--variant", default="avx512" if AVX512 else "avx2",
                    help="attention variant suffix to compare (default: the CPU's widest)")
    a = ap.parse_args()
    ns = [int(x) for x in a.n.split(",")]
    ks = [int(x) for x in a.k.split(",")]
    ts = [int(x) for x in a.threads.split(",")]

    print("torch %s, /usr/bin/python3, GLIBC_TUNABLES=%s, OPENBLAS_CORETYPE=%s" %
          (torch.__version__, os.environ.get("GLIBC_TUNABLES"),
           os.environ.get("OPENBLAS_CORETYPE")))
    print("12 heads x d=64; medians in ms; ratio = torch / greenkern (> 1: greenkern faster)")
    print("%-10s %3s %5s %4s | %10s %10s %6s | %8s | %s" %
          ("kind", "T", "n", "k", "gk ms", "torch ms", "ratio", "gk GF/s", "gk full/linf"))
    for t in ts:
        torch.set_num_threads(t)
        blas = set_blas_threads(t)
        print("%d thread(s): torch.set_num_threads(%d), %s" %
              (t, t, "openblas_set_num_threads(%d) (%s)" % (t, blas) if blas else
               "no OpenBLAS found: torch's BLAS threads are not capped"))
        for n in ns:
            long_call = n >= 4096
            reps = 1 if long_call else a.reps
            full = gk_times(a.bench, "^attention/.*__%s/heads=12/d=64/n=%d/threads=%d/" %
                            (a.variant, n, t), reps)
            if not full:
                sys.exit("bench_torch_attention: no attention benchmark matches variant %s"
                         " at n = %d, %d threads (greenkern-bench --benchmark_list_tests)"
                         % (a.variant, n, t))
            gk_full = next(iter(full.values()))
            tf = torch_attention(torch, n, a.reps)
            fl = 4.0 * H * n * n * D
            print("%-10s %3d %5d %4s | %10.3f %10.3f %6.2f | %8.1f |" %
                  ("full", t, n, "-", gk_full * 1e3, tf * 1e3, tf / gk_full, fl / gk_full * 1e-9))
            lin = gk_times(a.bench, "^linformer/heads=12/d=64/n=%d/k=(%s)/threads=%d/" %
                           (n, "|".join(map(str, ks)), t), a.reps)
            for k in ks:
                g = lin.get("linformer/heads=12/d=64/n=%d/k=%d/threads=%d" % (n, k, t), float("nan"))
                tl = torch_linformer(torch, n, k, a.reps)
                fl = 8.0 * H * n * k * D
                print("%-10s %3d %5d %4d | %10.3f %10.3f %6.2f | %8.1f | %.2fx" %
                      ("linformer", t, n, k, g * 1e3, tl * 1e3, tl / g, fl / g * 1e-9, gk_full / g))
            sys.stdout.flush()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Paired: greenkern vs PyTorch CPU attention, Linformer and EcoFormer.

Shapes: 12 heads x d = 64 in the [tokens, heads*d] layout, n in --n, k in --k,
b in --b, thread counts in --threads. greenkern is called through its shared library
(ctypes) on the very tensors torch computes on, and the two alternate call
by call, each round starting with the other one: on a shared VM a core's
speed drifts by tens of percent within minutes (torch's time for one shape
moved 1.7x between two runs of a sequential version of this script), and
drift slower than a round cancels out of each round's ratio. It prints the
medians and the median per-round ratio torch / greenkern with its quartiles
(> 1: greenkern faster), and checks once per shape that the two outputs
agree.

PyTorch's attention is what Debian's torch 1.13 offers on CPU (it has no fused
scaled_dot_product_attention): matmul + softmax + matmul. Its Linformer is the
lucidrains/fairseq form: K' = E[:, :n]·K and V' = F[:, :n]·V over all heads at
once (headwise sharing), then the same attention over the k projected rows;
greenkern's is gk_linformer_attention with GK_LINFORMER_HEADWISE. Its
EcoFormer is the reference code's forward (ziplab/EcoFormer: KernelSH.forward,
then linear_attention_bias) in torch ops: queries and keys L2-normalised,
squared distances to m = 25 anchors per head (torch.cdist), sigma their mean,
phi = exp(-D / 2 sigma) - mu, codes sign(phi·Aᵀ) as ±1 floats, then the
linear attention over the b-bit codes; greenkern's is gk_hash of the queries
and of the keys and gk_hamming_attention (GK_HAMMING_ECOFORMER_REF preset,
the algorithm its tuned crossover picks). Codes may differ where a pre-sign
value rounds differently; the check allows one bit in 10^3.

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
re-executes itself that way when needed. greenkern runs what it dispatches
to on this CPU (GK_ISA=avx2 caps it, GK_PROFILE picks a tuner profile).

  scripts/bench_torch_attention.py [--lib build/libgreenkern.so]
      [--n 128,256,...] [--k 64,128,256] [--b 16,64] [--threads 1,2] [--reps 5]
"""
import argparse
import ctypes
import os
import statistics
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


def attend(torch, q, k, v):
    """softmax(q·kᵀ/sqrt(d))·v per head, [rows, H*D] in and out."""
    n, m = q.shape[0], k.shape[0]
    qh = q.view(n, H, D).transpose(0, 1)
    kh = k.view(m, H, D).transpose(0, 1)
    vh = v.view(m, H, D).transpose(0, 1)
    p = torch.softmax(torch.matmul(qh, kh.transpose(-1, -2)) * D ** -0.5, dim=-1)
    return torch.matmul(p, vh).transpose(0, 1).reshape(n, H * D)


class AttnShape(ctypes.Structure):  # gk_attn_shape
    _fields_ = [(f, ctypes.c_size_t) for f in (
        "batch", "heads", "head_dim", "n_q", "n_kv", "q_head_stride", "k_head_stride",
        "v_head_stride", "o_head_stride", "q_batch_stride", "k_batch_stride",
        "v_batch_stride", "o_batch_stride")] + [("scale", ctypes.c_float)]


class LinformerProj(ctypes.Structure):  # gk_linformer_proj
    _fields_ = [("k", ctypes.c_size_t), ("n_max", ctypes.c_size_t),
                ("E", ctypes.c_void_p), ("lde", ctypes.c_size_t),
                ("F", ctypes.c_void_p), ("ldf", ctypes.c_size_t),
                ("head_stride", ctypes.c_size_t), ("sharing", ctypes.c_int)]


class HashParams(ctypes.Structure):  # gk_hash_params
    _fields_ = [("heads", ctypes.c_size_t), ("head_dim", ctypes.c_size_t),
                ("m", ctypes.c_size_t), ("b", ctypes.c_size_t), ("anchors", ctypes.c_void_p),
                ("mu", ctypes.c_void_p), ("A", ctypes.c_void_p), ("sigma", ctypes.c_void_p),
                ("normalize", ctypes.c_int)]


class HammingKernel(ctypes.Structure):  # gk_hamming_kernel
    _fields_ = [(f, ctypes.c_float) for f in ("alpha", "beta_num", "beta_den", "gamma")]


class HammingParams(ctypes.Structure):  # gk_hamming_attn_params
    _fields_ = [("heads", ctypes.c_size_t), ("head_dim", ctypes.c_size_t), ("b", ctypes.c_size_t),
                ("kernel", HammingKernel), ("causal", ctypes.c_int), ("algo", ctypes.c_int)]


ANCHORS = 25
GK_HAMMING_ECOFORMER_REF, GK_HAMMING_AUTO = 1, 0


def ecoformer_torch(torch, q, k, v, anc, mu, A, b):
    """KernelSH.forward on q and k, then linear_attention_bias: [n, H*D] in
    and out; also returns the query codes (H, n, b) as ±1."""
    n = q.shape[0]

    def hash_(x):
        xh = x.view(n, H, D).transpose(0, 1)
        xh = xh / torch.norm(xh, 2, dim=-1, keepdim=True)
        d2 = torch.cdist(xh, anc) ** 2
        sigma = d2.mean(dim=(-2, -1), keepdim=True)
        phi = torch.exp(-d2 / (2 * sigma)) - mu[:, None, :]
        return torch.sign(torch.einsum("hnm,hkm->hnk", phi, A))
    hq, hk = hash_(q), hash_(k)
    vh = v.view(n, H, D).transpose(0, 1)
    bias = b + 1
    d_inv = 1.0 / (torch.einsum("hnd,hd->hn", hq, hk.sum(dim=-2)) + n * bias)
    context = torch.einsum("hnd,hne->hde", hk, vh)
    out = (torch.einsum("hde,hnd->hne", context, hq) + vh * bias) * d_inv[..., None]
    return out.transpose(0, 1).reshape(n, H * D), hq


def load_greenkern(path):
    gk = ctypes.CDLL(path)
    P, Z = ctypes.c_void_p, ctypes.c_size_t
    gk.gk_strerror.restype = ctypes.c_char_p
    gk.gk_set_num_threads.argtypes = [ctypes.c_int]
    gk.gk_attention.argtypes = [P, P, Z, P, Z, P, Z, P, Z, P]
    gk.gk_linformer_workspace_size.argtypes = [P, P]
    gk.gk_linformer_workspace_size.restype = Z
    gk.gk_linformer_attention.argtypes = [P, P, P, Z, P, Z, P, Z, P, Z, P, P, Z]
    gk.gk_hash.argtypes = [P, Z, P, Z, Z, P, Z, Z]
    gk.gk_hamming_kernel_preset.argtypes = [ctypes.c_int, Z, P]
    gk.gk_hamming_attention.argtypes = [P, Z, Z, Z, P, Z, Z, P, Z, Z, P, Z, Z, P, Z, Z]
    return gk


def gk_check(gk, st, what):
    if st:
        sys.exit("bench_torch_attention: %s: %s" % (what, gk.gk_strerror(st).decode()))


def paired(gk_call, torch_call, rounds):
    """Per-round times of both (each warmed up once), alternating which goes
    first; returns (median gk s, median torch s, [torch / gk per round])."""
    gk_call(), torch_call()
    tg, tt = [], []
    for r in range(rounds):
        for who in ((0, 1) if r % 2 == 0 else (1, 0)):
            t0 = time.perf_counter()
            gk_call() if who == 0 else torch_call()
            (tg if who == 0 else tt).append(time.perf_counter() - t0)
    return statistics.median(tg), statistics.median(tt), [b / a for a, b in zip(tg, tt)]


def quartiles(v):
    s = sorted(v)
    return s[len(s) // 4], statistics.median(s), s[3 * len(s) // 4]


def agree(out, ref, what):
    err = (out - ref).abs().max().item()
    if err > 1e-3 * max(1.0, ref.abs().max().item()):
        sys.exit("bench_torch_attention: %s: greenkern and torch differ by %g" % (what, err))


def ecoformer_rows(gk, torch, q, k, v, out, n, bs, reps, g):
    """EcoFormer per b: gk_hash twice + gk_hamming_attention against torch."""
    ptr = lambda x: ctypes.c_void_p(x.data_ptr())
    ld, rows = H * D, []
    for b in bs:
        words = (b + 63) // 64
        anc = torch.nn.functional.normalize(torch.rand(H, ANCHORS, D, generator=g) * 2 - 1, dim=-1)
        mu = torch.rand(H, ANCHORS, generator=g) * 0.5
        A = torch.randn(H, b, ANCHORS, generator=g)
        qc, kc = (torch.zeros(n * H * words, dtype=torch.int64) for _ in range(2))
        hp = HashParams(H, D, ANCHORS, b, anc.data_ptr(), mu.data_ptr(), A.data_ptr(), None, 1)
        kern = HammingKernel()
        gk_check(gk, gk.gk_hamming_kernel_preset(GK_HAMMING_ECOFORMER_REF, b, ctypes.byref(kern)),
                 "gk_hamming_kernel_preset")
        ap = HammingParams(H, D, b, kern, 0, GK_HAMMING_AUTO)
        cw = H * words

        def gk_eco():
            for x, c in ((q, qc), (k, kc)):
                gk_check(gk, gk.gk_hash(ctypes.byref(hp), n, ptr(x), ld, D, ptr(c), cw, words),
                         "gk_hash")
            gk_check(gk, gk.gk_hamming_attention(
                ctypes.byref(ap), n, n, n, ptr(qc), cw, words, ptr(kc), cw, words,
                ptr(v), ld, D, ptr(out), ld, D), "gk_hamming_attention")
        torch_eco = lambda: ecoformer_torch(torch, q, k, v, anc, mu, A, b)
        gk_eco()
        ref, hq = torch_eco()
        # the query codes bit by bit: [n][H][words] words against (H, n, b) signs
        bits = torch.stack([(qc.view(n, H, words)[:, :, l // 64] >> (l % 64)) & 1
                            for l in range(b)], dim=-1).transpose(0, 1)
        flipped = (bits != (hq >= 0).long()).float().mean().item()
        if flipped > 1e-3:
            sys.exit("bench_torch_attention: EcoFormer n = %d, b = %d: %.2g of the query code bits "
                     "differ from torch's" % (n, b, flipped))
        if flipped == 0:
            agree(out, ref, "EcoFormer n = %d, b = %d" % (n, b))
        fl = 2 * 2.0 * H * n * ANCHORS * (D + b) + 4.0 * H * n * b * D
        rows.append(("ecoformer", b, fl, paired(gk_eco, torch_eco, reps)))
    return rows


def compare(gk, torch, t, n, ks, bs, reps):
    """The rows of one n at t threads: full attention, then Linformer per k,
    then EcoFormer per b."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.rand(n, H * D, generator=g) * 2 - 1 for _ in range(3))
    out = torch.empty(n, H * D)
    ld = H * D
    s = AttnShape(batch=1, heads=H, head_dim=D, n_q=n, n_kv=n)
    ptr = lambda x: ctypes.c_void_p(x.data_ptr())
    rounds = 3 if n >= 4096 else reps  # full attention takes seconds a call from n = 4096
    rows = []

    def gk_full():
        gk_check(gk, gk.gk_attention(ctypes.byref(s), ptr(q), ld, ptr(k), ld, ptr(v), ld,
                                     ptr(out), ld, None), "gk_attention")
    with torch.no_grad():
        gk_full()
        agree(out, attend(torch, q, k, v), "attention n = %d" % n)
        rows.append(("full", "-", 4.0 * H * n * n * D,
                     paired(gk_full, lambda: attend(torch, q, k, v), rounds)))
        for kk in ks:
            E, F = (torch.rand(kk, n, generator=g) * 2 - 1 for _ in range(2))
            p = LinformerProj(k=kk, n_max=n, E=E.data_ptr(), lde=n, F=F.data_ptr(), ldf=n,
                              head_stride=0, sharing=0)
            wsb = gk.gk_linformer_workspace_size(ctypes.byref(s), ctypes.byref(p))
            ws = torch.empty(wsb // 4 + 16)

            def gk_lin():
                gk_check(gk, gk.gk_linformer_attention(
                    ctypes.byref(s), ctypes.byref(p), ptr(q), ld, ptr(k), ld, ptr(v), ld,
                    ptr(out), ld, None, ptr(ws), wsb), "gk_linformer_attention")

            def torch_lin():
                return attend(torch, q, torch.matmul(E[:, :n], k), torch.matmul(F[:, :n], v))
            gk_lin()
            agree(out, torch_lin(), "Linformer n = %d, k = %d" % (n, kk))
            rows.append(("linformer", kk, 8.0 * H * n * kk * D, paired(gk_lin, torch_lin, reps)))
        rows += ecoformer_rows(gk, torch, q, k, v, out, n, bs, reps, g)
    for kind, kk, fl, (tg, tt, ratio) in rows:
        lo, med, hi = quartiles(ratio)
        print("%-10s %3d %5d %4s | %10.3f %10.3f | %5.2f [%.2f-%.2f] | %8.1f" %
              (kind, t, n, kk, tg * 1e3, tt * 1e3, med, lo, hi, fl / tg * 1e-9))
    sys.stdout.flush()


def main():
    reexec_if_needed()
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--lib", default=os.path.join(here, "..", "build", "libgreenkern.so"),
                    help="greenkern's shared library (default: build/libgreenkern.so)")
    ap.add_argument("--n", default="128,256,512,1024,2048,4096")
    ap.add_argument("--k", default="64,128,256")
    ap.add_argument("--b", default="16,64", help="EcoFormer code bits")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=7, help="rounds per shape (3 for full attention at n >= 4096)")
    a = ap.parse_args()
    ns = [int(x) for x in a.n.split(",")]
    ks = [int(x) for x in a.k.split(",")]
    bs = [int(x) for x in a.b.split(",")] if a.b else []
    ts = [int(x) for x in a.threads.split(",")]
    try:
        gk = load_greenkern(a.lib)
    except OSError as e:
        sys.exit("bench_torch_attention: %s (build greenkern first, or pass --lib)" % e)
    gk_check(gk, gk.gk_init(), "gk_init")

    print("torch %s, /usr/bin/python3, GLIBC_TUNABLES=%s, OPENBLAS_CORETYPE=%s; greenkern %s" %
          (torch.__version__, os.environ.get("GLIBC_TUNABLES"),
           os.environ.get("OPENBLAS_CORETYPE"), a.lib))
    print("12 heads x d=64; medians in ms; ratio = torch / greenkern per round, median "
          "[quartiles] (> 1: greenkern faster)")
    print("%-10s %3s %5s %4s | %10s %10s | %16s | %8s" %
          ("kind", "T", "n", "k", "gk ms", "torch ms", "ratio", "gk GF/s"))
    for t in ts:
        torch.set_num_threads(t)
        gk_check(gk, gk.gk_set_num_threads(t), "gk_set_num_threads")
        blas = set_blas_threads(t)
        print("%d thread(s): torch.set_num_threads(%d), gk_set_num_threads(%d), %s" %
              (t, t, t, "openblas_set_num_threads(%d) (%s)" % (t, blas) if blas else
               "no OpenBLAS found: torch's BLAS threads are not capped"))
        for n in ns:
            compare(gk, torch, t, n, ks, bs, a.reps)


if __name__ == "__main__":
    main()

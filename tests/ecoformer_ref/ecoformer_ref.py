#!/usr/bin/python3
"""EcoFormer reference test: a NumPy transcription of the reference code's
forward formulas (ziplab/EcoFormer: KernelSH.forward in pvt/hashing/ksh.py,
linear_attention_bias and EcoformerFastAttention.forward in pvt/performer.py),
evaluated in float64 on generated inputs, against libgreenkern's gk_hash and
gk_hamming_attention with the ecoformer-ref preset (both algorithms), driven
through ctypes.

    ecoformer_ref.py path/to/libgreenkern.so

Code bits whose float64 pre-sign value is within 1e-5 of 0 are not compared
(float32 rounding may flip them; DESIGN.md section 3). The attention check
feeds the library's own codes to the transcribed linear_attention_bias, so a
skipped bit cannot leak into it. Exit 0: pass, 1: fail, 77: skipped."""
import ctypes as C
import sys

try:
    import numpy as np
except ImportError:
    print("numpy missing: skipped")
    sys.exit(77)


# ------------------------------------------------ transcribed reference
def ref_normalize(qk):
    # qk = qk / torch.norm(qk, 2, dim=-1, keepdim=True)
    return qk / np.linalg.norm(qk, 2, axis=-1, keepdims=True)


def ref_square_dist(x, anchor):
    # ||x_i - a_j||^2 for x (B,H,N,C), anchor (1,H,m,C) -> (B,H,N,m)
    return ((x[:, :, :, None, :] - anchor[:, :, None, :, :]) ** 2).sum(-1)


def ref_kernel(x, anchor):
    ktest = ref_square_dist(x, anchor)
    sigma = ktest.mean(-1).mean(-1)
    return np.exp(-ktest / (2 * sigma[..., None, None]))


def ref_hash_presign(x, anchor, mvec, A):
    # KernelSH.forward before the sign: einsum("bhnm,hkm->bhnk")
    ktest = ref_kernel(x, anchor) - mvec
    return np.einsum("bhnm,hkm->bhnk", ktest, A)


def ref_linear_attention_bias(q, k, v, nbits):
    N = q.shape[2]
    bias = nbits + 1
    top_bias = v * bias
    bottom_bias = N * bias
    k_cumsum = k.sum(axis=-2)
    D_inv = 1.0 / (np.einsum("...nd,...d->...n", q, k_cumsum) + bottom_bias)
    context = np.einsum("...nd,...ne->...de", k, v)
    out = np.einsum("...de,...nd->...ne", context, q) + top_bias
    return np.einsum("...ne,...n->...ne", out, D_inv)


# ----------------------------------------------------- library binding
class HashParams(C.Structure):
    _fields_ = [("heads", C.c_size_t), ("head_dim", C.c_size_t), ("m", C.c_size_t),
                ("b", C.c_size_t), ("anchors", C.c_void_p), ("mu", C.c_void_p),
                ("A", C.c_void_p), ("sigma", C.c_void_p), ("normalize", C.c_int)]


class Kernel(C.Structure):
    _fields_ = [("alpha", C.c_float), ("beta_num", C.c_float), ("beta_den", C.c_float),
                ("gamma", C.c_float)]


class AttnParams(C.Structure):
    _fields_ = [("heads", C.c_size_t), ("head_dim", C.c_size_t), ("b", C.c_size_t),
                ("kernel", Kernel), ("causal", C.c_int), ("algo", C.c_int)]


GK_HAMMING_ECOFORMER_REF, GK_HAMMING_QUADRATIC, GK_HAMMING_LINEAR = 1, 1, 2


def ptr(a):
    return a.ctypes.data_as(C.c_void_p)


def run_case(lib, rng, H, N, Cdim, m, b):
    words = (b + 63) // 64
    qk = rng.standard_normal((1, H, N, Cdim)).astype(np.float32)
    v = rng.standard_normal((1, H, N, Cdim)).astype(np.float32)
    A = rng.standard_normal((H, b, m)).astype(np.float32)
    # anchors: m of the normalised tokens (the reference picks a random
    # subset); mvec: the kernel's mean over the tokens (its training step)
    qn64 = ref_normalize(qk.astype(np.float64))
    idx = rng.permutation(N)[:m]
    anchor = qn64[:, :, idx, :].astype(np.float32)
    mvec = ref_kernel(qn64, anchor.astype(np.float64)).mean(-2, keepdims=True).astype(np.float32)

    y = ref_hash_presign(qn64, anchor.astype(np.float64), mvec.astype(np.float64), A.astype(np.float64))

    # library: x as [tokens, heads*head_dim], codes as [tokens][heads][words]
    x = np.ascontiguousarray(qk[0].transpose(1, 0, 2).reshape(N, H * Cdim))
    anc = np.ascontiguousarray(anchor[0])
    mu = np.ascontiguousarray(mvec.reshape(H, m))
    codes = np.zeros((N, H, words), dtype=np.uint64)
    p = HashParams(H, Cdim, m, b, ptr(anc).value, ptr(mu).value, ptr(A).value, None, 1)
    st = lib.gk_hash(C.byref(p), C.c_size_t(N), ptr(x), C.c_size_t(H * Cdim), C.c_size_t(Cdim),
                     ptr(codes), C.c_size_t(H * words), C.c_size_t(words))
    if st != 0:
        return f"gk_hash status {st}"
    bits = np.zeros((H, N, b), dtype=np.int8)
    for l in range(b):
        bits[:, :, l] = ((codes[:, :, l // 64] >> np.uint64(l % 64)) & np.uint64(1)).astype(np.int8).T
    want = (y[0] >= 0).astype(np.int8)   # sign(0) -> bit 1 in greenkern
    sure = np.abs(y[0]) >= 1e-5
    wrong = int(((bits != want) & sure).sum())
    if wrong:
        return f"{wrong} code bits differ from the reference"
    skipped = int((~sure).sum())

    # attention: the reference on the library's codes (±1) in float64
    h = (2.0 * bits - 1.0)[None]
    ref = ref_linear_attention_bias(h, h, v.astype(np.float64), b)[0]   # (H, N, C)
    vt = np.ascontiguousarray(v[0].transpose(1, 0, 2).reshape(N, H * Cdim))
    k = Kernel()
    lib.gk_hamming_kernel_preset(GK_HAMMING_ECOFORMER_REF, C.c_size_t(b), C.byref(k))
    for algo in (GK_HAMMING_QUADRATIC, GK_HAMMING_LINEAR):
        o = np.zeros((N, H * Cdim), dtype=np.float32)
        ap = AttnParams(H, Cdim, b, k, 0, algo)
        st = lib.gk_hamming_attention(
            C.byref(ap), C.c_size_t(N), C.c_size_t(N), C.c_size_t(N),
            ptr(codes), C.c_size_t(H * words), C.c_size_t(words),
            ptr(codes), C.c_size_t(H * words), C.c_size_t(words),
            ptr(vt), C.c_size_t(H * Cdim), C.c_size_t(Cdim),
            ptr(o), C.c_size_t(H * Cdim), C.c_size_t(Cdim))
        if st != 0:
            return f"gk_hamming_attention(algo {algo}) status {st}"
        got = o.reshape(N, H, Cdim).transpose(1, 0, 2)
        err = np.abs(got - ref).max()
        if not np.allclose(got, ref, rtol=1e-4, atol=1e-5):
            return f"attention (algo {algo}) differs: max abs error {err:.3g}"
    print(f"  H={H} N={N} C={Cdim} m={m} b={b}: codes match ({skipped} near-zero bits skipped), "
          f"attention max error {err:.2g}")
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    lib = C.CDLL(sys.argv[1])
    lib.gk_hash.argtypes = [C.c_void_p, C.c_size_t, C.c_void_p, C.c_size_t, C.c_size_t,
                            C.c_void_p, C.c_size_t, C.c_size_t]
    rng = np.random.default_rng(20221128)
    failed = 0
    for case in [(2, 197, 64, 25, 16), (3, 50, 32, 20, 64), (1, 300, 64, 25, 100), (2, 64, 16, 1, 1)]:
        msg = run_case(lib, rng, *case)
        if msg:
            print(f"FAIL H,N,C,m,b={case}: {msg}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

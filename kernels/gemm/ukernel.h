/* Register-tile micro-kernels of the GEMM engine: a tile of C kept in
 * vector registers over a K block, its store with bias, and one
 * instantiation per tile shape and row count (DEFINE_UKR). Written once
 * over simd.h; included by gemm_engine.c, so compiled once per ISA. */
#ifndef GK_GEMM_UKERNEL_H
#define GK_GEMM_UKERNEL_H
#include "../simd.h"

#define L GK_VF_LANES
#define MAX_MR 28
#define MAX_NV 4
/* K blocks of at most this many steps (rank-r's T·V at small r) are
 * "short": a tile's k loop is then about as long as its set-up and store,
 * so the macro-kernel walks C row tile by row tile (the writes become
 * sequential streams the hardware prefetcher follows) and the tiles skip
 * their prefetch of C. Paired on a Zen 3 EPYC (AVX2, 6x16), against
 * columns outer with C prefetched: rank-r K = N = 768, r = 16,
 * M = 32-2048, 1.02-1.08x; r = 32 1.00-1.04x, r = 64 1.03x; a K = 16 GEMM
 * 1.07-1.08x. Rows outer at r = 128 was even, at r = 256 1.7% slower.
 * Not measured on AVX-512. */
#define SHORT_K 64

typedef struct epi {
  const float *bias; /* bias of the tile's first column, or NULL */
  int accumulate;    /* add to C (not the first K block) */
  int last;          /* last K block: add bias */
  const float *pf;   /* one cache line per k step to prefetch, or NULL, */
  size_t pf_stride;  /* this many floats apart */
} epi;

/* a: packed A micro-panel (lda = 0) or row-major A rows (stride lda). */
typedef void (*ukr_fn)(size_t m, size_t kc, const float *a, size_t lda, const float *b,
                       size_t ldb, float *c, size_t ldc, size_t n, const epi *e);

/* np full tiles along one row tile: panel q's B at b + q·pstride, its C
 * at c + q·nr (see row_body). */
typedef void (*row_fn)(size_t np, size_t kc, const float *a, size_t lda, const float *b,
                       size_t pstride, size_t ldb, float *c, size_t ldc, const epi *e);

typedef struct tile {
  size_t mr, nr;
  ukr_fn ukr;
  row_fn row;
} tile;

/* The first w lanes of one vector of C (an edge tile's; full tiles use
 * store_full): accumulate, add bias, store. */
GK_SIMD_INLINE void store_vec(float *p, gk_vf x, size_t w, int accumulate, const float *bias) {
  if (w == L) { /* the edge tile's whole vectors: the masked forms are slow on some CPUs */
    if (accumulate) x = vf_add(x, vf_loadu(p));
    if (bias) x = vf_add(x, vf_loadu(bias));
    vf_storeu(p, x);
    return;
  }
  if (accumulate) x = vf_add(x, vf_loadu_n(p, w));
  if (bias) x = vf_add(x, vf_loadu_n(bias, w));
  vf_storeu_n(p, x, w);
}

#if defined(GK_TARGET_AVX512) && !GK_AVX512_EMULATED
/* acc += broadcast(*a)·b as one instruction with an embedded broadcast
 * memory operand: compilers hoist the broadcast into its own load
 * instruction, and the 14x32 tile's loop then has 47 instead of 33
 * instructions per k step, which the front end cannot sustain at 2 FMAs
 * per cycle. */
GK_SIMD_INLINE gk_vf fma_bcast(const float *a, gk_vf b, gk_vf acc) {
  __asm__("vfmadd231ps %[a]%{1to16%}, %[b], %[c]" : [c] "+v"(acc) : [b] "v"(b), [a] "m"(*a));
  return acc;
}
#else
GK_SIMD_INLINE gk_vf fma_bcast(const float *a, gk_vf b, gk_vf acc) {
  return vf_fma(vf_set1(*a), b, acc);
}
#endif

/* acc += A·B over kc k steps (see ukr_body). `extras` is a compile-time
 * constant: 0 instantiates the plain loop, without the prefetch check (a
 * test, a load and a multiply per k step that GCC does not take out of the
 * loop itself) that only a few tiles per panel need. */
GK_SIMD_INLINE void k_steps(const size_t m, const size_t MR, const size_t NV, size_t kc,
                            const float *__restrict a, const size_t lda,
                            const float *__restrict b, size_t ldb, gk_vf acc[][MAX_NV],
                            const int extras, const float *pf, size_t pf_stride) {
  /* Rows of A read in place: one base pointer per three rows, the other
   * two at base + lda and base + 2·lda, which x86 addresses as base +
   * index·4 and base + index·8 from a single lda register. Pointers to
   * each row (up to 28) would not fit the 16 general registers, and
   * reloading them from the stack every k step made the loop load-bound. */
  const float *rows[(MAX_MR + 2) / 3];
#pragma GCC unroll 10
  for (size_t g = 0; g < (m + 2) / 3; g++) rows[g] = a + 3 * g * lda;
#pragma GCC unroll 2
  for (size_t k = 0; k < kc; k++) {
    gk_vf bv[MAX_NV];
    if (extras && pf) __builtin_prefetch(pf + k * pf_stride);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) bv[v] = vf_loadu(b + v * L);
#pragma GCC unroll 28
    for (size_t i = 0; i < m; i++) {
      const float *ai_p = lda ? rows[i / 3] + i % 3 * lda : a + i;
      if (NV == 1) {
        acc[i][0] = fma_bcast(ai_p, bv[0], acc[i][0]);
      } else {
        gk_vf ai = vf_set1(*ai_p);
#pragma GCC unroll 4
        for (size_t v = 0; v < NV; v++) acc[i][v] = vf_fma(ai, bv[v], acc[i][v]);
      }
    }
    if (lda) {
#pragma GCC unroll 10
      for (size_t g = 0; g < (m + 2) / 3; g++) rows[g]++;
    } else {
      a += MR;
    }
    b += ldb;
  }
}

/* A full tile of C (+)= acc (+ bias), with `accumulate` and whether bias
 * is NULL constant in each of the caller's four calls: one branch per
 * tile, and bias's vectors loaded once. Tested per vector instead (store_vec
 * with run-time flags), GCC kept a NULL test of bias + v·L and a row
 * pointer reloaded from a spill register for every vector: ~50 extra
 * instructions a tile, 10% of the time at K = 16. Paired on a Xeon (family
 * 6 model 207), 8x48: T·V-like K = 16, M = 128-512, 1.09-1.10x; K = 32,
 * 1.06x; the BERT shapes 1.00-1.06x; fused rank-r at r = 16-32 1.00-1.05x. */
GK_SIMD_INLINE void store_full(const size_t m, const size_t NV, gk_vf acc[][MAX_NV], float *c,
                               size_t ldc, const int accumulate, const float *bias) {
  gk_vf bv[MAX_NV];
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; v++) bv[v] = bias ? vf_loadu(bias + v * L) : vf_zero();
#pragma GCC unroll 28
  for (size_t i = 0; i < m; i++, c += ldc)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      gk_vf x = acc[i][v];
      if (accumulate) x = vf_add(x, vf_loadu(c + v * L));
      if (bias) x = vf_add(x, bv[v]);
      vf_storeu(c + v * L, x);
    }
}

/* C[0..m)[0..n) (+)= A·B over kc; A: packed panel (lda = 0: element
 * (i, k) at a[k·MR + i]) or rows of A read in place (a[i·lda + k]),
 * B: NV vectors per k at stride ldb. m, MR, NV are compile-time constants
 * in every instantiation, so acc[][] lives in registers. */
GK_SIMD_INLINE void ukr_body(const size_t m, const size_t MR, const size_t NV, size_t kc,
                             const float *__restrict a, const size_t lda,
                             const float *__restrict b, size_t ldb,
                             float *__restrict c, size_t ldc, size_t n, const epi *e) {
  gk_vf acc[MAX_MR][MAX_NV];
  /* Every line of the tile's C rows is fetched for writing now, while the
   * k loop runs: its stores would otherwise wait on their lines at the
   * end (from L3 or memory when C outgrows L2, on every K block). The
   * first and last element alone had left the middle line of 48- and
   * 64-float rows out. Fetching it too, paired on the BERT shapes: a bare
   * 8x48 loop over packed blocks 1-9% faster (most where C is largest,
   * M = 2048, N = 3072); the whole GEMM 0.99-1.04x on packed weights,
   * 0.98-1.03x (noise) on raw ones.
   * Not for short K (see SHORT_K): those tiles write C row by row, and
   * their k loop is too short to hide the fetch. */
  if (kc > SHORT_K)
#pragma GCC unroll 28
    for (size_t i = 0; i < m; i++) {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) __builtin_prefetch(c + i * ldc + v * L, 1);
      __builtin_prefetch(c + i * ldc + NV * L - 1, 1); /* rows off the lines */
    }
#pragma GCC unroll 28
  for (size_t i = 0; i < m; i++)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) acc[i][v] = vf_zero();
  if (e->pf)
    k_steps(m, MR, NV, kc, a, lda, b, ldb, acc, 1, e->pf, e->pf_stride);
  else
    k_steps(m, MR, NV, kc, a, lda, b, ldb, acc, 0, NULL, 0);
  const int accumulate = e->accumulate;
  const float *bias = e->last ? e->bias : NULL;
  if (n == NV * L) {
    if (accumulate) {
      if (bias) store_full(m, NV, acc, c, ldc, 1, bias);
      else store_full(m, NV, acc, c, ldc, 1, NULL);
    } else {
      if (bias) store_full(m, NV, acc, c, ldc, 0, bias);
      else store_full(m, NV, acc, c, ldc, 0, NULL);
    }
  } else {
#pragma GCC unroll 28
    for (size_t i = 0; i < m; i++)
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) {
        if (v * L >= n) break;
        size_t w = n - v * L < L ? n - v * L : L;
        store_vec(c + i * ldc + v * L, acc[i][v], w, accumulate, bias ? bias + v * L : NULL);
      }
  }
}

/* Full MR x NV·L tiles of one row tile across np panels, for the
 * macro-kernel's rows-outer order: one call instead of one per tile, so a
 * short k loop (rank-r's T·V at small r) does not also pay, per tile, the
 * call, the dispatch on m and n and the set-up of the row pointers. The
 * tiles skip the next-panel prefetch (pf), as rows-outer tiles do. Paired
 * against a call per tile on a Zen 3 EPYC (AVX2, 6x16): a K = 16 GEMM,
 * M = 128-512, N = 768, 1.36-1.39x (K = 32 1.23x); rank-r K = N = 768,
 * r = 16, M = 32-2048, 1.03-1.12x, r = 32 1.02x, r >= 64 even. */
GK_SIMD_INLINE void row_body(const size_t MR, const size_t NV, size_t np, size_t kc,
                             const float *a, const size_t lda, const float *b, size_t pstride,
                             size_t ldb, float *c, size_t ldc, const epi *e0) {
  for (size_t q = 0; q < np; q++) {
    epi e = {e0->bias ? e0->bias + q * NV * L : NULL, e0->accumulate, e0->last, NULL, 0};
    ukr_body(MR, MR, NV, kc, a, lda, b + q * pstride, ldb, c + q * NV * L, ldc, NV * L, &e);
  }
}

/* A tile shape's micro-kernel: one instantiation per row count m <= MR,
 * and for full-height tiles per count of column vectors below NR/L, so
 * that the last panel along N does not compute on padding either (N = 64
 * on a 48-wide tile would run its 16-column panel as 48 columns: 0.6x
 * oneDNN's speed instead of 0.8x). Only the corner tile, short in both,
 * computes on padding: one tile per GEMM, against doubling the engine's
 * build time (the sanitizer build's longest step). A branch for a vector
 * count the tile lacks is dead but still compiled: (NV_ > 2 ? 2 : 1)
 * gives it a count the tile has, so it adds no instantiation. */
#define UKR_CALL(mm, MR_, NV_)                                                       \
  if (lda) ukr_body(mm, MR_, NV_, kc, a, lda, b, ldb, c, ldc, n, e);                 \
  else ukr_body(mm, MR_, NV_, kc, a, 0, b, ldb, c, ldc, n, e);
#define UKR_CASE(mm, MR_, NV_)                                                       \
  case mm:                                                                           \
    if (mm < MR_) {                                                                  \
      UKR_CALL((mm < MR_ ? mm : 1), MR_, NV_)                                        \
    } else if (mm == MR_) {                                                          \
      const size_t nv = (n + L - 1) / L;                                             \
      if (nv >= NV_) { UKR_CALL(MR_, MR_, NV_) }                                     \
      else if (nv == 1) { UKR_CALL(MR_, MR_, 1) }                                    \
      else if (NV_ > 2 && nv == 2) { UKR_CALL(MR_, MR_, (NV_ > 2 ? 2 : 1)) }         \
      else if (NV_ > 3 && nv == 3) { UKR_CALL(MR_, MR_, (NV_ > 3 ? 3 : 1)) }         \
    }                                                                                \
    break;
#define DEFINE_UKR(MR_, NR_)                                                                   \
  static void ukr_##MR_##x##NR_(size_t m, size_t kc, const float *a, size_t lda,              \
                                const float *b, size_t ldb, float *c, size_t ldc, size_t n,    \
                                const epi *e) {                                                \
    switch (m) {                                                                               \
      UKR_CASE(1, MR_, NR_ / L) UKR_CASE(2, MR_, NR_ / L) UKR_CASE(3, MR_, NR_ / L) UKR_CASE(4, MR_, NR_ / L)  \
      UKR_CASE(5, MR_, NR_ / L) UKR_CASE(6, MR_, NR_ / L) UKR_CASE(7, MR_, NR_ / L) UKR_CASE(8, MR_, NR_ / L)  \
      UKR_CASE(9, MR_, NR_ / L) UKR_CASE(10, MR_, NR_ / L) UKR_CASE(11, MR_, NR_ / L)                      \
      UKR_CASE(12, MR_, NR_ / L) UKR_CASE(13, MR_, NR_ / L) UKR_CASE(14, MR_, NR_ / L)                     \
      UKR_CASE(15, MR_, NR_ / L) UKR_CASE(16, MR_, NR_ / L) UKR_CASE(17, MR_, NR_ / L)                     \
      UKR_CASE(18, MR_, NR_ / L) UKR_CASE(19, MR_, NR_ / L) UKR_CASE(20, MR_, NR_ / L)                     \
      UKR_CASE(21, MR_, NR_ / L) UKR_CASE(22, MR_, NR_ / L) UKR_CASE(23, MR_, NR_ / L)                     \
      UKR_CASE(24, MR_, NR_ / L) UKR_CASE(25, MR_, NR_ / L) UKR_CASE(26, MR_, NR_ / L)                     \
      UKR_CASE(27, MR_, NR_ / L) UKR_CASE(28, MR_, NR_ / L)                                            \
      default: break;                                                                          \
    }                                                                                          \
  }                                                                                            \
  static void row_##MR_##x##NR_(size_t np, size_t kc, const float *a, size_t lda,             \
                                const float *b, size_t pstride, size_t ldb, float *c,          \
                                size_t ldc, const epi *e) {                                    \
    if (lda) row_body(MR_, NR_ / L, np, kc, a, lda, b, pstride, ldb, c, ldc, e);               \
    else row_body(MR_, NR_ / L, np, kc, a, 0, b, pstride, ldb, c, ldc, e);                     \
  }

#endif

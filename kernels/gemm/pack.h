/* Packing for the GEMM engine: blocks of A into row-tile panels, blocks
 * of B (K x N or N x K weights) into column panels. Included by
 * gemm_engine.c, once per ISA. */
#ifndef GK_GEMM_PACK_H
#define GK_GEMM_PACK_H
#include "../transpose.h"
#include "ukernel.h"

/* The rows of a block's row tiles: MR each, but a last tile too short to
 * hide the FMA latency (under MIN_CHAINS accumulators, m x nr / L) and
 * the one before it share their rows evenly. Two FMA pipes of 4 cycles'
 * latency (Zen 3, Skylake and later, Neoverse) take 8 chains: with 6x16
 * on AVX2 a tile of 2 rows (4 chains) takes as long as one of 4, so M =
 * 32 = 5 x 6 + 2 ran as 34 rows; 4 x 6 + 2 x 4 runs as 32. Paired on a
 * Zen 3 EPYC, 1 thread, against MR-row tiles: M = 14, 20 and 32 0.94-0.98x
 * the time, M = 128 0.98-0.99x, M = 512-2048 and M = 64 (no short tile)
 * even; rank-r (K = N = 768, r = 16-256) 0.97-1.0x. */
#define MIN_CHAINS 8
typedef struct row_tiles {
  size_t n;    /* tiles */
  size_t pen;  /* rows of tile n - 2 (MR unless balanced) */
} row_tiles;

static row_tiles row_tiles_of(size_t mc, size_t MR, size_t NR) {
  row_tiles rt = {(mc + MR - 1) / MR, MR};
  const size_t tail = mc % MR;
  if (rt.n > 1 && tail && tail * (NR / L) < MIN_CHAINS)
    rt.pen = (MR + tail + 1) / 2;
  return rt;
}

/* First row and rows of tile p. */
static size_t tile_row(const row_tiles *rt, size_t p, size_t MR, size_t mc, size_t *m) {
  const size_t ir = p + 1 == rt->n && p ? (p - 1) * MR + rt->pen : p * MR;
  *m = p + 2 == rt->n ? rt->pen : (mc - ir < MR ? mc - ir : MR);
  return ir;
}

/* A block (mc x kc at X, row stride ldx) into one panel per row tile,
 * each kc x MR (element (i, k) of a panel at k·MR + i). Rows past a
 * tile's rows in its panel are never read (m-specialised kernels). */
static void pack_a(const float *__restrict X, size_t ldx, size_t mc, size_t kc, size_t MR,
                   const row_tiles *rt, float *__restrict dst) {
  for (size_t p = 0; p < rt->n; p++, dst += kc * MR) {
    size_t m;
    const size_t ir = tile_row(rt, p, MR, mc, &m);
    gk_transpose_rows_(X + ir * ldx, ldx, m, m, kc, MR, 1.0f, dst);
  }
}

/* R rows of KN weights (from src, stride ldw) into rows k.. of every
 * panel: per panel, R consecutive lines. Masked past nc, zero to NR. */
GK_SIMD_INLINE void pack_b_kn_step(const size_t R, const float *__restrict src, size_t ldw,
                                   size_t full, size_t w, size_t NR, float *__restrict d,
                                   size_t pstride) {
  size_t j = 0;
  for (; j < full; j += NR, d += pstride)
#pragma GCC unroll 4
    for (size_t r = 0; r < R; r++)
      for (size_t v = 0; v < NR; v += L) vf_store(d + r * NR + v, vf_loadu(src + r * ldw + j + v));
  if (w)
    for (size_t r = 0; r < R; r++) {
      const float *s = src + r * ldw + j;
      float *o = d + r * NR;
      size_t v = 0;
      for (; v + L <= w; v += L) vf_store(o + v, vf_loadu(s + v));
      if (v < w) vf_store(o + v, vf_loadu_n(s + v, w - v)), v += L;
      for (; v < NR; v += L) vf_store(o + v, vf_zero());
    }
}

/* KN weights four rows at a time: the rows are read in order, four
 * streams the hardware prefetchers follow, and each panel receives four
 * consecutive lines per visit. Reading panel by panel instead walks kc
 * rows at a stride of ldw floats, which prefetchers do not follow; one
 * row at a time (one line per panel per visit, nc / NR panels apart)
 * packed 768 x 3072 at about 7 GB/s on a Zen 3 EPYC, 37% of a GEMM at
 * M = 32 there. Four rows, against one, paired, the whole GEMM: M = 32
 * 0.95-0.96x the time, M = 48-128 0.97-0.99x (N = 3072, K = 768), M >= 256
 * and N = 768 even (0.99-1.01x); two rows 1.02-1.05x, eight 0.98x. */
static void pack_b_kn_rows(const float *__restrict src, size_t ldw, size_t kc, size_t nc,
                           size_t NR, float *__restrict dst, size_t pstride) {
  const size_t full = nc / NR * NR, w = nc - full;
  size_t k = 0;
  for (; k + 4 <= kc; k += 4)
    pack_b_kn_step(4, src + k * ldw, ldw, full, w, NR, dst + k * NR, pstride);
  for (; k < kc; k++) pack_b_kn_step(1, src + k * ldw, ldw, full, w, NR, dst + k * NR, pstride);
}

/* B rows k0..k0+kc, columns j0..j0+nc of W (layout as gk_gemm_args) into
 * panels of NR columns, panel q at dst + q·pstride, element (k, j) of a
 * panel at k·NR + j, columns past nc zero. */
static void pack_b(const float *__restrict W, size_t ldw, gk_weight_layout layout, size_t k0,
                   size_t kc, size_t j0, size_t nc, size_t NR, float *__restrict dst,
                   size_t pstride) {
  if (layout == GK_WEIGHT_KN) {
    pack_b_kn_rows(W + k0 * ldw + j0, ldw, kc, nc, NR, dst, pstride);
    return;
  }
  /* NK: a panel of NR rows of W transposed to k-major order, as A's rows
   * are packed, with the columns past nc zeroed */
  for (size_t jr = 0; jr < nc; jr += NR, dst += pstride) {
    size_t w = nc - jr < NR ? nc - jr : NR;
    gk_transpose_rows_(W + (j0 + jr) * ldw + k0, ldw, w, NR, kc, NR, 1.0f, dst);
  }
}

/* Whole-matrix packing for plans and per-call factor packing. */
static void pack_full(const float *W, size_t ldw, gk_weight_layout layout, size_t K, size_t N,
                      size_t NR, float *dst) {
  pack_b(W, ldw, layout, 0, K, 0, N, NR, dst, K * NR);
}

#endif

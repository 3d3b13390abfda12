/* Rows of a row-major matrix into k-major panels: the GEMM's A (and NK
 * weight) packing and attention's transposed query block are the same
 * move. ISA-templated: include after simd.h. */
#ifndef GK_TRANSPOSE_H
#define GK_TRANSPOSE_H

#include <stddef.h>

#if defined(GK_TARGET_AVX512)
/* In-register 16x16 transpose: at step h, rows i and i+h (bit h of i
 * clear) swap their off-diagonal h x h blocks; h = 8, 4, 2, 1. Index
 * tables: lo[l] = l&h ? 16+l-h : l, hi[l] = l&h ? 16+l : l+h. */
GK_SIMD_INLINE void gk_transpose16_(__m512 r[16]) {
  static const int32_t idx[4][2][16] __attribute__((aligned(64))) = {
      {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
       {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}},
      {{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
       {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}},
      {{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
       {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}},
      {{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
       {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}}};
#pragma GCC unroll 4
  for (int s = 0; s < 4; s++) {
    const int h = 8 >> s;
    __m512i ilo = _mm512_load_si512(idx[s][0]), ihi = _mm512_load_si512(idx[s][1]);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
      if (i & h) continue;
      __m512 a = r[i], b = r[i + h];
      r[i] = _mm512_permutex2var_ps(a, ilo, b);
      r[i + h] = _mm512_permutex2var_ps(a, ihi, b);
    }
  }
}
#endif

#if defined(GK_TARGET_AVX2)
/* In-register 8x8 transpose: pairs of rows interleaved (unpack), then
 * pairs of pairs (shuffle), then the 128-bit halves exchanged. */
GK_SIMD_INLINE void gk_transpose8_(__m256 r[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);     /* a0 b0 a1 b1 | a4 b4 a5 b5 */
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]); /* a2 b2 a3 b3 | a6 b6 a7 b7 */
  }
#pragma GCC unroll 2
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));     /* k 0 | 4 */
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2)); /* k 1 | 5 */
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0)); /* 2 | 6 */
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2)); /* 3 | 7 */
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; k++) {
    r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
    r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
  }
}
#endif

/* dst[k·ldd + i] = scale · x[i·ldx + k] for i < m, k < kc, and 0 for
 * m <= i < m_out (a panel's padding that its reader needs zeroed; m_out =
 * m writes no padding, so a panel of ldd > m_out rows may end the buffer).
 * AVX-512 and AVX2: a vector's width of rows by as many k at a time
 * through registers, whole vectors in and out (masked only at the edges);
 * the scalar form costs about 2 cycles per element in strided stores
 * (raw NK weights packed per call at M = 128, 768 x 768: 19% of the
 * GEMM's time on a Zen 3 EPYC), and a gather per column (attention's
 * queries, before) about a load per element. */
GK_SIMD_INLINE void gk_transpose_rows_(const float *__restrict x, size_t ldx, size_t m,
                                       size_t m_out, size_t kc, size_t ldd, float scale,
                                       float *__restrict dst) {
#if defined(GK_TARGET_AVX512) || defined(GK_TARGET_AVX2)
  enum { V = GK_VF_LANES };
  const gk_vf sv = vf_set1(scale);
  for (size_t g = 0; g < m_out; g += V) {
    const size_t rows = m > g ? (m - g < V ? m - g : V) : 0;
    const size_t sw = m_out - g < V ? m_out - g : V;
    for (size_t k = 0; k < kc; k += V) {
      const size_t w = kc - k < V ? kc - k : V;
      gk_vf r[V];
#pragma GCC unroll 16
      for (size_t i = 0; i < V; i++) {
        r[i] = vf_zero();
        if (i < rows) { /* no pointer formed past the rows */
          const float *p = x + (g + i) * ldx + k;
          r[i] = w == V ? vf_loadu(p) : vf_loadu_n(p, w);
        }
      }
#if defined(GK_TARGET_AVX512)
      gk_transpose16_(r);
#else
      gk_transpose8_(r);
#endif
#pragma GCC unroll 16
      for (size_t kk = 0; kk < w; kk++) {
        float *p = dst + (k + kk) * ldd + g;
        if (sw == V) vf_storeu(p, vf_mul(r[kk], sv));
        else vf_storeu_n(p, vf_mul(r[kk], sv), sw);
      }
    }
  }
#else
  for (size_t k = 0; k < kc; k++) {
    for (size_t i = 0; i < m; i++) dst[k * ldd + i] = scale * x[i * ldx + k];
    for (size_t i = m; i < m_out; i++) dst[k * ldd + i] = 0.0f;
  }
#endif
}

#endif

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

/* dst[k·ldd + i] = scale · x[i·ldx + k] for i < m, k < kc, and 0 for
 * m <= i < m_out (a panel's padding that its reader needs zeroed; m_out =
 * m writes no padding, so a panel of ldd > m_out rows may end the buffer).
 * AVX-512: 16 rows x 16 k at a time through registers, whole vectors in
 * and out; the scalar form costs about 2 cycles per element in strided
 * stores, and a gather per column (attention's queries, before) about a
 * load per element. */
GK_SIMD_INLINE void gk_transpose_rows_(const float *__restrict x, size_t ldx, size_t m,
                                       size_t m_out, size_t kc, size_t ldd, float scale,
                                       float *__restrict dst) {
#if defined(GK_TARGET_AVX512)
  const __m512 sv = _mm512_set1_ps(scale);
  for (size_t g = 0; g < m_out; g += 16) {
    const size_t rows = m > g ? (m - g < 16 ? m - g : 16) : 0;
    const __mmask16 smask = gk_mask_n_(m_out - g < 16 ? m_out - g : 16);
    for (size_t k = 0; k < kc; k += 16) {
      const size_t w = kc - k < 16 ? kc - k : 16;
      const __mmask16 lmask = gk_mask_n_(w);
      __m512 r[16];
#pragma GCC unroll 16
      for (size_t i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(lmask, x + (g + i) * ldx + k) : _mm512_setzero_ps();
      gk_transpose16_(r);
#pragma GCC unroll 16
      for (size_t kk = 0; kk < w; kk++)
        _mm512_mask_storeu_ps(dst + (k + kk) * ldd + g, smask, _mm512_mul_ps(r[kk], sv));
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

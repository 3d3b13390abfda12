/* Products without cache blocks: the GEMV (one row of X, raw or packed
 * weights) and the dot products of raw N x K weights at short M. Included
 * by gemm_engine.c, once per ISA. */
#ifndef GK_GEMM_GEMV_H
#define GK_GEMM_GEMV_H
#include "ukernel.h"

/* y[0..N) (+)= x[0..R)·B[0..R) for R rows of raw KN weights at b (row
 * stride ldb), each row read whole and in order, into y (N floats, which
 * stay in L1); first: y is written, not added to. Two chains per vector
 * (rows 0, 2 and 1, 3) halve the FMA latency on each. Masked past N. */
GK_SIMD_INLINE void gemv_kn_rows(const size_t R, const int first, size_t N,
                                 const float *__restrict x, const float *__restrict b,
                                 size_t ldb, float *__restrict y) {
  gk_vf xs[4];
#pragma GCC unroll 4
  for (size_t r = 0; r < R; r++) xs[r] = vf_set1(x[r]);
  size_t j = 0;
  for (; j + L <= N; j += L) {
    gk_vf a = first ? vf_zero() : vf_loadu(y + j), c = vf_zero();
#pragma GCC unroll 4
    for (size_t r = 0; r < R; r++) {
      if (r % 2) c = vf_fma(xs[r], vf_loadu(b + r * ldb + j), c);
      else a = vf_fma(xs[r], vf_loadu(b + r * ldb + j), a);
    }
    vf_storeu(y + j, R > 1 ? vf_add(a, c) : a);
  }
  if (j < N) {
    const size_t w = N - j;
    gk_vf a = first ? vf_zero() : vf_loadu_n(y + j, w);
#pragma GCC unroll 4
    for (size_t r = 0; r < R; r++) a = vf_fma(xs[r], vf_loadu_n(b + r * ldb + j, w), a);
    vf_storeu_n(y + j, a, w);
  }
}

/* y = x·B for raw KN weights (K x N, row stride ldb): four rows of B at a
 * time, each streamed whole, added into y. Walking column strips down all
 * K rows instead, with y in registers, reads B at a stride of ldb floats,
 * which the prefetchers follow poorly: on a Zen 3 EPYC (1 thread, weights
 * in L3) that ran at 9.8 GFLOP/s (N = 3072, K = 768) and 12.3 (N = 768,
 * K = 3072) where this runs at 25.6 and 25.7, and oneDNN at 24.8 and 24.2
 * (N = K = 768: 25.4 -> 28.4, oneDNN 26.0). Eight rows a time ran the
 * same. */
static void gemv_kn(size_t K, size_t N, const float *x, const float *b, size_t ldb, float *y) {
  size_t k = K >= 4 ? 4 : 1;
  if (K >= 4) gemv_kn_rows(4, 1, N, x, b, ldb, y);
  else gemv_kn_rows(1, 1, N, x, b, ldb, y);
  for (; k + 4 <= K; k += 4) gemv_kn_rows(4, 0, N, x + k, b + k * ldb, ldb, y);
  for (; k < K; k++) gemv_kn_rows(1, 0, N, x + k, b + k * ldb, ldb, y);
}

/* y = x·B on packed panels (zero-padded, full loads), one panel at a
 * time with four K chains per vector to hide FMA latency. (Several panels
 * at once would be K·nr·4 bytes apart, a multiple of 4 KiB for usual K:
 * every stream in the same L1 set.) */
GK_SIMD_INLINE void gemv_panel_body(const size_t NV, size_t K, const float *__restrict x,
                                    const float *__restrict b, size_t n,
                                    float *__restrict y) {
  gk_vf acc[4][MAX_NV];
#pragma GCC unroll 4
  for (size_t u = 0; u < 4; u++)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) acc[u][v] = vf_zero();
  size_t k = 0;
  for (; k + 4 <= K; k += 4)
#pragma GCC unroll 4
    for (size_t u = 0; u < 4; u++) {
      gk_vf xk = vf_set1(x[k + u]);
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++)
        acc[u][v] = vf_fma(xk, vf_load(b + (k + u) * NV * L + v * L), acc[u][v]);
    }
  for (; k < K; k++) {
    gk_vf xk = vf_set1(x[k]);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++)
      acc[0][v] = vf_fma(xk, vf_load(b + k * NV * L + v * L), acc[0][v]);
  }
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; v++) {
    gk_vf s = vf_add(vf_add(acc[0][v], acc[1][v]), vf_add(acc[2][v], acc[3][v]));
    size_t j = v * L;
    if (j + L <= n) vf_storeu(y + j, s);
    else if (j < n) vf_storeu_n(y + j, s, n - j);
  }
}

static void gemv_packed(size_t NR, size_t K, const float *x, const float *b, size_t N,
                        float *y) {
  for (size_t j = 0; j < N; j += NR, b += K * NR) {
    switch (NR / L) {
      case 1: gemv_panel_body(1, K, x, b, N - j, y + j); break;
      case 2: gemv_panel_body(2, K, x, b, N - j, y + j); break;
      case 3: gemv_panel_body(3, K, x, b, N - j, y + j); break;
      default: gemv_panel_body(4, K, x, b, N - j, y + j); break;
    }
  }
}

/* Y[i][r] = X[i, :]·W[r, :] for MX rows of X and NW rows of NK weights
 * (both rows of K contiguous floats): MX·NW dot products whose vector
 * accumulators are reduced at the end. */
GK_SIMD_INLINE void dots_body(const size_t MX, const size_t NW, size_t K,
                              const float *__restrict x, size_t ldx, const float *__restrict w,
                              size_t ldw, float *__restrict y, size_t ldy) {
  gk_vf s[2][4];
#pragma GCC unroll 2
  for (size_t i = 0; i < MX; i++)
#pragma GCC unroll 4
    for (size_t r = 0; r < NW; r++) s[i][r] = vf_zero();
  size_t k = 0;
  for (; k + L <= K; k += L) {
    gk_vf xv[2];
#pragma GCC unroll 2
    for (size_t i = 0; i < MX; i++) xv[i] = vf_loadu(x + i * ldx + k);
#pragma GCC unroll 4
    for (size_t r = 0; r < NW; r++) {
      gk_vf wv = vf_loadu(w + r * ldw + k);
#pragma GCC unroll 2
      for (size_t i = 0; i < MX; i++) s[i][r] = vf_fma(xv[i], wv, s[i][r]);
    }
  }
  if (k < K) {
    gk_vf xv[2];
#pragma GCC unroll 2
    for (size_t i = 0; i < MX; i++) xv[i] = vf_loadu_n(x + i * ldx + k, K - k);
#pragma GCC unroll 4
    for (size_t r = 0; r < NW; r++) {
      gk_vf wv = vf_loadu_n(w + r * ldw + k, K - k);
#pragma GCC unroll 2
      for (size_t i = 0; i < MX; i++) s[i][r] = vf_fma(xv[i], wv, s[i][r]);
    }
  }
#pragma GCC unroll 2
  for (size_t i = 0; i < MX; i++)
#pragma GCC unroll 4
    for (size_t r = 0; r < NW; r++) y[i * ldy + r] = vf_reduce_add(s[i][r]);
}

/* dots_body over all M rows of X (in pairs) for NW rows of W. */
GK_SIMD_INLINE void dots_rows(const size_t NW, size_t M, size_t K, const float *x, size_t ldx,
                              const float *w, size_t ldw, float *y, size_t ldy) {
  size_t i = 0;
  for (; i + 2 <= M; i += 2) dots_body(2, NW, K, x + i * ldx, ldx, w, ldw, y + i * ldy, ldy);
  if (i < M) dots_body(1, NW, K, x + i * ldx, ldx, w, ldw, y + i * ldy, ldy);
}

/* Y (M x N) = X·Wᵀ for raw NK weights at short M, without packing: the
 * rows of X and of W are both contiguous, so two rows of X and four of W
 * at a time make eight dot products (six loads per eight FMAs). Each four
 * rows of W stay in L1 while every pair of rows of X (from L2) passes
 * over them, so W is read from memory once (against L2-sized blocks of W
 * that each pair walked, paired: M = 4 1.09x, M = 16 1.03-1.05x, M = 1
 * even). Up to NK_DOTS_MAX_M rows this beats transposing W into panels
 * per call: on a Zen 3 EPYC (AVX2, 1 thread, weights 768 or 3072 wide
 * and long), paired, M = 8-16 0.58-0.81x the time, M = 24-32 0.89-0.99x,
 * M = 48 0.98-1.04x. The swapped product (see nk_swapped) takes the
 * shapes of this range it runs faster. */
#define NK_DOTS_MAX_M 32
static void gemm_nk_dots(size_t M, size_t N, size_t K, const float *X, size_t ldx,
                         const float *W, size_t ldw, float *Y, size_t ldy) {
  size_t j = 0;
  for (; j + 4 <= N; j += 4) dots_rows(4, M, K, X, ldx, W + j * ldw, ldw, Y + j, ldy);
  for (; j < N; j++) dots_rows(1, M, K, X, ldx, W + j * ldw, ldw, Y + j, ldy);
}

#endif

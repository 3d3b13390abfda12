/* Kernelized hash of one head (ISA-templated; see hash.c and greenkern.h
 * for the mathematics). The two products (x·anchorsᵀ and phi·Aᵀ) run on the
 * GEMM engine; this file holds the row passes around them: normalisation,
 * distances and their mean, the RBF features (SLEEF exp) and the sign
 * packing. Row tails take a scalar loop: rows are short (d, m <= 256). */
#include <math.h>

#include "../simd.h"
#include "../gemm/gemm.h"
#include "hamming.h"

#define L GK_VF_LANES
#define PAD16(n) (((n) + 15) & ~(size_t)15)

static float sumsq(const float *x, size_t n) {
  gk_vf acc = vf_zero();
  size_t j = 0;
  for (; j + L <= n; j += L) acc = vf_fma(vf_loadu(x + j), vf_loadu(x + j), acc);
  float s = vf_reduce_add(acc);
  for (; j < n; j++) s += x[j] * x[j];
  return s;
}

/* r = x / s: the reference divides by the norm. */
static void div_row(const float *x, float s, float *r, size_t n) {
  size_t j = 0;
  for (; j + L <= n; j += L) vf_storeu(r + j, vf_div(vf_loadu(x + j), vf_set1(s)));
  for (; j < n; j++) r[j] = x[j] / s;
}

/* D = max(0, ||x||^2 + ||a_j||^2 - 2 x.a_j) in place over the row of x.a;
 * returns the row's sum. */
static float dist_row(float *D, float xsq, const float *asq, size_t m) {
  gk_vf acc = vf_zero(), xs = vf_set1(xsq);
  size_t j = 0;
  for (; j + L <= m; j += L) {
    gk_vf g = vf_loadu(D + j);
    gk_vf t = vf_max(vf_zero(), vf_sub(vf_add(xs, vf_loadu(asq + j)), vf_add(g, g)));
    vf_storeu(D + j, t);
    acc = vf_add(acc, t);
  }
  float s = vf_reduce_add(acc);
  for (; j < m; j++) {
    float t = xsq + asq[j] - (D[j] + D[j]);
    D[j] = t > 0 ? t : 0;
    s += D[j];
  }
  return s;
}

/* phi = exp(D / (-2 sigma)) - mu, in place. */
static void phi_row(float *D, float neg2sigma, const float *mu, size_t m) {
  gk_vf den = vf_set1(neg2sigma);
  size_t j = 0;
  for (; j + L <= m; j += L) {
    gk_vf e = vf_exp(vf_div(vf_loadu(D + j), den));
    vf_storeu(D + j, mu ? vf_sub(e, vf_loadu(mu + j)) : e);
  }
  if (j < m) {
    gk_vf e = vf_exp(vf_div(vf_loadu_n(D + j, m - j), den));
    vf_storeu_n(D + j, mu ? vf_sub(e, vf_loadu_n(mu + j, m - j)) : e, m - j);
  }
}

/* Bit l = [y_l >= 0] into bit l%64 of word l/64; unused bits 0. */
static void pack_signs(const float *y, size_t b, uint64_t *code) {
  size_t words = GK_CODE_WORDS(b);
  for (size_t w = 0; w < words; w++) {
    size_t l0 = w * 64, nl = b - l0 < 64 ? b - l0 : 64;
    uint64_t bits = 0;
#if defined(GK_TARGET_AVX512)
    size_t l = 0;
    for (; l + 16 <= nl; l += 16)
      bits |= (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(y + l0 + l), _mm512_setzero_ps(),
                                           _CMP_GE_OQ) << l;
    for (; l < nl; l++) bits |= (uint64_t)(y[l0 + l] >= 0) << l;
#else
    for (size_t l = 0; l < nl; l++) bits |= (uint64_t)(y[l0 + l] >= 0) << l;
#endif
    code[w] = bits;
  }
}

static gk_status hash_head(const gk_hash_args *a, size_t h, float *work) {
  const gk_hash_params *p = &a->p;
  size_t n = a->n, d = p->head_dim, m = p->m, b = p->b;
  const float *anc = p->anchors + h * m * d, *A = p->A + h * b * m;
  const float *mu = p->mu ? p->mu + h * m : NULL;
  float *xn = work, *xsq = xn + PAD16(n * d), *D = xsq + PAD16(n), *asq = D + PAD16(n * m);
  float *Y = asq + PAD16(m);
  const gk_variant *gemm = gk_dispatch(GK_OP_GEMM);

  for (size_t i = 0; i < n; i++) {
    const float *x = a->x + i * a->ldx + h * a->xhs;
    float *r = xn + i * d, s = sumsq(x, d);
    if (p->normalize && s > 0) { /* an all-zero row stays zero */
      div_row(x, sqrtf(s), r, d);
      s = sumsq(r, d);
    } else {
      memcpy(r, x, d * sizeof(float));
    }
    xsq[i] = s;
  }
  for (size_t j = 0; j < m; j++) asq[j] = sumsq(anc + j * d, d);

  gk_gemm_args xa = {n, m, d, xn, d, anc, d, GK_WEIGHT_NK, NULL, GK_ACT_NONE, D, m, 0};
  gk_status st = gk_gemm_run(gemm, &xa);
  if (st) return st;
  double total = 0;
  for (size_t i = 0; i < n; i++) total += dist_row(D + i * m, xsq[i], asq, m);
  double sigma = p->sigma ? p->sigma[h] : total / ((double)n * (double)m);
  if (!(sigma > 0)) sigma = 1; /* every D is 0: phi does not depend on sigma */

  for (size_t r0 = 0; r0 < n; r0 += GK_HASH_ROW_BLOCK) {
    size_t rn = n - r0 < GK_HASH_ROW_BLOCK ? n - r0 : GK_HASH_ROW_BLOCK;
    for (size_t i = r0; i < r0 + rn; i++) phi_row(D + i * m, (float)(-2 * sigma), mu, m);
    gk_gemm_args pa = {rn, b, m, D + r0 * m, m, A, m, GK_WEIGHT_NK, NULL, GK_ACT_NONE, Y, b, 0};
    if ((st = gk_gemm_run(gemm, &pa))) return st;
    for (size_t i = 0; i < rn; i++)
      pack_signs(Y + i * b, b, a->codes + (r0 + i) * a->ldc + h * a->chs);
  }
  return GK_OK;
}

static const gk_hash_impl impl = {hash_head};
static const gk_variant hash_variant = {GK_OP_HASH, "f32_hash_ksh" GK_ISA_SUFFIX, GK_TARGET_ISA,
                                        GK_TARGET_REQUIRES, (int)GK_TARGET_ISA, &impl};

void GK_FN(gk_register_hamming_hash)(gk_registry *r) { gk_registry_add(r, &hash_variant); }

/* Kernelized hash, the two passes over a block of one head's rows
 * (ISA-templated; see hash.c and greenkern.h for the mathematics). The two
 * products (x·anchorsᵀ and phi·Aᵀ) run on the GEMM engine; this file holds
 * the row work around them: normalisation, distances, the RBF features
 * (SLEEF exp) and the sign packing. Row tails take a scalar loop: rows are
 * short (d, m <= 256). */
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

/* Rows ahead whose lines are fetched while one is normalised: a head's
 * slice of a token-major row (ldx = heads·d) is a few lines at a stride of
 * kilobytes, which the hardware prefetchers do not follow. */
#define PF_ROWS 4

/* Pass 1: normalise the rows into work, then D = ||x||^2 + ||a||^2 - 2 x.a
 * through the GEMM engine (one thread: the driver threads the items). */
static gk_status hash_distances(const gk_hash_args *a, size_t h, size_t r0, size_t rn, float *D,
                                double *sum, float *work) {
  const gk_hash_params *p = &a->p;
  const size_t d = p->head_dim, m = p->m;
  const float *anc = p->anchors + h * m * d;
  float *xn = work, *xsq = xn + PAD16(GK_HASH_ROWS * d), *asq = xsq + PAD16(GK_HASH_ROWS);
  for (size_t i = 0; i < rn; i++) {
    const float *x = a->x + (r0 + i) * a->ldx + h * a->xhs;
    if (i + PF_ROWS < rn) {
      const float *next = x + PF_ROWS * a->ldx;
      for (size_t c = 0; c < d; c += 16) __builtin_prefetch(next + c);
      __builtin_prefetch(next + d - 1); /* a slice off the lines ends in one more */
    }
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

  gk_gemm_args xa = {rn, m, d, xn, d, anc, d, GK_WEIGHT_NK, NULL, GK_ACT_NONE, D, m, 1};
  gk_status st = gk_gemm_run(gk_dispatch(GK_OP_GEMM), &xa);
  if (st) return st;
  double total = 0;
  for (size_t i = 0; i < rn; i++) total += dist_row(D + i * m, xsq[i], asq, m);
  *sum = total;
  return GK_OK;
}

/* Pass 2: phi = exp(-D / (2 sigma)) - mu in place, Y = phi·Aᵀ into work,
 * and Y's signs into the codes. */
static gk_status hash_codes(const gk_hash_args *a, size_t h, size_t r0, size_t rn, float *D,
                            double sigma, float *work) {
  const gk_hash_params *p = &a->p;
  const size_t m = p->m, b = p->b;
  const float *A = p->A + h * b * m, *mu = p->mu ? p->mu + h * m : NULL;
  for (size_t i = 0; i < rn; i++) phi_row(D + i * m, (float)(-2 * sigma), mu, m);
  gk_gemm_args pa = {rn, b, m, D, m, A, m, GK_WEIGHT_NK, NULL, GK_ACT_NONE, work, b, 1};
  gk_status st = gk_gemm_run(gk_dispatch(GK_OP_GEMM), &pa);
  if (st) return st;
  for (size_t i = 0; i < rn; i++)
    pack_signs(work + i * b, b, a->codes + (r0 + i) * a->ldc + h * a->chs);
  return GK_OK;
}

static const gk_hash_impl impl = {hash_distances, hash_codes};
static const gk_variant hash_variant = {GK_OP_HASH, "f32_hash_ksh" GK_ISA_SUFFIX, GK_TARGET_ISA,
                                        GK_TARGET_REQUIRES, (int)GK_TARGET_ISA, &impl};

void GK_FN(gk_register_hamming_hash)(gk_registry *r) { gk_registry_add(r, &hash_variant); }

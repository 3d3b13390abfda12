/* Kernelized hash, the two passes over a block of one head's rows
 * (ISA-templated; see hash.c and greenkern.h for the mathematics). The two
 * products (x·anchorsᵀ and phi·Aᵀ) run on the GEMM engine; this file holds
 * the row work around them: normalisation, distances, the RBF features
 * (exp2.h) and the sign packing. Row tails take a scalar loop: rows are
 * short (d, m <= 256). */
#include <math.h>

#include "../simd.h"
#include "../exp2.h"
#include "../gemm/gemm.h"
#include "hamming.h"

#define L GK_VF_LANES
#define PAD16(n) (((n) + 15) & ~(size_t)15)

/* ||c·x||^2, and c·x stored into r unless r is NULL (c = 1, r = NULL: the
 * plain sum of squares). Four accumulators: a row is a chain of these sums,
 * a square root and a second sum (its scaled copy), and with one
 * accumulator each sum was d/L dependent FMAs, the pass's longest wait. */
GK_SIMD_INLINE float sumsq_scaled(const float *x, size_t n, float c, float *r) {
  gk_vf acc[4] = {vf_zero(), vf_zero(), vf_zero(), vf_zero()};
  const gk_vf cv = vf_set1(c);
  size_t j = 0;
  for (; j + 4 * L <= n; j += 4 * L)
    for (int u = 0; u < 4; u++) {
      gk_vf v = vf_mul(vf_loadu(x + j + u * L), cv);
      if (r) vf_storeu(r + j + u * L, v);
      acc[u] = vf_fma(v, v, acc[u]);
    }
  for (; j + L <= n; j += L) {
    gk_vf v = vf_mul(vf_loadu(x + j), cv);
    if (r) vf_storeu(r + j, v);
    acc[0] = vf_fma(v, v, acc[0]);
  }
  float s = vf_reduce_add(vf_add(vf_add(acc[0], acc[1]), vf_add(acc[2], acc[3])));
  for (; j < n; j++) {
    float v = x[j] * c;
    if (r) r[j] = v;
    s += v * v;
  }
  return s;
}
static float sumsq(const float *x, size_t n) { return sumsq_scaled(x, n, 1.0f, NULL); }

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

/* phi = exp(-D / (2 sigma)) - mu over rn rows of m, in place, as
 * 2^(D·c), c = -log2(e) / (2 sigma): the inline exp2 of exp2.h (under 1 ulp;
 * c's rounding adds about |D·c| ulp, within the float error the checks
 * allow for D), where a divide and a call of SLEEF's expf per vector were
 * a sixth of the hash. The rows are contiguous, so the exponentials run
 * over the block as one array: whole vectors but one, where row by row each
 * row's tail took a vector of its own (m = 25 on AVX2: 4 a row, against
 * 25/8 here). */
static void phi_rows(float *D, size_t rn, size_t m, double sigma, const float *mu) {
  const gk_vf c = vf_set1((float)(-1.4426950408889634 / (2 * sigma)));
  const size_t total = rn * m;
  size_t j = 0;
  for (; j + L <= total; j += L) vf_storeu(D + j, vf_exp2_(vf_mul(vf_loadu(D + j), c)));
  if (j < total) vf_storeu_n(D + j, vf_exp2_(vf_mul(vf_loadu_n(D + j, total - j), c)), total - j);
  if (!mu) return;
  for (size_t i = 0; i < rn; i++) {
    float *r = D + i * m;
    for (j = 0; j + L <= m; j += L) vf_storeu(r + j, vf_sub(vf_loadu(r + j), vf_loadu(mu + j)));
    for (; j < m; j++) r[j] -= mu[j];
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
    if (i + GK_PF_ROWS < rn) gk_prefetch_slice(x + GK_PF_ROWS * a->ldx, d * sizeof(float), 0);
    float *r = xn + i * d, s = sumsq(x, d);
    /* times 1/||x||: the reference divides, which differs by a rounding (as
     * the float64 check's own product does); a vector divide per L floats
     * had been a fifth of this pass. ||r||^2 is summed from r itself, so
     * that D stays consistent with the rows the GEMM reads. */
    if (p->normalize && s > 0) { /* an all-zero row stays zero */
      s = sumsq_scaled(x, d, 1.0f / sqrtf(s), r);
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
  phi_rows(D, rn, m, sigma, mu);
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

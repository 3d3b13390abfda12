/* ISA-templated GEMM (first, simple form): one output row at a time,
 * vectorised along N (KN layout: axpy of W's rows) or along K (NK layout:
 * dot products). Correct for every shape; the packed, cache-blocked
 * micro-kernel form replaces it for speed. */
#include "../simd.h"
#include "../epilogue.h"
#include "gemm.h"

static void row_kn(const gk_gemm_args *a, size_t i) {
  const float *x = a->X + i * a->ldx;
  float *y = a->Y + i * a->ldy;
  size_t N = a->N, j = 0;
  for (; j + GK_VF_LANES <= N; j += GK_VF_LANES) {
    gk_vf acc = vf_zero();
    for (size_t k = 0; k < a->K; k++)
      acc = vf_fma(vf_set1(x[k]), vf_loadu(a->W + k * a->ldw + j), acc);
    vf_storeu(y + j, acc);
  }
  if (j < N) {
    gk_vf acc = vf_zero();
    for (size_t k = 0; k < a->K; k++)
      acc = vf_fma(vf_set1(x[k]), vf_loadu_n(a->W + k * a->ldw + j, N - j), acc);
    vf_storeu_n(y + j, acc, N - j);
  }
}

static void row_nk(const gk_gemm_args *a, size_t i) {
  const float *x = a->X + i * a->ldx;
  float *y = a->Y + i * a->ldy;
  for (size_t j = 0; j < a->N; j++) {
    const float *w = a->W + j * a->ldw;
    gk_vf acc = vf_zero();
    size_t k = 0;
    for (; k + GK_VF_LANES <= a->K; k += GK_VF_LANES)
      acc = vf_fma(vf_loadu(x + k), vf_loadu(w + k), acc);
    if (k < a->K) acc = vf_fma(vf_loadu_n(x + k, a->K - k), vf_loadu_n(w + k, a->K - k), acc);
    y[j] = vf_reduce_add(acc);
  }
}

static void run(const gk_gemm_args *a) {
  int nt = a->threads ? a->threads
                      : gk_threads_for(GK_OP_GEMM, 2.0 * a->M * a->N * a->K);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (size_t i = 0; i < a->M; i++) {
    if (a->layout == GK_WEIGHT_KN) row_kn(a, i);
    else row_nk(a, i);
    GK_FN(gk_epilogue_row)(a->Y + i * a->ldy, a->bias, a->N, a->act);
  }
}

static const gk_gemm_impl impl = {run};
static const gk_variant variant = {
    GK_OP_GEMM, "f32_gemm_rows" GK_ISA_SUFFIX, GK_TARGET_ISA, GK_TARGET_REQUIRES,
    (int)GK_TARGET_ISA, &impl};

void GK_FN(gk_register_gemm)(gk_registry *r) { gk_registry_add(r, &variant); }

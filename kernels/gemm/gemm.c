#include "gemm.h"

gk_status gk_gemm_check(const gk_gemm_args *a) {
  if (!a->X || !a->W || !a->Y) return GK_ERR_INVALID_ARG;
  if (a->layout != GK_WEIGHT_KN && a->layout != GK_WEIGHT_NK) return GK_ERR_INVALID_ARG;
  if ((unsigned)a->act > GK_ACT_GELU) return GK_ERR_INVALID_ARG;
  gk_status s;
  if ((s = gk_check_matrix(a->X, a->M, a->K, a->ldx))) return s;
  if (a->layout == GK_WEIGHT_KN) s = gk_check_matrix(a->W, a->K, a->N, a->ldw);
  else s = gk_check_matrix(a->W, a->N, a->K, a->ldw);
  if (s) return s;
  return gk_check_matrix(a->Y, a->M, a->N, a->ldy);
}

gk_status gk_gemm_run(const gk_variant *v, const gk_gemm_args *a) {
  gk_status s = gk_gemm_check(a);
  if (s) return s;
  ((const gk_gemm_impl *)v->impl)->run(a);
  return GK_OK;
}

GK_API gk_status gk_gemm(size_t M, size_t N, size_t K, const float *X,
                         size_t ldx, const float *W, size_t ldw,
                         gk_weight_layout layout, const float *bias,
                         gk_activation act, float *Y, size_t ldy) {
  gk_gemm_args a = {M, N, K, X, ldx, W, ldw, layout, bias, act, Y, ldy, 0};
  return gk_gemm_run(gk_dispatch(GK_OP_GEMM), &a);
}

/* Truncated-SVD factorisation of a dense layer (greenformer's "svd"
 * solver): W ~= (U_r·S_r)·V_rᵀ, in float64 through LAPACKE's dgesdd. */
#include <math.h>
#include <stdlib.h>

#include "../internal.h"

#ifdef GK_HAVE_LAPACKE
#include <limits.h>
#include <lapacke.h>

static gk_status factorize(size_t K, size_t N, const float *W, size_t ldw,
                           gk_weight_layout layout, size_t r, float *U_out, float *V_out,
                           float *errors_out) {
  if (K > INT_MAX || N > INT_MAX) return GK_ERR_OVERFLOW;
  size_t mn = K < N ? K : N;
  double *a = malloc(K * N * sizeof(double)), *s = malloc(mn * sizeof(double));
  double *u = malloc(K * mn * sizeof(double)), *vt = malloc(mn * N * sizeof(double));
  gk_status st = GK_OK;
  if (!a || !s || !u || !vt) {
    st = GK_ERR_NO_MEMORY;
    goto done;
  }
  for (size_t k = 0; k < K; k++)
    for (size_t j = 0; j < N; j++)
      a[k * N + j] = layout == GK_WEIGHT_KN ? W[k * ldw + j] : W[j * ldw + k];
  lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)K, (lapack_int)N, a,
                                   (lapack_int)N, s, u, (lapack_int)mn, vt, (lapack_int)N);
  if (info != 0) {
    st = info < 0 ? GK_ERR_INTERNAL : GK_ERR_UNSUPPORTED; /* > 0: did not converge */
    goto done;
  }
  for (size_t k = 0; k < K; k++)
    for (size_t q = 0; q < r; q++) U_out[k * r + q] = (float)(u[k * mn + q] * s[q]);
  for (size_t q = 0; q < r; q++)
    for (size_t j = 0; j < N; j++) V_out[q * N + j] = (float)vt[q * N + j];
  if (errors_out) {
    /* ‖W − W_k‖_F² = Σ_{q >= k} s_q²: suffix sums, smallest first */
    double total = 0, tail = 0;
    for (size_t q = 0; q < mn; q++) total += s[q] * s[q];
    for (size_t q = mn; q-- > 0;) {
      if (q < r) errors_out[q] = total > 0 ? (float)sqrt(tail / total) : 0.0f;
      tail += s[q] * s[q];
    }
  }
done:
  free(a), free(s), free(u), free(vt);
  return st;
}
#endif

GK_API gk_status gk_svd_factorize(size_t K, size_t N, const float *W, size_t ldw,
                                  gk_weight_layout layout, size_t r, float *U_out,
                                  float *V_out, float *errors_out) {
  if (!U_out || !V_out) return GK_ERR_INVALID_ARG;
  if (layout != GK_WEIGHT_KN && layout != GK_WEIGHT_NK) return GK_ERR_INVALID_ARG;
  gk_status s = layout == GK_WEIGHT_KN ? gk_check_matrix(W, K, N, ldw)
                                       : gk_check_matrix(W, N, K, ldw);
  if (s) return s;
  if (r == 0 || r > K || r > N) return GK_ERR_INVALID_ARG;
  size_t kn;
  if (!gk_mul_ok(K, N, &kn) || kn > SIZE_MAX / sizeof(double)) return GK_ERR_OVERFLOW;
#ifdef GK_HAVE_LAPACKE
  return factorize(K, N, W, ldw, layout, r, U_out, V_out, errors_out);
#else
  (void)errors_out;
  return GK_ERR_UNSUPPORTED;
#endif
}

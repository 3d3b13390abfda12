/* Float64 reference for one head of softmax attention, with its error
 * bound, shared by the attention and Linformer checkers.
 *
 * Tolerance (absolute, per output element of row i):
 *   4·FLT_EPSILON·(2·(d + r)·smag_i + n_i + r + 4)·vmag_i + 1e-30
 * where n_i is the number of keys row i sees, smag_i the largest
 * Σ_p |scale·q_ip·k_jp| over them (float scores are dot products of
 * length d, off by ~d·eps·smag, and each e^(s_j - m) inherits that error
 * twice: numerator and denominator), vmag_i the largest |v_jc| (the output
 * is a convex combination of V rows summed over n_i terms) and r the length
 * of any reduction that produced K and V in float (Linformer's projection,
 * 0 otherwise; kmag/vmag then carry Σ|E·K| instead of |K|). The softmax
 * itself (max, exp, sum) is computed in double. */
#ifndef CK_ATTENTION_REF_H
#define CK_ATTENTION_REF_H

#include <float.h>
#include <math.h>
#include <stddef.h>

/* q: n_q x d, k/kmag/v/vmag: n_kv x d (row-major, dense, double).
 * Row i sees keys j < vis(i) = min(n_valid, causal ? i + n_kv - n_q + 1 : n_kv). */
static inline void ck_attention_ref(size_t n_q, size_t n_kv, size_t d, double scale, int causal,
                                    size_t n_valid, size_t r, const double *q,
                                    const double *k, const double *kmag, const double *v,
                                    const double *vmag, double *out, double *tol,
                                    double *w /* n_kv scratch */) {
  for (size_t i = 0; i < n_q; i++) {
    ptrdiff_t lim = causal ? (ptrdiff_t)i + (ptrdiff_t)n_kv - (ptrdiff_t)n_q + 1 : (ptrdiff_t)n_kv;
    size_t vis = lim <= 0 ? 0 : (size_t)lim;
    if (vis > n_valid) vis = n_valid;
    if (vis == 0) {
      for (size_t c = 0; c < d; c++) out[i * d + c] = 0, tol[i * d + c] = 1e-30;
      continue;
    }
    double m = -INFINITY, smag = 0, vm = 0, z = 0;
    for (size_t j = 0; j < vis; j++) {
      double s = 0, sm = 0;
      for (size_t p = 0; p < d; p++) {
        s += q[i * d + p] * k[j * d + p];
        sm += fabs(q[i * d + p]) * kmag[j * d + p];
      }
      w[j] = scale * s;
      if (w[j] > m) m = w[j];
      if (fabs(scale) * sm > smag) smag = fabs(scale) * sm;
      for (size_t c = 0; c < d; c++) if (vmag[j * d + c] > vm) vm = vmag[j * d + c];
    }
    for (size_t j = 0; j < vis; j++) z += (w[j] = exp(w[j] - m));
    double t = 4.0 * FLT_EPSILON * (2.0 * (double)(d + r) * smag + (double)(vis + r + 4)) * vm + 1e-30;
    for (size_t c = 0; c < d; c++) {
      double o = 0;
      for (size_t j = 0; j < vis; j++) o += w[j] * v[j * d + c];
      out[i * d + c] = o / z;
      tol[i * d + c] = t;
    }
  }
}

#endif

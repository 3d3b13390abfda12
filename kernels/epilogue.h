/* GEMM epilogue, ISA-templated (include after simd.h): y = act(y + bias)
 * over a row segment. One place for bias/ReLU/GELU so every kernel that
 * ends in an activation rounds it the same way. GELU is the erf form,
 * 0.5·x·(1 + erf(x/√2)), as PyTorch's default nn.GELU. */
#ifndef GK_EPILOGUE_H
#define GK_EPILOGUE_H

GK_SIMD_INLINE gk_vf gk_act_vf(gk_vf x, gk_activation act) {
  switch (act) {
    case GK_ACT_RELU: return vf_max(x, vf_zero());
    case GK_ACT_GELU: {
      gk_vf e = vf_erf(vf_mul(x, vf_set1(0.70710678118654752f)));
      return vf_mul(vf_mul(x, vf_set1(0.5f)), vf_add(e, vf_set1(1.0f)));
    }
    default: return x;
  }
}

/* y[0..n) = act(y + bias), bias may be NULL. */
static inline void GK_FN(gk_epilogue_row)(float *y, const float *bias, size_t n,
                                           gk_activation act) {
  if (!bias && act == GK_ACT_NONE) return;
  size_t j = 0;
  for (; j + GK_VF_LANES <= n; j += GK_VF_LANES) {
    gk_vf v = vf_loadu(y + j);
    if (bias) v = vf_add(v, vf_loadu(bias + j));
    vf_storeu(y + j, gk_act_vf(v, act));
  }
  if (j < n) {
    gk_vf v = vf_loadu_n(y + j, n - j);
    if (bias) v = vf_add(v, vf_loadu_n(bias + j, n - j));
    vf_storeu_n(y + j, gk_act_vf(v, act), n - j);
  }
}

#endif

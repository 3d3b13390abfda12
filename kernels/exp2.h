/* 2^x for x <= 0, inline, for ISA-templated sources (after simd.h):
 * softmax's scores minus their running max, the hash's RBF features.
 *
 *   vf_exp2_(x)         any x <= 0, -inf included (gives 0)
 *   vf_exp2_finite_(x)  finite x <= 0 (AVX-512 skips the clamp)
 */
#ifndef GK_EXP2_H
#define GK_EXP2_H

#include "simd.h"

/* x = n + f, n integer, |f| <= 1/2; 2^f by a degree-6 polynomial fitted
 * for relative error (max 9.7e-8, under 1 ulp: as accurate as SLEEF's
 * expf_u10, which the softmax called before, at about half its instructions
 * and inlined instead of a call per vector; degree 5, 1.9e-7, measured no
 * faster), 2^n put into the exponent. x is clamped below so that -inf
 * (masked keys) gives exactly 0. */
GK_SIMD_INLINE gk_vf exp2_poly_(gk_vf f) {
  gk_vf p = vf_set1(1.5353357594e-4f);
  p = vf_fma(p, f, vf_set1(1.3398877345e-3f));
  p = vf_fma(p, f, vf_set1(9.6184378490e-3f));
  p = vf_fma(p, f, vf_set1(5.5503323674e-2f));
  p = vf_fma(p, f, vf_set1(2.4022647739e-1f));
  p = vf_fma(p, f, vf_set1(6.9314718246e-1f));
  return vf_fma(p, f, vf_set1(1.0f));
}
#if defined(GK_TARGET_AVX512)
/* scalef takes any exponent, so finite x needs no clamp */
GK_SIMD_INLINE gk_vf vf_exp2_finite_(gk_vf x) {
  const gk_vf n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_scalef_ps(exp2_poly_(_mm512_sub_ps(x, n)), n);
}
GK_SIMD_INLINE gk_vf vf_exp2_(gk_vf x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-200.0f)); /* 2^-200 scales to 0 */
  const gk_vf n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_scalef_ps(exp2_poly_(_mm512_sub_ps(x, n)), n);
}
#elif defined(GK_TARGET_AVX2)
GK_SIMD_INLINE gk_vf vf_exp2_(gk_vf x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-127.0f)); /* n = -127: exponent bits 0, 2^n = 0 */
  const gk_vf n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(exp2_poly_(_mm256_sub_ps(x, n)), _mm256_castsi256_ps(e));
}
#elif defined(GK_TARGET_NEON)
GK_SIMD_INLINE gk_vf vf_exp2_(gk_vf x) {
  x = vmaxq_f32(x, vdupq_n_f32(-127.0f)); /* n = -127: exponent bits 0, 2^n = 0 */
  const gk_vf n = vrndnq_f32(x);
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(exp2_poly_(vsubq_f32(x, n)), vreinterpretq_f32_s32(e));
}
#else
GK_SIMD_INLINE gk_vf vf_exp2_(gk_vf x) { return exp2f(x); }
#endif
#if !defined(GK_TARGET_AVX512)
#define vf_exp2_finite_ vf_exp2_ /* the exponent bits need the clamp anyway */
#endif

#endif /* GK_EXP2_H */

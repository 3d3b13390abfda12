/* One vocabulary for ISA-templated kernels.
 *
 * A templated source is compiled once per ISA, each time with that ISA's
 * flags and one of GK_TARGET_SCALAR / _AVX2 / _AVX512 / _NEON defined (see
 * meson.build). Written against this header, one source yields every
 * variant, so kernels that differ only in vector width are never copied.
 * Code that needs an ISA's special instructions (VPOPCNTQ, vpshufb, vcnt)
 * adds them under #if GK_TARGET_* in the same file.
 *
 *   GK_FN(name)        name__<isa>: per-ISA symbol
 *   GK_ISA_SUFFIX      "__<isa>": append to variant names
 *   GK_TARGET_ISA      gk_isa level of this compilation
 *   GK_TARGET_REQUIRES GK_CPU_* bits this compilation's code needs
 *   gk_vf, GK_VF_LANES float vector and its lane count (1 for scalar)
 *   vf_* operations    loads/stores (u = unaligned, _n = first n lanes,
 *                      the rest read as 0 / left untouched), arithmetic,
 *                      reductions, erf (SLEEF, 1.0 ULP; 2^x: exp2.h)
 */
#ifndef GK_SIMD_H
#define GK_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/cpu.h"
#include "greenkern.h"

#define GK_CAT3_(a, b, c) a##b##c
#define GK_CAT3(a, b, c) GK_CAT3_(a, b, c)
#define GK_STR_(x) #x
#define GK_STR(x) GK_STR_(x)

#if defined(GK_TARGET_AVX512)
#define GK_ISA_TAG avx512
#define GK_TARGET_ISA GK_ISA_AVX512
#define GK_TARGET_REQUIRES (GK_CPU_AVX512 | GK_CPU_AVX2)
#elif defined(GK_TARGET_AVX2)
#define GK_ISA_TAG avx2
#define GK_TARGET_ISA GK_ISA_AVX2
#define GK_TARGET_REQUIRES GK_CPU_AVX2
#elif defined(GK_TARGET_NEON)
#define GK_ISA_TAG neon
#define GK_TARGET_ISA GK_ISA_NEON
#define GK_TARGET_REQUIRES GK_CPU_NEON
#elif defined(GK_TARGET_SCALAR)
#define GK_ISA_TAG scalar
#define GK_TARGET_ISA GK_ISA_SCALAR
#define GK_TARGET_REQUIRES 0u
#else
#error "simd.h is for ISA-templated sources: define one GK_TARGET_*"
#endif

#define GK_FN(name) GK_CAT3(name, __, GK_ISA_TAG)
#define GK_ISA_SUFFIX "__" GK_STR(GK_ISA_TAG)

#define GK_SIMD_INLINE static inline __attribute__((always_inline))

/* ================================================================ AVX-512 */
#if defined(GK_TARGET_AVX512)
#if GK_AVX512_EMULATED
#include "avx512_emulation.h"
#else
#include <immintrin.h>
#endif
#include <sleef.h>
typedef __m512 gk_vf;
#define GK_VF_LANES 16
GK_SIMD_INLINE __mmask16 gk_mask_n_(size_t n) { return (__mmask16)((1u << n) - 1u); }
GK_SIMD_INLINE gk_vf vf_zero(void) { return _mm512_setzero_ps(); }
GK_SIMD_INLINE gk_vf vf_set1(float x) { return _mm512_set1_ps(x); }
GK_SIMD_INLINE gk_vf vf_loadu(const float *p) { return _mm512_loadu_ps(p); }
GK_SIMD_INLINE gk_vf vf_load(const float *p) { return _mm512_load_ps(p); }
GK_SIMD_INLINE void vf_storeu(float *p, gk_vf v) { _mm512_storeu_ps(p, v); }
GK_SIMD_INLINE void vf_store(float *p, gk_vf v) { _mm512_store_ps(p, v); }
GK_SIMD_INLINE gk_vf vf_loadu_n(const float *p, size_t n) { return _mm512_maskz_loadu_ps(gk_mask_n_(n), p); }
GK_SIMD_INLINE void vf_storeu_n(float *p, gk_vf v, size_t n) { _mm512_mask_storeu_ps(p, gk_mask_n_(n), v); }
GK_SIMD_INLINE gk_vf vf_add(gk_vf a, gk_vf b) { return _mm512_add_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_sub(gk_vf a, gk_vf b) { return _mm512_sub_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_mul(gk_vf a, gk_vf b) { return _mm512_mul_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_div(gk_vf a, gk_vf b) { return _mm512_div_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_max(gk_vf a, gk_vf b) { return _mm512_max_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_min(gk_vf a, gk_vf b) { return _mm512_min_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_fma(gk_vf a, gk_vf b, gk_vf c) { return _mm512_fmadd_ps(a, b, c); } /* a*b+c */
GK_SIMD_INLINE float vf_reduce_add(gk_vf v) { return _mm512_reduce_add_ps(v); }
GK_SIMD_INLINE float vf_reduce_max(gk_vf v) { return _mm512_reduce_max_ps(v); }
GK_SIMD_INLINE gk_vf vf_erf(gk_vf v) { return Sleef_erff16_u10avx512f(v); }

/* =================================================================== AVX2 */
#elif defined(GK_TARGET_AVX2)
#include <immintrin.h>
#include <sleef.h>
typedef __m256 gk_vf;
#define GK_VF_LANES 8
/* Lane masks for the first n lanes: a sliding window over -1s then 0s. */
GK_SIMD_INLINE __m256i gk_mask_n_(size_t n) {
  static const int32_t window[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(window + 8 - n));
}
GK_SIMD_INLINE gk_vf vf_zero(void) { return _mm256_setzero_ps(); }
GK_SIMD_INLINE gk_vf vf_set1(float x) { return _mm256_set1_ps(x); }
GK_SIMD_INLINE gk_vf vf_loadu(const float *p) { return _mm256_loadu_ps(p); }
GK_SIMD_INLINE gk_vf vf_load(const float *p) { return _mm256_load_ps(p); }
GK_SIMD_INLINE void vf_storeu(float *p, gk_vf v) { _mm256_storeu_ps(p, v); }
GK_SIMD_INLINE void vf_store(float *p, gk_vf v) { _mm256_store_ps(p, v); }
GK_SIMD_INLINE gk_vf vf_loadu_n(const float *p, size_t n) { return _mm256_maskload_ps(p, gk_mask_n_(n)); }
GK_SIMD_INLINE void vf_storeu_n(float *p, gk_vf v, size_t n) { _mm256_maskstore_ps(p, gk_mask_n_(n), v); }
GK_SIMD_INLINE gk_vf vf_add(gk_vf a, gk_vf b) { return _mm256_add_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_sub(gk_vf a, gk_vf b) { return _mm256_sub_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_mul(gk_vf a, gk_vf b) { return _mm256_mul_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_div(gk_vf a, gk_vf b) { return _mm256_div_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_max(gk_vf a, gk_vf b) { return _mm256_max_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_min(gk_vf a, gk_vf b) { return _mm256_min_ps(a, b); }
GK_SIMD_INLINE gk_vf vf_fma(gk_vf a, gk_vf b, gk_vf c) { return _mm256_fmadd_ps(a, b, c); }
GK_SIMD_INLINE float vf_reduce_add(gk_vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
GK_SIMD_INLINE float vf_reduce_max(gk_vf v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
GK_SIMD_INLINE gk_vf vf_erf(gk_vf v) { return Sleef_erff8_u10avx2(v); }

/* =================================================================== NEON */
#elif defined(GK_TARGET_NEON)
#include <arm_neon.h>
#include <sleef.h>
typedef float32x4_t gk_vf;
#define GK_VF_LANES 4
GK_SIMD_INLINE gk_vf vf_zero(void) { return vdupq_n_f32(0.0f); }
GK_SIMD_INLINE gk_vf vf_set1(float x) { return vdupq_n_f32(x); }
GK_SIMD_INLINE gk_vf vf_loadu(const float *p) { return vld1q_f32(p); }
GK_SIMD_INLINE gk_vf vf_load(const float *p) { return vld1q_f32(p); }
GK_SIMD_INLINE void vf_storeu(float *p, gk_vf v) { vst1q_f32(p, v); }
GK_SIMD_INLINE void vf_store(float *p, gk_vf v) { vst1q_f32(p, v); }
GK_SIMD_INLINE gk_vf vf_loadu_n(const float *p, size_t n) {
  float t[4] = {0, 0, 0, 0};
  memcpy(t, p, n * sizeof(float));
  return vld1q_f32(t);
}
GK_SIMD_INLINE void vf_storeu_n(float *p, gk_vf v, size_t n) {
  float t[4];
  vst1q_f32(t, v);
  memcpy(p, t, n * sizeof(float));
}
GK_SIMD_INLINE gk_vf vf_add(gk_vf a, gk_vf b) { return vaddq_f32(a, b); }
GK_SIMD_INLINE gk_vf vf_sub(gk_vf a, gk_vf b) { return vsubq_f32(a, b); }
GK_SIMD_INLINE gk_vf vf_mul(gk_vf a, gk_vf b) { return vmulq_f32(a, b); }
GK_SIMD_INLINE gk_vf vf_div(gk_vf a, gk_vf b) { return vdivq_f32(a, b); }
GK_SIMD_INLINE gk_vf vf_max(gk_vf a, gk_vf b) { return vmaxq_f32(a, b); }
GK_SIMD_INLINE gk_vf vf_min(gk_vf a, gk_vf b) { return vminq_f32(a, b); }
GK_SIMD_INLINE gk_vf vf_fma(gk_vf a, gk_vf b, gk_vf c) { return vfmaq_f32(c, a, b); }
GK_SIMD_INLINE float vf_reduce_add(gk_vf v) { return vaddvq_f32(v); }
GK_SIMD_INLINE float vf_reduce_max(gk_vf v) { return vmaxvq_f32(v); }
GK_SIMD_INLINE gk_vf vf_erf(gk_vf v) { return Sleef_erff4_u10advsimd(v); }

/* ================================================================= scalar */
#else
#include <math.h>
typedef float gk_vf;
#define GK_VF_LANES 1
GK_SIMD_INLINE gk_vf vf_zero(void) { return 0.0f; }
GK_SIMD_INLINE gk_vf vf_set1(float x) { return x; }
GK_SIMD_INLINE gk_vf vf_loadu(const float *p) { return *p; }
GK_SIMD_INLINE gk_vf vf_load(const float *p) { return *p; }
GK_SIMD_INLINE void vf_storeu(float *p, gk_vf v) { *p = v; }
GK_SIMD_INLINE void vf_store(float *p, gk_vf v) { *p = v; }
GK_SIMD_INLINE gk_vf vf_loadu_n(const float *p, size_t n) { return n ? *p : 0.0f; }
GK_SIMD_INLINE void vf_storeu_n(float *p, gk_vf v, size_t n) { if (n) *p = v; }
GK_SIMD_INLINE gk_vf vf_add(gk_vf a, gk_vf b) { return a + b; }
GK_SIMD_INLINE gk_vf vf_sub(gk_vf a, gk_vf b) { return a - b; }
GK_SIMD_INLINE gk_vf vf_mul(gk_vf a, gk_vf b) { return a * b; }
GK_SIMD_INLINE gk_vf vf_div(gk_vf a, gk_vf b) { return a / b; }
GK_SIMD_INLINE gk_vf vf_max(gk_vf a, gk_vf b) { return a > b ? a : b; }
GK_SIMD_INLINE gk_vf vf_min(gk_vf a, gk_vf b) { return a < b ? a : b; }
/* a*b+c unfused: baseline x86-64 has no FMA and fmaf() would be a slow
 * software emulation; the reference semantics allow either rounding. */
GK_SIMD_INLINE gk_vf vf_fma(gk_vf a, gk_vf b, gk_vf c) { return a * b + c; }
GK_SIMD_INLINE float vf_reduce_add(gk_vf v) { return v; }
GK_SIMD_INLINE float vf_reduce_max(gk_vf v) { return v; }
GK_SIMD_INLINE gk_vf vf_erf(gk_vf v) { return erff(v); }
#endif

#endif /* GK_SIMD_H */

/* AVX-512 intrinsics emulated with SIMDe, for test builds only
 * (meson -Davx512_emulation=true).
 *
 * The harness can check a variant only on a CPU that runs it, and the
 * machines this project is developed and tested on often lack AVX-512: their
 * AVX-512 variants (GEMM tiles, flash attention's exp, the transposes, the
 * VPOPCNTDQ Hamming kernels) would go unexecuted between sessions on AVX-512
 * hardware. In an emulation build the AVX-512 sources are compiled with the
 * AVX2 flags only and this header maps every _mm512_* intrinsic they use to
 * SIMDe's portable version (two AVX2 halves where it can), so checkasm runs
 * the same source lines, lane for lane, on any AVX2 machine. It checks the
 * kernels' logic (tiles, edges, masks, blocking); it cannot check what only
 * the hardware does (the micro-kernel's inline-asm embedded broadcast, which
 * an emulation build replaces by the intrinsic form, or exact timing).
 *
 * Included by simd.h in place of <immintrin.h> for GK_TARGET_AVX512 when
 * GK_AVX512_EMULATED is 1. Never in an installed library: the emulated
 * variants are several times slower than the AVX2 ones.
 */
#ifndef GK_AVX512_EMULATION_H
#define GK_AVX512_EMULATION_H

#include <immintrin.h>
#include <sleef.h>

/* Function aliases (_mm512_add_ps -> simde_mm512_add_ps) per extension, not
 * SIMDE_ENABLE_NATIVE_ALIASES: that one also typedefs __m512, which GCC's
 * immintrin.h has already declared as a vector type. The type names are
 * macros instead, below. */
#define SIMDE_X86_AVX512F_ENABLE_NATIVE_ALIASES
#define SIMDE_X86_AVX512BW_ENABLE_NATIVE_ALIASES
#define SIMDE_X86_AVX512DQ_ENABLE_NATIVE_ALIASES
#define SIMDE_X86_AVX512VL_ENABLE_NATIVE_ALIASES
#define SIMDE_X86_AVX512CD_ENABLE_NATIVE_ALIASES
#define SIMDE_X86_AVX512VPOPCNTDQ_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#define __m512 simde__m512
#define __m512i simde__m512i

/* What SIMDe 0.7.4 (Debian 12) lacks, lane by lane. The masked load and
 * store touch only the lanes in the mask, as the instructions do, so the
 * harness's guard bytes still catch a kernel reading or writing past its
 * edge. */
static inline simde__m512 gk_emu_maskz_loadu_ps_(__mmask16 k, const float *p) {
  float t[16];
  for (int l = 0; l < 16; l++) t[l] = (k >> l) & 1 ? p[l] : 0.0f;
  return simde_mm512_loadu_ps(t);
}
static inline void gk_emu_mask_storeu_ps_(float *p, __mmask16 k, simde__m512 v) {
  float t[16];
  simde_mm512_storeu_ps(t, v);
  for (int l = 0; l < 16; l++)
    if ((k >> l) & 1) p[l] = t[l];
}
static inline float gk_emu_reduce_add_ps_(simde__m512 v) {
  /* The hardware-independent sum order GCC's _mm512_reduce_add_ps uses:
   * halves, then quarters, ..., so results match a native build's. */
  float t[16];
  simde_mm512_storeu_ps(t, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) t[l] += t[l + w];
  return t[0];
}
static inline float gk_emu_reduce_max_ps_(simde__m512 v) {
  float t[16];
  simde_mm512_storeu_ps(t, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) t[l] = t[l] > t[l + w] ? t[l] : t[l + w];
  return t[0];
}
static inline __m256i gk_emu_cvtepi32_epi16_(simde__m512i v) {
  int32_t t[16];
  int16_t o[16];
  simde_mm512_storeu_si512(t, v);
  for (int l = 0; l < 16; l++) o[l] = (int16_t)t[l]; /* truncates, as vpmovdw */
  return _mm256_loadu_si256((const __m256i *)o);
}
/* SIMDe 0.7.4 aliases this one with a masked form's four parameters. */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16((a), (b))
/* SLEEF's AVX-512 erf would need the hardware: its AVX2 one, a half at a
 * time. */
static inline simde__m512 gk_emu_erff16_(simde__m512 v) {
  float t[16];
  simde_mm512_storeu_ps(t, v);
  _mm256_storeu_ps(t, Sleef_erff8_u10avx2(_mm256_loadu_ps(t)));
  _mm256_storeu_ps(t + 8, Sleef_erff8_u10avx2(_mm256_loadu_ps(t + 8)));
  return simde_mm512_loadu_ps(t);
}
#define Sleef_erff16_u10avx512f gk_emu_erff16_

#define _mm512_maskz_loadu_ps(k, p) gk_emu_maskz_loadu_ps_((k), (p))
#define _mm512_mask_storeu_ps(p, k, v) gk_emu_mask_storeu_ps_((p), (k), (v))
#define _mm512_reduce_add_ps(v) gk_emu_reduce_add_ps_(v)
#define _mm512_reduce_max_ps(v) gk_emu_reduce_max_ps_(v)
#define _mm512_cvtepi32_epi16(v) gk_emu_cvtepi32_epi16_(v)

#endif /* GK_AVX512_EMULATION_H */

/* XOR + popcount block kernels (ISA-templated): the engine of the all-pairs
 * Hamming distances and of the quadratic Hamming attention. One kernel body
 * (popcount_kernel.h) is instantiated per popcount method:
 *   AVX-512 + VPOPCNTDQ: vpxord + vpopcntd over 16 keys per zmm;
 *   AVX-512 without it, and AVX2: nibble lookup (vpshufb) into byte
 *     counters, widened to dwords (vpmaddubsw + vpmaddwd) every 31 steps;
 *   NEON: vcnt into byte counters, widened by pairwise adds;
 *   scalar: one word at a time (popcount32_).
 * Registers the hamming_dist and hamming_quad variants, one per method. */
#include "../simd.h"
#include "hamming.h"

#define PK_CAT_(a, b) a##b
#define PK_CAT(a, b) PK_CAT_(a, b)

void GK_FN(gk_hq_wsum)(const uint16_t *D, size_t nq, size_t nk, const float *lut,
                       const float *v, size_t ldv, size_t d, float *acc);

#if defined(GK_TARGET_AVX512) || defined(GK_TARGET_AVX2)
/* Nibble-LUT popcount, shared by AVX2 (ymm) and AVX-512 without VPOPCNTDQ
 * (zmm): the same steps over the ISA's integer vector. */
#if defined(GK_TARGET_AVX512)
typedef __m512i nb_v;
#define NB_LANES 16
#define nb_loadu(p) _mm512_loadu_si512((const void *)(p))
#define nb_set1_8 _mm512_set1_epi8
#define nb_set1_16 _mm512_set1_epi16
#define nb_set1_32 _mm512_set1_epi32
#define nb_xor _mm512_xor_si512
#define nb_and _mm512_and_si512
#define nb_srli16 _mm512_srli_epi16
#define nb_shuffle8 _mm512_shuffle_epi8
#define nb_add8 _mm512_add_epi8
#define nb_add32 _mm512_add_epi32
#define nb_maddubs _mm512_maddubs_epi16
#define nb_madd _mm512_madd_epi16
#define nb_lut() _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4))
#define nb_store16(o, v) _mm256_storeu_si256((__m256i *)(o), _mm512_cvtepi32_epi16(v))
#else
typedef __m256i nb_v;
#define NB_LANES 8
#define nb_loadu(p) _mm256_loadu_si256((const __m256i *)(p))
#define nb_set1_8 _mm256_set1_epi8
#define nb_set1_16 _mm256_set1_epi16
#define nb_set1_32 _mm256_set1_epi32
#define nb_xor _mm256_xor_si256
#define nb_and _mm256_and_si256
#define nb_srli16 _mm256_srli_epi16
#define nb_shuffle8 _mm256_shuffle_epi8
#define nb_add8 _mm256_add_epi8
#define nb_add32 _mm256_add_epi32
#define nb_maddubs _mm256_maddubs_epi16
#define nb_madd _mm256_madd_epi16
#define nb_lut() _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4))
/* 8 dwords -> 8 uint16 (counts <= 1024: packus never saturates) */
#define nb_store16(o, v) \
  _mm_storeu_si128((__m128i *)(o), _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)))
#endif
typedef nb_v pk_vec;
typedef nb_v pk_narrow;
typedef nb_v pk_wide;
GK_SIMD_INLINE nb_v pk_bcast(uint32_t q) { return nb_set1_32((int)q); }
GK_SIMD_INLINE nb_v pk_zero_narrow(void) { return nb_set1_32(0); }
GK_SIMD_INLINE nb_v pk_zero_wide(void) { return nb_set1_32(0); }
GK_SIMD_INLINE nb_v pk_step(nb_v n, nb_v q, const uint32_t *k) {
  nb_v x = nb_xor(q, nb_loadu(k)), low = nb_set1_8(0x0f), lut = nb_lut();
  nb_v c = nb_add8(nb_shuffle8(lut, nb_and(x, low)), nb_shuffle8(lut, nb_and(nb_srli16(x, 4), low)));
  return nb_add8(n, c);
}
/* byte counters (<= 8 per step) -> dword sums of each dword's 4 bytes */
GK_SIMD_INLINE nb_v pk_flush(nb_v s, nb_v n) {
  return nb_add32(s, nb_madd(nb_maddubs(n, nb_set1_8(1)), nb_set1_16(1)));
}
GK_SIMD_INLINE void pk_store(uint16_t *o, nb_v s) { nb_store16(o, s); }
#define PK_NAME popcount_blocks_nibble
#define PK_ATTR
#define PK_LANES NB_LANES
#define PK_CHUNK 31
#include "popcount_kernel.h"
#undef PK_NAME
#undef PK_ATTR
#undef PK_LANES
#undef PK_CHUNK
#define NIBBLE_NAME "nibble"
#define NIBBLE_LANES NB_LANES
#define NIBBLE_FN popcount_blocks_nibble
#endif

#if defined(GK_TARGET_AVX512)
/* VPOPCNTDQ: the library is built without -mavx512vpopcntdq, so these
 * functions carry the target attribute and their variants require
 * GK_CPU_VPOPCNTDQ. No byte counters: one narrow = wide accumulator. */
#if GK_AVX512_EMULATED
#define VP_ATTR /* SIMDe's vpopcntd: nothing for the compiler to enable */
#else
#define VP_ATTR __attribute__((target("avx512vpopcntdq")))
#endif
#define pk_vec vp_v
#define pk_bcast vp_bcast
#define pk_narrow vp_v
#define pk_wide vp_v
#define pk_zero_narrow vp_zero
#define pk_zero_wide vp_zero
#define pk_step vp_step
#define pk_flush vp_flush
#define pk_store vp_store
typedef __m512i vp_v;
static inline VP_ATTR vp_v vp_zero(void) { return _mm512_setzero_si512(); }
static inline VP_ATTR vp_v vp_bcast(uint32_t q) { return _mm512_set1_epi32((int)q); }
static inline VP_ATTR vp_v vp_step(vp_v n, vp_v q, const uint32_t *k) {
  return _mm512_add_epi32(n, _mm512_popcnt_epi32(_mm512_xor_si512(q, _mm512_loadu_si512((const void *)k))));
}
static inline VP_ATTR vp_v vp_flush(vp_v s, vp_v n) { return _mm512_add_epi32(s, n); }
static inline VP_ATTR void vp_store(uint16_t *o, vp_v s) {
  _mm256_storeu_si256((__m256i *)o, _mm512_cvtepi32_epi16(s));
}
#define PK_NAME popcount_blocks_vpopcnt
#define PK_ATTR VP_ATTR
#define PK_LANES 16
#define PK_CHUNK ((size_t)-1)
#include "popcount_kernel.h"
#endif

#if defined(GK_TARGET_NEON)
typedef uint32x4_t pk_vec;
typedef uint8x16_t pk_narrow;
typedef uint32x4_t pk_wide;
GK_SIMD_INLINE pk_vec pk_bcast(uint32_t q) { return vdupq_n_u32(q); }
GK_SIMD_INLINE pk_narrow pk_zero_narrow(void) { return vdupq_n_u8(0); }
GK_SIMD_INLINE pk_wide pk_zero_wide(void) { return vdupq_n_u32(0); }
GK_SIMD_INLINE pk_narrow pk_step(pk_narrow n, pk_vec q, const uint32_t *k) {
  uint32x4_t x = veorq_u32(q, vld1q_u32(k));
  return vaddq_u8(n, vcntq_u8(vreinterpretq_u8_u32(x)));
}
GK_SIMD_INLINE pk_wide pk_flush(pk_wide s, pk_narrow n) {
  return vaddq_u32(s, vpaddlq_u16(vpaddlq_u8(n)));
}
GK_SIMD_INLINE void pk_store(uint16_t *o, pk_wide s) { vst1_u16(o, vmovn_u32(s)); }
#define PK_NAME popcount_blocks_vcnt
#define PK_ATTR
#define PK_LANES 4
#define PK_CHUNK 31
#include "popcount_kernel.h"
#define MAIN_NAME "vcnt"
#define MAIN_LANES 4
#define MAIN_FN popcount_blocks_vcnt
#elif defined(GK_TARGET_SCALAR)
typedef uint32_t pk_vec;
typedef uint32_t pk_narrow;
typedef uint32_t pk_wide;
GK_SIMD_INLINE uint32_t pk_bcast(uint32_t q) { return q; }
GK_SIMD_INLINE uint32_t pk_zero_narrow(void) { return 0; }
GK_SIMD_INLINE uint32_t pk_zero_wide(void) { return 0; }
/* Bits set in x. Built for the baseline x86-64 (no POPCNT instruction),
 * __builtin_popcount is a call into libgcc's table lookup per word: 11 ns
 * per pair of 64-bit codes on a Zen 3 EPYC. The bit-slicing sum below is a
 * dozen inline integer operations; where the target has an instruction
 * (POPCNT, AArch64's CNT) the builtin is that instruction. */
GK_SIMD_INLINE uint32_t popcount32_(uint32_t x) {
#if defined(__POPCNT__) || defined(__aarch64__)
  return (uint32_t)__builtin_popcount(x);
#else
  x -= (x >> 1) & 0x55555555u;
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0fu;
  return (x * 0x01010101u) >> 24;
#endif
}
GK_SIMD_INLINE uint32_t pk_step(uint32_t n, uint32_t q, const uint32_t *k) {
  return n + popcount32_(q ^ *k);
}
GK_SIMD_INLINE uint32_t pk_flush(uint32_t s, uint32_t n) { return s + n; }
GK_SIMD_INLINE void pk_store(uint16_t *o, uint32_t s) { *o = (uint16_t)s; }
#define PK_NAME popcount_blocks_swar
#define PK_ATTR
#define PK_LANES 1
#define PK_CHUNK ((size_t)-1)
#include "popcount_kernel.h"
#define MAIN_NAME "swar"
#define MAIN_LANES 1
#define MAIN_FN popcount_blocks_swar
#endif

/* ------------------------------------------------------- registration */
#define HDIST_VARIANT(var, method, lanes, fn, req, prio)                                       \
  static const gk_hdist_impl var##_impl = {lanes, fn};                                        \
  static const gk_variant var = {GK_OP_HAMMING_DIST, "u16_hamming_dist_" method GK_ISA_SUFFIX, \
                                 GK_TARGET_ISA, req, prio, &var##_impl};                      \
  static const gk_hquad_impl var##_q_impl = {{lanes, fn}, GK_FN(gk_hq_wsum)};                 \
  static const gk_variant var##_q = {GK_OP_HAMMING_QUAD, "f32_hamming_quad_" method GK_ISA_SUFFIX, \
                                     GK_TARGET_ISA, req, prio, &var##_q_impl};

/* Priority: the ISA level, +1 for VPOPCNTDQ over the nibble method. */
#if defined(GK_TARGET_AVX512)
HDIST_VARIANT(v_vp, "vpopcnt", 16, popcount_blocks_vpopcnt, GK_TARGET_REQUIRES | GK_CPU_VPOPCNTDQ,
              10 * (int)GK_TARGET_ISA + 1)
#endif
#if defined(NIBBLE_FN)
HDIST_VARIANT(v_main, NIBBLE_NAME, NIBBLE_LANES, NIBBLE_FN, GK_TARGET_REQUIRES, 10 * (int)GK_TARGET_ISA)
#else
HDIST_VARIANT(v_main, MAIN_NAME, MAIN_LANES, MAIN_FN, GK_TARGET_REQUIRES, 10 * (int)GK_TARGET_ISA)
#endif

void GK_FN(gk_register_hamming_popcount)(gk_registry *r) {
#if defined(GK_TARGET_AVX512)
  gk_registry_add(r, &v_vp), gk_registry_add(r, &v_vp_q);
#endif
  gk_registry_add(r, &v_main), gk_registry_add(r, &v_main_q);
}

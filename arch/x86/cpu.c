/* x86-64 feature detection: CPUID for what the CPU has, XGETBV for what the
 * OS saves. A bit that the OS does not enable (e.g. AVX-512 state masked
 * off by a hypervisor or kernel option) is treated as absent: executing
 * those instructions would fault. */
#include "../cpu.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

void gk_cpu_detect(gk_cpu_info *info) {
  memset(info, 0, sizeof(*info));
  strcpy(info->arch, "x86_64");
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return;
  unsigned max_leaf = a;
  memcpy(info->vendor + 0, &b, 4);
  memcpy(info->vendor + 4, &d, 4);
  memcpy(info->vendor + 8, &c, 4);

  __cpuid(1, a, b, c, d);
  unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf, stepping = a & 0xf;
  if (family == 0xf) family += (a >> 20) & 0xff;
  if (family == 0x6 || family >= 0xf) model |= ((a >> 16) & 0xf) << 4;
  snprintf(info->model, sizeof(info->model), "family %u model %u stepping %u",
           family, model, stepping);

  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1,
      f16c = (c >> 29) & 1;
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  int ymm_ok = (xcr0 & 0x6) == 0x6;          /* XMM | YMM state */
  int zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0; /* opmask | ZMM_Hi256 | Hi16_ZMM */

  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, cd = (b >> 28) & 1,
        bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    int vnni = (c >> 11) & 1, popcntdq = (c >> 14) & 1;
    if (ymm_ok && avx && avx2 && fma && f16c) info->features |= GK_CPU_AVX2;
    if (zmm_ok && (info->features & GK_CPU_AVX2) && f && dq && cd && bw && vl) {
      info->features |= GK_CPU_AVX512;
      if (popcntdq) info->features |= GK_CPU_VPOPCNTDQ;
      if (vnni) info->features |= GK_CPU_AVX512VNNI;
      unsigned a1, b1, c1, d1;
      __cpuid_count(7, 1, a1, b1, c1, d1);
      if ((a1 >> 5) & 1) info->features |= GK_CPU_AVX512BF16;
    }
  }

#if GK_AVX512_EMULATED
  /* A test build whose AVX-512 variants are SIMDe code over AVX2
   * (meson -Davx512_emulation=true): they run wherever AVX2 does. */
  if (info->features & GK_CPU_AVX2) info->features |= GK_CPU_AVX512 | GK_CPU_VPOPCNTDQ;
#endif

  __cpuid(0x80000000, a, b, c, d);
  if (a >= 0x80000004) {
    unsigned *w = (unsigned *)(void *)info->brand;
    for (unsigned leaf = 0; leaf < 3; leaf++)
      __cpuid(0x80000002 + leaf, w[4 * leaf], w[4 * leaf + 1], w[4 * leaf + 2],
              w[4 * leaf + 3]);
    info->brand[48] = '\0';
  }
}

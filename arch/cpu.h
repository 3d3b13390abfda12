/* CPU facts the dispatcher needs: ISA features the OS lets us use, caches,
 * cores, and an identity for the tuner's machine signature. Detected once. */
#ifndef GK_ARCH_CPU_H
#define GK_ARCH_CPU_H

#include <stddef.h>
#include <stdint.h>

/* Feature bits. A bit is set only when the CPU has the instructions AND the
 * OS saves the register state they use (XGETBV on x86). */
enum {
  GK_CPU_AVX2 = 1u << 0,      /* with FMA3 and F16C */
  GK_CPU_AVX512 = 1u << 1,    /* F + BW + VL + DQ + CD */
  GK_CPU_VPOPCNTDQ = 1u << 2, /* AVX512_VPOPCNTDQ */
  GK_CPU_AVX512BF16 = 1u << 3,
  GK_CPU_AVX512VNNI = 1u << 4,
  GK_CPU_NEON = 1u << 8,      /* aarch64 Advanced SIMD */
  GK_CPU_DOTPROD = 1u << 9
};

typedef struct gk_cpu_info {
  uint32_t features;    /* GK_CPU_* */
  char arch[16];        /* "x86_64", "aarch64", ... */
  char vendor[24];      /* "GenuineIntel", "AuthenticAMD", implementer id ... */
  char model[64];       /* family/model/stepping or MIDR, brand-free */
  char brand[64];       /* marketing name where known; not part of signature */
} gk_cpu_info;

/* Fills *info from the running CPU; cheap (CPUID / getauxval). */
void gk_cpu_detect(gk_cpu_info *info);

/* Names of the feature bits set in `features`, space separated, into buf. */
void gk_cpu_features_string(uint32_t features, char *buf, size_t size);

/* Cache and core facts, from hwloc, sanity-clamped. */
typedef struct gk_topology {
  size_t l1d, l2, l3; /* bytes per core (L3: per package, clamped) */
  int cores;          /* physical cores available to this process */
  int pus;            /* logical processors available */
  char source[48];    /* how the numbers were obtained, for GK_VERBOSE */
} gk_topology;

/* Queries hwloc once per call (10-250 ms): the library calls it once at
 * init. GK_L1D / GK_L2 / GK_L3 override the detected sizes (bytes, or with a
 * K/M suffix). */
void gk_topology_detect(gk_topology *topo);

#endif

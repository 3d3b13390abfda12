#include "cpu.h"

#include <stdio.h>
#include <string.h>

void gk_cpu_features_string(uint32_t features, char *buf, size_t size) {
  static const struct { uint32_t bit; const char *name; } names[] = {
      {GK_CPU_AVX2, "avx2"},           {GK_CPU_AVX512, "avx512"},
      {GK_CPU_VPOPCNTDQ, "vpopcntdq"}, {GK_CPU_AVX512BF16, "avx512bf16"},
      {GK_CPU_AVX512VNNI, "avx512vnni"}, {GK_CPU_NEON, "neon"},
      {GK_CPU_DOTPROD, "dotprod"}};
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (!(features & names[i].bit)) continue;
    int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", names[i].name);
    if (n < 0 || (size_t)n >= size - used) break;
    used += (size_t)n;
  }
  if (!used) snprintf(buf, size, "none");
}

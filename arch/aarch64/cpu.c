/* aarch64 feature detection: the kernel's HWCAP bits (user space cannot
 * read ID registers portably), MIDR from sysfs when present. */
#include "../cpu.h"

#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

void gk_cpu_detect(gk_cpu_info *info) {
  memset(info, 0, sizeof(*info));
  strcpy(info->arch, "aarch64");
  unsigned long hw = getauxval(AT_HWCAP);
  if (hw & HWCAP_ASIMD) info->features |= GK_CPU_NEON;
  if (hw & HWCAP_ASIMDDP) info->features |= GK_CPU_DOTPROD;

  unsigned long midr = 0;
  FILE *f = fopen("/sys/devices/system/cpu/cpu0/regs/identification/midr_el1", "r");
  if (f) {
    if (fscanf(f, "%lx", &midr) != 1) midr = 0;
    fclose(f);
  }
  snprintf(info->vendor, sizeof(info->vendor), "implementer 0x%02lx",
           (midr >> 24) & 0xff);
  snprintf(info->model, sizeof(info->model), "midr 0x%08lx", midr);
}

/* Cache sizes and core counts through hwloc, sanity-clamped.
 *
 * Why clamp: virtual machines report nonsense. The development VM's
 * hypervisor reports a 508 MiB L3; qemu-user reports 0 for every cache.
 * Blocking computed from such figures would be wrong, so each size is
 * checked against a plausible range and replaced by a conservative default
 * when outside it. Users can override with GK_L1D / GK_L2 / GK_L3. */
#include "cpu.h"

#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static size_t parse_size(const char *s) {
  if (!s || !*s) return 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s) return 0;
  if (*end == 'k' || *end == 'K') v *= 1024, end++;
  else if (*end == 'm' || *end == 'M') v *= 1024 * 1024, end++;
  return *end ? 0 : (size_t)v;
}

static size_t clamp_or(size_t v, size_t lo, size_t hi, size_t fallback) {
  return (v >= lo && v <= hi) ? v : fallback;
}

static size_t cache_size(hwloc_topology_t t, hwloc_obj_type_t type) {
  hwloc_obj_t o = hwloc_get_next_obj_by_type(t, type, NULL);
  return (o && o->attr) ? (size_t)o->attr->cache.size : 0;
}

void gk_topology_detect(gk_topology *topo) {
  memset(topo, 0, sizeof(*topo));
  strcpy(topo->source, "defaults");
  hwloc_topology_t t;
  if (hwloc_topology_init(&t) == 0) {
    if (hwloc_topology_load(t) == 0) {
      topo->l1d = cache_size(t, HWLOC_OBJ_L1CACHE);
      topo->l2 = cache_size(t, HWLOC_OBJ_L2CACHE);
      topo->l3 = cache_size(t, HWLOC_OBJ_L3CACHE);
      topo->cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
      topo->pus = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
      strcpy(topo->source, "hwloc");
    }
    hwloc_topology_destroy(t);
  }
  /* Plausible ranges of current CPUs; outside them the figure is a VM's. */
  size_t l1d = clamp_or(topo->l1d, 8 * KiB, 256 * KiB, 32 * KiB);
  size_t l2 = clamp_or(topo->l2, 128 * KiB, 8 * MiB, 1 * MiB);
  size_t l3 = clamp_or(topo->l3, 1 * MiB, 256 * MiB, 8 * MiB);
  if (l1d != topo->l1d || l2 != topo->l2 || l3 != topo->l3)
    strcpy(topo->source, topo->l1d || topo->l2 ? "hwloc, clamped" : "defaults");
  topo->l1d = l1d, topo->l2 = l2, topo->l3 = l3;
  if (topo->cores <= 0) topo->cores = 1;
  if (topo->pus < topo->cores) topo->pus = topo->cores;

  size_t v;
  int overridden = 0;
  if ((v = parse_size(getenv("GK_L1D")))) topo->l1d = v, overridden = 1;
  if ((v = parse_size(getenv("GK_L2")))) topo->l2 = v, overridden = 1;
  if ((v = parse_size(getenv("GK_L3")))) topo->l3 = v, overridden = 1;
  if (overridden) strcat(topo->source, ", env override");
}

/* greenkern-tune: measures this machine and writes the profile the library
 * reads at initialisation.
 *
 * This first form reports what the library detects and chooses (CPU, ISA
 * features, caches, the variant per op); the measuring tuner builds on it. */
#include <stdio.h>
#include <string.h>

#include "kernels/internal.h"

static void usage(FILE *f) {
  fputs("usage: greenkern-tune [--show] [--help]\n"
        "  Reports this machine as greenkern sees it: CPU, ISA features the\n"
        "  library may use, cache sizes, and the kernel variant chosen per op.\n",
        f);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout), 0;
    if (strcmp(argv[i], "--show")) return usage(stderr), 2;
  }
  gk_status s = gk_init();
  if (s != GK_OK) {
    fprintf(stderr, "greenkern-tune: initialisation failed: %s\n", gk_strerror(s));
    return 1;
  }
  const gk_ctx *c = gk_ctx_get();
  char feat[128], use[128];
  gk_cpu_features_string(c->cpu.features, feat, sizeof feat);
  gk_cpu_features_string(c->usable, use, sizeof use);
  printf("greenkern %s (build %s)\n\n", gk_version(), gk_build_id());
  printf("| machine | |\n|---|---|\n");
  printf("| cpu | %s %s, %s |\n", c->cpu.arch, c->cpu.vendor, c->cpu.model);
  printf("| brand | %s |\n", c->cpu.brand[0] ? c->cpu.brand : "-");
  printf("| features | %s |\n| usable (GK_ISA) | %s -> %s |\n", feat, use, gk_isa_name(c->isa));
  printf("| caches | L1d %zu KiB, L2 %zu KiB, L3 %zu KiB (%s) |\n", c->topo.l1d >> 10,
         c->topo.l2 >> 10, c->topo.l3 >> 10, c->topo.source);
  printf("| cores | %d cores, %d threads; library uses %d |\n\n", c->topo.cores, c->topo.pus,
         gk_max_threads());
  printf("| op | chosen variant |\n|---|---|\n");
  for (size_t i = 0; gk_op_name(i); i++)
    printf("| %s | %s |\n", gk_op_name(i), gk_chosen_variant(gk_op_name(i)));
  return 0;
}

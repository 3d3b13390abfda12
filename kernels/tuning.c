#include "tuning.h"

#include <string.h>

#include "../arch/cpu.h"

void gk_tuning_defaults(gk_tuning *t, const gk_topology *topo) {
  memset(t, 0, sizeof(*t));
  (void)topo; /* GEMM blocking is derived from topo where it is used */
  /* ~50 µs of single-core work at ~100 GFLOP/s: below that, a parallel
   * region's fork/join dominates. */
  for (int op = 0; op < GK_OP_COUNT; op++) t->single_thread_below[op] = 5e6;
}

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

/* Default: 80% of the arithmetic break-even K·N/(K+N). The fused path does
 * two passes with a short reduction in the second, which costs it some
 * efficiency against one long dense GEMM; the tuner measures the real
 * figure per machine. */
size_t gk_tuned_rank_crossover(size_t M, size_t K, size_t N) {
  (void)M;
  return (size_t)(0.8 * (double)K * (double)N / (double)(K + N));
}

/* Default: quadratic costs ~n²·(b/64 + d) and linear ~2·n·b·d operations,
 * so they meet near n = 2·b·d / (b/64 + d) ≈ 2b; never below 64 keys,
 * where the linear form's fixed b x d state dominates. */
size_t gk_tuned_hamming_crossover(size_t b, size_t d, int causal) {
  (void)causal;
  double n = 2.0 * (double)b * (double)d / ((double)b / 64.0 + (double)d);
  return n < 64 ? 64 : (size_t)n;
}

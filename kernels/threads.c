/* Thread-count policy. OpenMP does the work; this file decides how many:
 * gk_set_num_threads overrides, else OpenMP's own setting
 * (omp_set_num_threads / OMP_NUM_THREADS), and ops below their tuned work
 * threshold stay single-threaded, since waking a team costs more than
 * small problems take. */
#include <stdatomic.h>

#include "internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static atomic_int configured; /* 0 = follow OpenMP */

GK_API gk_status gk_set_num_threads(int n) {
  if (n < 0 || n > 4096) return GK_ERR_INVALID_ARG;
  atomic_store(&configured, n);
  return GK_OK;
}

int gk_max_threads(void) {
  int n = atomic_load(&configured);
#ifdef _OPENMP
  if (n == 0) n = omp_get_max_threads();
#endif
  return n > 0 ? n : 1;
}

GK_API int gk_get_num_threads(void) { return gk_max_threads(); }

void gk_parallel_for(int nt, size_t n, void (*fn)(void *ctx, size_t i, int tid), void *ctx) {
  if ((size_t)nt > n) nt = (int)n;
  if (nt <= 1) {
    for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (size_t i = 0; i < n; i++) fn(ctx, i, gk_thread_id());
}

int gk_thread_id(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

int gk_team_size(void) {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

int gk_threads_for(gk_op op, double work) {
  const gk_ctx *c = gk_ctx_get();
  if (work < c->tuning.single_thread_below[op]) return 1;
  return gk_max_threads();
}

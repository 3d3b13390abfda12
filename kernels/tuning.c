#include "tuning.h"

#include <math.h>
#include <string.h>

#include "internal.h"

void gk_tuning_defaults(gk_tuning *t, const gk_topology *topo) {
  memset(t, 0, sizeof(*t));
  (void)topo; /* GEMM blocking is derived from topo where it is used (gemm.c) */
  /* ~50 µs of single-core work at ~100 GFLOP/s: below that, a parallel
   * region's fork/join dominates. */
  for (int op = 0; op < GK_OP_COUNT; op++) t->single_thread_below[op] = 5e6;
  /* GEMMs and rank-r layers at small M stream their weights, which two
   * threads split. On the 2-core Xeon, warm, paired, 2 threads ran: dense
   * on packed weights 1.2-1.5x faster at 1.05 MFLOP (M = 32, K = N = 128),
   * 1.7x at 2.1 MFLOP (M = 16, K = N = 256), 2.8-3.8x at M = 2-4,
   * K = N = 768 (2.4-4.7 MFLOP: each half of W then stays in its core's
   * L2); rank-r, K = N = 768, 1.4-1.6x at 1.6 MFLOP (M = 32, r = 16),
   * 1.1-1.2x (M = 16, r = 32), even or slower at 0.8 MFLOP (M = 16,
   * r = 16; M = 8, r = 32). Tunes there put the GEMM's at 0.34-0.96 MFLOP. */
  t->single_thread_below[GK_OP_GEMM] = 1e6;
  t->single_thread_below[GK_OP_LOWRANK] = 1e6;
}

gk_tuning *gk_tuning_for_tuner(void) {
  /* the context object itself is not const; only its readers' view is */
  return (gk_tuning *)&gk_ctx_get()->tuning;
}

/* ------------------------------------------------------- sorted tables */

static int blocking_cmp(const gk_blocking_point *a, const gk_blocking_point *b) {
  return strcmp(a->tile->name, b->tile->name);
}

static int rank_cmp(const gk_rank_point *a, const gk_rank_point *b) {
  if (a->K != b->K) return a->K < b->K ? -1 : 1;
  if (a->N != b->N) return a->N < b->N ? -1 : 1;
  if (a->M != b->M) return a->M < b->M ? -1 : 1;
  return 0;
}

static int seq_cmp(const gk_seq_point *a, const gk_seq_point *b) {
  const uint32_t ka[] = {a->kind, a->param, a->d, a->causal};
  const uint32_t kb[] = {b->kind, b->param, b->d, b->causal};
  for (int i = 0; i < 4; i++)
    if (ka[i] != kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}

/* Insertion into a sorted array: the tables are small (<= 128) and built
 * once, so the clarity of one routine beats a faster structure. */
#define GK_PUT_SORTED_(arr, count, max, p, cmp)                        \
  do {                                                                 \
    size_t i_ = 0;                                                     \
    while (i_ < (count) && cmp(&(arr)[i_], &(p)) < 0) i_++;            \
    if (i_ < (count) && cmp(&(arr)[i_], &(p)) == 0) {                  \
      (arr)[i_] = (p);                                                 \
      return 1;                                                        \
    }                                                                  \
    if ((count) == (max)) return 0;                                    \
    memmove(&(arr)[i_ + 1], &(arr)[i_], ((count) - i_) * sizeof((arr)[0])); \
    (arr)[i_] = (p);                                                   \
    (count)++;                                                         \
    return 1;                                                          \
  } while (0)

int gk_tuning_put_blocking(gk_tuning *t, gk_blocking_point p) {
  GK_PUT_SORTED_(t->blocking, t->n_blocking, GK_TUNING_MAX_BLOCKING, p, blocking_cmp);
}

int gk_tuning_put_rank(gk_tuning *t, gk_rank_point p) {
  GK_PUT_SORTED_(t->rank, t->n_rank, GK_TUNING_MAX_RANK, p, rank_cmp);
}

int gk_tuning_put_seq(gk_tuning *t, gk_seq_point p) {
  GK_PUT_SORTED_(t->seq, t->n_seq, GK_TUNING_MAX_SEQ, p, seq_cmp);
}

/* ------------------------------------------------------------ defaults */

static double rank_breakeven(size_t K, size_t N) {
  return (double)K * (double)N / ((double)K + (double)N);
}

/* Default: 80% of the arithmetic break-even K·N/(K+N). The fused path does
 * two passes with a short reduction in the second, which costs it some
 * efficiency against one long dense GEMM; the tuner measures the real
 * figure per machine. */
size_t gk_default_rank_crossover(size_t M, size_t K, size_t N) {
  (void)M;
  return (size_t)(0.8 * rank_breakeven(K, N));
}

/* Default: quadratic costs ~n²·(b/64 + d) and linear ~2·n·b·d operations,
 * so they meet near n = 2·b·d / (b/64 + d) ≈ 2b; never below 64 keys,
 * where the linear form's fixed b x d state dominates. */
size_t gk_default_hamming_crossover(size_t b, size_t d, int causal) {
  (void)causal;
  double n = 2.0 * (double)b * (double)d / ((double)b / 64.0 + (double)d);
  return n < 64 ? 64 : (size_t)n;
}

/* ------------------------------------------------------- interpolation */

static double log_dist(double a, double b) { return fabs(log2(a) - log2(b)); }

/* Rank crossover from measured points. Each point is expressed as a
 * fraction of its shape's arithmetic break-even, which varies smoothly
 * with M; the query takes the nearest measured (K, N) pair (log scale),
 * interpolates the fraction linearly in log2 M there, and scales it back
 * by its own break-even. A query on a grid point returns the measured r. */
size_t gk_rank_crossover_in(const gk_tuning *t, size_t M, size_t K, size_t N) {
  if (!t->n_rank || !M || !K || !N) return gk_default_rank_crossover(M, K, N);
  double best = INFINITY;
  uint32_t bk = 0, bn = 0;
  for (size_t i = 0; i < t->n_rank; i++) {
    double d = log_dist(K, t->rank[i].K) + log_dist(N, t->rank[i].N);
    if (d < best) best = d, bk = t->rank[i].K, bn = t->rank[i].N;
  }
  /* points of that pair are contiguous and sorted by M */
  double lm = log2((double)M), frac = 0;
  const gk_rank_point *lo = NULL, *hi = NULL;
  for (size_t i = 0; i < t->n_rank; i++) {
    const gk_rank_point *p = &t->rank[i];
    if (p->K != bk || p->N != bn) continue;
    if (p->M <= M) lo = p;
    if (p->M >= M && !hi) hi = p;
  }
  if (!lo) lo = hi;
  if (!hi) hi = lo;
  double flo = lo->r / rank_breakeven(lo->K, lo->N);
  double fhi = hi->r / rank_breakeven(hi->K, hi->N);
  if (lo->M == hi->M) frac = flo;
  else {
    double w = (lm - log2(lo->M)) / (log2(hi->M) - log2(lo->M));
    frac = flo + w * (fhi - flo);
  }
  double r = frac * rank_breakeven(K, N);
  double cap = (double)(K < N ? K : N);
  if (r > cap) r = cap;
  return (size_t)(r + 0.5);
}

/* Hamming crossover: the nearest measured (b, d) with the same causality
 * (any causality if none), scaled by the cost model's ratio between the
 * query and that point, so an exact match returns the measurement. */
size_t gk_hamming_crossover_in(const gk_tuning *t, size_t b, size_t d, int causal) {
  const gk_seq_point *best = NULL;
  double bd = INFINITY;
  for (int pass = 0; pass < 2 && !best; pass++)
    for (size_t i = 0; i < t->n_seq; i++) {
      const gk_seq_point *p = &t->seq[i];
      if (p->kind != GK_SEQ_KIND_HAMMING_LINEAR) continue;
      if (pass == 0 && (int)p->causal != !!causal) continue;
      double dist = log_dist(b ? b : 1, p->param) + log_dist(d ? d : 1, p->d);
      if (dist < bd) bd = dist, best = p;
    }
  size_t model = gk_default_hamming_crossover(b, d, causal);
  if (!best) return model;
  if (best->n == 0) return SIZE_MAX; /* linear never won where measured */
  double scale = (double)model /
                 (double)gk_default_hamming_crossover(best->param, best->d, best->causal);
  return (size_t)(best->n * scale + 0.5);
}

size_t gk_seq_crossover_in(const gk_tuning *t, gk_seq_kind kind, size_t param,
                           size_t d, int causal, int *measured) {
  *measured = 0;
  for (size_t i = 0; i < t->n_seq; i++) {
    const gk_seq_point *p = &t->seq[i];
    if (p->kind == (uint32_t)kind && p->param == param && p->d == d &&
        (int)p->causal == !!causal)
      return *measured = 1, p->n;
  }
  return 0;
}

size_t gk_tuned_rank_crossover(size_t M, size_t K, size_t N) {
  return gk_rank_crossover_in(&gk_ctx_get()->tuning, M, K, N);
}

size_t gk_tuned_hamming_crossover(size_t b, size_t d, int causal) {
  return gk_hamming_crossover_in(&gk_ctx_get()->tuning, b, d, causal);
}

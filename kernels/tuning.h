/* Tunable parameters: what the tuner's profile sets and the library reads.
 * Every field has a compiled-in default derived from the detected caches
 * (tuning_defaults); a profile entry replaces one field only after it
 * passes validation, so a bad or foreign profile degrades entry by entry. */
#ifndef GK_TUNING_H
#define GK_TUNING_H

#include <stddef.h>

#include "ops.h"

typedef struct gk_tuning {
  /* per op: variant name chosen by the tuner ("" = registry priority) */
  char variant[GK_OP_COUNT][64];
  /* per op: below this much work (FLOPs) run single-threaded */
  double single_thread_below[GK_OP_COUNT];
  /* GEMM cache blocking (elements); 0 = derive from caches */
  size_t gemm_mc, gemm_kc, gemm_nc;
} gk_tuning;

struct gk_topology;
void gk_tuning_defaults(gk_tuning *t, const struct gk_topology *topo);

/* Crossovers the ops decide by (the tuner's measurements once a profile
 * is loaded, else the documented defaults in tuning.c). */

/* Largest rank r at which the fused rank-r GEMM beats dense on W = U·V for
 * an M x K -> N layer; plans use the factored path when r <= this. */
size_t gk_tuned_rank_crossover(size_t M, size_t K, size_t N);

/* Sequence length (keys) from which linear Hamming attention beats the
 * quadratic form for b-bit codes and head dimension d. */
size_t gk_tuned_hamming_crossover(size_t b, size_t d, int causal);

#endif

/* Tunable parameters: what the tuner's profile sets and the library reads.
 * Every field has a compiled-in default derived from the detected caches
 * (tuning_defaults); a profile entry replaces one field only after it
 * passes validation, so a bad or foreign profile degrades entry by entry. */
#ifndef GK_TUNING_H
#define GK_TUNING_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "shape_class.h"

/* One measured point of the rank crossover: for an M x K -> N layer, the
 * grid rank nearest where the fused rank-r path stops beating dense;
 * plans take the fused path for r <= r (0: never). err: the
 * standard error of the measurement in ranks, as the tuner's fit states
 * it (report only). */
typedef struct gk_rank_point {
  uint32_t M, K, N, r, err;
} gk_rank_point;

/* Sequence-length crossovers. Only HAMMING_LINEAR steers the library; the
 * others are information for model designers (different mathematics,
 * never substituted). `param` is b (Hamming bits) or k (Linformer rows). */
typedef enum gk_seq_kind {
  GK_SEQ_KIND_HAMMING_LINEAR = 0,    /* linear beats quadratic Hamming, param = b */
  GK_SEQ_KIND_LINFORMER_FULL = 1,    /* Linformer beats full attention, param = k */
  GK_SEQ_KIND_HAMMING_FULL = 2,      /* Hamming (best form) beats full, param = b */
  GK_SEQ_KIND_HAMMING_LINFORMER = 3, /* Hamming beats Linformer k=128, param = b */
  GK_SEQ_KIND_COUNT
} gk_seq_kind;

/* n = 0: the faster method never won within the measured range. */
typedef struct gk_seq_point {
  uint32_t kind, param, d, causal, n;
} gk_seq_point;

/* GEMM cache blocks (elements) measured on one register tile: the tile is
 * a GEMM variant of the registry (its ISA and mr x nr), and the blocks
 * apply to that tile only, in every op that runs it (dense, rank-r,
 * Linformer's projection...). Other tiles keep the blocks derived from the
 * caches: good blocks depend on the tile's shape (kc on nr, mc on mr).
 * in_place, in_place_aliased: up to how many of the tile's row tiles raw
 * KN weights are read in place rather than packed, the second when their
 * rows are a multiple of 4 KiB apart (gk_gemm_blocking); 0 where the
 * tuner did not measure them (derived from L1d). */
struct gk_variant;
typedef struct gk_blocking_point {
  const struct gk_variant *tile; /* a GK_OP_GEMM variant (registry-owned) */
  size_t mc, kc, nc;
  size_t in_place, in_place_aliased;
} gk_blocking_point;

#define GK_TUNING_MAX_BLOCKING 16
#define GK_TUNING_MAX_RANK 128
#define GK_TUNING_MAX_SEQ 128

typedef struct gk_tuning {
  /* per op and shape class: variant name chosen by the tuner ("" =
   * registry priority) */
  char variant[GK_OP_COUNT][GK_MAX_CLASSES][64];
  /* per op: below this much work (FLOPs) run single-threaded */
  double single_thread_below[GK_OP_COUNT];
  /* measured GEMM blocks per tile, sorted by tile name; a tile without an
   * entry derives its blocks from the caches */
  size_t n_blocking;
  gk_blocking_point blocking[GK_TUNING_MAX_BLOCKING];
  /* measured crossover tables, sorted; empty = the formulas in tuning.c */
  size_t n_rank, n_seq;
  gk_rank_point rank[GK_TUNING_MAX_RANK];
  gk_seq_point seq[GK_TUNING_MAX_SEQ];
  /* measurement facts recorded with the profile (report only) */
  unsigned noise_permille; /* median relative spread of the timings */
  unsigned tune_threads;   /* threads the tune ran with */
} gk_tuning;

struct gk_topology;
void gk_tuning_defaults(gk_tuning *t, const struct gk_topology *topo);

/* The context's tuning, writable: for greenkern-tune only, which tries
 * candidate values (GEMM blocks) between measurements on one thread. The
 * library itself treats the context as immutable after initialisation. */
gk_tuning *gk_tuning_for_tuner(void);

/* Table maintenance (the profile parser and the tuner): insert or replace
 * the point with the same key, keeping the table sorted. Return 0 when the
 * table is full. */
int gk_tuning_put_blocking(gk_tuning *t, gk_blocking_point p);
int gk_tuning_put_rank(gk_tuning *t, gk_rank_point p);
int gk_tuning_put_seq(gk_tuning *t, gk_seq_point p);

/* Crossovers the ops decide by (the tuner's measurements once a profile
 * is loaded, else the documented defaults in tuning.c). */

/* Largest rank r at which the fused rank-r GEMM beats dense on W = U·V for
 * an M x K -> N layer; plans use the factored path when r <= this. */
size_t gk_tuned_rank_crossover(size_t M, size_t K, size_t N);

/* Sequence length (keys) from which linear Hamming attention beats the
 * quadratic form for b-bit codes and head dimension d. */
size_t gk_tuned_hamming_crossover(size_t b, size_t d, int causal);

/* The same queries against a given tuning (tests, tuner's report). */
size_t gk_rank_crossover_in(const gk_tuning *t, size_t M, size_t K, size_t N);
size_t gk_hamming_crossover_in(const gk_tuning *t, size_t b, size_t d, int causal);
/* Informational kinds: 0 when never measured or never a win. */
size_t gk_seq_crossover_in(const gk_tuning *t, gk_seq_kind kind, size_t param,
                           size_t d, int causal, int *measured);

/* The formulas used without a profile. */
size_t gk_default_rank_crossover(size_t M, size_t K, size_t N);
size_t gk_default_hamming_crossover(size_t b, size_t d, int causal);

#endif

/* Internal GEMM interface: the engine behind gk_gemm, gk_lowrank_gemm, the
 * linear-layer plans, the Linformer projection and the hash's distance
 * products.
 *
 * The engine is BLIS/Goto style: B (the weights) is packed into panels of
 * nr columns, A (the activations) into panels of mr rows, and a register
 * tile micro-kernel of mr x nr accumulators runs over each pair of panels.
 * A variant is one tile shape on one ISA. Compiled once per ISA:
 * gemm_engine.c (blocking, threads, rank-r, registration) with the
 * micro-kernels (ukernel.h), packing (pack.h) and the unblocked GEMV and
 * dot products (gemv.h). */
#ifndef GK_GEMM_H
#define GK_GEMM_H

#include "../internal.h"

typedef struct gk_gemm_args {
  size_t M, N, K;
  const float *X; size_t ldx;             /* M x K */
  const float *W; size_t ldw;             /* K x N (KN) or N x K (NK) */
  gk_weight_layout layout;
  const float *bias;                      /* N or NULL */
  gk_activation act;
  float *Y; size_t ldy;                   /* M x N */
  int threads;                            /* 0: choose by work size */
} gk_gemm_args;

/* Y = act(X·U·V + bias), U: K x r (KN) or r x K (NK), V: r x N (KN) or
 * N x r (NK). */
typedef struct gk_lowrank_args {
  size_t M, N, K, r;
  const float *X; size_t ldx;
  const float *U; size_t ldu; gk_weight_layout u_layout;
  const float *V; size_t ldv; gk_weight_layout v_layout;
  const float *bias;
  gk_activation act;
  float *Y; size_t ldy;
  int threads;                            /* 0: choose by work size */
} gk_lowrank_args;

/* A K x N weight matrix packed for one variant: ceil(N/nr) panels, each
 * K x nr row-major (k-major), the last one zero-padded to nr columns.
 * Element (k, j) is at p[(j/nr)·K·nr + k·nr + j%nr]. Panels hold the full
 * K so any cache block of K is a contiguous slice of each panel. */
typedef struct gk_packed_b {
  const float *p;
  size_t K, N, nr;
} gk_packed_b;

/* Floats a packed K x N matrix takes for panels of nr columns. */
static inline size_t gk_packed_floats(size_t K, size_t N, size_t nr) {
  return (N + nr - 1) / nr * nr * K;
}

/* Caller-provided scratch for the engine: `per_thread` floats for each of
 * the threads the call may use, from `base` (64-byte aligned). base = NULL:
 * the engine uses its thread-local scratch (grown once, kept per thread). */
typedef struct gk_gemm_ws {
  float *base;
  size_t per_thread;
} gk_gemm_ws;

/* What a GEMM or rank-r variant registers (registry impl pointer). Every
 * entry point assumes validated arguments. The three that compute return
 * GK_OK, or GK_ERR_NO_MEMORY when a thread's scratch (ws NULL: the
 * thread-local one) cannot be allocated; Y is then partly written. Dense
 * with M = 1 (a GEMV) uses no scratch and cannot fail. */
typedef struct gk_gemm_impl {
  unsigned mr, nr;                        /* register tile */
  /* Dense on raw weights (gk_gemm). */
  gk_status (*run)(const gk_gemm_args *a);
  /* Packs a weight matrix (layout as gk_gemm_args) into dst
   * (gk_packed_floats(K, N, nr) floats). */
  void (*pack)(const float *W, size_t ldw, gk_weight_layout layout, size_t K, size_t N,
               float *dst);
  /* Dense on packed weights: Y = act(X·B + bias). */
  gk_status (*run_packed)(size_t M, const float *X, size_t ldx, const gk_packed_b *B,
                          const float *bias, gk_activation act, float *Y, size_t ldy,
                          int threads, const gk_gemm_ws *ws);
  /* Fused rank-r on packed factors: Y = act(X·U·V + bias). */
  gk_status (*lowrank_packed)(size_t M, const float *X, size_t ldx, const gk_packed_b *U,
                              const gk_packed_b *V, const float *bias, gk_activation act,
                              float *Y, size_t ldy, int threads, const gk_gemm_ws *ws);
  /* Scratch floats per thread the two packed entries need for this shape
   * (r = 0: dense). */
  size_t (*ws_floats)(size_t M, size_t N, size_t K, size_t r);
  /* Panel width the rank-r path wants U (K x r) packed with: nr, or a
   * narrower tile's for small r. V is packed with nr (pack). */
  unsigned (*u_nr)(size_t r);
  /* pack with an explicit panel width (for U: u_nr(r)). */
  void (*pack_nr)(const float *W, size_t ldw, gk_weight_layout layout, size_t K, size_t N,
                  size_t nr, float *dst);
} gk_gemm_impl;

/* The shape class of a call (shape_class.h): the public entries dispatch
 * by it, and the tuner's adapters sort their timed shapes by it. */
static inline unsigned gk_gemm_class(const gk_gemm_args *a) { return gk_rows_class(a->M); }
static inline unsigned gk_lowrank_class(const gk_lowrank_args *a) { return gk_rows_class(a->M); }

/* Validates a (shapes, strides, NULLs, overflow); GK_OK or the error. */
gk_status gk_gemm_check(const gk_gemm_args *a);
/* Runs one variant (the harness and the tuner call every variant this way;
 * the public entry passes the dispatcher's choice). */
gk_status gk_gemm_run(const gk_variant *v, const gk_gemm_args *a);
/* The highest-priority usable GEMM variant of ISA isa (else the
 * dispatcher's): kernels templated per ISA that compute through the GEMM
 * engine (the Linformer projection, decoding-sized attention) take their
 * own ISA's, so the harness checks each of them through that ISA's GEMM. */
const gk_variant *gk_gemm_for_isa(gk_isa isa);

gk_status gk_lowrank_check(const gk_lowrank_args *a);
/* Packs U and V for v's tile (thread-local scratch) and runs its fused
 * path. v is a GK_OP_LOWRANK variant. */
gk_status gk_lowrank_run(const gk_variant *v, const gk_lowrank_args *a);

/* Rank-r factors packed as im's fused path reads them: U (K x r, layout
 * u_layout) in panels of im->u_nr(r) columns at pu, V (r x N, layout
 * v_layout) in panels of im->nr at pv, each buffer the floats
 * gk_factor_floats gives. *PU and *PV then describe the two. */
void gk_factor_floats(const gk_gemm_impl *im, size_t K, size_t r, size_t N, size_t *nu,
                      size_t *nv);
void gk_pack_factors(const gk_gemm_impl *im, size_t K, size_t r, size_t N, const float *U,
                     size_t ldu, gk_weight_layout u_layout, const float *V, size_t ldv,
                     gk_weight_layout v_layout, float *pu, float *pv, gk_packed_b *PU,
                     gk_packed_b *PV);

/* Thread-local scratch of at least `floats` floats, 64-byte aligned, kept
 * for the thread's lifetime (freed at thread exit). slot 0: the engine's
 * blocks; slot 1: weights packed per call. NULL if allocation fails. */
float *gk_gemm_scratch(int slot, size_t floats);

/* This thread's engine scratch: from ws when given, else thread-local. */
static inline float *gk_gemm_ws_get(const gk_gemm_ws *ws, int tid, size_t floats) {
  if (ws && ws->base) return ws->base + (size_t)tid * ws->per_thread;
  return gk_gemm_scratch(0, floats);
}

/* The work an M-row product of `flops` floating-point operations counts
 * for the single-thread thresholds (gk_threads_for). A single row (GEMV)
 * streams its weights at a third to a quarter of a GEMM's rate per flop
 * (one Zen 3 EPYC core: 25-35 against 70-95 GFLOP/s), so a second thread
 * pays at about a quarter of the flops: there, paired, 2 threads over 1 at
 * M = 1 ran K = N = 256 0.95-1.0x, 384 1.2-1.5x (packed and N x K
 * weights; raw K x N 0.93x, quartiles 0.78-1.10), 512 1.2-1.6x, where GEMMs
 * pay from about 1 MFLOP (see gk_tuning_defaults). M = 1 had run on one
 * thread at any size: 0.51-0.70x oneDNN's 2 threads at 768 x 768 to
 * 3072 x 768. */
static inline double gk_gemm_work(size_t M, double flops) { return M == 1 ? 4.0 * flops : flops; }

/* Cache blocking in elements for the mr x nr tile of ISA isa: the blocks
 * the profile measured on that tile (ctx->tuning's blocking table), else
 * derived from the detected cache sizes. in_place_tiles: up to how many
 * row tiles raw KN weights are read in place rather than packed (see
 * raw_in_place in gemm_engine.c); the second when their rows are a
 * multiple of 4 KiB apart. kc_in_place: the K blocks of weights read in
 * place, always the cache-derived kc (at most kc): every tile reads such
 * a panel's kc rows at their stride, whose lines must stay in L1, while a
 * packed panel streams from L2 well enough that a profile may measure a
 * deeper kc faster (see tn_study_blocking). cached_floats: raw weights
 * of up to this many floats are taken to stay in cache from one thread's
 * pass over them to the next's (see grid in gemm_engine.c).
 * streamed_floats: raw weights beyond this many floats are taken to come
 * from memory, and read in place only up to the aliased limit (see
 * gk_gemm_reads_in_place). */
typedef struct gk_gemm_blocking {
  size_t mc, kc, nc;
  size_t in_place_tiles, in_place_tiles_aliased;
  size_t kc_in_place;
  size_t cached_floats, streamed_floats;
} gk_gemm_blocking;
gk_gemm_blocking gk_gemm_blocking_for(gk_isa isa, unsigned mr, unsigned nr);

/* Whether M rows (tiles of mr) read raw K x N weights of row stride ldw
 * in place rather than packing them first (the engine's choice, which the
 * tuner's in-place study also asks). Every tile then reads the rows at
 * their stride, which no hardware prefetcher follows; the first tile of
 * each panel fetches its lines. Weights that come from memory make those
 * fetches slow, as rows 4 KiB apart (every line in the same L1 sets) make
 * the re-reads slow, and both keep to the aliased limit, which the tuner
 * measures on weights of 9-13 MB. On a Zen 3 EPYC (6x16, in place over
 * packing, paired, N = 768, weights warm from the previous call): K =
 * 3072 (9.4 MB, beyond a quarter of its 32 MiB L3) M = 12-18 0.90-0.92x
 * the time, M = 24 1.0x, M = 32-64 1.03-1.13x; K = 4096 M = 18-64
 * 1.01-1.10x; K = 768-1536 (2.4-4.7 MB) M = 12-48 0.67-1.0x, M = 64
 * 0.92-1.02x. */
static inline int gk_gemm_reads_in_place(const gk_gemm_blocking *bl, size_t M, size_t K,
                                         size_t N, size_t ldw, size_t mr) {
  size_t limit = ldw % 1024 ? bl->in_place_tiles : bl->in_place_tiles_aliased;
  if ((double)K * (double)N > (double)bl->streamed_floats && limit > bl->in_place_tiles_aliased)
    limit = bl->in_place_tiles_aliased;
  return (M + mr - 1) / mr <= limit;
}

/* Whether isa's engine runs every packed B block with row tiles outer
 * (see core in gemm_engine.c), which also lowers its derived in-place
 * limits: measured on a Zen 3 EPYC (AVX2) only, so the other ISAs keep the
 * order they were measured with. */
static inline int gk_gemm_rows_outer_packed(gk_isa isa) { return isa == GK_ISA_AVX2; }

/* Rows per block when M rows are cut into blocks of about mc (a multiple
 * of mr), and the most a block can have, for sizing scratch. */
size_t gk_gemm_row_block(size_t M, size_t mc, size_t mr);
size_t gk_gemm_max_row_block(size_t mc, size_t mr);

#endif

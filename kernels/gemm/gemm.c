/* GEMM and fused rank-r GEMM: validation, public entries, engine scratch
 * and cache blocking (the engine is gemm_engine.c). */
#include <stdlib.h>

#include "gemm.h"

gk_status gk_gemm_check(const gk_gemm_args *a) {
  if (!a->X || !a->W || !a->Y) return GK_ERR_INVALID_ARG;
  if (a->layout != GK_WEIGHT_KN && a->layout != GK_WEIGHT_NK) return GK_ERR_INVALID_ARG;
  if ((unsigned)a->act > GK_ACT_GELU) return GK_ERR_INVALID_ARG;
  gk_status s;
  if ((s = gk_check_matrix(a->X, a->M, a->K, a->ldx))) return s;
  if (a->layout == GK_WEIGHT_KN) s = gk_check_matrix(a->W, a->K, a->N, a->ldw);
  else s = gk_check_matrix(a->W, a->N, a->K, a->ldw);
  if (s) return s;
  return gk_check_matrix(a->Y, a->M, a->N, a->ldy);
}

gk_status gk_gemm_run(const gk_variant *v, const gk_gemm_args *a) {
  gk_status s = gk_gemm_check(a);
  if (s) return s;
  if (!v || v->op != GK_OP_GEMM) return GK_ERR_INVALID_ARG;
  return ((const gk_gemm_impl *)v->impl)->run(a);
}

const gk_variant *gk_gemm_for_isa(gk_isa isa) {
  const gk_registry *r = gk_registry_get();
  const gk_variant *best = NULL;
  for (size_t i = 0; i < r->count; i++) {
    const gk_variant *v = r->v[i];
    if (v->op == GK_OP_GEMM && v->isa == isa && gk_variant_usable(v) &&
        (!best || v->priority > best->priority))
      best = v;
  }
  return best ? best : gk_dispatch(GK_OP_GEMM);
}

GK_API gk_status gk_gemm(size_t M, size_t N, size_t K, const float *X,
                         size_t ldx, const float *W, size_t ldw,
                         gk_weight_layout layout, const float *bias,
                         gk_activation act, float *Y, size_t ldy) {
  gk_gemm_args a = {M, N, K, X, ldx, W, ldw, layout, bias, act, Y, ldy, 0};
  return gk_gemm_run(gk_dispatch_class(GK_OP_GEMM, gk_gemm_class(&a)), &a);
}

/* ------------------------------------------------------------ rank-r */

static gk_status check_factor(const float *p, size_t rows_kn, size_t cols_kn, size_t ld,
                              gk_weight_layout layout) {
  if (layout == GK_WEIGHT_KN) return gk_check_matrix(p, rows_kn, cols_kn, ld);
  if (layout == GK_WEIGHT_NK) return gk_check_matrix(p, cols_kn, rows_kn, ld);
  return GK_ERR_INVALID_ARG;
}

gk_status gk_lowrank_check(const gk_lowrank_args *a) {
  if (!a->X || !a->U || !a->V || !a->Y) return GK_ERR_INVALID_ARG;
  if ((unsigned)a->act > GK_ACT_GELU) return GK_ERR_INVALID_ARG;
  if (a->r == 0 || a->r > a->K || a->r > a->N) return GK_ERR_INVALID_ARG;
  gk_status s;
  if ((s = gk_check_matrix(a->X, a->M, a->K, a->ldx))) return s;
  if ((s = check_factor(a->U, a->K, a->r, a->ldu, a->u_layout))) return s;
  if ((s = check_factor(a->V, a->r, a->N, a->ldv, a->v_layout))) return s;
  return gk_check_matrix(a->Y, a->M, a->N, a->ldy);
}

void gk_factor_floats(const gk_gemm_impl *im, size_t K, size_t r, size_t N, size_t *nu,
                      size_t *nv) {
  *nu = gk_packed_floats(K, r, im->u_nr(r));
  *nv = gk_packed_floats(r, N, im->nr);
}

void gk_pack_factors(const gk_gemm_impl *im, size_t K, size_t r, size_t N, const float *U,
                     size_t ldu, gk_weight_layout u_layout, const float *V, size_t ldv,
                     gk_weight_layout v_layout, float *pu, float *pv, gk_packed_b *PU,
                     gk_packed_b *PV) {
  const unsigned unr = im->u_nr(r);
  im->pack_nr(U, ldu, u_layout, K, r, unr, pu);
  im->pack(V, ldv, v_layout, r, N, pv);
  *PU = (gk_packed_b){pu, K, r, unr};
  *PV = (gk_packed_b){pv, r, N, im->nr};
}

gk_status gk_lowrank_run(const gk_variant *v, const gk_lowrank_args *a) {
  gk_status s = gk_lowrank_check(a);
  if (s) return s;
  if (!v || v->op != GK_OP_LOWRANK) return GK_ERR_INVALID_ARG;
  const gk_gemm_impl *im = v->impl;
  size_t nu, nv;
  gk_factor_floats(im, a->K, a->r, a->N, &nu, &nv);
  float *pu = gk_gemm_scratch(1, nu + nv);
  if (!pu) return GK_ERR_NO_MEMORY;
  gk_packed_b U, V;
  gk_pack_factors(im, a->K, a->r, a->N, a->U, a->ldu, a->u_layout, a->V, a->ldv, a->v_layout,
                  pu, pu + nu, &U, &V);
  return im->lowrank_packed(a->M, a->X, a->ldx, &U, &V, a->bias, a->act, a->Y, a->ldy,
                            a->threads, NULL);
}

GK_API gk_status gk_lowrank_gemm(size_t M, size_t N, size_t K, size_t r, const float *X,
                                 size_t ldx, const float *U, size_t ldu,
                                 gk_weight_layout u_layout, const float *V, size_t ldv,
                                 gk_weight_layout v_layout, const float *bias,
                                 gk_activation act, float *Y, size_t ldy) {
  gk_lowrank_args a = {M, N, K, r, X, ldx, U, ldu, u_layout, V, ldv, v_layout,
                       bias, act, Y, ldy, 0};
  return gk_lowrank_run(gk_dispatch_class(GK_OP_LOWRANK, gk_lowrank_class(&a)), &a);
}

/* ---------------------------------------------------------- scratch */

/* Per-thread buffers, freed by the key's destructor when the thread ends
 * (OpenMP pool threads keep theirs across calls: first-touch page faults
 * cost ~12 µs per page on VMs, far more than small GEMMs take). */
typedef struct scratch {
  float *p[2];
  size_t n[2];
} scratch;

static pthread_key_t scratch_key;
static gk_once scratch_once = GK_ONCE_INIT;

static void scratch_free(void *v) {
  scratch *s = v;
  gk_aligned_free(s->p[0]);
  gk_aligned_free(s->p[1]);
  free(s);
}
static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

float *gk_gemm_scratch(int slot, size_t floats) {
  gk_call_once(&scratch_once, scratch_init);
  scratch *s = pthread_getspecific(scratch_key);
  if (!s) {
    if (!(s = calloc(1, sizeof *s))) return NULL;
    if (pthread_setspecific(scratch_key, s)) {
      free(s);
      return NULL;
    }
  }
  if (s->n[slot] < floats) {
    size_t bytes;
    if (!gk_mul_ok(floats, sizeof(float), &bytes)) return NULL;
    float *p = gk_aligned_alloc(bytes);
    if (!p) return NULL;
    gk_aligned_free(s->p[slot]);
    s->p[slot] = p, s->n[slot] = floats;
  }
  return s->p[slot];
}

/* --------------------------------------------------------- blocking */

static size_t clamp_round(size_t v, size_t lo, size_t hi, size_t mult) {
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  v -= v % mult;
  return v ? v : mult;
}

/* The profile's blocks for this tile, if it measured them. */
static const gk_blocking_point *tuned_blocks(const gk_tuning *t, gk_isa isa, unsigned mr,
                                             unsigned nr) {
  for (size_t i = 0; i < t->n_blocking; i++) {
    const gk_variant *v = t->blocking[i].tile;
    const gk_gemm_impl *im = v->impl;
    if (v->isa == isa && im->mr == mr && im->nr == nr) return &t->blocking[i];
  }
  return NULL;
}

/* Blocking for this engine's loop order (see gemm_engine.c): a B
 * micro-panel (kc x nr) of up to 1.5 x L1 but kc <= 384, the A block
 * (mc x kc) a tenth of L2 on x86 and a quarter elsewhere, the B block
 * (kc x nc) a quarter of L3 (shared by the cores); rows outer (AVX2),
 * kc <= 768 and an eighth of L3 (see below). Measured on a Xeon
 * (48 KiB L1d, 2 MiB L2) against oneDNN and OpenBLAS in the same process,
 * 1 thread, BERT shapes, M = 128-2048: AVX-512 nr = 32 runs best at kc =
 * 384, ahead of Goto's half-L1 panel (kc = 192: twice the C tile loads
 * and stores) and of kc = 768 (3-8% slower); nr = 48 also at kc = 384 (a
 * 72 KiB panel: the sequential panel streams from L2 well enough), 2-4%
 * ahead of its L1-sized kc = 256 and 10-15% ahead of 128; AVX2 nr = 16 at
 * kc = 256-384, 5-8% ahead of 768. The A block: mc = 136 (a tenth of L2)
 * against 336 (a quarter), 8x48, rounds rotating, M = 512-2048: 1.01-1.08x
 * on raw and packed weights (mean 1.034x, an unchanged control
 * 0.97-1.01x), 112 and 168 about half that gain; rank-r, whose T blocks
 * are mc rows, within noise (0.92-1.04x); the AVX2 6x16 tile 1.00-1.03x.
 * NEON keeps a quarter until measured on hardware. */
gk_gemm_blocking gk_gemm_blocking_for(gk_isa isa, unsigned mr, unsigned nr) {
  const gk_ctx *c = gk_ctx_get();
  size_t l1 = c->topo.l1d ? c->topo.l1d : 32768;
  size_t l2 = c->topo.l2 > l1 ? c->topo.l2 : 262144;
  size_t l3 = c->topo.l3 > l2 ? c->topo.l3 : 4 * l2;
  gk_gemm_blocking b;
  const size_t kc_l1 = l1 * 3 / 2 / (sizeof(float) * nr); /* a micro-panel of 1.5 x L1 */
  b.kc = b.kc_in_place = clamp_round(kc_l1, 64, 384, 8);
  const size_t a_share = isa == GK_ISA_AVX512 || isa == GK_ISA_AVX2 ? 10 : 4;
  b.mc = clamp_round(l2 / a_share / (sizeof(float) * b.kc), mr, 4096, mr);
  /* Rows outer (gk_gemm_rows_outer_packed), a row tile keeps its rows of
   * A in L1 and streams the B block, so no B micro-panel need stay there:
   * K blocks twice as deep (one pass over C per 768 k steps, 18 KiB of A
   * for 6x16), but a B block of an eighth of L3, every row tile streaming
   * it again from there. On a Zen 3 EPYC (32 MiB of L3 shared with other
   * VMs) an 8 MiB block ran 12-25% slower than two of 4 MiB (768 x 2720
   * and 384 x 5440 against halves, M = 128-512, K = 768), as weights
   * beyond 3.9 MB fell out of cache there (see cached_floats). KC 768 and
   * NC 1360 against KC 384 and NC 5456 there, paired, 6x16 (mc from the
   * shallower KC, as before): raw weights, the BERT shapes, 1 thread
   * 0.955-1.005x the time, 2 threads 0.97-1.01x; plans 0.93-0.98x (2
   * threads 0.92x); rank-r plans 0.95-0.99x at r >= 64; few rows (M =
   * 24-96, N = 3072) 1.0-1.02x. KC 768 with NC 2720 instead cost those
   * few rows 1.02-1.07x and 512 x 3072 x 768 1.1x. */
  size_t b_share = 4;
  if (gk_gemm_rows_outer_packed(isa)) {
    b.kc = clamp_round(kc_l1, 64, 768, 8);
    b_share = 8;
  }
  b.nc = clamp_round(l3 / b_share / (sizeof(float) * b.kc), nr, 8192, nr);
  /* In place pays while re-reading the strided rows from L2 for every tile
   * costs less than one packing pass. Measured at 48 KiB of L1d on the
   * Xeon: 24 tiles, 8 aliased (see raw_in_place). On a Zen 3 EPYC (32
   * KiB L1d, 512 KiB L2) AVX2 6x16, in place over packing, paired: M = 16-64
   * (3-11 tiles) 1.01-1.33x, M = 96 (16) 0.98x, M = 128 (22) 0.95x;
   * aliased (N = 3072) M = 16 (3) 1.23x, M = 32-48 (6-8) 0.83-0.89x. Scaled
   * by L1d size, the Xeon's limits give 16 and 5 there. greenkern-tune
   * measures both for its GEMM tile (the profile's values below).
   * AVX2 runs packed blocks rows outer (gk_gemm_rows_outer_packed),
   * which made packing the cheaper side sooner. Paired there, in place
   * over packing (time): rows apart, K = 3072, M = 16-56 (3-10 tiles)
   * 0.70-0.96x, M = 64 (11) 0.94-1.01x, M = 96 (16) 0.99-1.07x; K = 768,
   * M = 32-40 (6-7) 1.0-1.04x, M = 64 1.02-1.14x, M = 96 1.03-1.15x;
   * aliased, M = 12 (2) 0.86x, M = 16-18 (3) 0.89-0.99x, M = 24-30 (4-5)
   * 1.05-1.16x. Hence two thirds of the tiles there and half when
   * aliased, rounded up: 11 and 3 on 32 KiB. (Measured with KC 384; with
   * KC 768 packing won at K = 3072 from 4 tiles on, and weights from
   * memory keep to the aliased limit: see gk_gemm_reads_in_place.) */
  b.in_place_tiles = 24 * l1 / 49152;
  b.in_place_tiles_aliased = 8 * l1 / 49152;
  if (gk_gemm_rows_outer_packed(isa)) {
    b.in_place_tiles = (2 * b.in_place_tiles + 2) / 3;
    b.in_place_tiles_aliased = (b.in_place_tiles_aliased + 1) / 2;
  }
  /* A sixteenth of L3, what a call can count on finding its weights in
   * when other cores and data share the L3: on a 2-core Zen 3 VM with 32
   * MiB of it, weights of up to 3.1 MB behaved cached, from 3.9 MB not
   * (see grid); 2 MiB errs on the side the measurements never found more
   * than 4% slower */
  b.cached_floats = l3 / 16 / sizeof(float);
  /* A quarter of L3: on the Zen 3 EPYC (32 MiB) weights of 4.7 MB still
   * read in place faster than packed at 4-8 row tiles, 9.4 MB not (see
   * gk_gemm_reads_in_place) */
  b.streamed_floats = l3 / 4 / sizeof(float);
  const gk_blocking_point *tuned = tuned_blocks(&c->tuning, isa, mr, nr);
  if (tuned) {
    b.kc = clamp_round(tuned->kc, 8, 4096, 8);
    b.nc = clamp_round(tuned->nc, nr, 1 << 16, nr);
    b.mc = clamp_round(tuned->mc, mr, 1 << 16, mr);
    if (tuned->in_place) b.in_place_tiles = tuned->in_place;
    if (tuned->in_place_aliased) b.in_place_tiles_aliased = tuned->in_place_aliased;
  }
  if (b.kc_in_place > b.kc) b.kc_in_place = b.kc;
  return b;
}

/* Blocks of ceil(M / n) rows rounded up to mr, n = round(M / mc): a block
 * has under 1.5 mc rows, rounded up to mr. Cut at mc instead, M = 128 on
 * the 14-row tile (mc = 126) ran a block of 2 rows, which streamed every
 * B panel (rank-r: all of U and V) again for 2 rows. The rounding can
 * still leave a short last block (M = 512 on AVX2 6x16, mc = 36: 12 x 42
 * rows and 8), but sharing the tiles out evenly instead (blocks of 36-42
 * rows) measured even on a Zen 3 EPYC, paired: dense M = 256-2048 and
 * rank-r M = 128-512, 1 and 2 threads, 0.98-1.02x. */
size_t gk_gemm_row_block(size_t M, size_t mc, size_t mr) {
  size_t n = (M + mc / 2) / mc;
  if (n == 0) n = 1;
  return gk_round_up((M + n - 1) / n, mr);
}

size_t gk_gemm_max_row_block(size_t mc, size_t mr) { return gk_round_up(mc + (mc + 1) / 2, mr); }

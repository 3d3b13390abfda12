/* The rank crossover: for each (M, K, N) of the grid, the rank r* where
 * the fused rank-r path stops beating dense (on the 16-rank grid, see
 * store). Both run as linear-layer
 * plans run them: weights packed once (dense W = U·V, or the factors U
 * and V), then the packed GEMM or the fused rank-r kernel per call, with
 * the tuned variants.
 *
 * Near r* the two times are within noise of each other, so a search that
 * asks "does fused win at r?" rank by rank gets coin tosses there and
 * wanders from run to run. The crossover is fitted instead: the fused
 * cost is close to affine in r (both of its products grow linearly with
 * r) and dense does not depend on r, so near r* the ratio fused/dense is
 * a line in r. It is measured at ranks spread around the expected
 * crossover, each a paired comparison, and a robust line through them is
 * solved for ratio 1: every comparison contributes to r*, none decides it
 * alone, and the residuals state how sure the fit is. Time left once
 * every point has its fit goes to further passes where the fit is least
 * sure, in rounds over all points (later_rounds). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fit.h"
#include "kernels/gemm/gemm.h"
#include "progress.h"
#include "tune.h"

#define R_STEP 16 /* the rank grid */

/* Weights as a model meets them: in a stack of layers each layer's weights
 * come back only after every other layer's have passed through the
 * caches, so a plan finds its weights in L3 or memory, not in L2. Timed in
 * a loop on one copy, weights that fit L2 stay there: at M = 1 the
 * factors of K = N = 768 fit L2 up to r ~ 340 and dense's W (2.4 MB) does
 * not, so the crossover landed on that cache edge and moved by two grid
 * steps between tunes. Each call therefore takes the next of `copies`
 * copies of its weights, enough copies that more than L2 passes between
 * two uses of one. This matters where weights dominate (decode sizes);
 * prefill reuses its weights over many rows either way. */
#define MAX_COPIES 4

typedef struct rank_case {
  const gk_gemm_impl *dense, *fused;
  size_t M, K, N, r;
  int threads;
  const float *X, *Uraw, *Vraw;             /* full-size random operands */
  float *Y, *pu[MAX_COPIES], *pv[MAX_COPIES]; /* output, buffers for the packed factors */
  gk_packed_b W[MAX_COPIES], U[MAX_COPIES], V[MAX_COPIES];
  unsigned w_copies, uv_copies, w_next, uv_next;
  tn_series *sd, *sf; /* the plotted curves of this point, or NULL */
  double dense_ns;    /* fastest dense call seen at this point */
} rank_case;

/* Copies of `bytes` of weights that keep them out of L2 between uses. */
static unsigned copies_for(size_t bytes) {
  size_t l2 = gk_ctx_get()->topo.l2, n = 1 + (l2 + bytes - 1) / (bytes ? bytes : 1);
  return n < MAX_COPIES ? (unsigned)n : MAX_COPIES;
}

static void run_dense(void *p) {
  rank_case *c = p;
  const gk_packed_b *W = &c->W[c->w_next++ % c->w_copies];
  c->dense->run_packed(c->M, c->X, c->K, W, NULL, GK_ACT_NONE, c->Y, c->N, c->threads, NULL);
}

static void run_fused(void *p) {
  rank_case *c = p;
  unsigned i = c->uv_next++ % c->uv_copies;
  c->fused->lowrank_packed(c->M, c->X, c->K, &c->U[i], &c->V[i], NULL, GK_ACT_NONE, c->Y, c->N,
                           c->threads, NULL);
}

/* Packed factors of rank r from the leading columns/rows of full-size
 * random matrices: only the timing matters here (the variant study has
 * checked the fused kernels against the scalar ones). */
static void pack_factors(rank_case *c) {
  /* as plans pack them: U in panels of u_nr(r), the narrow tile for small r */
  c->uv_copies = copies_for(c->r * (c->K + c->N) * sizeof(float));
  for (unsigned i = 0; i < c->uv_copies; i++)
    gk_pack_factors(c->fused, c->K, c->r, c->N, c->Uraw, c->K, GK_WEIGHT_KN, c->Vraw, c->N,
                    GK_WEIGHT_KN, c->pu[i], c->pv[i], &c->U[i], &c->V[i]);
}

/* The ratio fused/dense at rank r: dense and fused timed in alternation,
 * the ratio of their fastest samples, which a noisy neighbour moves far
 * less than either time. 0: time ran out. */
static double ratio_at(rank_case *c, size_t r, const tn_config *cfg) {
  if (tn_should_stop()) return 0;
  c->r = r;
  pack_factors(c);
  tn_progress(-1, "M=%zu K=%zu N=%zu r=%zu", c->M, c->K, c->N, c->r);
  tn_pair pr = tn_compare(run_dense, c, run_fused, c, &cfg->timing);
  if (pr.ratio <= 0) return 0;
  if (c->dense_ns == 0 || pr.a.ns < c->dense_ns) c->dense_ns = pr.a.ns;
  /* the plot shows both sides of each pair: times of one moment */
  if (pr.a.samples >= 3) {
    tn_series_add(c->sd, (double)r, pr.a.ns);
    tn_series_add(c->sf, (double)r, pr.b.ns);
  }
  return pr.ratio;
}

/* Ranks timed per pass: evenly from 0.8 to 1.2 times the pass's centre.
 * Narrow, as the line is only needed where it crosses 1: the fused cost
 * bends where the factors outgrow a cache level, and a wide lever would
 * carry that bend into r*. More ranks
 * beyond quick: the error of r* falls as one over the root of their
 * number, and distinct ranks also average the steps of the kernel's
 * tiles. */
#define SPREAD 0.2
#define MAX_RANKS 9
static size_t ranks_per_pass(tn_effort e) { return e == TN_QUICK ? 5 : MAX_RANKS; }
#define MAX_PASSES 7 /* per point: one noisy point cannot take all the time */
#define MAX_FIT (MAX_PASSES * MAX_RANKS)
_Static_assert(MAX_FIT <= TN_FIT_MAX, "a point's comparisons fit one line");
/* A fit is sure enough when its standard error is a quarter of the grid
 * step: two runs then rarely round to ranks a step apart. */
#define TARGET_ERR (R_STEP / 4.0)

/* The grid rank nearest r, within [R_STEP, rmax]: the ranks a pass times. */
static size_t on_grid(double r, size_t rmax) {
  return (size_t)tn_nearest_on_grid(r, R_STEP, R_STEP, (double)rmax);
}

/* One grid point's comparisons, kept across its passes. */
typedef struct rank_point {
  size_t M, K, N, rmax;
  size_t n;                      /* comparisons so far */
  double x[MAX_FIT], y[MAX_FIT]; /* rank, ratio fused/dense */
  int passes;                    /* complete passes */
  int fitted;                    /* a line through them rises: f holds */
  tn_crossing f;                 /* where that line reaches ratio 1 */
  double centre;                 /* of the last pass */
  double pass_s;                 /* how long the last pass took */
  tn_series *sd, *sf;            /* its plotted curves, or NULL */
} rank_point;

/* One pass at pt: dense and fused compared at ranks spread evenly over
 * ±SPREAD around centre, then the line refitted through every comparison
 * of the point. Returns 0 when time ran out before the pass was done. */
static int pass(rank_case *c, rank_point *pt, double centre, const tn_config *cfg) {
  size_t nr = ranks_per_pass(cfg->effort), prev = 0;
  double t0 = tn_now();
  int done = 1;
  /* no lower than where the spread still spans five grid ranks */
  pt->centre = centre < 8 * R_STEP ? 8 * R_STEP : centre;
  for (size_t k = 0; k < nr && pt->n < MAX_FIT; k++) {
    double at = pt->centre * (1 - SPREAD + 2 * SPREAD * (double)k / (double)(nr - 1));
    size_t rk = on_grid(at, pt->rmax);
    if (rk == prev) continue; /* rounded or clamped onto the last one */
    prev = rk;
    double q = ratio_at(c, rk, cfg);
    if (q <= 0) {
      done = 0;
      break;
    }
    pt->x[pt->n] = (double)rk, pt->y[pt->n] = q, pt->n++;
  }
  pt->fitted = tn_fit_crossing(pt->x, pt->y, pt->n, 1.0, &pt->f);
  pt->passes += done;
  pt->pass_s = tn_now() - t0;
  return done;
}

/* Whether the fitted crossing lies within the last pass's ranks (else the
 * line was extrapolated there). */
static int inside(const rank_point *pt) {
  double lo = (double)on_grid(pt->centre * (1 - SPREAD), pt->rmax);
  double hi = (double)on_grid(pt->centre * (1 + SPREAD), pt->rmax);
  return pt->f.x >= lo - R_STEP && pt->f.x <= hi + R_STEP;
}

/* Makes c the case of pt: copies of dense W packed, room for copies of
 * the factors of any rank. */
static void point_open(rank_case *c, const rank_point *pt) {
  c->M = pt->M, c->K = pt->K, c->N = pt->N;
  c->sd = pt->sd, c->sf = pt->sf;
  c->w_copies = copies_for(c->K * c->N * sizeof(float));
  for (unsigned i = 0; i < c->w_copies; i++) {
    float *pw = tn_alloc(gk_packed_floats(c->K, c->N, c->dense->nr));
    /* dense on W (any K x N matrix costs the same as U·V would) */
    c->dense->pack(c->Uraw, c->N, GK_WEIGHT_KN, c->K, c->N, pw);
    c->W[i] = (gk_packed_b){pw, c->K, c->N, c->dense->nr};
  }
  for (unsigned i = 0; i < MAX_COPIES; i++) {
    /* any r <= rmax packed in panels of u_nr(r) <= nr fits K·(rmax + nr) */
    c->pu[i] = tn_alloc(c->K * (pt->rmax + c->fused->nr));
    c->pv[i] = tn_alloc(gk_packed_floats(pt->rmax, c->N, c->fused->nr));
  }
}

static void point_close(rank_case *c) {
  for (unsigned i = 0; i < c->w_copies; i++) free((void *)c->W[i].p);
  for (unsigned i = 0; i < MAX_COPIES; i++) free(c->pu[i]), free(c->pv[i]);
}

typedef struct grid {
  const size_t (*pairs)[2];
  size_t n_pairs;
  const size_t *Ms;
  size_t n_M;
  size_t plot_M; /* M whose full curve is drawn */
} grid;

static const size_t all_pairs[][2] = {{768, 768}, {768, 3072}, {3072, 768}, {3072, 3072}};
static const size_t quick_M[] = {1, 32, 512};
static const size_t default_M[] = {1, 8, 32, 128, 512, 2048};
static const size_t thorough_M[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

/* quick and default: BERT-base's three layer shapes (attention projections
 * 768 -> 768, FFN 768 -> 3072 -> 768), at M the benchmark suite's lowrank
 * set also runs, so the two can be compared point by point (plans hold the
 * crossover's share of the break-even beyond the last M); thorough adds
 * 3072 -> 3072, whose M = 4096 point alone costs tens of seconds here */
static grid grid_for(tn_effort e) {
  if (e == TN_QUICK) return (grid){all_pairs, 3, quick_M, 3, 32};
  if (e == TN_DEFAULT) return (grid){all_pairs, 3, default_M, 6, 128};
  return (grid){all_pairs, 4, thorough_M, 13, 128};
}

/* How unsure pt's crossover is, for the order of the later rounds: a
 * point without a line, or whose line was extrapolated beyond the ranks
 * it timed, comes first; then one measured in a single pass (the error
 * its few residuals give is itself a guess, and only a pass at another
 * moment shows a load that lasted through the first); then the fit's
 * standard error. */
static double unsureness(const rank_point *pt) {
  if (!pt->fitted || !inside(pt)) return 2e9;
  if (pt->passes < 2) return 1e9;
  return pt->f.err;
}

static int wants_pass(const rank_point *pt) {
  return pt->passes && pt->passes < MAX_PASSES && unsureness(pt) > TARGET_ERR;
}

/* Sets up point i of the grid (its key, and its curves when plotted). */
static void point_init(rank_point *pt, const grid *g, size_t i, tn_results *r) {
  size_t p = i % g->n_pairs;
  pt->M = g->Ms[i / g->n_pairs], pt->K = g->pairs[p][0], pt->N = g->pairs[p][1];
  pt->rmax = pt->K < pt->N ? pt->K : pt->N;
  if (pt->M != g->plot_M) return;
  char group[48], title[48];
  snprintf(group, sizeof group, "rank_M%zu_K%zu_N%zu", pt->M, pt->K, pt->N);
  snprintf(title, sizeof title, "dense K=%zu N=%zu", pt->K, pt->N);
  pt->sd = tn_series_new(r, group, title);
  snprintf(title, sizeof title, "fused rank-r M=%zu", pt->M);
  pt->sf = tn_series_new(r, group, title);
}

/* The first round: one pass at every point, small M first, so cheap
 * points are measured before the time runs out. */
static void first_round(rank_case *c, rank_point *pts, size_t n_pts, const grid *g,
                        const tn_config *cfg, tn_results *r) {
  double s_per_flop = 0;
  size_t prev_r[4] = {0};
  for (size_t i = 0; i < n_pts && !tn_should_stop(); i++) {
    rank_point *pt = &pts[i];
    size_t p = i % g->n_pairs;
    point_init(pt, g, i, r);
    /* predicted dense call from the speed measured so far */
    if (!tn_affordable(s_per_flop * 2.0 * pt->M * pt->K * pt->N)) continue;
    tn_progress((double)i / n_pts, "M=%zu K=%zu N=%zu", pt->M, pt->K, pt->N);
    point_open(c, pt);
    /* the guess: r* of the previous M for this (K, N), which moves
     * slowly with M, else 90% of the arithmetic break-even */
    double be = (double)pt->K * pt->N / ((double)pt->K + pt->N);
    c->dense_ns = 0;
    pass(c, pt, prev_r[p] ? (double)prev_r[p] : 0.9 * be, cfg);
    if (c->dense_ns > 0) s_per_flop = 1e-9 * c->dense_ns / (2.0 * pt->M * pt->K * pt->N);
    /* the plotted shape also gets an even sweep of r */
    for (size_t k = 1; pt->sf && pt->passes && k <= 8 && !tn_should_stop(); k++)
      ratio_at(c, pt->rmax * k / 8, cfg);
    point_close(c);
    if (pt->passes && pt->fitted) prev_r[p] = (size_t)fmin(fmax(0, pt->f.x), pt->rmax);
  }
}

/* Then, while time is left, further passes in rounds: each round gives
 * every point that is not sure enough one pass, centred on its crossing,
 * the least sure first (they get the time if it runs out mid-round). A
 * point's passes are thus a whole round apart, never back to back: a slow
 * drift of the machine (a neighbour's load, the clock) is averaged into
 * every point's fit instead of landing on the one point measured while it
 * lasted, which would move that point's r* against its neighbours'. This
 * includes a point whose first line crossed 1 outside the ranks it timed:
 * its next pass, around that crossing, waits for its round too. */
static void later_rounds(rank_case *c, rank_point *pts, size_t n_pts, const tn_config *cfg) {
  rank_point **order = malloc(n_pts * sizeof *order);
  if (!order) return;
  for (int round = 2; !tn_should_stop(); round++) {
    size_t n = 0, done = 0;
    for (size_t i = 0; i < n_pts; i++)
      if (wants_pass(&pts[i])) order[n++] = &pts[i];
    for (size_t a = 1; a < n; a++)
      for (size_t b = a; b > 0 && unsureness(order[b - 1]) < unsureness(order[b]); b--) {
        rank_point *x = order[b];
        order[b] = order[b - 1], order[b - 1] = x;
      }
    for (size_t k = 0; k < n && !tn_should_stop(); k++) {
      rank_point *pt = order[k];
      if (pt->pass_s >= tn_time_left()) continue;
      tn_progress(-1, "round %d: M=%zu K=%zu N=%zu, pass %d", round, pt->M, pt->K, pt->N,
                  pt->passes + 1);
      point_open(c, pt);
      done += pass(c, pt, pt->fitted ? pt->f.x : pt->centre, cfg);
      point_close(c);
    }
    if (!done) break; /* every point sure enough, spent, or too slow for the time left */
  }
  free(order);
}

/* The crossovers into the profile's table. Nearest, not floor: the fit
 * estimates where the ratio fused/dense crosses 1, and the grid rank
 * nearest that crossing is the best estimate of it the grid can hold
 * (off by at most half a step, with no bias), while rounding down moved
 * every point a mean half step low and up to a full step. For the plans,
 * which take the fused path when r <= r*: ranks up to half a step past
 * the crossing may now run fused, ranks as far before it did run dense
 * before; either way the two paths are within that half step's share of
 * each other's time there (the ratio's slope times 8 ranks: at most
 * about 2% at r* = 384), and paying that on both sides of the crossing
 * halves the largest mistake instead of always erring towards dense. */
static void store(const rank_point *pts, size_t n_pts, tn_results *r) {
  size_t measured = 0, unsure = 0;
  for (size_t i = 0; i < n_pts; i++) {
    const rank_point *pt = &pts[i];
    if (!pt->passes) continue;
    if (!pt->fitted) {
      tn_note(r, "rank: no crossover at M=%zu K=%zu N=%zu (fused time did not grow with r)",
              pt->M, pt->K, pt->N);
      continue;
    }
    /* within [0, rmax], and the error no larger than that range either */
    double rmax = (double)pt->rmax;
    double rs = tn_nearest_on_grid(pt->f.x, R_STEP, 0, rmax);
    gk_tuning_put_rank(&r->t, (gk_rank_point){(uint32_t)pt->M, (uint32_t)pt->K, (uint32_t)pt->N,
                                              (uint32_t)rs, (uint32_t)fmin(ceil(pt->f.err), rmax)});
    measured++;
    unsure += pt->f.err > TARGET_ERR;
  }
  if (measured < n_pts)
    tn_note(r, "rank: %zu of %zu grid points measured", measured, n_pts);
  if (unsure)
    tn_note(r, "rank: %zu of the crossovers less sure than ±%.0f ranks (a noisy machine: the "
               "time ran out, or their passes were spent)", unsure, TARGET_ERR);
}

/* The plotted curves: sorted by r (the passes visit r out of order), one
 * point per r (the fastest, as everywhere). */
static void tidy_series(tn_results *r) {
  for (size_t i = 0; i < r->n_series; i++) {
    tn_series *s = &r->series[i];
    for (size_t a = 1; a < s->n; a++)
      for (size_t b = a; b > 0 && s->x[b - 1] > s->x[b]; b--) {
        double x = s->x[b], y = s->ns[b];
        s->x[b] = s->x[b - 1], s->ns[b] = s->ns[b - 1];
        s->x[b - 1] = x, s->ns[b - 1] = y;
      }
    size_t n = 0;
    for (size_t a = 0; a < s->n; a++) {
      if (n && s->x[n - 1] == s->x[a]) {
        if (s->ns[a] < s->ns[n - 1]) s->ns[n - 1] = s->ns[a];
        continue;
      }
      s->x[n] = s->x[a], s->ns[n] = s->ns[a], n++;
    }
    s->n = n;
  }
}

void tn_study_rank(const tn_config *cfg, tn_results *r) {
  const gk_variant *vd = tn_variant_for(r, GK_OP_GEMM), *vf = tn_variant_for(r, GK_OP_LOWRANK);
  grid g = grid_for(cfg->effort);
  size_t maxK = 3072, maxN = 3072, maxM = g.Ms[g.n_M - 1];
  float *X = tn_alloc(maxM * maxK), *Y = tn_alloc(maxM * maxN);
  float *Uraw = tn_alloc(maxK * maxN), *Vraw = tn_alloc(maxK * maxN);
  tn_fill(X, maxM * maxK, 11), tn_fill(Uraw, maxK * maxN, 12), tn_fill(Vraw, maxK * maxN, 13);
  /* Both paths at the tune's thread count, so r* compares like with like.
   * Left to the thread study's thresholds (as a plan's calls are), the
   * two paths could run on different thread counts, and those thresholds
   * had moved by factors of 3-60 between tunes of one machine: at M = 32,
   * K = N = 768, fused ran on one thread against dense on two in one tune
   * (r* 176) and on two in the next (r* 320). */
  rank_case c = {.dense = vd->impl, .fused = vf->impl, .X = X, .Uraw = Uraw, .Vraw = Vraw, .Y = Y,
                 .threads = cfg->threads};
  size_t n_pts = g.n_pairs * g.n_M;
  rank_point *pts = calloc(n_pts, sizeof *pts);
  if (pts) {
    first_round(&c, pts, n_pts, &g, cfg, r);
    later_rounds(&c, pts, n_pts, cfg);
    store(pts, n_pts, r);
    tidy_series(r);
  } else {
    tn_note(r, "rank: out of memory");
  }
  free(pts);
  free(X), free(Y), free(Uraw), free(Vraw);
}

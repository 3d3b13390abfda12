/* The rank crossover: for each (M, K, N) of the grid, the largest rank r
 * at which the fused rank-r path beats dense. Both run as linear-layer
 * plans run them: weights packed once (dense W = U·V, or the factors U
 * and V), then the packed GEMM or the fused rank-r kernel per call, with
 * the tuned variants. Binary search over r on a grid of step 16 assumes
 * the fused time grows with r, as both of its products do. Each step
 * times dense and fused in alternation and decides by their paired ratio. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/gemm/gemm.h"
#include "progress.h"
#include "tune.h"

#define R_STEP 16 /* the rank grid */

typedef struct rank_case {
  const gk_gemm_impl *dense, *fused;
  size_t M, K, N, r;
  int threads;
  const float *X;
  float *Y;
  gk_packed_b W, U, V;
} rank_case;

static void run_dense(void *p) {
  rank_case *c = p;
  c->dense->run_packed(c->M, c->X, c->K, &c->W, NULL, GK_ACT_NONE, c->Y, c->N, c->threads, NULL);
}

static void run_fused(void *p) {
  rank_case *c = p;
  c->fused->lowrank_packed(c->M, c->X, c->K, &c->U, &c->V, NULL, GK_ACT_NONE, c->Y, c->N,
                           c->threads, NULL);
}

/* Packed factors of rank r from the leading columns/rows of full-size
 * random matrices: only the timing matters here (the variant study has
 * checked the fused kernels against the scalar ones). */
static void pack_factors(rank_case *c, const float *Uraw, const float *Vraw, float *pu, float *pv) {
  /* U as plans pack it: panels of u_nr(r), the narrow tile for small r */
  unsigned unr = c->fused->u_nr(c->r);
  c->fused->pack_nr(Uraw, c->K, GK_WEIGHT_KN, c->K, c->r, unr, pu);
  c->fused->pack(Vraw, c->N, GK_WEIGHT_KN, c->r, c->N, pv);
  c->U = (gk_packed_b){pu, c->K, c->r, unr};
  c->V = (gk_packed_b){pv, c->r, c->N, c->fused->nr};
}

/* Does the fused path at rank step i beat dense? Dense and fused are
 * timed in alternation: the decision is the ratio of their fastest
 * samples, which a noisy neighbour moves far less than either time.
 * 1: fused wins, 0: dense wins, -1: time ran out. */
static int wins(rank_case *c, size_t i, const float *Uraw, const float *Vraw, float *pu,
                float *pv, const tn_config *cfg, tn_series *sd, tn_series *sf,
                double *dense_ns) {
  if (tn_should_stop()) return -1;
  c->r = i * R_STEP;
  pack_factors(c, Uraw, Vraw, pu, pv);
  tn_progress(-1, "M=%zu K=%zu N=%zu r=%zu", c->M, c->K, c->N, c->r);
  tn_pair pr = tn_compare(run_dense, c, run_fused, c, &cfg->timing);
  if (pr.ratio <= 0) return -1;
  /* within 5%: the decision is the noise's; a second round sharpens both
   * fastest samples where it matters, next to r* */
  if (fabs(pr.ratio - 1) < 0.05) {
    tn_pair p2 = tn_compare(run_dense, c, run_fused, c, &cfg->timing);
    if (p2.ratio > 0) {
      if (p2.a.ns < pr.a.ns) pr.a = p2.a;
      if (p2.b.ns < pr.b.ns) pr.b = p2.b;
      pr.ratio = pr.b.ns / pr.a.ns;
    }
  }
  if (*dense_ns == 0 || pr.a.ns < *dense_ns) *dense_ns = pr.a.ns;
  /* the plot shows both sides of each pair: times of one moment */
  if (pr.a.samples >= 3) {
    tn_series_add(sd, (double)c->r, pr.a.ns);
    tn_series_add(sf, (double)c->r, pr.b.ns);
  }
  return pr.ratio < 1;
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
static const size_t default_M[] = {1, 8, 64, 256, 1024, 4096};
static const size_t thorough_M[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

/* quick and default: BERT-base's three layer shapes (attention projections
 * 768 -> 768, FFN 768 -> 3072 -> 768); thorough adds 3072 -> 3072, whose
 * M = 4096 point alone costs tens of seconds here */
static grid grid_for(tn_effort e) {
  if (e == TN_QUICK) return (grid){all_pairs, 3, quick_M, 3, 32};
  if (e == TN_DEFAULT) return (grid){all_pairs, 3, default_M, 6, 64};
  return (grid){all_pairs, 4, thorough_M, 13, 128};
}

void tn_study_rank(const tn_config *cfg, tn_results *r) {
  const gk_variant *vd = tn_variant_for(r, GK_OP_GEMM), *vf = tn_variant_for(r, GK_OP_LOWRANK);
  grid g = grid_for(cfg->effort);
  size_t maxK = 3072, maxN = 3072, maxM = g.Ms[g.n_M - 1];
  float *X = tn_alloc(maxM * maxK), *Y = tn_alloc(maxM * maxN);
  float *Uraw = tn_alloc(maxK * maxN), *Vraw = tn_alloc(maxK * maxN);
  tn_fill(X, maxM * maxK, 11), tn_fill(Uraw, maxK * maxN, 12), tn_fill(Vraw, maxK * maxN, 13);
  /* threads 0: each path picks its thread count by its work, as a plan
   * does (the thread study's thresholds are live by now) */
  rank_case c = {vd->impl, vf->impl, 0, 0, 0, 0, 0, X, Y, {0}, {0}, {0}};
  size_t step_total = g.n_pairs * g.n_M, step = 0;
  double s_per_flop = 0;
  size_t prev_r[4] = {0};
  int incomplete = 0;
  /* small M first: cheap points are measured before the time runs out */
  for (size_t m = 0; m < g.n_M && !tn_should_stop(); m++)
    for (size_t p = 0; p < g.n_pairs && !tn_should_stop(); p++, step++) {
      c.M = g.Ms[m], c.K = g.pairs[p][0], c.N = g.pairs[p][1];
      size_t rmax = c.K < c.N ? c.K : c.N;
      /* predicted dense call from the speed measured so far */
      if (!tn_affordable(s_per_flop * 2.0 * c.M * c.K * c.N)) {
        incomplete++;
        continue;
      }
      float *pw = tn_alloc(gk_packed_floats(c.K, c.N, c.dense->nr));
      /* any r <= rmax packed in panels of u_nr(r) <= nr fits K·(rmax + nr) */
      float *pu = tn_alloc(c.K * (rmax + c.fused->nr));
      float *pv = tn_alloc(gk_packed_floats(rmax, c.N, c.fused->nr));
      /* dense on W (any K x N matrix costs the same as U·V would) */
      c.dense->pack(Uraw, c.N, GK_WEIGHT_KN, c.K, c.N, pw);
      c.W = (gk_packed_b){pw, c.K, c.N, c.dense->nr};
      tn_progress((double)step / step_total, "M=%zu K=%zu N=%zu", c.M, c.K, c.N);
      char group[48], title[48];
      snprintf(group, sizeof group, "rank_M%zu_K%zu_N%zu", c.M, c.K, c.N);
      tn_series *sf = NULL, *sd = NULL;
      if (c.M == g.plot_M) {
        snprintf(title, sizeof title, "dense K=%zu N=%zu", c.K, c.N);
        sd = tn_series_new(r, group, title);
        snprintf(title, sizeof title, "fused rank-r M=%zu", c.M);
        sf = tn_series_new(r, group, title);
      }
      /* Ranks are steps i·R_STEP, i = 1..steps. lo: a step known to win
       * (0: none), hi: known to lose (steps + 1: none). Galloping from a
       * guess — the r* of the previous M for this (K, N), which moves
       * slowly with M, else 90% of the break-even — brackets r* in a few
       * comparisons; bisection finishes. */
      const size_t steps = rmax / R_STEP;
      size_t lo = 0, hi = steps + 1;
      double be = (double)c.K * c.N / ((double)c.K + c.N);
      size_t guess = prev_r[p] ? prev_r[p] / R_STEP : (size_t)(0.9 * be / R_STEP);
      if (guess < 1) guess = 1;
      if (guess > steps) guess = steps;
      double dense_ns = 0;
      int ok = 1, w = wins(&c, guess, Uraw, Vraw, pu, pv, cfg, sd, sf, &dense_ns);
      if (w < 0) ok = 0;
      else if (w) {
        lo = guess;
        for (size_t d = 1; ok && lo + d < hi; d *= 2) {
          int x = wins(&c, lo + d, Uraw, Vraw, pu, pv, cfg, sd, sf, &dense_ns);
          if (x < 0) ok = 0;
          else if (x) lo += d;
          else { hi = lo + d; break; }
        }
      } else {
        hi = guess;
        for (size_t d = 1; ok && hi > lo + d; d *= 2) {
          int x = wins(&c, hi - d, Uraw, Vraw, pu, pv, cfg, sd, sf, &dense_ns);
          if (x < 0) ok = 0;
          else if (!x) hi -= d;
          else { lo = hi - d; break; }
        }
      }
      while (ok && hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        int x = wins(&c, mid, Uraw, Vraw, pu, pv, cfg, sd, sf, &dense_ns);
        if (x < 0) ok = 0;
        else if (x) lo = mid;
        else hi = mid;
      }
      if (dense_ns > 0) s_per_flop = 1e-9 * dense_ns / (2.0 * c.M * c.K * c.N);
      /* the plotted shape also gets an even sweep of r */
      for (size_t k = 1; sf && ok && k <= 8 && !tn_should_stop(); k++)
        wins(&c, rmax * k / 8 / R_STEP, Uraw, Vraw, pu, pv, cfg, sd, sf, &dense_ns);
      if (ok && hi - lo <= 1) {
        gk_rank_point pt = {(uint32_t)c.M, (uint32_t)c.K, (uint32_t)c.N,
                            (uint32_t)(lo * R_STEP)};
        gk_tuning_put_rank(&r->t, pt);
        prev_r[p] = lo * R_STEP;
      } else {
        incomplete++;
      }
      free(pw), free(pu), free(pv);
    }
  if (incomplete || step < step_total)
    tn_note(r, "rank: %zu of %zu grid points measured (time limit)",
            step - (size_t)incomplete, step_total);
  /* the plotted curves: sorted by r (the search visits r out of order),
   * one point per r (the fastest, as everywhere) */
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
  free(X), free(Y), free(Uraw), free(Vraw);
}

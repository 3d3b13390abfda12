/* GEMM cache blocks of one tile, the GEMM op's variant (the blocks are
 * stored for that tile only: another tile's shape wants other blocks):
 * start from the engine's cache-derived defaults (gk_gemm_blocking_for
 * with an empty profile) and refine by coordinate
 * descent — KC, then MC, then NC, each tried at half and double — on the
 * packed dense GEMM of BERT-base's largest layer (M=512, K=768, N=3072)
 * and its prefill attention projection (M=128, K=N=768), each candidate
 * timed in alternation with the current blocks. A change is kept only on
 * clear evidence (candidate_wins): less is within the noise. */
#include <stdio.h>
#include <stdlib.h>

#include "fit.h"
#include "kernels/gemm/gemm.h"
#include "progress.h"
#include "tune.h"

typedef struct bcase {
  const gk_gemm_impl *im;
  size_t M, K, N;
  int threads;
  float *X, *Y;
  gk_packed_b W;
} bcase;

static void run(void *p) {
  bcase *c = p;
  c->im->run_packed(c->M, c->X, c->K, &c->W, NULL, GK_ACT_NONE, c->Y, c->N, c->threads, NULL);
}

/* One side of a paired comparison: a shape under given blocks. */
typedef struct blocked {
  bcase *c;
  const gk_variant *tile;
  size_t mc, kc, nc;
} blocked;

/* The blocks the library will use for tile: the live profile's entry. */
static void set_live(const gk_variant *tile, const size_t b[3]) {
  gk_tuning_put_blocking(gk_tuning_for_tuner(), (gk_blocking_point){tile, b[0], b[1], b[2]});
}

static void run_blocked(void *p) {
  blocked *b = p;
  set_live(b->tile, (const size_t[3]){b->mc, b->kc, b->nc});
  run(b->c);
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Whether blocks b0 and b1 split shape c differently: NC = 2016 and 4032
 * are one block on N = 768. Such a shape runs the same code both ways, and
 * its ratio, a coin toss about 1, would cast the "faster on every shape"
 * vote (NC went 2016 and 4032 by turns in two tunes). */
static int blocks_differ(const bcase *c, const size_t b0[3], const size_t b1[3]) {
  const size_t dim[3] = {c->M, c->K, c->N};
  for (int f = 0; f < 3; f++)
    if (min_size(b0[f], dim[f]) != min_size(b1[f], dim[f])) return 1;
  return 0;
}

/* Candidate blocks against the current ones, timed in alternation on each
 * shape they block differently and judged by the variant study's rule
 * (tn_variant_verdict): the candidate wins only when faster on every such
 * shape and, on the geometric mean, by more than max(3%, twice the noise
 * of the paired ratios). With a fixed 3% alone, two tunes of one machine
 * picked KC 256 and 512 by turns, which moved the rank crossovers measured
 * against this GEMM. Returns 1 when the candidate wins, 0 when not (or no
 * shape tells them apart), -1 when time ran out. */
static int candidate_wins(bcase *cases, int n_cases, const gk_variant *tile, const size_t cur[3],
                          const size_t cand[3], const tn_config *cfg) {
  double ratio[TN_FIT_MAX], noise[TN_FIT_MAX];
  int n = 0;
  for (int i = 0; i < n_cases; i++) {
    if (!blocks_differ(&cases[i], cur, cand)) continue;
    blocked a = {&cases[i], tile, cur[0], cur[1], cur[2]};
    blocked b = {&cases[i], tile, cand[0], cand[1], cand[2]};
    tn_pair p = tn_compare(run_blocked, &a, run_blocked, &b, &cfg->timing);
    if (!(p.ratio > 0)) return -1;
    ratio[n] = p.ratio;
    noise[n++] = tn_pair_noise(&p);
  }
  if (!n) return 0;
  tn_verdict v;
  return tn_variant_verdict(ratio, noise, (size_t)n, 0.03, &v) && v.rival_wins;
}

void tn_study_blocking(const tn_config *cfg, tn_results *r) {
  const gk_variant *v = tn_variant_for(r, GK_OP_GEMM);
  const gk_gemm_impl *im = v->impl;
  /* the live profile is the compiled-in defaults (main.c): no entry yet */
  gk_gemm_blocking def = gk_gemm_blocking_for(v->isa, im->mr, im->nr);

  static const size_t shapes[][3] = {{512, 768, 3072}, {128, 768, 768}};
  bcase cases[2];
  for (int i = 0; i < 2; i++) {
    bcase *c = &cases[i];
    *c = (bcase){im, shapes[i][0], shapes[i][1], shapes[i][2], cfg->threads, NULL, NULL, {0}};
    c->X = tn_alloc(c->M * c->K), c->Y = tn_alloc(c->M * c->N);
    float *W = tn_alloc(c->K * c->N), *pw = tn_alloc(gk_packed_floats(c->K, c->N, im->nr));
    tn_fill(c->X, c->M * c->K, 21), tn_fill(W, c->K * c->N, 22);
    im->pack(W, c->N, GK_WEIGHT_KN, c->K, c->N, pw);
    free(W);
    c->W = (gk_packed_b){pw, c->K, c->N, im->nr};
  }

  size_t cur[3] = {def.mc, def.kc, def.nc}; /* mc, kc, nc */
  tn_progress(0, "%s defaults MC=%zu KC=%zu NC=%zu", v->name, cur[0], cur[1], cur[2]);
  static const int order[3] = {1, 0, 2}; /* KC first: it sizes the L1 panels */
  static const char *names[3] = {"MC", "KC", "NC"};
  int tries = 0, measured = 0;
  for (int o = 0; o < 3 && !tn_should_stop(); o++) {
    int f = order[o];
    size_t base = cur[f];
    for (int k = 0; k < 2 && !tn_should_stop(); k++, tries++) {
      size_t cand[3] = {cur[0], cur[1], cur[2]};
      cand[f] = k == 0 ? base / 2 : base * 2;
      set_live(v, cand);
      /* the engine clamps and rounds: time what it will really use */
      gk_gemm_blocking eff = gk_gemm_blocking_for(v->isa, im->mr, im->nr);
      size_t effv[3] = {eff.mc, eff.kc, eff.nc};
      if (effv[f] == cur[f]) continue;
      tn_progress(tries / 6.0, "%s=%zu", names[f], effv[f]);
      int won = candidate_wins(cases, 2, v, cur, effv, cfg);
      if (won < 0) break;
      measured++;
      if (won) cur[0] = effv[0], cur[1] = effv[1], cur[2] = effv[2];
    }
  }
  /* later studies run with the blocks chosen (the defaults when nothing
   * was measured: the engine's own values, which it keeps as they are) */
  set_live(v, cur);
  if (measured) {
    gk_tuning_put_blocking(&r->t, (gk_blocking_point){v, cur[0], cur[1], cur[2]});
    if (cur[0] == def.mc && cur[1] == def.kc && cur[2] == def.nc)
      tn_note(r, "blocking: the cache-derived defaults MC=%zu KC=%zu NC=%zu held on %s", cur[0],
              cur[1], cur[2], v->name);
  } else {
    tn_note(r, "blocking: not measured (time limit)");
  }
  for (int i = 0; i < 2; i++) free(cases[i].X), free(cases[i].Y), free((void *)cases[i].W.p);
}

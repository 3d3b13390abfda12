/* GEMM cache blocks of one tile, the GEMM op's variant (the blocks are
 * stored for that tile only: another tile's shape wants other blocks):
 * start from the engine's cache-derived defaults (gk_gemm_blocking_for
 * with an empty profile) and refine by coordinate
 * descent — KC, then MC, then NC, each tried at half and double, KC with
 * NC moved the other way (see the study) — on the
 * packed dense GEMM of BERT-base's largest layer (M=512, K=768, N=3072)
 * and its prefill attention projection (M=128, K=N=768), each candidate
 * timed in alternation with the current blocks. A change is kept only on
 * clear evidence (candidate_wins): less is within the noise.
 *
 * Then, on those blocks, the row-tile counts up to which raw KN weights
 * are read in place rather than packed (see in_place_study). */
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

/* The blocks the library will use for tile: the live profile's entry
 * (in-place limits 0: derived). */
static void set_live(const gk_variant *tile, const size_t b[3]) {
  gk_tuning_put_blocking(gk_tuning_for_tuner(), (gk_blocking_point){tile, b[0], b[1], b[2], 0, 0});
}

static void run_blocked(void *p) {
  blocked *b = p;
  set_live(b->tile, (const size_t[3]){b->mc, b->kc, b->nc});
  run(b->c);
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Paired ratios (candidate's time over the current choice's) to a verdict,
 * by the variant study's rule (tn_variant_verdict): the candidate wins
 * only when faster on every shape and, on the geometric mean, by more than
 * max(3%, twice the noise). 1: the candidate wins; 0: it does not, or
 * nothing was compared. */
static int judge(const double *ratio, const double *noise, int n) {
  tn_verdict v;
  return n > 0 && tn_variant_verdict(ratio, noise, (size_t)n, 0.03, &v) && v.rival_wins;
}

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
  return judge(ratio, noise, n);
}

/* Candidate blocks cand (mc, kc, nc) against cur, as the engine will use
 * them (it clamps and rounds); cur becomes the winner. 1: cand won, 0: it
 * did not or runs as cur does, -1: time ran out. */
static int try_blocks(bcase *cases, const gk_variant *v, size_t cur[3], const size_t cand[3],
                      double progress, const tn_config *cfg, int *measured) {
  const gk_gemm_impl *im = v->impl;
  set_live(v, cand);
  gk_gemm_blocking eff = gk_gemm_blocking_for(v->isa, im->mr, im->nr);
  const size_t effv[3] = {eff.mc, eff.kc, eff.nc};
  if (effv[0] == cur[0] && effv[1] == cur[1] && effv[2] == cur[2]) return 0;
  tn_progress(progress, "MC=%zu KC=%zu NC=%zu", effv[0], effv[1], effv[2]);
  int won = candidate_wins(cases, 2, v, cur, effv, cfg);
  if (won >= 0) ++*measured;
  if (won > 0) cur[0] = effv[0], cur[1] = effv[1], cur[2] = effv[2];
  return won;
}

/* ------------------------------------------------------ in place */

/* A raw-weight GEMM (gk_gemm's path: KN weights as the caller holds
 * them) of up to max_m rows, one thread: the in-place rule is per
 * thread's share of the rows (see grid in gemm_engine.c). */
typedef struct rawcase {
  const gk_gemm_impl *im;
  size_t K, N, max_m;
  float *X, *W, *Y;
} rawcase;

/* One side: M rows under in-place limits lim[2] with the chosen blocks. */
typedef struct limited {
  rawcase *c;
  const gk_variant *tile;
  const size_t *blocks;
  size_t lim[2], M;
} limited;

static void run_limited(void *p) {
  limited *s = p;
  const size_t *b = s->blocks;
  gk_tuning_put_blocking(gk_tuning_for_tuner(),
                         (gk_blocking_point){s->tile, b[0], b[1], b[2], s->lim[0], s->lim[1]});
  rawcase *c = s->c;
  gk_gemm_args a = {s->M, c->N, c->K, c->X, c->K, c->W, c->N, GK_WEIGHT_KN,
                    NULL, GK_ACT_NONE, c->Y, c->N, 1};
  c->im->run(&a);
}

/* Whether the engine reads s's weights in place under s's limits. */
static int reads_in_place(const limited *s) {
  const gk_gemm_impl *im = s->tile->impl;
  gk_gemm_blocking bl = gk_gemm_blocking_for(s->tile->isa, im->mr, im->nr);
  bl.in_place_tiles = s->lim[0], bl.in_place_tiles_aliased = s->lim[1];
  return gk_gemm_reads_in_place(&bl, s->M, s->c->K, s->c->N, s->c->N, im->mr);
}

/* Whether limit cand beats cur for `kind` (0: rows apart, 1: rows 4 KiB
 * apart) at `tiles` row tiles, on every case that the two limits treat
 * differently (weights from memory keep to the aliased limit, see
 * gk_gemm_reads_in_place: a case that runs the same code both ways would
 * cast a coin toss's vote); -1 when time ran out. *compared: the cases
 * timed. */
static int limit_wins(rawcase *cases, int n_cases, const gk_variant *tile, const size_t blocks[3],
                      const size_t lim[2], int kind, size_t cand, size_t tiles,
                      const tn_config *cfg, int *compared) {
  const gk_gemm_impl *im = tile->impl;
  double ratio[TN_FIT_MAX], noise[TN_FIT_MAX];
  int n = 0;
  for (int i = 0; i < n_cases; i++) {
    limited a = {&cases[i], tile, blocks, {lim[0], lim[1]}, tiles * im->mr};
    limited b = a;
    b.lim[kind] = cand;
    if (reads_in_place(&a) == reads_in_place(&b)) continue;
    double call_s = 2.0 * (double)a.M * (double)cases[i].K * (double)cases[i].N / 20e9;
    if (!tn_affordable(2 * call_s)) return -1;
    tn_pair p = tn_compare(run_limited, &a, run_limited, &b, &cfg->timing);
    if (!(p.ratio > 0)) return -1;
    ratio[n] = p.ratio;
    noise[n++] = tn_pair_noise(&p);
  }
  *compared = n;
  return judge(ratio, noise, n);
}

/* One step of the walk below: limit cand against lim[kind] at `tiles`
 * row tiles. 1: cand won and is the limit now; 0: it did not; -1: time
 * ran out. */
static int try_limit(rawcase *cases, int n_cases, const gk_variant *tile, const size_t blocks[3],
                     size_t lim[2], int kind, size_t cand, size_t tiles, const tn_config *cfg,
                     int *measured) {
  tn_progress(0.5 + 0.25 * kind, "%s at %zu row tiles%s", cand >= tiles ? "in place" : "packed",
              tiles, kind ? ", aliased" : "");
  int compared = 0;
  int w = limit_wins(cases, n_cases, tile, blocks, lim, kind, cand, tiles, cfg, &compared);
  if (w >= 0 && compared) ++*measured;
  if (w > 0) lim[kind] = cand;
  return w;
}

/* The limit of one kind: from the derived one, up the ladder of tile
 * counts while reading in place wins clearly at the next count (where the
 * current limit packs), else down while packing wins clearly at the
 * current limit. The cost of a wrong step is smallest where the timings
 * cannot tell the two apart, so the noise margin settles it. Rows beyond
 * a case's max_m are not tried. lim[kind] becomes the limit; *measured
 * counts the comparisons made. */
static void in_place_limit(rawcase *cases, int n_cases, const gk_variant *tile,
                           const size_t blocks[3], size_t lim[2], int kind, const tn_config *cfg,
                           int *measured) {
  static const size_t ladder[] = {1, 2, 3, 4, 6, 8, 11, 16, 22, 32, 45, 64, 90, 128};
  const size_t steps = sizeof ladder / sizeof *ladder;
  const size_t mr = ((const gk_gemm_impl *)tile->impl)->mr;
  int moved = 0, w;
  for (size_t i = 0; i < steps && !tn_should_stop(); i++) {
    if (ladder[i] <= lim[kind]) continue;
    if (ladder[i] * mr > cases[0].max_m) break;
    w = try_limit(cases, n_cases, tile, blocks, lim, kind, ladder[i], ladder[i], cfg, measured);
    if (w < 0) return;
    if (!w) break;
    moved = 1;
  }
  for (size_t i = steps; !moved && i-- > 0 && !tn_should_stop();) {
    if (ladder[i] >= lim[kind]) continue;
    if (lim[kind] * mr > cases[0].max_m) break;
    if (try_limit(cases, n_cases, tile, blocks, lim, kind, ladder[i], lim[kind], cfg, measured) <= 0)
      break;
  }
}

/* Up to how many row tiles raw KN weights are read in place (every tile
 * reading the rows at their stride) rather than packed (a pass over B
 * before use): a trade of cache traffic whose break-even depends on L1,
 * L2 and the prefetchers, derived from L1d alone (gk_gemm_blocking_for,
 * fitted on two machines) until measured here. Each limit is judged on the
 * K x N shapes it governs (see gk_gemm_reads_in_place): rows apart, on
 * N = 768 with K = 768 and 1536 (weights that can stay in cache); the
 * aliased limit on rows 4 KiB apart (every row's lines in the same L1
 * sets: N = 3072 and 1024) and on weights from memory (K = 3072, N = 768,
 * 9.4 MB). lim[2] holds the derived limits and gets the measured ones;
 * returns the comparisons made (0: none). */
static int in_place_study(const gk_variant *v, const size_t blocks[3], size_t lim[2],
                          const tn_config *cfg) {
  const gk_gemm_impl *im = v->impl;
  static const struct {
    int n;
    size_t kn[3][2];
  } kinds[2] = {{2, {{768, 768}, {1536, 768}}}, {3, {{768, 3072}, {3072, 1024}, {3072, 768}}}};
  const size_t max_m = 512;
  int measured = 0;
  for (int kind = 0; kind < 2 && !tn_should_stop(); kind++) {
    rawcase cases[3];
    const int n = kinds[kind].n;
    for (int i = 0; i < n; i++) {
      rawcase *c = &cases[i];
      *c = (rawcase){im, kinds[kind].kn[i][0], kinds[kind].kn[i][1], max_m, NULL, NULL, NULL};
      c->X = tn_alloc(max_m * c->K), c->W = tn_alloc(c->K * c->N), c->Y = tn_alloc(max_m * c->N);
      tn_fill(c->X, max_m * c->K, 23), tn_fill(c->W, c->K * c->N, 24);
    }
    in_place_limit(cases, n, v, blocks, lim, kind, cfg, &measured);
    for (int i = 0; i < n; i++) free(cases[i].X), free(cases[i].W), free(cases[i].Y);
  }
  return measured;
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
  int tries = 0, measured = 0, won = 0;
  /* KC moves keep the B block (KC x NC, sized for the L3) as it is, NC
   * moving the other way. The shapes here read plans' packed weights,
   * where the block's size costs little; raw weights pack it per call,
   * and there a larger block falls out of an L3 shared with other VMs.
   * On a Zen 3 EPYC (AVX2 6x16, paired): KC 768 with NC halved ran the
   * packed shapes here in 0.96-0.97x the time of KC 384 (one K block at
   * K = 768: one pass over C fewer), while KC 768 alone ran raw weights,
   * M = 512-2048, N = 3072, K = 768, in 1.0-1.11x the time of KC 768
   * with NC halved. A tune of the 4x24 tile that doubled KC alone had
   * kept NC at 5448, a 16 MB block. */
  for (int o = 0; o < 3 && won >= 0 && !tn_should_stop(); o++) {
    int f = order[o];
    size_t base[3] = {cur[0], cur[1], cur[2]};
    for (int k = 0; k < 2 && won >= 0 && !tn_should_stop(); k++, tries++) {
      size_t cand[3] = {cur[0], cur[1], cur[2]};
      cand[f] = k == 0 ? base[f] / 2 : base[f] * 2;
      if (f == 1) cand[2] = k == 0 ? base[2] * 2 : base[2] / 2;
      won = try_blocks(cases, v, cur, cand, tries / 12.0, cfg, &measured);
    }
  }
  /* later studies run with the blocks chosen (the defaults when nothing
   * was measured: the engine's own values, which it keeps as they are) */
  set_live(v, cur);
  if (measured) {
    size_t lim[2] = {def.in_place_tiles, def.in_place_tiles_aliased};
    int lim_measured = in_place_study(v, cur, lim, cfg);
    gk_blocking_point bp = {v, cur[0], cur[1], cur[2], 0, 0};
    if (lim_measured) bp.in_place = lim[0], bp.in_place_aliased = lim[1];
    gk_tuning_put_blocking(&r->t, bp);
    gk_tuning_put_blocking(gk_tuning_for_tuner(), bp);
    if (cur[0] == def.mc && cur[1] == def.kc && cur[2] == def.nc)
      tn_note(r, "blocking: the cache-derived defaults MC=%zu KC=%zu NC=%zu held on %s", cur[0],
              cur[1], cur[2], v->name);
    if (lim_measured)
      tn_note(r, "blocking: raw weights read in place up to %zu row tiles (derived from L1d: %zu), "
                 "%zu when rows are 4 KiB apart or the weights outgrow a quarter of L3 "
                 "(derived: %zu), on %s",
              lim[0], def.in_place_tiles, lim[1], def.in_place_tiles_aliased, v->name);
    else
      tn_note(r, "blocking: in-place limits not measured (time limit)");
  } else {
    tn_note(r, "blocking: not measured (time limit)");
  }
  for (int i = 0; i < 2; i++) free(cases[i].X), free(cases[i].Y), free((void *)cases[i].W.p);
}

/* Hamming attention studies.
 *
 * Information first: on the attention curves' grid (BERT-base heads,
 * b = 16), hashing Q and K plus the faster form, against full attention
 * and Linformer k = 128.
 *
 * Then the crossover the library uses: per (b, d, causal), the number of
 * keys from which the linear form beats the quadratic one. n doubles from 16
 * until the linear form has won twice in a row (one win can be noise),
 * then a robust line through the speed-up at lengths between the last loss
 * and the first win is solved for 1 (tn_fit_crossing), rounded up to a
 * multiple of 8; each point times both forms in alternation (tn_compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fit.h"

#include "kernels/hamming/hamming.h"
#include "progress.h"
#include "seq.h"

typedef struct ham_call {
  const gk_variant *v;
  gk_hattn_args a;
} ham_call;

static void run_ham(void *p) {
  ham_call *c = p;
  gk_hamming_attention_run(c->v, &c->a);
}

static void run_hash(void *p) { gk_hash_run(gk_dispatch(GK_OP_HASH), p); }

typedef struct ham_data {
  size_t nmax, b, d, words;
  uint64_t *qc, *kc;
  float *v, *o;
} ham_data;

static void data_init(ham_data *h, size_t nmax, size_t b, size_t d) {
  h->nmax = nmax, h->b = b, h->d = d, h->words = GK_CODE_WORDS(b);
  size_t codes = nmax * TN_SEQ_HEADS * h->words;
  h->qc = tn_alloc_bytes(codes * sizeof(uint64_t)), h->kc = tn_alloc_bytes(codes * sizeof(uint64_t));
  tn_random_codes(h->qc, nmax * TN_SEQ_HEADS, b, 1);
  tn_random_codes(h->kc, nmax * TN_SEQ_HEADS, b, 2);
  h->v = tn_alloc(nmax * TN_SEQ_HEADS * d), h->o = tn_alloc(nmax * TN_SEQ_HEADS * d);
  tn_fill(h->v, nmax * TN_SEQ_HEADS * d, 70);
}

static void data_free(ham_data *h) { free(h->qc), free(h->kc), free(h->v), free(h->o); }

static ham_call call_for(const ham_data *h, const gk_variant *v, size_t n, int causal, int threads) {
  const size_t H = TN_SEQ_HEADS, w = h->words, d = h->d;
  gk_hamming_attn_params p = {H, d, h->b, {1, 0, 0, 0}, causal, GK_HAMMING_AUTO};
  ham_call c = {v, {p, n, n, n, h->qc, H * w, w, h->kc, H * w, w, h->v, H * d, d, h->o, H * d, d,
                    threads}};
  return c;
}

/* ratio < 1: linear faster at n; 0: time ran out */
static double linear_vs_quad(const ham_data *h, const tn_results *r, size_t n, int causal,
                             const tn_config *cfg) {
  ham_call q = call_for(h, tn_variant_for(r, GK_OP_HAMMING_QUAD), n, causal, cfg->threads);
  ham_call l = call_for(h, tn_variant_for(r, GK_OP_HAMMING_LINEAR), n, causal, cfg->threads);
  return tn_compare(run_ham, &q, run_ham, &l, &cfg->timing).ratio;
}

typedef struct ham_cfg { uint32_t b, d, causal; } ham_cfg;

static const ham_cfg quick_cfgs[] = {{16, 64, 0}, {16, 64, 1}};
static const ham_cfg default_cfgs[] = {{16, 64, 0}, {16, 64, 1}, {64, 64, 0}, {64, 64, 1},
                                       {16, 32, 0}, {16, 32, 1}};
static const ham_cfg thorough_cfgs[] = {
    {16, 64, 0}, {16, 64, 1}, {32, 64, 0}, {32, 64, 1}, {64, 64, 0}, {64, 64, 1},
    {128, 64, 0}, {128, 64, 1}, {16, 32, 0}, {16, 32, 1}, {64, 32, 0}, {64, 32, 1},
    {16, 128, 0}, {16, 128, 1}, {64, 128, 0}, {64, 128, 1}};

/* One (b, d, causal): the crossover n, 0 when linear never won up to nmax,
 * -1 when time ran out. */
static long find_crossover(const ham_data *h, const tn_results *r, int causal,
                           const tn_config *cfg) {
  size_t lo = 0, hi = 0, first_win = 0;
  double t_last = 0; /* the last pair's time: the next, twice as long, costs up to 4x */
  for (size_t n = 16; n <= h->nmax; n *= 2) {
    if (!tn_affordable(4 * t_last)) return -1;
    double t0 = tn_now();
    double q = linear_vs_quad(h, r, n, causal, cfg);
    t_last = (tn_now() - t0) / 10; /* a comparison takes ~10+ calls of each */
    if (q <= 0) return -1;
    if (q < 1) {
      if (first_win) { hi = first_win; break; }
      first_win = n;
    } else {
      first_win = 0, lo = n;
    }
  }
  if (!hi) return (long)first_win; /* won only at the largest n, or never (0) */
  if (!lo) return 16; /* linear from the smallest size */
  /* Near the crossover the two forms are within noise of each other, so a
   * yes/no search there is a coin toss (the rank study's lesson): instead,
   * a robust line through the speed-up quadratic/linear — about
   * proportional to n — at lengths spread over [lo, hi], solved for 1. */
  double x[TN_FIT_MAX], y[TN_FIT_MAX];
  /* as many comparisons as a binary search on multiples of 8 would make,
   * at least 4 */
  size_t np = 0, steps = 0;
  for (size_t span = (hi - lo) / 8; span > 1; span = (span + 1) / 2) steps++;
  steps = steps < 4 ? 4 : steps > 8 ? 8 : steps;
  for (size_t i = 0; i <= steps; i++) {
    size_t n = (lo + (hi - lo) * i / steps + 4) / 8 * 8;
    if (np && n <= (size_t)x[np - 1]) continue;
    double q = linear_vs_quad(h, r, n, causal, cfg);
    if (q <= 0) return -1;
    x[np] = (double)n, y[np++] = 1 / q;
  }
  tn_crossing c;
  double at = tn_fit_crossing(x, y, np, 1.0, &c) ? c.x : 0.5 * (double)(lo + hi);
  if (at < (double)lo) at = (double)lo;
  if (at > (double)hi) at = (double)hi;
  /* the first multiple of 8 at or past the crossing */
  return (long)(ceil(at / 8) * 8);
}

static void info_curves(const tn_config *cfg, tn_results *r) {
  tn_seq_curves *cv = &r->seq;
  if (!cv->count) return;
  const size_t b = 16, d = TN_SEQ_D, H = TN_SEQ_HEADS, nmax = (size_t)cv->n[cv->count - 1];
  const size_t m = 25;
  ham_data h;
  data_init(&h, nmax, b, d);
  float *x = tn_alloc(nmax * H * d), *anchors = tn_alloc(H * m * d), *A = tn_alloc(H * b * m);
  tn_fill(x, nmax * H * d, 71), tn_fill(anchors, H * m * d, 72), tn_fill(A, H * b * m, 73);
  gk_hash_params hp = {H, d, m, b, anchors, NULL, A, NULL, 1};
  size_t done = 0;
  for (size_t g = 0; g < cv->count && !tn_should_stop(); g++) {
    size_t n = (size_t)cv->n[g];
    if (g > 0 && !tn_affordable(1e-9 * (cv->ham_quad[g - 1] + cv->ham_lin[g - 1]) *
                                (n / cv->n[g - 1]) * (n / cv->n[g - 1])))
      break;
    tn_progress(0.5 + 0.15 * g / cv->count, "Hamming attention b=16 n=%zu", n);
    gk_hash_args ha = {hp, n, x, H * d, d, h.qc, H * h.words, h.words, cfg->threads};
    ham_call q = call_for(&h, tn_variant_for(r, GK_OP_HAMMING_QUAD), n, 0, cfg->threads);
    ham_call l = call_for(&h, tn_variant_for(r, GK_OP_HAMMING_LINEAR), n, 0, cfg->threads);
    double th = tn_measure(run_hash, &ha, &cfg->timing).ns;
    cv->ham_quad[g] = tn_measure(run_ham, &q, &cfg->timing).ns;
    cv->ham_lin[g] = tn_measure(run_ham, &l, &cfg->timing).ns;
    if (th <= 0 || cv->ham_quad[g] <= 0 || cv->ham_lin[g] <= 0) break;
    double best = cv->ham_quad[g] < cv->ham_lin[g] ? cv->ham_quad[g] : cv->ham_lin[g];
    cv->ham_total[g] = 2 * th + best; /* queries and keys are both hashed */
    done = g + 1;
  }
  if (done >= 2) {
    gk_seq_point pf = {GK_SEQ_KIND_HAMMING_FULL, (uint32_t)b, (uint32_t)d, 0,
                       tn_crossover(cv->n, cv->ham_total, cv->full, done)};
    gk_seq_point pl = {GK_SEQ_KIND_HAMMING_LINFORMER, (uint32_t)b, (uint32_t)d, 0,
                       tn_crossover(cv->n, cv->ham_total, cv->linformer[1], done)};
    gk_tuning_put_seq(&r->t, pf);
    gk_tuning_put_seq(&r->t, pl);
  }
  if (done < cv->count) tn_note(r, "seq: Hamming curves measured on %zu of %zu lengths (time limit)", done, cv->count);
  free(x), free(anchors), free(A);
  data_free(&h);
}

/* The curves first (on the lengths the attention curves reached, so the
 * comparison is complete there), then the crossovers the library uses. */
void tn_study_hamming(const tn_config *cfg, tn_results *r) {
  info_curves(cfg, r);
  const ham_cfg *cs = cfg->effort == TN_QUICK ? quick_cfgs
                      : cfg->effort == TN_DEFAULT ? default_cfgs : thorough_cfgs;
  size_t nc = cfg->effort == TN_QUICK ? 2 : cfg->effort == TN_DEFAULT ? 6 : 16;
  size_t nmax = cfg->effort == TN_QUICK ? 2048 : cfg->effort == TN_DEFAULT ? 4096 : 8192;
  size_t done = 0;
  for (size_t i = 0; i < nc && !tn_should_stop(); i++) {
    tn_progress(0.65 + 0.35 * i / nc, "Hamming linear vs quadratic b=%u d=%u%s", cs[i].b, cs[i].d,
                cs[i].causal ? " causal" : "");
    ham_data h;
    data_init(&h, nmax, cs[i].b, cs[i].d);
    long n = find_crossover(&h, r, (int)cs[i].causal, cfg);
    data_free(&h);
    if (n < 0) break;
    gk_seq_point pt = {GK_SEQ_KIND_HAMMING_LINEAR, cs[i].b, cs[i].d, cs[i].causal, (uint32_t)n};
    gk_tuning_put_seq(&r->t, pt);
    done++;
  }
  if (done < nc)
    tn_note(r, "seq: Hamming crossover measured for %zu of %zu (b, d, causal) (time limit)", done, nc);
}

/* Sequence-length studies. Time per call against the number of keys n for
 * full attention and Linformer (k = 64, 128, 256) on BERT-base heads
 * (12 x 64), self-attention, one sequence: where each Linformer k
 * overtakes full attention is recorded as information (different
 * mathematics: never substituted), and the curves are plotted. The
 * Hamming crossovers are in study_hamming.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/attention/attention.h"
#include "progress.h"
#include "seq.h"

typedef struct attn_call {
  const gk_variant *v;
  gk_attn_args a;
} attn_call;

static void run_full(void *p) {
  attn_call *c = p;
  gk_attention_run(c->v, &c->a);
}

typedef struct lin_call {
  gk_attn_shape s;
  gk_linformer_proj p;
  const float *Q, *K, *V;
  float *O;
  size_t ld;
  void *ws;
  size_t ws_bytes;
} lin_call;

static void run_linformer(void *p) {
  lin_call *c = p;
  gk_linformer_attention(&c->s, &c->p, c->Q, c->ld, c->K, c->ld, c->V, c->ld, c->O, c->ld, NULL,
                         c->ws, c->ws_bytes);
}

uint32_t tn_crossover(const double *n, const double *fast, const double *slow, size_t cnt) {
  size_t i = cnt;
  while (i > 0 && fast[i - 1] > 0 && slow[i - 1] > 0 && fast[i - 1] < slow[i - 1]) i--;
  if (i == cnt) return 0;         /* the faster-in-theory method never won */
  if (i == 0) return (uint32_t)n[0]; /* won from the smallest n measured */
  /* log-log interpolation between the last loss and the first win */
  double l0 = log(fast[i - 1] / slow[i - 1]), l1 = log(fast[i] / slow[i]);
  double w = (l0 == l1) ? 1 : l0 / (l0 - l1);
  double x = exp(log(n[i - 1]) + w * (log(n[i]) - log(n[i - 1])));
  return (uint32_t)(x + 0.5);
}

const double *tn_seq_grid(tn_effort e, size_t *count) {
  static const double quick[] = {128, 512, 2048};
  static const double def[] = {128, 256, 512, 1024, 2048, 4096};
  static const double thorough[] = {64, 128, 256, 512, 1024, 2048, 4096, 8192};
  if (e == TN_QUICK) return *count = 3, quick;
  if (e == TN_DEFAULT) return *count = 6, def;
  return *count = 8, thorough;
}

static const size_t lin_k[3] = {64, 128, 256};

void tn_study_seq(const tn_config *cfg, tn_results *r) {
  size_t cnt;
  const double *grid = tn_seq_grid(cfg->effort, &cnt);
  const size_t H = TN_SEQ_HEADS, d = TN_SEQ_D, ld = H * d, nmax = (size_t)grid[cnt - 1];
  float *Q = tn_alloc(nmax * ld), *K = tn_alloc(nmax * ld), *V = tn_alloc(nmax * ld),
        *O = tn_alloc(nmax * ld), *E = tn_alloc(256 * nmax), *F = tn_alloc(256 * nmax);
  tn_fill(Q, nmax * ld, 50), tn_fill(K, nmax * ld, 51), tn_fill(V, nmax * ld, 52);
  tn_fill(E, 256 * nmax, 53), tn_fill(F, 256 * nmax, 54);
  for (size_t i = 0; i < 256 * nmax; i++) E[i] *= 0.05f, F[i] *= 0.05f;

  tn_seq_curves *cv = &r->seq;
  cv->count = 0;
  const gk_variant *vattn = tn_variant_for(r, GK_OP_ATTENTION);
  size_t ws_bytes = 0;
  void *ws = NULL;
  for (size_t g = 0; g < cnt && !tn_should_stop(); g++) {
    size_t n = (size_t)grid[g];
    /* full attention grows as n²: skip what the deadline cannot hold */
    if (g > 0 && !tn_affordable(1e-9 * cv->full[g - 1] * (n / cv->n[g - 1]) * (n / cv->n[g - 1])))
      break;
    gk_attn_shape s = {.batch = 1, .heads = H, .head_dim = d, .n_q = n, .n_kv = n};
    attn_call fc = {.v = vattn};
    gk_attn_prepare(&s, Q, ld, K, ld, V, ld, O, ld, NULL, &fc.a);
    fc.a.threads = cfg->threads;
    tn_progress(0.5 * g / cnt, "full attention n=%zu", n);
    cv->n[g] = (double)n;
    cv->full[g] = tn_measure(run_full, &fc, &cfg->timing).ns;
    for (int k = 0; k < 3 && !tn_should_stop(); k++) {
      lin_call lc = {s, {lin_k[k], nmax, E, nmax, F, nmax, 0, GK_LINFORMER_HEADWISE}, Q, K, V,
                     O, ld, NULL, 0};
      size_t need = gk_linformer_workspace_size(&lc.s, &lc.p);
      if (need > ws_bytes) free(ws), ws = malloc(need), ws_bytes = need;
      lc.ws = ws, lc.ws_bytes = ws_bytes;
      tn_progress(0.5 * (g + (k + 1) / 4.0) / cnt, "Linformer k=%zu n=%zu", lin_k[k], n);
      cv->linformer[k][g] = tn_measure(run_linformer, &lc, &cfg->timing).ns;
    }
    if (tn_should_stop()) break;
    cv->count = g + 1;
  }
  if (cv->count < cnt) tn_note(r, "seq: attention curves measured up to n=%.0f of %.0f (time limit)",
                               cv->count ? cv->n[cv->count - 1] : 0, grid[cnt - 1]);
  /* information: where each k overtakes full attention */
  for (int k = 0; k < 3 && cv->count >= 2; k++) {
    gk_seq_point pt = {GK_SEQ_KIND_LINFORMER_FULL, (uint32_t)lin_k[k], (uint32_t)d, 0,
                       tn_crossover(cv->n, cv->linformer[k], cv->full, cv->count)};
    gk_tuning_put_seq(&r->t, pt);
  }
  free(ws);
  free(Q), free(K), free(V), free(O), free(E), free(F);
  tn_study_hamming(cfg, r);
  tn_seq_plot(r);
}

void tn_seq_plot(tn_results *r) {
  const tn_seq_curves *cv = &r->seq;
  char group[48];
  snprintf(group, sizeof group, "seq_heads%d_d%d", TN_SEQ_HEADS, TN_SEQ_D);
  struct { const char *title; const double *t; } lines[] = {
      {"full attention", cv->full},           {"Linformer k=64", cv->linformer[0]},
      {"Linformer k=128", cv->linformer[1]},  {"Linformer k=256", cv->linformer[2]},
      {"Hamming quadratic b=16", cv->ham_quad}, {"Hamming linear b=16", cv->ham_lin},
      {"hash + best Hamming b=16", cv->ham_total}};
  for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
    size_t have = 0;
    for (size_t g = 0; g < cv->count; g++) have += lines[l].t[g] > 0;
    if (!have) continue;
    tn_series *s = tn_series_new(r, group, lines[l].title);
    for (size_t g = 0; g < cv->count; g++) tn_series_add(s, cv->n[g], lines[l].t[g]);
  }
}

/* Adapters: full attention (GK_OP_ATTENTION, gk_attention_run) and the
 * Linformer sequence projection (GK_OP_LINFORMER_PROJECT). */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "adapters.h"
#include "kernels/attention/attention.h"

/* ------------------------------------------------------------ attention */

struct tn_case {
  gk_attn_args a;     /* attention */
  gk_lproj_args p;    /* projection */
  float *in[3], *out;
  size_t n_out;
};

/* heads x d = 12 x 64 (BERT-base), [tokens, heads*d] layout. */
static tn_case *make_attn(size_t heads, size_t n) {
  const size_t d = 64, ld = heads * d;
  tn_case *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  for (int i = 0; i < 3; i++) c->in[i] = tn_alloc(n * ld), tn_fill(c->in[i], n * ld, 30 + (unsigned)i);
  c->out = tn_alloc(n * ld);
  c->n_out = n * ld;
  gk_attn_shape s = {.batch = 1, .heads = heads, .head_dim = d, .n_q = n, .n_kv = n};
  if (gk_attn_prepare(&s, c->in[0], ld, c->in[1], ld, c->in[2], ld, c->out, ld, NULL, &c->a)) {
    for (int i = 0; i < 3; i++) free(c->in[i]);
    free(c->out), free(c);
    return NULL;
  }
  return c;
}

/* BERT-base heads at 128 and 384 tokens */
static tn_case *attn_class(int i) {
  static const size_t n[] = {128, 384};
  return i >= 0 && i < 2 ? make_attn(12, n[i]) : NULL;
}

static tn_case *attn_size(int i) {
  static const size_t n[] = {8, 16, 32, 64, 128, 256, 512, 1024};
  return i >= 0 && i < 8 ? make_attn(1, n[i]) : NULL;
}

static void attn_describe(const tn_case *c, char *buf, size_t size) {
  snprintf(buf, size, "heads=%zu d=%zu n=%zu", c->a.s.heads, c->a.s.head_dim, c->a.s.n_q);
}

static double attn_work(const tn_case *c) {
  return 4.0 * c->a.s.heads * c->a.s.n_q * (double)c->a.s.n_kv * c->a.s.head_dim;
}

static gk_status attn_run(tn_case *c, const gk_variant *v, int threads) {
  c->a.threads = threads;
  return gk_attention_run(v, &c->a);
}

static const void *out(const tn_case *c, size_t *bytes) {
  *bytes = c->n_out * sizeof(float);
  return c->out;
}

/* softmax-weighted sums: error grows with the keys and the head size */
static double attn_tol(const tn_case *c) {
  return 16.0 * (double)(c->a.s.n_kv + c->a.s.head_dim) * FLT_EPSILON;
}

static void destroy(tn_case *c) {
  for (int i = 0; i < 3; i++) free(c->in[i]);
  free(c->out), free(c);
}

const tn_adapter tn_adapter_attention = {GK_OP_ATTENTION, attn_class, attn_size, attn_describe,
                                         attn_work, attn_run, out, attn_tol, destroy, NULL, NULL};

/* ----------------------------------------------------------- projection */

static tn_case *make_proj(size_t k, size_t n, size_t cols) {
  tn_case *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->in[0] = tn_alloc(k * n), c->in[1] = tn_alloc(n * cols), c->in[2] = NULL;
  tn_fill(c->in[0], k * n, 40), tn_fill(c->in[1], n * cols, 41);
  c->out = tn_alloc(k * cols);
  c->n_out = k * cols;
  c->p = (gk_lproj_args){k, n, cols, c->in[0], n, c->in[1], cols, c->out, cols, 0};
  return c;
}

/* K (n x 768) projected to k rows, BERT-base: 512 and 1024 tokens. */
static tn_case *proj_class(int i) {
  if (i == 0) return make_proj(128, 512, 768);
  if (i == 1) return make_proj(256, 1024, 768);
  return NULL;
}

static tn_case *proj_size(int i) {
  static const size_t n[] = {32, 64, 128, 256, 512, 1024, 2048};
  return i >= 0 && i < 7 ? make_proj(64, n[i], n[i]) : NULL;
}

static void proj_describe(const tn_case *c, char *buf, size_t size) {
  snprintf(buf, size, "k=%zu n=%zu c=%zu", c->p.k, c->p.n, c->p.c);
}

static double proj_work(const tn_case *c) { return 2.0 * c->p.k * c->p.n * (double)c->p.c; }

static gk_status proj_run(tn_case *c, const gk_variant *v, int threads) {
  c->p.threads = threads;
  return gk_linformer_project_run(v, &c->p);
}

static double proj_tol(const tn_case *c) { return 8.0 * (double)c->p.n * FLT_EPSILON; }

const tn_adapter tn_adapter_linformer_project = {
    GK_OP_LINFORMER_PROJECT, proj_class, proj_size, proj_describe, proj_work,
    proj_run, out, proj_tol, destroy, NULL, NULL};

/* Adapters for the EcoFormer family: the kernelized hash (GK_OP_HASH),
 * all-pairs Hamming distances (GK_OP_HAMMING_DIST), and Hamming attention
 * in its quadratic and linear forms (GK_OP_HAMMING_QUAD/_LINEAR: the
 * variant's op is the algorithm). Codes and distances are compared bit for
 * bit with the scalar variant; attention outputs within a tolerance. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "adapters.h"
#include "kernels/hamming/hamming.h"

#define HEADS 12
#define D 64
#define ANCHORS 25

struct tn_case {
  gk_hash_args h;
  gk_hdist_args dist;
  gk_hattn_args at;
  float *x, *anchors, *A, *v, *o;
  uint64_t *qc, *kc;
  uint16_t *dd;
  size_t n, b;
  gk_op op;
};

static void destroy(tn_case *c) {
  free(c->x), free(c->anchors), free(c->A), free(c->v), free(c->o);
  free(c->qc), free(c->kc), free(c->dd), free(c);
}

/* ----------------------------------------------------------------- hash */

static tn_case *make_hash(size_t n, size_t b) {
  tn_case *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  size_t words = GK_CODE_WORDS(b);
  c->op = GK_OP_HASH, c->n = n, c->b = b;
  c->x = tn_alloc(n * HEADS * D), c->anchors = tn_alloc(HEADS * ANCHORS * D);
  c->A = tn_alloc(HEADS * b * ANCHORS);
  c->qc = calloc(n * HEADS * words, sizeof(uint64_t));
  tn_fill(c->x, n * HEADS * D, 60), tn_fill(c->anchors, HEADS * ANCHORS * D, 61);
  tn_fill(c->A, HEADS * b * ANCHORS, 62);
  gk_hash_params p = {HEADS, D, ANCHORS, b, c->anchors, NULL, c->A, NULL, 1};
  c->h = (gk_hash_args){p, n, c->x, HEADS * D, D, c->qc, HEADS * words, words, 0};
  return c;
}

static tn_case *hash_class(int i) {
  return i == 0 ? make_hash(128, 16) : i == 1 ? make_hash(1024, 64) : NULL;
}

static tn_case *hash_size(int i) {
  static const size_t n[] = {8, 16, 32, 64, 128, 256, 512, 1024};
  return i >= 0 && i < 8 ? make_hash(n[i], 16) : NULL;
}

static void hash_describe(const tn_case *c, char *buf, size_t size) {
  snprintf(buf, size, "heads=%d n=%zu m=%d b=%zu", HEADS, c->n, ANCHORS, c->b);
}

/* distances to the anchors and the projection dominate */
static double hash_work(const tn_case *c) {
  return 2.0 * HEADS * c->n * ANCHORS * (double)(D + c->b);
}

static gk_status hash_run(tn_case *c, const gk_variant *v, int threads) {
  c->h.threads = threads;
  return gk_hash_run(v, &c->h);
}

static const void *hash_out(const tn_case *c, size_t *bytes) {
  *bytes = c->n * HEADS * GK_CODE_WORDS(c->b) * sizeof(uint64_t);
  return c->qc;
}

static double exact(const tn_case *c) {
  (void)c;
  return TN_EXACT;
}

/* A bit whose pre-sign value is within rounding of 0 may come out either
 * way between ISAs (DESIGN.md): allow one differing bit in 10^4. */
static int hash_agrees(const tn_case *c, const void *ref) {
  size_t words = c->n * HEADS * GK_CODE_WORDS(c->b), diff = 0;
  const uint64_t *r = ref;
  for (size_t i = 0; i < words; i++) diff += (size_t)__builtin_popcountll(c->qc[i] ^ r[i]);
  return diff <= 1 + c->n * HEADS * c->b / 10000;
}

const tn_adapter tn_adapter_hash = {GK_OP_HASH, hash_class, hash_size, hash_describe, hash_work,
                                    hash_run, hash_out, exact, destroy, hash_agrees, NULL};

/* ------------------------------------------------------------ distances */

static tn_case *make_dist(size_t n, size_t b) {
  tn_case *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  size_t words = GK_CODE_WORDS(b);
  c->op = GK_OP_HAMMING_DIST, c->n = n, c->b = b;
  c->qc = tn_alloc_bytes(n * words * sizeof(uint64_t));
  c->kc = tn_alloc_bytes(n * words * sizeof(uint64_t));
  c->dd = tn_alloc_bytes(n * n * sizeof(uint16_t));
  tn_random_codes(c->qc, n, b, 1), tn_random_codes(c->kc, n, b, 2);
  c->dist = (gk_hdist_args){n, n, words, c->qc, words, c->kc, words, c->dd, n, 0};
  return c;
}

static tn_case *dist_class(int i) {
  return i == 0 ? make_dist(512, 16) : i == 1 ? make_dist(1024, 256) : NULL;
}

static tn_case *dist_size(int i) {
  static const size_t n[] = {16, 32, 64, 128, 256, 512, 1024, 2048};
  return i >= 0 && i < 8 ? make_dist(n[i], 64) : NULL;
}

static void dist_describe(const tn_case *c, char *buf, size_t size) {
  snprintf(buf, size, "%zu x %zu codes, b=%zu", c->n, c->n, c->b);
}

static double dist_work(const tn_case *c) {
  return (double)c->n * c->n * GK_CODE_WORDS(c->b);
}

static gk_status dist_run(tn_case *c, const gk_variant *v, int threads) {
  c->dist.threads = threads;
  return gk_hamming_distances_run(v, &c->dist);
}

static const void *dist_out(const tn_case *c, size_t *bytes) {
  *bytes = c->n * c->n * sizeof(uint16_t);
  return c->dd;
}

const tn_adapter tn_adapter_hamming_dist = {GK_OP_HAMMING_DIST, dist_class, dist_size,
                                            dist_describe, dist_work, dist_run, dist_out,
                                            exact, destroy, NULL, NULL};

/* ------------------------------------------------------------ attention */

static tn_case *make_attn(gk_op op, size_t n, size_t b) {
  tn_case *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  size_t words = GK_CODE_WORDS(b);
  c->op = op, c->n = n, c->b = b;
  c->qc = tn_alloc_bytes(n * HEADS * words * sizeof(uint64_t));
  c->kc = tn_alloc_bytes(n * HEADS * words * sizeof(uint64_t));
  c->v = tn_alloc(n * HEADS * D), c->o = tn_alloc(n * HEADS * D);
  tn_random_codes(c->qc, n * HEADS, b, 3), tn_random_codes(c->kc, n * HEADS, b, 4);
  tn_fill(c->v, n * HEADS * D, 63);
  gk_hamming_attn_params p = {HEADS, D, b, {1, 0, 0, 0}, 0, GK_HAMMING_AUTO};
  c->at = (gk_hattn_args){p, n, n, n, c->qc, HEADS * words, words, c->kc, HEADS * words, words,
                          c->v, HEADS * D, D, c->o, HEADS * D, D, 0};
  return c;
}

static tn_case *quad_class(int i) {
  return i == 0 ? make_attn(GK_OP_HAMMING_QUAD, 128, 16) : i == 1 ? make_attn(GK_OP_HAMMING_QUAD, 512, 64) : NULL;
}
static tn_case *lin_class(int i) {
  return i == 0 ? make_attn(GK_OP_HAMMING_LINEAR, 128, 16) : i == 1 ? make_attn(GK_OP_HAMMING_LINEAR, 512, 64) : NULL;
}
static const size_t attn_sizes[] = {8, 16, 32, 64, 128, 256, 512, 1024};
static tn_case *quad_size(int i) {
  return i >= 0 && i < 8 ? make_attn(GK_OP_HAMMING_QUAD, attn_sizes[i], 16) : NULL;
}
static tn_case *lin_size(int i) {
  return i >= 0 && i < 8 ? make_attn(GK_OP_HAMMING_LINEAR, attn_sizes[i], 16) : NULL;
}

static void attn_describe(const tn_case *c, char *buf, size_t size) {
  snprintf(buf, size, "heads=%d d=%d n=%zu b=%zu", HEADS, D, c->n, c->b);
}

static double attn_work(const tn_case *c) {
  if (c->op == GK_OP_HAMMING_QUAD)
    return (double)HEADS * c->n * c->n * (GK_CODE_WORDS(c->b) + 2.0 * D);
  return 2.0 * HEADS * (2.0 * c->n) * c->b * D;
}

static gk_status attn_run(tn_case *c, const gk_variant *v, int threads) {
  c->at.threads = threads;
  return gk_hamming_attention_run(v, &c->at);
}

static const void *attn_out(const tn_case *c, size_t *bytes) {
  *bytes = c->n * HEADS * D * sizeof(float);
  return c->o;
}

static double attn_tol(const tn_case *c) { return 16.0 * (double)c->n * FLT_EPSILON; }

const tn_adapter tn_adapter_hamming_quad = {GK_OP_HAMMING_QUAD, quad_class, quad_size,
                                            attn_describe, attn_work, attn_run, attn_out,
                                            attn_tol, destroy, NULL, NULL};
const tn_adapter tn_adapter_hamming_linear = {GK_OP_HAMMING_LINEAR, lin_class, lin_size,
                                              attn_describe, attn_work, attn_run, attn_out,
                                              attn_tol, destroy, NULL, NULL};

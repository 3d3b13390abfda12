/* Adapter: dense GEMM (GK_OP_GEMM) through gk_gemm_run. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "adapters.h"
#include "kernels/gemm/gemm.h"

struct tn_case {
  gk_gemm_args a;
  float *X, *W, *Y;
};

static tn_case *make(size_t M, size_t N, size_t K) {
  tn_case *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->X = tn_alloc(M * K), c->W = tn_alloc(K * N), c->Y = tn_alloc(M * N);
  tn_fill(c->X, M * K, 1), tn_fill(c->W, K * N, 2);
  c->a = (gk_gemm_args){M, N, K, c->X, K, c->W, N, GK_WEIGHT_KN, NULL, GK_ACT_NONE,
                        c->Y, N, 0};
  return c;
}

/* BERT-base layer shapes (M, N, K): decode at both ends of its class (one
 * token, and the most rows it takes); prefill at 128 tokens and at the
 * few rows of batched decoding, whose raw weights the engine reads in
 * place (a path of its own, where tiles rank otherwise). Timed on the
 * 128-row shapes alone, a Zen 3 EPYC's tune chose 4x24 over 6x16 for
 * prefill (0.94x the time there, 2 threads), which then ran 32 x 768 x
 * 3072 in 1.17-1.53x the time (1 and 2 threads). */
static tn_case *setup_class(int i) {
  static const size_t shapes[][3] = {{1, 768, 768},   {GK_DECODE_MAX_ROWS, 768, 768},
                                     {128, 768, 768}, {128, 3072, 768},
                                     {32, 768, 3072}};
  if (i < 0 || i >= (int)(sizeof shapes / sizeof shapes[0])) return NULL;
  return make(shapes[i][0], shapes[i][1], shapes[i][2]);
}

static unsigned shape_class(const tn_case *c) { return gk_gemm_class(&c->a); }

/* Square problems from 16^3 to 384^3 (8 KFLOP to 113 MFLOP), where the
 * fork/join cost of a thread team meets the work. */
static tn_case *setup_size(int i) {
  static const size_t n[] = {16, 24, 32, 48, 64, 96, 128, 192, 256, 384};
  if (i < 0 || i >= (int)(sizeof n / sizeof n[0])) return NULL;
  return make(n[i], n[i], n[i]);
}

static void describe(const tn_case *c, char *buf, size_t size) {
  snprintf(buf, size, "M=%zu N=%zu K=%zu", c->a.M, c->a.N, c->a.K);
}

static double work(const tn_case *c) { return 2.0 * c->a.M * c->a.N * c->a.K; }

static gk_status run(tn_case *c, const gk_variant *v, int threads) {
  c->a.threads = threads;
  return gk_gemm_run(v, &c->a);
}

static const void *output(const tn_case *c, size_t *bytes) {
  *bytes = c->a.M * c->a.N * sizeof(float);
  return c->Y;
}

static double tolerance(const tn_case *c) { return 8.0 * c->a.K * FLT_EPSILON; }

static void destroy(tn_case *c) {
  free(c->X), free(c->W), free(c->Y), free(c);
}

const tn_adapter tn_adapter_gemm = {GK_OP_GEMM, setup_class, setup_size, describe, work,
                                    run, output, tolerance, destroy, NULL, shape_class};

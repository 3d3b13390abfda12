/* Adapter: fused rank-r GEMM (GK_OP_LOWRANK) on factors packed once per
 * variant, as a linear-layer plan holds them. Per-call packing (what
 * gk_lowrank_run adds, and plans never pay) is one thread's work with one
 * thread or two, so it would dilute what the second thread gains. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "adapters.h"
#include "kernels/gemm/gemm.h"

struct tn_case {
  gk_lowrank_args a;
  float *X, *U, *V, *Y;
  const gk_variant *packed_for; /* the variant pu and pv are packed for */
  float *pu, *pv;
  gk_packed_b PU, PV;
};

static tn_case *make(size_t M, size_t N, size_t K, size_t r) {
  tn_case *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->X = tn_alloc(M * K), c->U = tn_alloc(K * r), c->V = tn_alloc(r * N), c->Y = tn_alloc(M * N);
  tn_fill(c->X, M * K, 3), tn_fill(c->U, K * r, 4), tn_fill(c->V, r * N, 5);
  c->a = (gk_lowrank_args){M, N, K, r, c->X, K, c->U, r, GK_WEIGHT_KN, c->V, N, GK_WEIGHT_KN,
                           NULL, GK_ACT_NONE, c->Y, N, 0};
  return c;
}

/* BERT-base layers at typical LRT ranks: decode at both ends of its class
 * (one token, and the most rows it takes), and prefill. */
static tn_case *setup_class(int i) {
  static const size_t shapes[][4] = {{1, 768, 768, 128},
                                     {GK_DECODE_MAX_ROWS, 768, 768, 128},
                                     {128, 768, 768, 128},
                                     {128, 3072, 768, 256}};
  if (i < 0 || i >= 4) return NULL;
  return make(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
}

static unsigned shape_class(const tn_case *c) { return gk_lowrank_class(&c->a); }

/* BERT-base-width layers (K = N = 768) at rank 32 for the single-thread
 * threshold, M growing: where plans meet small M (decoding, short
 * batches). Square layers n x n at rank n/4, the ladder before, put a
 * second thread's loss at 2.1 MFLOP (n = 128), while at K = N = 768 and
 * 1.6 MFLOP (M = 32, r = 16; M = 16, r = 32) two threads ran 1.1-1.6x
 * faster: there the weights' streaming splits between the threads. */
static tn_case *setup_size(int i) {
  static const size_t m[] = {2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128};
  if (i < 0 || i >= (int)(sizeof m / sizeof m[0])) return NULL;
  return make(m[i], 768, 768, 32);
}

static void describe(const tn_case *c, char *buf, size_t size) {
  snprintf(buf, size, "M=%zu N=%zu K=%zu r=%zu", c->a.M, c->a.N, c->a.K, c->a.r);
}

static double work(const tn_case *c) {
  return 2.0 * c->a.M * c->a.r * (double)(c->a.K + c->a.N);
}

static gk_status run(tn_case *c, const gk_variant *v, int threads) {
  const gk_gemm_impl *im = v->impl;
  const gk_lowrank_args *a = &c->a;
  if (c->packed_for != v) {
    size_t nu, nv;
    gk_factor_floats(im, a->K, a->r, a->N, &nu, &nv);
    free(c->pu), free(c->pv);
    c->pu = tn_alloc(nu), c->pv = tn_alloc(nv);
    gk_pack_factors(im, a->K, a->r, a->N, a->U, a->ldu, a->u_layout, a->V, a->ldv, a->v_layout,
                    c->pu, c->pv, &c->PU, &c->PV);
    c->packed_for = v;
  }
  return im->lowrank_packed(a->M, a->X, a->ldx, &c->PU, &c->PV, a->bias, a->act, a->Y, a->ldy,
                            threads, NULL);
}

static const void *output(const tn_case *c, size_t *bytes) {
  *bytes = c->a.M * c->a.N * sizeof(float);
  return c->Y;
}

static double tolerance(const tn_case *c) { return 8.0 * (c->a.K + c->a.r) * FLT_EPSILON; }

static void destroy(tn_case *c) {
  free(c->X), free(c->U), free(c->V), free(c->Y), free(c->pu), free(c->pv), free(c);
}

const tn_adapter tn_adapter_lowrank = {GK_OP_LOWRANK, setup_class, setup_size, describe, work,
                                       run, output, tolerance, destroy, NULL, shape_class};

/* Fused rank-r GEMM checker: Y = act(X·U·V + bias) with U and V in both
 * layouts, against a float64 reference of the same two products. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "checkasm.h"
#include "kernels/gemm/gemm.h"

static double act_ref(double x, gk_activation act) {
  switch (act) {
    case GK_ACT_RELU: return x > 0 ? x : 0;
    case GK_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return x;
  }
}

static double u_at(const gk_lowrank_args *a, size_t k, size_t j) {
  return a->u_layout == GK_WEIGHT_KN ? a->U[k * a->ldu + j] : a->U[j * a->ldu + k];
}
static double v_at(const gk_lowrank_args *a, size_t k, size_t j) {
  return a->v_layout == GK_WEIGHT_KN ? a->V[k * a->ldv + j] : a->V[j * a->ldv + k];
}

/* The intermediate T = X·U is rounded to float by the kernel, so the bound
 * is the second reduction's (r terms) plus the first's error (K terms)
 * carried through V: |T err|·|V| summed. */
static void reference(const gk_lowrank_args *a, double *ref, double *tol) {
  size_t r = a->r;
  double *t = malloc(r * sizeof(double)), *tm = malloc(r * sizeof(double));
  for (size_t i = 0; i < a->M; i++) {
    for (size_t q = 0; q < r; q++) {
      double s = 0, mag = 0;
      for (size_t k = 0; k < a->K; k++) {
        double p = (double)a->X[i * a->ldx + k] * u_at(a, k, q);
        s += p, mag += fabs(p);
      }
      t[q] = s;
      tm[q] = ck_tol_reduction(a->K, mag) + 1.2e-7 * fabs(s);
    }
    for (size_t j = 0; j < a->N; j++) {
      double s = a->bias ? a->bias[j] : 0, mag = fabs(s), carried = 0;
      for (size_t q = 0; q < r; q++) {
        double v = v_at(a, q, j), p = t[q] * v;
        s += p, mag += fabs(p), carried += tm[q] * fabs(v);
      }
      double y = act_ref(s, a->act);
      ref[i * a->N + j] = y;
      tol[i * a->N + j] =
          1.13 * (ck_tol_reduction(r + 1, mag) + carried) + 8 * 1.2e-7 * fabs(y);
    }
  }
  free(t), free(tm);
}

/* NaN over the calling thread's engine scratch, as much as v's rank-r
 * path uses at this shape. */
static void spoil_scratch(const gk_variant *v, size_t M, size_t N, size_t K, size_t r) {
  const gk_gemm_impl *im = v->impl;
  size_t n = im->ws_floats(M, N, K, r);
  float *s = gk_gemm_scratch(0, n);
  for (size_t i = 0; s && i < n; i++) s[i] = NAN;
}

static void check_shape(const gk_variant *v, size_t M, size_t N, size_t K, size_t r,
                        gk_weight_layout ul, gk_weight_layout vl, int use_bias,
                        gk_activation act, size_t ldx) {
  size_t ur = ul == GK_WEIGHT_KN ? K : r, uc = ul == GK_WEIGHT_KN ? r : K;
  size_t vr = vl == GK_WEIGHT_KN ? r : N, vc = vl == GK_WEIGHT_KN ? N : r;
  ck_buf X = ck_buf_new(M, K, ldx ? ldx : ck_pick_ld(K)), U = ck_buf_new(ur, uc, ck_pick_ld(uc));
  ck_buf V = ck_buf_new(vr, vc, ck_pick_ld(vc));
  ck_buf B = ck_buf_new(1, N, N), Y = ck_buf_new(M, N, ck_pick_ld(N));
  ck_buf_fill(&X), ck_buf_fill(&U), ck_buf_fill(&V), ck_buf_fill(&B);
  gk_lowrank_args a = {M, N, K, r, X.data, X.ld, U.data, U.ld, ul, V.data, V.ld, vl,
                       use_bias ? B.data : NULL, act, Y.data, Y.ld, 0};
  double *ref = malloc(M * N * sizeof(double)), *tol = malloc(M * N * sizeof(double));
  reference(&a, ref, tol);
  gk_status s = gk_lowrank_run(v, &a);
  char what[128];
  snprintf(what, sizeof what, "M=%zu N=%zu K=%zu r=%zu U:%s V:%s bias=%d act=%d", M, N, K, r,
           ul == GK_WEIGHT_KN ? "KN" : "NK", vl == GK_WEIGHT_KN ? "KN" : "NK", use_bias,
           (int)act);
  if (s != GK_OK) ck_fail("%s: status %d", what, (int)s);
  else ck_compare(what, Y.data, Y.ld, ref, tol, M, N);
  ck_buf_check(&Y, what);
  /* 1 and 2 threads (the run above let the library choose) must give the
   * same result within the same bound. Y and this thread's scratch (where
   * the column split keeps the shared T) are spoilt first, or a thread's
   * skipped share would still hold the last run's right answer. */
  for (int t = 1; t <= 2 && !ck_failures(); t++) {
    a.threads = t;
    ck_buf_fill(&Y);
    spoil_scratch(v, M, N, K, r);
    if ((s = gk_lowrank_run(v, &a)) != GK_OK) ck_fail("%s %dT: status %d", what, t, (int)s);
    else ck_compare(what, Y.data, Y.ld, ref, tol, M, N);
  }
  free(ref), free(tol);
  ck_buf_free(&X), ck_buf_free(&U), ck_buf_free(&V), ck_buf_free(&B), ck_buf_free(&Y);
}

static void check(const gk_variant *v) {
  static const size_t edges[] = {1, 2, 3, 4, 7, 8, 9, 13, 15, 16, 17, 29, 31, 32, 33, 47};
  const size_t ne = sizeof edges / sizeof edges[0];
  for (int t = 0; t < 64 && !ck_failures(); t++) {
    size_t M = edges[ck_rand() % ne], N = edges[ck_rand() % ne], K = edges[ck_rand() % ne];
    size_t mn = K < N ? K : N, r = edges[ck_rand() % ne];
    if (r > mn) r = 1 + ck_rand() % mn;
    check_shape(v, M, N, K, r, (gk_weight_layout)(t & 1), (gk_weight_layout)((t >> 1) & 1),
                (t >> 2) & 1, (gk_activation)(t % 3), 0);
  }
  /* decoding-sized M, which 2 threads split by columns: both threads get
   * columns of U (r above U's panel width) and of V */
  const gk_gemm_impl *im = v->impl;
  check_shape(v, im->mr, 2 * im->nr + 16, 100, im->nr + 12, GK_WEIGHT_KN, GK_WEIGHT_KN, 1,
              GK_ACT_NONE, 0);
  /* ... and a rank within one panel of U, whose X·U the threads split by
   * rows of X instead */
  check_shape(v, im->mr + 3, 2 * im->nr + 16, 100, 5, GK_WEIGHT_NK, GK_WEIGHT_KN, 1,
              GK_ACT_RELU, 0);
  /* r = min(K, N) and shapes that cross cache blocks */
  check_shape(v, 17, 33, 16, 16, GK_WEIGHT_NK, GK_WEIGHT_NK, 1, GK_ACT_NONE, 0);
  /* rows of X a multiple of 4 KiB apart: X·U on the short tiles */
  check_shape(v, 41, 70, 1024, 16, GK_WEIGHT_KN, GK_WEIGHT_KN, 1, GK_ACT_NONE, 1024);
  check_shape(v, 37, 100, 1024, 24, GK_WEIGHT_NK, GK_WEIGHT_KN, 0, GK_ACT_NONE, 1024);
  check_shape(v, 30, 50, 1000, 40, GK_WEIGHT_NK, GK_WEIGHT_KN, 0, GK_ACT_GELU, 2048);
  check_shape(v, 21, 9, 1024, 5, GK_WEIGHT_KN, GK_WEIGHT_NK, 1, GK_ACT_RELU, 1024);
  for (int t = 0; t < 4 && !ck_failures(); t++) {
    /* drawn one per statement: argument evaluation order is unspecified,
     * and a seed must replay the same shapes with any compiler */
    size_t M = ck_rand_range(20, 150), N = ck_rand_range(40, 300);
    size_t K = ck_rand_range(100, 900), r = ck_rand_range(1, N < 60 ? N : 60);
    check_shape(v, M, N, K, r, (gk_weight_layout)(t & 1), (gk_weight_layout)(t >> 1), t & 1,
                (gk_activation)(t % 3), 0);
  }
  /* the largest block of T, at a rank above the others' so that the
   * scratch is sized for this call */
  size_t M, K;
  ck_largest_row_block(v, &M, &K);
  if (!ck_failures())
    check_shape(v, M, 80, K, 64, GK_WEIGHT_KN, GK_WEIGHT_KN, 1, GK_ACT_NONE, 0);
}

typedef struct {
  const gk_variant *v;
  const gk_gemm_impl *im;
  size_t M;
  const float *X;
  gk_packed_b U, V;
  float *Y;
} bench_arg;
static void bench_call(void *p) {
  bench_arg *b = p;
  b->im->lowrank_packed(b->M, b->X, b->U.K, &b->U, &b->V, NULL, GK_ACT_NONE, b->Y, b->V.N, 1,
                        NULL);
}

static void bench(const gk_variant *v) {
  const gk_gemm_impl *im = v->impl;
  static const size_t shapes[][2] = {{1, 64}, {128, 16}, {128, 64}, {128, 256}, {512, 128}};
  const size_t K = 768, N = 768;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    size_t M = shapes[i][0], r = shapes[i][1];
    float *X = gk_aligned_alloc(M * K * 4), *U = gk_aligned_alloc(K * r * 4),
          *V = gk_aligned_alloc(r * N * 4), *Y = gk_aligned_alloc(M * N * 4);
    unsigned unr = im->u_nr(r);
    float *pu = gk_aligned_alloc(gk_packed_floats(K, r, unr) * 4),
          *pv = gk_aligned_alloc(gk_packed_floats(r, N, im->nr) * 4);
    ck_fill(X, M * K), ck_fill(U, K * r), ck_fill(V, r * N);
    im->pack_nr(U, r, GK_WEIGHT_KN, K, r, unr, pu);
    im->pack(V, N, GK_WEIGHT_KN, r, N, pv);
    bench_arg b = {v, im, M, X, {pu, K, r, unr}, {pv, r, N, im->nr}, Y};
    char shape[64];
    snprintf(shape, sizeof shape, "M=%zu K=N=768 r=%zu 1T", M, r);
    ck_bench_report(shape, ck_time_ns(bench_call, &b), 2.0 * M * r * (K + N));
    gk_aligned_free(X), gk_aligned_free(U), gk_aligned_free(V), gk_aligned_free(Y);
    gk_aligned_free(pu), gk_aligned_free(pv);
  }
}

const ck_checker ck_check_lowrank = {GK_OP_LOWRANK, check, bench};

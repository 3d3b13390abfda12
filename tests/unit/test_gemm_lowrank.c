/* Rank-r GEMM, linear-layer plans and the SVD helper: bad input returns its
 * error and writes nothing; results agree with dense GEMM on U·V. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "greenkern.h"

#define SENT 12345.0f
static float X[4096], U[4096], V[4096], Y[4096];

static void reset_y(void) {
  for (int i = 0; i < 4096; i++) Y[i] = SENT;
}
static void assert_y_untouched(void) {
  for (int i = 0; i < 4096; i++) assert_true(Y[i] == SENT);
}
static void fill(float *p, size_t n, unsigned seed) {
  uint32_t s = seed * 2654435761u + 7;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)((s >> 8) * (1.0 / 8388608.0) - 1.0);
  }
}

static void test_lowrank_bad_input(void **state) {
  (void)state;
  const int KN = GK_WEIGHT_KN, NK = GK_WEIGHT_NK;
  struct {
    size_t M, N, K, r;
    const float *x; size_t ldx;
    const float *u; size_t ldu; int ul;
    const float *v; size_t ldv; int vl;
    int act;
    float *y; size_t ldy;
    gk_status want;
  } cases[] = {
      {2, 4, 3, 0, X, 3, U, 1, KN, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG}, /* r = 0 */
      {2, 4, 3, 4, X, 3, U, 4, KN, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG}, /* r > K */
      {2, 3, 4, 4, X, 4, U, 4, KN, V, 3, KN, 0, Y, 3, GK_ERR_INVALID_ARG}, /* r > N */
      {2, 4, 3, 2, NULL, 3, U, 2, KN, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG},
      {2, 4, 3, 2, X, 3, NULL, 2, KN, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG},
      {2, 4, 3, 2, X, 3, U, 2, KN, NULL, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG},
      {2, 4, 3, 2, X, 3, U, 2, KN, V, 4, KN, 0, NULL, 4, GK_ERR_INVALID_ARG},
      {0, 4, 3, 2, X, 3, U, 2, KN, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG}, /* M = 0 */
      {2, 4, 3, 2, X, 2, U, 2, KN, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG}, /* ldx < K */
      {2, 4, 3, 2, X, 3, U, 1, KN, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG}, /* U KN: ldu < r */
      {2, 4, 3, 2, X, 3, U, 2, NK, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG}, /* U NK: ldu < K */
      {2, 4, 3, 2, X, 3, U, 2, KN, V, 3, KN, 0, Y, 4, GK_ERR_INVALID_ARG}, /* V KN: ldv < N */
      {2, 4, 3, 2, X, 3, U, 2, KN, V, 1, NK, 0, Y, 4, GK_ERR_INVALID_ARG}, /* V NK: ldv < r */
      {2, 4, 3, 2, X, 3, U, 2, KN, V, 4, KN, 0, Y, 3, GK_ERR_INVALID_ARG}, /* ldy < N */
      {2, 4, 3, 2, X, 3, U, 2, 5, V, 4, KN, 0, Y, 4, GK_ERR_INVALID_ARG},  /* layout */
      {2, 4, 3, 2, X, 3, U, 2, KN, V, 4, 9, 0, Y, 4, GK_ERR_INVALID_ARG},  /* layout */
      {2, 4, 3, 2, X, 3, U, 2, KN, V, 4, KN, 7, Y, 4, GK_ERR_INVALID_ARG}, /* act */
      {SIZE_MAX / 2, 4, 3, 2, X, 3, U, 2, KN, V, 4, KN, 0, Y, 4, GK_ERR_OVERFLOW}, /* M·N */
      {2, 4, 3, 2, X, 3, U, 2, KN, V, 4, KN, 0, Y, SIZE_MAX / 2, GK_ERR_OVERFLOW},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    reset_y();
    gk_status s = gk_lowrank_gemm(cases[i].M, cases[i].N, cases[i].K, cases[i].r, cases[i].x,
                                  cases[i].ldx, cases[i].u, cases[i].ldu,
                                  (gk_weight_layout)cases[i].ul, cases[i].v, cases[i].ldv,
                                  (gk_weight_layout)cases[i].vl, NULL,
                                  (gk_activation)cases[i].act, cases[i].y, cases[i].ldy);
    if (s != cases[i].want) fail_msg("case %zu: got status %d, want %d", i, s, cases[i].want);
    assert_y_untouched();
  }
}

/* gk_lowrank_gemm equals gk_gemm on W = U·V (both computed here). */
static void test_lowrank_matches_dense(void **state) {
  (void)state;
  const size_t M = 37, K = 40, N = 33, r = 5;
  float w[40 * 33], y2[37 * 33], b[33];
  fill(X, M * K, 1), fill(U, K * r, 2), fill(V, r * N, 3), fill(b, N, 4);
  for (size_t k = 0; k < K; k++)
    for (size_t j = 0; j < N; j++) {
      double s = 0;
      for (size_t q = 0; q < r; q++) s += (double)U[k * r + q] * V[q * N + j];
      w[k * N + j] = (float)s;
    }
  for (int act = 0; act <= GK_ACT_GELU; act++) {
    assert_int_equal(gk_lowrank_gemm(M, N, K, r, X, K, U, r, GK_WEIGHT_KN, V, N, GK_WEIGHT_KN, b,
                                     (gk_activation)act, Y, N),
                     GK_OK);
    assert_int_equal(gk_gemm(M, N, K, X, K, w, N, GK_WEIGHT_KN, b, (gk_activation)act, y2, N),
                     GK_OK);
    for (size_t i = 0; i < M * N; i++) assert_true(fabsf(Y[i] - y2[i]) < 1e-4f);
  }
}

static void test_plan_bad_input(void **state) {
  (void)state;
  gk_linear_plan *p = NULL;
  assert_int_equal(gk_linear_create_dense(NULL, 4, 4, U, 4, GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_dense(&p, 4, 4, NULL, 4, GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_dense(&p, 4, 4, U, 3, GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_dense(&p, 0, 4, U, 4, GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_dense(&p, 4, 4, U, 4, 3, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_dense(&p, 4, 4, U, 4, GK_WEIGHT_KN, NULL, 5),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_dense(&p, SIZE_MAX / 2, 4, U, 4, GK_WEIGHT_KN, NULL, 0),
                   GK_ERR_OVERFLOW);
  assert_int_equal(gk_linear_create_lowrank(&p, 4, 6, 0, U, 1, GK_WEIGHT_KN, V, 6,
                                            GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_lowrank(&p, 4, 6, 5, U, 5, GK_WEIGHT_KN, V, 6,
                                            GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_lowrank(&p, 4, 6, 2, U, 1, GK_WEIGHT_KN, V, 6,
                                            GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_lowrank(&p, 4, 6, 2, U, 2, GK_WEIGHT_KN, V, 1,
                                            GK_WEIGHT_NK, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_create_lowrank(&p, 4, 6, 2, U, 2, GK_WEIGHT_KN, NULL, 6,
                                            GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_ERR_INVALID_ARG);
  assert_null(p);

  assert_int_equal(gk_linear_create_dense(&p, 8, 6, U, 6, GK_WEIGHT_KN, NULL, GK_ACT_NONE),
                   GK_OK);
  assert_true(gk_linear_memory(p) >= 8 * 6 * sizeof(float));
  reset_y();
  assert_int_equal(gk_linear_apply(NULL, 2, X, 8, Y, 6), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_apply(p, 0, X, 8, Y, 6), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_apply(p, 2, NULL, 8, Y, 6), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_apply(p, 2, X, 7, Y, 6), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_apply(p, 2, X, 8, Y, 5), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_apply(p, SIZE_MAX / 4, X, 8, Y, 6), GK_ERR_OVERFLOW);
  assert_int_equal(gk_linear_apply_ws(p, 2, X, 8, Y, 6, NULL, 1 << 20), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_linear_apply_ws(p, 2, X, 8, Y, 6, U, 16), GK_ERR_INVALID_ARG);
  assert_y_untouched();
  gk_linear_destroy(p);
  gk_linear_destroy(NULL);
}

/* Reference y = act(x·W + b) in double. */
static void ref_layer(size_t M, size_t K, size_t N, const float *x, const float *w,
                      const float *b, gk_activation act, float *y) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      double s = b ? b[j] : 0;
      for (size_t k = 0; k < K; k++) s += (double)x[i * K + k] * w[k * N + j];
      if (act == GK_ACT_RELU && s < 0) s = 0;
      if (act == GK_ACT_GELU) s = 0.5 * s * (1 + erf(s / sqrt(2.0)));
      y[i * N + j] = (float)s;
    }
}

static void check_close(const float *a, const float *b, size_t n, float tol) {
  for (size_t i = 0; i < n; i++)
    if (!(fabsf(a[i] - b[i]) <= tol)) fail_msg("element %zu: %g vs %g", i, a[i], b[i]);
}

/* Plans on both paths and with caller workspace agree with the reference. */
static void test_plans(void **state) {
  (void)state;
  const size_t K = 48, N = 40, Mmax = 70;
  float *x = malloc(Mmax * K * 4), *y = malloc(Mmax * N * 4), *ref = malloc(Mmax * N * 4);
  float *w = malloc(K * N * 4), *u = malloc(K * N * 4), *v = malloc(K * N * 4), b[40];
  fill(x, Mmax * K, 5), fill(b, N, 6);
  /* r = 2: fused path; r = 40 = min(K, N): above the crossover, dense on U·V */
  for (size_t r = 2; r <= 40; r += 38) {
    fill(u, K * r, 7), fill(v, r * N, 8);
    /* U given as r x K (NK), V as r x N (KN) */
    float *unk = malloc(r * K * 4);
    for (size_t k = 0; k < K; k++)
      for (size_t q = 0; q < r; q++) unk[q * K + k] = u[k * r + q];
    for (size_t k = 0; k < K; k++)
      for (size_t j = 0; j < N; j++) {
        double s = 0;
        for (size_t q = 0; q < r; q++) s += (double)u[k * r + q] * v[q * N + j];
        w[k * N + j] = (float)s;
      }
    gk_linear_plan *pl, *pd;
    assert_int_equal(gk_linear_create_lowrank(&pl, K, N, r, unk, K, GK_WEIGHT_NK, v, N,
                                              GK_WEIGHT_KN, b, GK_ACT_GELU),
                     GK_OK);
    assert_int_equal(gk_linear_create_dense(&pd, K, N, w, N, GK_WEIGHT_KN, b, GK_ACT_GELU),
                     GK_OK);
    assert_int_equal(gk_linear_uses_lowrank(pl, 64), r == 2);
    assert_int_equal(gk_linear_uses_lowrank(pd, 64), 0);
    assert_true(gk_linear_memory(pl) > gk_linear_memory(pd));
    size_t Ms[] = {1, 3, 17, 70};
    for (size_t t = 0; t < 4; t++) {
      size_t M = Ms[t];
      ref_layer(M, K, N, x, w, b, GK_ACT_GELU, ref);
      assert_int_equal(gk_linear_apply(pl, M, x, K, y, N), GK_OK);
      check_close(y, ref, M * N, 1e-4f);
      assert_int_equal(gk_linear_apply(pd, M, x, K, y, N), GK_OK);
      check_close(y, ref, M * N, 1e-4f);
      size_t wsb = gk_linear_workspace_size(pl, M);
      void *ws = malloc(wsb);
      memset(y, 0, M * N * 4);
      assert_int_equal(gk_linear_apply_ws(pl, M, x, K, y, N, ws, wsb), GK_OK);
      check_close(y, ref, M * N, 1e-4f);
      free(ws);
    }
    gk_linear_destroy(pl), gk_linear_destroy(pd);
    free(unk);
  }
  free(x), free(y), free(ref), free(w), free(u), free(v);
}

/* Concurrent applies on one plan, each with its own workspace. */
typedef struct {
  const gk_linear_plan *p;
  const float *x;
  float y[64 * 40];
  gk_status s;
} job;
static void *apply_job(void *arg) {
  job *j = arg;
  size_t wsb = gk_linear_workspace_size(j->p, 64);
  void *ws = malloc(wsb);
  j->s = GK_OK;
  for (int it = 0; it < 50 && !j->s; it++)
    j->s = gk_linear_apply_ws(j->p, 64, j->x, 48, j->y, 40, ws, wsb);
  free(ws);
  return NULL;
}
static void test_plan_threads(void **state) {
  (void)state;
  float x[64 * 48], u[48 * 4], v[4 * 40], ref[64 * 40];
  fill(x, sizeof x / 4, 9), fill(u, sizeof u / 4, 10), fill(v, sizeof v / 4, 11);
  gk_linear_plan *p;
  assert_int_equal(gk_linear_create_lowrank(&p, 48, 40, 4, u, 4, GK_WEIGHT_KN, v, 40,
                                            GK_WEIGHT_KN, NULL, GK_ACT_RELU),
                   GK_OK);
  assert_int_equal(gk_linear_apply(p, 64, x, 48, ref, 40), GK_OK);
  static job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i].p = p, jobs[i].x = x;
    assert_int_equal(pthread_create(&th[i], NULL, apply_job, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].s, GK_OK);
    assert_memory_equal(jobs[i].y, ref, sizeof ref);
  }
  gk_linear_destroy(p);
}

static void test_svd(void **state) {
  (void)state;
  const size_t K = 30, N = 20, rank = 3;
  float a[30 * 3], bm[3 * 20], w[30 * 20], wt[20 * 30], uo[30 * 20], vo[20 * 20], err[20];
  fill(a, sizeof a / 4, 12), fill(bm, sizeof bm / 4, 13);
  for (size_t k = 0; k < K; k++)
    for (size_t j = 0; j < N; j++) {
      double s = 0;
      for (size_t q = 0; q < rank; q++) s += (double)a[k * rank + q] * bm[q * N + j];
      w[k * N + j] = wt[j * K + k] = (float)s;
    }
  gk_status s = gk_svd_factorize(K, N, w, N, GK_WEIGHT_KN, rank, uo, vo, err);
  if (s == GK_ERR_UNSUPPORTED) skip(); /* built without LAPACKE */
  assert_int_equal(s, GK_OK);
  for (int layout = 0; layout < 2; layout++) {
    const float *src = layout ? wt : w;
    assert_int_equal(gk_svd_factorize(K, N, src, layout ? K : N, (gk_weight_layout)layout, rank,
                                      uo, vo, err),
                     GK_OK);
    for (size_t k = 0; k < K; k++)
      for (size_t j = 0; j < N; j++) {
        double r = 0;
        for (size_t q = 0; q < rank; q++) r += (double)uo[k * rank + q] * vo[q * N + j];
        assert_true(fabs(r - w[k * N + j]) < 1e-4);
      }
    assert_true(err[0] > err[1] && err[1] > err[2]);
    assert_true(err[2] < 1e-5);
  }
  /* a full-rank matrix: errors fall strictly with rank to 0 at min(K, N) */
  fill(w, K * N, 14);
  assert_int_equal(gk_svd_factorize(K, N, w, N, GK_WEIGHT_KN, N, uo, vo, err), GK_OK);
  for (size_t q = 1; q < N; q++) assert_true(err[q] < err[q - 1]);
  assert_true(err[N - 1] < 1e-6);
  /* bad input: nothing written */
  for (size_t i = 0; i < 30 * 20; i++) uo[i] = SENT;
  assert_int_equal(gk_svd_factorize(K, N, w, N, GK_WEIGHT_KN, 0, uo, vo, err), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_svd_factorize(K, N, w, N, GK_WEIGHT_KN, 21, uo, vo, err), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_svd_factorize(K, N, w, N - 1, GK_WEIGHT_KN, 2, uo, vo, err),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_svd_factorize(K, N, NULL, N, GK_WEIGHT_KN, 2, uo, vo, err),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_svd_factorize(K, N, w, N, GK_WEIGHT_KN, 2, NULL, vo, err),
                   GK_ERR_INVALID_ARG);
  assert_int_equal(gk_svd_factorize(K, N, w, N, 4, 2, uo, vo, err), GK_ERR_INVALID_ARG);
  for (size_t i = 0; i < 30 * 20; i++) assert_true(uo[i] == SENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lowrank_bad_input), cmocka_unit_test(test_lowrank_matches_dense),
      cmocka_unit_test(test_plan_bad_input),    cmocka_unit_test(test_plans),
      cmocka_unit_test(test_plan_threads),      cmocka_unit_test(test_svd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

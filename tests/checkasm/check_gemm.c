/* GEMM checker: Y = act(X·W + bias) in both weight layouts against a
 * float64 reference, on shapes that hit every tail of every tile. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "checkasm.h"
#include "kernels/gemm/gemm.h"
#include "kernels/tuning.h"

static double act_ref(double x, gk_activation act) {
  switch (act) {
    case GK_ACT_RELU: return x > 0 ? x : 0;
    case GK_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return x;
  }
}

/* Reference and per-element bound. The activation is 1-Lipschitz (GELU's
 * slope stays below 1.13), so it scales the bound by at most that, plus a
 * few ulps for SLEEF's erf. */
static void reference(const gk_gemm_args *a, double *ref, double *tol) {
  for (size_t i = 0; i < a->M; i++)
    for (size_t j = 0; j < a->N; j++) {
      double s = a->bias ? a->bias[j] : 0, mag = fabs(s);
      for (size_t k = 0; k < a->K; k++) {
        double w = a->layout == GK_WEIGHT_KN ? a->W[k * a->ldw + j] : a->W[j * a->ldw + k];
        double t = (double)a->X[i * a->ldx + k] * w;
        s += t, mag += fabs(t);
      }
      double y = act_ref(s, a->act);
      ref[i * a->N + j] = y;
      tol[i * a->N + j] = 1.13 * ck_tol_reduction(a->K + 1, mag) + 8 * 1.2e-7 * fabs(y);
    }
}

/* ldw: W's leading dimension, 0 for a drawn one */
static void check_shape(const gk_variant *v, size_t M, size_t N, size_t K,
                        gk_weight_layout layout, int use_bias, gk_activation act, size_t ldw) {
  size_t wr = layout == GK_WEIGHT_KN ? K : N, wc = layout == GK_WEIGHT_KN ? N : K;
  ck_buf X = ck_buf_new(M, K, ck_pick_ld(K)), W = ck_buf_new(wr, wc, ldw ? ldw : ck_pick_ld(wc));
  ck_buf B = ck_buf_new(1, N, N), Y = ck_buf_new(M, N, ck_pick_ld(N));
  ck_buf_fill(&X), ck_buf_fill(&W), ck_buf_fill(&B);
  gk_gemm_args a = {M, N, K, X.data, X.ld, W.data, W.ld, layout,
                    use_bias ? B.data : NULL, act, Y.data, Y.ld, 0};
  double *ref = malloc(M * N * sizeof(double)), *tol = malloc(M * N * sizeof(double));
  reference(&a, ref, tol);
  gk_status s = gk_gemm_run(v, &a);
  char what[96];
  snprintf(what, sizeof what, "M=%zu N=%zu K=%zu %s bias=%d act=%d", M, N, K,
           layout == GK_WEIGHT_KN ? "KN" : "NK", use_bias, (int)act);
  if (s != GK_OK) ck_fail("%s: status %d", what, (int)s);
  else ck_compare(what, Y.data, Y.ld, ref, tol, M, N);
  ck_buf_check(&Y, what);
  /* the same product on 1 and 2 threads (the run above let the library
   * choose), and on weights packed once (plans); Y is refilled before each
   * run, or a thread's skipped share would still hold the last run's
   * right answer */
  if (!ck_failures()) {
    for (int t = 1; t <= 2; t++) {
      a.threads = t;
      ck_buf_fill(&Y);
      if ((s = gk_gemm_run(v, &a)) != GK_OK) ck_fail("%s %dT: status %d", what, t, (int)s);
      else ck_compare(what, Y.data, Y.ld, ref, tol, M, N);
    }
    const gk_gemm_impl *im = v->impl;
    float *p = gk_aligned_alloc(gk_packed_floats(K, N, im->nr) * sizeof(float));
    im->pack(W.data, W.ld, layout, K, N, p);
    gk_packed_b pb = {p, K, N, im->nr};
    for (int t = 1; t <= 2; t++) {
      ck_buf_fill(&Y);
      if ((s = im->run_packed(M, X.data, X.ld, &pb, a.bias, act, Y.data, Y.ld, t, NULL)))
        ck_fail("%s packed %dT: status %d", what, t, (int)s);
      else ck_compare(what, Y.data, Y.ld, ref, tol, M, N);
    }
    ck_buf_check(&Y, what);
    gk_aligned_free(p);
  }
  free(ref), free(tol);
  ck_buf_free(&X), ck_buf_free(&W), ck_buf_free(&B), ck_buf_free(&Y);
}

static void check(const gk_variant *v) {
  /* sizes around every plausible vector width and register tile */
  static const size_t edges[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 65};
  const size_t ne = sizeof edges / sizeof edges[0];
  for (int layout = 0; layout < 2; layout++)
    for (int t = 0; t < 40 && !ck_failures(); t++) {
      size_t M = edges[ck_rand() % ne], N = edges[ck_rand() % ne], K = edges[ck_rand() % ne];
      check_shape(v, M, N, K, (gk_weight_layout)layout, t & 1, (gk_activation)(t % 3), 0);
    }
  /* one row (the GEMV paths): K on each side of the four rows raw KN
   * weights are read at a time, N with and without a partial vector */
  static const size_t gemv_k[] = {1, 3, 4, 6, 9};
  for (size_t i = 0; i < sizeof gemv_k / sizeof *gemv_k && !ck_failures(); i++)
    for (int layout = 0; layout < 2; layout++)
      check_shape(v, 1, i % 2 ? 33 : 48, gemv_k[i], (gk_weight_layout)layout, (int)i % 2,
                  (gk_activation)(i % 3), 0);
  /* larger shapes that cross cache blocks (K past kc, at most 768), kept
   * modest for the float64 reference under qemu */
  for (int t = 0; t < 3 && !ck_failures(); t++) {
    /* one draw per statement: argument evaluation order is unspecified,
     * and a seed must replay the same shapes with any compiler */
    size_t M = ck_rand_range(20, 130);
    size_t N = ck_rand_range(40, 200);
    size_t K = ck_rand_range(700, 1100);
    check_shape(v, M, N, K, (gk_weight_layout)(t & 1), t & 1, (gk_activation)(t % 3), 0);
  }
  /* raw KN weights on each side of the in-place bounds (rows of W read
   * by every tile up to 24 row tiles, 8 when W's rows are 4 KiB apart;
   * packed beyond: which side a shape falls on depends on the tile), with
   * a narrow last panel */
  if (!ck_failures()) check_shape(v, 200, 70, 800, GK_WEIGHT_KN, 1, GK_ACT_NONE, 0);
  if (!ck_failures()) check_shape(v, 80, 1000, 200, GK_WEIGHT_KN, 0, GK_ACT_RELU, 1024);
  if (!ck_failures()) check_shape(v, 50, 1000, 200, GK_WEIGHT_KN, 1, GK_ACT_NONE, 1024);
  /* on 2 threads, rows split so that each share reads the weights in
   * place where the whole would pack them (see grid) */
  if (!ck_failures()) check_shape(v, 120, 200, 300, GK_WEIGHT_KN, 1, GK_ACT_GELU, 0);
  /* raw N x K weights computed swapped (Yᵀ = W·Xᵀ, see dense_nk_swapped)
   * over more rows of W than its scratch takes at once, with bias */
  if (!ck_failures()) check_shape(v, 40, 1100, 96, GK_WEIGHT_NK, 1, GK_ACT_GELU, 0);
  /* a profile's blocks: K blocks twice the derived depth (weights read in
   * place keep the derived one, kc_in_place) and N over three equal
   * blocks; the profile is restored after */
  if (!ck_failures()) {
    const gk_gemm_impl *im = v->impl;
    gk_tuning *live = gk_tuning_for_tuner(), saved = *live;
    gk_gemm_blocking d = gk_gemm_blocking_for(v->isa, im->mr, im->nr);
    gk_tuning_put_blocking(live, (gk_blocking_point){v, d.mc, 2 * d.kc, 3 * im->nr, 0, 0});
    const size_t n = 8 * im->nr + 5, k = 2 * d.kc + 40;
    check_shape(v, 2 * im->mr + 1, n, k, GK_WEIGHT_KN, 1, GK_ACT_NONE, 0); /* in place */
    if (!ck_failures()) check_shape(v, 90, n, k, GK_WEIGHT_KN, 0, GK_ACT_RELU, 0);
    *live = saved;
  }
  /* the packed A block and scratch at their largest */
  size_t M, K;
  ck_largest_row_block(v, &M, &K);
  if (!ck_failures()) check_shape(v, M, 80, K, GK_WEIGHT_KN, 1, GK_ACT_NONE, 0);
}

typedef struct {
  const gk_variant *v;
  gk_gemm_args a;
} bench_arg;
static void bench_call(void *p) {
  bench_arg *b = p;
  gk_gemm_run(b->v, &b->a);
}

static void bench(const gk_variant *v) {
  static const size_t shapes[][3] = {{1, 768, 768}, {128, 768, 768}, {128, 3072, 768}, {512, 768, 3072}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    size_t M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
    float *X = gk_aligned_alloc(M * K * 4), *W = gk_aligned_alloc(K * N * 4), *Y = gk_aligned_alloc(M * N * 4);
    ck_fill(X, M * K), ck_fill(W, K * N);
    bench_arg b = {v, {M, N, K, X, K, W, N, GK_WEIGHT_KN, NULL, GK_ACT_NONE, Y, N, 1}};
    char shape[64];
    snprintf(shape, sizeof shape, "M=%zu N=%zu K=%zu 1T", M, N, K);
    ck_bench_report(shape, ck_time_ns(bench_call, &b), 2.0 * M * N * K);
    gk_aligned_free(X), gk_aligned_free(W), gk_aligned_free(Y);
  }
}

const ck_checker ck_check_gemm = {GK_OP_GEMM, check, bench};

/* ------------------------------------------------------------ self-test
 * The harness must be able to fail. Each mutant wraps the scalar variant
 * and spoils its output in one way a broken kernel could; the checker has
 * to catch every one (checkasm --selftest). */
static const gk_variant *selftest_base;
static int mutation;

static gk_status mutant_run(const gk_gemm_args *a) {
  gk_status s = gk_gemm_run(selftest_base, a);
  if (s) return s;
  float *last = a->Y + (a->M - 1) * a->ldy + a->N - 1;
  switch (mutation) {
    case 0: a->Y[0] += 1e-3f * (1.0f + fabsf(a->Y[0])); break; /* wrong value */
    case 1: last[1] = 0.0f; break;                          /* one past the end */
    case 2: a->Y[-1] = 0.0f; break;                         /* one before */
    case 3: if (a->ldy > a->N) a->Y[a->N] = 0.0f;           /* ld gap */
            else a->Y[0] = NAN;
            break;
    case 4: if (a->bias) a->Y[0] -= a->bias[0];             /* forgot the bias */
            else a->Y[0] = -a->Y[0] + 1.0f;
            break;
  }
  return GK_OK;
}

int ck_selftest_gemm(void) {
  /* the dispatcher's variant with its raw-weights entry spoiled */
  selftest_base = gk_dispatch(GK_OP_GEMM);
  static gk_gemm_impl mutant_impl;
  mutant_impl = *(const gk_gemm_impl *)selftest_base->impl;
  mutant_impl.run = mutant_run;
  const gk_variant mutant = {GK_OP_GEMM, "selftest_mutant", GK_ISA_SCALAR, 0, 0, &mutant_impl};
  int missed = 0;
  for (mutation = 0; mutation < 5; mutation++) {
    ck_begin(&mutant);
    check(&mutant);
    if (!ck_failures()) {
      printf("  selftest: mutation %d of the GEMM output went unnoticed\n", mutation);
      missed++;
    }
  }
  return missed;
}

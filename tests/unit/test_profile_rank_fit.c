/* The fit behind the profile's rank crossovers (tuner/fit.c): where a
 * robust line through the tuner's fused/dense time ratios reaches 1, and
 * how sure that is, and the grid rank it is rounded to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "tuner/fit.h"

/* nine ranks from 304 to 464, as a default-effort pass around r* = 384 */
#define N 9
static void ranks(double *x) {
  for (int i = 0; i < N; i++) x[i] = 304 + 20 * i;
}

/* ratio = r / 384: the fused cost proportional to r, dense flat */
static double line(double r) { return r / 384.0; }

static void test_exact_line(void **state) {
  (void)state;
  double x[N], y[N];
  ranks(x);
  for (int i = 0; i < N; i++) y[i] = line(x[i]);
  tn_crossing c;
  assert_true(tn_fit_crossing(x, y, N, 1.0, &c));
  assert_true(fabs(c.x - 384) < 1e-6);
  assert_true(c.err < 1e-6);
  /* another level, and the crossing outside the points (extrapolated) */
  assert_true(tn_fit_crossing(x, y, N, 1.5, &c));
  assert_true(fabs(c.x - 576) < 1e-6);
}

/* Noise of a few percent, as on a loaded machine: the crossing moves by
 * about as much as the error says. */
static void test_noise(void **state) {
  (void)state;
  static const double noise[N] = {0.02, -0.015, 0.01, -0.02, 0.005, 0.015, -0.01, -0.005, 0.02};
  double x[N], y[N];
  ranks(x);
  for (int i = 0; i < N; i++) y[i] = line(x[i]) * (1 + noise[i]);
  tn_crossing c;
  assert_true(tn_fit_crossing(x, y, N, 1.0, &c));
  assert_true(c.err > 1 && c.err < 10);
  assert_true(fabs(c.x - 384) < 3 * c.err);
}

/* Two comparisons spoilt by a burst of load (fused 40% and 25% slow):
 * the line ignores them, the error does not. */
static void test_wild_points(void **state) {
  (void)state;
  double x[N], y[N];
  ranks(x);
  for (int i = 0; i < N; i++) y[i] = line(x[i]);
  y[1] *= 1.4, y[6] *= 1.25;
  tn_crossing c;
  assert_true(tn_fit_crossing(x, y, N, 1.0, &c));
  assert_true(fabs(c.x - 384) < 1);
  assert_true(c.err > 10);
}

/* Repeated ranks (later passes at the same grid ranks) are fine. */
static void test_repeated_ranks(void **state) {
  (void)state;
  double x[2 * N], y[2 * N];
  ranks(x), ranks(x + N);
  for (int i = 0; i < 2 * N; i++) y[i] = line(x[i]) * (i < N ? 1.01 : 0.99);
  tn_crossing c;
  assert_true(tn_fit_crossing(x, y, 2 * N, 1.0, &c));
  assert_true(fabs(c.x - 384) < 2);
}

static void test_nothing_to_solve(void **state) {
  (void)state;
  double x[N], y[N];
  tn_crossing c = {-7, -7};
  ranks(x);
  for (int i = 0; i < N; i++) y[i] = 1.2 - x[i] / 1000; /* falls with r */
  assert_false(tn_fit_crossing(x, y, N, 1.0, &c));
  for (int i = 0; i < N; i++) y[i] = 0.9; /* flat */
  assert_false(tn_fit_crossing(x, y, N, 1.0, &c));
  for (int i = 0; i < N; i++) x[i] = 384, y[i] = 1 + 0.01 * i; /* one rank only */
  assert_false(tn_fit_crossing(x, y, N, 1.0, &c));
  assert_false(tn_fit_crossing(x, y, 0, 1.0, &c));
  assert_false(tn_fit_crossing(x, y, TN_FIT_MAX + 1, 1.0, &c));
  assert_true(c.x == -7 && c.err == -7);
  /* two points: a line, but no residual to judge it by */
  double x2[2] = {300, 400}, y2[2] = {0.75, 1.0};
  assert_true(tn_fit_crossing(x2, y2, 2, 1.0, &c));
  assert_true(fabs(c.x - 400) < 1e-9 && c.err == 0);
}

/* The crossing goes to the nearest grid rank, not the one below: 391.9
 * is 384, 392 (a half step up) and 399 are 400; clamped to [lo, hi]. */
static void test_nearest_on_grid(void **state) {
  (void)state;
  assert_true(tn_nearest_on_grid(384, 16, 0, 768) == 384);
  assert_true(tn_nearest_on_grid(391.9, 16, 0, 768) == 384);
  assert_true(tn_nearest_on_grid(376.1, 16, 0, 768) == 384);
  assert_true(tn_nearest_on_grid(392, 16, 0, 768) == 400);
  assert_true(tn_nearest_on_grid(399, 16, 0, 768) == 400);
  assert_true(tn_nearest_on_grid(-20, 16, 0, 768) == 0);
  assert_true(tn_nearest_on_grid(5, 16, 16, 768) == 16);
  assert_true(tn_nearest_on_grid(790, 16, 0, 768) == 768);
  assert_true(tn_nearest_on_grid(700, 16, 0, 700) == 700); /* hi off the grid */
  /* a fitted crossing near 390 (just under a half step above 384) */
  double x[N], y[N];
  ranks(x);
  for (int i = 0; i < N; i++) y[i] = x[i] / 391.0;
  tn_crossing c;
  assert_true(tn_fit_crossing(x, y, N, 1.0, &c));
  assert_true(tn_nearest_on_grid(c.x, 16, 0, 768) == 384);
  for (int i = 0; i < N; i++) y[i] = x[i] / 393.0;
  assert_true(tn_fit_crossing(x, y, N, 1.0, &c));
  assert_true(tn_nearest_on_grid(c.x, 16, 0, 768) == 400);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_line),     cmocka_unit_test(test_noise),
      cmocka_unit_test(test_wild_points),    cmocka_unit_test(test_repeated_ranks),
      cmocka_unit_test(test_nothing_to_solve), cmocka_unit_test(test_nearest_on_grid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

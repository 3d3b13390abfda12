/* The variant study's rule (tuner/fit.c, tn_variant_verdict): a rival
 * replaces the registry's default only when paired timings show it faster
 * by more than the noise; ties go to the default, so that two tunes of one
 * machine choose alike. The thread study's rule (tn_thread_threshold) is
 * the same idea for the single-thread threshold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "tuner/fit.h"

static const double quiet[3] = {0.005, 0.01, 0.0};

/* within a few percent: the default stays, whichever way the noise fell */
static void test_within_noise(void **state) {
  (void)state;
  static const double r[][3] = {{0.98, 0.97, 0.99}, {1.02, 0.99, 1.0}, {0.96, 0.96, 0.96},
                                {1.0, 1.0, 1.0}};
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
    tn_verdict v;
    assert_true(tn_variant_verdict(r[i], quiet, 3, 0.05, &v));
    assert_false(v.rival_wins);
    assert_true(fabs(v.margin - 0.05) < 1e-12);
  }
}

/* clearly faster everywhere: the rival wins; the ratio is the geometric mean */
static void test_clear_win(void **state) {
  (void)state;
  const double r[3] = {0.8, 0.9, 0.85};
  tn_verdict v;
  assert_true(tn_variant_verdict(r, quiet, 3, 0.05, &v));
  assert_true(v.rival_wins);
  assert_true(fabs(v.ratio - cbrt(0.8 * 0.9 * 0.85)) < 1e-12);
}

/* at the margin is a tie, and a tie goes to the default (a hair above it,
 * so that rounding in the geometric mean cannot decide the test) */
static void test_tie_goes_to_default(void **state) {
  (void)state;
  const double r[1] = {1 / 1.05 + 1e-9}, zero[1] = {0};
  tn_verdict v;
  assert_true(tn_variant_verdict(r, zero, 1, 0.05, &v));
  assert_false(v.rival_wins);
  const double r2[1] = {1 / 1.05 - 1e-9};
  assert_true(tn_variant_verdict(r2, zero, 1, 0.05, &v));
  assert_true(v.rival_wins);
}

/* noise widens the margin: twice the median noise over the classes */
static void test_noise_widens_margin(void **state) {
  (void)state;
  const double r[3] = {0.88, 0.9, 0.89}, noisy[3] = {0.02, 0.08, 0.5};
  tn_verdict v;
  assert_true(tn_variant_verdict(r, noisy, 3, 0.05, &v));
  assert_true(fabs(v.margin - 0.16) < 1e-12);
  assert_false(v.rival_wins); /* 11% faster is not 16% */
  const double calm[3] = {0.02, 0.03, 0.01};
  assert_true(tn_variant_verdict(r, calm, 3, 0.05, &v));
  assert_true(fabs(v.margin - 0.05) < 1e-12); /* 2 x 2% is under the floor */
  assert_true(v.rival_wins);
}

/* a big win on one class does not buy a loss on another, even a small one
 * (a tile that wins on one-row decode by 13% and loses by 2-4% on prefill,
 * as measured on a shared AVX-512 machine) */
static void test_slower_somewhere(void **state) {
  (void)state;
  const double r[3] = {0.6, 0.9, 1.08};
  const double decode_only[3] = {0.865, 1.021, 1.037};
  tn_verdict w;
  assert_true(tn_variant_verdict(decode_only, quiet, 3, 0.0, &w));
  assert_true(w.ratio < 1);
  assert_false(w.rival_wins);
  tn_verdict v;
  assert_true(tn_variant_verdict(r, quiet, 3, 0.05, &v));
  assert_true(v.ratio < 0.9);
  assert_false(v.rival_wins);
}

/* The same measurements judged per shape class, as the variant study now
 * does: the decode class (one and four rows) goes to the rival, prefill
 * keeps the default. */
static void test_per_class(void **state) {
  (void)state;
  const double decode[2] = {0.865, 0.88}, prefill[2] = {1.021, 1.037};
  tn_verdict d, p;
  assert_true(tn_variant_verdict(decode, quiet, 2, 0.05, &d));
  assert_true(d.rival_wins);
  assert_true(tn_variant_verdict(prefill, quiet, 2, 0.05, &p));
  assert_false(p.rival_wins);
}

/* nothing to judge: the caller keeps the default */
static void test_nothing_to_judge(void **state) {
  (void)state;
  const double bad[2] = {0.5, 0}, nan_r[1] = {NAN}, r[1] = {0.5};
  tn_verdict v = {-1, -1, -1};
  assert_false(tn_variant_verdict(r, quiet, 0, 0.05, &v));
  assert_false(tn_variant_verdict(bad, quiet, 2, 0.05, &v));
  assert_false(tn_variant_verdict(nan_r, quiet, 1, 0.05, &v));
  assert_true(v.ratio == -1 && v.rival_wins == -1);
  /* a noise figure that is not a number counts as none */
  const double nan_noise[1] = {NAN};
  assert_true(tn_variant_verdict(r, nan_noise, 1, 0.05, &v));
  assert_true(v.rival_wins && v.margin == 0.05);
}

/* The thread study: a ladder of work sizes, the team's time over one
 * thread's at each. */
static const double ladder[6] = {1e5, 1e6, 3e6, 1e7, 3e7, 1e8};
static const double calm[6] = {0.01, 0.01, 0.01, 0.01, 0.01, 0.01};

/* one thread wins up to 1e6, ties at 3e6 and 1e7, the team wins from 3e7:
 * any default in (1e6, 3e7] fits and stays, wherever the ties fell */
static void test_threads_tie_keeps_default(void **state) {
  (void)state;
  static const double ties[][6] = {{1.5, 1.2, 0.98, 0.97, 0.7, 0.55},
                                   {1.5, 1.2, 1.03, 0.96, 0.7, 0.55},
                                   {1.5, 1.2, 0.97, 1.02, 0.7, 0.55}};
  for (int i = 0; i < 3; i++) {
    int kept = 0;
    assert_true(tn_thread_threshold(ladder, ties[i], calm, 6, 0.05, 5e6, &kept) == 5e6);
    assert_true(kept);
    assert_true(tn_thread_threshold(ladder, ties[i], calm, 6, 0.05, 3e7, &kept) == 3e7);
    assert_true(kept);
  }
}

/* a default the timings contradict moves to the middle of the ladder step
 * at the near edge of what fits */
static void test_threads_default_contradicted(void **state) {
  (void)state;
  static const double r[6] = {1.5, 1.2, 0.98, 0.97, 0.7, 0.55};
  int kept = 1;
  /* one thread won at 1e6: a default of 5e5 had sent that size to the team */
  assert_true(fabs(tn_thread_threshold(ladder, r, calm, 6, 0.05, 5e5, &kept) - sqrt(3e12)) <
              1e-3);
  assert_false(kept);
  /* the team won at 3e7: a default of 5e7 had kept it on one thread */
  assert_true(fabs(tn_thread_threshold(ladder, r, calm, 6, 0.05, 5e7, &kept) - sqrt(3e14)) <
              1e-3);
  assert_false(kept);
}

/* the ends of the ladder: the team won everywhere, one thread everywhere,
 * a noisy size whose win is inside its noise, no sizes at all */
static void test_threads_edges(void **state) {
  (void)state;
  int kept;
  static const double team[6] = {0.8, 0.7, 0.6, 0.55, 0.52, 0.51};
  assert_true(tn_thread_threshold(ladder, team, calm, 6, 0.05, 5e6, &kept) == 5e4 && !kept);
  static const double one[6] = {2, 1.8, 1.6, 1.4, 1.2, 1.1};
  assert_true(tn_thread_threshold(ladder, one, calm, 6, 0.05, 5e6, &kept) == 2e8 && !kept);
  /* 1.15 at 1e7 would contradict 5e6, but its noise (10%) asks for 1.2 */
  static const double r[6] = {1.5, 1.2, 1.0, 1.15, 0.7, 0.55};
  static const double loud[6] = {0.01, 0.01, 0.01, 0.10, 0.01, 0.01};
  assert_true(tn_thread_threshold(ladder, r, loud, 6, 0.05, 5e6, &kept) == 5e6 && kept);
  assert_true(tn_thread_threshold(ladder, r, calm, 6, 0.05, 5e6, &kept) == sqrt(3e14) && !kept);
  assert_true(tn_thread_threshold(ladder, r, calm, 0, 0.05, 5e6, &kept) == 5e6 && kept);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_within_noise),       cmocka_unit_test(test_clear_win),
      cmocka_unit_test(test_tie_goes_to_default), cmocka_unit_test(test_noise_widens_margin),
      cmocka_unit_test(test_slower_somewhere), cmocka_unit_test(test_per_class),
      cmocka_unit_test(test_nothing_to_judge), cmocka_unit_test(test_threads_tie_keeps_default),
      cmocka_unit_test(test_threads_default_contradicted), cmocka_unit_test(test_threads_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

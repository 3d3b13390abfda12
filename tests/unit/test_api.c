/* API contract: status codes, bad input returns its error and writes
 * nothing, thread settings, concurrent first-use initialisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "greenkern.h"

static void test_strerror(void **state) {
  (void)state;
  for (int s = GK_OK; s <= GK_ERR_INTERNAL; s++) {
    assert_non_null(gk_strerror((gk_status)s));
    for (int t = GK_OK; t < s; t++)
      assert_string_not_equal(gk_strerror((gk_status)s), gk_strerror((gk_status)t));
  }
  assert_non_null(gk_strerror((gk_status)12345));
}

static void test_version(void **state) {
  (void)state;
  assert_string_equal(gk_version(), GK_VERSION_STRING);
  assert_non_null(strstr(gk_build_id(), GK_VERSION_STRING));
}

/* Output sentinel: every bad call must leave it untouched. */
#define SENT 12345.0f
static float X[64], W[64], Y[64];
static void reset_y(void) {
  for (int i = 0; i < 64; i++) Y[i] = SENT;
}
static void assert_y_untouched(void) {
  for (int i = 0; i < 64; i++) assert_true(Y[i] == SENT);
}

static void test_gemm_bad_input(void **state) {
  (void)state;
  struct {
    size_t M, N, K;
    const float *x; size_t ldx;
    const float *w; size_t ldw;
    int layout, act;
    float *y; size_t ldy;
    gk_status want;
  } cases[] = {
      {2, 2, 2, NULL, 2, W, 2, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_INVALID_ARG},
      {2, 2, 2, X, 2, NULL, 2, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_INVALID_ARG},
      {2, 2, 2, X, 2, W, 2, GK_WEIGHT_KN, 0, NULL, 2, GK_ERR_INVALID_ARG},
      {0, 2, 2, X, 2, W, 2, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_INVALID_ARG},
      {2, 0, 2, X, 2, W, 2, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_INVALID_ARG},
      {2, 2, 0, X, 2, W, 2, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_INVALID_ARG},
      {2, 3, 4, X, 3, W, 3, GK_WEIGHT_KN, 0, Y, 3, GK_ERR_INVALID_ARG}, /* ldx < K */
      {2, 3, 4, X, 4, W, 2, GK_WEIGHT_KN, 0, Y, 3, GK_ERR_INVALID_ARG}, /* ldw < N */
      {2, 3, 4, X, 4, W, 3, GK_WEIGHT_NK, 0, Y, 3, GK_ERR_INVALID_ARG}, /* NK: ldw < K */
      {2, 3, 4, X, 4, W, 3, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_INVALID_ARG}, /* ldy < N */
      {2, 2, 2, X, 2, W, 2, 7, 0, Y, 2, GK_ERR_INVALID_ARG},            /* layout */
      {2, 2, 2, X, 2, W, 2, GK_WEIGHT_KN, 9, Y, 2, GK_ERR_INVALID_ARG}, /* act */
      {SIZE_MAX / 2, 2, 2, X, 2, W, 2, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_OVERFLOW},
      {2, 2, 2, X, SIZE_MAX / 4, W, 2, GK_WEIGHT_KN, 0, Y, 2, GK_ERR_OVERFLOW},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    reset_y();
    gk_status s = gk_gemm(cases[i].M, cases[i].N, cases[i].K, cases[i].x, cases[i].ldx,
                          cases[i].w, cases[i].ldw, (gk_weight_layout)cases[i].layout, NULL,
                          (gk_activation)cases[i].act, cases[i].y, cases[i].ldy);
    if (s != cases[i].want) fail_msg("case %zu: got status %d, want %d", i, s, cases[i].want);
    assert_y_untouched();
  }
}

static void test_gemm_small(void **state) {
  (void)state;
  const float x[2 * 3] = {1, 2, 3, 4, 5, 6};
  const float w[3 * 2] = {1, 0, 0, 1, 1, 1}; /* K x N */
  const float b[2] = {0.5f, -100};
  float y[4];
  assert_int_equal(gk_gemm(2, 2, 3, x, 3, w, 2, GK_WEIGHT_KN, b, GK_ACT_RELU, y, 2), GK_OK);
  assert_float_equal(y[0], 4.5f, 1e-6);
  assert_float_equal(y[1], 0.0f, 1e-6);
  assert_float_equal(y[2], 10.5f, 1e-6);
  assert_float_equal(y[3], 0.0f, 1e-6);
  const float wt[2 * 3] = {1, 0, 1, 0, 1, 1}; /* the same W stored N x K */
  assert_int_equal(gk_gemm(2, 2, 3, x, 3, wt, 3, GK_WEIGHT_NK, NULL, GK_ACT_NONE, y, 2), GK_OK);
  assert_float_equal(y[0], 4.0f, 1e-6);
  assert_float_equal(y[1], 5.0f, 1e-6);
}

static void test_threads(void **state) {
  (void)state;
  assert_int_equal(gk_set_num_threads(-1), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_set_num_threads(5000), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_set_num_threads(3), GK_OK);
  assert_int_equal(gk_get_num_threads(), 3);
  assert_int_equal(gk_set_num_threads(0), GK_OK);
  assert_true(gk_get_num_threads() >= 1);
}

static void test_queries(void **state) {
  (void)state;
  assert_null(gk_chosen_variant("no-such-op"));
  assert_null(gk_chosen_variant(NULL));
  size_t n = 0;
  for (const char *op; (op = gk_op_name(n)); n++) assert_non_null(gk_chosen_variant(op));
  assert_true(n >= 1);
  assert_string_equal(gk_isa_name((gk_isa)99), "?");
}

static void test_init_is_clean(void **state) {
  (void)state;
  assert_int_equal(gk_init(), GK_OK);
}

static void *racer(void *arg) {
  const char **out = arg;
  *out = gk_chosen_variant("gemm");
  return NULL;
}
/* Many threads hit first use at once: all see one complete table. Run as
 * its own process (tests/meson.build) so init has not happened yet. */
static void test_concurrent_init(void **state) {
  (void)state;
  enum { N = 16 };
  pthread_t t[N];
  const char *seen[N];
  for (int i = 0; i < N; i++) pthread_create(&t[i], NULL, racer, &seen[i]);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) {
    assert_non_null(seen[i]);
    assert_ptr_equal(seen[i], seen[0]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concurrent_init), /* first: before any init */
      cmocka_unit_test(test_init_is_clean),   cmocka_unit_test(test_strerror),
      cmocka_unit_test(test_version),         cmocka_unit_test(test_gemm_bad_input),
      cmocka_unit_test(test_gemm_small),      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_queries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

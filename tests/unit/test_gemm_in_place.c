/* The engine's choice between reading raw K x N weights in place and
 * packing them (gk_gemm_reads_in_place): the row-tile limits by stride,
 * and the aliased limit for weights beyond streamed_floats, which the
 * tuner's in-place study also asks to skip shapes both limits treat alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/gemm/gemm.h"

/* 6-row tiles; in place up to 11 tiles with rows apart, 3 when 4 KiB
 * apart; weights beyond 2^20 floats (4 MiB) stream from memory */
static const gk_gemm_blocking bl = {.mc = 30, .kc = 768, .nc = 1360, .in_place_tiles = 11,
                                    .in_place_tiles_aliased = 3, .kc_in_place = 384,
                                    .cached_floats = 1u << 19, .streamed_floats = 1u << 20};

static void test_rows_apart(void **state) {
  (void)state;
  /* K x N = 768 x 768 (cached): up to 11 tiles (M = 66) */
  assert_true(gk_gemm_reads_in_place(&bl, 1, 768, 768, 768, 6));
  assert_true(gk_gemm_reads_in_place(&bl, 66, 768, 768, 768, 6));
  assert_false(gk_gemm_reads_in_place(&bl, 67, 768, 768, 768, 6));
  /* a wider row than N (a slice of a larger matrix) is still rows apart */
  assert_true(gk_gemm_reads_in_place(&bl, 60, 768, 768, 800, 6));
}

static void test_aliased(void **state) {
  (void)state;
  /* rows 1024 floats apart: 3 tiles, cached or not */
  assert_true(gk_gemm_reads_in_place(&bl, 18, 256, 1024, 1024, 6));
  assert_false(gk_gemm_reads_in_place(&bl, 19, 256, 1024, 1024, 6));
  assert_false(gk_gemm_reads_in_place(&bl, 19, 768, 3072, 3072, 6));
}

static void test_streamed(void **state) {
  (void)state;
  /* 1366 x 768 floats, just over 2^20: the aliased limit, rows apart too */
  assert_true(gk_gemm_reads_in_place(&bl, 18, 1366, 768, 768, 6));
  assert_false(gk_gemm_reads_in_place(&bl, 19, 1366, 768, 768, 6));
  /* 1365 x 768, just under: the rows-apart limit */
  assert_true(gk_gemm_reads_in_place(&bl, 66, 1365, 768, 768, 6));
  /* a limit below the aliased one is kept as it is */
  gk_gemm_blocking low = bl;
  low.in_place_tiles = 2;
  assert_false(gk_gemm_reads_in_place(&low, 18, 4096, 768, 768, 6));
  assert_true(gk_gemm_reads_in_place(&low, 12, 4096, 768, 768, 6));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows_apart),
                                     cmocka_unit_test(test_aliased),
                                     cmocka_unit_test(test_streamed)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* EcoFormer entries' API contract: each bad input returns its error and
 * writes nothing; presets; the public attention entry gives the same result
 * whichever algorithm it picks; an all-zero row hashes without NaN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "greenkern.h"

#define N 8
#define HEADS 2
#define D 4
#define M 3
#define B 70 /* two words */
#define W GK_CODE_WORDS(B)

static float X[N * HEADS * D], ANC[HEADS * M * D], A[HEADS * B * M], MU[HEADS * M];
static uint64_t C[N * HEADS * W];
static const uint64_t CSENT = 0x5a5a5a5a5a5a5a5aull;

static void fill(void) {
  for (size_t i = 0; i < sizeof X / sizeof *X; i++) X[i] = (float)((i * 37 % 11) - 5) / 5;
  for (size_t i = 0; i < sizeof ANC / sizeof *ANC; i++) ANC[i] = (float)((i * 13 % 7) - 3) / 3;
  for (size_t i = 0; i < sizeof A / sizeof *A; i++) A[i] = (float)((i * 29 % 17) - 8) / 8;
  for (size_t i = 0; i < sizeof MU / sizeof *MU; i++) MU[i] = 0.1f;
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) C[i] = CSENT;
}
static void assert_codes_untouched(void) {
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) assert_true(C[i] == CSENT);
}

static gk_hash_params good_hash(void) {
  return (gk_hash_params){HEADS, D, M, B, ANC, MU, A, NULL, 1};
}

static void test_hash_bad_input(void **state) {
  (void)state;
  fill();
  float zero_sigma[HEADS] = {1, 0}, neg_sigma[HEADS] = {-1, 1}, nan_sigma[HEADS] = {NAN, 1};
  for (int c = 0; c < 20; c++) {
    gk_hash_params p = good_hash();
    size_t n = N, ldx = HEADS * D, xhs = D, ldc = HEADS * W, chs = W;
    const float *x = X;
    uint64_t *codes = C;
    gk_status want = GK_ERR_INVALID_ARG;
    switch (c) {
      case 0: p.b = 0; break;
      case 1: p.b = GK_HASH_MAX_BITS + 1; break;
      case 2: p.m = 0; break;
      case 3: p.m = GK_HASH_MAX_ANCHORS + 1; break;
      case 4: p.sigma = zero_sigma; break;
      case 5: p.sigma = neg_sigma; break;
      case 6: p.sigma = nan_sigma; break;
      case 7: x = NULL; break;
      case 8: codes = NULL; break;
      case 9: p.anchors = NULL; break;
      case 10: p.A = NULL; break;
      case 11: n = 0; break;
      case 12: p.heads = 0; break;
      case 13: p.head_dim = 0; break;
      case 14: ldx = HEADS * D - 1; break;             /* heads overlap */
      case 15: xhs = D - 1; break;                     /* heads overlap */
      case 16: ldc = HEADS * W - 1; break;             /* code rows overlap */
      case 17: chs = 1; break;                         /* code heads overlap */
      case 18: n = SIZE_MAX / 2; want = GK_ERR_OVERFLOW; break;
      case 19: assert_int_equal(gk_hash(NULL, n, x, ldx, xhs, codes, ldc, chs), GK_ERR_INVALID_ARG); continue;
    }
    assert_int_equal(gk_hash(&p, n, x, ldx, xhs, codes, ldc, chs), want);
    assert_codes_untouched();
  }
}

static void test_hash_zero_row(void **state) {
  (void)state;
  fill();
  memset(X, 0, HEADS * D * sizeof(float)); /* token 0, both heads */
  gk_hash_params p = good_hash();
  assert_int_equal(gk_hash(&p, N, X, HEADS * D, D, C, HEADS * W, W), GK_OK);
  for (size_t i = 0; i < N * HEADS; i++) assert_true(C[i * W + 1] >> (B - 64) == 0); /* unused bits */
  /* a fixed sigma reproduces the computed one's codes when equal to it is
   * not knowable here; a fixed positive sigma just has to succeed */
  float sig[HEADS] = {0.5f, 2.0f};
  p.sigma = sig;
  assert_int_equal(gk_hash(&p, N, X, HEADS * D, D, C, HEADS * W, W), GK_OK);
}

static void test_presets(void **state) {
  (void)state;
  gk_hamming_kernel k;
  assert_int_equal(gk_hamming_kernel_preset(GK_HAMMING_PAPER, 16, &k), GK_OK);
  assert_true(k.alpha == 1 && k.beta_num == 0 && k.beta_den == 0 && k.gamma == 0);
  assert_int_equal(gk_hamming_kernel_preset(GK_HAMMING_ECOFORMER_REF, 16, &k), GK_OK);
  assert_true(k.alpha == 2 && k.beta_num == -16 && k.beta_den == 1 && k.gamma == 17);
  assert_int_equal(gk_hamming_kernel_preset(GK_HAMMING_PAPER, 0, &k), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_hamming_kernel_preset(GK_HAMMING_PAPER, 1025, &k), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_hamming_kernel_preset((gk_hamming_preset)9, 16, &k), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_hamming_kernel_preset(GK_HAMMING_PAPER, 16, NULL), GK_ERR_INVALID_ARG);
}

#define OSENT 777.0f
static float V[N * HEADS * D], O[N * HEADS * D];
static void reset_o(void) {
  for (size_t i = 0; i < sizeof O / sizeof *O; i++) O[i] = OSENT;
}
static void assert_o_untouched(void) {
  for (size_t i = 0; i < sizeof O / sizeof *O; i++) assert_true(O[i] == OSENT);
}

static void test_attention_bad_input(void **state) {
  (void)state;
  fill();
  for (size_t i = 0; i < sizeof V / sizeof *V; i++) V[i] = (float)i / 10;
  for (int c = 0; c < 18; c++) {
    gk_hamming_attn_params p = {HEADS, D, B, {2, -B, 1, B + 1}, 0, GK_HAMMING_AUTO};
    size_t nq = N, nkv = N, valid = N, ldq = HEADS * W, ldo = HEADS * D, ohs = D;
    const uint64_t *q = C;
    const float *v = V;
    float *o = O;
    switch (c) {
      case 0: p.b = 0; break;
      case 1: p.b = GK_HASH_MAX_BITS + 1; break;
      case 2: q = NULL; break;
      case 3: v = NULL; break;
      case 4: o = NULL; break;
      case 5: nq = 0; break;
      case 6: valid = N + 1; break;
      case 7: nq = N - 1; break;              /* gamma != 0 needs n_q == n_kv */
      case 8: p.kernel.gamma = 0, p.causal = 1, nq = N, nkv = N - 1, valid = N - 1; break;
      case 9: p.algo = (gk_hamming_algo)7; break;
      case 10: p.kernel.alpha = NAN; break;
      case 11: ldo = HEADS * D - 1; break;
      case 12: ohs = 1; break;
      case 13: ldq = 1; break;
      case 14: p.heads = 0; break;
      case 15: p.head_dim = 0; break;
      case 16: nkv = 0, valid = 0; break;
      case 17: assert_int_equal(gk_hamming_attention(NULL, nq, nkv, valid, q, ldq, W, C, HEADS * W, W,
                                                     v, HEADS * D, D, o, ldo, ohs), GK_ERR_INVALID_ARG);
        continue;
    }
    reset_o();
    assert_int_equal(gk_hamming_attention(&p, nq, nkv, valid, q, ldq, W, C, HEADS * W, W, v,
                                          HEADS * D, D, o, ldo, ohs), GK_ERR_INVALID_ARG);
    assert_o_untouched();
  }
}

static void test_attention_algorithms_agree(void **state) {
  (void)state;
  fill();
  gk_hash_params hp = good_hash();
  assert_int_equal(gk_hash(&hp, N, X, HEADS * D, D, C, HEADS * W, W), GK_OK);
  for (size_t i = 0; i < sizeof V / sizeof *V; i++) V[i] = (float)((i * 7 % 13) - 6) / 6;
  float ref[N * HEADS * D];
  for (int causal = 0; causal < 2; causal++)
    for (int algo = GK_HAMMING_AUTO; algo <= GK_HAMMING_LINEAR; algo++) {
      gk_hamming_attn_params p = {HEADS, D, B, {0, 0, 0, 0}, causal, (gk_hamming_algo)algo};
      gk_hamming_kernel_preset(GK_HAMMING_ECOFORMER_REF, B, &p.kernel);
      reset_o();
      assert_int_equal(gk_hamming_attention(&p, N, N, N - 1, C, HEADS * W, W, C, HEADS * W, W, V,
                                            HEADS * D, D, O, HEADS * D, D), GK_OK);
      if (algo == GK_HAMMING_AUTO) memcpy(ref, O, sizeof O);
      for (size_t i = 0; i < N * HEADS * D; i++)
        if (!(fabsf(O[i] - ref[i]) <= 1e-4f * (1 + fabsf(ref[i]))))
          fail_msg("causal=%d algo=%d element %zu: %g vs %g", causal, algo, i, O[i], ref[i]);
    }
}

static void test_distances_bad_input(void **state) {
  (void)state;
  fill();
  uint16_t d[N * N];
  for (int c = 0; c < 8; c++) {
    size_t na = N, nb = N, words = W, lda = W, ldb = W, ldd = N;
    const uint64_t *a = C;
    uint16_t *out = d;
    switch (c) {
      case 0: words = 0; break;
      case 1: words = 17; break;
      case 2: a = NULL; break;
      case 3: out = NULL; break;
      case 4: ldd = N - 1; break;
      case 5: lda = W - 1; break;
      case 6: na = 0; break;
      case 7: nb = 0; break;
    }
    memset(d, 0xcd, sizeof d);
    assert_int_equal(gk_hamming_distances(na, nb, words, a, lda, C, ldb, out, ldd), GK_ERR_INVALID_ARG);
    for (size_t i = 0; i < N * N; i++) assert_true(d[i] == 0xcdcd);
  }
  assert_int_equal(gk_hamming_distances(N, N, W, C, W, C, W, d, N), GK_OK);
  for (size_t i = 0; i < N; i++) assert_int_equal(d[i * N + i], 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash_bad_input),
      cmocka_unit_test(test_hash_zero_row),
      cmocka_unit_test(test_presets),
      cmocka_unit_test(test_attention_bad_input),
      cmocka_unit_test(test_attention_algorithms_agree),
      cmocka_unit_test(test_distances_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

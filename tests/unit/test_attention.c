/* Attention and Linformer API contract: every bad input returns its error
 * and leaves the output untouched; the documented edge cases (no visible
 * key, all-padding sequence, k > n, NULL workspace) give what they say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "greenkern.h"

#define SENT 12345.0f
#define N 256
static float Q[N], K[N], V[N], O[N], E[N], F[N];
static float WS[1 << 16];

static void fill_inputs(void) {
  for (int i = 0; i < N; i++) {
    Q[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
    K[i] = (float)((i * 11) % 13) / 13.0f - 0.5f;
    V[i] = (float)((i * 7) % 19) / 19.0f - 0.5f;
    E[i] = (float)((i * 5) % 23) / 23.0f - 0.5f;
    F[i] = (float)((i * 3) % 29) / 29.0f - 0.5f;
  }
}
static void reset_o(void) {
  for (int i = 0; i < N; i++) O[i] = SENT;
}
static void assert_o_untouched(void) {
  for (int i = 0; i < N; i++) assert_true(O[i] == SENT);
}

/* 2 heads x d = 4, n_q = n_kv = 3, packed rows of 8 floats */
static gk_attn_shape base_shape(void) {
  gk_attn_shape s = {0};
  s.heads = 2, s.head_dim = 4, s.n_q = 3, s.n_kv = 3;
  return s;
}

static void expect_attention(gk_status want, const gk_attn_shape *s, const float *q, size_t ldq,
                             const float *k, size_t ldk, const float *v, size_t ldv, float *o,
                             size_t ldo, const gk_attn_mask *m) {
  reset_o();
  assert_int_equal(gk_attention(s, q, ldq, k, ldk, v, ldv, o, ldo, m), want);
  assert_o_untouched();
}

static void test_attention_bad_input(void **state) {
  (void)state;
  fill_inputs();
  gk_attn_shape s = base_shape(), t;
  const gk_status INV = GK_ERR_INVALID_ARG;
  expect_attention(INV, NULL, Q, 8, K, 8, V, 8, O, 8, NULL);
  expect_attention(INV, &s, NULL, 8, K, 8, V, 8, O, 8, NULL);
  expect_attention(INV, &s, Q, 8, NULL, 8, V, 8, O, 8, NULL);
  expect_attention(INV, &s, Q, 8, K, 8, NULL, 8, O, 8, NULL);
  expect_attention(INV, &s, Q, 8, K, 8, V, 8, NULL, 8, NULL);
  t = s, t.head_dim = 0;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  t = s, t.heads = 0;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  t = s, t.n_q = 0;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  t = s, t.n_kv = 0;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  /* leading dimensions shorter than heads*d */
  expect_attention(INV, &s, Q, 7, K, 8, V, 8, O, 8, NULL);
  expect_attention(INV, &s, Q, 8, K, 7, V, 8, O, 8, NULL);
  expect_attention(INV, &s, Q, 8, K, 8, V, 7, O, 8, NULL);
  expect_attention(INV, &s, Q, 8, K, 8, V, 8, O, 7, NULL);
  /* head stride below d (heads overlap), or pushing past ld */
  t = s, t.o_head_stride = 3;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  t = s, t.k_head_stride = 5;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  t = s, t.scale = NAN;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  t = s, t.scale = INFINITY;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  /* output sequences overlapping each other */
  t = s, t.batch = 2, t.o_batch_stride = 8;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  /* valid length > n_kv */
  size_t valid[2] = {3, 4};
  gk_attn_mask m = {0, valid};
  t = s, t.batch = 2;
  expect_attention(INV, &t, Q, 8, K, 8, V, 8, O, 8, &m);
  /* sizes whose extent overflows size_t */
  t = s, t.n_q = SIZE_MAX / 4;
  expect_attention(GK_ERR_OVERFLOW, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
  t = s, t.batch = 3, t.k_batch_stride = SIZE_MAX / 2;
  expect_attention(GK_ERR_OVERFLOW, &t, Q, 8, K, 8, V, 8, O, 8, NULL);
}

static void test_attention_masked_rows_are_zero(void **state) {
  (void)state;
  fill_inputs();
  gk_attn_shape s = base_shape();
  /* causal with n_q > n_kv: query 0 (position -1) sees no key */
  s.n_q = 4, s.n_kv = 3;
  gk_attn_mask causal = {1, NULL};
  reset_o();
  assert_int_equal(gk_attention(&s, Q, 8, K, 8, V, 8, O, 8, &causal), GK_OK);
  for (int c = 0; c < 8; c++) assert_true(O[c] == 0.0f);
  /* row 1 sees key 0 only: its output is V's row 0 */
  for (int c = 0; c < 8; c++) assert_float_equal(O[8 + c], V[c], 1e-6);
  for (int i = 32; i < N; i++) assert_true(O[i] == SENT);
  /* all keys padded away: zeros, not NaN */
  size_t none = 0;
  gk_attn_mask pad = {0, &none};
  s = base_shape();
  reset_o();
  assert_int_equal(gk_attention(&s, Q, 8, K, 8, V, 8, O, 8, &pad), GK_OK);
  for (int i = 0; i < 24; i++) assert_true(O[i] == 0.0f);
  assert_true(O[24] == SENT);
}

static void test_project_bad_input(void **state) {
  (void)state;
  fill_inputs();
  struct {
    size_t k, n, c;
    const float *e; size_t lde, n_max;
    const float *x; size_t ldx;
    float *y; size_t ldy;
    gk_status want;
  } cases[] = {
      {0, 4, 4, E, 8, 8, K, 4, O, 4, GK_ERR_INVALID_ARG},  /* k = 0 */
      {2, 0, 4, E, 8, 8, K, 4, O, 4, GK_ERR_INVALID_ARG},  /* n = 0 */
      {2, 4, 0, E, 8, 8, K, 4, O, 4, GK_ERR_INVALID_ARG},  /* c = 0 */
      {2, 9, 4, E, 9, 8, K, 4, O, 4, GK_ERR_INVALID_ARG},  /* n > n_max */
      {2, 4, 4, E, 7, 8, K, 4, O, 4, GK_ERR_INVALID_ARG},  /* lde < n_max */
      {2, 4, 4, NULL, 8, 8, K, 4, O, 4, GK_ERR_INVALID_ARG},
      {2, 4, 4, E, 8, 8, NULL, 4, O, 4, GK_ERR_INVALID_ARG},
      {2, 4, 4, E, 8, 8, K, 4, NULL, 4, GK_ERR_INVALID_ARG},
      {2, 4, 4, E, 8, 8, K, 3, O, 4, GK_ERR_INVALID_ARG},  /* ldx < c */
      {2, 4, 4, E, 8, 8, K, 4, O, 3, GK_ERR_INVALID_ARG},  /* ldy < c */
      {SIZE_MAX / 2, 4, 4, E, 8, 8, K, 4, O, 4, GK_ERR_OVERFLOW},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    reset_o();
    assert_int_equal(gk_linformer_project(cases[i].k, cases[i].n, cases[i].c, cases[i].e,
                                          cases[i].lde, cases[i].n_max, cases[i].x,
                                          cases[i].ldx, cases[i].y, cases[i].ldy),
                     cases[i].want);
    assert_o_untouched();
  }
  /* a good call: Y = E[:, :n]·X, padded rows (n..n_max) ignored */
  reset_o();
  assert_int_equal(gk_linformer_project(2, 3, 4, E, 8, 8, K, 4, O, 4), GK_OK);
  for (int i = 0; i < 2; i++)
    for (int c = 0; c < 4; c++) {
      double s = 0;
      for (int t = 0; t < 3; t++) s += (double)E[i * 8 + t] * K[t * 4 + c];
      assert_float_equal(O[i * 4 + c], s, 1e-5);
    }
  assert_true(O[8] == SENT);
}

static gk_linformer_proj base_proj(void) {
  gk_linformer_proj p = {0};
  p.k = 2, p.n_max = 4, p.E = E, p.lde = 4, p.F = F, p.ldf = 4;
  p.sharing = GK_LINFORMER_HEADWISE;
  return p;
}

static void expect_linformer(gk_status want, const gk_attn_shape *s, const gk_linformer_proj *p,
                             const size_t *valid, void *ws, size_t ws_bytes) {
  reset_o();
  assert_int_equal(gk_linformer_attention(s, p, Q, 8, K, 8, V, 8, O, 8, valid, ws, ws_bytes), want);
  assert_o_untouched();
}

static void test_linformer_bad_input(void **state) {
  (void)state;
  fill_inputs();
  gk_attn_shape s = base_shape(), t;
  gk_linformer_proj p = base_proj(), q;
  const gk_status INV = GK_ERR_INVALID_ARG;
  size_t ws = gk_linformer_workspace_size(&s, &p);
  assert_true(ws > 0 && ws <= sizeof WS);
  expect_linformer(INV, &s, NULL, NULL, WS, ws);
  expect_linformer(INV, NULL, &p, NULL, WS, ws);
  q = p, q.k = 0;
  expect_linformer(INV, &s, &q, NULL, WS, ws);
  assert_int_equal(gk_linformer_workspace_size(&s, &q), 0);
  q = p, q.E = NULL;
  expect_linformer(INV, &s, &q, NULL, WS, ws);
  q = p, q.F = NULL; /* F needed unless key-value sharing */
  expect_linformer(INV, &s, &q, NULL, WS, ws);
  q = p, q.lde = 3;  /* lde < n_max */
  expect_linformer(INV, &s, &q, NULL, WS, ws);
  q = p, q.sharing = (gk_linformer_sharing)7;
  expect_linformer(INV, &s, &q, NULL, WS, ws);
  q = p, q.n_max = 2; /* n_kv = 3 > n_max */
  expect_linformer(INV, &s, &q, NULL, WS, ws);
  q = p, q.sharing = GK_LINFORMER_PER_HEAD, q.head_stride = 5; /* heads' E overlap */
  expect_linformer(INV, &s, &q, NULL, WS, ws);
  t = s, t.head_dim = 0;
  expect_linformer(INV, &t, &p, NULL, WS, ws);
  size_t valid[1] = {4}; /* > n_kv */
  expect_linformer(INV, &s, &p, valid, WS, ws);
  expect_linformer(INV, &s, &p, NULL, WS, 16); /* workspace too small */
  expect_linformer(INV, &s, &p, NULL, WS, 0);
}

static void test_linformer_edge_cases(void **state) {
  (void)state;
  fill_inputs();
  gk_attn_shape s = base_shape();
  gk_linformer_proj p = base_proj();
  p.k = 5, p.sharing = GK_LINFORMER_KEY_VALUE, p.F = NULL; /* k > n, F unused */
  size_t ws = gk_linformer_workspace_size(&s, &p);
  reset_o();
  /* misaligned caller workspace */
  assert_int_equal(gk_linformer_attention(&s, &p, Q, 8, K, 8, V, 8, O, 8, NULL,
                                          (char *)WS + 4, ws), GK_OK);
  float first[24];
  memcpy(first, O, sizeof first);
  for (int i = 0; i < 24; i++) assert_true(isfinite(O[i]));
  assert_true(O[24] == SENT);
  /* no workspace: the call allocates, same result */
  reset_o();
  assert_int_equal(gk_linformer_attention(&s, &p, Q, 8, K, 8, V, 8, O, 8, NULL, NULL, 0), GK_OK);
  assert_memory_equal(first, O, sizeof first);
  /* an all-padding sequence gets zeros */
  size_t none = 0;
  reset_o();
  assert_int_equal(gk_linformer_attention(&s, &p, Q, 8, K, 8, V, 8, O, 8, &none, WS, ws), GK_OK);
  for (int i = 0; i < 24; i++) assert_true(O[i] == 0.0f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attention_bad_input),
      cmocka_unit_test(test_attention_masked_rows_are_zero),
      cmocka_unit_test(test_project_bad_input),
      cmocka_unit_test(test_linformer_bad_input),
      cmocka_unit_test(test_linformer_edge_cases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

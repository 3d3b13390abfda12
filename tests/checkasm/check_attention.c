/* Attention checker: every flash-attention variant against the float64
 * reference of attention_ref.h (tolerance stated there), on shapes that
 * hit every tile tail (n = 1, n around the query block and key tile, d
 * around the vector width and the fast sizes 32/64/80/96/128), with causal
 * masks (n_q != n_kv too), key padding down to 0 valid keys (rows with no
 * key must be zeros), head strides and leading dimensions with odd pads,
 * the fused-QKV layout, batches, unaligned buffers and 1 or 2 threads
 * (2 only on the long fixed shapes: a thread team per tiny case costs more
 * than the case, ruinously so under qemu or on a loaded machine).
 * Guard zones and the gaps between output heads must stay untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_ref.h"
#include "checkasm.h"
#include "kernels/attention/attention.h"

typedef struct acase {
  size_t batch, heads, d, n_q, n_kv;
  int causal, pad, fused, odd_stride, threads;
} acase;

static double *head_to_double(const float *p, size_t rows, size_t d, size_t ld, double *absv) {
  double *x = malloc(rows * d * sizeof(double));
  for (size_t i = 0; i < rows; i++)
    for (size_t c = 0; c < d; c++) {
      x[i * d + c] = p[i * ld + c];
      if (absv) absv[i * d + c] = fabs(x[i * d + c]);
    }
  return x;
}

/* The output's window outside every head [h*hs, h*hs + d) must still hold
 * the sentinel that ck_buf_new wrote there. */
static void check_head_gaps(const ck_buf *O, size_t heads, size_t hs, size_t d, const char *what) {
  for (size_t i = 0; i < O->rows; i++)
    for (size_t c = 0; c < O->cols; c++)
      if (c % hs >= d && !ck_is_sentinel(O->data[i * O->ld + c])) {
        ck_fail("%s: wrote between heads (row %zu, col %zu)", what, i, c);
        return;
      }
  (void)heads;
}

static void check_case(const gk_variant *v, acase t) {
  const size_t d = t.d, H = t.heads;
  const size_t hs = d + (t.odd_stride ? 1 + 2 * (ck_rand() % 3) : 0), span = (H - 1) * hs + d;
  if (t.fused) t.n_kv = t.n_q;
  ck_buf Qb, Kb, Vb, QKV = {0};
  const float *Q, *K, *V;
  size_t ldq, ldk, ldv;
  if (t.fused) { /* [tokens, 3 * heads * hs]: the output of a fused QKV GEMM */
    QKV = ck_buf_new(t.batch * t.n_q, 3 * span, ck_pick_ld(3 * span));
    ck_buf_fill(&QKV);
    Q = QKV.data, K = QKV.data + span, V = QKV.data + 2 * span;
    ldq = ldk = ldv = QKV.ld;
  } else {
    Qb = ck_buf_new(t.batch * t.n_q, span, ck_pick_ld(span));
    Kb = ck_buf_new(t.batch * t.n_kv, span, ck_pick_ld(span));
    Vb = ck_buf_new(t.batch * t.n_kv, span, ck_pick_ld(span));
    ck_buf_fill(&Qb), ck_buf_fill(&Kb), ck_buf_fill(&Vb);
    Q = Qb.data, K = Kb.data, V = Vb.data;
    ldq = Qb.ld, ldk = Kb.ld, ldv = Vb.ld;
  }
  ck_buf O = ck_buf_new(t.batch * t.n_q, span, ck_pick_ld(span));
  size_t valid[4];
  for (size_t b = 0; b < t.batch; b++) {
    switch (ck_rand() % 4) {
      case 0: valid[b] = 0; break;
      case 1: valid[b] = t.n_kv; break;
      default: valid[b] = ck_rand_range(1, t.n_kv);
    }
  }
  gk_attn_shape s = {t.batch, H, d, t.n_q, t.n_kv, hs, hs, hs, hs, 0, 0, 0, 0, 0.0f};
  if (ck_rand() % 4 == 0) s.scale = 0.5f / (float)d;
  gk_attn_mask mask = {t.causal, t.pad ? valid : NULL};
  char what[160];
  snprintf(what, sizeof what, "b=%zu h=%zu d=%zu nq=%zu nkv=%zu hs=%zu causal=%d pad=%d fused=%d T=%d",
           t.batch, H, d, t.n_q, t.n_kv, hs, t.causal, t.pad, t.fused, t.threads);
  /* 2 threads where the configuration allows: OMP_NUM_THREADS=1 keeps
   * qemu runs (where a thread team crawls) single-threaded. */
  if (t.threads > gk_max_threads()) t.threads = gk_max_threads();
  gk_attn_args a;
  gk_status st = gk_attn_prepare(&s, Q, ldq, K, ldk, V, ldv, O.data, O.ld, &mask, &a);
  if (st == GK_OK) {
    a.threads = t.threads;
    st = gk_attention_run(v, &a);
  }
  if (st != GK_OK) {
    ck_fail("%s: status %d", what, (int)st);
  } else {
    double *ref = malloc(t.n_q * d * sizeof(double)), *tol = malloc(t.n_q * d * sizeof(double));
    double *kmag = malloc(t.n_kv * d * sizeof(double)), *vmag = malloc(t.n_kv * d * sizeof(double));
    double *w = malloc(t.n_kv * sizeof(double));
    for (size_t b = 0; b < t.batch && !ck_failures(); b++)
      for (size_t h = 0; h < H && !ck_failures(); h++) {
        double *q = head_to_double(Q + b * t.n_q * ldq + h * hs, t.n_q, d, ldq, NULL);
        double *k = head_to_double(K + b * t.n_kv * ldk + h * hs, t.n_kv, d, ldk, kmag);
        double *vv = head_to_double(V + b * t.n_kv * ldv + h * hs, t.n_kv, d, ldv, vmag);
        ck_attention_ref(t.n_q, t.n_kv, d, a.s.scale, t.causal, t.pad ? valid[b] : t.n_kv, 0,
                         q, k, kmag, vv, vmag, ref, tol, w);
        char where[200];
        snprintf(where, sizeof where, "%s seq %zu head %zu", what, b, h);
        ck_compare(where, O.data + b * t.n_q * O.ld + h * hs, O.ld, ref, tol, t.n_q, d);
        free(q), free(k), free(vv);
      }
    free(ref), free(tol), free(kmag), free(vmag), free(w);
  }
  check_head_gaps(&O, H, hs, d, what);
  ck_buf_check(&O, what);
  ck_buf_free(&O);
  if (t.fused) ck_buf_free(&QKV);
  else ck_buf_free(&Qb), ck_buf_free(&Kb), ck_buf_free(&Vb);
}

/* Sized for qemu too (NEON runs there 20-100x slower, with a soft-float
 * double reference): small random shapes cover every tail, a few fixed
 * long ones cover several key blocks (BC = 64) and query blocks. */
static void check(const gk_variant *v) {
  static const size_t ns[] = {1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 63, 64, 65};
  static const size_t ds[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 80, 96, 128};
  const size_t nn = sizeof ns / sizeof ns[0], nd = sizeof ds / sizeof ds[0];
  for (int i = 0; i < 48 && !ck_failures(); i++) {
    /* one draw per statement: the order of evaluation inside an
     * initializer list is unspecified, and a seed must replay the same
     * case whatever the compiler */
    acase t = {.threads = 1};
    t.batch = ck_rand_range(1, 2);
    t.heads = ck_rand_range(1, 2);
    t.d = ds[ck_rand() % nd];
    t.n_q = ns[ck_rand() % nn];
    t.n_kv = ns[ck_rand() % nn];
    t.causal = (int)(ck_rand() % 2);
    t.pad = (int)(ck_rand() % 2);
    t.fused = ck_rand() % 4 == 0;
    t.odd_stride = (int)(ck_rand() % 2);
    check_case(v, t);
  }
  /* n = 1 both ways, n_q != n_kv under causal, several key blocks (BC =
   * 60 keys; decoding-sized n_q: 256, in the last row), and heads inner
   * (n_q >= 16 n_kv, short n_kv: Linformer's shape) on 3 heads */
  const acase fixed[] = {
      {1, 1, 64, 1, 1, 0, 0, 0, 0, 1},     {1, 1, 64, 1, 150, 1, 0, 0, 0, 1},
      {1, 1, 64, 150, 1, 1, 0, 0, 0, 2},   {1, 1, 64, 150, 150, 0, 0, 0, 0, 2},
      {1, 1, 64, 140, 140, 1, 1, 1, 0, 2}, {2, 1, 80, 70, 133, 1, 1, 0, 1, 2},
      {1, 1, 128, 65, 200, 0, 1, 0, 0, 1}, {1, 1, 96, 70, 150, 1, 0, 0, 1, 1},
      {1, 2, 33, 1, 600, 0, 1, 0, 1, 2},   {2, 1, 64, 2, 530, 1, 1, 0, 0, 1},
      {2, 3, 64, 150, 5, 0, 1, 0, 1, 2},   {1, 3, 33, 100, 6, 1, 0, 1, 0, 1},
  };
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && !ck_failures(); i++)
    check_case(v, fixed[i]);
}

typedef struct bench_arg {
  const gk_variant *v;
  gk_attn_args a;
} bench_arg;
static void bench_call(void *p) {
  bench_arg *b = p;
  gk_attention_run(b->v, &b->a);
}

static void bench(const gk_variant *v) {
  static const size_t ns[] = {256, 1024};
  const size_t H = 12, d = 64;
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    const size_t n = ns[i];
    float *Q = gk_aligned_alloc(n * H * d * 4), *K = gk_aligned_alloc(n * H * d * 4);
    float *V = gk_aligned_alloc(n * H * d * 4), *O = gk_aligned_alloc(n * H * d * 4);
    ck_fill(Q, n * H * d), ck_fill(K, n * H * d), ck_fill(V, n * H * d);
    gk_attn_shape s = {1, H, d, n, n, 0, 0, 0, 0, 0, 0, 0, 0, 0.0f};
    bench_arg b;
    memset(&b, 0, sizeof b);
    b.v = v;
    gk_attn_prepare(&s, Q, H * d, K, H * d, V, H * d, O, H * d, NULL, &b.a);
    b.a.threads = 1;
    char shape[64];
    snprintf(shape, sizeof shape, "heads=12 d=64 n=%zu 1T", n);
    ck_bench_report(shape, ck_time_ns(bench_call, &b), 4.0 * H * n * n * d);
    gk_aligned_free(Q), gk_aligned_free(K), gk_aligned_free(V), gk_aligned_free(O);
  }
}

const ck_checker ck_check_attention = {GK_OP_ATTENTION, check, bench};

/* EcoFormer checkers: the kernelized hash (bits against a float64
 * reference, skipping bits whose pre-sign value is within rounding of 0),
 * all-pairs Hamming distances (exact), and both Hamming attention forms
 * (quadratic and linear, each against the float64 direct formula, so the
 * two agree with each other within the same tolerance). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"
#include "kernels/hamming/hamming.h"

static const size_t bits_list[] = {1, 16, 63, 64, 65, 256, 1024};
#define NBITS (sizeof bits_list / sizeof bits_list[0])

/* ------------------------------------------- guarded integer arrays */
/* rows x cols elements of `es` bytes, leading dimension ld, inside guard
 * zones; every byte outside the window holds GUARD. */
#define GUARD 0xA5
#define GUARD_BYTES 64
typedef struct gbuf {
  unsigned char *base;
  void *data;
  size_t rows, cols, ld, es, total;
} gbuf;

static gbuf gbuf_new(size_t rows, size_t cols, size_t ld, size_t es) {
  gbuf g = {NULL, NULL, rows, cols, ld, es, 0};
  g.total = ((rows - 1) * ld + cols) * es + 2 * GUARD_BYTES;
  g.base = malloc(g.total);
  memset(g.base, GUARD, g.total);
  g.data = g.base + GUARD_BYTES;
  return g;
}

static int gbuf_check(const gbuf *g, const char *what) {
  for (size_t k = 0; k < g->total; k++) {
    long off = (long)k - GUARD_BYTES;
    int inside = 0;
    if (off >= 0) {
      size_t e = (size_t)off / g->es, r = e / g->ld, c = e % g->ld;
      inside = r < g->rows && c < g->cols;
    }
    if (!inside && g->base[k] != GUARD) {
      ck_fail("%s: byte %ld outside the output window was written", what, off);
      return 0;
    }
  }
  return 1;
}

/* Random b-bit codes, unused bits 0. */
static void random_code(uint64_t *c, size_t b) {
  for (size_t w = 0; w < GK_CODE_WORDS(b); w++) {
    size_t nl = b - 64 * w < 64 ? b - 64 * w : 64;
    c[w] = ck_rand() & (nl == 64 ? ~0ull : (1ull << nl) - 1);
  }
}

/* A multi-head code array: token-major or head-major, with random pads. */
typedef struct codes {
  uint64_t *p;
  size_t ld, hs;
} codes;
static codes codes_new(size_t n, size_t heads, size_t b) {
  size_t words = GK_CODE_WORDS(b), pad = ck_rand() % 3;
  codes c;
  if (ck_rand() & 1) c.hs = words + pad, c.ld = heads * c.hs + ck_rand() % 2;
  else c.ld = words + pad, c.hs = n * c.ld + ck_rand() % 2;
  c.p = calloc((n - 1) * c.ld + (heads - 1) * c.hs + words, sizeof(uint64_t));
  for (size_t h = 0; h < heads; h++)
    for (size_t i = 0; i < n; i++) random_code(c.p + i * c.ld + h * c.hs, b);
  return c;
}

static int bit_of(const uint64_t *c, size_t l) { return (int)(c[l >> 6] >> (l & 63) & 1); }

/* ================================================================ hash */
static void hash_reference(const gk_hash_args *a, size_t h, double *y, double *margin) {
  const gk_hash_params *p = &a->p;
  size_t n = a->n, d = p->head_dim, m = p->m, b = p->b;
  const float *anc = p->anchors + h * m * d, *A = p->A + h * b * m;
  double *xn = malloc(n * d * sizeof(double)), *D = malloc(n * m * sizeof(double));
  double *nrm = malloc(n * m * sizeof(double)), total = 0;
  for (size_t i = 0; i < n; i++) {
    const float *x = a->x + i * a->ldx + h * a->xhs;
    double s = 0;
    for (size_t c = 0; c < d; c++) s += (double)x[c] * x[c];
    double sc = p->normalize && s > 0 ? 1 / sqrt(s) : 1;
    for (size_t c = 0; c < d; c++) xn[i * d + c] = x[c] * sc;
    for (size_t j = 0; j < m; j++) {
      double t = 0, xa = 0, aa = 0;
      for (size_t c = 0; c < d; c++) {
        double u = xn[i * d + c] - anc[j * d + c];
        t += u * u, xa += xn[i * d + c] * xn[i * d + c], aa += (double)anc[j * d + c] * anc[j * d + c];
      }
      D[i * m + j] = t, total += t;
      nrm[i * m + j] = sqrt(xa) + sqrt(aa);
    }
  }
  double sigma = p->sigma ? p->sigma[h] : total / (n * m);
  if (!(sigma > 0)) sigma = 1;
  for (size_t i = 0; i < n; i++)
    for (size_t l = 0; l < b; l++) {
      double s = 0, mag = 0, dphi = 0;
      for (size_t j = 0; j < m; j++) {
        double e = exp(-D[i * m + j] / (2 * sigma));
        double phi = e - (p->mu ? p->mu[h * m + j] : 0), aw = A[l * m + j];
        s += phi * aw, mag += fabs(phi * aw);
        /* float error of phi_j: D's expansion (||x||+||a||)^2 and the mean */
        double de = e * (16 * FLT_EPSILON * nrm[i * m + j] * nrm[i * m + j] / (2 * sigma) + 8 * FLT_EPSILON);
        dphi += fabs(aw) * (de + 4 * FLT_EPSILON * fabs(phi));
      }
      y[i * b + l] = s;
      margin[i * b + l] = dphi + 4 * (m + 2) * FLT_EPSILON * mag + 1e-6;
    }
  free(xn), free(D), free(nrm);
}

/* threads > 1: the codes must also equal, bit for bit, a one-thread run's
 * (sigma is summed in a fixed order). */
static void check_hash_case(const gk_variant *v, size_t n, size_t heads, size_t d, size_t m,
                            size_t b, int normalize, int given_sigma, int use_mu, int threads) {
  size_t words = GK_CODE_WORDS(b), hs = d + ck_rand() % 2;
  ck_buf X = ck_buf_new(n, (heads - 1) * hs + d, ck_pick_ld((heads - 1) * hs + d));
  ck_buf_fill(&X);
  if (n > 1) memset(X.data + (n / 2) * X.ld, 0, d * sizeof(float)); /* an all-zero row */
  float *anc = malloc(heads * m * d * sizeof(float)), *A = malloc(heads * b * m * sizeof(float));
  float *mu = malloc(heads * m * sizeof(float)), sig[4];
  ck_fill(anc, heads * m * d), ck_fill(A, heads * b * m);
  for (size_t j = 0; j < heads * m; j++) mu[j] = 0.25f * (ck_rand_float() + 1);
  for (size_t h = 0; h < heads; h++) sig[h] = (float)(d / 3.0 + 1) * (0.5f + 0.5f * (ck_rand_float() + 1));
  size_t chs = words + ck_rand() % 2, ldc = (heads - 1) * chs + words + ck_rand() % 3;
  gbuf C = gbuf_new(n, (heads - 1) * chs + words, ldc, sizeof(uint64_t));
  gk_hash_args a = {{heads, d, m, b, anc, use_mu ? mu : NULL, A, given_sigma ? sig : NULL, normalize},
                    n, X.data, X.ld, hs, C.data, ldc, chs, threads};
  char what[160];
  snprintf(what, sizeof what, "hash n=%zu heads=%zu d=%zu m=%zu b=%zu norm=%d sigma=%d mu=%d T=%d",
           n, heads, d, m, b, normalize, given_sigma, use_mu, threads);
  gk_status s = gk_hash_run(v, &a);
  if (s != GK_OK) ck_fail("%s: status %d", what, (int)s);
  if (threads > 1 && s == GK_OK) {
    gbuf C1 = gbuf_new(n, (heads - 1) * chs + words, ldc, sizeof(uint64_t));
    gk_hash_args one = a;
    one.codes = C1.data, one.threads = 1;
    if ((s = gk_hash_run(v, &one)) != GK_OK) ck_fail("%s: status %d on one thread", what, (int)s);
    else if (memcmp(C.base, C1.base, C.total))
      ck_fail("%s: codes differ from a one-thread run's", what);
    free(C1.base);
  }
  double *y = malloc(n * b * sizeof(double)), *margin = malloc(n * b * sizeof(double));
  size_t bad = 0;
  for (size_t h = 0; h < heads && s == GK_OK; h++) {
    hash_reference(&a, h, y, margin);
    for (size_t i = 0; i < n; i++) {
      const uint64_t *c = (const uint64_t *)C.data + i * ldc + h * chs;
      for (size_t l = 0; l < b; l++)
        if (fabs(y[i * b + l]) > margin[i * b + l] && bit_of(c, l) != (y[i * b + l] >= 0)) {
          if (!bad++) ck_fail("%s: head %zu row %zu bit %zu: got %d, pre-sign %.3g (margin %.2g)",
                              what, h, i, l, bit_of(c, l), y[i * b + l], margin[i * b + l]);
        }
      if (b % 64 && c[words - 1] >> (b % 64)) ck_fail("%s: unused bits set in row %zu", what, i);
    }
  }
  gbuf_check(&C, what);
  free(y), free(margin), free(anc), free(A), free(mu), free(C.base);
  ck_buf_free(&X);
}

static void check_hash(const gk_variant *v) {
  static const size_t ns[] = {1, 2, 17, 100}, ds[] = {1, 3, 16, 17, 64}, ms[] = {1, 5, 25, 33};
  for (size_t t = 0; t < NBITS && !ck_failures(); t++)
    for (int k = 0; k < 4; k++) {
      /* one draw per statement, so that a seed replays with any compiler */
      size_t heads = 1 + ck_rand() % 2;
      size_t d = ds[ck_rand() % 5];
      size_t m = ms[ck_rand() % 4];
      check_hash_case(v, ns[k], heads, d, m, bits_list[t], k != 1, k == 2, k != 3, 0);
    }
  /* rows in several blocks (GK_HASH_ROWS) on 3 and 4 threads, sigma from
   * the data and given */
  if (!ck_failures()) check_hash_case(v, 1000, 2, 64, 25, 16, 1, 0, 1, 3);
  if (!ck_failures()) check_hash_case(v, 600, 3, 17, 5, 65, 1, 1, 0, 4);
  if (!ck_failures()) check_hash_case(v, 20, 1, 8, 256, 65, 1, 0, 1, 0);
}

/* =========================================================== distances */
static void check_dist_case(const gk_variant *v, size_t na, size_t nb, size_t words) {
  size_t lda = words + ck_rand() % 3, ldb = words + ck_rand() % 3, ldd = nb + ck_rand() % 5;
  uint64_t *A = malloc(na * lda * sizeof(uint64_t)), *B = malloc(nb * ldb * sizeof(uint64_t));
  for (size_t i = 0; i < na * lda; i++) A[i] = ck_rand();
  for (size_t i = 0; i < nb * ldb; i++) B[i] = ck_rand();
  gbuf Dg = gbuf_new(na, nb, ldd, sizeof(uint16_t));
  gk_hdist_args a = {na, nb, words, A, lda, B, ldb, Dg.data, ldd, 1 + (int)(ck_rand() % 2)};
  char what[96];
  snprintf(what, sizeof what, "dist na=%zu nb=%zu words=%zu", na, nb, words);
  gk_status s = gk_hamming_distances_run(v, &a);
  if (s != GK_OK) ck_fail("%s: status %d", what, (int)s);
  const uint16_t *D = Dg.data;
  for (size_t i = 0; i < na && s == GK_OK; i++)
    for (size_t j = 0; j < nb; j++) {
      unsigned want = 0;
      for (size_t w = 0; w < words; w++) want += (unsigned)__builtin_popcountll(A[i * lda + w] ^ B[j * ldb + w]);
      if (D[i * ldd + j] != want) {
        ck_fail("%s: (%zu,%zu) got %u want %u", what, i, j, D[i * ldd + j], want);
        i = na;
        break;
      }
    }
  gbuf_check(&Dg, what);
  free(A), free(B), free(Dg.base);
}

static void check_dist(const gk_variant *v) {
  static const size_t ns[] = {1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 33, 64, 65, 130};
  for (int t = 0; t < 60 && !ck_failures(); t++) {
    size_t na = ns[ck_rand() % 14];
    size_t nb = ns[ck_rand() % 14];
    check_dist_case(v, na, nb, 1 + ck_rand() % 16);
  }
  for (size_t w = 1; w <= 16 && !ck_failures(); w++) check_dist_case(v, 70, 45, w);
  if (!ck_failures()) check_dist_case(v, 300, 1000, 4);
}

/* ============================================================ attention */
static void attn_reference(const gk_hattn_args *a, double *ref, double *tol) {
  size_t H = a->p.heads, d = a->p.head_dim, b = a->p.b;
  const gk_hamming_kernel *k = &a->p.kernel;
  gk_hkernel_pm pm = gk_hamming_pm(a);
  double coef = (fabs(pm.c1) * b + fabs(pm.c0_num) + fabs((double)k->alpha) * b + fabs((double)k->beta_num));
  double *num = malloc(d * sizeof(double)), *absv = malloc(d * sizeof(double));
  for (size_t h = 0; h < H; h++)
    for (size_t i = 0; i < a->n_q; i++) {
      size_t end = a->kv_valid ? gk_hattn_key_end(a, i) : 0;
      const uint64_t *qi = a->qc + i * a->ldq + h * a->qhs;
      double den = 0;
      memset(num, 0, d * sizeof(double)), memset(absv, 0, d * sizeof(double));
      for (size_t j = 0; j < end; j++) {
        const uint64_t *kj = a->kc + j * a->ldk + h * a->khs;
        unsigned dh = 0;
        for (size_t w = 0; w < GK_CODE_WORDS(b); w++) dh += (unsigned)__builtin_popcountll(qi[w] ^ kj[w]);
        double base = (double)k->alpha * ((double)b - dh);
        den += base + k->beta_den;
        const float *vj = a->v + j * a->ldv + h * a->vhs;
        for (size_t c = 0; c < d; c++) num[c] += (base + k->beta_num) * vj[c], absv[c] += fabs(vj[c]);
      }
      const float *vi = a->v + i * a->ldv + h * a->vhs;
      for (size_t c = 0; c < d; c++) {
        double g = k->gamma != 0 && end ? (double)k->gamma * vi[c] : 0;
        double o = den != 0 ? (num[c] + g) / den : 0;
        double mag = coef * absv[c] + fabs(g);
        ref[i * H * d + h * d + c] = o;
        tol[i * H * d + h * d + c] =
            den != 0 ? ck_tol_reduction(end + b + 2, mag) / fabs(den) + 16 * FLT_EPSILON * fabs(o) : 1e-30;
      }
    }
  free(num), free(absv);
}

static void check_attn_case(const gk_variant *v, size_t heads, size_t d, size_t b, size_t n_q,
                            size_t n_kv, size_t valid, int causal, int kernel) {
  gk_hamming_attn_params p = {heads, d, b, {0, 0, 0, 0}, causal, GK_HAMMING_AUTO};
  if (kernel < 2) gk_hamming_kernel_preset((gk_hamming_preset)kernel, b, &p.kernel);
  else { /* members drawn in order: an initializer list's order is unspecified */
    p.kernel.alpha = 0.5f + (ck_rand_float() + 1) * 0.75f;
    p.kernel.beta_num = ck_rand_float() * b;
    p.kernel.beta_den = 0.5f + (ck_rand_float() + 1) * 0.75f;
    p.kernel.gamma = n_q == n_kv ? ck_rand_float() * 3 : 0;
  }
  if (n_q != n_kv) p.kernel.gamma = 0;
  codes Q = codes_new(n_q, heads, b), K = ck_rand() & 1 && n_q == n_kv ? Q : codes_new(n_kv, heads, b);
  size_t vhs = d + ck_rand() % 2;
  ck_buf V = ck_buf_new(n_kv, (heads - 1) * vhs + d, ck_pick_ld((heads - 1) * vhs + d));
  ck_buf O = ck_buf_new(n_q, heads * d, ck_pick_ld(heads * d));
  ck_buf_fill(&V);
  gk_hattn_args a = {p, n_q, n_kv, valid, Q.p, Q.ld, Q.hs, K.p, K.ld, K.hs,
                     V.data, V.ld, vhs, O.data, O.ld, d, 1 + (int)(ck_rand() % 2)};
  double *ref = malloc(n_q * heads * d * sizeof(double)), *tol = malloc(n_q * heads * d * sizeof(double));
  attn_reference(&a, ref, tol);
  char what[160];
  snprintf(what, sizeof what, "heads=%zu d=%zu b=%zu n_q=%zu n_kv=%zu valid=%zu causal=%d kernel=%d",
           heads, d, b, n_q, n_kv, valid, causal, kernel);
  gk_status s = gk_hamming_attention_run(v, &a);
  if (s != GK_OK) ck_fail("%s: status %d", what, (int)s);
  else ck_compare(what, O.data, O.ld, ref, tol, n_q, heads * d);
  ck_buf_check(&O, what);
  free(ref), free(tol);
  if (K.p != Q.p) free(K.p);
  free(Q.p);
  ck_buf_free(&V), ck_buf_free(&O);
}

static void check_attn(const gk_variant *v) {
  static const size_t ns[] = {1, 2, 17, 1000}, ds[] = {1, 5, 16, 17, 64};
  for (size_t t = 0; t < NBITS && !ck_failures(); t++)
    for (size_t k = 0; k < 4 && !ck_failures(); k++) {
      size_t n = ns[k], b = bits_list[t];
      if (n == 1000 && b > 64) n = 300; /* keeps the float64 reference quick */
      int causal = (int)(ck_rand() & 1);
      size_t valid = ck_rand() & 1 ? n : ck_rand_range(0, n);
      size_t heads = 1 + ck_rand() % 3;
      size_t d = ds[ck_rand() % 5];
      check_attn_case(v, heads, d, b, n, n, valid, causal, (int)(t + k) % 3);
    }
  /* cross-attention shapes: fewer queries than keys, causal end-aligned */
  for (int t = 0; t < 6 && !ck_failures(); t++) {
    size_t nkv = ck_rand_range(2, 150), nq = ck_rand_range(1, nkv);
    size_t d = ds[ck_rand() % 5];
    size_t b = bits_list[ck_rand() % NBITS];
    size_t valid = ck_rand_range(1, nkv);
    check_attn_case(v, 2, d, b, nq, nkv, valid, t & 1, t % 3);
  }
  if (!ck_failures()) check_attn_case(v, 2, 64, 16, 1000, 1000, 1000, 1, 1);
  if (!ck_failures()) check_attn_case(v, 2, 64, 16, 1000, 1000, 700, 0, 0);
}

/* ============================================================= benches */
typedef struct {
  const gk_variant *v;
  const void *args;
} bench_arg;
static void bench_dist_call(void *p) {
  bench_arg *b = p;
  gk_hamming_distances_run(b->v, b->args);
}
static void bench_attn_call(void *p) {
  bench_arg *b = p;
  gk_hamming_attention_run(b->v, b->args);
}

static void bench_dist(const gk_variant *v) {
  for (size_t words = 1; words <= 4; words *= 2) {
    size_t n = 4096;
    uint64_t *A = malloc(n * words * 8);
    uint16_t *D = malloc(n * n * 2);
    for (size_t i = 0; i < n * words; i++) A[i] = ck_rand();
    gk_hdist_args a = {n, n, words, A, words, A, words, D, n, 1};
    bench_arg b = {v, &a};
    char shape[64];
    snprintf(shape, sizeof shape, "n=%zu b=%zu 1T (flops = pairs)", n, 64 * words);
    ck_bench_report(shape, ck_time_ns(bench_dist_call, &b), (double)n * n);
    free(A), free(D);
  }
}

static void bench_attn(const gk_variant *v) {
  size_t heads = 12, d = 64, n = 2048;
  for (size_t b = 16; b <= 256; b *= 4) {
    codes Q = codes_new(n, heads, b);
    float *V = malloc(n * heads * d * 4), *O = malloc(n * heads * d * 4);
    ck_fill(V, n * heads * d);
    gk_hattn_args a = {{heads, d, b, {1, 0, 0, 0}, 0, GK_HAMMING_AUTO}, n, n, n, Q.p, Q.ld, Q.hs,
                       Q.p, Q.ld, Q.hs, V, heads * d, d, O, heads * d, d, 1};
    bench_arg ba = {v, &a};
    char shape[64];
    snprintf(shape, sizeof shape, "12 heads d=64 b=%zu n=%zu 1T", b, n);
    ck_bench_report(shape, ck_time_ns(bench_attn_call, &ba), 0);
    free(Q.p), free(V), free(O);
  }
}

const ck_checker ck_check_hash = {GK_OP_HASH, check_hash, NULL};
const ck_checker ck_check_hamming_dist = {GK_OP_HAMMING_DIST, check_dist, bench_dist};
const ck_checker ck_check_hamming_quad = {GK_OP_HAMMING_QUAD, check_attn, bench_attn};
const ck_checker ck_check_hamming_linear = {GK_OP_HAMMING_LINEAR, check_attn, bench_attn};

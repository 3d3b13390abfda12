/* Hamming attention drivers: validation, the algorithm choice (tuned
 * crossover or forced), and the two algorithms' outer loops.
 *
 * Quadratic: per (head, query tile), key tiles of GK_HQ_KB keys; the
 * variant's popcount kernel fills a uint16 D_H tile, causal/padding masks
 * turn masked entries into a sentinel whose weight is 0, and the variant's
 * weighted-sum kernel adds lut[D_H]·v_j into the tile's accumulators. The
 * n_q x n_kv matrix is never stored: one GK_HQ_QB x GK_HQ_KB tile per thread.
 * Linear: one head per task, all in the variant's head kernel. */
#include <math.h>
#include <string.h>

#include "hamming.h"

GK_API gk_status gk_hamming_kernel_preset(gk_hamming_preset preset, size_t b,
                                          gk_hamming_kernel *out) {
  if (!out || b == 0 || b > GK_HASH_MAX_BITS) return GK_ERR_INVALID_ARG;
  switch (preset) {
    case GK_HAMMING_PAPER: *out = (gk_hamming_kernel){1, 0, 0, 0}; return GK_OK;
    case GK_HAMMING_ECOFORMER_REF:
      *out = (gk_hamming_kernel){2, -(float)b, 1, (float)b + 1};
      return GK_OK;
  }
  return GK_ERR_INVALID_ARG;
}

gk_hkernel_pm gk_hamming_pm(const gk_hattn_args *a) {
  const gk_hamming_kernel *k = &a->p.kernel;
  double half_ab = 0.5 * k->alpha * (double)a->p.b;
  return (gk_hkernel_pm){0.5 * k->alpha, half_ab + k->beta_num, half_ab + k->beta_den};
}

gk_status gk_hamming_attention_check(const gk_hattn_args *a) {
  const gk_hamming_attn_params *p = &a->p;
  const gk_hamming_kernel *k = &p->kernel;
  if (!p->heads || !p->head_dim || !a->n_q || !a->n_kv) return GK_ERR_INVALID_ARG;
  if (p->b == 0 || p->b > GK_HASH_MAX_BITS) return GK_ERR_INVALID_ARG;
  if (a->kv_valid > a->n_kv || (unsigned)p->algo > GK_HAMMING_LINEAR) return GK_ERR_INVALID_ARG;
  if (!isfinite(k->alpha) || !isfinite(k->beta_num) || !isfinite(k->beta_den) || !isfinite(k->gamma))
    return GK_ERR_INVALID_ARG;
  if (k->gamma != 0 && a->n_q != a->n_kv) return GK_ERR_INVALID_ARG;
  if (p->causal && a->n_q > a->n_kv) return GK_ERR_INVALID_ARG;
  size_t words = GK_CODE_WORDS(p->b), d = p->head_dim;
  gk_status s;
  if ((s = gk_check_heads(a->qc, a->n_q, p->heads, words, a->ldq, a->qhs)) ||
      (s = gk_check_heads(a->kc, a->n_kv, p->heads, words, a->ldk, a->khs)) ||
      (s = gk_check_heads(a->v, a->n_kv, p->heads, d, a->ldv, a->vhs)) ||
      (s = gk_check_heads(a->o, a->n_q, p->heads, d, a->ldo, a->ohs)))
    return s;
  return GK_OK;
}

static void zero_output(const gk_hattn_args *a) {
  for (size_t h = 0; h < a->p.heads; h++)
    for (size_t i = 0; i < a->n_q; i++)
      memset(a->o + i * a->ldo + h * a->ohs, 0, a->p.head_dim * sizeof(float));
}

/* o_i = (acc_i + gamma v_i) / den_i with den_i from the D_H sums. */
static void finish_rows(const gk_hattn_args *a, size_t h, size_t i0, size_t qn,
                        const float *acc, const uint64_t *dsum, const size_t *cnt) {
  const gk_hamming_kernel *k = &a->p.kernel;
  size_t d = a->p.head_dim;
  for (size_t r = 0; r < qn; r++) {
    size_t i = i0 + r;
    double den = k->alpha * ((double)a->p.b * cnt[r] - (double)dsum[r]) + k->beta_den * (double)cnt[r];
    float *o = a->o + i * a->ldo + h * a->ohs;
    const float *vi = a->v + i * a->ldv + h * a->vhs;
    if (den == 0) {
      memset(o, 0, d * sizeof(float));
      continue;
    }
    float inv = (float)(1.0 / den);
    for (size_t c = 0; c < d; c++) o[c] = (acc[r * d + c] + (k->gamma != 0 ? k->gamma * vi[c] : 0)) * inv;
  }
}

/* What the quadratic form's tiles share. */
typedef struct quad_job {
  const gk_hquad_impl *q;
  const gk_hattn_args *a;
  const uint32_t *kp; /* keys packed for the distance kernel, per head */
  const float *lut;   /* weight of each D_H (b + 1: masked) */
  char *scratch;      /* tile_bytes per thread */
  size_t per_head, tile_bytes, nqb;
} quad_job;

/* Tile t: one block of GK_HQ_QB queries of one head against its keys. */
static void quad_tile(void *ctx, size_t t, int tid) {
  const quad_job *j = ctx;
  const gk_hattn_args *a = j->a;
  const size_t d = a->p.head_dim, b = a->p.b, w32 = 2 * GK_CODE_WORDS(b), lanes = j->q->dist.lanes;
  size_t h = t / j->nqb, i0 = t % j->nqb * GK_HQ_QB;
  size_t qn = a->n_q - i0 < GK_HQ_QB ? a->n_q - i0 : GK_HQ_QB;
  char *mine = j->scratch + (size_t)tid * j->tile_bytes;
  uint16_t *D = (uint16_t *)mine;
  float *acc = (float *)(D + GK_HQ_QB * GK_HQ_KB);
  uint64_t *dsum = (uint64_t *)(acc + GK_HQ_QB * d);
  size_t *cnt = (size_t *)(dsum + GK_HQ_QB);
  memset(acc, 0, qn * d * sizeof(float));
  memset(dsum, 0, qn * sizeof(uint64_t));
  memset(cnt, 0, qn * sizeof(size_t));
  const uint32_t *qc = (const uint32_t *)(a->qc + h * a->qhs + i0 * a->ldq);
  const float *vh = a->v + h * a->vhs;
  size_t kend = gk_hattn_key_end(a, i0 + qn - 1); /* non-decreasing in i */
  for (size_t j0 = 0; j0 < kend; j0 += GK_HQ_KB) {
    size_t kn = kend - j0 < GK_HQ_KB ? kend - j0 : GK_HQ_KB;
    j->q->dist.blocks(qc, 2 * a->ldq, qn, j->kp + h * j->per_head + j0 * w32,
                      (kn + lanes - 1) / lanes, w32, D, GK_HQ_KB);
    for (size_t r = 0; r < qn; r++) {
      size_t e = gk_hattn_key_end(a, i0 + r);
      e = e <= j0 ? 0 : e - j0 < kn ? e - j0 : kn;
      uint16_t *row = D + r * GK_HQ_KB;
      uint64_t s = 0;
      for (size_t k = 0; k < e; k++) s += row[k];
      for (size_t k = e; k < kn; k++) row[k] = (uint16_t)(b + 1);
      dsum[r] += s, cnt[r] += e;
    }
    j->q->wsum(D, qn, kn, j->lut, vh + j0 * a->ldv, a->ldv, d, acc);
  }
  finish_rows(a, h, i0, qn, acc, dsum, cnt);
}

static gk_status run_quadratic(const gk_hquad_impl *q, const gk_hattn_args *a) {
  size_t H = a->p.heads, d = a->p.head_dim, b = a->p.b, words = GK_CODE_WORDS(b), w32 = 2 * words;
  size_t lanes = q->dist.lanes, nk = a->kv_valid;
  size_t per_head = (nk + lanes - 1) / lanes * lanes * w32, bytes;
  int nt = a->threads ? a->threads
                      : gk_threads_for(GK_OP_HAMMING_QUAD,
                                       (double)H * a->n_q * nk * (w32 + 2.0 * d));
  /* per thread: D_H tile, accumulators, D_H sums, visible-key counts */
  size_t tile_bytes = GK_HQ_QB * GK_HQ_KB * sizeof(uint16_t) + GK_HQ_QB * d * sizeof(float) +
                      GK_HQ_QB * (sizeof(uint64_t) + sizeof(size_t));
  tile_bytes = (tile_bytes + 63) & ~(size_t)63;
  if (!gk_mul_ok(H, per_head * sizeof(uint32_t), &bytes)) return GK_ERR_OVERFLOW;
  uint32_t *kp = gk_aligned_alloc(bytes);
  char *scratch = gk_aligned_alloc((size_t)nt * tile_bytes);
  float *lut = gk_aligned_alloc((b + 2) * sizeof(float));
  if (!kp || !scratch || !lut) {
    gk_aligned_free(kp), gk_aligned_free(scratch), gk_aligned_free(lut);
    return GK_ERR_NO_MEMORY;
  }
  /* weight of D_H = t for t <= b; entry b+1 marks masked keys: weight 0 */
  for (size_t t = 0; t <= b; t++)
    lut[t] = (float)(a->p.kernel.alpha * (double)(b - t) + a->p.kernel.beta_num);
  lut[b + 1] = 0;
  for (size_t h = 0; h < H; h++)
    gk_hamming_pack_keys(a->kc + h * a->khs, a->ldk, nk, words, lanes, kp + h * per_head);

  quad_job j = {.q = q, .a = a, .kp = kp, .lut = lut, .scratch = scratch, .per_head = per_head,
                .tile_bytes = tile_bytes, .nqb = (a->n_q + GK_HQ_QB - 1) / GK_HQ_QB};
  gk_parallel_for(nt, H * j.nqb, quad_tile, &j);
  gk_aligned_free(kp), gk_aligned_free(scratch), gk_aligned_free(lut);
  return GK_OK;
}

typedef struct lin_job {
  const gk_hlin_impl *l;
  const gk_hattn_args *a;
  float *work; /* nf floats per thread */
  size_t nf;
} lin_job;

static void lin_head(void *ctx, size_t h, int tid) {
  const lin_job *j = ctx;
  j->l->head(j->a, h, j->work + (size_t)tid * j->nf);
}

static gk_status run_linear(const gk_hlin_impl *l, const gk_hattn_args *a) {
  size_t H = a->p.heads, nf = gk_hlin_work_floats(a->p.b, a->p.head_dim);
  int nt = a->threads ? a->threads
                      : gk_threads_for(GK_OP_HAMMING_LINEAR,
                                       (double)H * (a->n_q + a->n_kv) * a->p.b * a->p.head_dim);
  if (nt > (int)H) nt = (int)H;
  float *work = gk_aligned_alloc((size_t)nt * nf * sizeof(float));
  if (!work) return GK_ERR_NO_MEMORY;
  lin_job j = {l, a, work, nf};
  gk_parallel_for(nt, H, lin_head, &j);
  gk_aligned_free(work);
  return GK_OK;
}

gk_status gk_hamming_attention_run(const gk_variant *v, const gk_hattn_args *a) {
  gk_status s = gk_hamming_attention_check(a);
  if (s) return s;
  if (a->kv_valid == 0) {
    zero_output(a);
    return GK_OK;
  }
  if (v->op == GK_OP_HAMMING_QUAD) return run_quadratic(v->impl, a);
  if (v->op == GK_OP_HAMMING_LINEAR) return run_linear(v->impl, a);
  return GK_ERR_INVALID_ARG;
}

GK_API gk_status gk_hamming_attention(
    const gk_hamming_attn_params *p, size_t n_q, size_t n_kv, size_t kv_valid,
    const uint64_t *q_codes, size_t ldq, size_t q_head_stride,
    const uint64_t *k_codes, size_t ldk, size_t k_head_stride,
    const float *v, size_t ldv, size_t v_head_stride,
    float *o, size_t ldo, size_t o_head_stride) {
  if (!p) return GK_ERR_INVALID_ARG;
  gk_hattn_args a = {*p, n_q, n_kv, kv_valid, q_codes, ldq, q_head_stride,
                     k_codes, ldk, k_head_stride, v, ldv, v_head_stride,
                     o, ldo, o_head_stride, 0};
  gk_hamming_algo algo = p->algo;
  if (algo == GK_HAMMING_AUTO)
    algo = kv_valid >= gk_tuned_hamming_crossover(p->b, p->head_dim, p->causal)
               ? GK_HAMMING_LINEAR : GK_HAMMING_QUADRATIC;
  return gk_hamming_attention_run(
      gk_dispatch(algo == GK_HAMMING_LINEAR ? GK_OP_HAMMING_LINEAR : GK_OP_HAMMING_QUAD), &a);
}

/* Linear head scratch (attention_rows.c): G (b x dp) and the sum of its
 * rows T (dp), a block of GK_HLIN_KEYS values v_j and as many -v_j (dp
 * each), sum of v and the query accumulator (dp each), 32 signed sums of
 * half a block (dp each), per-bit counts of set key bits (b int32) and
 * the query's selected rows (b pointers); dp = d rounded up to 16 floats,
 * zero-padded, so rows load as whole vectors. */
size_t gk_hlin_work_floats(size_t b, size_t d) {
  size_t dp = (d + 15) & ~(size_t)15, bp = (b + 15) & ~(size_t)15;
  return b * dp + (2 * GK_HLIN_KEYS + 3 + 32) * dp + bp + 2 * bp * sizeof(void *) / sizeof(float);
}

/* Full softmax attention: argument validation, defaults, thread count and
 * per-thread scratch, then the chosen flash-attention variant. */
#include <math.h>
#include <string.h>

#include "attention.h"

/* A [rows, heads*stride] operand repeated `batch` times: every element any
 * head of any sequence touches must be addressable. */
static gk_status check_operand(const float *p, size_t batch, size_t rows, size_t ld,
                               size_t heads, size_t head_stride, size_t d,
                               size_t batch_stride) {
  size_t span, ext;
  if (!gk_mul_ok(heads - 1, head_stride, &span) || span > SIZE_MAX - d) return GK_ERR_OVERFLOW;
  span += d;
  gk_status s = gk_check_matrix(p, rows, span, ld);
  if (s) return s;
  /* (batch-1)*batch_stride + (rows-1)*ld + span floats */
  size_t last = (rows - 1) * ld + span;
  if (!gk_mul_ok(batch - 1, batch_stride, &ext) || ext > SIZE_MAX - last ||
      !gk_mul_ok(ext + last, sizeof(float), &ext))
    return GK_ERR_OVERFLOW;
  return GK_OK;
}

gk_status gk_attn_prepare(const gk_attn_shape *shape, const float *Q, size_t ldq,
                          const float *K, size_t ldk, const float *V, size_t ldv,
                          float *O, size_t ldo, const gk_attn_mask *mask,
                          gk_attn_args *out) {
  if (!shape || !Q || !K || !V || !O || !out) return GK_ERR_INVALID_ARG;
  gk_attn_shape s = *shape;
  if (s.heads == 0 || s.head_dim == 0 || s.n_q == 0 || s.n_kv == 0) return GK_ERR_INVALID_ARG;
  if (!isfinite(s.scale)) return GK_ERR_INVALID_ARG;
  const size_t d = s.head_dim;
  if (s.batch == 0) s.batch = 1;
  size_t *hs[4] = {&s.q_head_stride, &s.k_head_stride, &s.v_head_stride, &s.o_head_stride};
  for (int i = 0; i < 4; i++) {
    if (*hs[i] == 0) *hs[i] = d;
    if (*hs[i] < d) return GK_ERR_INVALID_ARG; /* heads would overlap */
  }
  /* default batch strides: sequences stored back to back */
  struct { size_t *bs; size_t rows, ld; } b[4] = {{&s.q_batch_stride, s.n_q, ldq},
                                                  {&s.k_batch_stride, s.n_kv, ldk},
                                                  {&s.v_batch_stride, s.n_kv, ldv},
                                                  {&s.o_batch_stride, s.n_q, ldo}};
  for (int i = 0; i < 4; i++)
    if (*b[i].bs == 0 && s.batch > 1 && !gk_mul_ok(b[i].rows, b[i].ld, b[i].bs))
      return GK_ERR_OVERFLOW;
  gk_status st;
  if ((st = check_operand(Q, s.batch, s.n_q, ldq, s.heads, s.q_head_stride, d, s.q_batch_stride)) ||
      (st = check_operand(K, s.batch, s.n_kv, ldk, s.heads, s.k_head_stride, d, s.k_batch_stride)) ||
      (st = check_operand(V, s.batch, s.n_kv, ldv, s.heads, s.v_head_stride, d, s.v_batch_stride)) ||
      (st = check_operand(O, s.batch, s.n_q, ldo, s.heads, s.o_head_stride, d, s.o_batch_stride)))
    return st;
  /* output sequences must not overlap each other */
  if (s.batch > 1 && s.o_batch_stride < (s.n_q - 1) * ldo + (s.heads - 1) * s.o_head_stride + d)
    return GK_ERR_INVALID_ARG;
  if (mask && mask->kv_valid)
    for (size_t i = 0; i < s.batch; i++)
      if (mask->kv_valid[i] > s.n_kv) return GK_ERR_INVALID_ARG;
  if (s.scale == 0.0f) s.scale = (float)(1.0 / sqrt((double)d));
  memset(out, 0, sizeof *out);
  out->s = s;
  out->Q = Q, out->K = K, out->V = V, out->O = O;
  out->ldq = ldq, out->ldk = ldk, out->ldv = ldv, out->ldo = ldo;
  out->causal = mask ? mask->causal != 0 : 0;
  out->kv_valid = mask ? mask->kv_valid : NULL;
  return GK_OK;
}

gk_status gk_attention_run(const gk_variant *v, const gk_attn_args *args) {
  if (!v || v->op != GK_OP_ATTENTION || !args) return GK_ERR_INVALID_ARG;
  const gk_attn_impl *impl = v->impl;
  gk_attn_args a = *args;
  const gk_attn_shape *s = &a.s;
  const double work = 4.0 * (double)s->batch * (double)s->heads * (double)s->n_q *
                      (double)s->n_kv * (double)s->head_dim;
  int nt = a.threads > 0 ? a.threads : gk_threads_for(GK_OP_ATTENTION, work);
  const size_t per_thread = impl->scratch_floats(s->head_dim);
  void *own = NULL;
  if (a.scratch) {
    if (a.scratch_threads < 1) return GK_ERR_INVALID_ARG;
    if (nt > a.scratch_threads) nt = a.scratch_threads;
  } else {
    /* O(threads·d) floats, never O(n): cheap next to the O(n²·d) work */
    size_t bytes;
    if (!gk_mul_ok(per_thread * sizeof(float), (size_t)nt, &bytes)) return GK_ERR_OVERFLOW;
    if (!(own = gk_aligned_alloc(bytes))) return GK_ERR_NO_MEMORY;
    a.scratch = own;
    a.scratch_threads = nt;
  }
  a.threads = nt;
  impl->run(&a);
  gk_aligned_free(own);
  return GK_OK;
}

GK_API gk_status gk_attention(const gk_attn_shape *s, const float *Q, size_t ldq,
                              const float *K, size_t ldk, const float *V, size_t ldv,
                              float *O, size_t ldo, const gk_attn_mask *mask) {
  gk_attn_args a;
  gk_status st = gk_attn_prepare(s, Q, ldq, K, ldk, V, ldv, O, ldo, mask, &a);
  if (st) return st;
  return gk_attention_run(gk_dispatch(GK_OP_ATTENTION), &a);
}

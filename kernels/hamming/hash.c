/* Kernelized hash driver: validation, scratch, the loop over heads. The
 * per-head pipeline (hash_rows.c) is ISA-templated; its two products go
 * through the GEMM engine. */
#include <math.h>

#include "hamming.h"

gk_status gk_hash_check(const gk_hash_args *a) {
  const gk_hash_params *p = &a->p;
  if (!p->anchors || !p->A || !a->x || !a->codes) return GK_ERR_INVALID_ARG;
  if (!p->heads || !p->head_dim || !a->n) return GK_ERR_INVALID_ARG;
  if (p->b == 0 || p->b > GK_HASH_MAX_BITS) return GK_ERR_INVALID_ARG;
  if (p->m == 0 || p->m > GK_HASH_MAX_ANCHORS) return GK_ERR_INVALID_ARG;
  size_t t;
  if (!gk_mul_ok(p->heads, p->m, &t) || !gk_mul_ok(t, p->head_dim, &t) ||
      !gk_mul_ok(p->heads, p->b * p->m, &t))
    return GK_ERR_OVERFLOW;
  if (p->sigma)
    for (size_t h = 0; h < p->heads; h++)
      if (!(p->sigma[h] > 0) || !isfinite(p->sigma[h])) return GK_ERR_INVALID_ARG;
  gk_status s = gk_check_heads(a->x, a->n, p->heads, p->head_dim, a->ldx, a->xhs);
  if (s) return s;
  return gk_check_heads(a->codes, a->n, p->heads, GK_CODE_WORDS(p->b), a->ldc, a->chs);
}

/* xn (n x d), ||x||^2 (n), D (n x m), ||a||^2 (m), Y (block x b); each
 * part rounded up to 16 floats so every part stays 64-byte aligned. */
size_t gk_hash_work_floats(const gk_hash_args *a) {
  const gk_hash_params *p = &a->p;
  size_t rb = a->n < GK_HASH_ROW_BLOCK ? a->n : GK_HASH_ROW_BLOCK, total = 0;
  size_t parts[5] = {0, a->n + 15, 0, p->m + 15, 0};
  if (!gk_mul_ok(a->n, p->head_dim + 15, &parts[0]) || !gk_mul_ok(a->n, p->m + 15, &parts[2]) ||
      !gk_mul_ok(rb, p->b, &parts[4]))
    return 0;
  for (int i = 0; i < 5; i++)
    if (__builtin_add_overflow(total, (parts[i] + 15) & ~(size_t)15, &total)) return 0;
  return total;
}

gk_status gk_hash_run(const gk_variant *v, const gk_hash_args *a) {
  gk_status s = gk_hash_check(a);
  if (s) return s;
  size_t nf = gk_hash_work_floats(a), bytes;
  if (!nf || !gk_mul_ok(nf, sizeof(float), &bytes)) return GK_ERR_OVERFLOW;
  float *work = gk_aligned_alloc(bytes);
  if (!work) return GK_ERR_NO_MEMORY;
  const gk_hash_impl *impl = v->impl;
  for (size_t h = 0; h < a->p.heads && !s; h++) s = impl->head(a, h, work);
  gk_aligned_free(work);
  return s;
}

GK_API gk_status gk_hash(const gk_hash_params *p, size_t n, const float *x,
                         size_t ldx, size_t x_head_stride, uint64_t *codes,
                         size_t ldc, size_t c_head_stride) {
  if (!p) return GK_ERR_INVALID_ARG;
  gk_hash_args a = {*p, n, x, ldx, x_head_stride, codes, ldc, c_head_stride};
  return gk_hash_run(gk_dispatch(GK_OP_HASH), &a);
}

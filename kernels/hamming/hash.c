/* Kernelized hash driver: validation, scratch, and the two passes over
 * (head, row block) items on the threads. The passes (hash_rows.c) are
 * ISA-templated; their two products go through the GEMM engine. */
#include <math.h>
#include <stdlib.h>

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

#define PAD16(n) (((n) + 15) & ~(size_t)15)

/* Pass 1's normalised rows, ||x||^2 and ||a||^2, or pass 2's projections
 * (GK_HASH_ROWS x b): the passes of an item run one after the other. */
size_t gk_hash_work_floats(const gk_hash_params *p) {
  size_t one = PAD16(GK_HASH_ROWS * p->head_dim) + PAD16(GK_HASH_ROWS) + PAD16(p->m);
  size_t two = PAD16(GK_HASH_ROWS * p->b);
  return one > two ? one : two;
}

/* Items are (head, block of GK_HASH_ROWS rows), head-major. */
typedef struct hash_job {
  const gk_hash_args *a;
  const gk_hash_impl *impl;
  float *D;          /* heads x n x m: the distances, then phi */
  double *sums;      /* per item: its distance sum */
  double *sigma;     /* per head; NULL until pass 2 (unless given) */
  float *work;       /* per thread, work_floats each */
  size_t work_floats, blocks;
  gk_status failed;
} hash_job;

static void run_item(hash_job *j, size_t i, int tid, int pass) {
  const gk_hash_args *a = j->a;
  const size_t h = i / j->blocks, r0 = i % j->blocks * GK_HASH_ROWS;
  const size_t rn = a->n - r0 < GK_HASH_ROWS ? a->n - r0 : GK_HASH_ROWS;
  float *D = j->D + (h * a->n + r0) * a->p.m, *work = j->work + (size_t)tid * j->work_floats;
  gk_status st = GK_OK;
  if (pass == 1) st = j->impl->distances(a, h, r0, rn, D, &j->sums[i], work);
  /* with sigma known up front, phi and the codes follow while D is in cache */
  if (!st && (pass == 2 || a->p.sigma))
    st = j->impl->codes(a, h, r0, rn, D, a->p.sigma ? a->p.sigma[h] : j->sigma[h], work);
  if (st) {
#pragma omp atomic write
    j->failed = st;
  }
}
static void pass1(void *ctx, size_t i, int tid) { run_item(ctx, i, tid, 1); }
static void pass2(void *ctx, size_t i, int tid) { run_item(ctx, i, tid, 2); }

/* Both passes are parallel over the items. The only dependence between
 * them is sigma, the mean of a head's distances (unless given), summed in
 * item order so that the codes do not depend on the thread count. */
gk_status gk_hash_run(const gk_variant *v, const gk_hash_args *a) {
  gk_status s = gk_hash_check(a);
  if (s) return s;
  const gk_hash_params *p = &a->p;
  const size_t blocks = (a->n + GK_HASH_ROWS - 1) / GK_HASH_ROWS, items = p->heads * blocks;
  int nt = a->threads ? a->threads
                      : gk_threads_for(GK_OP_HASH, 2.0 * (double)p->heads * (double)a->n *
                                                       (double)p->m * (double)(p->head_dim + p->b));
  if ((size_t)nt > items) nt = (int)items;
  hash_job j = {a, v->impl, NULL, NULL, NULL, NULL, gk_hash_work_floats(p), blocks, GK_OK};
  size_t dfloats, wfloats, bytes;
  if (!gk_mul_ok(p->heads, a->n, &dfloats) || !gk_mul_ok(dfloats, p->m, &dfloats) ||
      !gk_mul_ok(j.work_floats, (size_t)nt, &wfloats) ||
      dfloats > SIZE_MAX / sizeof(float) - PAD16(wfloats) ||
      !gk_mul_ok(PAD16(dfloats) + wfloats, sizeof(float), &bytes))
    return GK_ERR_OVERFLOW;
  float *buf = gk_aligned_alloc(bytes);
  double *sums = malloc((items + p->heads) * sizeof(double));
  if (!buf || !sums) {
    gk_aligned_free(buf), free(sums);
    return GK_ERR_NO_MEMORY;
  }
  j.D = buf, j.work = buf + PAD16(dfloats), j.sums = sums;
  gk_parallel_for(nt, items, pass1, &j);
  if (!j.failed && !p->sigma) {
    j.sigma = sums + items;
    for (size_t h = 0; h < p->heads; h++) {
      double total = 0;
      for (size_t b = 0; b < blocks; b++) total += sums[h * blocks + b];
      j.sigma[h] = total / ((double)a->n * (double)p->m);
      if (!(j.sigma[h] > 0)) j.sigma[h] = 1; /* every D is 0: phi does not depend on sigma */
    }
    gk_parallel_for(nt, items, pass2, &j);
  }
  gk_aligned_free(buf), free(sums);
  return j.failed;
}

GK_API gk_status gk_hash(const gk_hash_params *p, size_t n, const float *x,
                         size_t ldx, size_t x_head_stride, uint64_t *codes,
                         size_t ldc, size_t c_head_stride) {
  if (!p) return GK_ERR_INVALID_ARG;
  gk_hash_args a = {*p, n, x, ldx, x_head_stride, codes, ldc, c_head_stride, 0};
  return gk_hash_run(gk_dispatch(GK_OP_HASH), &a);
}

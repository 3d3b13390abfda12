/* Linear-layer plans: weights packed once for the chosen variants' tiles;
 * a low-rank plan also holds the dense product U·V, packed, and picks per
 * call the fused rank-r path or dense from the tuned rank crossover.
 *
 * A plan stays on the variants chosen at its creation for the ops' default
 * shape class (gk_dispatch: prefill), whatever M a call brings: its
 * weights are packed in panels of that tile's width, and another class's
 * variant would need them packed again (or twice, doubling the memory
 * that plans exist to save). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"

struct gk_linear_plan {
  size_t K, N, r;                    /* r = 0: dense plan */
  gk_activation act;
  float *bias;                       /* copy, N floats, or NULL */
  const gk_gemm_impl *dense, *fused; /* fused: NULL for a dense plan */
  float *w;                          /* W packed for dense->nr */
  float *u, *v;                      /* the factors packed for fused, */
  gk_packed_b pu, pv;                /* described */
  size_t bytes;
  atomic_int logged[2];              /* GK_VERBOSE: path reported once */
};

GK_API void gk_linear_destroy(gk_linear_plan *p) {
  if (!p) return;
  gk_aligned_free(p->w), gk_aligned_free(p->u), gk_aligned_free(p->v);
  free(p->bias);
  free(p);
}

/* Allocates the plan and `floats` floats at *buf (64-byte aligned). */
static gk_status alloc_array(gk_linear_plan *p, float **buf, size_t floats) {
  size_t bytes;
  if (!gk_mul_ok(floats, sizeof(float), &bytes)) return GK_ERR_OVERFLOW;
  if (!(*buf = gk_aligned_alloc(bytes))) return GK_ERR_NO_MEMORY;
  p->bytes += bytes;
  return GK_OK;
}

static gk_status plan_new(gk_linear_plan **out, size_t K, size_t N, size_t r,
                          const float *bias, gk_activation act) {
  gk_linear_plan *p = calloc(1, sizeof *p);
  if (!p) return GK_ERR_NO_MEMORY;
  p->K = K, p->N = N, p->r = r, p->act = act, p->bytes = sizeof *p;
  p->dense = gk_dispatch(GK_OP_GEMM)->impl;
  if (bias) {
    if (!(p->bias = malloc(N * sizeof(float)))) {
      free(p);
      return GK_ERR_NO_MEMORY;
    }
    memcpy(p->bias, bias, N * sizeof(float));
    p->bytes += N * sizeof(float);
  }
  *out = p;
  return GK_OK;
}

static int bad_enums(gk_weight_layout l, gk_activation act) {
  return (l != GK_WEIGHT_KN && l != GK_WEIGHT_NK) || (unsigned)act > GK_ACT_GELU;
}

GK_API gk_status gk_linear_create_dense(gk_linear_plan **plan, size_t K, size_t N,
                                        const float *W, size_t ldw, gk_weight_layout layout,
                                        const float *bias, gk_activation act) {
  if (!plan || bad_enums(layout, act)) return GK_ERR_INVALID_ARG;
  gk_status s = layout == GK_WEIGHT_KN ? gk_check_matrix(W, K, N, ldw)
                                       : gk_check_matrix(W, N, K, ldw);
  if (s) return s;
  gk_linear_plan *p;
  if ((s = plan_new(&p, K, N, 0, bias, act))) return s;
  if ((s = alloc_array(p, &p->w, gk_packed_floats(K, N, p->dense->nr)))) {
    gk_linear_destroy(p);
    return s;
  }
  p->dense->pack(W, ldw, layout, K, N, p->w);
  *plan = p;
  return GK_OK;
}

GK_API gk_status gk_linear_create_lowrank(gk_linear_plan **plan, size_t K, size_t N,
                                          size_t r, const float *U, size_t ldu,
                                          gk_weight_layout u_layout, const float *V,
                                          size_t ldv, gk_weight_layout v_layout,
                                          const float *bias, gk_activation act) {
  if (!plan || bad_enums(u_layout, act) || bad_enums(v_layout, act)) return GK_ERR_INVALID_ARG;
  if (r == 0 || r > K || r > N) return GK_ERR_INVALID_ARG;
  gk_status s = u_layout == GK_WEIGHT_KN ? gk_check_matrix(U, K, r, ldu)
                                         : gk_check_matrix(U, r, K, ldu);
  if (s) return s;
  s = v_layout == GK_WEIGHT_KN ? gk_check_matrix(V, r, N, ldv) : gk_check_matrix(V, N, r, ldv);
  if (s) return s;
  size_t kn;
  if (!gk_mul_ok(K, N, &kn) || kn > SIZE_MAX / sizeof(float)) return GK_ERR_OVERFLOW;
  gk_linear_plan *p;
  if ((s = plan_new(&p, K, N, r, bias, act))) return s;
  p->fused = gk_dispatch(GK_OP_LOWRANK)->impl;
  float *ukr = NULL, *wd = NULL;
  size_t nu, nv;
  gk_factor_floats(p->fused, K, r, N, &nu, &nv);
  if ((s = alloc_array(p, &p->u, nu)) || (s = alloc_array(p, &p->v, nv)) ||
      (s = alloc_array(p, &p->w, gk_packed_floats(K, N, p->dense->nr)))) {
    gk_linear_destroy(p);
    return s;
  }
  gk_pack_factors(p->fused, K, r, N, U, ldu, u_layout, V, ldv, v_layout, p->u, p->v, &p->pu,
                  &p->pv);
  /* dense W = U·V: U as a K x r row-major operand, then packed */
  ukr = gk_aligned_alloc(K * r * sizeof(float));
  wd = gk_aligned_alloc(kn * sizeof(float));
  if (!ukr || !wd) {
    gk_aligned_free(ukr), gk_aligned_free(wd);
    gk_linear_destroy(p);
    return GK_ERR_NO_MEMORY;
  }
  for (size_t k = 0; k < K; k++)
    for (size_t q = 0; q < r; q++)
      ukr[k * r + q] = u_layout == GK_WEIGHT_KN ? U[k * ldu + q] : U[q * ldu + k];
  gk_gemm_args g = {K, N, r, ukr, r, V, ldv, v_layout, NULL, GK_ACT_NONE, wd, N, 0};
  s = gk_gemm_run(gk_dispatch(GK_OP_GEMM), &g);
  if (!s) p->dense->pack(wd, N, GK_WEIGHT_KN, K, N, p->w);
  gk_aligned_free(ukr), gk_aligned_free(wd);
  if (s) {
    gk_linear_destroy(p);
    return s;
  }
  *plan = p;
  return GK_OK;
}

GK_API int gk_linear_uses_lowrank(const gk_linear_plan *p, size_t M) {
  return p && p->r && p->r <= gk_tuned_rank_crossover(M, p->K, p->N);
}

GK_API size_t gk_linear_memory(const gk_linear_plan *p) { return p ? p->bytes : 0; }

static size_t per_thread_floats(const gk_linear_plan *p, size_t M) {
  size_t f = p->dense->ws_floats(M, p->N, p->K, 0);
  if (p->fused) {
    size_t g = p->fused->ws_floats(M, p->N, p->K, p->r);
    if (g > f) f = g;
  }
  return (f + 15) / 16 * 16;
}

GK_API size_t gk_linear_workspace_size(const gk_linear_plan *p, size_t M) {
  if (!p) return 0;
  return (size_t)gk_max_threads() * per_thread_floats(p, M) * sizeof(float) + GK_ALIGN;
}

static gk_status apply(const gk_linear_plan *p, size_t M, const float *X, size_t ldx, float *Y,
                       size_t ldy, const gk_gemm_ws *ws, int max_threads) {
  if (!p) return GK_ERR_INVALID_ARG;
  gk_status s;
  if ((s = gk_check_matrix(X, M, p->K, ldx))) return s;
  if ((s = gk_check_matrix(Y, M, p->N, ldy))) return s;
  int lowrank = gk_linear_uses_lowrank(p, M);
  double flops = 2.0 * (double)M * (double)p->N * (double)p->K;
  if (lowrank) flops = 2.0 * (double)M * (double)p->r * (double)(p->K + p->N);
  int nt = gk_threads_for(lowrank ? GK_OP_LOWRANK : GK_OP_GEMM, gk_gemm_work(M, flops));
  if (max_threads && nt > max_threads) nt = max_threads;
  if (!atomic_exchange((atomic_int *)&p->logged[lowrank], 1))
    GK_LOG("linear plan %p (K=%zu N=%zu r=%zu): M=%zu takes the %s path (crossover r=%zu)",
           (const void *)p, p->K, p->N, p->r, M, lowrank ? "fused rank-r" : "dense",
           gk_tuned_rank_crossover(M, p->K, p->N));
  if (lowrank) {
    return p->fused->lowrank_packed(M, X, ldx, &p->pu, &p->pv, p->bias, p->act, Y, ldy, nt, ws);
  }
  gk_packed_b w = {p->w, p->K, p->N, p->dense->nr};
  return p->dense->run_packed(M, X, ldx, &w, p->bias, p->act, Y, ldy, nt, ws);
}

GK_API gk_status gk_linear_apply(const gk_linear_plan *p, size_t M, const float *X, size_t ldx,
                                 float *Y, size_t ldy) {
  return apply(p, M, X, ldx, Y, ldy, NULL, 0);
}

GK_API gk_status gk_linear_apply_ws(const gk_linear_plan *p, size_t M, const float *X,
                                    size_t ldx, float *Y, size_t ldy, void *workspace,
                                    size_t workspace_bytes) {
  if (!p || !workspace) return GK_ERR_INVALID_ARG;
  size_t per = per_thread_floats(p, M);
  uintptr_t base = ((uintptr_t)workspace + GK_ALIGN - 1) & ~(uintptr_t)(GK_ALIGN - 1);
  size_t skip = base - (uintptr_t)workspace;
  if (workspace_bytes < skip + per * sizeof(float)) return GK_ERR_INVALID_ARG;
  size_t cap = (workspace_bytes - skip) / (per * sizeof(float));
  gk_gemm_ws ws = {(float *)base, per};
  return apply(p, M, X, ldx, Y, ldy, &ws, cap > 4096 ? 4096 : (int)cap);
}

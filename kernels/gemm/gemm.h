/* Internal GEMM interface: the engine behind gk_gemm, the linear-layer
 * plans, the Linformer projection and the hash's distance products. */
#ifndef GK_GEMM_H
#define GK_GEMM_H

#include "../internal.h"

typedef struct gk_gemm_args {
  size_t M, N, K;
  const float *X; size_t ldx;             /* M x K */
  const float *W; size_t ldw;             /* K x N (KN) or N x K (NK) */
  gk_weight_layout layout;
  const float *bias;                      /* N or NULL */
  gk_activation act;
  float *Y; size_t ldy;                   /* M x N */
  int threads;                            /* 0: choose by work size */
} gk_gemm_args;

/* What a GEMM variant registers (registry impl pointer). */
typedef struct gk_gemm_impl {
  void (*run)(const gk_gemm_args *a);     /* arguments already validated */
} gk_gemm_impl;

/* Validates a (shapes, strides, NULLs, overflow); GK_OK or the error. */
gk_status gk_gemm_check(const gk_gemm_args *a);
/* Runs one variant (the harness and the tuner call every variant this way;
 * the public entry passes the dispatcher's choice). */
gk_status gk_gemm_run(const gk_variant *v, const gk_gemm_args *a);

#endif

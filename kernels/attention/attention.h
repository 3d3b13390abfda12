/* Internal attention interface: the flash-attention core behind
 * gk_attention and gk_linformer_attention, and the Linformer sequence
 * projection behind gk_linformer_project. */
#ifndef GK_ATTENTION_H
#define GK_ATTENTION_H

#include "../internal.h"

/* One validated call, shape normalised: strides filled in (no zeros),
 * batch >= 1, scale set. */
typedef struct gk_attn_args {
  gk_attn_shape s;
  const float *Q, *K, *V;
  size_t ldq, ldk, ldv;
  float *O;
  size_t ldo;
  int causal;              /* bottom-right aligned: query i sees keys j <= i + n_kv - n_q */
  const size_t *kv_valid;  /* s.batch valid key lengths, or NULL (all n_kv) */
  int threads;             /* 0: choose by work size */
  /* Per-thread scratch, scratch_floats (impl->scratch_floats) each, for
   * scratch_threads threads; NULL: the run allocates it (once per call). */
  float *scratch;
  int scratch_threads;
} gk_attn_args;

/* What an attention variant registers. */
typedef struct gk_attn_impl {
  void (*run)(const gk_attn_args *a);      /* arguments already validated */
  size_t (*scratch_floats)(size_t head_dim); /* per thread, 64-byte multiple */
} gk_attn_impl;

/* Validates shape, mask and operands; fills the defaults into *out. */
gk_status gk_attn_prepare(const gk_attn_shape *s, const float *Q, size_t ldq,
                          const float *K, size_t ldk, const float *V, size_t ldv,
                          float *O, size_t ldo, const gk_attn_mask *mask,
                          gk_attn_args *out);
/* Runs one variant on prepared arguments (harness, tuner, public entry). */
gk_status gk_attention_run(const gk_variant *v, const gk_attn_args *a);

/* Linformer projection Y = E[:, :n]·X[:n, :], k x c. */
typedef struct gk_lproj_args {
  size_t k, n, c;
  const float *E; size_t lde;
  const float *X; size_t ldx;
  float *Y; size_t ldy;
  int threads;             /* 0: choose by work size */
} gk_lproj_args;

typedef struct gk_lproj_impl {
  gk_status (*run)(const gk_lproj_args *a); /* arguments already validated; the GEMM's status */
} gk_lproj_impl;

gk_status gk_lproj_check(const gk_lproj_args *a);
/* n == 0 is valid here (an all-padding sequence): Y = 0. */
gk_status gk_linformer_project_run(const gk_variant *v, const gk_lproj_args *a);

#endif

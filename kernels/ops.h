/* The op list: one registry and one dispatch slot per entry.
 * X(ID, "name"): GK_OP_<ID> is the slot, "name" what gk_chosen_variant(),
 * GK_VERBOSE, the harness and the tuner's profile call it.
 * Keep entries grouped by family; a new op is one line here plus its
 * variants' registration (see registry.h). */
#ifndef GK_OPS_H
#define GK_OPS_H

#define GK_OPS(X)                                                    \
  /* dense GEMM micro-kernel family (kernels/gemm) */                \
  X(GEMM, "gemm")                                                    \
  X(LOWRANK, "lowrank") /* fused rank-r GEMM, same tiles */          \
  /* attention and Linformer (kernels/attention) */                  \
  X(ATTENTION, "attention")                                          \
  X(LINFORMER_PROJECT, "linformer_project")                          \
  /* EcoFormer hashing and Hamming attention (kernels/hamming) */    \
  X(HASH, "hash")                                                    \
  X(HAMMING_DIST, "hamming_dist")                                    \
  X(HAMMING_QUAD, "hamming_quad")                                    \
  X(HAMMING_LINEAR, "hamming_linear")

typedef enum gk_op {
#define GK_OP_ENUM_(id, name) GK_OP_##id,
  GK_OPS(GK_OP_ENUM_)
#undef GK_OP_ENUM_
  GK_OP_COUNT
} gk_op;

#endif

/*
 * greenkern — SIMD kernels for efficient transformer inference on CPUs.
 *
 * Conventions shared by every entry point (see README.md):
 *  - fp32, row-major, explicit leading dimensions counted in elements;
 *    pointers need no particular alignment;
 *  - outputs never alias inputs unless an entry says so;
 *  - every entry returns a gk_status; on any error nothing has been written
 *    to the outputs; no entry aborts or prints on bad input;
 *  - the library initialises itself on first use (thread-safe); gk_init()
 *    only makes that moment explicit.
 */
#ifndef GREENKERN_H
#define GREENKERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GK_BUILDING_LIBRARY) && defined(__GNUC__)
#define GK_API __attribute__((visibility("default")))
#else
#define GK_API
#endif

/* ---------------------------------------------------------------- version */

#define GK_VERSION_MAJOR 0
#define GK_VERSION_MINOR 1
#define GK_VERSION_PATCH 0
#define GK_VERSION_STRING "0.1.0"
/* Encoded as MAJOR*10000 + MINOR*100 + PATCH for compile-time comparisons. */
#define GK_VERSION_NUMBER \
  (GK_VERSION_MAJOR * 10000 + GK_VERSION_MINOR * 100 + GK_VERSION_PATCH)

/** Version of the library actually linked, e.g. "0.1.0". */
GK_API const char *gk_version(void);
/** Identifies this exact build (version, compiler, ISAs compiled in). The
 *  tuner keys its profile by it. */
GK_API const char *gk_build_id(void);

/* ----------------------------------------------------------------- status */

typedef enum gk_status {
  GK_OK = 0,
  GK_ERR_INVALID_ARG = 1, /* NULL pointer, zero size, bad stride, bad enum */
  GK_ERR_OVERFLOW = 2,    /* a size product does not fit in size_t */
  GK_ERR_UNSUPPORTED = 3, /* valid request this build or CPU cannot serve */
  GK_ERR_NO_MEMORY = 4,   /* allocation failed */
  GK_ERR_IO = 5,          /* file could not be read or written */
  GK_ERR_BAD_FORMAT = 6,  /* a file's content is malformed or foreign */
  GK_ERR_INTERNAL = 7     /* a library defect: please report it */
} gk_status;

/** Static, human-readable text for a status; never NULL. */
GK_API const char *gk_strerror(gk_status status);

/* --------------------------------------------------- initialisation, ISA */

typedef enum gk_isa {
  GK_ISA_SCALAR = 0, /* portable C reference */
  GK_ISA_AVX2 = 1,   /* x86-64 AVX2 + FMA */
  GK_ISA_AVX512 = 2, /* x86-64 AVX-512 F/BW/VL/DQ (VPOPCNTDQ used where present) */
  GK_ISA_NEON = 3    /* aarch64 Advanced SIMD */
} gk_isa;

/**
 * Initialise explicitly: detect the CPU, read the tuner's profile, fill the
 * dispatch tables. Called implicitly by every op; safe to call from many
 * threads at once; later calls are free and return the first call's status.
 *
 * Environment (read once, here):
 *   GK_ISA=scalar|avx2|avx512|neon  cap the ISA (never raises it above the CPU's)
 *   GK_PROFILE=path|off             tuner profile to read, or none
 *   GK_VERBOSE=1                    log detection and choices to stderr
 *   GK_L1D/GK_L2/GK_L3=bytes        override the detected cache sizes
 */
GK_API gk_status gk_init(void);

/** Highest ISA the dispatcher may use (CPU support capped by GK_ISA). */
GK_API gk_isa gk_active_isa(void);
/** "scalar", "avx2", "avx512", "neon"; "?" for anything else. */
GK_API const char *gk_isa_name(gk_isa isa);

/**
 * Name of the kernel variant the dispatcher chose for an op, e.g.
 * gk_chosen_variant("gemm") -> "f32_gemm_ukernel_14x32__avx512".
 * Returns NULL for an unknown op name. gk_op_name(i) enumerates op names
 * for i = 0, 1, ... until it returns NULL.
 */
GK_API const char *gk_chosen_variant(const char *op);
GK_API const char *gk_op_name(size_t index);

/* ----------------------------------------------------------------- threads */

/**
 * Threads used by ops large enough to profit (small problems stay on one
 * thread below a tuned threshold). n = 0 restores the default: OpenMP's
 * (omp_set_num_threads / OMP_NUM_THREADS). Returns GK_ERR_INVALID_ARG for
 * n > 4096.
 */
GK_API gk_status gk_set_num_threads(int n);
GK_API int gk_get_num_threads(void);

/* -------------------------------------------------- GEMM and rank-r GEMM */

typedef enum gk_activation {
  GK_ACT_NONE = 0,
  GK_ACT_RELU = 1,
  GK_ACT_GELU = 2 /* erf form: 0.5·x·(1 + erf(x/√2)) */
} gk_activation;

/** How a weight matrix of a layer with K inputs and N outputs is stored. */
typedef enum gk_weight_layout {
  GK_WEIGHT_KN = 0, /* K x N, row-major: Y = X·W */
  GK_WEIGHT_NK = 1  /* N x K, row-major (PyTorch Linear.weight): Y = X·Wᵀ */
} gk_weight_layout;

/**
 * Dense GEMM with epilogue: Y = act(X·W + bias).
 *   X: M x K (ldx >= K), W: K x N or N x K per `layout` (ldw >= its row
 *   length), bias: N floats or NULL, Y: M x N (ldy >= N).
 */
GK_API gk_status gk_gemm(size_t M, size_t N, size_t K, const float *X,
                         size_t ldx, const float *W, size_t ldw,
                         gk_weight_layout layout, const float *bias,
                         gk_activation act, float *Y, size_t ldy);

/* ---- section: rank-r GEMM, linear-layer plans, SVD (issue: rank-r GEMM) */

/**
 * Fused rank-r GEMM (Low-Rank Transformer): Y = act(X·U·V + bias).
 *   X: M x K (ldx >= K);
 *   U: K x r for GK_WEIGHT_KN (ldu >= r), or r x K for GK_WEIGHT_NK
 *      (ldu >= K: PyTorch Linear(K->r).weight);
 *   V: r x N for GK_WEIGHT_KN (ldv >= N), or N x r for GK_WEIGHT_NK
 *      (ldv >= r: PyTorch Linear(r->N).weight);
 *   bias: N floats or NULL; Y: M x N (ldy >= N).
 * 1 <= r <= min(K, N), else GK_ERR_INVALID_ARG. Per block of rows of X the
 * block x r intermediate stays in cache. The factors are packed on every
 * call: for repeated calls with the same weights use a gk_linear_plan.
 */
GK_API gk_status gk_lowrank_gemm(size_t M, size_t N, size_t K, size_t r, const float *X,
                                 size_t ldx, const float *U, size_t ldu,
                                 gk_weight_layout u_layout, const float *V, size_t ldv,
                                 gk_weight_layout v_layout, const float *bias,
                                 gk_activation act, float *Y, size_t ldy);

/**
 * Linear-layer plan: a K -> N layer (Y = act(X·W + bias)) with its weights
 * packed once for the micro-kernels. The weights and bias are copied: the
 * caller's arrays may be freed after create.
 *
 * A low-rank plan (W = U·V) also holds the dense product U·V, packed, and
 * picks per call the fused rank-r path when r <= the tuned rank crossover
 * for (M, K, N) (gk_tuned_rank_crossover; default 80% of K·N/(K+N)), else
 * the dense path (GK_VERBOSE logs each plan's first choice per path). The
 * bias belongs to the plan's second factor, as in greenformer's LED unit.
 *
 * gk_linear_apply does not allocate once each calling thread has run a
 * call of its shape: scratch is per thread and kept. For a hard guarantee,
 * gk_linear_apply_ws takes caller scratch of gk_linear_workspace_size()
 * bytes (64-byte aligned); concurrent calls on one plan are safe when each
 * passes its own workspace (and also with gk_linear_apply).
 */
typedef struct gk_linear_plan gk_linear_plan;

GK_API gk_status gk_linear_create_dense(gk_linear_plan **plan, size_t K, size_t N,
                                        const float *W, size_t ldw, gk_weight_layout layout,
                                        const float *bias, gk_activation act);
GK_API gk_status gk_linear_create_lowrank(gk_linear_plan **plan, size_t K, size_t N,
                                          size_t r, const float *U, size_t ldu,
                                          gk_weight_layout u_layout, const float *V,
                                          size_t ldv, gk_weight_layout v_layout,
                                          const float *bias, gk_activation act);
/** Y (M x N, ldy >= N) = layer(X (M x K, ldx >= K)). */
GK_API gk_status gk_linear_apply(const gk_linear_plan *plan, size_t M, const float *X,
                                 size_t ldx, float *Y, size_t ldy);
/** Bytes of workspace gk_linear_apply_ws needs for M rows (any M up to this
 *  one; depends on the thread count at the time of the call). */
GK_API size_t gk_linear_workspace_size(const gk_linear_plan *plan, size_t M);
GK_API gk_status gk_linear_apply_ws(const gk_linear_plan *plan, size_t M, const float *X,
                                    size_t ldx, float *Y, size_t ldy, void *workspace,
                                    size_t workspace_bytes);
/** Bytes the plan holds (packed weights, bias, bookkeeping). */
GK_API size_t gk_linear_memory(const gk_linear_plan *plan);
/** Whether apply at M rows would take the fused rank-r path (1) or dense
 *  (0; always 0 for a dense plan). */
GK_API int gk_linear_uses_lowrank(const gk_linear_plan *plan, size_t M);
GK_API void gk_linear_destroy(gk_linear_plan *plan);

/**
 * Truncated SVD of a dense layer weight (greenformer's "svd" solver):
 * W ~= U_out·V_out with U_out = U_r·S_r (K x r, row-major, ld r) and
 * V_out = V_rᵀ (r x N, row-major, ld N), whatever W's layout (K x N for
 * GK_WEIGHT_KN, N x K for GK_WEIGHT_NK). The layer's bias is not touched:
 * it stays with the second factor (pass it to gk_linear_create_lowrank).
 * errors_out (r floats, or NULL): relative Frobenius error
 * ‖W − W_k‖/‖W‖ of the rank-k truncation for k = 1..r.
 * GK_ERR_UNSUPPORTED when the library was built without LAPACKE.
 */
GK_API gk_status gk_svd_factorize(size_t K, size_t N, const float *W, size_t ldw,
                                  gk_weight_layout layout, size_t r, float *U_out,
                                  float *V_out, float *errors_out);

/* ---- section: attention and Linformer (issue: attention) */

/* ---- section: EcoFormer hashing and Hamming attention (issue: Hamming) */

/* ---- section: tuner profile and crossover queries (issue: tuner) */

#ifdef __cplusplus
}
#endif

#endif /* GREENKERN_H */

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
 * gk_chosen_variant("gemm") -> "f32_gemm_ukernel_8x48__avx512". For gemm
 * and lowrank this is the variant of calls above 4 rows and of linear-layer
 * plans; a profile may choose another for decode-sized calls (GK_VERBOSE=1
 * lists both).
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
 * n > 4096. The threads are OpenMP's: GNU libgomp ends the process
 * ("Thread creation failed") when it cannot start them, e.g. under a tight
 * address-space limit, before any status can be returned; a process that
 * runs under one should set 1 thread (then no team is ever started).
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
 * W is read as given on every call: where the engine wants it in panels
 * it packs (or transposes) the part it uses, per call; a linear-layer plan
 * (gk_linear_create_dense) packs its weights once, which pays for any W used
 * more than a few times.
 * Each thread's first call allocates that thread's scratch, kept for the
 * thread's life (so do gk_lowrank_gemm and gk_linear_apply): if that fails,
 * GK_ERR_NO_MEMORY, and Y is then partly written.
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

/**
 * Multi-head attention shape, in the [tokens, heads*head_dim] layout: head h
 * of token t of sequence b starts at  P + b*batch_stride + t*ld + h*head_stride,
 * so the Q, K, V slices of a fused QKV projection are used in place.
 * Zero-valued optional fields take their defaults.
 */
typedef struct gk_attn_shape {
  size_t batch;          /* sequences; 0 means 1 */
  size_t heads;          /* >= 1 */
  size_t head_dim;       /* d >= 1, any size (32/64/80/96/128 are the fast ones) */
  size_t n_q, n_kv;      /* query and key/value rows per sequence, >= 1 */
  size_t q_head_stride, k_head_stride, v_head_stride, o_head_stride; /* 0: d */
  size_t q_batch_stride, k_batch_stride, v_batch_stride, o_batch_stride; /* 0: rows*ld */
  float scale;           /* 0: 1/sqrt(d) */
} gk_attn_shape;

/** Masks; a NULL mask pointer means none. */
typedef struct gk_attn_mask {
  /* Causal, aligned bottom-right: query i sees keys j <= i + n_kv - n_q (so
   * with n_q < n_kv the queries are the last n_q positions, as when decoding
   * against a KV cache). */
  int causal;
  /* Key padding: kv_valid[b] <= n_kv keys of sequence b are real, the rest
   * are ignored; NULL: all n_kv. */
  const size_t *kv_valid;
} gk_attn_mask;

/**
 * O = softmax(scale·Q·Kᵀ + mask)·V per sequence and head (flash-attention
 * style: online softmax, the n_q x n_kv score matrix is never formed).
 * Q, O: n_q rows (ldq, ldo); K, V: n_kv rows (ldk, ldv); every ld covers
 * (heads-1)*head_stride + d. A query row that sees no key gets zeros.
 * O must not overlap Q, K or V; output heads/sequences must not overlap.
 * Allocates only a small per-thread scratch (O(d), never O(n)).
 */
GK_API gk_status gk_attention(const gk_attn_shape *s, const float *Q, size_t ldq,
                              const float *K, size_t ldk, const float *V, size_t ldv,
                              float *O, size_t ldo, const gk_attn_mask *mask);

/**
 * Linformer sequence projection: Y = E[:, :n]·X, i.e. the n x c matrix X
 * (ldx >= c) projected along its rows to k rows (Y: k x c, ldy >= c) by the
 * k x n_max matrix E (lde >= n_max) sliced to its first n <= n_max columns.
 * Padding: pass the sequence's valid length as n, so padded rows contribute
 * nothing (E is sliced to the valid length).
 */
GK_API gk_status gk_linformer_project(size_t k, size_t n, size_t c,
                                      const float *E, size_t lde, size_t n_max,
                                      const float *X, size_t ldx, float *Y, size_t ldy);

/** How the projections E (keys) and F (values) are shared (Linformer §4). */
typedef enum gk_linformer_sharing {
  GK_LINFORMER_HEADWISE = 0,  /* one E and one F for all heads */
  GK_LINFORMER_PER_HEAD = 1,  /* E_h = E + h*head_stride, F_h likewise */
  GK_LINFORMER_KEY_VALUE = 2  /* one E for keys, values and all heads; F unused */
} gk_linformer_sharing;

typedef struct gk_linformer_proj {
  size_t k;                /* projected length, >= 1 (may exceed n) */
  size_t n_max;            /* columns of E and F; n_kv <= n_max */
  const float *E; size_t lde;   /* k x n_max, lde >= n_max */
  const float *F; size_t ldf;   /* k x n_max, ldf >= n_max (not for KEY_VALUE) */
  size_t head_stride;      /* PER_HEAD: elements from E_h to E_{h+1}; 0: k*lde (k*ldf for F) */
  gk_linformer_sharing sharing;
} gk_linformer_proj;

/** Bytes of workspace gk_linformer_attention needs for this shape with up
 *  to the current thread count (gk_get_num_threads); 0 for invalid input. */
GK_API size_t gk_linformer_workspace_size(const gk_attn_shape *s,
                                          const gk_linformer_proj *p);

/**
 * Linformer attention: per sequence b and head h,
 *   K' = E_h[:, :L]·K_h[:L],  V' = F_h[:, :L]·V_h[:L],  L = kv_valid[b] (else n_kv),
 *   O_h = softmax(scale·Q_h·K'ᵀ)·V'   (full attention over the k projected rows).
 * s->n_kv is the sequence length n <= p->n_max; no causal mask (Linformer's
 * projection mixes positions). workspace: workspace_bytes >= the size
 * queried above (any alignment); with it the call allocates nothing. NULL
 * workspace: the call allocates and frees one itself. A sequence with L = 0
 * gets zeros.
 */
GK_API gk_status gk_linformer_attention(const gk_attn_shape *s, const gk_linformer_proj *p,
                                        const float *Q, size_t ldq, const float *K,
                                        size_t ldk, const float *V, size_t ldv, float *O,
                                        size_t ldo, const size_t *kv_valid,
                                        void *workspace, size_t workspace_bytes);

/* ---- section: EcoFormer hashing and Hamming attention (issue: Hamming) */

/*
 * EcoFormer (Liu et al., NeurIPS 2022), following its reference code
 * (pvt/hashing/ksh.py, pvt/performer.py). Binary codes: a b-bit code is
 * GK_CODE_WORDS(b) uint64 words; bit l lives in bit (l mod 64) of word l/64;
 * unused high bits are 0. Multi-head code arrays use a row stride `ldc` and a
 * head stride `c_head_stride` (both in words): code of head h, token i at
 * codes[i*ldc + h*c_head_stride]. Either [tokens][heads][words]
 * (ldc >= heads*words, head stride >= words) or [heads][tokens][words]
 * (ldc >= words, head stride >= n*ldc) is accepted; overlapping layouts are
 * rejected. Float tensors likewise: [tokens, heads*head_dim] is ld, head
 * stride head_dim.
 */
#define GK_HASH_MAX_BITS 1024
#define GK_HASH_MAX_ANCHORS 256
#define GK_CODE_WORDS(b) (((size_t)(b) + 63) / 64)

/* Kernelized hash, per head:
 *   1. if normalize: x <- x/||x||2 (an all-zero row stays zero: the reference
 *      has no epsilon and would give NaN);
 *   2. D_ij = ||x_i - a_j||^2 against the head's m anchors (computed as
 *      ||x||^2 + ||a||^2 - 2 x.a with the GEMM engine, clamped at 0);
 *      sigma = the head's sigma if given, else the mean of the current
 *      input's n x m distances (the reference's forward pass); if that mean
 *      is 0 every D is 0 and phi does not depend on sigma;
 *   3. phi_ij = exp(-D_ij / (2 sigma)) - mu_j;
 *   4. bit l of row i = [sum_j phi_ij A_lj >= 0] (a value of exactly 0 gives
 *      bit 1; the reference's torch.sign would give a 0 no bit can hold). */
typedef struct gk_hash_params {
  size_t heads, head_dim;
  size_t m;              /* anchors, 1..GK_HASH_MAX_ANCHORS */
  size_t b;              /* code bits, 1..GK_HASH_MAX_BITS */
  const float *anchors;  /* heads x m x head_dim, contiguous */
  const float *mu;       /* heads x m kernel means, or NULL for zeros */
  const float *A;        /* heads x b x m projections, contiguous */
  const float *sigma;    /* heads values > 0, or NULL: mean of the distances */
  int normalize;         /* L2-normalise rows first (the reference: yes) */
} gk_hash_params;

/** Hashes n tokens of every head: x (head h, token i at
 *  x[i*ldx + h*x_head_stride], head_dim floats) to codes. */
GK_API gk_status gk_hash(const gk_hash_params *p, size_t n, const float *x,
                         size_t ldx, size_t x_head_stride, uint64_t *codes,
                         size_t ldc, size_t c_head_stride);

/* Affine Hamming kernel, per head (D_H = popcount(q_i XOR k_j)):
 *   num_i = sum_j (alpha*(b - D_H(i,j)) + beta_num) v_j + gamma v_i
 *   den_i = sum_j (alpha*(b - D_H(i,j)) + beta_den)
 *   o_i = num_i / den_i, and o_i = 0 where den_i == 0.
 * gamma != 0 needs n_q == n_kv (self-attention: v_i is key i's value). */
typedef struct gk_hamming_kernel {
  float alpha, beta_num, beta_den, gamma;
} gk_hamming_kernel;

typedef enum gk_hamming_preset {
  GK_HAMMING_PAPER = 0,         /* (1, 0, 0, 0): weights b - D_H */
  GK_HAMMING_ECOFORMER_REF = 1  /* (2, -b, 1, b+1): the reference code's
                                   linear_attention_bias, exactly */
} gk_hamming_preset;

/** The kernel of a preset for b-bit codes. */
GK_API gk_status gk_hamming_kernel_preset(gk_hamming_preset preset, size_t b,
                                          gk_hamming_kernel *out);

typedef enum gk_hamming_algo {
  GK_HAMMING_AUTO = 0,      /* linear from the tuned crossover n_kv on */
  GK_HAMMING_QUADRATIC = 1, /* XOR + popcount per pair, O(n_q n_kv (b/64 + d)) */
  GK_HAMMING_LINEAR = 2     /* additions only, O((n_q + n_kv) b d) */
} gk_hamming_algo;

typedef struct gk_hamming_attn_params {
  size_t heads, head_dim, b;
  gk_hamming_kernel kernel;
  int causal;            /* query i sees keys j <= i + (n_kv - n_q); needs n_q <= n_kv */
  gk_hamming_algo algo;
} gk_hamming_attn_params;

/** Hamming attention. Codes as gk_hash writes them (q: n_q tokens, k: n_kv);
 *  v: n_kv x head_dim per head, o: n_q x head_dim per head. Only the first
 *  kv_valid (<= n_kv) keys take part (key padding); kv_valid = 0 gives zeros.
 *  o must not overlap the inputs. */
GK_API gk_status gk_hamming_attention(
    const gk_hamming_attn_params *p, size_t n_q, size_t n_kv, size_t kv_valid,
    const uint64_t *q_codes, size_t ldq, size_t q_head_stride,
    const uint64_t *k_codes, size_t ldk, size_t k_head_stride,
    const float *v, size_t ldv, size_t v_head_stride,
    float *o, size_t ldo, size_t o_head_stride);

/** All-pairs Hamming distances: d[i*ldd + j] = popcount(a_i XOR b_j) over
 *  `words` (1..16) uint64 words per code. */
GK_API gk_status gk_hamming_distances(size_t n_a, size_t n_b, size_t words,
                                      const uint64_t *a, size_t lda,
                                      const uint64_t *b, size_t ldb,
                                      uint16_t *d, size_t ldd);

/* ---- section: tuner profile and crossover queries (issue: tuner) */

/*
 * greenkern-tune measures this machine and writes a profile that the
 * library reads once at initialisation (search order: GK_PROFILE=path|off,
 * $XDG_CONFIG_HOME/greenkern/profile or ~/.config/greenkern/profile,
 * /etc/greenkern/profile). Without a valid profile the answers below come
 * from compiled-in cost models.
 */

/** Path of the profile in use, or NULL when none was found or accepted. */
GK_API const char *gk_profile_path(void);

/**
 * Rank crossover for a linear layer with M rows, K inputs, N outputs: the
 * largest rank r at which the fused rank-r product X·U·V is faster than
 * the dense X·W on this machine (0: never). Linear-layer plans use the
 * factored path for ranks up to it. Measured points are interpolated
 * (log M) and scaled to other (K, N) by the arithmetic break-even.
 * Errors: r NULL or M, K, N zero -> GK_ERR_INVALID_ARG.
 */
GK_API gk_status gk_query_rank_crossover(size_t M, size_t K, size_t N, size_t *r);

/** Sequence-length crossovers (number of keys n from which the first
 *  method is faster). Only GK_SEQ_HAMMING_LINEAR steers the library; the
 *  others compare different mathematics and are information. */
typedef enum gk_seq_crossover {
  GK_SEQ_HAMMING_LINEAR = 0,   /* linear over quadratic Hamming attention; param = b bits */
  GK_SEQ_LINFORMER_FULL = 1,   /* Linformer over full attention; param = k */
  GK_SEQ_HAMMING_FULL = 2,     /* Hamming attention over full attention; param = b */
  GK_SEQ_HAMMING_LINFORMER = 3 /* Hamming attention over Linformer k = 128; param = b */
} gk_seq_crossover;

/**
 * *n receives the crossover for head dimension d (causal masking or not).
 * GK_SEQ_HAMMING_LINEAR always answers (measured, interpolated, or the
 * cost model; SIZE_MAX when linear never won). The informational kinds
 * answer only for a measured (param, d, causal) and return
 * GK_ERR_UNSUPPORTED otherwise; *n = 0 means the first method never won
 * in the measured range. Errors: n NULL, param or d zero, causal not 0/1,
 * unknown kind -> GK_ERR_INVALID_ARG (nothing written).
 */
GK_API gk_status gk_query_seq_crossover(gk_seq_crossover kind, size_t param, size_t d,
                                        int causal, size_t *n);

#ifdef __cplusplus
}
#endif

#endif /* GREENKERN_H */

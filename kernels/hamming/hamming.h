/* Internal interface of the EcoFormer family: argument blocks, what each
 * variant registers, and the per-variant runners the harness and the tuner
 * call (gk_<op>_run). Common drivers (hash.c, distances.c, attention.c)
 * validate, allocate and thread; the ISA-templated sources (hash_rows.c,
 * popcount.c, attention_rows.c) hold the inner loops. */
#ifndef GK_HAMMING_H
#define GK_HAMMING_H

#include "../internal.h"

/* ------------------------------------------------------------- layouts */
/* A multi-head array: n rows of `width` elements per head, element (h, i, 0)
 * at i*ld + h*hs. Valid when non-NULL, sizes non-zero, and the heads' rows do
 * not overlap: token-major (hs >= width, ld >= (heads-1)*hs + width) or
 * head-major (ld >= width, hs >= (n-1)*ld + width); every index fits. */
gk_status gk_check_heads(const void *p, size_t n, size_t heads, size_t width,
                         size_t ld, size_t hs);

/* Rows ahead whose lines the passes over a head's rows fetch, and the
 * fetch: a head's slice of a token-major row is a few lines at a stride of
 * heads x width elements (kilobytes), which the hardware prefetchers do not
 * follow; each slice then costs a miss to L3 or memory (and a page walk). */
#define GK_PF_ROWS 4
static inline void gk_prefetch_slice(const void *p, size_t bytes, int for_write) {
  const char *c = (const char *)p;
  for (size_t o = 0; o < bytes; o += 64) {
    if (for_write) __builtin_prefetch(c + o, 1);
    else __builtin_prefetch(c + o);
  }
  if (for_write) __builtin_prefetch(c + bytes - 1, 1); /* a slice off the lines ends in one more */
  else __builtin_prefetch(c + bytes - 1);
}

/* ---------------------------------------------------------------- hash */
typedef struct gk_hash_args {
  gk_hash_params p;
  size_t n;
  const float *x; size_t ldx, xhs;
  uint64_t *codes; size_t ldc, chs;
  int threads; /* 0: by work size */
} gk_hash_args;

/* Rows per item, the unit of work and of threads: an item's scratch (its
 * normalised rows, then their projections) stays in L2. */
#define GK_HASH_ROWS 256

/* Scratch floats one item needs (the passes' `work`). */
size_t gk_hash_work_floats(const gk_hash_params *p);

/* The two passes over rows [r0, r0 + rn) of head h, rn <= GK_HASH_ROWS,
 * with `work` (gk_hash_work_floats floats, 64-byte aligned). Between them
 * the driver takes the mean distance (sigma) over all of the head's rows.
 * Both return their GEMMs' status (GK_ERR_NO_MEMORY: their scratch). */
typedef struct gk_hash_impl {
  /* D (rn x m, row stride m) = the rows' squared distances to the head's
   * anchors; *sum = their sum. */
  gk_status (*distances)(const gk_hash_args *a, size_t h, size_t r0, size_t rn, float *D,
                         double *sum, float *work);
  /* phi in place of D, then the rows' codes. */
  gk_status (*codes)(const gk_hash_args *a, size_t h, size_t r0, size_t rn, float *D,
                     double sigma, float *work);
} gk_hash_impl;

gk_status gk_hash_check(const gk_hash_args *a);
gk_status gk_hash_run(const gk_variant *v, const gk_hash_args *a);

/* ------------------------------------------------- Hamming distances */
/* Keys are packed "dword-major" in blocks of `lanes` codes: block kb holds
 * word w (as 32-bit halves, w32 = 2*words of them) of its codes at
 * kp[(kb*w32 + w)*lanes + lane], zero-padded past the last code. A popcount
 * kernel then XORs one broadcast query dword with `lanes` keys at once. */
typedef void (*gk_popcount_blocks_fn)(const uint32_t *q, size_t ldq32, size_t nq,
                                      const uint32_t *kp, size_t nblk, size_t w32,
                                      uint16_t *out, size_t ldo);
typedef struct gk_hdist_impl {
  size_t lanes;               /* codes per key block */
  gk_popcount_blocks_fn blocks; /* out[i][kb*lanes + l] for all nblk blocks */
} gk_hdist_impl;

/* Packs n codes of `words` words into ceil(n/lanes) blocks at kp. */
void gk_hamming_pack_keys(const uint64_t *k, size_t ldk, size_t n, size_t words,
                          size_t lanes, uint32_t *kp);

typedef struct gk_hdist_args {
  size_t na, nb, words;
  const uint64_t *a; size_t lda;
  const uint64_t *b; size_t ldb;
  uint16_t *d; size_t ldd;
  int threads; /* 0: by work size */
} gk_hdist_args;

gk_status gk_hamming_distances_run(const gk_variant *v, const gk_hdist_args *a);

/* ------------------------------------------------- Hamming attention */
typedef struct gk_hattn_args {
  gk_hamming_attn_params p;
  size_t n_q, n_kv, kv_valid;
  const uint64_t *qc; size_t ldq, qhs;
  const uint64_t *kc; size_t ldk, khs;
  const float *v; size_t ldv, vhs;
  float *o; size_t ldo, ohs;
  int threads; /* 0: by work size */
} gk_hattn_args;

/* Quadratic tile sizes: query rows x keys; the D_H tile is uint16. */
#define GK_HQ_QB 64
#define GK_HQ_KB 128

/* The weighted sum of a quadratic tile: acc[i][:] += sum_j lut[D[i][j]] v_j
 * for i < nq, j < nk (D row stride GK_HQ_KB, acc row stride d). */
typedef void (*gk_hq_wsum_fn)(const uint16_t *D, size_t nq, size_t nk,
                              const float *lut, const float *v, size_t ldv,
                              size_t d, float *acc);

typedef struct gk_hquad_impl {
  gk_hdist_impl dist;
  gk_hq_wsum_fn wsum;
} gk_hquad_impl;

/* Linear form, one head: scratch floats needed, and the head's work.
 * Keys enter the state GK_HLIN_KEYS at a time (one load and store of each
 * state vector per block) where no query needs the state in between. */
#define GK_HLIN_KEYS 8
size_t gk_hlin_work_floats(size_t b, size_t d);
typedef struct gk_hlin_impl {
  void (*head)(const gk_hattn_args *a, size_t h, float *work);
} gk_hlin_impl;

/* The kernel's constants in the ±1 form (h_i.h_j = b - 2 D_H):
 * weight = c1 * h_i.h_j + c0, c1 = alpha/2, c0 = alpha*b/2 + beta. */
typedef struct gk_hkernel_pm {
  double c1, c0_num, c0_den;
} gk_hkernel_pm;
gk_hkernel_pm gk_hamming_pm(const gk_hattn_args *a);

/* First key index not visible to query i (causal and padding applied). */
static inline size_t gk_hattn_key_end(const gk_hattn_args *a, size_t i) {
  size_t end = a->kv_valid;
  if (a->p.causal) {
    size_t lim = i + (a->n_kv - a->n_q) + 1;
    if (lim < end) end = lim;
  }
  return end;
}

gk_status gk_hamming_attention_check(const gk_hattn_args *a);
/* Runs one variant: its op (GK_OP_HAMMING_QUAD or _LINEAR) is the algorithm. */
gk_status gk_hamming_attention_run(const gk_variant *v, const gk_hattn_args *a);

#endif

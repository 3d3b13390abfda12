/* Flash-attention core, ISA-templated (one source, every vector width).
 * Decoding-sized calls (a few query rows) take their own path, at the end
 * of this file; what follows is the query-block path of every other call.
 *
 * Work item: (sequence, head, chunk of up to G blocks of BR queries), or
 * for short keys under many queries (sequence, chunk) with the heads run
 * in turn (see HEADS_INNER_MAX_KV). Per query block a thread keeps, in
 * its scratch:
 *   qt  the query block transposed and pre-scaled by scale·log2(e), d x BR:
 *       queries run along the vector lanes, so a row of scores for one key
 *       is QV vectors;
 *   ob  the unnormalised output rows, BR x dp (dp = d rounded up to lanes);
 *   m, l  the running max and sum per query (base-2 units);
 * and, shared by the chunk, the current key block:
 *   kc, vb  its K and V rows, contiguous, BC x dp (zero-padded to dp);
 *   st  the scores of one query block against it, BC x BR, then their exps.
 *
 * Why chunks: K and V of one head in a [tokens, heads*d] tensor lie a row
 * (heads·d floats, a page or so) apart, so every key block touches ~2·BC
 * pages. Read once per query block (as a plain loop over query blocks
 * does), K and V cost a TLB miss per row on 4 KiB pages and, at n = 4096
 * (2 MiB of K and V per head, the size of L2), a miss to L3 per line: that
 * loop ran n = 4096 no faster per FLOP than n = 1024, while PyTorch's
 * GEMMs speed up with n. Copied once per chunk, K and V cost is shared by G
 * query blocks and the micro-kernels read only contiguous, L1-resident
 * data. The chunk's state, G·(qt+ob), stays in L2; the scratch stays O(d),
 * independent of n.
 *
 * Why queries along lanes: the softmax's max and sum over keys are vertical
 * vector ops (no horizontal reductions), and both micro-kernels are
 * broadcast-times-vector: scores broadcast K[j][p] (packed) against QV
 * query vectors; P·V broadcasts P[r][j] from st against V's row vectors.
 *
 * Online softmax per key block, in base 2 (log2(e) is folded into the query
 * scale, so e^x = 2^(x·log2 e) costs no extra multiply): m' = max(m, max_j
 * s_j), alpha = 2^(m-m'), l' = alpha·l + Σ_j 2^(s_j-m'), O' = alpha·O +
 * Σ_j 2^(s_j-m')·v_j. The rescale of O is skipped when no row's max moved
 * (alpha = 1 everywhere: most blocks once the first few set the max). m' is
 * clamped to >= -FLT_MAX so that a row whose keys are all masked so far
 * gives 2^(-inf) = 0 everywhere instead of NaN; at the end l = 0 means the
 * row saw no key and is written as zeros. */
#include <float.h>
#include <math.h>

#include "../simd.h"
#include "../exp2.h"
#include "../transpose.h"
#include "../gemm/gemm.h"
#include "attention.h"

/* Register tiles: QV x NJ score accumulators, PV_MR x PV_NV output
 * accumulators, sized to the register file (32 vector registers on AVX-512
 * and NEON, 16 on AVX2; both tiles leave room for their operands). */
#if defined(GK_TARGET_AVX512) || defined(GK_TARGET_NEON)
#define QV 4    /* query vectors per block */
#define NJ 6    /* keys per score micro-tile: 24 accumulators */
#define PV_MR 6 /* query rows per P·V micro-tile */
#define PV_NV 4 /* head_dim vectors per P·V micro-tile: 24 accumulators */
#if defined(GK_TARGET_AVX512)
#define TILE_NAME "64x6" /* queries per block x keys per score tile */
#else
#define TILE_NAME "16x6"
#endif
#elif defined(GK_TARGET_AVX2)
#define QV 2
#define NJ 6
#define PV_MR 6
#define PV_NV 2
#define TILE_NAME "16x6"
#else
#define QV 4
#define NJ 4
#define PV_MR 4
#define PV_NV 2
#define TILE_NAME "4x4"
#endif
#define LANES GK_VF_LANES
/* log2(e), folded into the query scale: the softmax runs in base 2 */
#define LOG2E 1.44269504088896341f
#define BR (QV * LANES) /* queries per block */
#define KG 10           /* key groups per block */
#define BC (NJ * KG)    /* keys per block: whole groups, no padded keys */
#define PV_TAIL (BR % PV_MR)
#define GMAX 8 /* query blocks per chunk, at most */
/* ... and the chunk's state kept under this many floats (L2-resident) */
#define CHUNK_FLOATS (128u * 1024u)

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }
static size_t padded_dim(size_t d) { return (d + LANES - 1) / LANES * LANES; }
static size_t block_floats(size_t d) {
  return round16(d * BR) + round16(BR * padded_dim(d)) + 2 * round16(BR);
}
static size_t chunk_max(size_t d) {
  size_t g = CHUNK_FLOATS / block_floats(d);
  return g < 1 ? 1 : g > GMAX ? GMAX : g;
}
/* Decoding-sized calls, n_q <= DEC_MAX_Q (see decode_head): keys per
 * block, and the row count up to which that path beat the query blocks.
 * Paired, 12 heads, d = 64, n_kv = 512 and 4096, 1 thread: AVX-512 n_q = 1
 * 3.6-5.2x faster, n_q = 8 1.13x; AVX2 n_q = 1 2.5-3.5x, n_q = 4
 * 1.15-1.26x. NEON shares AVX2's query block (16 rows); the scalar block
 * has only 4. */
#define DEC_KB 256
#if defined(GK_TARGET_AVX512)
#define DEC_MAX_Q 8
#elif defined(GK_TARGET_AVX2) || defined(GK_TARGET_NEON)
#define DEC_MAX_Q 4
#else
#define DEC_MAX_Q 1
#endif

static size_t dec_floats(size_t d) {
  return (2 * DEC_MAX_Q + 1) * round16(padded_dim(d)) + round16(DEC_KB);
}

static size_t scratch_floats(size_t d) {
  const size_t blocks = chunk_max(d) * block_floats(d) + 2 * round16(BC * padded_dim(d)) +
                        round16(BC * BR) + round16(BR);
  return blocks > dec_floats(d) ? blocks : dec_floats(d);
}

/* Rows [0, nb) of a [tokens, heads*d] operand, copied contiguous (ld dp,
 * zero-padded to dp and to `pad` rows): one vectorised memcpy per row. */
static void copy_rows(const float *x, size_t ldx, size_t nb, size_t pad, size_t d, size_t dp,
                      float *dst) {
  for (size_t j = 0; j < nb; j++) {
    memcpy(dst + j * dp, x + j * ldx, d * sizeof(float));
    if (dp > d) memset(dst + j * dp + d, 0, (dp - d) * sizeof(float));
  }
  if (pad > nb) memset(dst + nb * dp, 0, (pad - nb) * dp * sizeof(float));
}

/* st[j][0..BR) = qt·K[j] for NJ keys of the contiguous copy kc (rows dp
 * apart: each row's broadcasts walk one L1-resident line after another);
 * bm = running max over the first `valid` of them. */
GK_SIMD_INLINE void score_tile(const float *qt, size_t d, const float *kc, size_t dp, float *st,
                               size_t valid, gk_vf *bm) {
  gk_vf acc[NJ][QV];
  for (int j = 0; j < NJ; j++)
    for (int v = 0; v < QV; v++) acc[j][v] = vf_zero();
  for (size_t p = 0; p < d; p++) {
    gk_vf q[QV];
    for (int v = 0; v < QV; v++) q[v] = vf_load(qt + p * BR + v * LANES);
    for (int j = 0; j < NJ; j++) {
      const gk_vf kb = vf_set1(kc[j * dp + p]);
      for (int v = 0; v < QV; v++) acc[j][v] = vf_fma(q[v], kb, acc[j][v]);
    }
  }
  for (int j = 0; j < NJ; j++) {
    for (int v = 0; v < QV; v++) vf_store(st + (size_t)j * BR + v * LANES, acc[j][v]);
    if ((size_t)j < valid)
      for (int v = 0; v < QV; v++) bm[v] = vf_max(bm[v], acc[j][v]);
  }
}

static void scores(const float *qt, size_t d, const float *kc, size_t dp, size_t nb, float *st,
                   gk_vf *bm) {
  for (int v = 0; v < QV; v++) bm[v] = vf_set1(-INFINITY);
  for (size_t j = 0; j < nb; j += NJ)
    score_tile(qt, d, kc + j * dp, dp, st + j * BR, nb - j, bm);
}

/* s[j·BR] = 2^(s[j·BR] - mn) for nb keys (one query vector); returns their
 * sum. `masked`: some scores are -inf (a causal diagonal block). */
GK_SIMD_INLINE gk_vf exps_(float *s, size_t nb, gk_vf mn, const int masked) {
  gk_vf sum = vf_zero();
  for (size_t j = 0; j < nb; j++, s += BR) {
    const gk_vf x = vf_sub(vf_load(s), mn);
    const gk_vf p = masked ? vf_exp2_(x) : vf_exp2_finite_(x);
    vf_store(s, p);
    sum = vf_add(sum, p);
  }
  return sum;
}

/* Exps of one block of scores in place (bm: the block's max per query),
 * running max m and sum l updated; alpha = 2^(m_old - m_new). Returns
 * whether any alpha differs from 1 (exactly 1 where the max did not move:
 * 2^0 is exact, so skipping the rescale then changes nothing). */
static int softmax_step(float *st, size_t nb, const gk_vf *bm, float *m, float *l,
                        float *alpha, int masked) {
  int moved = 0;
  for (int v = 0; v < QV; v++) {
    const gk_vf mo = vf_load(m + v * LANES);
    const gk_vf mn = vf_max(vf_max(mo, bm[v]), vf_set1(-FLT_MAX));
    const gk_vf sum = masked ? exps_(st + v * LANES, nb, mn, 1) : exps_(st + v * LANES, nb, mn, 0);
    const gk_vf a = vf_exp2_(vf_sub(mo, mn));
    vf_store(l + v * LANES, vf_fma(vf_load(l + v * LANES), a, sum));
    vf_store(m + v * LANES, mn);
    vf_store(alpha + v * LANES, a);
  }
  for (size_t r = 0; r < BR; r++) moved |= alpha[r] != 1.0f;
  return moved;
}

/* ob[r][c..] = alpha[r]·ob[r][c..] + Σ_j st[j][r]·vb[j][c..] for mr rows
 * and nv column vectors; alpha NULL: no rescale; first: the block's first
 * keys, ob starts from zero (never cleared, never read before). */
GK_SIMD_INLINE void pv_tile(const int mr, const int nv, const float *st, size_t nb,
                            const float *vb, size_t dp, float *ob, const float *alpha,
                            int first) {
  gk_vf acc[PV_MR][PV_NV];
  for (int r = 0; r < mr; r++)
    for (int c = 0; c < nv; c++) acc[r][c] = first ? vf_zero() : vf_load(ob + r * dp + c * LANES);
  if (alpha && !first)
    for (int r = 0; r < mr; r++) {
      const gk_vf a = vf_set1(alpha[r]);
      for (int c = 0; c < nv; c++) acc[r][c] = vf_mul(acc[r][c], a);
    }
  for (size_t j = 0; j < nb; j++) {
    gk_vf vv[PV_NV];
    for (int c = 0; c < nv; c++) vv[c] = vf_load(vb + j * dp + c * LANES);
    for (int r = 0; r < mr; r++) {
      const gk_vf pb = vf_set1(st[j * BR + r]);
      for (int c = 0; c < nv; c++) acc[r][c] = vf_fma(pb, vv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int c = 0; c < nv; c++) vf_store(ob + r * dp + c * LANES, acc[r][c]);
}

/* mr rows of ob, every column vector. */
GK_SIMD_INLINE void pv_rows(const int mr, const float *st, size_t nb, const float *vb,
                            size_t dp, float *ob, const float *alpha, int first) {
  const size_t nvec = dp / LANES;
  size_t c = 0;
  for (; c + PV_NV <= nvec; c += PV_NV)
    pv_tile(mr, PV_NV, st, nb, vb + c * LANES, dp, ob + c * LANES, alpha, first);
  switch (nvec - c) {
#if PV_NV > 3
    case 3: pv_tile(mr, 3, st, nb, vb + c * LANES, dp, ob + c * LANES, alpha, first); break;
#endif
#if PV_NV > 2
    case 2: pv_tile(mr, 2, st, nb, vb + c * LANES, dp, ob + c * LANES, alpha, first); break;
#endif
#if PV_NV > 1
    case 1: pv_tile(mr, 1, st, nb, vb + c * LANES, dp, ob + c * LANES, alpha, first); break;
#endif
    default: break;
  }
}

/* The first `rows` rows of ob (whole micro-tiles: rows up to BR exist). */
static void pv(const float *st, size_t nb, const float *vb, size_t dp, float *ob, size_t rows,
               const float *alpha, int first) {
  size_t r = 0;
  for (; r < rows && r + PV_MR <= BR; r += PV_MR)
    pv_rows(PV_MR, st + r, nb, vb, dp, ob + r * dp, alpha ? alpha + r : NULL, first);
#if PV_TAIL > 0
  if (r < rows) pv_rows(PV_TAIL, st + r, nb, vb, dp, ob + r * dp, alpha ? alpha + r : NULL, first);
#endif
}

/* One query block's state in the chunk. */
typedef struct qblock {
  float *qt, *ob, *m, *l;
  size_t i0, rows, kend, jfull; /* keys: all of [0, jfull) by every row, up to kend by the last */
} qblock;

/* Rows [i0, i0 + rows) of a head: each a different page or so of a
 * [tokens, heads*d] tensor, so each row costs a cache miss (and a TLB miss
 * on 4 KiB pages) that the hardware prefetchers do not see coming (they
 * stay within a page). A
 * loop that reads the rows and transposes them (or writes them) with
 * scalar stores fills the store buffer long before the misses resolve, so
 * they would be paid one after another; prefetches issued a block ahead
 * overlap them with a block's worth of arithmetic. */
static void prefetch_rows(const float *p, size_t ld, size_t rows, size_t d, int write) {
  for (size_t r = 0; r < rows; r++) {
    const char *row = (const char *)(p + r * ld);
    for (size_t c = 0; c < d * sizeof(float); c += 64) {
      if (write) __builtin_prefetch(row + c, 1, 3);
      else __builtin_prefetch(row + c, 0, 2);
    }
    if (write) __builtin_prefetch(row + d * sizeof(float) - 1, 1, 3);
    else __builtin_prefetch(row + d * sizeof(float) - 1, 0, 2);
  }
}

/* qt = the block's queries, transposed and scaled; rows >= B->rows zero.
 * AVX-512 and AVX2 transpose whole vectors in registers (transpose.h). On
 * AVX2 that replaced a gather per column of 8 rows; paired on a Zen 3 EPYC
 * (12 heads, d = 64), 1 thread: n_kv = 64 (Linformer's k) 0.88x the time,
 * 128 0.93x, 256 0.96x, 1024 even; 2 threads, n_kv = 64 0.83-0.92x. */
static void load_queries(const qblock *B, const float *q, size_t ldq, size_t d, float scale) {
  gk_transpose_rows_(q + B->i0 * ldq, ldq, B->rows, BR, d, BR, scale, B->qt);
}

/* O rows of the block = ob / l (zeros where l = 0: the row saw no key). */
static void store_output(const qblock *B, float *o, size_t ldo, size_t d) {
  const size_t dp = padded_dim(d), full = d / LANES * LANES;
  for (size_t r = 0; r < B->rows; r++) {
    float *dst = o + (B->i0 + r) * ldo;
    if (B->kend == 0) {
      memset(dst, 0, d * sizeof(float));
      continue;
    }
    const gk_vf inv = vf_set1(B->l[r] > 0.0f ? 1.0f / B->l[r] : 0.0f);
    const float *src = B->ob + r * dp;
    size_t c = 0;
    for (; c < full; c += LANES) vf_storeu(dst + c, vf_mul(vf_load(src + c), inv));
    if (c < d) vf_storeu_n(dst + c, vf_mul(vf_load(src + c), inv), d - c);
  }
}

/* Query blocks [qb0, qb0 + nblk) of one head. */
static void chunk(const gk_attn_args *a, float *ws, const float *q, const float *k,
                  const float *v, float *o, size_t qb0, size_t nblk, size_t n_eff) {
  const size_t d = a->s.head_dim, dp = padded_dim(d), bf = block_floats(d);
  float *kc = ws + chunk_max(d) * bf, *vb = kc + round16(BC * dp);
  float *st = vb + round16(BC * dp), *alpha = st + round16(BC * BR);
  const ptrdiff_t off = (ptrdiff_t)a->s.n_kv - (ptrdiff_t)a->s.n_q;
  const float scale = a->s.scale * LOG2E;
  qblock blk[GMAX];
  size_t kmax = 0;
  for (size_t b = 0; b < nblk; b++) {
    qblock *B = &blk[b];
    B->qt = ws + b * bf, B->ob = B->qt + round16(d * BR);
    B->m = B->ob + round16(BR * dp), B->l = B->m + round16(BR);
    B->i0 = (qb0 + b) * BR;
    B->rows = a->s.n_q - B->i0 < BR ? a->s.n_q - B->i0 : BR;
    B->kend = B->jfull = n_eff;
    if (a->causal) {
      ptrdiff_t last = (ptrdiff_t)(B->i0 + B->rows) + off, first = (ptrdiff_t)B->i0 + off + 1;
      B->kend = last <= 0 ? 0 : ((size_t)last < n_eff ? (size_t)last : n_eff);
      B->jfull = first <= 0 ? 0 : ((size_t)first < n_eff ? (size_t)first : n_eff);
    }
    if (B->kend > kmax) kmax = B->kend;
    if (B->kend == 0) { /* no row sees a key */
      store_output(B, o, a->ldo, d);
      continue;
    }
    for (size_t r = 0; r < BR; r++) B->m[r] = -INFINITY, B->l[r] = 0.0f;
  }
  if (nblk) prefetch_rows(q + blk[0].i0 * a->ldq, a->ldq, blk[0].rows, d, 0);
  if (kmax == 0) return;
  /* Key blocks of equal size (whole groups of NJ): a short last block
   * would pay a block's fixed costs for a few keys (k = 128: 60+60+8). */
  const size_t nkb = (kmax + BC - 1) / BC, kb = ((kmax + nkb - 1) / nkb + NJ - 1) / NJ * NJ;
  /* the first key block: it is packed right away, but the misses then overlap */
  prefetch_rows(k, a->ldk, kmax < kb ? kmax : kb, d, 0);
  prefetch_rows(v, a->ldv, kmax < kb ? kmax : kb, d, 0);

  for (size_t j0 = 0; j0 < kmax; j0 += kb) {
    const size_t nb = kmax - j0 < kb ? kmax - j0 : kb;
    /* whole groups of NJ keys: the last group's missing keys are zeros
     * (their scores are computed, never read) */
    copy_rows(k + j0 * a->ldk, a->ldk, nb, (nb + NJ - 1) / NJ * NJ, d, dp, kc);
    copy_rows(v + j0 * a->ldv, a->ldv, nb, nb, d, dp, vb);
    if (j0 + nb < kmax) { /* the next key block's rows, in flight during this one */
      const size_t nn = kmax - j0 - nb < kb ? kmax - j0 - nb : kb;
      prefetch_rows(k + (j0 + nb) * a->ldk, a->ldk, nn, d, 0);
      prefetch_rows(v + (j0 + nb) * a->ldv, a->ldv, nn, d, 0);
    }
    for (size_t b = 0; b < nblk; b++) {
      qblock *B = &blk[b];
      if (B->kend <= j0) continue;
      const size_t nbb = B->kend - j0 < nb ? B->kend - j0 : nb;
      const int last = j0 + nbb >= B->kend;
      if (j0 == 0) { /* first key block: the queries, and the next block's in flight */
        if (b + 1 < nblk) prefetch_rows(q + blk[b + 1].i0 * a->ldq, a->ldq, blk[b + 1].rows, d, 0);
        load_queries(B, q, a->ldq, d, scale);
      }
      if (last) prefetch_rows(o + B->i0 * a->ldo, a->ldo, B->rows, d, 1);
      gk_vf bm[QV];
      scores(B->qt, d, kc, dp, nbb, st, bm);
      const int masked = j0 + nbb > B->jfull;
      if (masked) { /* diagonal block: row r sees key j iff j <= i0 + r + off */
        for (size_t j = 0; j < nbb; j++) {
          ptrdiff_t rmin = (ptrdiff_t)(j0 + j) - off - (ptrdiff_t)B->i0; /* first row seeing j */
          size_t hide = rmin <= 0 ? 0 : ((size_t)rmin < BR ? (size_t)rmin : BR);
          for (size_t r = 0; r < hide; r++) st[j * BR + r] = -INFINITY;
        }
        for (int x = 0; x < QV; x++) { /* the fused max saw the hidden scores */
          bm[x] = vf_set1(-INFINITY);
          for (size_t j = 0; j < nbb; j++) bm[x] = vf_max(bm[x], vf_load(st + j * BR + x * LANES));
        }
      }
      const int moved = softmax_step(st, nbb, bm, B->m, B->l, alpha, masked);
      pv(st, nbb, vb, dp, B->ob, B->rows, moved ? alpha : NULL, j0 == 0);
      if (last) store_output(B, o, a->ldo, d);
    }
  }
}

/* ------------------------------------------------ decoding-sized n_q */

/* Up to DEC_MAX_Q query rows (decoding against a KV cache: one new token,
 * or a few) run a row at a time, as matrix-vector products on this ISA's
 * GEMM (its M = 1 path, K's and V's rows read in place) with the online
 * softmax between them: per block of DEC_KB keys, s = q·Kᵀ, p = 2^(s - m),
 * y = p·V, acc = alpha·acc + y. The query-block path keeps BR queries
 * along the lanes and computes BR - n_q rows of padding: at n_q = 1,
 * n_kv = 256, d = 64, one head, it took 28.9 us (AVX-512, BR = 64), this
 * path 3.0. At n_kv = 4096 the path streams K and V at what L3 gives
 * (12 heads: 25 MB in 1.7 ms). */

/* max of s[0..n) */
static float row_max(const float *s, size_t n) {
  gk_vf m = vf_set1(-INFINITY);
  size_t j = 0;
  for (; j + LANES <= n; j += LANES) m = vf_max(m, vf_loadu(s + j));
  float r = vf_reduce_max(m);
  for (; j < n; j++) r = s[j] > r ? s[j] : r;
  return r;
}

/* s[j] = 2^(s[j] - mx) for j < n (every s[j] <= mx); returns their sum. */
static float exps_row(float *s, size_t n, float mx) {
  const gk_vf m = vf_set1(mx);
  gk_vf sum = vf_zero();
  size_t j = 0;
  for (; j + LANES <= n; j += LANES) {
    const gk_vf p = vf_exp2_finite_(vf_sub(vf_loadu(s + j), m));
    vf_storeu(s + j, p);
    sum = vf_add(sum, p);
  }
  float r = vf_reduce_add(sum);
  if (j < n) { /* the lanes past n are never stored nor summed */
    vf_storeu_n(s + j, vf_exp2_finite_(vf_sub(vf_loadu_n(s + j, n - j), m)), n - j);
    for (; j < n; j++) r += s[j];
  }
  return r;
}

/* x[c] = x[c]·a + y[c], c < d (a = 0 drops x, whatever it held). */
static void scale_add(float *x, float a, const float *y, size_t d) {
  const gk_vf av = vf_set1(a);
  size_t c = 0;
  for (; c + LANES <= d; c += LANES)
    vf_storeu(x + c, a == 0.0f ? vf_loadu(y + c) : vf_fma(vf_loadu(x + c), av, vf_loadu(y + c)));
  for (; c < d; c++) x[c] = a == 0.0f ? y[c] : x[c] * a + y[c];
}

/* Every query row of one head (see DEC_MAX_Q): key blocks outer, so a
 * block's rows of K and V are read from memory once, by the first query
 * row, and from cache by the others. */
static void decode_head(const gk_attn_args *a, const gk_variant *gemm, float *ws, const float *q,
                        const float *k, const float *v, float *o, size_t n_eff) {
  const size_t d = a->s.head_dim, dp = round16(padded_dim(d)), n_q = a->s.n_q;
  const ptrdiff_t off = (ptrdiff_t)a->s.n_kv - (ptrdiff_t)n_q;
  const float scale = a->s.scale * LOG2E;
  const gk_gemm_impl *g = gemm->impl;
  float *s = ws, *y = s + round16(DEC_KB), *qs = y + dp, *acc = qs + DEC_MAX_Q * dp;
  float m[DEC_MAX_Q], l[DEC_MAX_Q];
  size_t kend[DEC_MAX_Q], kmax = 0;
  for (size_t i = 0; i < n_q; i++) {
    kend[i] = n_eff;
    if (a->causal) {
      const ptrdiff_t e = (ptrdiff_t)i + 1 + off;
      kend[i] = e <= 0 ? 0 : (size_t)e < n_eff ? (size_t)e : n_eff;
    }
    if (kend[i] > kmax) kmax = kend[i];
    for (size_t c = 0; c < d; c++) qs[i * dp + c] = q[i * a->ldq + c] * scale;
    m[i] = -INFINITY, l[i] = 0.0f;
  }
  for (size_t j0 = 0; j0 < kmax; j0 += DEC_KB)
    for (size_t i = 0; i < n_q; i++) {
      if (kend[i] <= j0) continue;
      const size_t nb = kend[i] - j0 < DEC_KB ? kend[i] - j0 : DEC_KB;
      /* M = 1: the GEMV path, which needs no scratch and cannot fail */
      const gk_gemm_args sc = {1, nb, d, qs + i * dp, d, k + j0 * a->ldk, a->ldk, GK_WEIGHT_NK,
                               NULL, GK_ACT_NONE, s, nb, 1};
      g->run(&sc);
      const float bm = row_max(s, nb), mn = bm > m[i] ? bm : m[i];
      const float alpha = j0 ? exp2f(m[i] - mn) : 0.0f;
      l[i] = l[i] * alpha + exps_row(s, nb, mn);
      const gk_gemm_args pv = {1, d, nb, s, nb, v + j0 * a->ldv, a->ldv, GK_WEIGHT_KN,
                               NULL, GK_ACT_NONE, y, d, 1};
      g->run(&pv);
      scale_add(acc + i * dp, alpha, y, d);
      m[i] = mn;
    }
  for (size_t i = 0; i < n_q; i++) {
    float *dst = o + i * a->ldo;
    if (kend[i] == 0) { /* the row sees no key */
      memset(dst, 0, d * sizeof(float));
      continue;
    }
    const gk_vf inv = vf_set1(1.0f / l[i]); /* l >= 1: the max's own term is 2^0 */
    const float *src = acc + i * dp;
    size_t c = 0;
    for (; c + LANES <= d; c += LANES) vf_storeu(dst + c, vf_mul(vf_loadu(src + c), inv));
    if (c < d) vf_storeu_n(dst + c, vf_mul(vf_loadu_n(src + c, d - c), inv), d - c);
  }
}

/* ---------------------------------------------------------------- run */

/* Heads inner (an item's chunk of query blocks for every head in turn)
 * for short keys and values under many queries, Linformer's case: each row
 * of Q and O (heads·d floats, a page or so) is then read or written whole
 * by one item, its lines and page in cache for all heads, where heads outer
 * comes back to every row once per head, long after; while all heads' K
 * and V, short, stay in cache for the next item. Against heads outer,
 * paired on a Zen 3 EPYC (AVX2, 12 heads, d = 64), 1 thread: n_q = 4096
 * and 8192, n_kv = 64 0.78x the time, 128 0.87x, 256 0.94-0.99x; n_q =
 * 1024, n_kv = 64 0.92x; 2 threads there 0.80-0.99x. Not below the ratio
 * (2 threads n_q = 512-1024, n_kv = 64-256: 1.03-1.05x; shorter chunks,
 * K and V copied for fewer query blocks) nor beyond the length (n_kv = 512:
 * 1.01-1.06x; 1024: 1.07x). */
#define HEADS_INNER_MAX_KV 256
#define HEADS_INNER_MIN_RATIO 16 /* n_q >= this many times n_kv */

/* What a call's work items share: (sequence, head) per item when decoding,
 * else (sequence, head, chunk of g query blocks), or with heads inner
 * (sequence, chunk). */
typedef struct attn_job {
  const gk_attn_args *a;
  const gk_variant *gemm; /* decoding: this ISA's GEMM; else NULL */
  size_t sf, g, nch, per_seq, nqb;
  size_t heads_per_item; /* 1, or every head (heads inner) */
} attn_job;

static void attn_item(void *ctx, size_t it, int tid) {
  const attn_job *j = ctx;
  const gk_attn_args *a = j->a;
  const gk_attn_shape *s = &a->s;
  float *ws = a->scratch + (size_t)tid * j->sf;
  const size_t b = it / j->per_seq, h = it % j->per_seq / j->nch, c = it % j->nch;
  const size_t n_eff = a->kv_valid ? a->kv_valid[b] : s->n_kv;
  const float *q = a->Q + b * s->q_batch_stride + h * s->q_head_stride;
  const float *k = a->K + b * s->k_batch_stride + h * s->k_head_stride;
  const float *v = a->V + b * s->v_batch_stride + h * s->v_head_stride;
  float *o = a->O + b * s->o_batch_stride + h * s->o_head_stride;
  if (j->gemm) {
    decode_head(a, j->gemm, ws, q, k, v, o, n_eff);
    return;
  }
  const size_t qb0 = c * j->g, nblk = j->nqb - qb0 < j->g ? j->nqb - qb0 : j->g;
  for (size_t x = 0; x < j->heads_per_item; x++)
    chunk(a, ws, q + x * s->q_head_stride, k + x * s->k_head_stride, v + x * s->v_head_stride,
          o + x * s->o_head_stride, qb0, nblk, n_eff);
}

static void run(const gk_attn_args *a) {
  const gk_attn_shape *s = &a->s;
  const size_t nqb = (s->n_q + BR - 1) / BR, blocks = s->batch * s->heads * nqb;
  attn_job j = {.a = a, .sf = scratch_floats(s->head_dim), .nqb = nqb};
  const int heads_inner = s->n_q > DEC_MAX_Q && s->n_kv <= HEADS_INNER_MAX_KV &&
                          s->n_q / HEADS_INNER_MIN_RATIO >= s->n_kv;
  j.heads_per_item = heads_inner ? s->heads : 1;
  if (s->n_q <= DEC_MAX_Q) {
    j.gemm = gk_gemm_for_isa(GK_TARGET_ISA);
    j.g = j.nch = 1;
  } else {
    /* Chunks as long as the scratch allows, but short enough that every
     * thread gets a few of them (dynamic scheduling evens out the rest). */
    const size_t want = (size_t)(a->threads > 0 ? a->threads : 1) * 4;
    size_t g = (blocks / j.heads_per_item + want - 1) / want;
    if (g > chunk_max(s->head_dim)) g = chunk_max(s->head_dim);
    if (g > nqb) g = nqb;
    if (g < 1) g = 1;
    j.g = g, j.nch = (nqb + g - 1) / g;
  }
  j.per_seq = s->heads / j.heads_per_item * j.nch;
  gk_parallel_for(a->threads, s->batch * j.per_seq, attn_item, &j);
}

static const gk_attn_impl impl = {run, scratch_floats};
static const gk_variant variant = {
    GK_OP_ATTENTION, "f32_attention_flash_" TILE_NAME GK_ISA_SUFFIX, GK_TARGET_ISA,
    GK_TARGET_REQUIRES, (int)GK_TARGET_ISA, &impl};

void GK_FN(gk_register_attention_flash)(gk_registry *r) { gk_registry_add(r, &variant); }

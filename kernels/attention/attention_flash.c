/* Flash-attention core, ISA-templated (one source, every vector width).
 *
 * Per (sequence, head, block of BR queries) a thread keeps, in its scratch:
 *   qt  the query block transposed and pre-scaled, d x BR: queries run along
 *       the vector lanes, so a row of scores for one key is QV vectors;
 *   st  the scores of one key block, BC x BR (same layout), then their exps;
 *   ob  the unnormalised output rows, BR x dp (dp = d rounded up to lanes);
 *   vb  the V rows of the key block, copied contiguous (BC x dp);
 * and in registers the running max m and sum l per query (QV vectors).
 *
 * Why queries along lanes: the score micro-kernel broadcasts K[j][p]
 * straight from K's rows (no packing of K or V at all, any d, any stride),
 * the softmax's max and sum over keys are vertical vector ops (no
 * horizontal reductions), and the P·V micro-kernel broadcasts P[r][j] from
 * st while V's rows are loaded as vectors. Only the query block is
 * transposed, once, and reused against all n_kv keys.
 *
 * Online softmax per key block: m' = max(m, max_j s_j), alpha = e^(m-m'),
 * l' = alpha·l + Σ_j e^(s_j-m'), O' = alpha·O + Σ_j e^(s_j-m')·v_j. m' is
 * clamped to >= -FLT_MAX so that a row whose keys are all masked so far
 * gives e^(-inf) = 0 everywhere instead of NaN; at the end l = 0 means the
 * row saw no key and is written as zeros. */
#include <float.h>
#include <math.h>

#include "../simd.h"
#include "attention.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Register tiles. QV x NJ score accumulators and PV_MR x PV_NV output
 * accumulators, sized to the register file: 32 vector registers on
 * AVX-512 and NEON, 16 on AVX2. */
#if defined(GK_TARGET_AVX512) || defined(GK_TARGET_NEON)
#define QV 4    /* query vectors per block */
#define NJ 6    /* keys per score micro-tile: 24 accumulators */
#define PV_MR 4 /* query rows per P·V micro-tile */
#define PV_NV 4 /* head_dim vectors per P·V micro-tile: 16 accumulators */
#if defined(GK_TARGET_AVX512)
#define TILE_NAME "64x6" /* queries per block x keys per score tile */
#else
#define TILE_NAME "16x6"
#endif
#elif defined(GK_TARGET_AVX2)
#define QV 2
#define NJ 6
#define PV_MR 4
#define PV_NV 2
#define TILE_NAME "16x6"
#else
#define QV 4
#define NJ 4
#define PV_MR 4
#define PV_NV 1
#define TILE_NAME "4x4"
#endif
#define LANES GK_VF_LANES
#define BR (QV * LANES) /* queries per block */
#define BC 64           /* keys per block */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }
static size_t padded_dim(size_t d) { return (d + LANES - 1) / LANES * LANES; }

static size_t scratch_floats(size_t d) {
  return round16(d * BR) + round16(BR * padded_dim(d)) + round16(BC * BR) +
         round16(BC * padded_dim(d)) + round16(BR);
}

/* st[j][0..BR) = qt·K[j] for nj keys (a compile-time count once inlined). */
GK_SIMD_INLINE void score_tile(const int nj, const float *qt, size_t d, const float *k,
                               size_t ldk, float *st) {
  gk_vf acc[NJ][QV];
  const float *kr[NJ];
  for (int j = 0; j < nj; j++) {
    kr[j] = k + (size_t)j * ldk;
    for (int v = 0; v < QV; v++) acc[j][v] = vf_zero();
  }
  for (size_t p = 0; p < d; p++) {
    gk_vf q[QV];
    for (int v = 0; v < QV; v++) q[v] = vf_load(qt + p * BR + v * LANES);
    for (int j = 0; j < nj; j++) {
      gk_vf kb = vf_set1(kr[j][p]);
      for (int v = 0; v < QV; v++) acc[j][v] = vf_fma(q[v], kb, acc[j][v]);
    }
  }
  for (int j = 0; j < nj; j++)
    for (int v = 0; v < QV; v++) vf_store(st + (size_t)j * BR + v * LANES, acc[j][v]);
}

static void scores(const float *qt, size_t d, const float *k, size_t ldk, size_t nb, float *st) {
  size_t j = 0;
  for (; j + NJ <= nb; j += NJ) score_tile(NJ, qt, d, k + j * ldk, ldk, st + j * BR);
  /* tail keys: constant tile sizes keep the accumulators in registers */
  for (; j + 4 <= nb; j += 4) score_tile(4, qt, d, k + j * ldk, ldk, st + j * BR);
  switch (nb - j) {
    case 3: score_tile(3, qt, d, k + j * ldk, ldk, st + j * BR); break;
    case 2: score_tile(2, qt, d, k + j * ldk, ldk, st + j * BR); break;
    case 1: score_tile(1, qt, d, k + j * ldk, ldk, st + j * BR); break;
    default: break;
  }
}

static void softmax_step(float *st, size_t nb, gk_vf *m, gk_vf *l, float *alpha) {
  for (int v = 0; v < QV; v++) {
    gk_vf bm = vf_set1(-INFINITY);
    for (size_t j = 0; j < nb; j++) bm = vf_max(bm, vf_load(st + j * BR + v * LANES));
    gk_vf mn = vf_max(vf_max(m[v], bm), vf_set1(-FLT_MAX));
    gk_vf sum = vf_zero();
    for (size_t j = 0; j < nb; j++) {
      float *s = st + j * BR + v * LANES;
      gk_vf p = vf_exp(vf_sub(vf_load(s), mn));
      vf_store(s, p);
      sum = vf_add(sum, p);
    }
    gk_vf a = vf_exp(vf_sub(m[v], mn));
    l[v] = vf_fma(l[v], a, sum);
    m[v] = mn;
    vf_store(alpha + v * LANES, a);
  }
}

/* ob[r][c..] = alpha[r]·ob[r][c..] + Σ_j st[j][r]·V[j][c..] for mr rows and
 * nv column vectors; `rem` > 0: one vector of which only rem lanes exist. */
GK_SIMD_INLINE void pv_tile(const int mr, const int nv, size_t rem, const float *st,
                            size_t nb, const float *v, size_t ldv, float *ob, size_t dp,
                            const float *alpha) {
  gk_vf acc[PV_MR][PV_NV];
  for (int r = 0; r < mr; r++) {
    gk_vf a = vf_set1(alpha[r]);
    for (int c = 0; c < nv; c++) acc[r][c] = vf_mul(vf_load(ob + r * dp + c * LANES), a);
  }
  for (size_t j = 0; j < nb; j++) {
    gk_vf vv[PV_NV];
    const float *vr = v + j * ldv;
    for (int c = 0; c < nv; c++) vv[c] = rem ? vf_loadu_n(vr, rem) : vf_loadu(vr + c * LANES);
    for (int r = 0; r < mr; r++) {
      gk_vf pb = vf_set1(st[j * BR + r]);
      for (int c = 0; c < nv; c++) acc[r][c] = vf_fma(pb, vv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int c = 0; c < nv; c++) vf_store(ob + r * dp + c * LANES, acc[r][c]);
}

static void pv_rows(const float *st, size_t nb, const float *v, size_t ldv, float *ob,
                    size_t d, const float *alpha) {
  const size_t dp = padded_dim(d), full = d / LANES, rem = d % LANES;
  size_t c = 0;
  for (; c + PV_NV <= full; c += PV_NV)
    pv_tile(PV_MR, PV_NV, 0, st, nb, v + c * LANES, ldv, ob + c * LANES, dp, alpha);
  switch (full - c) {
#if PV_NV > 2
    case 3: pv_tile(PV_MR, 3, 0, st, nb, v + c * LANES, ldv, ob + c * LANES, dp, alpha); break;
#endif
#if PV_NV > 1
    case 2: pv_tile(PV_MR, 2, 0, st, nb, v + c * LANES, ldv, ob + c * LANES, dp, alpha); break;
    case 1: pv_tile(PV_MR, 1, 0, st, nb, v + c * LANES, ldv, ob + c * LANES, dp, alpha); break;
#endif
    default: break;
  }
  if (rem) pv_tile(PV_MR, 1, rem, st, nb, v + full * LANES, ldv, ob + full * LANES, dp, alpha);
}

/* One block of queries [i0, i0 + rows) of one head. */
static void query_block(const gk_attn_args *a, float *ws, const float *q, const float *k,
                        const float *v, float *o, size_t i0, size_t rows, size_t n_eff) {
  const size_t d = a->s.head_dim, dp = padded_dim(d);
  float *qt = ws, *ob = qt + round16(d * BR), *st = ob + round16(BR * dp);
  float *vb = st + round16(BC * BR), *alpha = vb + round16(BC * dp);

  /* Keys seen: all of [0, jfull) by every row; up to kend by the last. */
  size_t kend = n_eff, jfull = n_eff;
  const ptrdiff_t off = (ptrdiff_t)a->s.n_kv - (ptrdiff_t)a->s.n_q;
  if (a->causal) {
    ptrdiff_t last = (ptrdiff_t)(i0 + rows) + off, first = (ptrdiff_t)i0 + off + 1;
    kend = last <= 0 ? 0 : ((size_t)last < n_eff ? (size_t)last : n_eff);
    jfull = first <= 0 ? 0 : ((size_t)first < n_eff ? (size_t)first : n_eff);
  }
  if (kend == 0) { /* no row sees a key */
    for (size_t r = 0; r < rows; r++) memset(o + (i0 + r) * a->ldo, 0, d * sizeof(float));
    return;
  }

  const float scale = a->s.scale;
  for (size_t r = 0; r < BR; r++) {
    if (r < rows) {
      const float *qr = q + (i0 + r) * a->ldq;
      for (size_t p = 0; p < d; p++) qt[p * BR + r] = scale * qr[p];
    } else {
      for (size_t p = 0; p < d; p++) qt[p * BR + r] = 0.0f;
    }
  }
  const size_t prow = (rows + PV_MR - 1) / PV_MR * PV_MR; /* P·V rows computed */
  memset(ob, 0, prow * dp * sizeof(float));
  gk_vf m[QV], l[QV];
  for (int x = 0; x < QV; x++) m[x] = vf_set1(-INFINITY), l[x] = vf_zero();

  for (size_t j0 = 0; j0 < kend; j0 += BC) {
    const size_t nb = kend - j0 < BC ? kend - j0 : BC;
    scores(qt, d, k + j0 * a->ldk, a->ldk, nb, st);
    if (j0 + nb > jfull) /* diagonal block: row r sees key j iff j <= i0 + r + off */
      for (size_t j = 0; j < nb; j++) {
        ptrdiff_t rmin = (ptrdiff_t)(j0 + j) - off - (ptrdiff_t)i0; /* first row seeing j */
        size_t hide = rmin <= 0 ? 0 : ((size_t)rmin < BR ? (size_t)rmin : BR);
        for (size_t r = 0; r < hide; r++) st[j * BR + r] = -INFINITY;
      }
    softmax_step(st, nb, m, l, alpha);
    /* The P·V tiles read the V block BR / PV_MR times: from a contiguous
     * copy, since rows of a [tokens, heads*d] tensor lie a page or so
     * apart and a block of them would overflow the L1 TLB on every pass. */
    for (size_t j = 0; j < nb; j++) memcpy(vb + j * dp, v + (j0 + j) * a->ldv, d * sizeof(float));
    for (size_t r = 0; r < prow; r += PV_MR)
      pv_rows(st + r, nb, vb, dp, ob + r * dp, d, alpha + r);
  }

  float lsum[BR];
  for (int x = 0; x < QV; x++) vf_storeu(lsum + x * LANES, l[x]);
  const size_t full = d / LANES * LANES;
  for (size_t r = 0; r < rows; r++) {
    const gk_vf inv = vf_set1(lsum[r] > 0.0f ? 1.0f / lsum[r] : 0.0f);
    const float *src = ob + r * dp;
    float *dst = o + (i0 + r) * a->ldo;
    size_t c = 0;
    for (; c < full; c += LANES) vf_storeu(dst + c, vf_mul(vf_load(src + c), inv));
    if (c < d) vf_storeu_n(dst + c, vf_mul(vf_load(src + c), inv), d - c);
  }
}

static void run(const gk_attn_args *a) {
  const gk_attn_shape *s = &a->s;
  const size_t nqb = (s->n_q + BR - 1) / BR, per_seq = s->heads * nqb;
  const size_t items = s->batch * per_seq, sf = scratch_floats(s->head_dim);
  const int nt = a->threads;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
#ifdef _OPENMP
    float *ws = a->scratch + (size_t)omp_get_thread_num() * sf;
#else
    float *ws = a->scratch;
#endif
#pragma omp for schedule(dynamic, 1)
    for (size_t it = 0; it < items; it++) {
      const size_t b = it / per_seq, h = it % per_seq / nqb, qb = it % nqb;
      const size_t i0 = qb * BR, rows = s->n_q - i0 < BR ? s->n_q - i0 : BR;
      size_t n_eff = a->kv_valid ? a->kv_valid[b] : s->n_kv;
      query_block(a, ws, a->Q + b * s->q_batch_stride + h * s->q_head_stride,
                  a->K + b * s->k_batch_stride + h * s->k_head_stride,
                  a->V + b * s->v_batch_stride + h * s->v_head_stride,
                  a->O + b * s->o_batch_stride + h * s->o_head_stride, i0, rows, n_eff);
    }
  }
}

static const gk_attn_impl impl = {run, scratch_floats};
static const gk_variant variant = {
    GK_OP_ATTENTION, "f32_attention_flash_" TILE_NAME GK_ISA_SUFFIX, GK_TARGET_ISA,
    GK_TARGET_REQUIRES, (int)GK_TARGET_ISA, &impl};

void GK_FN(gk_register_attention_flash)(gk_registry *r) { gk_registry_add(r, &variant); }

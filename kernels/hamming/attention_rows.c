/* Hamming attention inner loops (ISA-templated): the quadratic form's
 * weighted sum of V over a D_H tile, and the linear form's per-head kernel.
 * Also the family's registration entry (gk_register_hamming__<isa>). */
#include "../simd.h"
#include "../gemm/gemm.h"
#include "hamming.h"

#define L GK_VF_LANES
#define PAD16(n) (((n) + 15) & ~(size_t)15)

/* ------------------------------------------------ quadratic: weighted sum */
/* acc[c0..d) += sum_j lut[D[j]] v_j[c0..d) for one row: the row tail of
 * the register-blocked path below, its column tail, and decoding-sized
 * calls. The weights, then a GEMV on this ISA's GEMM (M = 1: two chains of
 * keys, up to four vectors of the head dimension at a time). This path had
 * one accumulator per vector, each a chain of nk dependent FMAs: one query
 * against 256 keys (b = 64, d = 64, AVX-512) spent 1.9 of its 3.4 us here. */
static void wsum_row(const gk_gemm_impl *g, const uint16_t *D, size_t nk, const float *lut,
                     const float *v, size_t ldv, size_t d, size_t c0, float *acc) {
  enum { COLS = 64 }; /* columns per GEMV, into y */
  float w[GK_HQ_KB], y[COLS];
  for (size_t j = 0; j < nk; j++) w[j] = lut[D[j]];
  for (size_t c = c0; c < d; c += COLS) {
    const size_t n = d - c < COLS ? d - c : COLS;
    /* M = 1: the GEMV path, which needs no scratch and cannot fail */
    const gk_gemm_args gv = {1, n, nk, w, nk, v + c, ldv, GK_WEIGHT_KN, NULL, GK_ACT_NONE,
                             y, n, 1};
    g->run(&gv);
    for (size_t i = 0; i < n; i++) acc[c + i] += y[i];
  }
}

/* acc[i][:] += sum_j lut[D[i][j]] v_j. Four query rows by four vectors of
 * the head dimension in registers; each v_j load serves four rows. Row and
 * column tails take the one-row path above. */
void GK_FN(gk_hq_wsum)(const uint16_t *D, size_t nq, size_t nk, const float *lut,
                       const float *v, size_t ldv, size_t d, float *acc) {
  const gk_gemm_impl *g = NULL; /* the tails' GEMV, looked up when there are tails */
  size_t r0 = 0;
  for (; r0 + 4 <= nq; r0 += 4) {
    const uint16_t *D0 = D + r0 * GK_HQ_KB, *D1 = D0 + GK_HQ_KB, *D2 = D1 + GK_HQ_KB, *D3 = D2 + GK_HQ_KB;
    float *A0 = acc + r0 * d, *A1 = A0 + d, *A2 = A1 + d, *A3 = A2 + d;
    size_t c = 0;
    for (; c + 4 * L <= d; c += 4 * L) {
      gk_vf a00 = vf_loadu(A0 + c), a01 = vf_loadu(A0 + c + L), a02 = vf_loadu(A0 + c + 2 * L), a03 = vf_loadu(A0 + c + 3 * L);
      gk_vf a10 = vf_loadu(A1 + c), a11 = vf_loadu(A1 + c + L), a12 = vf_loadu(A1 + c + 2 * L), a13 = vf_loadu(A1 + c + 3 * L);
      gk_vf a20 = vf_loadu(A2 + c), a21 = vf_loadu(A2 + c + L), a22 = vf_loadu(A2 + c + 2 * L), a23 = vf_loadu(A2 + c + 3 * L);
      gk_vf a30 = vf_loadu(A3 + c), a31 = vf_loadu(A3 + c + L), a32 = vf_loadu(A3 + c + 2 * L), a33 = vf_loadu(A3 + c + 3 * L);
      for (size_t j = 0; j < nk; j++) {
        const float *vj = v + j * ldv + c;
        gk_vf v0 = vf_loadu(vj), v1 = vf_loadu(vj + L), v2 = vf_loadu(vj + 2 * L), v3 = vf_loadu(vj + 3 * L);
        gk_vf w = vf_set1(lut[D0[j]]);
        a00 = vf_fma(w, v0, a00), a01 = vf_fma(w, v1, a01), a02 = vf_fma(w, v2, a02), a03 = vf_fma(w, v3, a03);
        w = vf_set1(lut[D1[j]]);
        a10 = vf_fma(w, v0, a10), a11 = vf_fma(w, v1, a11), a12 = vf_fma(w, v2, a12), a13 = vf_fma(w, v3, a13);
        w = vf_set1(lut[D2[j]]);
        a20 = vf_fma(w, v0, a20), a21 = vf_fma(w, v1, a21), a22 = vf_fma(w, v2, a22), a23 = vf_fma(w, v3, a23);
        w = vf_set1(lut[D3[j]]);
        a30 = vf_fma(w, v0, a30), a31 = vf_fma(w, v1, a31), a32 = vf_fma(w, v2, a32), a33 = vf_fma(w, v3, a33);
      }
      vf_storeu(A0 + c, a00), vf_storeu(A0 + c + L, a01), vf_storeu(A0 + c + 2 * L, a02), vf_storeu(A0 + c + 3 * L, a03);
      vf_storeu(A1 + c, a10), vf_storeu(A1 + c + L, a11), vf_storeu(A1 + c + 2 * L, a12), vf_storeu(A1 + c + 3 * L, a13);
      vf_storeu(A2 + c, a20), vf_storeu(A2 + c + L, a21), vf_storeu(A2 + c + 2 * L, a22), vf_storeu(A2 + c + 3 * L, a23);
      vf_storeu(A3 + c, a30), vf_storeu(A3 + c + L, a31), vf_storeu(A3 + c + 2 * L, a32), vf_storeu(A3 + c + 3 * L, a33);
    }
    if (c < d) {
      if (!g) g = gk_gemm_for_isa(GK_TARGET_ISA)->impl;
      for (size_t r = r0; r < r0 + 4; r++)
        wsum_row(g, D + r * GK_HQ_KB, nk, lut, v, ldv, d, c, acc + r * d);
    }
  }
  if (r0 < nq && !g) g = gk_gemm_for_isa(GK_TARGET_ISA)->impl;
  for (size_t r = r0; r < nq; r++) wsum_row(g, D + r * GK_HQ_KB, nk, lut, v, ldv, d, 0, acc + r * d);
}

/* ------------------------------------------------------ linear form */
/* EcoFormer's energy argument: with h = ±1 codes, G = sum_j h_j v_jᵀ is
 * built by adding v_j to row l of G where key bit l is set and adding -v_j
 * where it is clear. A query needs sum_l h_il G_l = 2 sum_{l: bit set} G_l
 * - T, T = sum_l G_l: it adds only the rows its set bits select (half of
 * them on average), where adding row l of G or of -G by every bit read twice
 * the rows and kept -G as a second b x d state (the two no longer fit L1 at
 * b = 64). The loops over keys x bits x head dimension and queries x bits x
 * head dimension hold additions only; T grows by (sum_l h_jl)·v_j per key,
 * and the kernel's constants scale each output row once, at the end. */

/* dst[0..dp) += src[0..dp); dp is a multiple of 16 >= L. */
GK_SIMD_INLINE void add_row(float *dst, const float *src, size_t dp) {
  for (size_t c = 0; c < dp; c += L) vf_storeu(dst + c, vf_add(vf_loadu(dst + c), vf_loadu(src + c)));
}

typedef struct lin_state {
  size_t b, dp;
  float *G;             /* sum_j h_j v_jᵀ, b x dp */
  float *T;             /* sum_l G_l */
  float *vpos, *vneg;   /* a block of GK_HLIN_KEYS values and negations */
  float *S;             /* add_block's signed sums, 2 x 16 x dp */
  float *Sv, *acc;
  int32_t *ones;        /* keys with bit l set */
  const float **rows;   /* the rows of G a query's set bits select */
  size_t added;         /* keys in the state */
  size_t end;           /* keys the head adds in all */
} lin_state;

/* G_l += sum_t (bit l of key t ? v_t : -v_t) for jn keys, key t's code at
 * kc + t·ldk and its ±v in vpos / vneg: each state vector is loaded once,
 * receives the block's jn terms and is stored once. */
GK_SIMD_INLINE void add_each(lin_state *s, const uint64_t *kc, size_t ldk, size_t jn) {
  const size_t dp = s->dp;
  for (size_t l = 0; l < s->b; l++) {
    const float *src[GK_HLIN_KEYS];
    for (size_t t = 0; t < jn; t++) {
      int bit = (int)(kc[t * ldk + (l >> 6)] >> (l & 63) & 1);
      src[t] = bit ? s->vpos + t * dp : s->vneg + t * dp;
      s->ones[l] += bit;
    }
    float *g = s->G + l * dp;
    for (size_t c = 0; c < dp; c += L) {
      gk_vf a = vf_loadu(g + c);
      for (size_t t = 0; t < jn; t++) a = vf_add(a, vf_loadu(src[t] + c));
      vf_storeu(g + c, a);
    }
  }
}

/* The same for a whole block of 8 keys, by the method of the four
 * Russians: for each half of the block the 16 signed sums of its 4 values,
 * S[p] = sum_t (bit t of p ? v_t : -v_t), are built first (each as
 * (±v_0 ± v_1) + (±v_2 ± v_3), 24 additions per vector for the 16), then
 * row l of G receives the two that the keys' bits l select: 2 additions
 * per vector and bit instead of 8. */
#if GK_HLIN_KEYS != 8
#error "add_block splits a block of 8 keys into two halves of 4"
#endif
static void add_block(lin_state *s, const uint64_t *kc, size_t ldk) {
  static const uint8_t pop4[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
  const size_t dp = s->dp;
  for (size_t half = 0; half < 2; half++) {
    const float *vp = s->vpos + 4 * half * dp, *vn = s->vneg + 4 * half * dp;
    float *S = s->S + 16 * half * dp;
    for (size_t c = 0; c < dp; c += L) {
      gk_vf lo[4], hi[4]; /* ±v_0 ± v_1 and ±v_2 ± v_3, by their two bits */
      for (int q = 0; q < 4; q++) {
        lo[q] = vf_add(vf_loadu((q & 1 ? vp : vn) + c), vf_loadu((q & 2 ? vp : vn) + dp + c));
        hi[q] = vf_add(vf_loadu((q & 1 ? vp : vn) + 2 * dp + c),
                       vf_loadu((q & 2 ? vp : vn) + 3 * dp + c));
      }
      for (int p = 0; p < 16; p++) vf_storeu(S + p * dp + c, vf_add(lo[p & 3], hi[p >> 2]));
    }
  }
  for (size_t w = 0; w < GK_CODE_WORDS(s->b); w++) {
    uint64_t word[8];
    for (int t = 0; t < 8; t++) word[t] = kc[t * ldk + w];
    const size_t l1 = s->b - 64 * w < 64 ? s->b : 64 * w + 64;
    for (size_t l = 64 * w; l < l1; l++) {
      const unsigned sh = (unsigned)(l & 63);
      unsigned pa = 0, pb = 0;
      for (int t = 0; t < 4; t++) {
        pa |= (unsigned)(word[t] >> sh & 1) << t;
        pb |= (unsigned)(word[4 + t] >> sh & 1) << t;
      }
      s->ones[l] += pop4[pa] + pop4[pb];
      const float *sa = s->S + pa * dp, *sb = s->S + (16 + pb) * dp;
      float *g = s->G + l * dp;
      for (size_t c = 0; c < dp; c += L)
        vf_storeu(g + c, vf_add(vf_loadu(g + c), vf_add(vf_loadu(sa + c), vf_loadu(sb + c))));
    }
  }
}

/* Adds keys j0 .. j0+jn-1 (jn <= GK_HLIN_KEYS): each state vector is loaded
 * once, receives +v_j or -v_j from every key of the block by that key's bit,
 * and is stored once. grow_T: T too (causal: queries read the state between
 * keys; otherwise T is summed from G once, at the end). */
static void add_keys(lin_state *s, const uint64_t *kc, size_t ldk, const float *v, size_t ldv,
                     size_t j0, size_t jn, size_t d, int grow_T) {
  size_t dp = s->dp;
  for (size_t t = 0; t < jn; t++) {
    float *vp = s->vpos + t * dp, *vn = s->vneg + t * dp;
    const uint64_t *code = kc + (j0 + t) * ldk;
    if (j0 + t + GK_PF_ROWS < s->end) { /* a later key's value and code */
      gk_prefetch_slice(v + (j0 + t + GK_PF_ROWS) * ldv, d * sizeof(float), 0);
      gk_prefetch_slice(code + GK_PF_ROWS * ldk, GK_CODE_WORDS(s->b) * sizeof(uint64_t), 0);
    }
    memcpy(vp, v + (j0 + t) * ldv, d * sizeof(float));
    for (size_t c = 0; c < dp; c += L) vf_storeu(vn + c, vf_sub(vf_zero(), vf_loadu(vp + c)));
    add_row(s->Sv, vp, dp);
    if (!grow_T) continue;
    long long set = 0; /* sum_l h_jl = 2·popcount - b */
    for (size_t w = 0; w < GK_CODE_WORDS(s->b); w++) set += __builtin_popcountll(code[w]);
    const gk_vf hsum = vf_set1((float)(2 * set - (long long)s->b));
    for (size_t c = 0; c < dp; c += L)
      vf_storeu(s->T + c, vf_fma(hsum, vf_loadu(vp + c), vf_loadu(s->T + c)));
  }
  if (jn == GK_HLIN_KEYS) {
    add_block(s, kc + j0 * ldk, ldk);
  } else {
    add_each(s, kc + j0 * ldk, ldk, jn);
  }
  s->added += jn;
}

/* o = (c1 sum_l h_il G_l + c0 sum_j v_j + gamma v_i) / (c1 h_i.sum_j h_j + c0' n_keys) */
static void answer(const lin_state *s, const gk_hattn_args *a, const gk_hkernel_pm *k,
                   const uint64_t *code, const float *vi, float *o) {
  size_t b = s->b, dp = s->dp, d = a->p.head_dim, nsel = 0;
  long long cnt = (long long)s->added, hs = 0;
  for (size_t l = 0; l < b; l++) {
    int bit = (int)(code[l >> 6] >> (l & 63) & 1);
    long long sh = 2 * (long long)s->ones[l] - cnt; /* sum_j h_jl */
    s->rows[nsel] = s->G + l * dp, nsel += (size_t)bit; /* no branch on a random bit */
    hs += bit ? sh : -sh;
  }
  size_t c = 0;
  for (; c + 4 * L <= dp; c += 4 * L) {
    /* two chains per vector (even and odd rows) hide the add latency */
    gk_vf a0 = vf_zero(), a1 = vf_zero(), a2 = vf_zero(), a3 = vf_zero();
    gk_vf e0 = vf_zero(), e1 = vf_zero(), e2 = vf_zero(), e3 = vf_zero();
    size_t l = 0;
    for (; l + 2 <= nsel; l += 2) {
      const float *r = s->rows[l] + c, *q = s->rows[l + 1] + c;
      a0 = vf_add(a0, vf_loadu(r)), a1 = vf_add(a1, vf_loadu(r + L));
      a2 = vf_add(a2, vf_loadu(r + 2 * L)), a3 = vf_add(a3, vf_loadu(r + 3 * L));
      e0 = vf_add(e0, vf_loadu(q)), e1 = vf_add(e1, vf_loadu(q + L));
      e2 = vf_add(e2, vf_loadu(q + 2 * L)), e3 = vf_add(e3, vf_loadu(q + 3 * L));
    }
    if (l < nsel) {
      const float *r = s->rows[l] + c;
      a0 = vf_add(a0, vf_loadu(r)), a1 = vf_add(a1, vf_loadu(r + L));
      a2 = vf_add(a2, vf_loadu(r + 2 * L)), a3 = vf_add(a3, vf_loadu(r + 3 * L));
    }
    vf_storeu(s->acc + c, vf_add(a0, e0)), vf_storeu(s->acc + c + L, vf_add(a1, e1));
    vf_storeu(s->acc + c + 2 * L, vf_add(a2, e2)), vf_storeu(s->acc + c + 3 * L, vf_add(a3, e3));
  }
  for (; c < dp; c += L) {
    gk_vf a0 = vf_zero();
    for (size_t l = 0; l < nsel; l++) a0 = vf_add(a0, vf_loadu(s->rows[l] + c));
    vf_storeu(s->acc + c, a0);
  }
  double den = k->c1 * (double)hs + k->c0_den * (double)cnt;
  if (den == 0) {
    memset(o, 0, d * sizeof(float));
    return;
  }
  const float g = a->p.kernel.gamma;
  const gk_vf inv = vf_set1((float)(1.0 / den)), c1 = vf_set1((float)k->c1),
              c0 = vf_set1((float)k->c0_num), gv = vf_set1(g);
  /* acc, T, Sv are padded to dp; vi and o are not: the tail goes through
   * the masked forms, which are slow on some CPUs (vmaskmovps on Zen 3) */
  for (size_t j = 0; j < d; j += L) {
    const int whole = j + L <= d;
    gk_vf x = vf_mul(c1, vf_sub(vf_add(vf_loadu(s->acc + j), vf_loadu(s->acc + j)), vf_loadu(s->T + j)));
    x = vf_add(x, vf_mul(c0, vf_loadu(s->Sv + j)));
    if (g != 0) x = vf_add(x, vf_mul(gv, whole ? vf_loadu(vi + j) : vf_loadu_n(vi + j, d - j)));
    if (whole) vf_storeu(o + j, vf_mul(x, inv));
    else vf_storeu_n(o + j, vf_mul(x, inv), d - j);
  }
}

static void lin_head(const gk_hattn_args *a, size_t h, float *work) {
  size_t b = a->p.b, d = a->p.head_dim, dp = PAD16(d);
  lin_state s = {.b = b, .dp = dp, .G = work, .T = work + b * dp, .end = a->kv_valid};
  s.vpos = s.T + dp, s.vneg = s.vpos + GK_HLIN_KEYS * dp, s.Sv = s.vneg + GK_HLIN_KEYS * dp;
  s.acc = s.Sv + dp;
  s.ones = (int32_t *)(s.acc + dp);
  s.rows = (const float **)(s.ones + PAD16(b));
  s.S = (float *)(s.rows + PAD16(b)); /* last: the causal form never touches it */
  memset(work, 0, ((char *)s.rows - (char *)work));
  gk_hkernel_pm k = gk_hamming_pm(a);
  const uint64_t *kc = a->kc + h * a->khs, *qc = a->qc + h * a->qhs;
  const float *vh = a->v + h * a->vhs;
  if (!a->p.causal) {
    for (size_t j = 0; j < a->kv_valid; j += GK_HLIN_KEYS) {
      size_t jn = a->kv_valid - j < GK_HLIN_KEYS ? a->kv_valid - j : GK_HLIN_KEYS;
      add_keys(&s, kc, a->ldk, vh, a->ldv, j, jn, d, 0);
    }
    for (size_t l = 0; l < b; l++) add_row(s.T, s.G + l * dp, dp);
  }
  for (size_t i = 0; i < a->n_q; i++) {
    /* causal: the running prefix state grows to the keys query i sees */
    if (a->p.causal) {
      size_t end = gk_hattn_key_end(a, i);
      while (s.added < end) {
        size_t jn = end - s.added < GK_HLIN_KEYS ? end - s.added : GK_HLIN_KEYS;
        add_keys(&s, kc, a->ldk, vh, a->ldv, s.added, jn, d, 1);
      }
    }
    if (i + GK_PF_ROWS < a->n_q) { /* a later query's code and output row */
      gk_prefetch_slice(qc + (i + GK_PF_ROWS) * a->ldq, GK_CODE_WORDS(b) * sizeof(uint64_t), 0);
      gk_prefetch_slice(a->o + (i + GK_PF_ROWS) * a->ldo + h * a->ohs, d * sizeof(float), 1);
    }
    answer(&s, a, &k, qc + i * a->ldq, vh + i * a->ldv, a->o + i * a->ldo + h * a->ohs);
  }
}

static const gk_hlin_impl lin_impl = {lin_head};
static const gk_variant lin_variant = {GK_OP_HAMMING_LINEAR, "f32_hamming_linear" GK_ISA_SUFFIX,
                                       GK_TARGET_ISA, GK_TARGET_REQUIRES, (int)GK_TARGET_ISA,
                                       &lin_impl};

void GK_FN(gk_register_hamming_hash)(gk_registry *r);
void GK_FN(gk_register_hamming_popcount)(gk_registry *r);

void GK_FN(gk_register_hamming)(gk_registry *r) {
  GK_FN(gk_register_hamming_hash)(r);
  GK_FN(gk_register_hamming_popcount)(r);
  gk_registry_add(r, &lin_variant);
}

/* Linformer: sequence projection (public entry) and Linformer attention —
 * per sequence, K and V projected from n to k rows into the workspace, then
 * the flash-attention core over those k rows. The workspace holds the
 * projected K' and V' of one sequence (2·k·heads·d floats) and the
 * attention's per-thread scratch; nothing is allocated when the caller
 * provides it. */
#include <string.h>

#include "attention.h"

gk_status gk_lproj_check(const gk_lproj_args *a) {
  if (!a) return GK_ERR_INVALID_ARG;
  gk_status s;
  if ((s = gk_check_matrix(a->E, a->k, a->n, a->lde)) ||
      (s = gk_check_matrix(a->X, a->n, a->c, a->ldx)) ||
      (s = gk_check_matrix(a->Y, a->k, a->c, a->ldy)))
    return s;
  return GK_OK;
}

gk_status gk_linformer_project_run(const gk_variant *v, const gk_lproj_args *a) {
  if (!v || v->op != GK_OP_LINFORMER_PROJECT) return GK_ERR_INVALID_ARG;
  gk_status s = gk_lproj_check(a);
  if (s) return s;
  return ((const gk_lproj_impl *)v->impl)->run(a);
}

GK_API gk_status gk_linformer_project(size_t k, size_t n, size_t c, const float *E,
                                      size_t lde, size_t n_max, const float *X, size_t ldx,
                                      float *Y, size_t ldy) {
  if (n > n_max || lde < n_max) return GK_ERR_INVALID_ARG;
  gk_lproj_args a = {k, n, c, E, lde, X, ldx, Y, ldy, 0};
  return gk_linformer_project_run(gk_dispatch(GK_OP_LINFORMER_PROJECT), &a);
}

/* ------------------------------------------------------------ attention */

/* Projection matrices: k x n_max each, per-head ones `heads` times. */
static gk_status check_proj(const gk_linformer_proj *p, const gk_attn_shape *s,
                            size_t *e_stride, size_t *f_stride) {
  if (!p || p->k == 0 || p->n_max == 0 || (unsigned)p->sharing > GK_LINFORMER_KEY_VALUE)
    return GK_ERR_INVALID_ARG;
  if (s->n_kv > p->n_max) return GK_ERR_INVALID_ARG;
  const int kv = p->sharing == GK_LINFORMER_KEY_VALUE;
  struct { const float *m; size_t ld; size_t *stride; } mats[2] = {
      {p->E, p->lde, e_stride}, {kv ? p->E : p->F, kv ? p->lde : p->ldf, f_stride}};
  const size_t heads = s->heads ? s->heads : 1;
  for (int i = 0; i < 2; i++) {
    gk_status st = gk_check_matrix(mats[i].m, p->k, p->n_max, mats[i].ld);
    if (st) return st;
    *mats[i].stride = 0;
    if (p->sharing != GK_LINFORMER_PER_HEAD) continue;
    size_t hs = p->head_stride, ext;
    if (hs == 0 && !gk_mul_ok(p->k, mats[i].ld, &hs)) return GK_ERR_OVERFLOW;
    if (hs < (p->k - 1) * mats[i].ld + p->n_max) return GK_ERR_INVALID_ARG; /* overlap */
    /* the last head's matrix must be addressable */
    if (!gk_mul_ok(heads - 1, hs, &ext) || !gk_mul_ok(ext + p->k * mats[i].ld, sizeof(float), &ext))
      return GK_ERR_OVERFLOW;
    *mats[i].stride = hs;
  }
  return GK_OK;
}

/* Workspace layout (floats, each part 64-byte aligned): K' and V' of one
 * sequence, k x (heads·d) each, then `threads` attention scratches. */
typedef struct ws_layout {
  size_t kv_floats, scratch_floats; /* K'+V', one thread's scratch */
} ws_layout;

static gk_status layout_for(const gk_attn_shape *s, size_t k, ws_layout *w) {
  size_t hd, kv;
  if (!gk_mul_ok(s->heads, s->head_dim, &hd) || !gk_mul_ok(hd, k, &kv) ||
      !gk_mul_ok(kv, 2, &kv) || kv > SIZE_MAX / 8)
    return GK_ERR_OVERFLOW;
  w->kv_floats = (kv + 15) & ~(size_t)15;
  const gk_attn_impl *impl = gk_dispatch(GK_OP_ATTENTION)->impl;
  w->scratch_floats = impl->scratch_floats(s->head_dim);
  return GK_OK;
}

GK_API size_t gk_linformer_workspace_size(const gk_attn_shape *s, const gk_linformer_proj *p) {
  if (!s || !p || p->k == 0 || s->heads == 0 || s->head_dim == 0) return 0;
  ws_layout w;
  if (layout_for(s, p->k, &w)) return 0;
  size_t t = (size_t)gk_max_threads(), bytes;
  if (!gk_mul_ok(w.scratch_floats, t, &bytes) || bytes > SIZE_MAX / 8 - w.kv_floats) return 0;
  return (w.kv_floats + bytes) * sizeof(float) + GK_ALIGN; /* + alignment slack */
}

/* A sequence's projections: job i projects head i / 2 (all heads at once
 * when they share E and are packed) of K (i even) or V (i odd). */
typedef struct proj_set {
  gk_lproj_args kv[2]; /* head 0's K and V projections */
  size_t step[2][2];   /* per head: advance of E (F), of K (V) */
  size_t d;            /* advance of K' (V') */
} proj_set;

static gk_lproj_args proj_job(const proj_set *s, size_t i) {
  gk_lproj_args a = s->kv[i % 2];
  const size_t h = i / 2;
  a.E += h * s->step[i % 2][0], a.X += h * s->step[i % 2][1], a.Y += h * s->d;
  return a;
}

typedef struct proj_run {
  const gk_variant *proj;
  const proj_set *s;
  int whole;          /* each projection on one thread */
  gk_status failed;   /* the GEMM's scratch could not be had */
} proj_run;

static void project_one(void *ctx, size_t i, int tid) {
  proj_run *p = ctx;
  (void)tid;
  gk_lproj_args one = proj_job(p->s, i);
  if (p->whole) one.threads = 1;
  gk_status st = gk_linformer_project_run(p->proj, &one); /* shapes checked with the call's */
  if (st) {
#pragma omp atomic write
    p->failed = st;
  }
}

/* With at least as many projections as threads (and a whole number of them
 * per thread, or enough that the remainder hardly matters), each thread
 * runs whole projections on its own; otherwise each projection runs on all
 * threads in turn. A GEMM split across threads packs E once per thread and
 * meets at its end, and per-head projections (N = d = 64) split into
 * slivers: on 2 threads, 12 heads, k = 128, paired, per-head Linformer
 * attention ran 1.08x (n = 1024) and 1.16x (n = 4096) faster this way; the
 * shared-E form, two wide GEMMs, 1.00-1.05x (within the noise). */
static gk_status project(const gk_variant *proj, const proj_set *s, size_t jobs) {
  const gk_lproj_args *a = &s->kv[0];
  const int nt = gk_threads_for(GK_OP_LINFORMER_PROJECT,
                                2.0 * (double)a->k * (double)a->n * (double)a->c * (double)jobs);
  proj_run p = {proj, s, nt > 1 && (jobs % (size_t)nt == 0 || jobs >= 4 * (size_t)nt), GK_OK};
  gk_parallel_for(p.whole ? nt : 1, jobs, project_one, &p);
  return p.failed;
}

GK_API gk_status gk_linformer_attention(const gk_attn_shape *s, const gk_linformer_proj *p,
                                        const float *Q, size_t ldq, const float *K,
                                        size_t ldk, const float *V, size_t ldv, float *O,
                                        size_t ldo, const size_t *kv_valid,
                                        void *workspace, size_t workspace_bytes) {
  /* validate everything before touching anything */
  gk_attn_args full;
  gk_attn_mask mask = {0, kv_valid};
  gk_status st = gk_attn_prepare(s, Q, ldq, K, ldk, V, ldv, O, ldo, &mask, &full);
  if (st) return st;
  size_t e_stride, f_stride;
  if ((st = check_proj(p, &full.s, &e_stride, &f_stride))) return st;
  ws_layout w;
  if ((st = layout_for(&full.s, p->k, &w))) return st;

  void *own = NULL;
  if (!workspace) {
    workspace_bytes = gk_linformer_workspace_size(s, p);
    if (!workspace_bytes) return GK_ERR_OVERFLOW;
    if (!(own = workspace = gk_aligned_alloc(workspace_bytes))) return GK_ERR_NO_MEMORY;
  }
  /* align the caller's workspace, then count the scratches that fit */
  uintptr_t base = ((uintptr_t)workspace + GK_ALIGN - 1) & ~(uintptr_t)(GK_ALIGN - 1);
  size_t usable = workspace_bytes - (size_t)(base - (uintptr_t)workspace);
  if (workspace_bytes < (size_t)(base - (uintptr_t)workspace) ||
      usable / sizeof(float) < w.kv_floats + w.scratch_floats) {
    gk_aligned_free(own);
    return GK_ERR_INVALID_ARG; /* workspace too small */
  }
  size_t fit = (usable / sizeof(float) - w.kv_floats) / w.scratch_floats;
  int threads = fit < (size_t)gk_max_threads() ? (int)fit : gk_max_threads();

  const gk_attn_shape *fs = &full.s;
  const size_t H = fs->heads, d = fs->head_dim, k = p->k, ldp = H * d;
  float *Kp = (float *)base, *Vp = Kp + k * ldp;
  const float *E = p->E, *F = p->sharing == GK_LINFORMER_KEY_VALUE ? p->E : p->F;
  const size_t lde = p->lde, ldf = p->sharing == GK_LINFORMER_KEY_VALUE ? p->lde : p->ldf;
  const gk_variant *proj = gk_dispatch(GK_OP_LINFORMER_PROJECT);
  const gk_variant *attn = gk_dispatch(GK_OP_ATTENTION);

  for (size_t b = 0; b < fs->batch; b++) {
    const size_t L = kv_valid ? kv_valid[b] : fs->n_kv;
    float *Ob = O + b * fs->o_batch_stride;
    if (L == 0) { /* no key at all: every row is fully masked */
      for (size_t i = 0; i < fs->n_q; i++)
        for (size_t h = 0; h < H; h++) memset(Ob + i * ldo + h * fs->o_head_stride, 0, d * sizeof(float));
      continue;
    }
    const float *Kb = K + b * fs->k_batch_stride, *Vb = V + b * fs->v_batch_stride;
    /* One projection over all heads when E is shared and heads are packed. */
    const int shared = p->sharing != GK_LINFORMER_PER_HEAD;
    const size_t c = shared && fs->k_head_stride == d && fs->v_head_stride == d ? H * d : d;
    const proj_set set = {{{k, L, c, E, lde, Kb, ldk, Kp, ldp, 0},
                           {k, L, c, F, ldf, Vb, ldv, Vp, ldp, 0}},
                          {{e_stride, fs->k_head_stride}, {f_stride, fs->v_head_stride}},
                          d};
    if ((st = project(proj, &set, 2 * (c == d ? H : 1)))) break;
    gk_attn_shape ps = *fs;
    ps.batch = 1, ps.n_kv = k, ps.k_head_stride = ps.v_head_stride = d;
    gk_attn_args a;
    gk_attn_prepare(&ps, Q + b * fs->q_batch_stride, ldq, Kp, ldp, Vp, ldp, Ob, ldo, NULL, &a);
    a.scratch = Kp + w.kv_floats, a.scratch_threads = threads;
    gk_attention_run(attn, &a);
  }
  gk_aligned_free(own);
  return st;
}

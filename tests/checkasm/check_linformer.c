/* Linformer checker. Every projection variant: Y = E[:, :n]·X against a
 * float64 reference (tolerance: ck_tol_reduction over the n-term sum), k
 * below and above n, n below n_max, odd leading dimensions, unaligned.
 * Then, on the dispatched variants, the public gk_linformer_attention in
 * all three sharing modes with key padding (down to 0 valid keys), batches,
 * head strides, caller workspace or none, against projection + attention
 * in float64 (tolerance of attention_ref.h with r = the projection length). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_ref.h"
#include "checkasm.h"
#include "kernels/attention/attention.h"

static void check_projection(const gk_variant *v, size_t k, size_t n, size_t n_max, size_t c) {
  ck_buf E = ck_buf_new(k, n_max, ck_pick_ld(n_max)), X = ck_buf_new(n, c, ck_pick_ld(c));
  ck_buf Y = ck_buf_new(k, c, ck_pick_ld(c));
  ck_buf_fill(&E), ck_buf_fill(&X);
  double *ref = malloc(k * c * sizeof(double)), *tol = malloc(k * c * sizeof(double));
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < c; j++) {
      double s = 0, mag = 0;
      for (size_t t = 0; t < n; t++) {
        double p = (double)E.data[i * E.ld + t] * X.data[t * X.ld + j];
        s += p, mag += fabs(p);
      }
      ref[i * c + j] = s, tol[i * c + j] = ck_tol_reduction(n, mag);
    }
  gk_lproj_args a = {k, n, c, E.data, E.ld, X.data, X.ld, Y.data, Y.ld,
                    (int)ck_rand_range(0, gk_max_threads() < 2 ? 1 : 2)};
  char what[96];
  snprintf(what, sizeof what, "project k=%zu n=%zu n_max=%zu c=%zu", k, n, n_max, c);
  gk_status s = gk_linformer_project_run(v, &a);
  if (s) ck_fail("%s: status %d", what, (int)s);
  else ck_compare(what, Y.data, Y.ld, ref, tol, k, c);
  ck_buf_check(&Y, what);
  free(ref), free(tol);
  ck_buf_free(&E), ck_buf_free(&X), ck_buf_free(&Y);
}

/* projected rows in double: P = M[:, :L]·X[:L] (k x d) and Σ|M·X| */
static void project_ref(const float *M, size_t ldm, const float *X, size_t ldx, size_t k,
                        size_t L, size_t d, double *P, double *mag) {
  for (size_t i = 0; i < k; i++)
    for (size_t c = 0; c < d; c++) {
      double s = 0, m = 0;
      for (size_t t = 0; t < L; t++) {
        double p = (double)M[i * ldm + t] * X[t * ldx + c];
        s += p, m += fabs(p);
      }
      P[i * d + c] = s, mag[i * d + c] = m;
    }
}

static void check_attention(gk_linformer_sharing sharing, size_t batch, size_t H, size_t d,
                            size_t n_q, size_t n, size_t n_max, size_t k, int pad, int odd,
                            int own_ws) {
  const size_t hs = d + (odd ? 3 : 0), span = (H - 1) * hs + d;
  const size_t nmat = sharing == GK_LINFORMER_PER_HEAD ? H : 1, lde = ck_pick_ld(n_max);
  ck_buf Eb = ck_buf_new(nmat * k, n_max, lde), Fb = ck_buf_new(nmat * k, n_max, lde);
  ck_buf Qb = ck_buf_new(batch * n_q, span, ck_pick_ld(span));
  ck_buf Kb = ck_buf_new(batch * n, span, ck_pick_ld(span));
  ck_buf Vb = ck_buf_new(batch * n, span, ck_pick_ld(span));
  ck_buf Ob = ck_buf_new(batch * n_q, span, ck_pick_ld(span));
  ck_buf_fill(&Eb), ck_buf_fill(&Fb), ck_buf_fill(&Qb), ck_buf_fill(&Kb), ck_buf_fill(&Vb);
  size_t valid[3];
  for (size_t b = 0; b < batch; b++) valid[b] = b == 1 ? 0 : ck_rand_range(1, n);
  gk_attn_shape s = {batch, H, d, n_q, n, hs, hs, hs, hs, 0, 0, 0, 0, 0.0f};
  gk_linformer_proj p = {k, n_max, Eb.data, lde, Fb.data, lde, 0, sharing};
  const float *F = sharing == GK_LINFORMER_KEY_VALUE ? Eb.data : Fb.data;
  size_t ws_bytes = gk_linformer_workspace_size(&s, &p);
  ck_buf W = ck_buf_new(1, ws_bytes / sizeof(float), ws_bytes / sizeof(float));
  char what[160];
  snprintf(what, sizeof what, "linformer sharing=%d b=%zu h=%zu d=%zu nq=%zu n=%zu n_max=%zu k=%zu pad=%d ws=%d",
           (int)sharing, batch, H, d, n_q, n, n_max, k, pad, own_ws);
  gk_status st = gk_linformer_attention(&s, &p, Qb.data, Qb.ld, Kb.data, Kb.ld, Vb.data, Vb.ld,
                                        Ob.data, Ob.ld, pad ? valid : NULL,
                                        own_ws ? W.data : NULL, own_ws ? ws_bytes : 0);
  if (st) ck_fail("%s: status %d", what, (int)st);
  double *q = malloc(n_q * d * sizeof(double)), *kp = malloc(k * d * sizeof(double));
  double *km = malloc(k * d * sizeof(double)), *vp = malloc(k * d * sizeof(double));
  double *vm = malloc(k * d * sizeof(double)), *w = malloc(k * sizeof(double));
  double *ref = malloc(n_q * d * sizeof(double)), *tol = malloc(n_q * d * sizeof(double));
  const double scale = 1.0 / sqrt((double)d);
  for (size_t b = 0; b < batch && !st && !ck_failures(); b++)
    for (size_t h = 0; h < H && !ck_failures(); h++) {
      const size_t L = pad ? valid[b] : n, mo = sharing == GK_LINFORMER_PER_HEAD ? h * k * lde : 0;
      const float *Kh = Kb.data + b * n * Kb.ld + h * hs, *Vh = Vb.data + b * n * Vb.ld + h * hs;
      const float *Qh = Qb.data + b * n_q * Qb.ld + h * hs;
      for (size_t i = 0; i < n_q; i++)
        for (size_t c = 0; c < d; c++) q[i * d + c] = Qh[i * Qb.ld + c];
      project_ref(Eb.data + mo, lde, Kh, Kb.ld, k, L, d, kp, km);
      project_ref(F + mo, lde, Vh, Vb.ld, k, L, d, vp, vm);
      ck_attention_ref(n_q, k, d, scale, 0, L ? k : 0, L, q, kp, km, vp, vm, ref, tol, w);
      char where[200];
      snprintf(where, sizeof where, "%s seq %zu head %zu", what, b, h);
      ck_compare(where, Ob.data + b * n_q * Ob.ld + h * hs, Ob.ld, ref, tol, n_q, d);
    }
  free(q), free(kp), free(km), free(vp), free(vm), free(w), free(ref), free(tol);
  ck_buf_check(&Ob, what);
  ck_buf_check(&W, what);
  ck_buf_free(&Eb), ck_buf_free(&Fb), ck_buf_free(&Qb), ck_buf_free(&Kb), ck_buf_free(&Vb);
  ck_buf_free(&Ob), ck_buf_free(&W);
}

static void check(const gk_variant *v) {
  static const size_t ks[] = {1, 2, 3, 7, 16, 17, 64, 65, 130};
  static const size_t ns[] = {1, 2, 5, 16, 17, 63, 100, 150};
  static const size_t cs[] = {1, 3, 16, 17, 64, 65, 192};
  for (int i = 0; i < 24 && !ck_failures(); i++) {
    /* one draw per statement, so that a seed replays with any compiler */
    size_t n = ns[ck_rand() % 8];
    size_t k = ks[ck_rand() % 9];
    size_t n_max = n;
    if (ck_rand() % 2) n_max += ck_rand_range(1, 40);
    size_t c = cs[ck_rand() % 7];
    check_projection(v, k, n, n_max, c);
  }
  /* The composed call uses the dispatched projection and attention: check
   * it once, with the dispatched variant, in every sharing mode. */
  if (v != gk_dispatch(GK_OP_LINFORMER_PROJECT)) return;
  for (int mode = 0; mode < 3 && !ck_failures(); mode++) {
    gk_linformer_sharing sh = (gk_linformer_sharing)mode;
    check_attention(sh, 1, 2, 64, 50, 150, 256, 32, 0, 0, 1);   /* k < n */
    check_attention(sh, 3, 3, 17, 33, 20, 40, 65, 1, 1, 1);     /* k > n, padding, odd */
    check_attention(sh, 2, 4, 64, 40, 130, 130, 64, 1, 0, 0);   /* packed heads, no ws */
    check_attention(sh, 1, 1, 80, 1, 1, 5, 3, 0, 0, 1);         /* n = 1 */
    /* projections above the single-thread threshold: on more than one
     * thread they run whole, one per thread (2 or 8 of them here) */
    check_attention(sh, 2, 4, 64, 70, 600, 640, 64, 1, 0, 1);
  }
}

const ck_checker ck_check_linformer = {GK_OP_LINFORMER_PROJECT, check, NULL};

/* The variant study: per op, every variant this host can run is checked
 * against the scalar variant's output and timed on the adapter's shapes;
 * per shape class of the library (shape_class.h), the one with the lowest
 * total time relative to the best per shape of that class leads, and
 * replaces the registry's default for that class only when paired timings
 * show it faster by more than the noise (keep_default). And
 * the thread study: per op, the work size from which the configured thread
 * count beats one thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters.h"
#include "fit.h"
#include "progress.h"

typedef struct timed_call {
  const tn_adapter *ad;
  tn_case *c;
  const gk_variant *v;
  int threads;
} timed_call;

static void call(void *p) {
  timed_call *t = p;
  t->ad->run(t->c, t->v, t->threads);
}

/* The candidate's output against the scalar variant's (ref, bytes). */
static int agrees(const tn_adapter *ad, const tn_case *c, const void *ref, size_t bytes) {
  size_t got_bytes;
  const void *got = ad->output(c, &got_bytes);
  if (got_bytes != bytes) return 0;
  if (ad->agrees) return ad->agrees(c, ref);
  double tol = ad->tolerance(c);
  if (tol < 0) return memcmp(got, ref, bytes) == 0;
  return tn_rel_error(got, ref, bytes / sizeof(float)) <= tol;
}

static const gk_variant *scalar_of(gk_op op) {
  const gk_registry *reg = gk_registry_get();
  for (size_t i = 0; i < reg->count; i++)
    if (reg->v[i]->op == op && reg->v[i]->isa == GK_ISA_SCALAR) return reg->v[i];
  return NULL;
}

static int n_variant_ops(const tn_config *cfg) {
  int n = 0;
  for (int op = 0; op < GK_OP_COUNT; op++) n += cfg->op_selected[op] && tn_adapter_for(op);
  return n;
}

/* The shapes of one shape class that every valid candidate got a time on
 * (their setup_class indices), and each candidate's score over them: the
 * sum of its time over the fastest one's, shape by shape. */
typedef struct class_shapes {
  int idx[TN_FIT_MAX];
  int n;
  double score[GK_REGISTRY_MAX];
} class_shapes;

/* One round of the paired check: the rival against the default on each
 * shape of the class, sample against sample. Returns the shapes timed
 * (fewer than cs->n when the time limit cut it short). */
static size_t paired_round(const tn_config *cfg, const tn_adapter *ad, gk_op op,
                           const class_shapes *cs, const gk_variant *def,
                           const gk_variant *rival, double progress, double *ratio,
                           double *noise) {
  size_t n = 0;
  for (int j = 0; j < cs->n && !tn_should_stop(); j++) {
    tn_case *c = ad->setup_class(cs->idx[j]);
    if (!c) break;
    char shape[48];
    ad->describe(c, shape, sizeof shape);
    tn_progress(progress, "%s %s: %s against %s", gk_op_to_name(op), shape, rival->name, def->name);
    timed_call a = {ad, c, def, cfg->threads}, b = {ad, c, rival, cfg->threads};
    tn_pair p = tn_compare(call, &a, call, &b, &cfg->timing);
    ad->destroy(c);
    if (!(p.ratio > 0)) break;
    ratio[n] = p.ratio;
    noise[n++] = tn_pair_noise(&p);
  }
  return n;
}

/* A rival whose screening score beats the default's is timed again
 * against the default, sample against sample (tn_compare), on each shape
 * of the class the screening completed; it replaces the default only when
 * it is faster by more than the noise (tn_variant_verdict), in two rounds
 * running. Ties, and
 * checks the time limit cut short, go to the default: what the library
 * runs without a profile is kept unless there is clear evidence, so that
 * repeated tunes of one machine choose alike. Returns the index of the
 * chosen variant. */
/* the least margin: a variant timed against itself this way comes out up
 * to 5% off 1 on a shared 2-core machine at quick effort */
#define TN_MIN_MARGIN 0.05
static size_t keep_default(const tn_config *cfg, tn_results *r, const tn_adapter *ad, gk_op op,
                           unsigned cls, const gk_variant *const *cand, size_t nc,
                           const int *valid, const class_shapes *cs, size_t win,
                           double progress) {
  tn_variant_choice *ch = &r->choice[op][cls];
  const double *score = cs->score;
  const gk_variant *def = gk_dispatch_class(op, cls);
  size_t kd = nc;
  for (size_t k = 0; k < nc; k++)
    if (cand[k] == def) kd = k;
  *ch = (tn_variant_choice){.chosen = cand[win]->name, .why = "fastest"};
  if (kd == nc || !valid[kd]) {
    /* the default failed its check (or is not among the candidates) */
    ch->why = kd == nc ? "fastest (default not timed)" : "fastest (default wrong)";
    return win;
  }
  ch->def = def->name;
  if (win == kd) {
    size_t run = nc; /* the runner-up, for the report */
    for (size_t k = 0; k < nc; k++)
      if (k != kd && valid[k] && (run == nc || score[k] < score[run])) run = k;
    ch->why = "default fastest";
    if (run < nc) ch->rival = cand[run]->name, ch->ratio = score[run] / score[kd];
    return kd;
  }
  /* among rivals within the margin of the leader, the one of highest
   * priority is the challenger (cand is in priority order): which of two
   * near-equal rivals leads the screening is itself a coin toss */
  for (size_t k = 0; k < nc; k++)
    if (k != kd && valid[k] && score[k] < score[kd] &&
        score[k] <= score[win] * (1 + TN_MIN_MARGIN)) {
      win = k;
      break;
    }
  ch->chosen = cand[win]->name;
  ch->rival = cand[win]->name;
  ch->ratio = score[win] / score[kd];
  /* Two rounds: a rival that wins the first must win again on fresh
   * samples. On memory-bound shapes (decode) one round's win by the
   * margin came and went between tunes (gemm decode: 6x64 over 8x48 at
   * 0.85-0.97 in one tune, not even the screening's leader in the next). */
  tn_verdict v = {0};
  double ratio[TN_FIT_MAX];
  size_t n = 0;
  for (int round = 0; round < 2; round++) {
    double noise[TN_FIT_MAX];
    n = paired_round(cfg, ad, op, cs, def, cand[win], progress, ratio, noise);
    if ((int)n < cs->n || !tn_variant_verdict(ratio, noise, n, TN_MIN_MARGIN, &v)) {
      ch->chosen = def->name;
      ch->why = "default (paired check cut by the time limit)";
      tn_note(r, "variants: %s %s keeps its default %s: the paired check against %s was cut short",
              gk_op_to_name(op), gk_class_name(op, cls), def->name, cand[win]->name);
      return kd;
    }
    if (!v.rival_wins) break;
  }
  ch->ratio = v.ratio, ch->margin = v.margin, ch->paired = 1;
  for (size_t i = 0, at = 0; i < n && at < sizeof ch->per_shape; i++)
    at += (size_t)snprintf(ch->per_shape + at, sizeof ch->per_shape - at, "%s%.3f", i ? " " : "",
                           ratio[i]);
  if (v.rival_wins) {
    ch->why = "rival faster (twice)";
    return win;
  }
  ch->chosen = def->name;
  ch->why = "default kept (within noise)";
  return kd;
}

/* The usable variants of op, highest priority first. Returns how many. */
static size_t candidates(gk_op op, const gk_variant **cand) {
  const gk_registry *reg = gk_registry_get();
  size_t nc = 0;
  for (size_t i = 0; i < reg->count; i++)
    if (reg->v[i]->op == op && gk_variant_usable(reg->v[i])) cand[nc++] = reg->v[i];
  /* likely winners first (highest priority), so the others can be cut
   * short once they are clearly slower */
  for (size_t i = 1; i < nc; i++)
    for (size_t j = i; j > 0 && cand[j - 1]->priority < cand[j]->priority; j--) {
      const gk_variant *x = cand[j];
      cand[j] = cand[j - 1], cand[j - 1] = x;
    }
  return nc;
}

/* Screening: every candidate checked against the scalar variant's output
 * and timed on each of the adapter's shapes, which go to the library's
 * shape class they fall in. A shape counts for its class only when every
 * valid candidate got a time there. Returns 1 when the time limit cut the
 * shapes short. */
static int screen(const tn_config *cfg, tn_results *r, const tn_adapter *ad, gk_op op,
                  const gk_variant *const *cand, size_t nc, int *valid, class_shapes *cs,
                  double progress0, double progress_span) {
  const gk_variant *ref = scalar_of(op);
  double ref_s_per_work = 0; /* the scalar reference's speed so far */
  for (int i = 0;; i++) {
    if (tn_should_stop()) return 1;
    tn_case *c = ad->setup_class(i);
    if (!c) return 0;
    /* a larger shape whose reference alone would overrun the deadline is
     * not started (calls cannot be interrupted) */
    if (ref_s_per_work * ad->work(c) > tn_time_left()) {
      ad->destroy(c);
      return 1;
    }
    char shape[48];
    ad->describe(c, shape, sizeof shape);
    size_t n_out = 0;
    void *want = NULL;
    double t_ref = tn_now();
    if (ref && ad->run(c, ref, cfg->threads) == GK_OK) {
      ref_s_per_work = (tn_now() - t_ref) / ad->work(c);
      const void *o = ad->output(c, &n_out);
      want = malloc(n_out ? n_out : 1);
      if (want) memcpy(want, o, n_out);
    }
    double t[GK_REGISTRY_MAX], best = 0;
    for (size_t k = 0; k < nc; k++) {
      tn_progress(progress0 + progress_span * (i + (double)k / (double)nc) / TN_CLASS_SHAPES,
                  "%s %s", shape, cand[k]->name);
      tn_variant_row *row = r->n_rows < TN_MAX_ROWS ? &r->rows[r->n_rows++] : NULL;
      t[k] = 0;
      if (row) *row = (tn_variant_row){op, cand[k]->name, "", {0, 0, 0, 0}, "ok"};
      if (row) snprintf(row->shape, sizeof row->shape, "%s", shape);
      /* checked against the scalar output before it may be timed */
      if (!want || ad->run(c, cand[k], cfg->threads) != GK_OK || !agrees(ad, c, want, n_out)) {
        valid[k] = 0;
        if (row) row->status = "wrong result";
        continue;
      }
      timed_call tc = {ad, c, cand[k], cfg->threads};
      /* one call three times slower than the best so far: it has lost */
      tn_time tm = tn_measure_cut(call, &tc, &cfg->timing, 3 * best);
      if (row) row->t = tm, row->status = tm.ns <= 0 ? "no time" : tm.samples == 1 ? "lost (one call)" : "ok";
      t[k] = tm.ns;
      if (tm.ns > 0 && (best == 0 || tm.ns < best)) best = tm.ns;
    }
    int complete = 1;
    for (size_t k = 0; k < nc; k++) complete &= !valid[k] || t[k] > 0;
    class_shapes *in = &cs[ad->shape_class ? ad->shape_class(c) : 0];
    if (complete && in->n < TN_FIT_MAX) {
      in->idx[in->n++] = i;
      for (size_t k = 0; k < nc; k++)
        if (valid[k]) in->score[k] += t[k] / best;
    }
    free(want);
    ad->destroy(c);
  }
}

void tn_study_variants(const tn_config *cfg, tn_results *r) {
  int done_ops = 0, total_ops = n_variant_ops(cfg);
  for (int op = 0; op < GK_OP_COUNT && !tn_should_stop(); op++) {
    if (!cfg->op_selected[op]) continue;
    const tn_adapter *ad = tn_adapter_for((gk_op)op);
    if (!ad) {
      tn_note(r, "variants: no tuner adapter for op '%s'; it keeps the registry's priority",
              gk_op_to_name(op));
      continue;
    }
    const gk_variant *cand[GK_REGISTRY_MAX];
    size_t nc = candidates((gk_op)op, cand);
    int valid[GK_REGISTRY_MAX];
    for (size_t k = 0; k < nc; k++) valid[k] = 1;
    class_shapes cs[GK_MAX_CLASSES] = {0};
    int cut = screen(cfg, r, ad, (gk_op)op, cand, nc, valid, cs, (double)done_ops / total_ops,
                     1.0 / total_ops);
    /* each class decided on its own shapes: a variant may win decode and
     * lose prefill */
    for (unsigned cls = 0; cls < gk_op_classes((gk_op)op); cls++) {
      size_t win = nc;
      for (size_t k = 0; k < nc; k++)
        if (valid[k] && (win == nc || cs[cls].score[k] < cs[cls].score[win])) win = k;
      if (!cs[cls].n || win == nc) {
        tn_note(r, "variants: %s %s not decided (time limit)", gk_op_to_name(op),
                gk_class_name((gk_op)op, cls));
        continue;
      }
      win = keep_default(cfg, r, ad, (gk_op)op, cls, cand, nc, valid, &cs[cls], win,
                         ((double)done_ops + 0.9) / total_ops);
      snprintf(r->t.variant[op][cls], sizeof r->t.variant[op][cls], "%s", cand[win]->name);
      if (cut)
        tn_note(r, "variants: %s %s decided on %d shape(s) before the time limit",
                gk_op_to_name(op), gk_class_name((gk_op)op, cls), cs[cls].n);
    }
    done_ops++;
  }
}

/* Threshold: paired timings of one thread against the team up a ladder of
 * sizes, judged by tn_thread_threshold (fit.h): ties keep the compiled-in
 * default. The ladder stops once the team has won by the margin at two
 * sizes in a row above that default, beyond which nothing can move it. */
void tn_study_threads(const tn_config *cfg, tn_results *r) {
  if (cfg->threads <= 1) {
    tn_note(r, "threads: tuning with one thread; single-thread thresholds not measured");
    return;
  }
  gk_tuning defaults;
  gk_tuning_defaults(&defaults, NULL);
  int total = n_variant_ops(cfg), done = 0;
  for (int op = 0; op < GK_OP_COUNT && !tn_should_stop(); op++) {
    const tn_adapter *ad = tn_adapter_for((gk_op)op);
    if (!cfg->op_selected[op] || !ad || !ad->setup_size) continue;
    const gk_variant *v = tn_variant_for(r, (gk_op)op);
    const double def = defaults.single_thread_below[op];
    double work[TN_FIT_MAX], ratio[TN_FIT_MAX], noise[TN_FIT_MAX], single_s_per_work = 0;
    size_t n = 0;
    int team_wins = 0, cut = 0;
    for (int i = 0; n < TN_FIT_MAX && team_wins < 2; i++) {
      if (tn_should_stop()) {
        cut = 1;
        break;
      }
      tn_case *c = ad->setup_size(i);
      if (!c) break;
      /* the next size costs about its work at the last size's speed; a
       * measurement is at least a few calls of each kind */
      if (single_s_per_work * ad->work(c) * 6 > tn_time_left()) {
        ad->destroy(c);
        cut = 1;
        break;
      }
      char shape[48];
      ad->describe(c, shape, sizeof shape);
      tn_progress(((double)done + i / 10.0) / total, "%s %s", gk_op_to_name(op), shape);
      timed_call one = {ad, c, v, 1}, team = {ad, c, v, cfg->threads};
      /* in alternation, sample against sample: a load that comes and goes
       * then weighs on both alike instead of deciding the comparison */
      tn_pair pr = tn_compare(call, &one, call, &team, &cfg->timing);
      double w = ad->work(c);
      ad->destroy(c);
      if (pr.a.ns <= 0 || pr.b.ns <= 0) break;
      single_s_per_work = 1e-9 * pr.a.ns / w;
      work[n] = w, ratio[n] = pr.ratio, noise[n] = tn_pair_noise(&pr), n++;
      int won = pr.ratio * (1 + tn_margin(noise[n - 1], TN_MIN_MARGIN)) < 1;
      team_wins = w > def && won ? team_wins + 1 : 0;
    }
    tn_thread_decision *d = &r->threads[op];
    d->sizes = n;
    for (size_t i = 0, len = 0; i < n && len < sizeof d->ladder; i++)
      len += (size_t)snprintf(d->ladder + len, sizeof d->ladder - len, "%s%.2g:%.2f",
                              i ? " " : "", work[i], ratio[i]);
    if (n) {
      d->threshold = tn_thread_threshold(work, ratio, noise, n, TN_MIN_MARGIN, def, &d->kept);
      r->t.single_thread_below[op] = d->threshold;
      /* later studies run the ops as the library will with this profile */
      gk_tuning_for_tuner()->single_thread_below[op] = d->threshold;
    }
    if (cut && n)
      tn_note(r, "threads: %s threshold decided on %zu size(s) before the time limit",
              gk_op_to_name(op), n);
    else if (cut)
      tn_note(r, "threads: %s threshold not measured (time limit)", gk_op_to_name(op));
    done++;
  }
}

const gk_variant *tn_variant_for(const tn_results *r, gk_op op) {
  const char *name = r->t.variant[op][gk_op_default_class(op)];
  const gk_variant *v = name[0] ? gk_registry_find(op, name) : NULL;
  return v && gk_variant_usable(v) ? v : gk_dispatch(op);
}

#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *effort_name(tn_effort e) {
  return e == TN_QUICK ? "quick" : e == TN_THOROUGH ? "thorough" : "default";
}

static void fmt_ns(char *buf, size_t n, double ns) {
  if (ns <= 0) snprintf(buf, n, "-");
  else if (ns < 1e3) snprintf(buf, n, "%.0f ns", ns);
  else if (ns < 1e6) snprintf(buf, n, "%.1f us", ns / 1e3);
  else if (ns < 1e9) snprintf(buf, n, "%.2f ms", ns / 1e6);
  else snprintf(buf, n, "%.2f s", ns / 1e9);
}

/* Distinct (K, N) pairs of the rank table, in table order. */
static size_t rank_pairs(const gk_tuning *t, uint32_t pairs[][2]) {
  size_t n = 0;
  for (size_t i = 0; i < t->n_rank; i++) {
    if (n && pairs[n - 1][0] == t->rank[i].K && pairs[n - 1][1] == t->rank[i].N) continue;
    pairs[n][0] = t->rank[i].K, pairs[n][1] = t->rank[i].N, n++;
  }
  return n;
}

static void rank_table(FILE *f, const gk_tuning *t) {
  uint32_t pairs[GK_TUNING_MAX_RANK][2], Ms[GK_TUNING_MAX_RANK];
  size_t np = rank_pairs(t, pairs), nm = 0;
  for (size_t i = 0; i < t->n_rank; i++) {
    size_t j = 0;
    while (j < nm && Ms[j] != t->rank[i].M) j++;
    if (j == nm) Ms[nm++] = t->rank[i].M;
  }
  for (size_t i = 1; i < nm; i++) /* insertion sort, tiny */
    for (size_t j = i; j > 0 && Ms[j - 1] > Ms[j]; j--) {
      uint32_t x = Ms[j]; Ms[j] = Ms[j - 1]; Ms[j - 1] = x;
    }
  fprintf(f, "Rank r* up to which the fused rank-r path (X·U·V) beats dense X·W (plans take\n"
             "the fused path for r <= r*): where a line fitted through the time ratio\n"
             "fused/dense at several ranks crosses 1, to the nearest multiple of 16; ± the\n"
             "fit's standard error in ranks; in brackets, r* as a share of the arithmetic\n"
             "break-even K·N/(K+N).\n\n| M |");
  for (size_t p = 0; p < np; p++) fprintf(f, " K=%u N=%u |", pairs[p][0], pairs[p][1]);
  fprintf(f, "\n|---:|");
  for (size_t p = 0; p < np; p++) fprintf(f, "---:|");
  fprintf(f, "\n");
  for (size_t m = 0; m < nm; m++) {
    fprintf(f, "| %u |", Ms[m]);
    for (size_t p = 0; p < np; p++) {
      const gk_rank_point *pt = NULL;
      for (size_t i = 0; i < t->n_rank; i++)
        if (t->rank[i].M == Ms[m] && t->rank[i].K == pairs[p][0] && t->rank[i].N == pairs[p][1])
          pt = &t->rank[i];
      if (!pt) fprintf(f, " - |");
      else {
        double be = (double)pt->K * pt->N / ((double)pt->K + pt->N);
        fprintf(f, " %u ±%u (%.0f%%) |", pt->r, pt->err, 100.0 * pt->r / be);
      }
    }
    fprintf(f, "\n");
  }
  fprintf(f, "\n");
}

static void seq_table(FILE *f, const gk_tuning *t, gk_seq_kind kind, const char *param,
                      const char *what) {
  int any = 0;
  for (size_t i = 0; i < t->n_seq; i++) {
    const gk_seq_point *p = &t->seq[i];
    if (p->kind != (uint32_t)kind) continue;
    if (!any)
      fprintf(f, "%s\n\n| %s | d | causal | from n = |\n|---:|---:|:---:|---:|\n", what, param);
    any = 1;
    if (p->n) fprintf(f, "| %u | %u | %s | %u |\n", p->param, p->d, p->causal ? "yes" : "no", p->n);
    else fprintf(f, "| %u | %u | %s | never in the measured range |\n", p->param, p->d,
                 p->causal ? "yes" : "no");
  }
  if (any) fprintf(f, "\n");
}

void tn_report_markdown(FILE *f, const tn_results *r, const tn_report_ctx *rc) {
  const gk_tuning *t = &r->t;
  fprintf(f, "# greenkern-tune report\n\n");
  fprintf(f, "| | |\n|---|---|\n");
  fprintf(f, "| machine | `%s` |\n", rc->signature);
  fprintf(f, "| profile | %s |\n", rc->profile_path ? rc->profile_path : "(not written)");
  if (rc->cfg)
    fprintf(f, "| effort | %s, time limit %.0f s, took %.1f s |\n", effort_name(rc->cfg->effort),
            rc->cfg->time_limit, r->elapsed);
  if (t->tune_threads) fprintf(f, "| threads | %u |\n", t->tune_threads);
  if (rc->cfg && tn_measurements())
    fprintf(f, "| noise | median sample %.1f%% above the fastest (worst measurement: %.0f%%), "
               "over %zu measurements; decisions use the fastest sample |\n",
            100 * tn_noise_median(), 100 * tn_noise_max(), tn_measurements());
  else if (t->noise_permille)
    fprintf(f, "| noise | median sample %.1f%% above the fastest when tuned |\n",
            t->noise_permille / 10.0);
  fprintf(f, "\n");

  fprintf(f, "## Rank crossover r*(M, K, N)\n\n");
  if (t->n_rank) rank_table(f, t);
  else fprintf(f, "Not measured: linear-layer plans use 80%% of K·N/(K+N).\n\n");

  fprintf(f, "## Sequence-length crossovers\n\n");
  int seq = t->n_seq > 0;
  seq_table(f, t, GK_SEQ_KIND_HAMMING_LINEAR, "b",
            "Hamming attention, linear form over quadratic (used by the library):");
  seq_table(f, t, GK_SEQ_KIND_LINFORMER_FULL, "k",
            "Information: Linformer (k rows) over full attention:");
  seq_table(f, t, GK_SEQ_KIND_HAMMING_FULL, "b",
            "Information: Hamming attention (hash + best form) over full attention:");
  seq_table(f, t, GK_SEQ_KIND_HAMMING_LINFORMER, "b",
            "Information: Hamming attention over Linformer (k = 128):");
  if (!seq) fprintf(f, "Not measured: Hamming attention switches to the linear form from the cost model (about 2b keys).\n\n");

  fprintf(f, "## Variants and threads\n\n"
             "Variants are chosen per op and shape class: GEMM calls of up to %d rows are\n"
             "\"decode\", larger ones \"prefill\"; other ops have one class, \"all\".\n"
             "A rival replaces the registry's default (what the library runs without a\n"
             "profile) only when paired timings show it faster by more than the margin,\n"
             "max(5%%, 2 x the noise of the paired ratios), on the geometric mean over the\n"
             "class's shapes, and faster on every one of them, in two rounds running; ties\n"
             "stay with the default.\n"
             "\"vs default\": the rival's time over the default's (paired, else from the\n"
             "screening; paired: the geometric mean, then shape by shape); the noise of a\n"
             "paired ratio: how far the ratio of the fastest samples and the median of the\n"
             "sample-by-sample ratios disagree.\n"
             "\"single-thread below\": the work under which the op runs on one thread.\n"
             "The compiled-in value stays while paired timings up a ladder of sizes fit it\n"
             "(one thread won by the margin only below it, the team only above it);\n"
             "\"(measured)\" marks a value the timings moved.\n\n"
             "| op | class | variant | registry default | closest rival | vs default | margin | "
             "decision | single-thread below |\n|---|---|---|---|---|---:|---:|---|---:|\n",
          GK_DECODE_MAX_ROWS);
  for (int op = 0; op < GK_OP_COUNT; op++) {
    char thr[48] = "default";
    if (t->single_thread_below[op] > 0)
      snprintf(thr, sizeof thr, "%.3g%s", t->single_thread_below[op],
               !r->threads[op].sizes ? "" : r->threads[op].kept ? " (default fits)" : " (measured)");
    for (unsigned cls = 0; cls < gk_op_classes((gk_op)op); cls++) {
      char ratio[96] = "-", margin[32] = "-";
      const tn_variant_choice *ch = &r->choice[op][cls];
      if (ch->ratio > 0)
        snprintf(ratio, sizeof ratio, "%.3f%s%s%s", ch->ratio, ch->paired ? " (paired: " : "",
                 ch->paired ? ch->per_shape : "", ch->paired ? ")" : "");
      if (ch->margin > 0) snprintf(margin, sizeof margin, "%.1f%%", 100 * ch->margin);
      fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", gk_op_to_name(op),
              gk_class_name((gk_op)op, cls),
              t->variant[op][cls][0] ? t->variant[op][cls] : "(registry priority)",
              ch->def ? ch->def : "-", ch->rival ? ch->rival : "-", ratio, margin,
              ch->why ? ch->why : "-", cls ? "" : thr);
    }
  }
  for (int op = 0, first = 1; op < GK_OP_COUNT; op++)
    if (r->threads[op].sizes) {
      fprintf(f, "%s- %s: work:ratio %s\n",
              first ? "\nThe thread study's ladders (the team's time over one thread's):\n\n" : "",
              gk_op_to_name(op), r->threads[op].ladder);
      first = 0;
    }
  for (size_t i = 0; i < t->n_blocking; i++) {
    const gk_blocking_point *b = &t->blocking[i];
    fprintf(f, "%sGEMM blocking of %s: MC = %zu, KC = %zu, NC = %zu", i ? "" : "\n",
            b->tile->name, b->mc, b->kc, b->nc);
    if (b->in_place)
      fprintf(f,
              "; raw weights read in place up to %zu row tiles (%zu when rows are 4 KiB apart "
              "or the weights outgrow a quarter of L3)",
              b->in_place, b->in_place_aliased);
    fprintf(f, ".\n");
  }
  if (t->n_blocking) fprintf(f, "Other tiles: blocks and in-place limits derived from the cache sizes.\n");
  fprintf(f, "\n");
  if (r->n_rows) {
    fprintf(f, "<details><summary>every variant timed</summary>\n\n"
               "| op | shape | variant | fastest | median | result |\n|---|---|---|---:|---:|---|\n");
    for (size_t i = 0; i < r->n_rows; i++) {
      const tn_variant_row *w = &r->rows[i];
      char ns[32], med[32];
      fmt_ns(ns, sizeof ns, w->t.ns);
      fmt_ns(med, sizeof med, w->t.median);
      fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", gk_op_to_name(w->op), w->shape,
              w->name, ns, med, w->status);
    }
    fprintf(f, "\n</details>\n\n");
  }
  if (r->n_notes) {
    fprintf(f, "## Notes\n\n");
    for (size_t i = 0; i < r->n_notes; i++) fprintf(f, "- %s\n", r->notes[i]);
    fprintf(f, "\n");
  }
  if (rc->n_plots) {
    fprintf(f, "## Plots\n\n");
    for (size_t i = 0; i < rc->n_plots; i++) fprintf(f, "![%s](%s)\n", rc->plots[i], rc->plots[i]);
    fprintf(f, "\n");
  } else if (rc->plot_status[0]) {
    fprintf(f, "Plots: %s\n\n", rc->plot_status);
  }
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

static void json_or_null(FILE *f, const char *s) {
  if (s) json_str(f, s);
  else fprintf(f, "null");
}

/* One shape class's choice: {"class": ..., "variant": ..., and, when the
 * study decided it, how}. */
static void json_choice(FILE *f, const char *cls, const char *variant,
                        const tn_variant_choice *ch, const char *sep) {
  fprintf(f, "%s{\"class\": ", sep);
  json_str(f, cls);
  fprintf(f, ", \"variant\": ");
  json_or_null(f, variant[0] ? variant : NULL);
  if (ch->why) {
    fprintf(f, ", \"default\": ");
    json_or_null(f, ch->def);
    fprintf(f, ", \"rival\": ");
    json_or_null(f, ch->rival);
    fprintf(f, ", \"rival_over_default\": %.4f, \"margin\": %.4f, \"paired\": %s, "
               "\"decision\": ", ch->ratio, ch->margin, ch->paired ? "true" : "false");
    json_str(f, ch->why);
  }
  fprintf(f, "}");
}

int tn_report_json(const char *path, const tn_results *r, const tn_report_ctx *rc) {
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  const gk_tuning *t = &r->t;
  fprintf(f, "{\n  \"signature\": ");
  json_str(f, rc->signature);
  fprintf(f, ",\n  \"profile\": ");
  if (rc->profile_path) json_str(f, rc->profile_path);
  else fprintf(f, "null");
  if (rc->cfg)
    fprintf(f, ",\n  \"effort\": \"%s\",\n  \"time_limit_s\": %.1f,\n  \"elapsed_s\": %.2f,\n"
               "  \"noise\": {\"median_spread\": %.4f, \"max_spread\": %.4f, \"measurements\": %zu}",
            effort_name(rc->cfg->effort), rc->cfg->time_limit, r->elapsed, tn_noise_median(),
            tn_noise_max(), tn_measurements());
  fprintf(f, ",\n  \"threads\": %u,\n  \"rank_crossover\": [", t->tune_threads);
  for (size_t i = 0; i < t->n_rank; i++)
    fprintf(f, "%s\n    {\"M\": %u, \"K\": %u, \"N\": %u, \"r\": %u, \"err\": %u}",
            i ? "," : "", t->rank[i].M, t->rank[i].K, t->rank[i].N, t->rank[i].r,
            t->rank[i].err);
  fprintf(f, "\n  ],\n  \"seq_crossover\": [");
  for (size_t i = 0; i < t->n_seq; i++)
    fprintf(f, "%s\n    {\"kind\": \"%s\", \"param\": %u, \"d\": %u, \"causal\": %s, \"n\": %u}",
            i ? "," : "", gk_seq_kind_name(t->seq[i].kind), t->seq[i].param, t->seq[i].d,
            t->seq[i].causal ? "true" : "false", t->seq[i].n);
  fprintf(f, "\n  ],\n  \"ops\": {");
  for (int op = 0; op < GK_OP_COUNT; op++) {
    fprintf(f, "%s\n    ", op ? "," : "");
    json_str(f, gk_op_to_name(op));
    fprintf(f, ": {\"classes\": [");
    for (unsigned cls = 0; cls < gk_op_classes((gk_op)op); cls++)
      json_choice(f, gk_class_name((gk_op)op, cls), t->variant[op][cls], &r->choice[op][cls],
                  cls ? ", " : "");
    fprintf(f, "]");
    fprintf(f, ", \"single_thread_below\": %.0f}", t->single_thread_below[op]);
  }
  fprintf(f, "\n  },\n  \"gemm_blocking\": [");
  for (size_t i = 0; i < t->n_blocking; i++) {
    fprintf(f, "%s\n    {\"tile\": ", i ? "," : "");
    json_str(f, t->blocking[i].tile->name);
    fprintf(f, ", \"mc\": %zu, \"kc\": %zu, \"nc\": %zu, \"in_place\": %zu, \"in_place_aliased\": %zu}",
            t->blocking[i].mc, t->blocking[i].kc, t->blocking[i].nc, t->blocking[i].in_place,
            t->blocking[i].in_place_aliased);
  }
  fprintf(f, "\n  ],\n  \"timings\": [");
  for (size_t i = 0; i < r->n_rows; i++) {
    const tn_variant_row *w = &r->rows[i];
    fprintf(f, "%s\n    {\"op\": \"%s\", \"shape\": ", i ? "," : "", gk_op_to_name(w->op));
    json_str(f, w->shape);
    fprintf(f, ", \"variant\": ");
    json_str(f, w->name);
    fprintf(f, ", \"fastest_ns\": %.1f, \"median_ns\": %.1f, \"spread\": %.4f, \"status\": \"%s\"}",
            w->t.ns, w->t.median, w->t.spread, w->status);
  }
  fprintf(f, "\n  ],\n  \"series\": [");
  for (size_t i = 0; i < r->n_series; i++) {
    const tn_series *s = &r->series[i];
    fprintf(f, "%s\n    {\"plot\": ", i ? "," : "");
    json_str(f, s->group);
    fprintf(f, ", \"title\": ");
    json_str(f, s->title);
    fprintf(f, ", \"x\": [");
    for (size_t k = 0; k < s->n; k++) fprintf(f, "%s%g", k ? ", " : "", s->x[k]);
    fprintf(f, "], \"ns\": [");
    for (size_t k = 0; k < s->n; k++) fprintf(f, "%s%.1f", k ? ", " : "", s->ns[k]);
    fprintf(f, "]}");
  }
  fprintf(f, "\n  ],\n  \"notes\": [");
  for (size_t i = 0; i < r->n_notes; i++) {
    fprintf(f, "%s\n    ", i ? "," : "");
    json_str(f, r->notes[i]);
  }
  fprintf(f, "\n  ]\n}\n");
  return fclose(f) == 0;
}

/* One gnuplot run per plot group, data inline. Rank plots are linear in r
 * (the fused cost grows linearly, dense is flat); sequence plots log-log. */
void tn_report_plots(const tn_results *r, const char *dir, tn_report_ctx *rc) {
  if (!r->n_series) {
    snprintf(rc->plot_status, sizeof rc->plot_status, "no curves were measured");
    return;
  }
  if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
    snprintf(rc->plot_status, sizeof rc->plot_status,
             "gnuplot not found; plots skipped (install gnuplot-nox)");
    return;
  }
  mkdir(dir, 0755);
  int done[TN_MAX_SERIES] = {0};
  for (size_t i = 0; i < r->n_series; i++) {
    if (done[i]) continue;
    const char *group = r->series[i].group;
    size_t points = 0;
    for (size_t j = i; j < r->n_series; j++)
      if (!strcmp(r->series[j].group, group)) points += r->series[j].n;
    if (!points) continue;
    char path[256];
    snprintf(path, sizeof path, "%s/%s.svg", dir, group);
    /* one script, drawn twice: SVG for the report, PNG for viewers
     * without SVG support */
    for (int fmt = 0; fmt < 2; fmt++) {
    FILE *g = popen("gnuplot", "w");
    if (!g) break;
    int seq = !strncmp(group, "seq", 3);
    if (fmt == 1) snprintf(path + strlen(path) - 4, 5, ".png");
    fprintf(g, "%s\nset output '%s'\nset grid\nset key top left\n"
               "set ylabel 'time per call (us)'\n",
            fmt ? "set terminal pngcairo size 800,500 font 'sans,10'"
                : "set terminal svg size 800,500 dynamic enhanced font 'sans,11'",
            path);
    fprintf(g, "set termoption noenhanced\nset format y '%%g'\n");
    if (seq)
      fprintf(g, "set logscale xy\nset format x '%%g'\nset xlabel 'sequence length n (keys)'\n"
                 "set title 'attention time vs sequence length (%s)'\n", group);
    else
      fprintf(g, "set yrange [0:*]\nset xlabel 'rank r'\nset key bottom right\n"
                 "set title 'dense X.W vs fused X.U.V by rank (%s)'\n", group);
    fprintf(g, "plot ");
    int first = 1;
    for (size_t j = i; j < r->n_series; j++)
      if (!strcmp(r->series[j].group, group) && r->series[j].n) {
        fprintf(g, "%s'-' using 1:2 with linespoints title '%s'", first ? "" : ", ",
                r->series[j].title);
        first = 0;
      }
    fprintf(g, "\n");
    for (size_t j = i; j < r->n_series; j++)
      if (!strcmp(r->series[j].group, group)) {
        done[j] = 1;
        if (!r->series[j].n) continue;
        for (size_t k = 0; k < r->series[j].n; k++)
          fprintf(g, "%g %g\n", r->series[j].x[k], r->series[j].ns[k] / 1e3);
        fprintf(g, "e\n");
      }
    if (pclose(g) == 0 && fmt == 0 && rc->n_plots < TN_MAX_SERIES)
      snprintf(rc->plots[rc->n_plots++], sizeof rc->plots[0], "%s", path);
    }
  }
  if (!rc->n_plots) snprintf(rc->plot_status, sizeof rc->plot_status, "gnuplot failed");
}

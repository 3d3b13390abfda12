/* The crossover report: Markdown tables a person reads at a glance, the
 * same facts as JSON, and plots drawn by gnuplot when it is installed
 * (the library never depends on it). */
#ifndef TN_REPORT_H
#define TN_REPORT_H

#include <stdio.h>

#include "tune.h"

typedef struct tn_report_ctx {
  const tn_config *cfg;     /* NULL for --show (from a profile alone) */
  const char *signature;
  const char *profile_path; /* written or shown */
  size_t n_plots;
  char plots[TN_MAX_SERIES][256]; /* files written */
  char plot_status[160];    /* why plots are missing, if they are */
} tn_report_ctx;

void tn_report_markdown(FILE *f, const tn_results *r, const tn_report_ctx *rc);
int tn_report_json(const char *path, const tn_results *r, const tn_report_ctx *rc);
/* Draws one SVG per plot group into dir; fills rc->plots / plot_status. */
void tn_report_plots(const tn_results *r, const char *dir, tn_report_ctx *rc);

#endif

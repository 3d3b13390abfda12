#include "fit.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof v[0], cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int tn_fit_crossing(const double *x, const double *y, size_t n, double level, tn_crossing *c) {
  if (n > TN_FIT_MAX) return 0;
  double sl[TN_FIT_MAX * (TN_FIT_MAX - 1) / 2], v[TN_FIT_MAX];
  size_t ns = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (x[j] != x[i]) sl[ns++] = (y[j] - y[i]) / (x[j] - x[i]);
  if (ns == 0) return 0;
  double b = median(sl, ns);
  if (!(b > 0)) return 0;
  for (size_t i = 0; i < n; i++) v[i] = y[i] - b * x[i];
  double a = median(v, n);
  double mean = 0, sxx = 0, sse = 0;
  for (size_t i = 0; i < n; i++) mean += x[i] / (double)n;
  for (size_t i = 0; i < n; i++) {
    double e = y[i] - a - b * x[i];
    sxx += (x[i] - mean) * (x[i] - mean);
    sse += e * e;
  }
  c->x = (level - a) / b;
  /* the residual scale in units of x (two degrees of freedom went to the
   * line), then the standard error of the line's value at the solution */
  double s = n > 2 ? sqrt(sse / (double)(n - 2)) / b : 0;
  c->err = s * sqrt(1.0 / (double)n + (c->x - mean) * (c->x - mean) / sxx);
  return 1;
}

double tn_nearest_on_grid(double x, double step, double lo, double hi) {
  double g = step * floor(x / step + 0.5);
  return g < lo ? lo : g > hi ? hi : g;
}

int tn_variant_verdict(const double *ratio, const double *noise, size_t n, double min_margin,
                       tn_verdict *v) {
  if (n == 0 || n > TN_FIT_MAX) return 0;
  double logs = 0, nz[TN_FIT_MAX], worst = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(ratio[i] > 0) || !isfinite(ratio[i])) return 0;
    logs += log(ratio[i]);
    if (ratio[i] > worst) worst = ratio[i];
    nz[i] = noise[i] > 0 && isfinite(noise[i]) ? noise[i] : 0;
  }
  double margin = 2 * median(nz, n);
  if (margin < min_margin) margin = min_margin;
  v->ratio = exp(logs / (double)n);
  v->margin = margin;
  v->rival_wins = v->ratio * (1 + margin) < 1 && worst < 1;
  return 1;
}

double tn_margin(double noise, double min_margin) {
  double m = noise > 0 && isfinite(noise) ? 2 * noise : 0;
  return m > min_margin ? m : min_margin;
}

double tn_thread_threshold(const double *work, const double *ratio, const double *noise,
                           size_t n, double min_margin, double current, int *kept) {
  *kept = 1;
  if (n == 0) return current;
  /* one < 0 .. n-1: the largest size one thread won; team: the first size
   * above it the team won (n: none) */
  long one = -1;
  for (size_t i = 0; i < n; i++) {
    if (ratio[i] > 1 + tn_margin(noise[i], min_margin)) one = (long)i;
  }
  size_t team = n;
  for (size_t i = (size_t)(one + 1); i < n; i++) {
    if (ratio[i] * (1 + tn_margin(noise[i], min_margin)) < 1) {
      team = i;
      break;
    }
  }
  if (one >= 0 && current <= work[one]) {
    *kept = 0;
    return (size_t)one + 1 < n ? sqrt(work[one] * work[one + 1]) : 2 * work[one];
  }
  if (team < n && current > work[team]) {
    *kept = 0;
    return team > 0 ? sqrt(work[team - 1] * work[team]) : work[0] / 2;
  }
  return current;
}

/* A straight line through noisy points, fitted robustly, and where it
 * crosses a level: how the rank study turns its comparisons into a
 * crossover (study_rank.c). */
#ifndef TN_FIT_H
#define TN_FIT_H

#include <stddef.h>

#define TN_FIT_MAX 64 /* points one fit takes at most */

typedef struct tn_crossing {
  double x;   /* where the line reaches the level */
  double err; /* its standard error, in units of x, from the residuals */
} tn_crossing;

/* Theil–Sen line through (x_i, y_i): the median of the pairwise slopes
 * and the median intercept, so a few wild points cannot drag it (up to
 * 29% of them). Solved for y = level. The error is the residual standard
 * error carried to the solution as a least-squares line would carry it:
 * not robust on purpose, so that a wild point the line ignored still
 * shows as doubt. Returns 0, leaving *c alone, when the line does not
 * rise (nothing to solve), when fewer than two x differ, or when n is
 * above TN_FIT_MAX. */
int tn_fit_crossing(const double *x, const double *y, size_t n, double level, tn_crossing *c);

#endif

/* A straight line through noisy points, fitted robustly, and where it
 * crosses a level: how the rank study turns its comparisons into a
 * crossover (study_rank.c); and the variant study's decision rule. */
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

/* The multiple of step nearest x (halves round up), clamped to [lo, hi]:
 * how the rank study puts a fitted crossing, and the ranks it times, on
 * its grid. */
double tn_nearest_on_grid(double x, double step, double lo, double hi);

/* Whether a rival variant replaces the registry's default (what the
 * library runs without a profile): the variant study's rule, so that two
 * tunes of one machine make the same choice when the timings are within
 * noise of each other. ratio[i]: the rival's time over the default's on
 * shape class i, from paired (alternating) timings; noise[i]: how much in
 * doubt that ratio is, as a fraction (the study gives the distance between
 * the fastest samples' ratio and the median of the per-pair ratios).
 * The rival wins only when it is faster overall — the geometric mean of
 * the ratios below 1 / (1 + margin), where margin = max(min_margin, 2 ×
 * the median noise) — and faster on every class (every ratio below 1): a
 * big win on one shape does not buy a loss on another. Ties go to the
 * default. */
typedef struct tn_verdict {
  double ratio;  /* the rival's time over the default's, geometric mean */
  double margin; /* the fraction the rival had to be faster by */
  int rival_wins;
} tn_verdict;
/* Returns 0 (and the default stays) when n is 0 or a ratio is not
 * positive; otherwise 1 with *v filled. */
int tn_variant_verdict(const double *ratio, const double *noise, size_t n, double min_margin,
                       tn_verdict *v);

/* What one paired ratio must beat 1 by: max(min_margin, 2 x its noise). */
double tn_margin(double noise, double min_margin);

/* The single-thread threshold (work below which an op runs on one thread)
 * from a ladder of sizes: work[i] ascending, ratio[i] the team's time over
 * one thread's (paired), noise[i] as above. At a size one side wins only by
 * more than the margin, max(min_margin, 2 x that size's noise). The
 * timings then fit any threshold above the largest size one thread won and
 * at or below the first size above it the team won; the current threshold
 * (the compiled-in default) stays when it is in that interval, else the
 * threshold moves to the geometric middle of the ladder step at the
 * interval's near edge (half the smallest size when the team won at every
 * size, twice the largest when one thread won at the largest). Near the
 * crossover the two sides tie over a wide range of sizes, where a "first
 * size the team won by 10%" fell anywhere from one tune to the next; ties
 * now leave the threshold where it was. *kept: 1 when current stayed.
 * Returns current when n is 0. */
double tn_thread_threshold(const double *work, const double *ratio, const double *noise,
                           size_t n, double min_margin, double current, int *kept);

#endif

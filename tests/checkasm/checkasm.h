/* checkasm-style verification harness (dav1d's tests/checkasm is the model).
 *
 * For every variant in the registry that the host can run, the op's checker
 * compares it with a float64 reference over randomized shapes: sizes 1,
 * vector width ± 1, tails, odd leading dimensions, unaligned pointers, with
 * guard zones around every output. Variants the host cannot run are
 * reported SKIPPED, never passed. A variant whose op has no checker fails:
 * registering an op without a checker is a defect.
 *
 * A checker is a pair of functions over one variant; it reports problems
 * with ck_fail() and uses the helpers below for inputs and comparisons. */
#ifndef GK_CHECKASM_H
#define GK_CHECKASM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/internal.h"

typedef struct ck_checker {
  gk_op op;
  /* Check variant v against the reference; problems via ck_fail(). */
  void (*check)(const gk_variant *v);
  /* Time v on representative shapes via ck_bench_report(). May be NULL. */
  void (*bench)(const gk_variant *v);
} ck_checker;

/* ------------------------------------------------------------ reporting */
/* Record a failure of the variant under check (printf-style detail). The
 * first few failures per variant are printed; all are counted. */
void ck_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Failures so far for the variant under check (checkers may stop early). */
int ck_failures(void);
/* Starts checking variant v: failures counted from zero. */
void ck_begin(const gk_variant *v);

/* ------------------------------------------------------------ randomness */
uint64_t ck_rand(void);           /* seeded by --seed; reproducible */
size_t ck_rand_range(size_t lo, size_t hi); /* inclusive */
float ck_rand_float(void);        /* uniform in [-1, 1) */
void ck_fill(float *p, size_t n); /* uniform [-1, 1) */

/* -------------------------------------------------- guarded test buffers */
/* A rows x cols matrix with leading dimension ld, placed at a random
 * misalignment (0..15 floats) inside an allocation with guard zones before
 * and after. Every element outside the rows x cols window (the guards and
 * the ld gaps) holds a sentinel; ck_buf_check() verifies they survived. */
typedef struct ck_buf {
  float *data;   /* element (0,0) */
  size_t rows, cols, ld;
  float *base;   /* allocation */
  size_t total, offset;
} ck_buf;
ck_buf ck_buf_new(size_t rows, size_t cols, size_t ld);
void ck_buf_fill(ck_buf *b); /* random values in the window */
/* Returns 1 if every sentinel is intact, else reports via ck_fail(). */
int ck_buf_check(const ck_buf *b, const char *what);
/* Whether f is the sentinel, bit for bit (compare values, not the guards:
 * under AddressSanitizer the guards are poisoned). */
int ck_is_sentinel(float f);
void ck_buf_free(ck_buf *b);
/* A leading dimension for `cols`: cols itself, or cols plus an odd pad. */
size_t ck_pick_ld(size_t cols);

/* --------------------------------------------------------- comparisons */
/* Compare got[i] (float) with ref[i] (double) where each ref entry's error
 * bound is tol[i] (absolute). Reports the worst offender; returns 1 if all
 * are within bounds. NaN/Inf in got fail unless ref has the same. */
int ck_compare(const char *what, const float *got, size_t ld_got, const double *ref,
               const double *tol, size_t rows, size_t cols);

/* The documented float tolerance for a reduction of length n whose terms
 * have absolute sum `mag`: 4·n·FLT_EPSILON·mag plus a tiny absolute floor. */
double ck_tol_reduction(size_t n, double mag);

/* The most rows of M that the GEMM engine runs as one row block on the
 * tile of v (a gemm or lowrank variant), with that block's K: the packed A
 * block, T and the scratch at their largest. */
void ck_largest_row_block(const gk_variant *v, size_t *M, size_t *K);

/* ------------------------------------------------------------- benching */
int ck_benching(void);
/* Median ns of fn(arg) over repeated timed runs of at least ~20 ms total. */
double ck_time_ns(void (*fn)(void *), void *arg);
/* Prints one bench line for the variant under check. */
void ck_bench_report(const char *shape, double ns, double flops);

#endif

/* checkasm driver: iterates the registry, runs each op's checker on every
 * variant the host supports, reports SKIPPED for the rest. See checkasm.h.
 *
 *   checkasm [--seed N] [--op NAME] [--variant SUBSTR] [--bench] [--list]
 *
 * Exit status: 0 when nothing failed, 1 otherwise (meson's exit-code
 * protocol). The seed is printed first so any failure can be replayed. */
#include "checkasm.h"
#include "kernels/gemm/gemm.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Under AddressSanitizer the guard zones are poisoned, so that a kernel
 * reading past a matrix (a full vector over its last row's end, which
 * outside the tests may cross into an unmapped page) is reported, not
 * just one writing there. */
#if defined(__SANITIZE_ADDRESS__)
#define CK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CK_ASAN 1
#endif
#endif
#ifdef CK_ASAN
#include <sanitizer/asan_interface.h>
#define ck_poison(p, n) ASAN_POISON_MEMORY_REGION(p, (n) * sizeof(float))
#define ck_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, (n) * sizeof(float))
#else
#define ck_poison(p, n) ((void)(p), (void)(n))
#define ck_unpoison(p, n) ((void)(p), (void)(n))
#endif

/* Every op's checker. A new op adds its line here. */
extern const ck_checker ck_check_gemm;
extern const ck_checker ck_check_lowrank;
extern const ck_checker ck_check_attention;
extern const ck_checker ck_check_linformer;
extern const ck_checker ck_check_hash;
extern const ck_checker ck_check_hamming_dist;
extern const ck_checker ck_check_hamming_quad;
extern const ck_checker ck_check_hamming_linear;

/* --selftest: mutants the checkers must catch (see check_gemm.c). */
int ck_selftest_gemm(void);

static const ck_checker *const checkers[] = {
    &ck_check_gemm,
    &ck_check_lowrank,
    &ck_check_attention,
    &ck_check_linformer,
    &ck_check_hash,
    &ck_check_hamming_dist,
    &ck_check_hamming_quad,
    &ck_check_hamming_linear,
};

static struct {
  uint64_t seed, rng;
  int bench, quiet;
  const gk_variant *current;
  int failures;
} st;

/* ------------------------------------------------------------ reporting */
void ck_fail(const char *fmt, ...) {
  if (st.failures++ < 5 && !st.quiet) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    FAIL %s: ", st.current ? st.current->name : "?");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
  }
}
int ck_failures(void) { return st.failures; }
void ck_begin(const gk_variant *v) {
  st.current = v;
  st.failures = 0;
}

/* ------------------------------------------------------------ randomness */
uint64_t ck_rand(void) { /* splitmix64 */
  uint64_t z = (st.rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
size_t ck_rand_range(size_t lo, size_t hi) {
  return lo + (size_t)(ck_rand() % (uint64_t)(hi - lo + 1));
}
float ck_rand_float(void) { return (float)((double)(ck_rand() >> 40) / (double)(1ull << 23) - 1.0); }
void ck_fill(float *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = ck_rand_float();
}

/* -------------------------------------------------- guarded test buffers */
#define CK_GUARD 64 /* floats before and after the matrix */
static const uint32_t sentinel_bits = 0x7fa5a5a5u; /* a signalling-style NaN */

static float sentinel(void) {
  float f;
  memcpy(&f, &sentinel_bits, sizeof f);
  return f;
}
int ck_is_sentinel(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b == sentinel_bits;
}

size_t ck_pick_ld(size_t cols) {
  switch (ck_rand() % 3) {
    case 0: return cols;
    case 1: return cols + 1 + 2 * (ck_rand() % 4); /* odd pad */
    default: return cols + 16;
  }
}

/* Off for --selftest, whose mutants write into the guards on purpose for
 * ck_buf_check to find. */
static int guards_poisoned = 1;

static void poison_guards(const ck_buf *b) {
  if (!guards_poisoned) return;
  ck_poison(b->base, b->offset);
  ck_poison(b->base + (b->total - CK_GUARD), CK_GUARD);
}

ck_buf ck_buf_new(size_t rows, size_t cols, size_t ld) {
  ck_buf b = {0};
  b.rows = rows, b.cols = cols, b.ld = ld;
  b.offset = CK_GUARD + (size_t)(ck_rand() % 16);
  b.total = b.offset + (rows ? (rows - 1) * ld + cols : 0) + CK_GUARD;
  b.base = gk_aligned_alloc(b.total * sizeof(float));
  if (!b.base) {
    fprintf(stderr, "checkasm: out of memory\n");
    exit(2);
  }
  float s = sentinel();
  for (size_t i = 0; i < b.total; i++) b.base[i] = s;
  b.data = b.base + b.offset;
  poison_guards(&b);
  return b;
}

void ck_buf_fill(ck_buf *b) {
  for (size_t i = 0; i < b->rows; i++) ck_fill(b->data + i * b->ld, b->cols);
}

int ck_buf_check(const ck_buf *b, const char *what) {
  ck_unpoison(b->base, b->total);
  int ok = 1;
  for (size_t i = 0; i < b->total && ok; i++) {
    size_t rel = i - b->offset;
    int inside = i >= b->offset && rel / b->ld < b->rows && rel % b->ld < b->cols;
    if (!inside && !ck_is_sentinel(b->base[i])) {
      if (i < b->offset) ck_fail("%s: wrote %zu floats before the output", what, b->offset - i);
      else if (rel / b->ld >= b->rows) ck_fail("%s: wrote past the output's end", what);
      else ck_fail("%s: wrote into the leading-dimension gap (row %zu, col %zu)", what,
                   rel / b->ld, rel % b->ld);
      ok = 0;
    }
  }
  poison_guards(b);
  return ok;
}

void ck_buf_free(ck_buf *b) {
  ck_unpoison(b->base, b->total);
  gk_aligned_free(b->base);
  b->base = b->data = NULL;
}

/* --------------------------------------------------------- comparisons */
double ck_tol_reduction(size_t n, double mag) {
  return 4.0 * (double)(n ? n : 1) * FLT_EPSILON * mag + 1e-30;
}

int ck_compare(const char *what, const float *got, size_t ld_got, const double *ref,
               const double *tol, size_t rows, size_t cols) {
  double worst = 0;
  size_t wi = 0, wj = 0, bad = 0;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      double g = got[i * ld_got + j], r = ref[i * cols + j], t = tol[i * cols + j];
      double err = fabs(g - r);
      int ok = err <= t || (isnan(r) && isnan(g)) || (isinf(r) && g == r);
      if (!ok) {
        bad++;
        double ratio = isfinite(err) && t > 0 ? err / t : INFINITY;
        if (ratio > worst || !bad) worst = ratio, wi = i, wj = j;
      }
    }
  if (bad) {
    ck_fail("%s: %zu of %zu elements off; worst at (%zu,%zu): got %.9g want %.9g (tol %.3g)",
            what, bad, rows * cols, wi, wj, got[wi * ld_got + wj], ref[wi * cols + wj],
            tol[wi * cols + wj]);
    return 0;
  }
  return 1;
}

/* ------------------------------------------------------------- benching */
int ck_benching(void) { return st.bench; }

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double ck_time_ns(void (*fn)(void *), void *arg) {
  fn(arg); /* warm-up */
  /* FFTW-style doubling: grow the repetition count until a sample lasts
   * at least 1 ms, so timer resolution is irrelevant. */
  unsigned reps = 1;
  for (;;) {
    double t0 = now_ns();
    for (unsigned r = 0; r < reps; r++) fn(arg);
    if (now_ns() - t0 >= 1e6 || reps >= (1u << 20)) break;
    reps *= 2;
  }
  enum { SAMPLES = 15 };
  double s[SAMPLES];
  for (int k = 0; k < SAMPLES; k++) {
    double t0 = now_ns();
    for (unsigned r = 0; r < reps; r++) fn(arg);
    s[k] = (now_ns() - t0) / reps;
  }
  qsort(s, SAMPLES, sizeof s[0], cmp_double);
  return s[SAMPLES / 2];
}

void ck_bench_report(const char *shape, double ns, double flops) {
  printf("    %-40s %-28s %12.1f ns", st.current->name, shape, ns);
  if (flops > 0) printf("  %8.2f GFLOP/s", flops / ns);
  putchar('\n');
}

/* ----------------------------------------------------------------- main */
static const ck_checker *checker_for(gk_op op) {
  for (size_t i = 0; i < sizeof(checkers) / sizeof(checkers[0]); i++)
    if (checkers[i]->op == op) return checkers[i];
  return NULL;
}

static void usage(void) {
  puts("usage: checkasm [--seed N] [--op NAME] [--variant SUBSTR] [--bench] [--list] [--selftest]\n"
       "  Checks every registered kernel variant the host supports against the\n"
       "  float64 reference; variants the host lacks are SKIPPED.\n"
       "  --seed N        replay a run (the seed is printed first)\n"
       "  --op NAME       only this op (see --list)\n"
       "  --variant STR   only variants whose name contains STR\n"
       "  --bench         also time every checked variant\n"
       "  --list          list the registry and exit\n"
       "  --selftest      check that the harness catches broken kernels");
}

int main(int argc, char **argv) {
  const char *only_op = NULL, *only_variant = NULL;
  int list = 0, selftest = 0;
  st.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) st.seed = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--op") && i + 1 < argc) only_op = argv[++i];
    else if (!strcmp(argv[i], "--variant") && i + 1 < argc) only_variant = argv[++i];
    else if (!strcmp(argv[i], "--bench")) st.bench = 1;
    else if (!strcmp(argv[i], "--list")) list = 1;
    else if (!strcmp(argv[i], "--selftest")) selftest = 1;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(), 0;
    else return usage(), 2;
  }
  if (gk_init() != GK_OK) {
    fprintf(stderr, "checkasm: gk_init failed\n");
    return 1;
  }
  const gk_ctx *c = gk_ctx_get();
  char feat[128];
  gk_cpu_features_string(c->usable, feat, sizeof feat);
  printf("checkasm: seed %" PRIu64 " | isa %s | usable features: %s\n", st.seed,
         gk_isa_name(c->isa), feat);

  if (selftest) {
    st.quiet = 1;
    guards_poisoned = 0;
    st.rng = st.seed;
    int missed = ck_selftest_gemm();
    printf("%s\n", missed ? "selftest: FAILED" : "selftest: every mutant caught");
    return missed ? 1 : 0;
  }

  const gk_registry *r = gk_registry_get();
  if (list) {
    for (size_t i = 0; i < r->count; i++)
      printf("%-16s %-44s %s\n", gk_op_to_name(r->v[i]->op), r->v[i]->name,
             gk_variant_usable(r->v[i]) ? "" : "(not on this host)");
    return 0;
  }

  int passed = 0, failed = 0, skipped = 0;
  for (size_t i = 0; i < r->count; i++) {
    const gk_variant *v = r->v[i];
    if (only_op && strcmp(only_op, gk_op_to_name(v->op))) continue;
    if (only_variant && !strstr(v->name, only_variant)) continue;
    ck_begin(v);
    const ck_checker *ch = checker_for(v->op);
    if (!gk_variant_usable(v)) {
      printf("  SKIPPED %-16s %s (host lacks its ISA)\n", gk_op_to_name(v->op), v->name);
      skipped++;
      continue;
    }
    if (!ch) {
      ck_fail("op '%s' has no checker", gk_op_to_name(v->op));
    } else {
      /* Each variant sees its own deterministic stream: replaying one
       * variant with --variant gives the same shapes as the full run. */
      st.rng = st.seed ^ (0x632be59bd9b4e019ull * (i + 1));
      ch->check(v);
    }
    printf("  %-7s %-16s %s\n", st.failures ? "FAILED" : "ok", gk_op_to_name(v->op), v->name);
    if (st.failures) failed++;
    else passed++;
    if (st.bench && ch && ch->bench && !st.failures) ch->bench(v);
    fflush(stdout);
  }
  printf("checkasm: seed %" PRIu64 "\n", st.seed);
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}

void ck_largest_row_block(const gk_variant *v, size_t *M, size_t *K) {
  const gk_gemm_impl *im = v->impl;
  gk_gemm_blocking bl = gk_gemm_blocking_for(v->isa, im->mr, im->nr);
  size_t m = 2 * bl.mc;
  while (gk_gemm_row_block(m, bl.mc, im->mr) < m) m--;
  *M = m, *K = bl.kc + 16; /* past one K block: the block at full depth */
}

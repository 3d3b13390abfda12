/* The profile parser and writer (kernels/profile.c): round trip, the
 * files it must refuse (foreign, older, truncated, garbage, hostile) and
 * entry-by-entry fallback, atomic writes under concurrency, and the
 * crossover interpolation over the loaded tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels/internal.h"
#include "kernels/profile.h"

static const char *SIG = "x86_64;TestVendor;family 1 model 2 stepping 3;avx2;l1d=1;build=t";

/* The k-th GEMM variant of the registry (k = 0: the scalar one, which
 * registers first), NULL past the last. */
static const gk_variant *gemm_variant(size_t k) {
  const gk_registry *r = gk_registry_get();
  for (size_t i = 0; i < r->count; i++)
    if (r->v[i]->op == GK_OP_GEMM && !k--) return r->v[i];
  return NULL;
}

static const char *scalar_gemm(void) {
  const gk_variant *v = gemm_variant(0);
  assert_int_equal(v->isa, GK_ISA_SCALAR);
  return v->name;
}

/* A tuning with every kind of entry set. */
static void sample(gk_tuning *t) {
  memset(t, 0, sizeof(*t));
  /* per shape class: gemm's two, and an op with one */
  snprintf(t->variant[GK_OP_GEMM][GK_CLASS_DECODE], sizeof t->variant[0][0], "%s", scalar_gemm());
  snprintf(t->variant[GK_OP_GEMM][GK_CLASS_PREFILL], sizeof t->variant[0][0], "%s",
           gemm_variant(1) ? gemm_variant(1)->name : scalar_gemm());
  snprintf(t->variant[GK_OP_ATTENTION][0], sizeof t->variant[0][0], "%s",
           gk_dispatch(GK_OP_ATTENTION)->name);
  t->single_thread_below[GK_OP_GEMM] = 1234567;
  gk_tuning_put_blocking(t, (gk_blocking_point){gemm_variant(0), 96, 384, 4096, 20, 6});
  /* a second tile, when the build has one, without in-place limits */
  if (gemm_variant(1))
    gk_tuning_put_blocking(t, (gk_blocking_point){gemm_variant(1), 240, 256, 8192, 0, 0});
  t->noise_permille = 31;
  t->tune_threads = 2;
  const uint32_t Ms[] = {1, 64, 4096};
  for (int i = 0; i < 3; i++) {
    gk_tuning_put_rank(t, (gk_rank_point){Ms[i], 768, 3072, 100 + 50 * (uint32_t)i, 4});
    gk_tuning_put_rank(t, (gk_rank_point){Ms[i], 768, 768, 80 + 40 * (uint32_t)i, 7 + (uint32_t)i});
  }
  gk_tuning_put_seq(t, (gk_seq_point){GK_SEQ_KIND_HAMMING_LINEAR, 16, 64, 1, 384});
  gk_tuning_put_seq(t, (gk_seq_point){GK_SEQ_KIND_HAMMING_LINEAR, 16, 64, 0, 256});
  gk_tuning_put_seq(t, (gk_seq_point){GK_SEQ_KIND_LINFORMER_FULL, 128, 64, 0, 1024});
}

static gk_status parse(const char *text, size_t len, gk_tuning *t, gk_profile_result *res) {
  return gk_profile_parse(text, len, SIG, ~0u, getenv("GK_VERBOSE") != NULL, t, res);
}

static void test_round_trip(void **state) {
  (void)state;
  gk_tuning a, b;
  sample(&a);
  char *text = gk_profile_format(&a, SIG);
  assert_non_null(text);
  memset(&b, 0, sizeof b);
  gk_profile_result res;
  assert_int_equal(parse(text, strlen(text), &b, &res), GK_OK);
  assert_int_equal(res.rejected, 0);
  assert_int_equal(res.accepted, 3 + 1 + a.n_blocking + 1 + 1 + 6 + 3);
  assert_memory_equal(&a, &b, sizeof a);
  /* deterministic: the same tuning gives the same bytes */
  char *again = gk_profile_format(&b, SIG);
  assert_string_equal(text, again);
  /* sorted: rank points by (K, N, M), variants by op then class */
  assert_true(strstr(text, "variant gemm decode ") < strstr(text, "variant gemm prefill "));
  assert_true(strstr(text, "variant gemm prefill ") < strstr(text, "variant attention all "));
  assert_true(strstr(text, "rank_crossover 1 768 768") < strstr(text, "rank_crossover 64 768 768"));
  assert_true(strstr(text, "rank_crossover 4096 768 768") < strstr(text, "rank_crossover 1 768 3072"));
  free(again);
  free(text);
}

/* The file as a whole is refused: nothing applied, status BAD_FORMAT. */
static void expect_refused(const char *text, size_t len) {
  gk_tuning t, before;
  gk_tuning_defaults(&t, NULL);
  before = t;
  gk_profile_result res;
  assert_int_equal(parse(text, len, &t, &res), GK_ERR_BAD_FORMAT);
  assert_memory_equal(&t, &before, sizeof t);
  assert_int_equal(res.accepted, 0);
  assert_true(res.why[0] != '\0');
}

static void test_foreign_older_newer(void **state) {
  (void)state;
  gk_tuning a;
  sample(&a);
  char *text = gk_profile_format(&a, "aarch64;0x41;MIDR 0x410fd0c0;neon;build=t");
  expect_refused(text, strlen(text));
  free(text);
  text = gk_profile_format(&a, SIG);
  /* 0, the version before this one (its rank entries lack a field), the next */
  const int versions[] = {0, GK_PROFILE_VERSION - 1, GK_PROFILE_VERSION + 1};
  for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
    char *body = strchr(text, '\n'), copy[8192];
    snprintf(copy, sizeof copy, "greenkern-profile %d%s", versions[i], body);
    expect_refused(copy, strlen(copy));
  }
  /* our signature as a prefix of theirs is still foreign */
  char sig_longer[256];
  snprintf(sig_longer, sizeof sig_longer, "%s;extra", SIG);
  char *other = gk_profile_format(&a, sig_longer);
  expect_refused(other, strlen(other));
  free(other);
  free(text);
}

static void test_truncated(void **state) {
  (void)state;
  gk_tuning a;
  sample(&a);
  char *text = gk_profile_format(&a, SIG);
  size_t len = strlen(text);
  /* every proper prefix but the one missing only the final newline */
  for (size_t cut = 0; cut + 1 < len; cut++) expect_refused(text, cut);
  gk_tuning t;
  memset(&t, 0, sizeof t);
  assert_int_equal(parse(text, len - 1, &t, NULL), GK_OK);
  /* content after the trailer, or a wrong count */
  char buf[8192];
  snprintf(buf, sizeof buf, "%snoise_permille 1\n", text);
  expect_refused(buf, strlen(buf));
  char *end = strstr(text, "\nend ");
  snprintf(buf, sizeof buf, "%.*s\nend 3\n", (int)(end - text), text);
  expect_refused(buf, strlen(buf));
  free(text);
}

static void test_garbage(void **state) {
  (void)state;
  expect_refused("", 0);
  expect_refused("hello world\n", 12);
  expect_refused("greenkern-profile\n", 18);
  expect_refused("greenkern-profile 99999999999999999999999\n", 42);
  char header[512];
  snprintf(header, sizeof header, "greenkern-profile %d\nsignature %s\n", GK_PROFILE_VERSION, SIG);
  expect_refused(header, strlen(header)); /* no trailer */
  /* random bytes, with and without a valid header in front */
  unsigned seed = 12345;
  char *buf = malloc(70000);
  for (int round = 0; round < 200; round++) {
    size_t hl = (round & 1) ? strlen(header) : 0;
    memcpy(buf, header, hl);
    size_t n = hl + (size_t)(rand_r(&seed) % 60000);
    for (size_t i = hl; i < n; i++) buf[i] = (char)(rand_r(&seed) & 0xff);
    gk_tuning t;
    gk_tuning_defaults(&t, NULL);
    parse(buf, n, &t, NULL); /* must not crash; the sanitizers watch */
  }
  free(buf);
}

/* Hostile entries inside an otherwise valid file: each is rejected on its
 * own, the good ones still apply. */
static void test_hostile_entries(void **state) {
  (void)state;
  size_t cap = 300000, n = 0;
  char *buf = malloc(cap);
  n += (size_t)snprintf(buf + n, cap - n, "greenkern-profile %d\nsignature %s\n",
                        GK_PROFILE_VERSION, SIG);
  const char *bad[] = {
      "rank_crossover 99999999999999999999999999 768 768 10 1",
      "rank_crossover 64 768 768 18446744073709551616 1",
      "rank_crossover 64 768 768 769 1",        /* r > min(K, N) */
      "rank_crossover 64 768 768 300 769",      /* error > min(K, N) */
      "rank_crossover 0 768 768 10 1",          /* zero size */
      "rank_crossover -1 768 768 10 1",         /* sign */
      "rank_crossover 64 768 768 1e3 1",        /* exponent */
      "rank_crossover 64 768 768 300",          /* missing field (version 1's form) */
      "gemm_blocking TILE 1 1 1",               /* below sane */
      "gemm_blocking TILE 99999999 64 64",      /* above sane */
      "gemm_blocking 64 256 2048",              /* no tile (version 2's form) */
      "gemm_blocking no_such_tile 64 256 2048", /* unknown tile */
      "gemm_blocking LOWRANK 64 256 2048",      /* a rank-r variant is no GEMM tile */
      "gemm_blocking TILE 64 256 2048 0 6",     /* in place on no row tiles */
      "gemm_blocking TILE 64 256 2048 12",      /* one in-place limit of two */
      "gemm_blocking TILE 64 256 2048 12 9999", /* above sane */
      "single_thread_below nosuchop 100",
      "single_thread_below gemm 1e30",
      "variant gemm decode no_such_variant",
      "variant nosuchop all x",
      "variant gemm TILE",                      /* no class (version 2's form) */
      "variant gemm all TILE",                  /* gemm has decode and prefill */
      "variant gemm Decode TILE",               /* names are exact */
      "variant hash decode x",                  /* hash has one class, all */
      "seq_crossover warp_drive 16 64 0 100",
      "seq_crossover hamming_linear 16 64 2 100", /* causal not 0/1 */
      "tune_threads 0",
      "unknown_key 1 2 3",
      "a b c d e f g h i j k",                   /* too many fields */
      "noise_permille \xff\xfe",                 /* non-printable */
  };
  unsigned entries = 0;
  const char *tile = scalar_gemm(), *lowrank = NULL;
  const gk_registry *reg = gk_registry_get();
  for (size_t i = 0; i < reg->count; i++)
    if (reg->v[i]->op == GK_OP_LOWRANK) lowrank = reg->v[i]->name;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++, entries++) {
    /* TILE, LOWRANK: names of this build's scalar GEMM and a rank-r variant */
    const char *at = strstr(bad[i], "TILE"), *lr = strstr(bad[i], "LOWRANK");
    const char *name = at ? tile : lowrank, *mark = at ? at : lr;
    size_t skip = at ? 4 : 7;
    if (mark)
      n += (size_t)snprintf(buf + n, cap - n, "%.*s%s%s\n", (int)(mark - bad[i]), bad[i], name,
                            mark + skip);
    else
      n += (size_t)snprintf(buf + n, cap - n, "%s\n", bad[i]);
  }
  /* a very long line */
  n += (size_t)snprintf(buf + n, cap - n, "rank_crossover ");
  memset(buf + n, '9', 200000), n += 200000;
  buf[n++] = '\n', entries++;
  /* a NUL byte inside an entry */
  memcpy(buf + n, "noise_permille 64\0 64 64\n", 25), n += 25, entries++;
  /* the good ones */
  n += (size_t)snprintf(buf + n, cap - n, "rank_crossover 64 768 768 300 6\n"
                                          "# a comment, not an entry\n"
                                          "\n"
                                          "gemm_blocking %s 64 256 2048\n", tile);
  entries += 2;
  n += (size_t)snprintf(buf + n, cap - n, "end %u\n", entries);

  gk_tuning t;
  gk_tuning_defaults(&t, NULL);
  gk_profile_result res;
  assert_int_equal(parse(buf, n, &t, &res), GK_OK);
  assert_int_equal(res.accepted, 2);
  assert_int_equal(res.rejected, entries - 2);
  assert_int_equal(t.n_rank, 1);
  assert_int_equal(t.rank[0].r, 300);
  assert_int_equal(t.rank[0].err, 6);
  assert_int_equal(t.n_blocking, 1);
  assert_ptr_equal(t.blocking[0].tile, gemm_variant(0));
  assert_int_equal(t.blocking[0].mc, 64);
  assert_int_equal(t.blocking[0].kc, 256);
  assert_int_equal(t.blocking[0].nc, 2048);
  for (unsigned cls = 0; cls < GK_MAX_CLASSES; cls++)
    assert_string_equal(t.variant[GK_OP_GEMM][cls], "");
  assert_true(t.single_thread_below[GK_OP_GEMM] == 1e6);
  free(buf);
}

static void test_variant_must_run_here(void **state) {
  (void)state;
  const gk_registry *r = gk_registry_get();
  for (size_t i = 0; i < r->count; i++) {
    const gk_variant *v = r->v[i];
    char text[512];
    gk_tuning t;
    gk_profile_result res;
    for (unsigned cls = 0; cls < gk_op_classes(v->op); cls++) {
      snprintf(text, sizeof text, "greenkern-profile %d\nsignature %s\nvariant %s %s %s\nend 1\n",
               GK_PROFILE_VERSION, SIG, gk_op_to_name(v->op), gk_class_name(v->op, cls), v->name);
      memset(&t, 0, sizeof t);
      /* a host with no SIMD features may only take the scalar variants */
      assert_int_equal(gk_profile_parse(text, strlen(text), SIG, 0, 0, &t, &res), GK_OK);
      assert_int_equal(res.accepted, v->requires == 0);
      assert_int_equal(t.variant[v->op][cls][0] != '\0', v->requires == 0);
    }
    if (v->op != GK_OP_GEMM) continue;
    /* so may the tiles a gemm_blocking names */
    snprintf(text, sizeof text, "greenkern-profile %d\nsignature %s\ngemm_blocking %s 96 384 4096\n"
             "end 1\n", GK_PROFILE_VERSION, SIG, v->name);
    memset(&t, 0, sizeof t);
    assert_int_equal(gk_profile_parse(text, strlen(text), SIG, 0, 0, &t, &res), GK_OK);
    assert_int_equal(t.n_blocking, v->requires == 0);
  }
}

/* A fresh directory under /tmp for one test, and its removal. */
static void temp_dir(char *dir) { assert_non_null(mkdtemp(dir)); }
static void remove_dir(const char *dir) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_load_file(void **state) {
  (void)state;
  char dir[] = "/tmp/gk_profile_test_XXXXXX";
  temp_dir(dir);
  char path[256];
  snprintf(path, sizeof path, "%s/a/b/profile", dir);
  gk_tuning a, b;
  sample(&a);
  char *text = gk_profile_format(&a, SIG);
  assert_int_equal(gk_profile_write_atomic(path, text), GK_OK);
  memset(&b, 0, sizeof b);
  assert_int_equal(gk_profile_load(path, SIG, ~0u, 0, &b, NULL), GK_OK);
  assert_memory_equal(&a, &b, sizeof a);
  /* absent file */
  char missing[300];
  snprintf(missing, sizeof missing, "%s/none", dir);
  assert_int_equal(gk_profile_load(missing, SIG, ~0u, 0, &b, NULL), GK_ERR_IO);
  /* a file larger than the cap is refused whole */
  FILE *f = fopen(path, "ab");
  for (size_t i = 0; i <= GK_PROFILE_MAX_BYTES / 16; i++) fputs("# padding......\n", f);
  fclose(f);
  assert_int_equal(gk_profile_load(path, SIG, ~0u, 0, &b, NULL), GK_ERR_BAD_FORMAT);
  /* a directory is not a profile */
  assert_int_not_equal(gk_profile_load(dir, SIG, ~0u, 0, &b, NULL), GK_OK);
  /* a write into a place that cannot exist fails cleanly */
  assert_int_equal(gk_profile_write_atomic("/proc/no/such/profile", text), GK_ERR_IO);
  assert_int_equal(gk_profile_write_atomic("", text), GK_ERR_INVALID_ARG);
  free(text);
  remove_dir(dir);
}

/* Two writers racing on one path: afterwards the file is one writer's
 * complete text, and no temporary file is left behind. */
static void test_concurrent_writers(void **state) {
  (void)state;
  char dir[] = "/tmp/gk_profile_race_XXXXXX";
  temp_dir(dir);
  char path[256];
  snprintf(path, sizeof path, "%s/profile", dir);
  gk_tuning a, b;
  sample(&a);
  sample(&b);
  b.blocking[0].mc = 128;
  char *ta = gk_profile_format(&a, SIG), *tb = gk_profile_format(&b, SIG);
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork();
    assert_true(kids[k] >= 0);
    if (kids[k] == 0) {
      for (int i = 0; i < 100; i++)
        if (gk_profile_write_atomic(path, k ? tb : ta) != GK_OK) _exit(1);
      _exit(0);
    }
  }
  /* meanwhile every read sees a whole profile */
  for (int i = 0; i < 200; i++) {
    gk_tuning t;
    memset(&t, 0, sizeof t);
    gk_status s = gk_profile_load(path, SIG, ~0u, 0, &t, NULL);
    assert_true(s == GK_OK || s == GK_ERR_IO); /* IO: not yet created */
  }
  for (int k = 0; k < 2; k++) {
    int st;
    assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  gk_tuning t;
  memset(&t, 0, sizeof t);
  assert_int_equal(gk_profile_load(path, SIG, ~0u, 0, &t, NULL), GK_OK);
  assert_true(t.blocking[0].mc == 96 || t.blocking[0].mc == 128);
  DIR *d = opendir(dir);
  int files = 0;
  for (struct dirent *e; (e = readdir(d));) files += e->d_name[0] != '.';
  closedir(d);
  assert_int_equal(files, 1);
  free(ta);
  free(tb);
  remove_dir(dir);
}

static void test_interpolation(void **state) {
  (void)state;
  gk_tuning t;
  memset(&t, 0, sizeof t);
  /* empty tables: the cost models */
  assert_int_equal(gk_rank_crossover_in(&t, 64, 768, 768), gk_default_rank_crossover(64, 768, 768));
  assert_int_equal(gk_hamming_crossover_in(&t, 16, 64, 0), gk_default_hamming_crossover(16, 64, 0));
  sample(&t); /* 768x768: M=1 -> 80, M=64 -> 120, M=4096 -> 160 */
  assert_int_equal(gk_rank_crossover_in(&t, 1, 768, 768), 80);
  assert_int_equal(gk_rank_crossover_in(&t, 64, 768, 768), 120);
  assert_int_equal(gk_rank_crossover_in(&t, 4096, 768, 768), 160);
  assert_int_equal(gk_rank_crossover_in(&t, 8, 768, 768), 100);   /* halfway in log M */
  assert_int_equal(gk_rank_crossover_in(&t, 100000, 768, 768), 160); /* clamped */
  /* another shape scales by its break-even: 1536x1536 is twice 768x768 */
  assert_int_equal(gk_rank_crossover_in(&t, 64, 1536, 1536), 240);
  assert_int_equal(gk_rank_crossover_in(&t, 64, 768, 3072), 150);
  /* never above min(K, N) */
  assert_true(gk_rank_crossover_in(&t, 64, 4, 100000) <= 4);
  assert_int_equal(gk_hamming_crossover_in(&t, 16, 64, 0), 256);
  assert_int_equal(gk_hamming_crossover_in(&t, 16, 64, 1), 384);
  /* other b: scaled by the cost model's ratio (~2b for d >> b/64) */
  gk_tuning_put_seq(&t, (gk_seq_point){GK_SEQ_KIND_HAMMING_LINEAR, 128, 64, 0, 500});
  size_t scaled = gk_hamming_crossover_in(&t, 256, 64, 0);
  assert_true(scaled > 900 && scaled < 1000);
  int measured;
  assert_int_equal(gk_seq_crossover_in(&t, GK_SEQ_KIND_LINFORMER_FULL, 128, 64, 0, &measured), 1024);
  assert_true(measured);
  gk_seq_crossover_in(&t, GK_SEQ_KIND_LINFORMER_FULL, 64, 64, 0, &measured);
  assert_false(measured);
}

static void test_public_queries_bad_input(void **state) {
  (void)state;
  size_t r = 777;
  assert_int_equal(gk_query_rank_crossover(0, 768, 768, &r), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_rank_crossover(1, 0, 768, &r), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_rank_crossover(1, 768, 0, &r), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_rank_crossover(1, 768, 768, NULL), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_seq_crossover(GK_SEQ_HAMMING_LINEAR, 0, 64, 0, &r), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_seq_crossover(GK_SEQ_HAMMING_LINEAR, 16, 0, 0, &r), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_seq_crossover(GK_SEQ_HAMMING_LINEAR, 16, 64, 2, &r), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_seq_crossover((gk_seq_crossover)9, 16, 64, 0, &r), GK_ERR_INVALID_ARG);
  assert_int_equal(gk_query_seq_crossover(GK_SEQ_HAMMING_LINEAR, 16, 64, 0, NULL), GK_ERR_INVALID_ARG);
  assert_int_equal(r, 777);
  assert_int_equal(gk_query_rank_crossover(1, 768, 768, &r), GK_OK);
  assert_true(r <= 768);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_foreign_older_newer),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_garbage),
      cmocka_unit_test(test_hostile_entries),
      cmocka_unit_test(test_variant_must_run_here),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_concurrent_writers),
      cmocka_unit_test(test_interpolation),
      cmocka_unit_test(test_public_queries_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

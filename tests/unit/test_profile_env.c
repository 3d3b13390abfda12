/* The library's own loading of the profile, one scenario per process
 * (initialisation happens once): argv[1] names the scenario, the test
 * writes the file it needs, points GK_PROFILE or XDG_CONFIG_HOME at it,
 * and checks what the library then uses.
 *   valid    a matching profile: its entries drive the queries, dispatch
 *            (by shape class) and the blocks of the tile it names
 *   partial  a matching profile with bad entries: the good ones apply
 *   foreign  another machine's profile: defaults
 *   garbage  random bytes: defaults
 *   absent   GK_PROFILE names no file: defaults
 *   off      GK_PROFILE=off: defaults even with a user profile present
 *   xdg      found through $XDG_CONFIG_HOME/greenkern/profile */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/gemm/gemm.h"
#include "kernels/internal.h"
#include "kernels/profile.h"

static const char *scenario;
static char dir[64];

static void write_file(const char *path, const char *text) {
  assert_int_equal(gk_profile_write_atomic(path, text), GK_OK);
}

static const char *scalar_gemm_name(void) {
  const gk_registry *r = gk_registry_get();
  for (size_t i = 0; i < r->count; i++)
    if (r->v[i]->op == GK_OP_GEMM && r->v[i]->isa == GK_ISA_SCALAR) return r->v[i]->name;
  fail();
  return NULL;
}

/* The highest priority among op's usable variants (the default choice). */
static int max_priority(gk_op op) {
  const gk_registry *r = gk_registry_get();
  int best = -1;
  for (size_t i = 0; i < r->count; i++)
    if (r->v[i]->op == op && gk_variant_usable(r->v[i]) && r->v[i]->priority > best)
      best = r->v[i]->priority;
  return best;
}

/* This process's signature, computed as init will (same env). */
static void signature(char *sig, size_t n) {
  gk_cpu_info cpu;
  gk_topology topo;
  gk_cpu_detect(&cpu);
  gk_topology_detect(&topo);
  gk_profile_signature(&cpu, &topo, sig, n);
}

/* The profile names the scalar GEMM for the decode class only: gk_gemm
 * calls of up to GK_DECODE_MAX_ROWS rows dispatch to it, larger ones and
 * callers without a class (gk_dispatch, gk_chosen_variant, plans) keep the
 * registry's priority; lowrank is untouched in both classes. */
static void check_dispatch(int tuned) {
  const gk_variant *scalar = gk_registry_find(GK_OP_GEMM, scalar_gemm_name());
  const gk_variant *best = gk_dispatch(GK_OP_GEMM), *lr = gk_dispatch(GK_OP_LOWRANK);
  gk_gemm_args one = {.M = 1}, edge = {.M = GK_DECODE_MAX_ROWS};
  gk_gemm_args more = {.M = GK_DECODE_MAX_ROWS + 1};
  /* (a build with no SIMD variant has nothing else to choose) */
  if (best != scalar) {
    assert_int_equal(gk_dispatch_class(GK_OP_GEMM, gk_gemm_class(&one)) == scalar, tuned);
    assert_int_equal(gk_dispatch_class(GK_OP_GEMM, gk_gemm_class(&edge)) == scalar, tuned);
  }
  assert_ptr_equal(gk_dispatch_class(GK_OP_GEMM, gk_gemm_class(&more)), best);
  assert_string_equal(gk_chosen_variant("gemm"), best->name);
  assert_int_equal(best->priority, max_priority(GK_OP_GEMM));
  for (unsigned cls = 0; cls < GK_MAX_CLASSES; cls++)
    assert_ptr_equal(gk_dispatch_class(GK_OP_LOWRANK, cls), lr);
  /* a class the op lacks: its default */
  assert_ptr_equal(gk_dispatch_class(GK_OP_ATTENTION, 1), gk_dispatch(GK_OP_ATTENTION));
}

/* The profile's blocks (12 24 48) and in-place limits (3 2) apply to the
 * tile they name, the scalar GEMM's 4x4, and to no other: not to another
 * shape, nor to the same shape on another ISA, which keep blocks derived
 * from the caches (KC >= 64 there) and limits from L1d (more than 3). */
static void check_blocking(int tuned) {
  const gk_variant *v = gk_registry_find(GK_OP_GEMM, scalar_gemm_name());
  const gk_gemm_impl *im = v->impl;
  gk_gemm_blocking b = gk_gemm_blocking_for(GK_ISA_SCALAR, im->mr, im->nr);
  assert_int_equal(b.mc == 12 && b.kc == 24 && b.nc == 48, tuned);
  assert_int_equal(b.in_place_tiles == 3 && b.in_place_tiles_aliased == 2, tuned);
  gk_gemm_blocking other = gk_gemm_blocking_for(GK_ISA_SCALAR, im->mr + 4, im->nr);
  assert_true(other.kc >= 64);
  assert_true(other.in_place_tiles > 3);
  assert_true(gk_gemm_blocking_for(GK_ISA_AVX2, im->mr, im->nr).kc >= 64);
}

static void test_scenario(void **state) {
  (void)state;
  char sig[512], path[256], text[2048];
  signature(sig, sizeof sig);
  const char *scalar = scalar_gemm_name();
  snprintf(path, sizeof path, "%s/profile", dir);
  int tuned = 0;
  const char *entries = "rank_crossover 128 768 768 100 5\n"
                        "seq_crossover hamming_linear 16 64 0 999\n"
                        "seq_crossover linformer_full 128 64 0 2048\n";
  if (!strcmp(scenario, "valid") || !strcmp(scenario, "xdg") || !strcmp(scenario, "off")) {
    snprintf(text, sizeof text,
             "greenkern-profile %d\nsignature %s\n%svariant gemm decode %s\n"
             "gemm_blocking %s 12 24 48 3 2\nend 5\n", GK_PROFILE_VERSION, sig, entries, scalar, scalar);
    tuned = strcmp(scenario, "off") != 0;
  } else if (!strcmp(scenario, "partial")) {
    snprintf(text, sizeof text,
             "greenkern-profile %d\nsignature %s\n%svariant gemm decode nonexistent\n"
             "rank_crossover 99999999999999999999 1 1 1 0\n"
             "gemm_blocking no_such_tile 12 24 48\nend 6\n", GK_PROFILE_VERSION, sig, entries);
    tuned = 1;
  } else if (!strcmp(scenario, "foreign")) {
    snprintf(text, sizeof text, "greenkern-profile %d\nsignature %s;other\n%send 3\n",
             GK_PROFILE_VERSION, sig, entries);
  } else if (!strcmp(scenario, "garbage")) {
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof text - 1; i++) text[i] = (char)(1 + rand_r(&seed) % 255);
    text[sizeof text - 1] = '\0';
  }
  if (strcmp(scenario, "absent")) {
    if (!strcmp(scenario, "xdg") || !strcmp(scenario, "off")) {
      char xdg_path[256];
      snprintf(xdg_path, sizeof xdg_path, "%s/greenkern/profile", dir);
      write_file(xdg_path, text);
      setenv("XDG_CONFIG_HOME", dir, 1);
      if (!strcmp(scenario, "off")) setenv("GK_PROFILE", "off", 1);
      else unsetenv("GK_PROFILE");
    } else {
      write_file(path, text);
      setenv("GK_PROFILE", path, 1);
    }
  } else {
    setenv("GK_PROFILE", path, 1); /* never written */
  }

  assert_int_equal(gk_init(), GK_OK);
  size_t rk = 0, n = 0;
  assert_int_equal(gk_query_rank_crossover(128, 768, 768, &rk), GK_OK);
  assert_int_equal(gk_query_seq_crossover(GK_SEQ_HAMMING_LINEAR, 16, 64, 0, &n), GK_OK);
  if (tuned) {
    assert_non_null(gk_profile_path());
    assert_int_equal(rk, 100);
    assert_int_equal(n, 999);
    assert_int_equal(gk_tuned_rank_crossover(128, 768, 768), 100);
    assert_int_equal(gk_query_seq_crossover(GK_SEQ_LINFORMER_FULL, 128, 64, 0, &n), GK_OK);
    assert_int_equal(n, 2048);
    check_dispatch(strcmp(scenario, "partial") == 0 ? 0 : 1);
    check_blocking(strcmp(scenario, "partial") == 0 ? 0 : 1);
  } else {
    check_dispatch(0);
    check_blocking(0);
    assert_null(gk_profile_path());
    assert_int_equal(rk, gk_default_rank_crossover(128, 768, 768));
    assert_int_equal(n, gk_default_hamming_crossover(16, 64, 0));
    assert_int_equal(gk_query_seq_crossover(GK_SEQ_LINFORMER_FULL, 128, 64, 0, &n),
                     GK_ERR_UNSUPPORTED);
  }
  assert_non_null(gk_dispatch(GK_OP_GEMM)); /* a rejected variant falls back */
}

int main(int argc, char **argv) {
  scenario = argc > 1 ? argv[1] : "valid";
  snprintf(dir, sizeof dir, "/tmp/gk_profile_env_XXXXXX");
  if (!mkdtemp(dir)) return 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_scenario)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) rc = 1;
  return rc;
}

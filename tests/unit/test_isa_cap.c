/* GK_ISA capping, run once per setting (tests/meson.build sets GK_ISA and
 * passes the expected cap): the active ISA never exceeds the cap nor the
 * CPU, and every chosen variant belongs to an ISA at or below it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "greenkern.h"
#include "kernels/internal.h"

static const char *want_cap;

static void test_cap(void **state) {
  (void)state;
  const gk_ctx *c = gk_ctx_get();
  gk_isa active = gk_active_isa();
  /* never above what the CPU has */
  assert_int_equal(c->usable & ~c->cpu.features, 0);
  if (!strcmp(want_cap, "scalar")) assert_int_equal(active, GK_ISA_SCALAR);
  if (!strcmp(want_cap, "avx2")) assert_true(active == GK_ISA_AVX2 || active == GK_ISA_SCALAR);
  if (!strcmp(want_cap, "avx2") && (c->cpu.features & GK_CPU_AVX2))
    assert_int_equal(active, GK_ISA_AVX2);
  if (!strcmp(want_cap, "none")) /* unset or garbage: the CPU's best */
    assert_int_equal(c->usable, c->cpu.features);
  for (size_t i = 0; gk_op_name(i); i++)
    for (unsigned cls = 0; cls < gk_op_classes((gk_op)i); cls++) {
      const gk_variant *v = gk_dispatch_class((gk_op)i, cls);
      assert_non_null(v);
      assert_true(v->isa == GK_ISA_SCALAR || v->isa == active ||
                  (active == GK_ISA_AVX512 && v->isa == GK_ISA_AVX2));
      assert_int_equal(v->requires & ~c->usable, 0);
    }
}

int main(int argc, char **argv) {
  want_cap = argc > 1 ? argv[1] : "none";
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_cap)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

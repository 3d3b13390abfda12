/* What a user of the installed library writes: only <greenkern.h> and
 * pkg-config. Built against a DESTDIR install by scripts/test.sh. */
#include <greenkern.h>
#include <stdio.h>

int main(void) {
  const float x[2] = {1, 2}, w[2] = {3, 4}; /* 1x2 · 2x1 */
  float y = 0;
  gk_status s = gk_gemm(1, 1, 2, x, 2, w, 1, GK_WEIGHT_KN, NULL, GK_ACT_NONE, &y, 1);
  if (s != GK_OK || y != 11.0f) {
    fprintf(stderr, "consumer: %s, y = %g\n", gk_strerror(s), y);
    return 1;
  }
  printf("consumer: greenkern %s, isa %s, gemm -> %s\n", gk_version(),
         gk_isa_name(gk_active_isa()), gk_chosen_variant("gemm"));
  return 0;
}

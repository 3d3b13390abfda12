/* libFuzzer target for the profile parser (meson -Dfuzz=true, clang).
 * The signature is fixed so that seeds in corpus/ pass the header and
 * signature checks and the fuzzer explores the entry parser behind them.
 * Every feature bit is "usable" so variant validation goes deep too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/internal.h"
#include "kernels/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static gk_tuning t;
  gk_tuning_defaults(&t, NULL);
  gk_profile_result res;
  gk_status st = gk_profile_parse((const char *)data, size, "fuzz-signature", ~0u, 0, &t, &res);
  /* whatever came in, what went out must be a profile we can write and
   * read back identically */
  if (st == GK_OK) {
    char *text = gk_profile_format(&t, "fuzz-signature");
    if (text) {
      gk_tuning back;
      memset(&back, 0, sizeof back);
      if (gk_profile_parse(text, strlen(text), "fuzz-signature", ~0u, 0, &back, NULL) != GK_OK)
        __builtin_trap();
      for (size_t i = 0; i < t.n_rank; i++)
        if (memcmp(&t.rank[i], &back.rank[i], sizeof t.rank[i])) __builtin_trap();
      for (size_t i = 0; i < t.n_blocking; i++)
        if (memcmp(&t.blocking[i], &back.blocking[i], sizeof t.blocking[i])) __builtin_trap();
      free(text);
    }
  }
  return 0;
}

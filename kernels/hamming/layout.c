/* Validation of multi-head layouts shared by the EcoFormer ops. */
#include "hamming.h"

gk_status gk_check_heads(const void *p, size_t n, size_t heads, size_t width,
                         size_t ld, size_t hs) {
  if (!p || !n || !heads || !width) return GK_ERR_INVALID_ARG;
  size_t last_row, last_head, span;
  if (!gk_mul_ok(n - 1, ld, &last_row) || !gk_mul_ok(heads - 1, hs, &last_head) ||
      __builtin_add_overflow(last_row, last_head, &span) ||
      __builtin_add_overflow(span, width, &span))
    return GK_ERR_OVERFLOW;
  if (ld < width) return GK_ERR_INVALID_ARG;
  if (heads == 1) return GK_OK;
  int token_major = hs >= width && (n == 1 || ld >= last_head + width);
  int head_major = hs >= last_row + width;
  return token_major || head_major ? GK_OK : GK_ERR_INVALID_ARG;
}

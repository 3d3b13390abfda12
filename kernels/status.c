#include "internal.h"

GK_API const char *gk_strerror(gk_status s) {
  switch (s) {
    case GK_OK: return "success";
    case GK_ERR_INVALID_ARG: return "invalid argument (NULL pointer, zero size, bad stride or option)";
    case GK_ERR_OVERFLOW: return "size overflow: a size product does not fit in size_t";
    case GK_ERR_UNSUPPORTED: return "unsupported by this build or CPU";
    case GK_ERR_NO_MEMORY: return "out of memory";
    case GK_ERR_IO: return "I/O error";
    case GK_ERR_BAD_FORMAT: return "malformed or foreign file content";
    case GK_ERR_INTERNAL: return "internal error (a greenkern defect)";
  }
  return "unknown status code";
}

GK_API const char *gk_version(void) { return GK_VERSION_STRING; }

#define GK_STR2_(x) #x
#define GK_STR_(x) GK_STR2_(x)
GK_API const char *gk_build_id(void) {
  return GK_VERSION_STRING "+" GK_BUILD_ISAS "+gcc" GK_STR_(__GNUC__) "." GK_STR_(__GNUC_MINOR__);
}

gk_status gk_check_matrix(const void *p, size_t rows, size_t cols, size_t ld) {
  if (!p || rows == 0 || cols == 0 || ld < cols) return GK_ERR_INVALID_ARG;
  size_t n;
  /* the last element is at (rows-1)*ld + cols-1: it must be addressable */
  if (!gk_mul_ok(rows - 1, ld, &n) || n > SIZE_MAX - cols ||
      !gk_mul_ok(n + cols, sizeof(float), &n))
    return GK_ERR_OVERFLOW;
  return GK_OK;
}

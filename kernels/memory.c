#include <stdlib.h>

#include "internal.h"

void *gk_aligned_alloc(size_t bytes) {
  void *p = NULL;
  if (bytes == 0) bytes = GK_ALIGN;
  return posix_memalign(&p, GK_ALIGN, bytes) == 0 ? p : NULL;
}

void gk_aligned_free(void *p) { free(p); }

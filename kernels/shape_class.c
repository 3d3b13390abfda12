#include "shape_class.h"

#include <string.h>

static int by_rows(gk_op op) { return op == GK_OP_GEMM || op == GK_OP_LOWRANK; }

static const char *const row_names[GK_MAX_CLASSES] = {"decode", "prefill"};

unsigned gk_op_classes(gk_op op) { return by_rows(op) ? 2 : 1; }

unsigned gk_op_default_class(gk_op op) { return by_rows(op) ? GK_CLASS_PREFILL : 0; }

const char *gk_class_name(gk_op op, unsigned cls) {
  if (cls >= gk_op_classes(op)) return NULL;
  return by_rows(op) ? row_names[cls] : "all";
}

const char *gk_class_names(gk_op op) { return by_rows(op) ? "decode, prefill" : "all"; }

int gk_class_from_name(gk_op op, const char *name) {
  for (unsigned c = 0; c < gk_op_classes(op); c++)
    if (!strcmp(name, gk_class_name(op, c))) return (int)c;
  return -1;
}

unsigned gk_rows_class(size_t M) {
  return M <= GK_DECODE_MAX_ROWS ? GK_CLASS_DECODE : GK_CLASS_PREFILL;
}

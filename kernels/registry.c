#include "registry.h"

#include <string.h>

#include "internal.h"

#define GK_DECLARE_REG_(family, isa) \
  void gk_register_##family##__##isa(gk_registry *r);
#define GK_DECLARE_FAMILY_(family)    \
  GK_DECLARE_REG_(family, scalar)     \
  GK_DECLARE_REG_(family, avx2)       \
  GK_DECLARE_REG_(family, avx512)     \
  GK_DECLARE_REG_(family, neon)
GK_FAMILIES(GK_DECLARE_FAMILY_)

void gk_registry_add(gk_registry *r, const gk_variant *v) {
  if (r->count < GK_REGISTRY_MAX) r->v[r->count++] = v;
}

static gk_registry registry;

static void build_registry(void) {
#define GK_CALL_(family, isa) gk_register_##family##__##isa(&registry);
#define GK_CALL_SCALAR_(family) GK_CALL_(family, scalar)
#define GK_CALL_AVX2_(family) GK_CALL_(family, avx2)
#define GK_CALL_AVX512_(family) GK_CALL_(family, avx512)
#define GK_CALL_NEON_(family) GK_CALL_(family, neon)
  GK_FAMILIES(GK_CALL_SCALAR_)
#if GK_HAVE_AVX2
  GK_FAMILIES(GK_CALL_AVX2_)
#endif
#if GK_HAVE_AVX512
  GK_FAMILIES(GK_CALL_AVX512_)
#endif
#if GK_HAVE_NEON
  GK_FAMILIES(GK_CALL_NEON_)
#endif
}

const gk_registry *gk_registry_get(void) {
  static gk_once once = GK_ONCE_INIT;
  gk_call_once(&once, build_registry);
  return &registry;
}

static const char *const op_names[GK_OP_COUNT] = {
#define GK_OP_NAME_(id, name) name,
    GK_OPS(GK_OP_NAME_)
#undef GK_OP_NAME_
};

const char *gk_op_to_name(gk_op op) {
  return (unsigned)op < GK_OP_COUNT ? op_names[op] : NULL;
}

int gk_op_from_name(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < GK_OP_COUNT; i++)
    if (!strcmp(op_names[i], name)) return i;
  return -1;
}

const gk_variant *gk_registry_find(gk_op op, const char *name) {
  const gk_registry *r = gk_registry_get();
  for (size_t i = 0; i < r->count; i++)
    if (r->v[i]->op == op && !strcmp(r->v[i]->name, name)) return r->v[i];
  return NULL;
}

GK_API const char *gk_op_name(size_t index) {
  return index < GK_OP_COUNT ? op_names[index] : NULL;
}

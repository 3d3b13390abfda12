/* One registry of kernel variants (dav1d's DSP init tables, XNNPACK's
 * micro-kernel lists): every variant of every op, with the ISA features it
 * needs. The dispatcher picks from it, the checkasm harness checks all of
 * it, the tuner times all of it: a variant registered here is dispatched,
 * checked and tuned with no other edit.
 *
 * Registration: each op family compiles its ISA-templated sources once per
 * ISA (see simd.h), and each compilation defines
 *     void gk_register_<family>__<isa>(gk_registry *r)
 * which calls gk_registry_add() for its variants. registry.c calls those
 * for the families in GK_FAMILIES and the ISAs this build compiled. */
#ifndef GK_REGISTRY_H
#define GK_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "greenkern.h"
#include "ops.h"

typedef struct gk_variant {
  gk_op op;
  const char *name;  /* "<type>_<op>_<shape>__<isa>", XNNPACK style */
  gk_isa isa;        /* level compared with GK_ISA's cap */
  uint32_t requires; /* GK_CPU_* bits the host must have */
  int priority;      /* default choice: highest supported priority wins */
  const void *impl;  /* op-specific descriptor (function pointers, tile) */
} gk_variant;

#define GK_REGISTRY_MAX 256

typedef struct gk_registry {
  const gk_variant *v[GK_REGISTRY_MAX];
  size_t count;
} gk_registry;

/* Op families with ISA-templated sources; each defines
 * gk_register_<family>__{scalar,avx2,avx512,neon}. */
#define GK_FAMILIES(X) \
  X(gemm)              \
  X(attention)         \
  X(hamming)

void gk_registry_add(gk_registry *r, const gk_variant *v);

/* The full registry of this build (all ISAs compiled in, supported by the
 * host or not). Built once, immutable after. */
const gk_registry *gk_registry_get(void);

/* Would this variant run on this host under the current GK_ISA cap? */
int gk_variant_usable(const gk_variant *v);

/* Find a variant by op and name; NULL if absent. */
const gk_variant *gk_registry_find(gk_op op, const char *name);

const char *gk_op_to_name(gk_op op);
int gk_op_from_name(const char *name); /* -1 if unknown */

/* The dispatcher's choice for op (initialises the library on first use):
 * the variant of the op's default class (shape_class.h), for callers that
 * do not know the shape of their calls. Never NULL: every op has a scalar
 * variant. */
const gk_variant *gk_dispatch(gk_op op);

/* The choice for calls of op in shape class cls (gk_rows_class(M) for
 * gemm and lowrank); a class op does not have gets gk_dispatch(op). */
const gk_variant *gk_dispatch_class(gk_op op, unsigned cls);

#endif

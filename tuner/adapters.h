/* How the tuner runs one op, whatever the variant: the variant and thread
 * studies iterate the registry and call each usable variant through its
 * op's adapter. A new variant of an existing op is tuned with no edit; a
 * new op adds one adapter file and one line in adapters.c. */
#ifndef TN_ADAPTERS_H
#define TN_ADAPTERS_H

#include "tune.h"

typedef struct tn_case tn_case; /* an adapter's inputs and outputs */

#define TN_EXACT (-1.0)

/* Shapes an adapter's setup_class gives at most (for progress). */
#define TN_CLASS_SHAPES 5

typedef struct tn_adapter {
  gk_op op;
  /* Shapes for the variant choice (i = 0, 1, ... up to TN_CLASS_SHAPES;
   * NULL past the last), e.g. decode-sized and prefill-sized problems;
   * each is timed for the library's shape class it falls in (shape_class
   * below). */
  tn_case *(*setup_class)(int i);
  /* Increasing sizes for the single-thread threshold; NULL past the last
   * (or NULL function: the op has no threads to decide). */
  tn_case *(*setup_size)(int i);
  void (*describe)(const tn_case *c, char *buf, size_t size);
  double (*work)(const tn_case *c); /* FLOPs (or the op's work unit) */
  /* Runs variant v once with `threads` threads (0: library's choice). */
  gk_status (*run)(tn_case *c, const gk_variant *v, int threads);
  /* The output to check, and its size in bytes. */
  const void *(*output)(const tn_case *c, size_t *bytes);
  /* Relative error allowed against the scalar variant for float outputs;
   * TN_EXACT for integer and bit outputs, compared byte for byte. */
  double (*tolerance)(const tn_case *c);
  void (*destroy)(tn_case *c);
  /* Optional: a comparison of its own (replaces tolerance), for outputs
   * with documented rounding-boundary differences such as hash bits. */
  int (*agrees)(const tn_case *c, const void *ref);
  /* The library's shape class of the case (shape_class.h), by the same
   * function the op's public entry dispatches with; NULL: the op has one
   * class. */
  unsigned (*shape_class)(const tn_case *c);
} tn_adapter;

/* The adapter of op, or NULL when the tuner has none for it. */
const tn_adapter *tn_adapter_for(gk_op op);

#endif

/* Shape classes: the coarse shape of a call, as far as it changes which
 * variant of an op is fastest. The dispatcher keeps one variant per (op,
 * class) and the tuner decides each on its own, timing the class on
 * shapes that this same definition puts in it (its adapters call the
 * class functions below), so the library and the tuner cannot disagree on
 * where a class ends.
 *
 * The row-oriented GEMM ops (gemm, lowrank) have two classes, split by the
 * rows M of the call:
 *   decode   M <= GK_DECODE_MAX_ROWS: autoregressive decoding, one new
 *            token per sequence of a small batch. The weights stream from
 *            memory once per call with next to no reuse, and most of a
 *            tall register tile's rows are padding, so a short, wide tile
 *            can win (on the development Xeon, rank-r 6x64 ran one-row
 *            decode 9-13% faster than 14x32, and prefill
 *            slower);
 *   prefill  more rows: prompt processing and batched inference, where the
 *            tile's arithmetic efficiency decides.
 * Every other op has one class, "all": its variants rank alike across the
 * shapes the tuner times (attention at 128 and 384 tokens, ...).
 *
 * Callers that do not know the shape of their calls (linear-layer plans,
 * which pack their weights for one tile at creation, the Linformer
 * projection, the hash) use gk_dispatch(op): the op's default class,
 * prefill for the GEMM ops, their main use. */
#ifndef GK_SHAPE_CLASS_H
#define GK_SHAPE_CLASS_H

#include <stddef.h>

#include "ops.h"

#define GK_MAX_CLASSES 2 /* classes an op has at most */

/* The classes of gemm and lowrank; an op with one class has only 0 ("all"). */
enum { GK_CLASS_DECODE = 0, GK_CLASS_PREFILL = 1 };

/* Rows up to which a GEMM call is decode-sized: a batch of up to four
 * sequences fills at most a third of the tallest tiles' 14 rows. */
#define GK_DECODE_MAX_ROWS 4

/* How many classes op has (1 or 2), and which gk_dispatch(op) uses. */
unsigned gk_op_classes(gk_op op);
unsigned gk_op_default_class(gk_op op);

/* Names in the profile and the report: "decode", "prefill", "all". NULL
 * for a class op does not have. */
const char *gk_class_name(gk_op op, unsigned cls);
/* All of op's class names, for messages: "decode, prefill" or "all". */
const char *gk_class_names(gk_op op);
/* The class of op so named; -1 when op has no such class. */
int gk_class_from_name(gk_op op, const char *name);

/* The class of a gemm or lowrank call with M rows. */
unsigned gk_rows_class(size_t M);

#endif

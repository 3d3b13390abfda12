/* Library-internal services shared by every op: the initialised context,
 * once-only calls, aligned memory, thread counts, logging, argument checks. */
#ifndef GK_INTERNAL_H
#define GK_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../arch/cpu.h"
#include "greenkern.h"
#include "ops.h"
#include "registry.h"
#include "tuning.h"

#define GK_INTERNAL __attribute__((visibility("hidden")))

/* ------------------------------------------------------------ once-only */
typedef pthread_once_t gk_once;
#define GK_ONCE_INIT PTHREAD_ONCE_INIT
static inline void gk_call_once(gk_once *o, void (*fn)(void)) {
  pthread_once(o, fn);
}

/* ------------------------------------------------------------- context */
typedef struct gk_ctx {
  gk_cpu_info cpu;
  gk_topology topo;
  uint32_t usable;  /* CPU features allowed under the GK_ISA cap */
  gk_isa isa;       /* highest usable ISA level */
  int verbose;      /* GK_VERBOSE */
  gk_status init_status;
  const gk_variant *chosen[GK_OP_COUNT][GK_MAX_CLASSES]; /* per op and shape class */
  gk_tuning tuning; /* from the profile, else defaults from topo */
} gk_ctx;

/* The context, initialised on first call (thread-safe). Immutable after. */
const gk_ctx *gk_ctx_get(void);

/* GK_VERBOSE logging to stderr, prefixed "greenkern: ". */
void gk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define GK_LOG(...) \
  do { if (gk_ctx_get()->verbose) gk_log(__VA_ARGS__); } while (0)

/* --------------------------------------------------------------- memory */
#define GK_ALIGN 64
void *gk_aligned_alloc(size_t bytes); /* 64-byte aligned, NULL on failure */
void gk_aligned_free(void *p);

/* v rounded up to a multiple of m (m > 0). */
static inline size_t gk_round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

/* a*b into *out; returns 0 on overflow. */
static inline int gk_mul_ok(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

/* Checks that a rows x cols matrix with leading dimension ld is a valid
 * operand: non-NULL, non-zero sizes, ld >= cols, and every index fits in
 * size_t. */
gk_status gk_check_matrix(const void *p, size_t rows, size_t cols, size_t ld);

/* -------------------------------------------------------------- threads */
/* Threads to use for an op doing `work` units (FLOPs or bytes): 1 below
 * the op's tuned single-thread threshold, else the configured count. */
int gk_threads_for(gk_op op, double work);
/* The configured count (gk_set_num_threads, else OpenMP's). */
int gk_max_threads(void);
/* fn(ctx, i, tid) for every i in [0, n) on up to nt threads (dynamic
 * schedule, one index at a time; tid < nt names the thread's scratch).
 * With one thread, or one index, it runs on the caller without an OpenMP
 * region: even an inactive one (`if (0)`) makes libgomp allocate and free
 * a team, ~0.4 us a call on these VMs, as much as a decoding-sized
 * attention head takes. */
void gk_parallel_for(int nt, size_t n, void (*fn)(void *ctx, size_t i, int tid), void *ctx);
/* Inside a parallel region: this thread's number and the team's size
 * (0 and 1 outside one, or when built without OpenMP). */
int gk_thread_id(void);
int gk_team_size(void);

#endif

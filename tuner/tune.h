/* greenkern-tune's shared state: the configuration from the command line,
 * and the results the studies fill and the report prints. */
#ifndef TN_TUNE_H
#define TN_TUNE_H

#include <stddef.h>

#include "kernels/internal.h"
#include "kernels/profile.h"
#include "measure.h"

typedef enum tn_effort { TN_QUICK = 0, TN_DEFAULT = 1, TN_THOROUGH = 2 } tn_effort;

/* The studies (main.c runs seq before rank); --ops selects among them (and among
 * the registry's ops for the variant and thread studies). */
enum {
  TN_STUDY_VARIANTS = 1 << 0, /* fastest variant per op and shape class */
  TN_STUDY_THREADS = 1 << 1,  /* single-thread threshold per op */
  TN_STUDY_BLOCKING = 1 << 2, /* GEMM cache blocks */
  TN_STUDY_RANK = 1 << 3,     /* rank crossover r*(M, K, N) */
  TN_STUDY_SEQ = 1 << 4,      /* Hamming quadratic/linear, attention comparisons */
  TN_STUDY_ALL = (1 << 5) - 1
};

typedef struct tn_config {
  tn_effort effort;
  double time_limit;  /* seconds for the whole tune */
  int threads;        /* threads the measured ops use */
  unsigned studies;   /* TN_STUDY_* */
  int op_selected[GK_OP_COUNT]; /* ops the variant/thread studies visit */
  tn_timing_cfg timing;
} tn_config;

/* A timed line of a curve for the plots (time vs rank, vs sequence length). */
#define TN_MAX_POINTS 48
typedef struct tn_series {
  char title[48];  /* legend */
  char group[48];  /* plot it belongs to, e.g. "rank_128_768_768" */
  size_t n;
  double x[TN_MAX_POINTS], ns[TN_MAX_POINTS];
} tn_series;

#define TN_MAX_ROWS 256
#define TN_MAX_SERIES 48
#define TN_MAX_NOTES 32

/* One timed candidate of the variant study. */
typedef struct tn_variant_row {
  gk_op op;
  const char *name;
  char shape[48];
  tn_time t;
  const char *status; /* "ok", "wrong result", "no time" */
} tn_variant_row;

/* How the variant study chose an op's variant for one shape class: the
 * registry's default stays unless a rival beats it, in paired timings on
 * the class's shapes, by more than the noise (tn_variant_verdict in fit.h). */
typedef struct tn_variant_choice {
  const char *def;    /* the registry's default; NULL when the op was not decided */
  const char *rival;  /* the fastest other variant (or the runner-up when the default led) */
  const char *chosen;
  double ratio;       /* rival's time over the default's (< 1: rival faster); 0: none */
  double margin;      /* what the rival had to beat, as a fraction; 0: no paired check */
  int paired;         /* ratio from paired timings (else from the screening) */
  char per_shape[64]; /* the paired ratios shape by shape, e.g. "0.87 0.91" */
  const char *why;    /* "default fastest", "within noise", "rival faster", ... */
} tn_variant_choice;

/* How the thread study set an op's single-thread threshold. */
typedef struct tn_thread_decision {
  size_t sizes;     /* ladder sizes timed; 0: not measured */
  double threshold; /* work (FLOP or the op's unit) below which one thread runs */
  int kept;         /* the compiled-in default fitted the timings and stayed */
  char ladder[200]; /* "work:ratio" per size, the team's time over one thread's */
} tn_thread_decision;

/* Time per call against the number of keys, for the sequence plots and
 * the informational crossovers (0: not measured). */
#define TN_SEQ_MAX 16
typedef struct tn_seq_curves {
  size_t count;
  double n[TN_SEQ_MAX];
  double full[TN_SEQ_MAX], linformer[3][TN_SEQ_MAX];
  double ham_quad[TN_SEQ_MAX], ham_lin[TN_SEQ_MAX], ham_total[TN_SEQ_MAX];
} tn_seq_curves;

typedef struct tn_results {
  gk_tuning t;        /* what the profile holds (merged with the old one) */
  size_t n_rows;
  tn_variant_row rows[TN_MAX_ROWS];
  tn_variant_choice choice[GK_OP_COUNT][GK_MAX_CLASSES];
  tn_thread_decision threads[GK_OP_COUNT];
  size_t n_series;
  tn_series series[TN_MAX_SERIES];
  tn_seq_curves seq;
  size_t n_notes;
  char notes[TN_MAX_NOTES][160]; /* what was skipped or cut short, and why */
  double elapsed;
} tn_results;

void tn_note(tn_results *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
tn_series *tn_series_new(tn_results *r, const char *group, const char *title);
void tn_series_add(tn_series *s, double x, double ns);

/* The studies. Each stops at the deadline with what it has measured. */
void tn_study_variants(const tn_config *cfg, tn_results *r);
void tn_study_threads(const tn_config *cfg, tn_results *r);
void tn_study_blocking(const tn_config *cfg, tn_results *r);
void tn_study_rank(const tn_config *cfg, tn_results *r);
void tn_study_seq(const tn_config *cfg, tn_results *r);

/* The variant of op the studies use: the tuned one of the op's default
 * shape class (what plans run), else the dispatcher's. */
const gk_variant *tn_variant_for(const tn_results *r, gk_op op);

/* Relative error of got against ref over n floats (max |got-ref| over
 * max |ref|, floored at 1e-30). */
double tn_rel_error(const float *got, const float *ref, size_t n);
/* Deterministic pseudo-random fill in [-1, 1). */
void tn_fill(float *p, size_t n, unsigned seed);
/* n pseudo-random codes of b bits (GK_CODE_WORDS(b) words each), unused
 * high bits zero, as the hash writes them. */
void tn_random_codes(uint64_t *c, size_t n, size_t b, unsigned seed);
/* 64-byte aligned (a buffer malloc returns starts 16 bytes past a line,
 * and every row of it then splits lines: a slower, unfair measurement),
 * zeroed; exits on failure; free() releases it */
void *tn_alloc_bytes(size_t bytes);
float *tn_alloc(size_t floats);

#endif

#include "measure.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

static double deadline;
static volatile sig_atomic_t stop_requested;

/* Spreads of every measurement, for the noise statement (bounded). */
#define MAX_SPREADS 4096
static double spreads[MAX_SPREADS];
static size_t n_spreads;

double tn_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tn_set_deadline(double t) { deadline = t; }
double tn_deadline(void) { return deadline; }
double tn_time_left(void) { return deadline > 0 ? deadline - tn_now() : 1e30; }
void tn_request_stop(void) { stop_requested = 1; }
int tn_interrupted(void) { return stop_requested != 0; }
int tn_should_stop(void) { return stop_requested || tn_time_left() <= 0; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double run_timed(void (*fn)(void *), void *arg, long reps) {
  double t0 = tn_now();
  for (long i = 0; i < reps; i++) fn(arg);
  return tn_now() - t0;
}

tn_time tn_measure(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg) {
  return tn_measure_cut(fn, arg, cfg, 0);
}

tn_time tn_measure_cut(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg,
                       double cutoff_ns) {
  tn_time r = {0, 0, 0};
  if (tn_should_stop()) return r;
  /* warm-up: caches, page faults, thread team start */
  double one = run_timed(fn, arg, 1);
  if (cutoff_ns > 0 && 1e9 * one > cutoff_ns) return (tn_time){1e9 * one, 0, 1};
  if (one > tn_time_left()) return r;
  /* FFTW-style doubling up to the minimum sample duration */
  long reps = 1;
  double t = one;
  while (t < cfg->min_sample_s && reps < (1L << 30)) {
    reps *= 2;
    if (one * (double)reps > tn_time_left()) { reps /= 2; break; }
    t = run_timed(fn, arg, reps);
  }
  double s[64];
  int want = cfg->samples < 64 ? cfg->samples : 64;
  int n = 0;
  for (; n < want; n++) {
    /* stop between samples when the next one would pass the deadline */
    if (n > 0 && (tn_should_stop() || t > tn_time_left())) break;
    t = run_timed(fn, arg, reps);
    s[n] = 1e9 * t / (double)reps;
  }
  if (n == 0) return r;
  qsort(s, (size_t)n, sizeof s[0], cmp_double);
  r.ns = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  r.spread = n > 1 ? (s[n - 1] - s[0]) / r.ns : 0;
  r.samples = n;
  if (n > 1 && n_spreads < MAX_SPREADS) spreads[n_spreads++] = r.spread;
  return r;
}

double tn_noise_median(void) {
  if (!n_spreads) return 0;
  double tmp[MAX_SPREADS];
  for (size_t i = 0; i < n_spreads; i++) tmp[i] = spreads[i];
  qsort(tmp, n_spreads, sizeof tmp[0], cmp_double);
  return tmp[n_spreads / 2];
}

double tn_noise_max(void) {
  double m = 0;
  for (size_t i = 0; i < n_spreads; i++)
    if (spreads[i] > m) m = spreads[i];
  return m;
}

size_t tn_measurements(void) { return n_spreads; }

int tn_pin_current_thread(void) {
  int cpu = sched_getcpu();
  if (cpu < 0) return -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

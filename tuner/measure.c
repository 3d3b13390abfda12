#include "measure.h"

#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

int tn_affordable(double call_s) { return !tn_should_stop() && 3 * call_s < tn_time_left(); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int use_thread_clock;

void tn_use_thread_cpu_clock(int on) { use_thread_clock = on; }

static double thread_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double run_timed(void (*fn)(void *), void *arg, long reps) {
  double (*clock)(void) = use_thread_clock ? thread_cpu_now : tn_now;
  double t0 = clock();
  for (long i = 0; i < reps; i++) fn(arg);
  return clock() - t0;
}

static long calibrate(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg, double *one);
static void summarise(double *s, int n, tn_time *r);

/* Sampling goes on past the asked count while the fastest sample keeps
 * improving (by 1%) — a sign of noise — up to three times the count: the
 * noisier the machine, the more samples, until the minimum settles. Long
 * calls stop at three samples once the measurement's time is spent. */
#define MAX_SAMPLES 192
static int enough(const tn_timing_cfg *cfg, int n, int last_gain, double spent) {
  int want = cfg->samples < MAX_SAMPLES / 3 ? cfg->samples : MAX_SAMPLES / 3;
  if (n >= 3 * want || (n >= 3 && spent > cfg->max_measure_s)) return 1;
  return n >= want && n - last_gain > want / 2;
}

tn_time tn_measure(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg) {
  return tn_measure_cut(fn, arg, cfg, 0);
}

tn_time tn_measure_cut(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg,
                       double cutoff_ns) {
  tn_time r = {0, 0, 0, 0};
  if (tn_should_stop()) return r;
  /* warm-up (caches, page faults, scratch, thread team start), then one
   * warm call for the cut-off, then the doubling */
  double one = run_timed(fn, arg, 1);
  if (cutoff_ns > 0) {
    one = run_timed(fn, arg, 1);
    if (1e9 * one > cutoff_ns) return (tn_time){1e9 * one, 1e9 * one, 0, 1};
  }
  long reps = calibrate(fn, arg, cfg, &one);
  if (!reps) return r;
  double s[MAX_SAMPLES], t = one * (double)reps, best = 0;
  int n = 0, last_gain = 0;
  double spent = 0;
  for (; !enough(cfg, n, last_gain, spent); n++) {
    /* stop between samples when the next one would pass the deadline */
    if (n > 0 && (tn_should_stop() || t > tn_time_left())) break;
    t = run_timed(fn, arg, reps);
    spent += t;
    s[n] = 1e9 * t / (double)reps;
    if (n == 0 || s[n] < 0.99 * best) best = s[n], last_gain = n;
  }
  summarise(s, n, &r);
  return r;
}

/* Repetitions for one sample of at least the minimum duration (doubling);
 * 0 when the deadline does not allow one. *one: the first call's time. */
static long calibrate(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg, double *one) {
  *one = run_timed(fn, arg, 1);
  if (*one > tn_time_left()) return 0;
  long reps = 1;
  double t = *one;
  while (t < cfg->min_sample_s && reps < (1L << 30)) {
    reps *= 2;
    if (*one * (double)reps > tn_time_left()) return reps / 2;
    t = run_timed(fn, arg, reps);
  }
  return reps;
}

static void summarise(double *s, int n, tn_time *r) {
  qsort(s, (size_t)n, sizeof s[0], cmp_double);
  r->ns = s[0];
  r->median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  r->spread = (r->median - r->ns) / r->ns;
  r->samples = n;
  if (n > 1 && n_spreads < MAX_SPREADS) spreads[n_spreads++] = r->spread;
}

tn_pair tn_compare(void (*fa)(void *), void *arg_a, void (*fb)(void *), void *arg_b,
                   const tn_timing_cfg *cfg) {
  tn_pair p;
  memset(&p, 0, sizeof p);
  if (tn_should_stop()) return p;
  double one_a, one_b;
  long ra = calibrate(fa, arg_a, cfg, &one_a);
  long rb = ra ? calibrate(fb, arg_b, cfg, &one_b) : 0;
  if (!ra || !rb) return p;
  double sa[MAX_SAMPLES], sb[MAX_SAMPLES], best_a = 0, best_b = 0;
  int n = 0, last_gain = 0;
  double pair_s = one_a * (double)ra + one_b * (double)rb;
  double spent = 0;
  for (; !enough(cfg, n, last_gain, spent); n++) {
    if (n > 0 && (tn_should_stop() || pair_s > tn_time_left())) break;
    double ta = run_timed(fa, arg_a, ra), tb = run_timed(fb, arg_b, rb);
    pair_s = ta + tb;
    spent += pair_s;
    sa[n] = 1e9 * ta / (double)ra, sb[n] = 1e9 * tb / (double)rb;
    int gain = n == 0 || sa[n] < 0.99 * best_a || sb[n] < 0.99 * best_b;
    if (n == 0 || sa[n] < best_a) best_a = sa[n];
    if (n == 0 || sb[n] < best_b) best_b = sb[n];
    if (gain) last_gain = n;
  }
  double pr[MAX_SAMPLES];
  for (int i = 0; i < n; i++) pr[i] = sb[i] / sa[i];
  qsort(pr, (size_t)n, sizeof pr[0], cmp_double);
  if (n) p.ratio_median = n % 2 ? pr[n / 2] : 0.5 * (pr[n / 2 - 1] + pr[n / 2]);
  summarise(sa, n, &p.a);
  summarise(sb, n, &p.b);
  p.ratio = p.b.ns / p.a.ns;
  return p;
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

double tn_pair_noise(const tn_pair *p) {
  return p->ratio_median > 0 ? fabs(log(p->ratio / p->ratio_median)) : 1;
}

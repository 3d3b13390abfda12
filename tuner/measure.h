/* Timing that can be trusted on a noisy machine (FFTW's planner timing is
 * the model): a warm-up call, then the repetition count doubled until one
 * sample lasts at least the minimum duration, then several samples whose
 * fastest is the result, and whose median and spread state the noise. The clock is checked
 * between samples against a deadline, so a time limit is honoured with
 * whatever has been measured so far. */
#ifndef TN_MEASURE_H
#define TN_MEASURE_H

#include <stddef.h>

typedef struct tn_timing_cfg {
  double min_sample_s; /* one sample lasts at least this long */
  int samples;         /* samples per measurement (more while noisy) */
  double max_measure_s; /* one measurement stops after 3 samples past this */
} tn_timing_cfg;

/* Decisions use the fastest sample, as FFTW's planner does: on a shared
 * machine noise only ever adds time, so the minimum is the estimate that
 * repeats best between runs. The median and the spread say how noisy the
 * samples were. */
typedef struct tn_time {
  double ns;     /* fastest sample, nanoseconds per call; 0 when not measured */
  double median; /* median sample */
  double spread; /* (median - fastest) / fastest: a typical sample's excess */
  int samples;   /* samples taken (fewer than asked when time ran out) */
} tn_time;

double tn_now(void); /* monotonic seconds */

/* The deadline every measurement respects (monotonic seconds; 0: none). */
void tn_set_deadline(double t);
double tn_deadline(void);
/* Seconds left before the deadline (a large number when there is none). */
double tn_time_left(void);
/* The deadline has passed, or the user interrupted (SIGINT/SIGTERM). */
int tn_should_stop(void);
void tn_request_stop(void); /* async-signal-safe */
int tn_interrupted(void);

/* Whether a measurement whose single call is predicted to take call_s
 * seconds still fits before the deadline (a warm-up and a few samples).
 * Studies ask before starting calls that would overrun it: a call, once
 * started, cannot be interrupted. */
int tn_affordable(double call_s);

/* Times fn(arg). Returns ns = 0 when even one sample could not be taken
 * before the deadline (the warm-up call alone predicted overrunning it). */
tn_time tn_measure(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg);
/* The same, but a candidate whose warm-up call already takes longer than
 * cutoff_ns is not timed further: its result is that one call
 * (samples = 1), enough to know it loses. */
tn_time tn_measure_cut(void (*fn)(void *), void *arg, const tn_timing_cfg *cfg,
                       double cutoff_ns);

/* Times a and b in alternation, sample against sample, so that both see
 * the same machine conditions over the same stretch of time. ratio:
 * fastest b over fastest a; < 1 means b is faster; 0 when time ran out
 * before one pair. */
typedef struct tn_pair {
  tn_time a, b;
  double ratio;
  /* the median of the per-pair ratios b/a (each b sample over the a sample
   * taken beside it): another estimate of the same ratio, whose distance
   * from ratio says how far the machine's noise leaves it in doubt */
  double ratio_median;
} tn_pair;
tn_pair tn_compare(void (*fa)(void *), void *arg_a, void (*fb)(void *), void *arg_b,
                   const tn_timing_cfg *cfg);

/* How far a pair's two estimates of its ratio (fastest samples, median of
 * the per-pair ratios) disagree, as |log| of their quotient: the noise
 * tn_variant_verdict weighs a ratio against (1 when there is no median). */
double tn_pair_noise(const tn_pair *p);

/* All spreads measured so far, for the report's noise figure. */
double tn_noise_median(void);
double tn_noise_max(void);
size_t tn_measurements(void);

/* Single-threaded tunes time with the thread's CPU clock: time spent
 * descheduled by other processes then does not count. Team timings stay
 * on the wall clock (a team waits for its slowest thread). */
void tn_use_thread_cpu_clock(int on);

/* Pins the calling thread to the CPU it is running on (single-threaded
 * tunes); returns the CPU or -1 where that is not possible. */
int tn_pin_current_thread(void);

#endif

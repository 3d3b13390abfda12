/* Progress on stderr: a bar redrawn in place when stderr is a terminal,
 * plain lines otherwise (logs, CI). Work is split into weighted phases. */
#ifndef TN_PROGRESS_H
#define TN_PROGRESS_H

void tn_progress_init(int quiet);
/* Starts a phase that accounts for `weight` of the whole (weights sum to 1). */
void tn_progress_phase(const char *name, double weight);
/* Reports the fraction done of the current phase (< 0: unchanged) and
 * what it is doing. */
void tn_progress(double phase_fraction, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints a line above the bar (warnings, skipped work). */
void tn_progress_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tn_progress_done(void);

#endif

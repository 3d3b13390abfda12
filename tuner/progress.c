#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "measure.h"

static int tty, quiet, bar_shown;
static double start, base, weight;
static char phase[32], last[192];

void tn_progress_init(int q) {
  quiet = q;
  tty = isatty(STDERR_FILENO);
  start = tn_now();
}

static void clear_bar(void) {
  if (tty && bar_shown) fputs("\r\033[K", stderr), bar_shown = 0;
}

void tn_progress_phase(const char *name, double w) {
  base += weight;
  weight = w;
  snprintf(phase, sizeof phase, "%s", name);
  tn_progress(0, "start");
}

void tn_progress(double f, const char *fmt, ...) {
  if (quiet) return;
  char what[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  static double last_f;
  if (f < 0) f = last_f; /* "same fraction, new detail" */
  if (f > 1) f = 1;
  last_f = f;
  double all = base + weight * f;
  int pct = (int)(100 * all + 0.5);
  int secs = (int)(tn_now() - start);
  if (tty) {
    char bar[31];
    int fill = (int)(30 * all);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r\033[K[%s] %3d%% %d:%02d %s: %.60s", bar, pct, secs / 60, secs % 60,
            phase, what);
    bar_shown = 1;
  } else {
    char line[192];
    snprintf(line, sizeof line, "%s: %s", phase, what);
    if (!strcmp(line, last)) return;
    snprintf(last, sizeof last, "%s", line);
    fprintf(stderr, "greenkern-tune: [%3d%% %d:%02d] %s\n", pct, secs / 60, secs % 60, line);
  }
  fflush(stderr);
}

void tn_progress_note(const char *fmt, ...) {
  clear_bar();
  va_list ap;
  va_start(ap, fmt);
  fputs("greenkern-tune: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void tn_progress_done(void) {
  clear_bar();
  if (!quiet)
    fprintf(stderr, "greenkern-tune: done in %.1f s\n", tn_now() - start);
}

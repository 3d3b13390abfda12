/* Small helpers shared by the studies. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "tune.h"

void tn_note(tn_results *r, const char *fmt, ...) {
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (size_t i = 0; i < r->n_notes; i++)
    if (!strcmp(r->notes[i], msg)) return;
  if (r->n_notes < TN_MAX_NOTES) snprintf(r->notes[r->n_notes++], sizeof r->notes[0], "%s", msg);
  tn_progress_note("%s", msg);
}

tn_series *tn_series_new(tn_results *r, const char *group, const char *title) {
  if (r->n_series == TN_MAX_SERIES) return NULL;
  tn_series *s = &r->series[r->n_series++];
  memset(s, 0, sizeof *s);
  snprintf(s->group, sizeof s->group, "%s", group);
  snprintf(s->title, sizeof s->title, "%s", title);
  return s;
}

void tn_series_add(tn_series *s, double x, double ns) {
  if (!s || s->n == TN_MAX_POINTS || ns <= 0) return;
  s->x[s->n] = x, s->ns[s->n] = ns, s->n++;
}

double tn_rel_error(const float *got, const float *ref, size_t n) {
  double diff = 0, mag = 1e-30;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)ref[i]);
    if (!(d <= diff)) diff = d; /* NaN counts as the worst */
    if (fabs((double)ref[i]) > mag) mag = fabs((double)ref[i]);
  }
  return isnan(diff) ? INFINITY : diff / mag;
}

void tn_fill(float *p, size_t n, unsigned seed) {
  uint64_t s = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    p[i] = (float)((double)(s >> 40) / (double)(1u << 23) - 1.0);
  }
}

void tn_random_codes(uint64_t *c, size_t n, size_t b, unsigned seed) {
  const size_t words = GK_CODE_WORDS(b);
  uint64_t s = 0x2545F4914F6CDD1Dull * (seed + 1);
  for (size_t i = 0; i < n; i++)
    for (size_t w = 0; w < words; w++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      size_t bits = b - 64 * w;
      c[i * words + w] = bits >= 64 ? s : s & ((1ull << bits) - 1);
    }
}

void *tn_alloc_bytes(size_t bytes) {
  void *p = NULL;
  if (!bytes) bytes = 1;
  if (posix_memalign(&p, 64, bytes)) {
    fprintf(stderr, "greenkern-tune: out of memory (%zu bytes)\n", bytes);
    exit(1);
  }
  memset(p, 0, bytes);
  return p;
}

float *tn_alloc(size_t floats) { return tn_alloc_bytes(floats * sizeof(float)); }

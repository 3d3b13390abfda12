/* greenkern-tune: measures this machine and writes the profile the library
 * reads at initialisation (FFTW's fftw-wisdom is the model: effort levels,
 * a time limit, wisdom keyed by the configuration). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "report.h"
#include "tune.h"

static const char usage_text[] =
    "NAME\n"
    "    greenkern-tune - measure this machine and write greenkern's profile\n"
    "\n"
    "SYNOPSIS\n"
    "    greenkern-tune [--effort quick|default|thorough] [--time-limit SECONDS]\n"
    "                   [--threads N] [--ops LIST] [-o FILE] [--report FILE]\n"
    "                   [--json FILE] [--plots DIR] [--quiet]\n"
    "    greenkern-tune --show [-o FILE] [--report FILE] [--json FILE]\n"
    "    greenkern-tune --help\n"
    "\n"
    "DESCRIPTION\n"
    "    Times every kernel variant this CPU can run (each checked against the\n"
    "    scalar reference first), the single-thread threshold per op, the GEMM\n"
    "    cache blocks, the rank crossover r*(M, K, N) of the low-rank layers and\n"
    "    the sequence-length crossovers of Hamming, Linformer and full attention.\n"
    "    Writes the profile atomically (an interrupted or concurrent run leaves\n"
    "    the previous file intact) and prints the crossover report as Markdown.\n"
    "    Entries of an existing profile for this machine that this run does not\n"
    "    measure are kept.\n"
    "\n"
    "OPTIONS\n"
    "    --effort LEVEL    quick (about a minute), default (a few minutes) or\n"
    "                      thorough (longer samples, finer grids)\n"
    "    --time-limit S    stop measuring after S seconds and write what has been\n"
    "                      measured (default: quick 75, default 320, thorough 1200)\n"
    "    --threads N       threads the measured ops use (default: the library's)\n"
    "    --ops LIST        comma-separated studies and ops to tune: variants,\n"
    "                      threads, blocking, rank, seq, or op names (gemm, ...)\n"
    "                      which limit the variant and thread studies to them\n"
    "    -o, --output FILE profile to write (default: $GK_PROFILE, else\n"
    "                      $XDG_CONFIG_HOME/greenkern/profile or\n"
    "                      ~/.config/greenkern/profile)\n"
    "    --report FILE     also write the Markdown report to FILE\n"
    "    --json FILE       write the results as JSON\n"
    "    --plots DIR       draw SVG plots with gnuplot into DIR (default: the\n"
    "                      directory of --report, if given)\n"
    "    --show            report from an existing profile, measure nothing\n"
    "    -q, --quiet       no progress output\n"
    "    -h, --help        this text\n"
    "\n"
    "ENVIRONMENT\n"
    "    GK_PROFILE, XDG_CONFIG_HOME, HOME   where the profile goes (see above)\n"
    "    GK_ISA            caps the ISA, so only those variants are tuned\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success, 1 failure, 2 usage error, 130 interrupted (profile unchanged)\n";

typedef struct options {
  tn_config cfg;
  const char *output, *report, *json, *plots;
  int show, quiet, limit_given;
} options;

static int parse_ops(const char *list, tn_config *cfg) {
  static const struct { const char *name; unsigned bit; } studies[] = {
      {"variants", TN_STUDY_VARIANTS}, {"threads", TN_STUDY_THREADS},
      {"blocking", TN_STUDY_BLOCKING}, {"rank", TN_STUDY_RANK}, {"seq", TN_STUDY_SEQ}};
  char buf[512];
  snprintf(buf, sizeof buf, "%s", list);
  unsigned s = 0;
  int any_op = 0, ops[GK_OP_COUNT] = {0};
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (size_t i = 0; i < sizeof studies / sizeof studies[0]; i++)
      if (!strcmp(tok, studies[i].name)) s |= studies[i].bit, found = 1;
    int op = gk_op_from_name(tok);
    if (op >= 0) ops[op] = 1, any_op = found = 1;
    if (!found) {
      fprintf(stderr, "greenkern-tune: --ops: '%s' is neither a study (variants, threads, "
                      "blocking, rank, seq) nor an op (", tok);
      for (size_t i = 0; gk_op_name(i); i++) fprintf(stderr, "%s%s", i ? ", " : "", gk_op_name(i));
      fprintf(stderr, ")\n");
      return 0;
    }
  }
  /* an op name means "the variants and threads of this op" */
  if (any_op) {
    s |= TN_STUDY_VARIANTS | TN_STUDY_THREADS;
    for (int op = 0; op < GK_OP_COUNT; op++) cfg->op_selected[op] = ops[op];
  }
  cfg->studies = s;
  return 1;
}

static int parse_args(int argc, char **argv, options *o) {
  o->cfg.effort = TN_DEFAULT;
  o->cfg.studies = TN_STUDY_ALL;
  for (int op = 0; op < GK_OP_COUNT; op++) o->cfg.op_selected[op] = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE                                                          \
  do {                                                                       \
    if (!val) return fprintf(stderr, "greenkern-tune: %s needs a value\n", a), 0; \
    i++;                                                                     \
  } while (0)
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_text, stdout);
      exit(0);
    } else if (!strcmp(a, "--effort")) {
      NEEDS_VALUE;
      if (!strcmp(val, "quick")) o->cfg.effort = TN_QUICK;
      else if (!strcmp(val, "default")) o->cfg.effort = TN_DEFAULT;
      else if (!strcmp(val, "thorough")) o->cfg.effort = TN_THOROUGH;
      else return fprintf(stderr, "greenkern-tune: --effort quick|default|thorough\n"), 0;
    } else if (!strcmp(a, "--time-limit")) {
      NEEDS_VALUE;
      char *end;
      errno = 0;
      double s = strtod(val, &end);
      if (*end || errno || !(s > 0) || s > 1e6)
        return fprintf(stderr, "greenkern-tune: --time-limit wants seconds > 0\n"), 0;
      o->cfg.time_limit = s, o->limit_given = 1;
    } else if (!strcmp(a, "--threads")) {
      NEEDS_VALUE;
      char *end;
      long n = strtol(val, &end, 10);
      if (*end || n < 1 || n > 4096)
        return fprintf(stderr, "greenkern-tune: --threads wants 1..4096\n"), 0;
      o->cfg.threads = (int)n;
    } else if (!strcmp(a, "--ops")) {
      NEEDS_VALUE;
      if (!parse_ops(val, &o->cfg)) return 0;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      NEEDS_VALUE;
      o->output = val;
    } else if (!strcmp(a, "--report")) {
      NEEDS_VALUE;
      o->report = val;
    } else if (!strcmp(a, "--json")) {
      NEEDS_VALUE;
      o->json = val;
    } else if (!strcmp(a, "--plots")) {
      NEEDS_VALUE;
      o->plots = val;
    } else if (!strcmp(a, "--show")) {
      o->show = 1;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      o->quiet = 1;
    } else {
      fprintf(stderr, "greenkern-tune: unknown option '%s' (see --help)\n", a);
      return 0;
    }
#undef NEEDS_VALUE
  }
  static const double budget[] = {75, 320, 1200};
  /* short samples, many of them: on a shared machine the fastest of many
   * short samples is the one least disturbed */
  static const tn_timing_cfg timing[] = {{0.001, 9, 0.5}, {0.002, 11, 1.5}, {0.005, 25, 4}};
  if (!o->limit_given) o->cfg.time_limit = budget[o->cfg.effort];
  o->cfg.timing = timing[o->cfg.effort];
  return 1;
}

static void on_signal(int sig) {
  (void)sig;
  tn_request_stop();
}

/* Threads of the OpenMP team are pinned by the OpenMP runtime, which reads
 * its environment once at start-up: set it and start again. */
static void pin_team(int argc, char **argv, int threads) {
  (void)argc;
  if (threads <= 1 || getenv("OMP_PROC_BIND") || getenv("GK_TUNE_NO_PIN")) return;
  /* the binary's own path (under qemu-user, /proc/self/exe itself would
   * name the emulator) */
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0 || (size_t)n >= sizeof self - 1) return;
  self[n] = '\0';
  setenv("OMP_PROC_BIND", "close", 1);
  setenv("OMP_PLACES", "cores", 1);
  execv(self, argv); /* on failure, go on unpinned */
  unsetenv("OMP_PROC_BIND");
  unsetenv("OMP_PLACES");
}

static void write_reports(const options *o, tn_results *r, tn_report_ctx *rc) {
  const char *plots = o->plots;
  char dir[4096];
  if (!plots && o->report) {
    snprintf(dir, sizeof dir, "%s", o->report);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else strcpy(dir, ".");
    plots = dir;
  }
  if (plots) tn_report_plots(r, plots, rc);
  else if (!o->show) snprintf(rc->plot_status, sizeof rc->plot_status,
                              "not drawn (give --plots DIR or --report FILE)");
  tn_report_markdown(stdout, r, rc);
  if (o->report) {
    FILE *f = fopen(o->report, "w");
    if (!f) fprintf(stderr, "greenkern-tune: cannot write %s: %s\n", o->report, strerror(errno));
    else tn_report_markdown(f, r, rc), fclose(f);
  }
  if (o->json && !tn_report_json(o->json, r, rc))
    fprintf(stderr, "greenkern-tune: cannot write %s\n", o->json);
}

static int show(const options *o, tn_results *r, const char *sig) {
  char path[4096];
  if (o->output) snprintf(path, sizeof path, "%s", o->output);
  else if (!gk_profile_locate(0, path, sizeof path)) {
    fprintf(stderr, "greenkern-tune: no profile found (GK_PROFILE, XDG, ~/.config, /etc)\n");
    return 1;
  }
  gk_profile_result res;
  gk_status st = gk_profile_load(path, sig, gk_ctx_get()->usable, 0, &r->t, &res);
  if (st != GK_OK) {
    fprintf(stderr, "greenkern-tune: %s: %s (%s)\n", path, res.why, gk_strerror(st));
    return 1;
  }
  if (res.rejected)
    fprintf(stderr, "greenkern-tune: %s: %u entries rejected (%s)\n", path, res.rejected, res.why);
  tn_report_ctx rc = {.signature = sig, .profile_path = path};
  write_reports(o, r, &rc);
  return 0;
}

/* Each study's share of the time; unused time passes to the next. The
 * rank study comes last: it is the one that can always use more time
 * (further passes at its least sure points), and the sequence study often
 * finishes well within its share. */
static const struct { unsigned bit; const char *name; double share; void (*run)(const tn_config *, tn_results *); } studies[] = {
    {TN_STUDY_VARIANTS, "variants", 0.12, tn_study_variants},
    {TN_STUDY_THREADS, "threads", 0.08, tn_study_threads},
    {TN_STUDY_BLOCKING, "blocking", 0.10, tn_study_blocking},
    {TN_STUDY_SEQ, "seq", 0.32, tn_study_seq},
    {TN_STUDY_RANK, "rank", 0.38, tn_study_rank},
};

int main(int argc, char **argv) {
  options o = {0};
  if (!parse_args(argc, argv, &o)) return 2;
  /* the clock starts with the first process: a re-exec to pin the team
   * (pin_team) must not reset it (CLOCK_MONOTONIC is system-wide) */
  double start = tn_now();
  const char *t0 = getenv("GK_TUNE_STARTED");
  if (t0) {
    char *end;
    double s0 = strtod(t0, &end);
    if (!*end && s0 > 0 && s0 <= start) start = s0;
  } else {
    char buf[64];
    snprintf(buf, sizeof buf, "%.6f", start);
    setenv("GK_TUNE_STARTED", buf, 1);
  }

  /* first, while the environment is still the user's */
  if (o.cfg.threads == 0) o.cfg.threads = gk_get_num_threads();
  if (!o.show) pin_team(argc, argv, o.cfg.threads);

  char out[4096];
  if (!o.show) {
    if (o.output) snprintf(out, sizeof out, "%s", o.output);
    else if (!gk_profile_locate(1, out, sizeof out)) {
      fprintf(stderr, "greenkern-tune: nowhere to write the profile (GK_PROFILE=off and no "
                      "HOME): give -o FILE\n");
      return 2;
    }
    /* measure the library's compiled-in defaults, not an older profile */
    setenv("GK_PROFILE", "off", 1);
  }
  gk_set_num_threads(o.cfg.threads);

  gk_status s = gk_init();
  if (s != GK_OK) {
    fprintf(stderr, "greenkern-tune: initialisation failed: %s\n", gk_strerror(s));
    return 1;
  }
  const gk_ctx *c = gk_ctx_get();
  char sig[512];
  gk_profile_signature(&c->cpu, &c->topo, sig, sizeof sig);
  tn_results *r = calloc(1, sizeof *r);
  if (!r) return 1;
  if (o.show) {
    int rc = show(&o, r, sig);
    free(r);
    return rc;
  }

  /* keep what an earlier tune of this machine measured and this one does not */
  gk_profile_result old;
  if (gk_profile_load(out, sig, c->usable, 0, &r->t, &old) == GK_OK)
    tn_progress_note("updating %s (%u entries kept unless remeasured)", out, old.accepted);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  if (o.cfg.threads == 1) {
    if (tn_pin_current_thread() < 0)
      tn_note(r, "could not pin the measuring thread (sched_setaffinity)");
    tn_use_thread_cpu_clock(1);
  }

  /* Measuring stops at 93% of the limit: the report, plots and the write
   * get the rest, and so does the one call that may run past a deadline
   * (calls are not interrupted). The limit is honoured within 10%. */
  double end = start + 0.93 * o.cfg.time_limit;
  tn_progress_init(o.quiet);
  double share_left = 0;
  for (size_t i = 0; i < sizeof studies / sizeof studies[0]; i++)
    if (o.cfg.studies & studies[i].bit) share_left += studies[i].share;
  const double share_total = share_left;
  for (size_t i = 0; i < sizeof studies / sizeof studies[0] && !tn_interrupted(); i++) {
    if (!(o.cfg.studies & studies[i].bit)) continue;
    double now = tn_now(), part = studies[i].share / share_left;
    tn_set_deadline(now + (end - now) * part);
    tn_progress_phase(studies[i].name, studies[i].share / share_total);
    studies[i].run(&o.cfg, r);
    share_left -= studies[i].share;
    if (tn_now() >= end) {
      tn_note(r, "time limit reached during '%s'; later studies skipped", studies[i].name);
      break;
    }
  }
  tn_progress_done();
  if (tn_interrupted()) {
    fprintf(stderr, "greenkern-tune: interrupted; %s left as it was\n", out);
    free(r);
    return 130;
  }
  r->t.noise_permille = (unsigned)(1000 * tn_noise_median() + 0.5);
  r->t.tune_threads = (unsigned)o.cfg.threads;
  r->elapsed = tn_now() - start;

  char *text = gk_profile_format(&r->t, sig);
  if (!text) return free(r), fprintf(stderr, "greenkern-tune: out of memory\n"), 1;
  /* the rename is the commit point: let no signal cut the write short */
  sigset_t block, prev;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &prev);
  s = gk_profile_write_atomic(out, text);
  sigprocmask(SIG_SETMASK, &prev, NULL);
  free(text);
  if (s != GK_OK) {
    fprintf(stderr, "greenkern-tune: cannot write %s: %s\n", out, gk_strerror(s));
    free(r);
    return 1;
  }
  tn_report_ctx rc = {.cfg = &o.cfg, .signature = sig, .profile_path = out};
  write_reports(&o, r, &rc);
  r->elapsed = tn_now() - start;
  if (!o.quiet) fprintf(stderr, "greenkern-tune: profile written to %s (%.1f s)\n", out, r->elapsed);
  free(r);
  return 0;
}

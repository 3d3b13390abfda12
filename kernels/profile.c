/* Reading, validating and writing the machine profile (see profile.h).
 *
 * The parser treats the file as hostile: it never reads past the given
 * length, refuses long lines, NUL bytes and non-printable characters line
 * by line, parses numbers itself (no locale, no sign, no overflow) and
 * checks every value against a plausible range before it touches the
 * tuning. Entries are applied to a scratch copy that replaces the real one
 * only once the trailer has proved the file complete. */
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const char *const seq_kind_names[GK_SEQ_KIND_COUNT] = {
    "hamming_linear", "linformer_full", "hamming_full", "hamming_linformer"};

const char *gk_seq_kind_name(gk_seq_kind k) {
  return (unsigned)k < GK_SEQ_KIND_COUNT ? seq_kind_names[k] : "?";
}

void gk_profile_signature(const gk_cpu_info *cpu, const gk_topology *topo, char *buf,
                          size_t size) {
  char feat[128];
  gk_cpu_features_string(cpu->features, feat, sizeof feat);
  snprintf(buf, size, "%s;%s;%s;%s;l1d=%zu;l2=%zu;l3=%zu;threads=%d;build=%s", cpu->arch,
           cpu->vendor, cpu->model, feat, topo->l1d, topo->l2, topo->l3, topo->pus,
           gk_build_id());
}

/* ------------------------------------------------------------- parsing */

typedef struct parser {
  const char *signature;
  uint32_t usable;
  int verbose;
  gk_profile_result *res;
  unsigned lineno;
} parser;

static void note(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(parser *p, const char *fmt, ...) {
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!p->res->why[0]) snprintf(p->res->why, sizeof p->res->why, "%s", msg);
  if (p->verbose) gk_log("profile line %u: %s", p->lineno, msg);
}

/* Decimal without sign or exponent, at most `max`. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (!*s) return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return 0;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v) ||
        v > max)
      return 0;
  }
  *out = v;
  return 1;
}

#define MAX_TOKENS 8
static int tokenize(char *line, char **tok) {
  int n = 0;
  for (char *s = line; *s;) {
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) break;
    if (n == MAX_TOKENS) return MAX_TOKENS + 1;
    tok[n++] = s;
    while (*s && *s != ' ' && *s != '\t') s++;
    if (*s) *s++ = '\0';
  }
  return n;
}

/* Parses the numeric tokens tok[0..n) into v with a shared upper bound
 * per position; reports the first bad one. */
static int numbers(parser *p, char **tok, int n, const uint64_t *max, uint64_t *v) {
  for (int i = 0; i < n; i++)
    if (!parse_u64(tok[i], max[i], &v[i])) {
      note(p, "'%.32s' is not a number in 0..%llu", tok[i], (unsigned long long)max[i]);
      return 0;
    }
  return 1;
}

#define LIMIT_DIM ((uint64_t)1 << 20)

/* The variant of op named name, if this build has it and this host (under
 * its GK_ISA cap) can run it; else NULL, with the reason noted. */
static const gk_variant *usable_variant(parser *p, gk_op op, const char *name) {
  const gk_variant *var = gk_registry_find(op, name);
  if (!var)
    return note(p, "no variant '%.64s' for %s in this build", name, gk_op_to_name(op)), NULL;
  if (var->requires & ~p->usable)
    return note(p, "variant '%s' cannot run on this CPU (or GK_ISA cap)", var->name), NULL;
  return var;
}

/* One entry; returns 1 when applied. */
static int entry(parser *p, char **tok, int n, gk_tuning *t) {
  const char *key = tok[0];
  uint64_t v[6];
  if (!strcmp(key, "variant") && n == 4) {
    int op = gk_op_from_name(tok[1]);
    if (op < 0) return note(p, "unknown op '%.32s'", tok[1]), 0;
    int cls = gk_class_from_name((gk_op)op, tok[2]);
    if (cls < 0)
      return note(p, "%s has no shape class '%.32s' (only %s)", tok[1], tok[2],
                  gk_class_names((gk_op)op)), 0;
    if (strlen(tok[3]) >= sizeof t->variant[op][cls]) return note(p, "variant name too long"), 0;
    const gk_variant *var = usable_variant(p, (gk_op)op, tok[3]);
    if (!var) return 0;
    snprintf(t->variant[op][cls], sizeof t->variant[op][cls], "%s", var->name);
    return 1;
  }
  if (!strcmp(key, "single_thread_below") && n == 3) {
    int op = gk_op_from_name(tok[1]);
    if (op < 0) return note(p, "unknown op '%.32s'", tok[1]), 0;
    static const uint64_t max[] = {UINT64_C(1000000000000000)};
    if (!numbers(p, tok + 2, 1, max, v)) return 0;
    t->single_thread_below[op] = (double)v[0];
    return 1;
  }
  if (!strcmp(key, "gemm_blocking") && (n == 5 || n == 7)) {
    /* the tile is named by its GEMM variant: ISA and mr x nr; then MC KC
     * NC and, where measured, the in-place row-tile limits */
    const gk_variant *tile = usable_variant(p, GK_OP_GEMM, tok[1]);
    if (!tile) return 0;
    static const uint64_t max[] = {16384, 65536, LIMIT_DIM, 4096, 4096};
    if (!numbers(p, tok + 2, n - 2, max, v)) return 0;
    if (v[0] < 4 || v[1] < 16 || v[2] < 16)
      return note(p, "GEMM blocks below the smallest sane size"), 0;
    gk_blocking_point bp = {tile, v[0], v[1], v[2], 0, 0};
    if (n == 7) {
      if (!v[3] || !v[4]) return note(p, "an in-place limit of no row tiles"), 0;
      bp.in_place = v[3], bp.in_place_aliased = v[4];
    }
    if (!gk_tuning_put_blocking(t, bp)) return note(p, "too many gemm_blocking tiles"), 0;
    return 1;
  }
  if (!strcmp(key, "rank_crossover") && n == 6) {
    static const uint64_t max[] = {LIMIT_DIM, LIMIT_DIM, LIMIT_DIM, LIMIT_DIM, LIMIT_DIM};
    if (!numbers(p, tok + 1, 5, max, v)) return 0;
    if (!v[0] || !v[1] || !v[2]) return note(p, "zero size in rank_crossover"), 0;
    uint64_t rmax = v[1] < v[2] ? v[1] : v[2];
    if (v[3] > rmax) return note(p, "rank above min(K, N)"), 0;
    if (v[4] > rmax) return note(p, "rank error above min(K, N)"), 0;
    gk_rank_point pt = {(uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2], (uint32_t)v[3],
                        (uint32_t)v[4]};
    if (!gk_tuning_put_rank(t, pt)) return note(p, "too many rank_crossover points"), 0;
    return 1;
  }
  if (!strcmp(key, "seq_crossover") && n == 6) {
    int kind = -1;
    for (int k = 0; k < GK_SEQ_KIND_COUNT; k++)
      if (!strcmp(tok[1], seq_kind_names[k])) kind = k;
    if (kind < 0) return note(p, "unknown crossover kind '%.32s'", tok[1]), 0;
    static const uint64_t max[] = {65536, 65536, 1, (uint64_t)1 << 24};
    if (!numbers(p, tok + 2, 4, max, v)) return 0;
    if (!v[0] || !v[1]) return note(p, "zero size in seq_crossover"), 0;
    gk_seq_point pt = {(uint32_t)kind, (uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2],
                       (uint32_t)v[3]};
    if (!gk_tuning_put_seq(t, pt)) return note(p, "too many seq_crossover points"), 0;
    return 1;
  }
  if (!strcmp(key, "noise_permille") && n == 2) {
    static const uint64_t max[] = {1000000};
    if (!numbers(p, tok + 1, 1, max, v)) return 0;
    t->noise_permille = (unsigned)v[0];
    return 1;
  }
  if (!strcmp(key, "tune_threads") && n == 2) {
    static const uint64_t max[] = {4096};
    if (!numbers(p, tok + 1, 1, max, v)) return 0;
    if (!v[0]) return note(p, "zero threads"), 0;
    t->tune_threads = (unsigned)v[0];
    return 1;
  }
  note(p, "unknown entry '%.32s' or wrong number of fields (%d)", key, n);
  return 0;
}

gk_status gk_profile_parse(const char *text, size_t len, const char *signature,
                           uint32_t usable, int verbose, gk_tuning *t,
                           gk_profile_result *res) {
  gk_profile_result scratch_res;
  if (!res) res = &scratch_res;
  memset(res, 0, sizeof(*res));
  parser p = {signature, usable, verbose, res, 0};
  gk_tuning *work = malloc(sizeof(*work));
  if (!work) return GK_ERR_NO_MEMORY;
  *work = *t;

  enum { WANT_HEADER, WANT_SIGNATURE, ENTRIES, ENDED } state = WANT_HEADER;
  unsigned entries = 0;
  gk_status st = GK_OK;
  char line[GK_PROFILE_MAX_LINE + 1];
  size_t pos = 0;
  while (pos < len && st == GK_OK) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl != NULL);
    p.lineno++;
    if (n && start[n - 1] == '\r') n--;

    /* A line fit to read: bounded, no NUL, printable ASCII. A bad line
     * where the header belongs refuses the file; elsewhere, one entry. */
    const char *bad = NULL;
    if (n > GK_PROFILE_MAX_LINE) bad = "line too long";
    else if (memchr(start, '\0', n)) bad = "NUL byte in line";
    else
      for (size_t i = 0; i < n && !bad; i++)
        if ((start[i] < 0x20 && start[i] != '\t') || (unsigned char)start[i] > 0x7e)
          bad = "non-printable character in line";
    if (bad) {
      note(&p, "%s", bad);
      if (state != ENTRIES) st = GK_ERR_BAD_FORMAT;
      else entries++, res->rejected++;
      continue;
    }
    memcpy(line, start, n);
    line[n] = '\0';
    char *tok[MAX_TOKENS];
    int nt = tokenize(line, tok);
    if (nt == 0 || tok[0][0] == '#') continue; /* blank or comment */

    switch (state) {
      case WANT_HEADER: {
        uint64_t ver;
        if (nt != 2 || strcmp(tok[0], "greenkern-profile") ||
            !parse_u64(tok[1], 1000000, &ver)) {
          note(&p, "not a greenkern profile (no 'greenkern-profile <version>' header)");
          st = GK_ERR_BAD_FORMAT;
        } else if (ver != GK_PROFILE_VERSION) {
          note(&p, "profile version %llu, this library reads version %d",
               (unsigned long long)ver, GK_PROFILE_VERSION);
          st = GK_ERR_BAD_FORMAT;
        }
        state = WANT_SIGNATURE;
        break;
      }
      case WANT_SIGNATURE: {
        /* The signature is the rest of the line after the key, verbatim. */
        const char *sig = start + (tok[0] - line) + strlen("signature");
        size_t siglen = n - (size_t)(sig - start);
        if (strcmp(tok[0], "signature")) {
          note(&p, "missing signature line");
          st = GK_ERR_BAD_FORMAT;
        } else if (siglen < 1 || sig[0] != ' ' || siglen - 1 != strlen(signature) ||
                   memcmp(sig + 1, signature, siglen - 1)) {
          note(&p, "made for another machine or build (signature differs)");
          st = GK_ERR_BAD_FORMAT;
        }
        state = ENTRIES;
        break;
      }
      case ENTRIES: {
        uint64_t count;
        if (!strcmp(tok[0], "end")) {
          if (nt != 2 || !parse_u64(tok[1], 1000000, &count) || count != entries) {
            note(&p, "trailer counts %s entries, the file holds %u",
                 nt == 2 ? tok[1] : "?", entries);
            st = GK_ERR_BAD_FORMAT;
          }
          state = ENDED;
          break;
        }
        entries++;
        if (nt > MAX_TOKENS) {
          note(&p, "too many fields");
          res->rejected++;
        } else if (entry(&p, tok, nt, work)) {
          res->accepted++;
        } else {
          res->rejected++;
        }
        break;
      }
      case ENDED:
        note(&p, "content after the 'end' trailer");
        st = GK_ERR_BAD_FORMAT;
        break;
    }
  }
  if (st == GK_OK && state != ENDED) {
    note(&p, state == WANT_HEADER ? "empty file" : "truncated (no 'end' trailer)");
    st = GK_ERR_BAD_FORMAT;
  }
  if (st == GK_OK) *t = *work;
  else res->accepted = 0;
  free(work);
  return st;
}

gk_status gk_profile_load(const char *path, const char *signature, uint32_t usable,
                          int verbose, gk_tuning *t, gk_profile_result *res) {
  gk_profile_result scratch_res;
  if (!res) res = &scratch_res;
  memset(res, 0, sizeof(*res));
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(res->why, sizeof res->why, "cannot open: %s", strerror(errno));
    return GK_ERR_IO;
  }
  char *buf = malloc(GK_PROFILE_MAX_BYTES + 1);
  if (!buf) return fclose(f), GK_ERR_NO_MEMORY;
  size_t len = fread(buf, 1, GK_PROFILE_MAX_BYTES + 1, f);
  int err = ferror(f);
  fclose(f);
  gk_status st;
  if (err) {
    snprintf(res->why, sizeof res->why, "read error");
    st = GK_ERR_IO;
  } else if (len > GK_PROFILE_MAX_BYTES) {
    snprintf(res->why, sizeof res->why, "larger than %zu bytes", GK_PROFILE_MAX_BYTES);
    st = GK_ERR_BAD_FORMAT;
  } else {
    st = gk_profile_parse(buf, len, signature, usable, verbose, t, res);
  }
  free(buf);
  return st;
}

/* --------------------------------------------------------- search path */

static int join(char *out, size_t size, const char *a, const char *b) {
  int n = snprintf(out, size, "%s%s", a, b);
  return n > 0 && (size_t)n < size;
}

int gk_profile_locate(int for_writing, char *path, size_t size) {
  const char *env = getenv("GK_PROFILE");
  if (env && *env) {
    if (!strcmp(env, "off")) return 0;
    return join(path, size, env, "");
  }
  char user[4096];
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  int have_user = 0;
  /* XDG: a relative XDG_CONFIG_HOME is invalid and must be ignored */
  if (xdg && xdg[0] == '/') have_user = join(user, sizeof user, xdg, "/greenkern/profile");
  else if (home && *home) have_user = join(user, sizeof user, home, "/.config/greenkern/profile");
  if (for_writing) return have_user && join(path, size, user, "");
  if (have_user && access(user, R_OK) == 0) return join(path, size, user, "");
  const char *sys = "/etc/greenkern/profile";
  if (access(sys, R_OK) == 0) return join(path, size, sys, "");
  return 0;
}

/* ------------------------------------------------------------- writing */

typedef struct strbuf {
  char *s;
  size_t len, cap;
  int failed;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
  if (b->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) { b->failed = 1; return; }
    if ((size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
    size_t cap = 2 * b->cap + (size_t)n + 1;
    char *s = realloc(b->s, cap);
    if (!s) { b->failed = 1; return; }
    b->s = s, b->cap = cap;
  }
}

/* Entries come out sorted by key, then by their numeric fields (the
 * tables are kept sorted), so equal tunings give byte-identical files. */
char *gk_profile_format(const gk_tuning *t, const char *signature) {
  strbuf b = {malloc(4096), 0, 4096, 0};
  if (!b.s) return NULL;
  unsigned n = 0;
  sb_printf(&b, "greenkern-profile %d\nsignature %s\n", GK_PROFILE_VERSION, signature);
  for (size_t i = 0; i < t->n_blocking; i++, n++) {
    const gk_blocking_point *bp = &t->blocking[i];
    sb_printf(&b, "gemm_blocking %s %zu %zu %zu", bp->tile->name, bp->mc, bp->kc, bp->nc);
    if (bp->in_place && bp->in_place_aliased)
      sb_printf(&b, " %zu %zu", bp->in_place, bp->in_place_aliased);
    sb_printf(&b, "\n");
  }
  if (t->noise_permille) sb_printf(&b, "noise_permille %u\n", t->noise_permille), n++;
  for (size_t i = 0; i < t->n_rank; i++, n++)
    sb_printf(&b, "rank_crossover %u %u %u %u %u\n", t->rank[i].M, t->rank[i].K, t->rank[i].N,
              t->rank[i].r, t->rank[i].err);
  for (size_t i = 0; i < t->n_seq; i++, n++)
    sb_printf(&b, "seq_crossover %s %u %u %u %u\n", gk_seq_kind_name(t->seq[i].kind),
              t->seq[i].param, t->seq[i].d, t->seq[i].causal, t->seq[i].n);
  for (int op = 0; op < GK_OP_COUNT; op++)
    if (t->single_thread_below[op] > 0)
      sb_printf(&b, "single_thread_below %s %.0f\n", gk_op_to_name(op),
                t->single_thread_below[op]), n++;
  if (t->tune_threads) sb_printf(&b, "tune_threads %u\n", t->tune_threads), n++;
  for (int op = 0; op < GK_OP_COUNT; op++)
    for (unsigned cls = 0; cls < gk_op_classes((gk_op)op); cls++)
      if (t->variant[op][cls][0])
        sb_printf(&b, "variant %s %s %s\n", gk_op_to_name(op), gk_class_name((gk_op)op, cls),
                  t->variant[op][cls]), n++;
  sb_printf(&b, "end %u\n", n);
  if (b.failed) return free(b.s), NULL;
  return b.s;
}

static int make_parents(const char *path) {
  char dir[4096];
  if (!join(dir, sizeof dir, path, "")) return 0;
  for (char *s = dir + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return 0;
    *s = '/';
  }
  return 1;
}

static int write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    s += w, n -= (size_t)w;
  }
  return 1;
}

gk_status gk_profile_write_atomic(const char *path, const char *text) {
  char tmp[4096], dir[4096];
  if (!path || !text || !*path) return GK_ERR_INVALID_ARG;
  if (!join(tmp, sizeof tmp, path, ".tmp.XXXXXX") || !join(dir, sizeof dir, path, ""))
    return GK_ERR_INVALID_ARG;
  if (!make_parents(path)) return GK_ERR_IO;
  int fd = mkstemp(tmp);
  if (fd < 0) return GK_ERR_IO;
  int ok = write_all(fd, text, strlen(text)) && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
  ok = (close(fd) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return GK_ERR_IO;
  }
  /* make the rename itself durable */
  char *slash = strrchr(dir, '/');
  if (slash) {
    if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
  } else {
    strcpy(dir, ".");
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) fsync(dfd), close(dfd);
  return GK_OK;
}

/* ------------------------------------------------------------- loading */

static char loaded_path[4096];

void gk_profile_apply(gk_ctx *c) {
  char path[4096], sig[512];
  if (!gk_profile_locate(0, path, sizeof path)) {
    if (c->verbose) gk_log("profile: none (GK_PROFILE=off or nothing found); defaults");
    return;
  }
  gk_profile_signature(&c->cpu, &c->topo, sig, sizeof sig);
  gk_profile_result res;
  gk_status st = gk_profile_load(path, sig, c->usable, c->verbose, &c->tuning, &res);
  if (st != GK_OK) {
    if (c->verbose) gk_log("profile %s ignored: %s; defaults", path, res.why);
    return;
  }
  snprintf(loaded_path, sizeof loaded_path, "%s", path);
  if (c->verbose)
    gk_log("profile %s: %u entries applied, %u rejected (defaults kept for those)", path,
           res.accepted, res.rejected);
}

GK_API const char *gk_profile_path(void) {
  gk_ctx_get();
  return loaded_path[0] ? loaded_path : NULL;
}

/* Once-only initialisation: CPU detection, the GK_ISA cap, cache topology,
 * tuning (profile over defaults) and the dispatch choice per op.
 *
 * The context is built once under pthread_once and never modified after,
 * so every later reader sees a complete, immutable table without locks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "profile.h"

static gk_ctx ctx;
static gk_once ctx_once = GK_ONCE_INIT;

void gk_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("greenkern: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Features each ISA level needs; GK_ISA caps by clearing the rest. */
static uint32_t features_up_to(gk_isa cap) {
  switch (cap) {
    case GK_ISA_SCALAR: return 0;
    case GK_ISA_AVX2: return GK_CPU_AVX2;
    case GK_ISA_AVX512: return ~(uint32_t)(GK_CPU_NEON | GK_CPU_DOTPROD);
    case GK_ISA_NEON: return GK_CPU_NEON | GK_CPU_DOTPROD;
  }
  return 0;
}

static gk_isa highest_isa(uint32_t f) {
  if (f & GK_CPU_AVX512) return GK_ISA_AVX512;
  if (f & GK_CPU_AVX2) return GK_ISA_AVX2;
  if (f & GK_CPU_NEON) return GK_ISA_NEON;
  return GK_ISA_SCALAR;
}

static int parse_isa(const char *s, gk_isa *out) {
  static const gk_isa all[] = {GK_ISA_SCALAR, GK_ISA_AVX2, GK_ISA_AVX512, GK_ISA_NEON};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    if (!strcmp(s, gk_isa_name(all[i]))) return *out = all[i], 1;
  return 0;
}

int gk_variant_usable(const gk_variant *v) {
  const gk_ctx *c = gk_ctx_get();
  return (v->requires & ~c->usable) == 0;
}

static int usable_in(const gk_ctx *c, const gk_variant *v) {
  return (v->requires & ~c->usable) == 0;
}

/* The usable variant of op named name, or NULL. */
static const gk_variant *usable_named(const gk_ctx *c, gk_op op, const char *name) {
  const gk_variant *v = name[0] ? gk_registry_find(op, name) : NULL;
  return v && usable_in(c, v) ? v : NULL;
}

/* Per op and shape class: the profile's variant, else the highest
 * priority usable one (the same for every class). */
static void choose_variants(gk_ctx *c) {
  const gk_registry *r = gk_registry_get();
  for (int op = 0; op < GK_OP_COUNT; op++) {
    const gk_variant *best = NULL;
    for (size_t i = 0; i < r->count; i++) {
      const gk_variant *v = r->v[i];
      if ((int)v->op == op && usable_in(c, v) && (!best || v->priority > best->priority))
        best = v;
    }
    if (!best) c->init_status = GK_ERR_INTERNAL; /* no scalar variant */
    for (unsigned cls = 0; cls < gk_op_classes((gk_op)op); cls++) {
      const char *want = c->tuning.variant[op][cls];
      const gk_variant *tuned = usable_named(c, (gk_op)op, want);
      if (want[0] && !tuned && c->verbose)
        gk_log("profile names variant '%s' for %s %s, which this host cannot run; "
               "using the default", want, gk_op_to_name(op), gk_class_name((gk_op)op, cls));
      c->chosen[op][cls] = tuned ? tuned : best;
      if (c->verbose && best)
        gk_log("%-16s %-7s -> %s (%s)", gk_op_to_name(op), gk_class_name((gk_op)op, cls),
               c->chosen[op][cls]->name, tuned ? "tuned" : "default priority");
    }
  }
}

static void init_once(void) {
  const char *v = getenv("GK_VERBOSE");
  ctx.verbose = v && *v && strcmp(v, "0") != 0;
  gk_cpu_detect(&ctx.cpu);
  ctx.usable = ctx.cpu.features;

  const char *cap = getenv("GK_ISA");
  if (cap && *cap) {
    gk_isa want;
    if (!parse_isa(cap, &want)) {
      if (ctx.verbose) gk_log("GK_ISA='%s' not understood (scalar, avx2, avx512, neon); ignored", cap);
    } else {
      ctx.usable &= features_up_to(want);
      if (ctx.verbose && highest_isa(ctx.cpu.features) < want && want != GK_ISA_NEON)
        gk_log("GK_ISA=%s is above what this CPU has; capped at %s", cap,
               gk_isa_name(highest_isa(ctx.cpu.features)));
    }
  }
  ctx.isa = highest_isa(ctx.usable);

  gk_topology_detect(&ctx.topo);
  gk_tuning_defaults(&ctx.tuning, &ctx.topo);

  if (ctx.verbose) {
    char feat[128], use[128];
    gk_cpu_features_string(ctx.cpu.features, feat, sizeof feat);
    gk_cpu_features_string(ctx.usable, use, sizeof use);
    gk_log("%s, build %s", gk_version(), gk_build_id());
    gk_log("cpu: %s %s (%s) [%s]", ctx.cpu.arch, ctx.cpu.vendor, ctx.cpu.model,
           ctx.cpu.brand);
    gk_log("features: %s; usable: %s; isa: %s", feat, use, gk_isa_name(ctx.isa));
    gk_log("caches: L1d %zu KiB, L2 %zu KiB, L3 %zu KiB; %d cores, %d threads (%s)",
           ctx.topo.l1d >> 10, ctx.topo.l2 >> 10, ctx.topo.l3 >> 10,
           ctx.topo.cores, ctx.topo.pus, ctx.topo.source);
  }
  /* The tuner's profile is applied here, over the defaults. */
  gk_profile_apply(&ctx);
  choose_variants(&ctx);
}

const gk_ctx *gk_ctx_get(void) {
  gk_call_once(&ctx_once, init_once);
  return &ctx;
}

const gk_variant *gk_dispatch(gk_op op) {
  return gk_ctx_get()->chosen[op][gk_op_default_class(op)];
}

const gk_variant *gk_dispatch_class(gk_op op, unsigned cls) {
  return cls < gk_op_classes(op) ? gk_ctx_get()->chosen[op][cls] : gk_dispatch(op);
}

GK_API gk_status gk_init(void) { return gk_ctx_get()->init_status; }

GK_API gk_isa gk_active_isa(void) { return gk_ctx_get()->isa; }

GK_API const char *gk_isa_name(gk_isa isa) {
  switch (isa) {
    case GK_ISA_SCALAR: return "scalar";
    case GK_ISA_AVX2: return "avx2";
    case GK_ISA_AVX512: return "avx512";
    case GK_ISA_NEON: return "neon";
  }
  return "?";
}

GK_API const char *gk_chosen_variant(const char *op) {
  int i = gk_op_from_name(op);
  if (i < 0) return NULL;
  const gk_variant *v = gk_dispatch((gk_op)i);
  return v ? v->name : NULL;
}

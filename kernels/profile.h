/* The machine profile: the tuner's measurements as a versioned, sorted,
 * line-based text file that the library reads once at initialisation.
 *
 *   greenkern-profile 3
 *   signature x86_64;GenuineIntel;family 6 model 207 stepping 2;avx2 ...;build=...
 *   gemm_blocking f32_gemm_ukernel_8x48__avx512 240 384 4096 24 8
 *                         (tile MC KC NC, and where measured the row tiles
 *                          that read raw weights in place: rows apart,
 *                          rows 4 KiB apart)
 *   noise_permille 25
 *   rank_crossover 128 768 768 304 5        (M K N r, and r's standard error)
 *   seq_crossover hamming_linear 16 64 0 512 (kind param d causal n)
 *   single_thread_below gemm 4000000
 *   tune_threads 2
 *   variant gemm decode f32_gemm_ukernel_6x64__avx512    (op, shape class, variant)
 *   end 7                                   (number of entries above)
 *
 * Like FFTW's wisdom, it is only trusted for the configuration that made
 * it: the signature (CPU identity, ISA features, caches, threads, library
 * build) must match exactly, and the version must be this one. The `end`
 * trailer proves the file complete. Each entry is then validated on its
 * own (ranges, variant names that exist and run here); a rejected entry
 * leaves that field at its default and is reported under GK_VERBOSE. */
#ifndef GK_PROFILE_H
#define GK_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "greenkern.h"
#include "tuning.h"

/* 2: rank_crossover states the fit's standard error (a fifth number);
 * 3: gemm_blocking names the tile (GEMM variant) its blocks were measured
 * on, and applies to that tile only; variant names the shape class it
 * was chosen for (shape_class.h). Later in version 3, gemm_blocking may
 * end in two more numbers (the in-place limits): a library that knows
 * only the short form rejects that one line, not the file. */
#define GK_PROFILE_VERSION 3
#define GK_PROFILE_MAX_BYTES ((size_t)1 << 20) /* larger files are refused */
#define GK_PROFILE_MAX_LINE 1024               /* longer lines are rejected */

struct gk_cpu_info;
struct gk_topology;

/* This machine's signature (no newline); truncated to size. */
void gk_profile_signature(const struct gk_cpu_info *cpu, const struct gk_topology *topo,
                          char *buf, size_t size);

typedef struct gk_profile_result {
  unsigned accepted, rejected; /* entries */
  char why[160];               /* first reason the file or an entry was refused */
} gk_profile_result;

/* Parses text[0..len) and, when its header, signature and trailer hold,
 * applies each valid entry onto *t (other fields keep their values).
 * `usable` is the host's usable feature mask: variants needing more are
 * rejected. `verbose` logs each rejection (GK_VERBOSE). Returns GK_OK, or
 * GK_ERR_BAD_FORMAT when the file as a whole is refused (nothing applied).
 * Never reads outside text[0..len); text need not be NUL-terminated. */
gk_status gk_profile_parse(const char *text, size_t len, const char *signature,
                           uint32_t usable, int verbose, gk_tuning *t,
                           gk_profile_result *res);

/* Reads a file (at most GK_PROFILE_MAX_BYTES) and parses it as above.
 * GK_ERR_IO when it cannot be read. */
gk_status gk_profile_load(const char *path, const char *signature, uint32_t usable,
                          int verbose, gk_tuning *t, gk_profile_result *res);

/* The profile's path by the search order: GK_PROFILE (a path; "off" gives
 * none), $XDG_CONFIG_HOME/greenkern/profile (else ~/.config/greenkern/
 * profile), /etc/greenkern/profile. For reading, the first that exists;
 * for writing, GK_PROFILE or the user's one. Returns 0 when there is none
 * (or GK_PROFILE=off, or the path would not fit). */
int gk_profile_locate(int for_writing, char *path, size_t size);

/* Serialises the fields of t that are set (non-empty variant, non-zero
 * number, table points) in the sorted profile form. Returns a malloc'd,
 * NUL-terminated text or NULL when out of memory. */
char *gk_profile_format(const gk_tuning *t, const char *signature);

/* Writes text to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. Creates missing parent
 * directories. An interrupted or concurrent writer leaves either the old
 * or a complete new file, never a partial one. */
gk_status gk_profile_write_atomic(const char *path, const char *text);

/* Applies the profile found by the search order onto the context's tuning
 * (called once from init, before the variant choice). */
struct gk_ctx;
void gk_profile_apply(struct gk_ctx *c);

/* Names of the crossover kinds in the file and the report. */
const char *gk_seq_kind_name(gk_seq_kind k);

#endif

/* All-pairs Hamming distances driver: packs the b side into key blocks
 * (see hamming.h), then runs the variant's popcount kernel over query tiles
 * in parallel. The last, partial key block goes through a small scratch
 * tile so nothing past column n_b is written. */
#include <string.h>

#include "hamming.h"

void gk_hamming_pack_keys(const uint64_t *k, size_t ldk, size_t n, size_t words,
                          size_t lanes, uint32_t *kp) {
  size_t w32 = 2 * words, nblk = (n + lanes - 1) / lanes;
  for (size_t kb = 0; kb < nblk; kb++)
    for (size_t l = 0; l < lanes; l++) {
      size_t j = kb * lanes + l;
      const uint32_t *src = j < n ? (const uint32_t *)(k + j * ldk) : NULL;
      for (size_t w = 0; w < w32; w++) kp[(kb * w32 + w) * lanes + l] = src ? src[w] : 0;
    }
}

/* Query rows per task: enough to amortise each key block's loads, small
 * enough that the tail scratch stays on the stack. */
#define QTILE 64
/* A pass's packed keys: half of a typical 32-48 KiB L1d. */
#define KEY_CHUNK_BYTES (16 * 1024)

/* What the query tiles share. */
typedef struct dist_job {
  const gk_hdist_impl *impl;
  const gk_hdist_args *a;
  const uint32_t *kp;        /* b's codes in key blocks */
  size_t full, tail, chunk;  /* whole key blocks, codes past them, blocks per pass */
  size_t w32;
} dist_job;

/* Rows [t·QTILE, +QTILE) of d. */
static void dist_tile(void *ctx, size_t t, int tid) {
  const dist_job *j = ctx;
  const gk_hdist_args *a = j->a;
  const size_t lanes = j->impl->lanes, w32 = j->w32;
  (void)tid;
  size_t i0 = t * QTILE, qn = a->na - i0 < QTILE ? a->na - i0 : QTILE;
  const uint32_t *q = (const uint32_t *)(a->a + i0 * a->lda);
  uint16_t *d = a->d + i0 * a->ldd;
  for (size_t c0 = 0; c0 < j->full; c0 += j->chunk) {
    size_t cn = j->full - c0 < j->chunk ? j->full - c0 : j->chunk;
    j->impl->blocks(q, 2 * a->lda, qn, j->kp + c0 * w32 * lanes, cn, w32, d + c0 * lanes, a->ldd);
  }
  if (j->tail) {
    uint16_t scratch[QTILE * 16];
    j->impl->blocks(q, 2 * a->lda, qn, j->kp + j->full * w32 * lanes, 1, w32, scratch, lanes);
    for (size_t i = 0; i < qn; i++)
      memcpy(d + i * a->ldd + j->full * lanes, scratch + i * lanes, j->tail * sizeof(uint16_t));
  }
}

gk_status gk_hamming_distances_run(const gk_variant *v, const gk_hdist_args *a) {
  if (!a->a || !a->b || !a->d) return GK_ERR_INVALID_ARG;
  if (a->words == 0 || a->words > GK_CODE_WORDS(GK_HASH_MAX_BITS)) return GK_ERR_INVALID_ARG;
  gk_status s;
  if ((s = gk_check_matrix(a->a, a->na, a->words, a->lda)) ||
      (s = gk_check_matrix(a->b, a->nb, a->words, a->ldb)) ||
      (s = gk_check_matrix(a->d, a->na, a->nb, a->ldd)))
    return s;
  const gk_hdist_impl *impl = v->impl;
  size_t lanes = impl->lanes, w32 = 2 * a->words, nblk = (a->nb + lanes - 1) / lanes, bytes;
  if (!gk_mul_ok(nblk * lanes, w32 * sizeof(uint32_t), &bytes)) return GK_ERR_OVERFLOW;
  uint32_t *kp = gk_aligned_alloc(bytes);
  if (!kp) return GK_ERR_NO_MEMORY;
  gk_hamming_pack_keys(a->b, a->ldb, a->nb, a->words, lanes, kp);

  size_t full = a->nb / lanes, tail = a->nb % lanes, ntile = (a->na + QTILE - 1) / QTILE;
  /* key blocks per pass: the pass's keys stay in L1 for the whole tile */
  size_t chunk = KEY_CHUNK_BYTES / (w32 * lanes * sizeof(uint32_t));
  if (chunk == 0) chunk = 1;
  int nt = a->threads ? a->threads
                      : gk_threads_for(GK_OP_HAMMING_DIST, (double)a->na * a->nb * (w32 + 1));
  dist_job j = {impl, a, kp, full, tail, chunk, w32};
  gk_parallel_for(nt, ntile, dist_tile, &j);
  gk_aligned_free(kp);
  return GK_OK;
}

GK_API gk_status gk_hamming_distances(size_t n_a, size_t n_b, size_t words,
                                      const uint64_t *a, size_t lda,
                                      const uint64_t *b, size_t ldb,
                                      uint16_t *d, size_t ldd) {
  gk_hdist_args args = {n_a, n_b, words, a, lda, b, ldb, d, ldd, 0};
  return gk_hamming_distances_run(gk_dispatch(GK_OP_HAMMING_DIST), &args);
}

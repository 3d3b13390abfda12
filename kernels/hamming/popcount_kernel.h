/* One Hamming-distance block kernel, instantiated per popcount method by
 * popcount.c (included once per method; not a standalone header).
 *
 * Expects: PK_NAME, PK_ATTR, PK_LANES, PK_CHUNK, types pk_vec (PK_LANES
 * dwords), pk_narrow, pk_wide and
 *   pk_vec pk_bcast(uint32_t q);     one query dword in every lane
 *   pk_narrow pk_zero_narrow(void);  pk_wide pk_zero_wide(void);
 *   pk_narrow pk_step(pk_narrow, pk_vec q, const uint32_t *k);
 *       adds popcount(q XOR k[lane]) per lane (k: PK_LANES dwords);
 *   pk_wide pk_flush(pk_wide, pk_narrow);  void pk_store(uint16_t *, pk_wide);
 * A narrow accumulator may hold at most PK_CHUNK steps (byte counters).
 *
 * Loop order: per query, its w32 broadcast dwords stay in registers (the
 * entry point makes w32 a compile-time constant for the common code sizes,
 * so the word loop unrolls) while the key blocks stream past from L1; each
 * query's distances are stored contiguously along its output row. (Storing
 * down a column of a power-of-two-strided output instead thrashes an L1
 * set.) Callers bound nblk so the key blocks stay in L1. */
#define PK_BODY PK_CAT(PK_NAME, _body)
#define PK_MAXW (2 * GK_CODE_WORDS(GK_HASH_MAX_BITS))

static inline __attribute__((always_inline)) PK_ATTR void PK_BODY(
    const uint32_t *q, size_t ldq32, size_t nq, const uint32_t *kp, size_t nblk, size_t w32,
    uint16_t *out, size_t ldo) {
  for (size_t i = 0; i < nq; i++) {
    pk_vec qv[PK_MAXW];
    for (size_t w = 0; w < w32; w++) qv[w] = pk_bcast(q[i * ldq32 + w]);
    uint16_t *o = out + i * ldo;
    for (size_t kb = 0; kb < nblk; kb++) {
      const uint32_t *k = kp + kb * w32 * PK_LANES;
      pk_wide s = pk_zero_wide();
      for (size_t w0 = 0; w0 < w32; w0 += PK_CHUNK) {
        size_t w1 = w32 - w0 < PK_CHUNK ? w32 : w0 + PK_CHUNK;
        pk_narrow n = pk_zero_narrow();
        for (size_t w = w0; w < w1; w++) n = pk_step(n, qv[w], k + w * PK_LANES);
        s = pk_flush(s, n);
      }
      pk_store(o + kb * PK_LANES, s);
    }
  }
}
/* Specialised for 64, 128 and 256-bit codes; any other size runs the
 * same body with a run-time word count. */
static PK_ATTR void PK_NAME(const uint32_t *q, size_t ldq32, size_t nq, const uint32_t *kp,
                            size_t nblk, size_t w32, uint16_t *out, size_t ldo) {
  switch (w32) {
    case 2: PK_BODY(q, ldq32, nq, kp, nblk, 2, out, ldo); break;
    case 4: PK_BODY(q, ldq32, nq, kp, nblk, 4, out, ldo); break;
    case 8: PK_BODY(q, ldq32, nq, kp, nblk, 8, out, ldo); break;
    default: PK_BODY(q, ldq32, nq, kp, nblk, w32, out, ldo); break;
  }
}
#undef PK_BODY
#undef PK_MAXW

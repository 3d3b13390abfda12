/* One Hamming-distance block kernel, instantiated per popcount method by
 * popcount.c (included once per method; not a standalone header).
 *
 * Expects: PK_NAME, PK_ATTR, PK_LANES, PK_CHUNK, types pk_narrow/pk_wide and
 *   pk_narrow pk_zero_narrow(void);  pk_wide pk_zero_wide(void);
 *   pk_narrow pk_step(pk_narrow, uint32_t q, const uint32_t *k);
 *       adds popcount(q XOR k[lane]) per lane (k: PK_LANES dwords);
 *   pk_wide pk_flush(pk_wide, pk_narrow);  void pk_store(uint16_t *, pk_wide);
 * A narrow accumulator may hold at most PK_CHUNK steps (byte counters).
 *
 * Loop order: per key block, its w32 x PK_LANES dwords stay in registers or
 * L1 while every query streams past; four queries share each key load. */
static PK_ATTR void PK_NAME(const uint32_t *q, size_t ldq32, size_t nq,
                            const uint32_t *kp, size_t nblk, size_t w32,
                            uint16_t *out, size_t ldo) {
  for (size_t kb = 0; kb < nblk; kb++) {
    const uint32_t *k = kp + kb * w32 * PK_LANES;
    uint16_t *o = out + kb * PK_LANES;
    size_t i = 0;
    for (; i + 4 <= nq; i += 4) {
      const uint32_t *q0 = q + i * ldq32, *q1 = q0 + ldq32, *q2 = q1 + ldq32, *q3 = q2 + ldq32;
      pk_wide s0 = pk_zero_wide(), s1 = pk_zero_wide(), s2 = pk_zero_wide(), s3 = pk_zero_wide();
      for (size_t w0 = 0; w0 < w32; w0 += PK_CHUNK) {
        size_t w1 = w32 - w0 < PK_CHUNK ? w32 : w0 + PK_CHUNK;
        pk_narrow n0 = pk_zero_narrow(), n1 = pk_zero_narrow();
        pk_narrow n2 = pk_zero_narrow(), n3 = pk_zero_narrow();
        for (size_t w = w0; w < w1; w++) {
          const uint32_t *kw = k + w * PK_LANES;
          n0 = pk_step(n0, q0[w], kw), n1 = pk_step(n1, q1[w], kw);
          n2 = pk_step(n2, q2[w], kw), n3 = pk_step(n3, q3[w], kw);
        }
        s0 = pk_flush(s0, n0), s1 = pk_flush(s1, n1);
        s2 = pk_flush(s2, n2), s3 = pk_flush(s3, n3);
      }
      pk_store(o + i * ldo, s0), pk_store(o + (i + 1) * ldo, s1);
      pk_store(o + (i + 2) * ldo, s2), pk_store(o + (i + 3) * ldo, s3);
    }
    for (; i < nq; i++) {
      const uint32_t *q0 = q + i * ldq32;
      pk_wide s0 = pk_zero_wide();
      for (size_t w0 = 0; w0 < w32; w0 += PK_CHUNK) {
        size_t w1 = w32 - w0 < PK_CHUNK ? w32 : w0 + PK_CHUNK;
        pk_narrow n0 = pk_zero_narrow();
        for (size_t w = w0; w < w1; w++) n0 = pk_step(n0, q0[w], k + w * PK_LANES);
        s0 = pk_flush(s0, n0);
      }
      pk_store(o + i * ldo, s0);
    }
  }
}

/* BASELINE ONLY, never part of the library: the plain C all-pairs Hamming
 * double loop a user would write, compiled with -O3 -march=native (GCC
 * vectorises it, with VPOPCNTQ where the CPU has it). The code size is a
 * compile-time constant for 64/128/256-bit codes (as in code written for a
 * fixed b), which lets GCC unroll and vectorise the word loop; other sizes
 * take the run-time loop. The benchmark binary runs it side by side with
 * greenkern's dispatched kernels. */
#include "hamming_plain_loop.h"

static inline __attribute__((always_inline)) void loop(const uint64_t *a, const uint64_t *b,
                                                       size_t na, size_t nb, size_t words,
                                                       uint16_t *d) {
  for (size_t i = 0; i < na; i++)
    for (size_t j = 0; j < nb; j++) {
      unsigned s = 0;
      for (size_t w = 0; w < words; w++) s += (unsigned)__builtin_popcountll(a[i * words + w] ^ b[j * words + w]);
      d[i * nb + j] = (uint16_t)s;
    }
}

void gkb_plain_hamming_loop(const uint64_t *a, const uint64_t *b, size_t na, size_t nb,
                            size_t words, uint16_t *d) {
  switch (words) {
    case 1: loop(a, b, na, nb, 1, d); break;
    case 2: loop(a, b, na, nb, 2, d); break;
    case 4: loop(a, b, na, nb, 4, d); break;
    default: loop(a, b, na, nb, words, d); break;
  }
}

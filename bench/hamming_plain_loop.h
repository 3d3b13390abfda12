/* The benchmark's plain-loop baseline (see hamming_plain_loop.c). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
void gkb_plain_hamming_loop(const uint64_t *a, const uint64_t *b, size_t na, size_t nb,
                            size_t words, uint16_t *d);
#ifdef __cplusplus
}
#endif

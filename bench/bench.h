// Shared pieces of the microbenchmark suite (Google Benchmark over the C API).
//
// Every op's benchmarks are registered at startup from the registry, one per
// variant x shape x thread count, so a new variant is benchmarked the moment
// it is registered. A variant the host cannot run is reported as skipped
// with the reason, never as a number.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "kernels/internal.h"
}

namespace gkb {

// 64-byte aligned float buffer filled with uniform [-1, 1) values.
struct Buffer {
  float *p = nullptr;
  size_t n = 0;
  explicit Buffer(size_t count, unsigned seed = 1);
  ~Buffer();
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  float *data() { return p; }
};

// Returns false (and marks the run skipped) if the host cannot run v.
bool usable_or_skip(benchmark::State &st, const gk_variant *v);

// FLOP counter in GFLOP/s: benchmark divides the total by the wall time.
void set_flops(benchmark::State &st, double flops_per_iter);

// Registered variants of an op, in registry order.
std::vector<const gk_variant *> variants_of(gk_op op);

// n random codes of b bits, words = GK_CODE_WORDS(b) each, code i at
// [i * words]; unused high bits clear, as gk_hash writes them.
std::vector<uint64_t> random_codes(size_t n, size_t b, uint64_t seed);

// Thread counts to bench: 1, and 2 (or the machine's count) when more exist.
std::vector<int> thread_counts();

// Each benchmark file provides one of these; bench_main.cc calls them all.
void register_gemm();
void register_attention();
void register_hamming();
void register_lowrank();

}  // namespace gkb

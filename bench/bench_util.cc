// The suite's shared helpers (bench.h), for greenkern-bench and
// greenkern-pair alike.
#include <cstdlib>

#include "bench.h"

namespace gkb {

Buffer::Buffer(size_t count, unsigned seed) : n(count) {
  p = static_cast<float *>(gk_aligned_alloc(count * sizeof(float)));
  if (!p) std::abort();
  uint32_t s = seed * 2654435761u + 1;
  for (size_t i = 0; i < count; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)((s >> 8) * (1.0 / 8388608.0) - 1.0);
  }
}
Buffer::~Buffer() { gk_aligned_free(p); }

bool usable_or_skip(benchmark::State &st, const gk_variant *v) {
  if (gk_variant_usable(v)) return true;
  st.SkipWithError("skipped: host lacks this variant's ISA");
  return false;
}

void set_flops(benchmark::State &st, double flops) {
  st.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9 * (double)st.iterations(), benchmark::Counter::kIsRate);
}

std::vector<const gk_variant *> variants_of(gk_op op) {
  std::vector<const gk_variant *> out;
  const gk_registry *r = gk_registry_get();
  for (size_t i = 0; i < r->count; i++)
    if (r->v[i]->op == op) out.push_back(r->v[i]);
  return out;
}

std::vector<int> thread_counts() {
  int maxt = gk_max_threads();
  if (maxt <= 1) return {1};
  return {1, maxt < 2 ? maxt : 2};
}

std::vector<uint64_t> random_codes(size_t n, size_t b, uint64_t seed) {
  size_t words = GK_CODE_WORDS(b);
  std::vector<uint64_t> c(n * words);
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < n; i++)
    for (size_t w = 0; w < words; w++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      size_t nl = b - 64 * w < 64 ? b - 64 * w : 64;
      c[i * words + w] = nl == 64 ? s : s & ((1ull << nl) - 1);
    }
  return c;
}

}  // namespace gkb

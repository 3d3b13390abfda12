// EcoFormer benchmarks, side by side in one binary:
//  - all-pairs Hamming distances (pairs/s), b in {64, 128, 256}, n = 4096:
//    every registered hamming_dist variant, faiss::hammings (when configured)
//    and the plain -O3 -march=native loop (bench/hamming_plain_loop.c);
//  - the kernelized hash, every variant, b in {16, 64}, n = 128 .. 4096,
//    12 heads x d = 64, 25 anchors, 1 and 2 threads;
//  - Hamming attention, quadratic vs linear (the dispatched variant of each),
//    12 heads x d = 64, b in {16, 64, 256}, n = 128 .. 16384, 1 and 2 threads.
#include <cstdio>
#include <cstring>
#include <vector>

#include "bench.h"
#include "hamming_plain_loop.h"

extern "C" {
#include "kernels/hamming/hamming.h"
}
#ifdef GKB_HAVE_FAISS
#include <faiss/utils/hamming.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace gkb {

namespace {

void set_pairs(benchmark::State &st, double pairs) {
  st.counters["Gpairs/s"] =
      benchmark::Counter(pairs * 1e-9 * (double)st.iterations(), benchmark::Counter::kIsRate);
}

std::string dist_name(const std::string &who, size_t b, size_t n, int t) {
  char s[160];
  snprintf(s, sizeof s, "hamming_dist/%s/b=%zu/n=%zu/threads=%d", who.c_str(), b, n, t);
  return s;
}

void register_distances() {
  const size_t n = 4096;
  for (size_t b : {64, 128, 256})
    for (int t : thread_counts()) {
      for (const gk_variant *v : variants_of(GK_OP_HAMMING_DIST))
        benchmark::RegisterBenchmark(dist_name(v->name, b, n, t).c_str(), [v, b, n, t](benchmark::State &st) {
          if (!usable_or_skip(st, v)) return;
          size_t words = GK_CODE_WORDS(b);
          auto a = random_codes(n, b, 1), c = random_codes(n, b, 2);
          std::vector<uint16_t> d(n * n);
          gk_hdist_args args = {n, n, words, a.data(), words, c.data(), words, d.data(), n, t};
          for (auto _ : st) gk_hamming_distances_run(v, &args);
          set_pairs(st, (double)n * n);
        })->UseRealTime();
      if (t == 1) {
        benchmark::RegisterBenchmark(dist_name("baseline:plain_loop_O3_march_native", b, n, t).c_str(),
                                     [b, n](benchmark::State &st) {
          size_t words = GK_CODE_WORDS(b);
          auto a = random_codes(n, b, 1), c = random_codes(n, b, 2);
          std::vector<uint16_t> d(n * n);
          for (auto _ : st) gkb_plain_hamming_loop(a.data(), c.data(), n, n, words, d.data());
          set_pairs(st, (double)n * n);
        })->UseRealTime();
      }
#ifdef GKB_HAVE_FAISS
      benchmark::RegisterBenchmark(dist_name("peer:faiss_hammings", b, n, t).c_str(), [b, n, t](benchmark::State &st) {
        size_t words = GK_CODE_WORDS(b);
        auto a = random_codes(n, b, 1), c = random_codes(n, b, 2);
        std::vector<hamdis_t> d(n * n);
#ifdef _OPENMP
        omp_set_num_threads(t);
#endif
        for (auto _ : st)
          faiss::hammings(reinterpret_cast<const uint8_t *>(a.data()), reinterpret_cast<const uint8_t *>(c.data()),
                          n, n, words * 8, d.data());
        set_pairs(st, (double)n * n);
      })->UseRealTime();
#endif
    }
}

// The kernelized hash of one tensor (queries or keys), 12 heads x d = 64,
// m = 25 anchors as EcoFormer uses; every registered hash variant.
void register_hash() {
  const size_t heads = 12, d = 64, m = 25;
  for (const gk_variant *v : variants_of(GK_OP_HASH))
    for (size_t b : {16, 64})
      for (size_t n : {128, 1024, 4096})
        for (int t : thread_counts()) {
          char name[192];
          snprintf(name, sizeof name, "hash/%s/b=%zu/n=%zu/heads=%zu/d=%zu/m=%zu/threads=%d",
                   v->name, b, n, heads, d, m, t);
          benchmark::RegisterBenchmark(name, [v, b, n, t](benchmark::State &st) {
            if (!usable_or_skip(st, v)) return;
            size_t words = GK_CODE_WORDS(b);
            Buffer X(n * heads * d, 5), anchors(heads * m * d, 6), A(heads * b * m, 7);
            std::vector<uint64_t> codes(n * heads * words);
            gk_hash_params p = {heads, d, m, b, anchors.data(), NULL, A.data(), NULL, 1};
            gk_hash_args a = {p, n, X.data(), heads * d, d, codes.data(), heads * words, words, t};
            for (auto _ : st) gk_hash_run(v, &a);
            st.counters["tokens/s"] = benchmark::Counter((double)n * (double)st.iterations(),
                                                         benchmark::Counter::kIsRate);
          })->UseRealTime()->Unit(benchmark::kMicrosecond);
        }
}

void register_hamming_attention() {
  const size_t heads = 12, d = 64;
  for (gk_op op : {GK_OP_HAMMING_QUAD, GK_OP_HAMMING_LINEAR})
    for (size_t b : {16, 64, 256})
      for (size_t n = 128; n <= 16384; n *= 2)
        for (int t : thread_counts()) {
          const gk_variant *v = gk_dispatch(op);
          char name[192];
          snprintf(name, sizeof name, "hamming_attn/%s:%s/b=%zu/n=%zu/heads=%zu/d=%zu/threads=%d",
                   op == GK_OP_HAMMING_QUAD ? "quadratic" : "linear", v->name, b, n, heads, d, t);
          benchmark::RegisterBenchmark(name, [v, b, n, t](benchmark::State &st) {
            size_t words = GK_CODE_WORDS(b);
            auto q = random_codes(n * heads, b, 3), k = random_codes(n * heads, b, 4);
            Buffer V(n * heads * d), O(n * heads * d);
            gk_hattn_args a = {{heads, d, b, {1, 0, 0, 0}, 0, GK_HAMMING_AUTO}, n, n, n,
                               q.data(), heads * words, words, k.data(), heads * words, words,
                               V.data(), heads * d, d, O.data(), heads * d, d, t};
            for (auto _ : st) gk_hamming_attention_run(v, &a);
            st.counters["tokens/s"] = benchmark::Counter((double)n * (double)st.iterations(),
                                                         benchmark::Counter::kIsRate);
          })->UseRealTime()->Unit(benchmark::kMillisecond);
        }
}
}  // namespace

void register_hamming() {
  register_distances();
  register_hash();
  register_hamming_attention();
}

}  // namespace gkb

// Dense GEMM: every registered variant and every peer, same shapes, same
// binary, so one run gives the ratios.
#include <cstdio>

#include "bench.h"
#include "peers.h"

extern "C" {
#include "kernels/gemm/gemm.h"
}

namespace gkb {

namespace {
struct Shape {
  size_t M, K, N;
};
// BERT-base linear layers: (K, N) in {(768,768), (768,3072), (3072,768)}.
const std::vector<Shape> &dense_shapes() {
  static const std::vector<Shape> s = [] {
    std::vector<Shape> v;
    for (size_t M : {1, 32, 128, 512, 2048})
      for (auto kn : {Shape{0, 768, 768}, Shape{0, 768, 3072}, Shape{0, 3072, 768}})
        v.push_back({M, kn.K, kn.N});
    return v;
  }();
  return s;
}

std::string shape_name(const char *what, const Shape &s, int threads) {
  char b[128];
  snprintf(b, sizeof b, "%s/M=%zu/K=%zu/N=%zu/threads=%d", what, s.M, s.K, s.N, threads);
  return b;
}
}  // namespace

void register_gemm() {
  for (const Shape &s : dense_shapes())
    for (int t : thread_counts()) {
      for (const gk_variant *v : variants_of(GK_OP_GEMM)) {
        benchmark::RegisterBenchmark(
            shape_name(("gemm/" + std::string(v->name)).c_str(), s, t).c_str(),
            [v, s, t](benchmark::State &st) {
              if (!usable_or_skip(st, v)) return;
              Buffer X(s.M * s.K), W(s.K * s.N), Y(s.M * s.N);
              gk_gemm_args a = {s.M, s.N, s.K, X.data(), s.K, W.data(), s.N, GK_WEIGHT_KN,
                                nullptr, GK_ACT_NONE, Y.data(), s.N, t};
              for (auto _ : st) gk_gemm_run(v, &a);
              set_flops(st, 2.0 * s.M * s.N * s.K);
            })->UseRealTime();
      }
      for (const Peer &p : peers()) {
        benchmark::RegisterBenchmark(
            shape_name(("gemm/peer:" + std::string(p.name)).c_str(), s, t).c_str(),
            [p, s, t](benchmark::State &st) {
              Buffer X(s.M * s.K), W(s.K * s.N), Y(s.M * s.N);
              p.set_threads(t);
              for (auto _ : st) p.sgemm(s.M, s.N, s.K, X.data(), s.K, W.data(), s.N, false, Y.data(), s.N);
              set_flops(st, 2.0 * s.M * s.N * s.K);
            })->UseRealTime();
      }
    }
}

}  // namespace gkb

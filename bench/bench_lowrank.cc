// Rank-r GEMM (LRT) and linear-layer plans: every rank-r variant on packed
// factors (what a plan runs), the public per-call entry, our dense GEMM on
// W = U·V (packed, the plan's other path) and every peer's two-call form
// X·U then ·V, same shapes, same binary, so one run gives the ratios and
// the fused-vs-dense crossover rank (compare times: each row counts its own
// FLOPs, 2·M·r·(K+N) for rank-r, 2·M·K·N for dense). rank-crossover/ rows
// sample the ranks around the break-even for that crossover.
#include <cstdio>

#include "bench.h"
#include "peers.h"

extern "C" {
#include "kernels/gemm/gemm.h"
}

namespace gkb {

namespace {
struct Shape {
  size_t M, K, N, r;
};

std::string name(const std::string &what, const Shape &s, int threads) {
  char b[160];
  snprintf(b, sizeof b, "%s/M=%zu/K=%zu/N=%zu/r=%zu/threads=%d", what.c_str(), s.M, s.K, s.N,
           s.r, threads);
  return b;
}

// Factors and activations of one shape, U and V packed for one tile.
struct Operands {
  Buffer X, U, V, Y, T;
  float *pu = nullptr, *pv = nullptr;
  gk_packed_b u{}, v{};
  Operands(const Shape &s, const gk_gemm_impl *im)
      : X(s.M * s.K), U(s.K * s.r, 2), V(s.r * s.N, 3), Y(s.M * s.N), T(s.M * s.r) {
    if (!im) return;
    unsigned unr = im->u_nr(s.r);
    pu = static_cast<float *>(gk_aligned_alloc(gk_packed_floats(s.K, s.r, unr) * 4));
    pv = static_cast<float *>(gk_aligned_alloc(gk_packed_floats(s.r, s.N, im->nr) * 4));
    im->pack_nr(U.data(), s.r, GK_WEIGHT_KN, s.K, s.r, unr, pu);
    im->pack(V.data(), s.N, GK_WEIGHT_KN, s.r, s.N, pv);
    u = {pu, s.K, s.r, unr};
    v = {pv, s.r, s.N, im->nr};
  }
  ~Operands() {
    gk_aligned_free(pu);
    gk_aligned_free(pv);
  }
};

void lowrank_variant(benchmark::State &st, const gk_variant *v, Shape s, int t) {
  if (!usable_or_skip(st, v)) return;
  const gk_gemm_impl *im = static_cast<const gk_gemm_impl *>(v->impl);
  Operands o(s, im);
  for (auto _ : st)
    im->lowrank_packed(s.M, o.X.data(), s.K, &o.u, &o.v, nullptr, GK_ACT_NONE, o.Y.data(), s.N,
                       t, nullptr);
  set_flops(st, 2.0 * s.M * s.r * (s.K + s.N));
}

// The public entry packs both factors on every call.
void lowrank_public(benchmark::State &st, Shape s, int t) {
  Operands o(s, nullptr);
  gk_lowrank_args a = {s.M, s.N, s.K, s.r, o.X.data(), s.K, o.U.data(), s.r, GK_WEIGHT_KN,
                       o.V.data(), s.N, GK_WEIGHT_KN, nullptr, GK_ACT_NONE, o.Y.data(), s.N, t};
  for (auto _ : st) gk_lowrank_run(gk_dispatch(GK_OP_LOWRANK), &a);
  set_flops(st, 2.0 * s.M * s.r * (s.K + s.N));
}

// Our dense GEMM on packed W = U·V (the plan's dense path).
void dense_packed(benchmark::State &st, Shape s, int t) {
  const gk_gemm_impl *im = static_cast<const gk_gemm_impl *>(gk_dispatch(GK_OP_GEMM)->impl);
  Buffer X(s.M * s.K), W(s.K * s.N, 4), Y(s.M * s.N);
  float *pw = static_cast<float *>(gk_aligned_alloc(gk_packed_floats(s.K, s.N, im->nr) * 4));
  im->pack(W.data(), s.N, GK_WEIGHT_KN, s.K, s.N, pw);
  gk_packed_b b = {pw, s.K, s.N, im->nr};
  for (auto _ : st)
    im->run_packed(s.M, X.data(), s.K, &b, nullptr, GK_ACT_NONE, Y.data(), s.N, t, nullptr);
  set_flops(st, 2.0 * s.M * s.K * s.N);  // its own work: compare times, not rates
  gk_aligned_free(pw);
}

void peer_two_call(benchmark::State &st, const Peer &p, Shape s, int t) {
  Operands o(s, nullptr);
  p.set_threads(t);
  for (auto _ : st) {
    p.sgemm(s.M, s.r, s.K, o.X.data(), s.K, o.U.data(), s.r, false, o.T.data(), s.r);
    p.sgemm(s.M, s.N, s.r, o.T.data(), s.r, o.V.data(), s.N, false, o.Y.data(), s.N);
  }
  set_flops(st, 2.0 * s.M * s.r * (s.K + s.N));
}

// A plan's fixed cost: apply on a plan against the engine call it makes, at
// K = N = 16 where the product itself is a few dozen nanoseconds. r = 0: a
// dense plan; r > 0: one from rank-r factors (r = 4 is below the default
// crossover, so it takes the fused path).
void plan_overhead(benchmark::State &st, size_t M, size_t r, bool plan) {
  const Shape s = {M, 16, 16, r};
  gk_linear_plan *p = nullptr;
  if (r) {
    const gk_variant *v = gk_dispatch(GK_OP_LOWRANK);
    const gk_gemm_impl *im = static_cast<const gk_gemm_impl *>(v->impl);
    Operands o(s, im);
    gk_linear_create_lowrank(&p, s.K, s.N, r, o.U.data(), r, GK_WEIGHT_KN, o.V.data(), s.N,
                             GK_WEIGHT_KN, nullptr, GK_ACT_NONE);
    if (!gk_linear_uses_lowrank(p, M)) st.SkipWithError("the plan would run dense");
    if (plan)
      for (auto _ : st) gk_linear_apply(p, M, o.X.data(), s.K, o.Y.data(), s.N);
    else
      for (auto _ : st)
        im->lowrank_packed(M, o.X.data(), s.K, &o.u, &o.v, nullptr, GK_ACT_NONE, o.Y.data(), s.N,
                           1, nullptr);
    gk_linear_destroy(p);
    return;
  }
  Buffer X(M * s.K), W(s.K * s.N), Y(M * s.N);
  gk_linear_create_dense(&p, s.K, s.N, W.data(), s.N, GK_WEIGHT_KN, nullptr, GK_ACT_NONE);
  const gk_gemm_impl *im = static_cast<const gk_gemm_impl *>(gk_dispatch(GK_OP_GEMM)->impl);
  float *pw = static_cast<float *>(gk_aligned_alloc(gk_packed_floats(s.K, s.N, im->nr) * 4));
  im->pack(W.data(), s.N, GK_WEIGHT_KN, s.K, s.N, pw);
  gk_packed_b b = {pw, s.K, s.N, im->nr};
  if (plan)
    for (auto _ : st) gk_linear_apply(p, M, X.data(), s.K, Y.data(), s.N);
  else
    for (auto _ : st)
      im->run_packed(M, X.data(), s.K, &b, nullptr, GK_ACT_NONE, Y.data(), s.N, 1, nullptr);
  gk_linear_destroy(p);
  gk_aligned_free(pw);
}
}  // namespace

void register_lowrank() {
  static const size_t ranks[] = {16, 32, 64, 128, 192, 256, 384};
  std::vector<Shape> shapes;
  for (size_t M : {1, 32, 128, 512, 2048})
    for (auto kn : {std::make_pair(768, 768), std::make_pair(768, 3072), std::make_pair(3072, 768)})
      for (size_t r : ranks) shapes.push_back({M, (size_t)kn.first, (size_t)kn.second, r});
  for (const Shape &s : shapes)
    for (int t : thread_counts()) {
      for (const gk_variant *v : variants_of(GK_OP_LOWRANK))
        benchmark::RegisterBenchmark(name("lowrank/" + std::string(v->name), s, t).c_str(),
                                     lowrank_variant, v, s, t)
            ->UseRealTime();
      benchmark::RegisterBenchmark(name("lowrank/public", s, t).c_str(), lowrank_public, s, t)
          ->UseRealTime();
      benchmark::RegisterBenchmark(name("lowrank/dense-packed", s, t).c_str(), dense_packed, s, t)
          ->UseRealTime();
      for (const Peer &p : peers())
        benchmark::RegisterBenchmark(name("lowrank/peer:" + std::string(p.name), s, t).c_str(),
                                     peer_two_call, p, s, t)
            ->UseRealTime();
    }
  // Around the arithmetic break-even r0 = K·N/(K+N) (384 at K = N = 768,
  // 614 at 768 x 3072), where the tuner looks for the rank crossover: the
  // dispatched fused kernel against dense on W = U·V, so that the
  // crossover can be read off a benchmark run and set beside the tuner's.
  // Dense does not depend on r: one row per layer, named r=0.
  for (size_t M : {128, 512, 2048})
    for (auto kn : {std::make_pair(768, 768), std::make_pair(768, 3072), std::make_pair(3072, 768)})
      for (int t : thread_counts()) {
        const Shape d = {M, (size_t)kn.first, (size_t)kn.second, 0};
        benchmark::RegisterBenchmark(name("rank-crossover/dense", d, t).c_str(), dense_packed, d, t)
            ->UseRealTime();
        const double r0 = (double)d.K * d.N / (d.K + d.N);
        for (double f : {0.75, 0.875, 1.0, 1.125, 1.25}) {
          const Shape s = {M, d.K, d.N, (size_t)(f * r0 / 16 + 0.5) * 16};
          benchmark::RegisterBenchmark(name("rank-crossover/fused", s, t).c_str(), lowrank_variant,
                                       gk_dispatch(GK_OP_LOWRANK), s, t)
              ->UseRealTime();
        }
      }
  for (size_t M : {1, 32})
    for (size_t r : {0, 4}) {
      const std::string head = std::string("plan-overhead/") + (r ? "lowrank-r4/" : "");
      const std::string tail = "/M=" + std::to_string(M);
      benchmark::RegisterBenchmark((head + "apply" + tail).c_str(), plan_overhead, M, r, true);
      benchmark::RegisterBenchmark((head + "kernel" + tail).c_str(), plan_overhead, M, r, false);
    }
}

}  // namespace gkb

// Attention and Linformer attention, 12 heads x d = 64 (BERT-base), in the
// [tokens, heads*d] layout:
//   attention/<variant>/heads=12/d=64/n=N/threads=T       every variant
//   linformer/heads=12/d=64/n=N/k=K/threads=T             dispatched kernels,
//                                                          projection included
//   attention_kv/<variant>/heads=12/d=64/n=N/k=K/threads=T  the attention core
//                                   alone on n queries against k keys (the
//                                   part of Linformer after its projection)
//   attention_kv/<variant>/heads=12/d=64/n=1/k=K/threads=T  decoding: one
//                                   query against a cache of k keys
// GFLOP/s counts 4·n²·d per head for full attention and, for Linformer,
// 4·n·k·d (projections) + 4·n·k·d (attention over k rows) per head.
// scripts/bench_torch_attention.py runs PyTorch on the same shapes and prints
// the ratio table.
#include <cstdio>

#include "bench.h"

extern "C" {
#include "kernels/attention/attention.h"
}

namespace gkb {

namespace {
constexpr size_t kHeads = 12, kDim = 64;
const size_t kLengths[] = {128, 256, 512, 1024, 2048, 4096, 8192};
const size_t kProjected[] = {64, 128, 256};

std::string name(const std::string &what, size_t n, size_t k, int threads) {
  char b[160];
  if (k)
    snprintf(b, sizeof b, "%s/heads=%zu/d=%zu/n=%zu/k=%zu/threads=%d", what.c_str(), kHeads, kDim,
             n, k, threads);
  else
    snprintf(b, sizeof b, "%s/heads=%zu/d=%zu/n=%zu/threads=%d", what.c_str(), kHeads, kDim, n,
             threads);
  return b;
}

// Full attention at n >= 4096 takes seconds per call: one timed iteration.
void limit_long(benchmark::internal::Benchmark *b, double seconds_per_call) {
  if (seconds_per_call > 0.5) b->Iterations(1);
  else b->MinTime(0.2);
}

// The attention core (one variant) on n_q queries against n_kv keys; the
// name carries n_kv as k when it differs from n_q (Linformer's part).
benchmark::internal::Benchmark *register_core(const std::string &what, const gk_variant *v,
                                              size_t n_q, size_t n_kv, int t, double flops) {
  auto *b = benchmark::RegisterBenchmark(
      name(what + v->name, n_q, n_kv == n_q ? 0 : n_kv, t).c_str(),
      [v, n_q, n_kv, t, flops](benchmark::State &st) {
        if (!usable_or_skip(st, v)) return;
        const size_t ld = kHeads * kDim;
        Buffer Q(n_q * ld, 1), K(n_kv * ld, 2), V(n_kv * ld, 3), O(n_q * ld, 4);
        gk_attn_shape s = {1, kHeads, kDim, n_q, n_kv, 0, 0, 0, 0, 0, 0, 0, 0, 0.0f};
        gk_attn_args a;
        gk_attn_prepare(&s, Q.data(), ld, K.data(), ld, V.data(), ld, O.data(), ld, nullptr,
                        &a);
        a.threads = t;
        for (auto _ : st) gk_attention_run(v, &a);
        set_flops(st, flops);
      });
  return b->UseRealTime()->Unit(benchmark::kMillisecond);
}
}  // namespace

void register_attention() {
  for (size_t k : {512, 4096})
    for (int t : thread_counts())
      for (const gk_variant *v : variants_of(GK_OP_ATTENTION))
        register_core("attention_kv/", v, 1, k, t, 4.0 * kHeads * k * kDim)->MinTime(0.2);
  for (size_t n : kLengths)
    for (int t : thread_counts()) {
      for (const gk_variant *v : variants_of(GK_OP_ATTENTION)) {
        // the scalar reference only where it finishes in reasonable time
        if (v->isa == GK_ISA_SCALAR && n > 512) continue;
        const double flops = 4.0 * kHeads * n * n * kDim;
        auto *b = register_core("attention/", v, n, n, t, flops);
        limit_long(b, flops / (v->isa == GK_ISA_SCALAR ? 2e9 : 5e10) / t);
      }
      for (size_t k : kProjected) {
        if (n < 1024) continue;
        for (const gk_variant *v : variants_of(GK_OP_ATTENTION)) {
          if (v->isa == GK_ISA_SCALAR) continue;
          const double flops = 4.0 * kHeads * n * k * kDim;
          auto *b = register_core("attention_kv/", v, n, k, t, flops);
          b->MinTime(0.2);
        }
      }
      for (size_t k : kProjected) {
        const double flops = 8.0 * kHeads * n * k * kDim;
        auto *b = benchmark::RegisterBenchmark(
            name("linformer", n, k, t).c_str(), [n, k, t, flops](benchmark::State &st) {
              const size_t ld = kHeads * kDim;
              Buffer Q(n * ld, 1), K(n * ld, 2), V(n * ld, 3), O(n * ld, 4);
              Buffer E(k * n, 5), F(k * n, 6);
              gk_attn_shape s = {1, kHeads, kDim, n, n, 0, 0, 0, 0, 0, 0, 0, 0, 0.0f};
              gk_linformer_proj p = {k, n, E.data(), n, F.data(), n, 0, GK_LINFORMER_HEADWISE};
              gk_set_num_threads(t);
              size_t bytes = gk_linformer_workspace_size(&s, &p);
              Buffer W(bytes / sizeof(float) + 1, 7);
              for (auto _ : st)
                gk_linformer_attention(&s, &p, Q.data(), ld, K.data(), ld, V.data(), ld,
                                       O.data(), ld, nullptr, W.data(), bytes);
              gk_set_num_threads(0);
              set_flops(st, flops);
            });
        b->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.2);
      }
    }
}

}  // namespace gkb

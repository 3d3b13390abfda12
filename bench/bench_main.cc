// Microbenchmark entry point: registers every op's benchmarks, records the
// machine's context (CPU, caches, ISA, peers) in the report, runs.
//   greenkern-bench [--benchmark_filter=REGEX] [--benchmark_format=json] ...
#include <cstdio>

#include "bench.h"
#include "peers.h"

int main(int argc, char **argv) {
  gk_init();
  const gk_ctx *c = gk_ctx_get();
  char feat[128];
  gk_cpu_features_string(c->usable, feat, sizeof feat);
  benchmark::AddCustomContext("greenkern_build", gk_build_id());
  benchmark::AddCustomContext("greenkern_isa", gk_isa_name(c->isa));
  benchmark::AddCustomContext("cpu_features", feat);
  benchmark::AddCustomContext("cpu_brand", c->cpu.brand);
  char caches[160];
  snprintf(caches, sizeof caches, "L1d %zu KiB, L2 %zu KiB, L3 %zu KiB (%s)", c->topo.l1d >> 10,
           c->topo.l2 >> 10, c->topo.l3 >> 10, c->topo.source);
  benchmark::AddCustomContext("caches", caches);
  gkb::peers_describe();

  gkb::register_gemm();
  gkb::register_attention();
  gkb::register_hamming();
  gkb::register_lowrank();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// greenkern-pair: our GEMM and rank-r layer against each peer, alternating
// call by call, and the median of the per-round time ratios.
//
// Why a second tool beside greenkern-bench: on a shared VM a core's speed
// drifts by 10-60% within minutes, so two timings taken seconds apart
// (ours, then a peer's) can differ by more than the libraries do. Here each
// round times one call of every contestant back to back (each round
// starting with the next contestant), and the verdict is the median over
// rounds of peer time / our time, with its quartiles: drift slower than a
// round cancels out of each ratio. A ratio above 1 means we are faster.
// Buffers are 64-byte aligned, as a framework's tensors are (oneDNN ran 15%
// slower on rows 16 bytes off the cache lines; greenkern within 1%).
//
//   greenkern-pair [--reps=N] [--threads=T] [--peers=NAME,...] [--control] [SHAPE...]
//     SHAPE  gemm:M,N,K          dense Y = X·W, raw K x N weights (gk_gemm;
//                                peers: one sgemm)
//            gemm_nk:M,N,K       dense Y = X·Wᵀ, raw N x K weights (PyTorch's
//                                Linear.weight; peers: one sgemm, W
//                                transposed)
//            lowrank:M,K,N,r     a linear-layer plan from K x r and r x N
//                                factors (gk_linear_apply_ws, fused or dense
//                                as the plan picks, which the line names;
//                                peers: X·U, then ·V)
//     no SHAPE: the rank-r GEMM issue's bar shapes, dense then rank-r.
//   --control  adds greenkern itself as one more contestant, "control": its
//              ratio is this host's noise (1 but for drift), the band within
//              which no other ratio says anything.
//
// Times are wall-clock per call (threads), each call timed right after an
// untimed one of the same contestant, the first round discarded; with more
// than one thread each such pair starts after a 150 ms pause (see settle)
// and at least 20 ms of untimed calls (see kWakeSeconds).
// Run it at real-time priority (chrt -f 10) where you can: another
// process taking a core mid-call moves single rounds by a time slice.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "bench.h"
#include "peers.h"

namespace {

double now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// With several threads, libraries' idle workers spin for a while after a
// call (OpenMP's for about a millisecond, OpenBLAS's pthreads for up to
// 2^28 cycles) and take the cores from the next contestant's team: a
// 2-thread GEMM then ran 14x slower after OpenBLAS's. Waiting before each
// call lets every pool go to sleep.
void settle() {
  timespec t = {0, 150 * 1000 * 1000};
  nanosleep(&t, nullptr);
}
// ... and then the pool's idle cores take a while to come back: on the
// 2-core VM a 2-thread rank-r call (M = 32, r = 64, ~35 us warm) took
// 5.4-8.1 ms as the first call after the pause and still ~4 ms as the
// second in 7 of 10 rounds; the third ran at its warm speed. And the
// cores' clocks ramp up for milliseconds after the pause: on a 2-core Zen 3
// EPYC VM a 2-thread rank-r call (M = 2048, r = 16) took 2.0, 1.2, 1.1,
// 1.0, 0.9 ms in a row, for greenkern and oneDNN alike, so a contestant
// timed on its third call measured the ramp (greenkern read 0.70-0.89x
// oneDNN there, 0.98-1.08x warm). So with several threads each contestant
// makes untimed calls, at least this many and for at least kWakeSeconds,
// before its usual untimed one.
constexpr int kWakeCalls = 2;
constexpr double kWakeSeconds = 0.02;

struct Shape {
  bool lowrank;
  bool nk;  // dense: raw N x K weights
  size_t M, K, N, r;
};

bool parse(const char *s, Shape *sh) {
  *sh = {};
  if (sscanf(s, "gemm:%zu,%zu,%zu", &sh->M, &sh->N, &sh->K) == 3)
    return sh->M && sh->N && sh->K;
  if (sscanf(s, "gemm_nk:%zu,%zu,%zu", &sh->M, &sh->N, &sh->K) == 3)
    return (sh->nk = true) && sh->M && sh->N && sh->K;
  sh->lowrank = true;
  return sscanf(s, "lowrank:%zu,%zu,%zu,%zu", &sh->M, &sh->K, &sh->N, &sh->r) == 4 && sh->M &&
         sh->K && sh->N && sh->r && sh->r <= std::min(sh->K, sh->N);
}

std::vector<Shape> default_shapes() {
  std::vector<Shape> v;
  const size_t kn[3][2] = {{768, 768}, {768, 3072}, {3072, 768}};
  for (size_t M : {128, 512, 2048})
    for (auto &p : kn) v.push_back({false, false, M, p[0], p[1], 0});
  for (size_t M : {32, 128, 512, 2048})
    for (size_t r : {16, 32, 64, 128, 192, 256, 384}) v.push_back({true, false, M, 768, 768, r});
  return v;
}

// q = 1, 2, 3: lower quartile, median, upper quartile.
double quartile(std::vector<double> v, int q) {
  std::sort(v.begin(), v.end());
  return v[v.size() * (size_t)q / 4];
}
double median(const std::vector<double> &v) { return quartile(v, 2); }

// One contestant: a call on the shape's operands.
struct Contestant {
  std::string name;
  const gkb::Peer *peer;  // NULL: greenkern (itself, or the control)
  std::vector<double> t;
};

int run(const Shape &s, int reps, int threads, const std::vector<const gkb::Peer *> &peers,
        bool control) {
  gkb::Buffer X(s.M * s.K, 1), Y(s.M * s.N, 2);
  gkb::Buffer W(s.lowrank ? 1 : s.K * s.N, 3);
  gkb::Buffer U(s.lowrank ? s.K * s.r : 1, 4), V(s.lowrank ? s.r * s.N : 1, 5);
  gkb::Buffer T(s.lowrank ? s.M * s.r : 1, 6);
  gk_set_num_threads(threads);
  for (const gkb::Peer *p : peers) p->set_threads(threads);
  gk_linear_plan *plan = nullptr;
  size_t ws_bytes = 0;
  if (s.lowrank) {
    gk_status st = gk_linear_create_lowrank(&plan, s.K, s.N, s.r, U.data(), s.r, GK_WEIGHT_KN,
                                            V.data(), s.N, GK_WEIGHT_KN, nullptr, GK_ACT_NONE);
    if (st) {
      fprintf(stderr, "greenkern-pair: plan: %s\n", gk_strerror(st));
      return 1;
    }
    ws_bytes = gk_linear_workspace_size(plan, s.M); /* for this thread count */
  }
  gkb::Buffer ws(ws_bytes / sizeof(float) + 1, 7); /* 64-byte aligned */
  std::vector<Contestant> cs;
  cs.push_back({"greenkern", nullptr, {}});
  for (const gkb::Peer *p : peers) cs.push_back({p->name, p, {}});
  if (control) cs.push_back({"control", nullptr, {}});

  auto call = [&](const Contestant &c) {
    if (!c.peer && s.lowrank)
      return gk_linear_apply_ws(plan, s.M, X.data(), s.K, Y.data(), s.N, ws.data(), ws_bytes);
    const size_t ldw = s.nk ? s.K : s.N;
    if (!c.peer)
      return gk_gemm(s.M, s.N, s.K, X.data(), s.K, W.data(), ldw,
                     s.nk ? GK_WEIGHT_NK : GK_WEIGHT_KN, nullptr, GK_ACT_NONE, Y.data(), s.N);
    if (s.lowrank)
      c.peer->sgemm(s.M, s.r, s.K, X.data(), s.K, U.data(), s.r, false, T.data(), s.r),
          c.peer->sgemm(s.M, s.N, s.r, T.data(), s.r, V.data(), s.N, false, Y.data(), s.N);
    else
      c.peer->sgemm(s.M, s.N, s.K, X.data(), s.K, W.data(), ldw, s.nk, Y.data(), s.N);
    return GK_OK;
  };
  /* Each round starts one contestant later (drift within a round then
   * weighs on every contestant alike), and each timed call comes right
   * after an untimed call of its own: it finds the caches as its own last
   * call left them, as in a loop of Google Benchmark, never as the previous
   * contestant did. Timing each first call instead favoured whoever
   * followed a light contestant: in a fixed cycle each one follows the same
   * other in all rounds but one, and greenkern, first, followed BLIS (whose
   * packing buffers evict the caches): M = 32, r = 16 read 0.86x oneDNN
   * with BLIS in the cycle and 0.96x without it. */
  for (int round = -1; round < reps; round++)
    for (size_t i = 0; i < cs.size(); i++) {
      Contestant &c = cs[(i + (size_t)(round + 1)) % cs.size()];
      gk_status st = GK_OK;
      if (threads > 1) { /* see settle() */
        settle();
        const double w0 = now();
        for (int w = 0; !st && (w < kWakeCalls || now() - w0 < kWakeSeconds); w++) st = call(c);
      }
      if (!st) st = call(c);
      double t0 = now();
      if (!st) st = call(c);
      double dt = now() - t0;
      if (st) { /* a failed call would time nothing: never print it as a number */
        fprintf(stderr, "greenkern-pair: greenkern call failed: %s\n", gk_strerror(st));
        gk_linear_destroy(plan);
        return 1;
      }
      if (round >= 0) c.t.push_back(dt);
    }
  const char *path = !s.lowrank ? "" : gk_linear_uses_lowrank(plan, s.M) ? " (fused)" : " (dense)";
  gk_linear_destroy(plan);

  const double flops = s.lowrank ? 2.0 * (double)s.M * (double)s.r * (double)(s.K + s.N)
                                 : 2.0 * (double)s.M * (double)s.N * (double)s.K;
  char shape[96];
  if (s.lowrank) snprintf(shape, sizeof shape, "lowrank M=%zu K=%zu N=%zu r=%zu", s.M, s.K, s.N, s.r);
  else snprintf(shape, sizeof shape, "gemm%s M=%zu N=%zu K=%zu", s.nk ? "_nk" : "", s.M, s.N, s.K);
  printf("%-36s T=%d  greenkern%s %7.1f GFLOP/s", shape, threads, path,
         flops * 1e-9 / median(cs[0].t));
  for (size_t i = 1; i < cs.size(); i++) {
    std::vector<double> ratio;
    for (int k = 0; k < reps; k++) ratio.push_back(cs[i].t[(size_t)k] / cs[0].t[(size_t)k]);
    printf(" | %s %7.1f GFLOP/s, ratio %.3f [%.3f-%.3f]", cs[i].name.c_str(),
           flops * 1e-9 / median(cs[i].t), median(ratio), quartile(ratio, 1), quartile(ratio, 3));
  }
  printf("\n");
  fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  int reps = 11, threads = 1;
  bool control = false;
  std::vector<std::string> only;  // --peers=a,b: these peers only
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; i++) {
    Shape s;
    if (!strncmp(argv[i], "--reps=", 7) && (reps = atoi(argv[i] + 7)) > 0) continue;
    if (!strncmp(argv[i], "--threads=", 10) && (threads = atoi(argv[i] + 10)) > 0) continue;
    if (!strcmp(argv[i], "--control") && (control = true)) continue;
    if (!strncmp(argv[i], "--peers=", 8)) {
      std::string list = argv[i] + 8;
      for (size_t b = 0, e; b <= list.size(); b = e + 1) {
        e = list.find(',', b);
        if (e == std::string::npos) e = list.size();
        if (e > b) only.push_back(list.substr(b, e - b));
      }
      continue;
    }
    if (!parse(argv[i], &s)) {
      fprintf(stderr,
              "greenkern-pair: bad argument '%s'\n"
              "usage: greenkern-pair [--reps=N] [--threads=T] [--peers=NAME,...] [--control] "
              "[gemm:M,N,K | gemm_nk:M,N,K | lowrank:M,K,N,r]...\n",
              argv[i]);
      return 2;
    }
    shapes.push_back(s);
  }
  if (gk_init()) return 1;
  if (shapes.empty()) shapes = default_shapes();
  std::vector<const gkb::Peer *> peers;
  std::string names, all;
  for (const gkb::Peer &p : gkb::peers()) all += " " + std::string(p.name);
  if (only.empty())
    for (const gkb::Peer &p : gkb::peers()) peers.push_back(&p);
  for (const std::string &want : only) {
    const gkb::Peer *found = nullptr;
    for (const gkb::Peer &p : gkb::peers())
      if (want == p.name) found = &p;
    if (!found) { /* a misspelt peer would leave greenkern racing nobody */
      fprintf(stderr, "greenkern-pair: no peer '%s' in this build (peers:%s)\n", want.c_str(),
              all.empty() ? " none" : all.c_str());
      return 2;
    }
    peers.push_back(found);
  }
  for (const gkb::Peer *p : peers) names += " " + std::string(p->name);
  printf("greenkern-pair: %d rounds, ratio = peer time / greenkern time (median [quartiles]); "
         "peers:%s%s\n", reps, names.empty() ? " none" : names.c_str(),
         control ? "; control: greenkern again (its ratio is the noise)" : "");
  for (const Shape &s : shapes)
    if (run(s, reps, threads, peers, control)) return 1;
  return 0;
}

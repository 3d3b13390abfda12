// greenkern-pair: our GEMM and rank-r layer against each peer (and any op
// against another build of greenkern), alternating call by call, and the
// median of the per-round time ratios.
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
//            attention:NQ,NKV    gk_attention, 12 heads x d = 64 in the
//                                [tokens, heads*d] layout (no peer here:
//                                for --control and --ab)
//            linformer:N,k       gk_linformer_attention, the same heads,
//                                one E and one F for all of them (no peer)
//            linformer_ph:N,k    the same with an E and an F per head
//            hash:N,b            gk_hash of N tokens, the same heads, 25
//                                anchors, b-bit codes (no peer)
//            hamming:N,b,C       gk_hamming_attention over N random b-bit
//                                codes, the same heads, the ecoformer-ref
//                                kernel, causal if C is 1, the algorithm
//                                the build picks (no peer)
//     no SHAPE: the rank-r GEMM issue's bar shapes, dense then rank-r.
//   --control  adds greenkern itself as one more contestant, "control": its
//              ratio is this host's noise (1 but for drift), the band within
//              which no other ratio says anything.
//   --ab=LIB   adds another build of greenkern, the shared library LIB (say
//              a worktree of an earlier commit, configured with -Dbench=
//              disabled -Dtests=false), as the contestant "other": its ratio
//              is other time / this build's time, the paired verdict on a
//              change that two processes run minutes apart cannot give.
//              Both builds are then loaded alike, with dlopen(RTLD_LOCAL |
//              RTLD_DEEPBIND): LIB, and this build's own shared library
//              (GKB_SELF_SO) in place of the linked static one, which ran
//              1-4% slower than a loaded copy of itself. Each keeps its own
//              symbols, state and scratch; both read the same environment
//              (GK_PROFILE, GK_ISA, ...).
//
// Times are wall-clock per call (threads), each call timed right after an
// untimed one of the same contestant, the first round discarded; with more
// than one thread each such pair starts after a 150 ms pause (see settle)
// and at least 20 ms of untimed calls (see kWakeSeconds).
// Run it at real-time priority (chrt -f 10) where you can: another
// process taking a core mid-call moves single rounds by a time slice.
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
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

// Attention shapes' heads: BERT-base's; the hash's anchors: EcoFormer's.
constexpr size_t kHeads = 12, kHeadDim = 64, kAnchors = 25;

enum Kind { kGemm, kGemmNk, kLowrank, kAttention, kLinformer, kLinformerPerHead, kHash, kHamming };
struct Shape {
  Kind kind;
  size_t M, K, N, r;  // attention: n_q = M, n_kv = N; linformer: n = M, k = r;
                      // hash, hamming: n = M, b = r; hamming: causal = K
  bool lowrank() const { return kind == kLowrank; }
  bool linformer() const { return kind == kLinformer || kind == kLinformerPerHead; }
  bool ecoformer() const { return kind == kHash || kind == kHamming; }
  bool attention() const { return kind == kAttention || linformer(); }
  bool peerless() const { return attention() || ecoformer(); }
};

bool parse(const char *s, Shape *sh) {
  *sh = {};
  if (sscanf(s, "gemm:%zu,%zu,%zu", &sh->M, &sh->N, &sh->K) == 3)
    return sh->M && sh->N && sh->K;
  if (sscanf(s, "gemm_nk:%zu,%zu,%zu", &sh->M, &sh->N, &sh->K) == 3)
    return (sh->kind = kGemmNk) && sh->M && sh->N && sh->K;
  if (sscanf(s, "attention:%zu,%zu", &sh->M, &sh->N) == 2)
    return (sh->kind = kAttention) && sh->M && sh->N;
  if (sscanf(s, "linformer:%zu,%zu", &sh->M, &sh->r) == 2)
    return (sh->kind = kLinformer) && sh->M && sh->r;
  if (sscanf(s, "linformer_ph:%zu,%zu", &sh->M, &sh->r) == 2)
    return (sh->kind = kLinformerPerHead) && sh->M && sh->r;
  if (sscanf(s, "hash:%zu,%zu", &sh->M, &sh->r) == 2)
    return (sh->kind = kHash) && sh->M && sh->r && sh->r <= GK_HASH_MAX_BITS;
  if (sscanf(s, "hamming:%zu,%zu,%zu", &sh->M, &sh->r, &sh->K) == 3)
    return (sh->kind = kHamming) && sh->M && sh->r && sh->r <= GK_HASH_MAX_BITS && sh->K <= 1;
  sh->kind = kLowrank;
  return sscanf(s, "lowrank:%zu,%zu,%zu,%zu", &sh->M, &sh->K, &sh->N, &sh->r) == 4 && sh->M &&
         sh->K && sh->N && sh->r && sh->r <= std::min(sh->K, sh->N);
}

std::vector<Shape> default_shapes() {
  std::vector<Shape> v;
  const size_t kn[3][2] = {{768, 768}, {768, 3072}, {3072, 768}};
  for (size_t M : {128, 512, 2048})
    for (auto &p : kn) v.push_back({kGemm, M, p[0], p[1], 0});
  for (size_t M : {32, 128, 512, 2048})
    for (size_t r : {16, 32, 64, 128, 192, 256, 384}) v.push_back({kLowrank, M, 768, 768, r});
  return v;
}

// q = 1, 2, 3: lower quartile, median, upper quartile.
double quartile(std::vector<double> v, int q) {
  std::sort(v.begin(), v.end());
  return v[v.size() * (size_t)q / 4];
}
double median(const std::vector<double> &v) { return quartile(v, 2); }

// The entry points the tool calls on a build of greenkern: this one's,
// linked (kLinked) or, under --ab, loaded from its shared library as the
// other build is (load_api).
struct GkApi {
  const char *(*version)();
  gk_status (*init)();
  gk_status (*set_num_threads)(int);
  gk_status (*gemm)(size_t, size_t, size_t, const float *, size_t, const float *, size_t,
                    gk_weight_layout, const float *, gk_activation, float *, size_t);
  gk_status (*create_lowrank)(gk_linear_plan **, size_t, size_t, size_t, const float *, size_t,
                              gk_weight_layout, const float *, size_t, gk_weight_layout,
                              const float *, gk_activation);
  size_t (*workspace_size)(const gk_linear_plan *, size_t);
  gk_status (*apply_ws)(const gk_linear_plan *, size_t, const float *, size_t, float *, size_t,
                        void *, size_t);
  int (*uses_lowrank)(const gk_linear_plan *, size_t);
  void (*destroy)(gk_linear_plan *);
  gk_status (*attention)(const gk_attn_shape *, const float *, size_t, const float *, size_t,
                         const float *, size_t, float *, size_t, const gk_attn_mask *);
  size_t (*linformer_workspace_size)(const gk_attn_shape *, const gk_linformer_proj *);
  gk_status (*linformer)(const gk_attn_shape *, const gk_linformer_proj *, const float *, size_t,
                         const float *, size_t, const float *, size_t, float *, size_t,
                         const size_t *, void *, size_t);
  gk_status (*hash)(const gk_hash_params *, size_t, const float *, size_t, size_t, uint64_t *,
                    size_t, size_t);
  gk_status (*hamming)(const gk_hamming_attn_params *, size_t, size_t, size_t, const uint64_t *,
                       size_t, size_t, const uint64_t *, size_t, size_t, const float *, size_t,
                       size_t, float *, size_t, size_t);
};

const GkApi kLinked = {gk_version, gk_init, gk_set_num_threads, gk_gemm,
                       gk_linear_create_lowrank, gk_linear_workspace_size, gk_linear_apply_ws,
                       gk_linear_uses_lowrank, gk_linear_destroy, gk_attention,
                       gk_linformer_workspace_size, gk_linformer_attention, gk_hash,
                       gk_hamming_attention};

// A build's API from its shared library; false (with a message) when it
// cannot be loaded or lacks an entry point.
bool load_api(const char *path, GkApi *api) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!h) {
    fprintf(stderr, "greenkern-pair: --ab: %s\n", dlerror());
    return false;
  }
  struct { const char *name; void **fn; } syms[] = {
      {"gk_version", (void **)&api->version},
      {"gk_init", (void **)&api->init},
      {"gk_set_num_threads", (void **)&api->set_num_threads},
      {"gk_gemm", (void **)&api->gemm},
      {"gk_linear_create_lowrank", (void **)&api->create_lowrank},
      {"gk_linear_workspace_size", (void **)&api->workspace_size},
      {"gk_linear_apply_ws", (void **)&api->apply_ws},
      {"gk_linear_uses_lowrank", (void **)&api->uses_lowrank},
      {"gk_linear_destroy", (void **)&api->destroy},
      {"gk_attention", (void **)&api->attention},
      {"gk_linformer_workspace_size", (void **)&api->linformer_workspace_size},
      {"gk_linformer_attention", (void **)&api->linformer},
      {"gk_hash", (void **)&api->hash},
      {"gk_hamming_attention", (void **)&api->hamming}};
  for (auto &sym : syms)
    if (!(*sym.fn = dlsym(h, sym.name))) {
      fprintf(stderr, "greenkern-pair: --ab: %s has no %s\n", path, sym.name);
      return false;
    }
  return true;
}

// One contestant: a call on the shape's operands, by a peer or by a build
// of greenkern (its own plan and workspace for rank-r shapes).
struct Contestant {
  Contestant(const char *n, const gkb::Peer *p, const GkApi *g) : name(n), peer(p), gk(g) {}
  std::string name;
  const gkb::Peer *peer;  // NULL: a build of greenkern, gk
  const GkApi *gk;
  std::vector<double> t = {};
  gk_linear_plan *plan = nullptr;
  size_t ws_bytes = 0;
  std::unique_ptr<gkb::Buffer> ws;
};

int run(const Shape &s, int reps, int threads, const std::vector<const gkb::Peer *> &peers,
        bool control, const GkApi *self, const GkApi *other) {
  const bool lr = s.lowrank(), dense = !lr && !s.peerless();
  const bool lin = s.linformer(), eco = s.ecoformer();
  /* attention: X, Y, W, U hold Q, O, K, V (rows of heads·d floats); the
   * Linformer's E and F (k x n, per head: heads of them) are V and T.
   * hash: X, W, U hold x, the anchors and A; hamming: X, Y hold V, O. */
  const size_t ld = kHeads * kHeadDim, n_kv = lin ? s.M : s.N;
  const size_t ef = s.r * s.M * (s.kind == kLinformerPerHead ? kHeads : 1);
  const size_t words = GK_CODE_WORDS(s.r);
  gkb::Buffer X(s.peerless() ? s.M * ld : s.M * s.K, 1), Y(s.peerless() ? s.M * ld : s.M * s.N, 2);
  gkb::Buffer W(dense ? s.K * s.N
                      : s.attention() ? n_kv * ld : eco ? kHeads * kAnchors * kHeadDim : 1, 3);
  gkb::Buffer U(lr ? s.K * s.r : s.attention() ? n_kv * ld : eco ? kHeads * s.r * kAnchors : 1, 4),
      V(lr ? s.r * s.N : lin ? ef : 1, 5);
  /* codes [token][head][word]: hash's output, hamming's random input */
  std::vector<uint64_t> qc = gkb::random_codes(eco ? s.M * kHeads : 0, s.r, 1),
                        kc = gkb::random_codes(eco ? s.M * kHeads : 0, s.r, 2);
  const gk_hash_params hp = {kHeads, kHeadDim, kAnchors, s.r, W.data(), nullptr, U.data(),
                             nullptr, 1};
  gk_hamming_attn_params hap = {kHeads, kHeadDim, s.r, {}, (int)s.K, GK_HAMMING_AUTO};
  if (s.kind == kHamming) gk_hamming_kernel_preset(GK_HAMMING_ECOFORMER_REF, s.r, &hap.kernel);
  gkb::Buffer T(lr ? s.M * s.r : lin ? ef : 1, 6);
  gk_attn_shape as = {};
  as.batch = 1, as.heads = kHeads, as.head_dim = kHeadDim, as.n_q = s.M, as.n_kv = n_kv;
  const gk_linformer_proj lp = {s.r, s.M, V.data(), s.M, T.data(), s.M, 0,
                                s.kind == kLinformerPerHead ? GK_LINFORMER_PER_HEAD
                                                            : GK_LINFORMER_HEADWISE};
  for (const gkb::Peer *p : peers) p->set_threads(threads);
  std::vector<Contestant> cs;
  cs.emplace_back("greenkern", nullptr, self);
  if (!s.peerless()) /* the peers have no attention nor hashing */
    for (const gkb::Peer *p : peers) cs.emplace_back(p->name, p, nullptr);
  if (other) cs.emplace_back("other", nullptr, other);
  if (control) cs.emplace_back("control", nullptr, self);
  auto destroy_plans = [&] {
    for (Contestant &c : cs)
      if (c.plan) c.gk->destroy(c.plan), c.plan = nullptr;
  };
  for (Contestant &c : cs) {
    if (!c.gk) continue;
    c.gk->set_num_threads(threads);
    if (lin) { /* for this thread count */
      c.ws_bytes = c.gk->linformer_workspace_size(&as, &lp);
      c.ws = std::make_unique<gkb::Buffer>(c.ws_bytes / sizeof(float) + 1, 7);
    }
    if (!lr) continue;
    gk_status st = c.gk->create_lowrank(&c.plan, s.K, s.N, s.r, U.data(), s.r, GK_WEIGHT_KN,
                                        V.data(), s.N, GK_WEIGHT_KN, nullptr, GK_ACT_NONE);
    if (st) {
      fprintf(stderr, "greenkern-pair: %s: plan: %s\n", c.name.c_str(), gk_strerror(st));
      destroy_plans();
      return 1;
    }
    c.ws_bytes = c.gk->workspace_size(c.plan, s.M); /* for this thread count */
    c.ws = std::make_unique<gkb::Buffer>(c.ws_bytes / sizeof(float) + 1, 7); /* 64-byte aligned */
  }

  auto call = [&](const Contestant &c) {
    if (s.kind == kHash)
      return c.gk->hash(&hp, s.M, X.data(), ld, kHeadDim, qc.data(), kHeads * words, words);
    if (s.kind == kHamming)
      return c.gk->hamming(&hap, s.M, s.M, s.M, qc.data(), kHeads * words, words, kc.data(),
                           kHeads * words, words, X.data(), ld, kHeadDim, Y.data(), ld, kHeadDim);
    if (s.kind == kAttention)
      return c.gk->attention(&as, X.data(), ld, W.data(), ld, U.data(), ld, Y.data(), ld, nullptr);
    if (lin)
      return c.gk->linformer(&as, &lp, X.data(), ld, W.data(), ld, U.data(), ld, Y.data(), ld,
                             nullptr, c.ws->data(), c.ws_bytes);
    if (!c.peer && lr)
      return c.gk->apply_ws(c.plan, s.M, X.data(), s.K, Y.data(), s.N, c.ws->data(), c.ws_bytes);
    const bool nk = s.kind == kGemmNk;
    const size_t ldw = nk ? s.K : s.N;
    if (!c.peer)
      return c.gk->gemm(s.M, s.N, s.K, X.data(), s.K, W.data(), ldw,
                        nk ? GK_WEIGHT_NK : GK_WEIGHT_KN, nullptr, GK_ACT_NONE, Y.data(), s.N);
    if (lr)
      c.peer->sgemm(s.M, s.r, s.K, X.data(), s.K, U.data(), s.r, false, T.data(), s.r),
          c.peer->sgemm(s.M, s.N, s.r, T.data(), s.r, V.data(), s.N, false, Y.data(), s.N);
    else
      c.peer->sgemm(s.M, s.N, s.K, X.data(), s.K, W.data(), ldw, nk, Y.data(), s.N);
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
        fprintf(stderr, "greenkern-pair: %s call failed: %s\n", c.name.c_str(), gk_strerror(st));
        destroy_plans();
        return 1;
      }
      if (round >= 0) c.t.push_back(dt);
    }
  auto path = [&](const Contestant &c) {
    return !c.plan ? "" : c.gk->uses_lowrank(c.plan, s.M) ? " (fused)" : " (dense)";
  };

  /* attention: Q·Kᵀ and P·V; Linformer: also its two projections */
  const double attn = 4.0 * (double)s.M * (double)(lin ? s.r : s.N) * (double)ld;
  double flops = 2.0 * (double)s.M * (double)s.N * (double)s.K;
  if (lr) flops = 2.0 * (double)s.M * (double)s.r * (double)(s.K + s.N);
  if (s.attention()) flops = lin ? attn + 4.0 * (double)s.r * (double)s.M * (double)ld : attn;
  /* hash: the two products; hamming: the linear form's b x d state per key
   * and query, as multiply-adds (it adds only) */
  if (s.kind == kHash) flops = 2.0 * kHeads * (double)s.M * kAnchors * (double)(kHeadDim + s.r);
  if (s.kind == kHamming) flops = 4.0 * kHeads * (double)s.M * (double)s.r * kHeadDim;
  char shape[96];
  if (lr) snprintf(shape, sizeof shape, "lowrank M=%zu K=%zu N=%zu r=%zu", s.M, s.K, s.N, s.r);
  else if (lin)
    snprintf(shape, sizeof shape, "linformer%s n=%zu k=%zu",
             s.kind == kLinformerPerHead ? " per head" : "", s.M, s.r);
  else if (s.attention()) snprintf(shape, sizeof shape, "attention n_q=%zu n_kv=%zu", s.M, s.N);
  else if (s.kind == kHash) snprintf(shape, sizeof shape, "hash n=%zu b=%zu", s.M, s.r);
  else if (s.kind == kHamming)
    snprintf(shape, sizeof shape, "hamming%s n=%zu b=%zu", s.K ? " causal" : "", s.M, s.r);
  else
    snprintf(shape, sizeof shape, "gemm%s M=%zu N=%zu K=%zu", s.kind == kGemmNk ? "_nk" : "",
             s.M, s.N, s.K);
  printf("%-36s T=%d  greenkern%s %7.1f GFLOP/s", shape, threads, path(cs[0]),
         flops * 1e-9 / median(cs[0].t));
  for (size_t i = 1; i < cs.size(); i++) {
    std::vector<double> ratio;
    for (int k = 0; k < reps; k++) ratio.push_back(cs[i].t[(size_t)k] / cs[0].t[(size_t)k]);
    printf(" | %s%s %7.1f GFLOP/s, ratio %.3f [%.3f-%.3f]", cs[i].name.c_str(),
           cs[i].gk != cs[0].gk ? path(cs[i]) : "", flops * 1e-9 / median(cs[i].t),
           median(ratio), quartile(ratio, 1), quartile(ratio, 3));
  }
  printf("\n");
  destroy_plans();
  fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  int reps = 11, threads = 1;
  bool control = false;
  const char *ab = nullptr;       // --ab=LIB: another build as a contestant
  std::vector<std::string> only;  // --peers=a,b: these peers only
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; i++) {
    Shape s;
    if (!strncmp(argv[i], "--reps=", 7) && (reps = atoi(argv[i] + 7)) > 0) continue;
    if (!strncmp(argv[i], "--threads=", 10) && (threads = atoi(argv[i] + 10)) > 0) continue;
    if (!strcmp(argv[i], "--control") && (control = true)) continue;
    if (!strncmp(argv[i], "--ab=", 5) && *(ab = argv[i] + 5)) continue;
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
              "[--ab=LIB] [gemm:M,N,K | gemm_nk:M,N,K | lowrank:M,K,N,r | attention:NQ,NKV |\n"
              "            linformer:N,k | linformer_ph:N,k | hash:N,b | hamming:N,b,causal]...\n",
              argv[i]);
      return 2;
    }
    shapes.push_back(s);
  }
  GkApi self_api, other_api;
  const GkApi *self = &kLinked, *other = nullptr;
  if (ab) { /* both builds loaded alike (see --ab); the linked copy stays idle */
    if (!load_api(GKB_SELF_SO, &self_api) || !load_api(ab, &other_api)) return 2;
    self = &self_api, other = &other_api;
  }
  if (self->init() || (other && other->init())) return 1;
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
  if (other)
    printf("greenkern-pair: greenkern is this build, %s (%s); other is %s (%s)\n", GKB_SELF_SO,
           self->version(), ab, other->version());
  for (const Shape &s : shapes)
    if (run(s, reps, threads, peers, control, self, other)) return 1;
  return 0;
}

// Peer libraries for side-by-side runs: OpenBLAS, oneDNN and BLIS SGEMM.
// Each is optional: meson finds it at configure time and defines
// GKB_HAVE_<PEER>; a peer that is absent is simply not registered.
//
// BLIS is loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): Debian's BLIS and
// OpenBLAS both export cblas_sgemm/sgemm_, and linking both would silently
// bind one library's symbols to the other's calls.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gkb {

struct Peer {
  const char *name;
  // Y(M x N, ldy) = X(M x K, ldx) · W, W K x N (trans_w = false, ldw >= N)
  // or N x K (trans_w = true, ldw >= K); row-major; beta = 0.
  void (*sgemm)(size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W,
                size_t ldw, bool trans_w, float *Y, size_t ldy);
  void (*set_threads)(int n);
};

// The peers available in this binary on this machine.
const std::vector<Peer> &peers();
// Adds the peers' versions/kernels to the report's context.
void peers_describe();

}  // namespace gkb

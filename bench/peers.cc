#include "peers.h"

#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cstdlib>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef GKB_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef GKB_HAVE_DNNL
#include <dnnl.h>
#endif

namespace gkb {

#ifdef GKB_HAVE_OPENBLAS
static void openblas_sgemm(size_t M, size_t N, size_t K, const float *X, size_t ldx,
                           const float *W, size_t ldw, bool tw, float *Y, size_t ldy) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, tw ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, 1.0f, X, (int)ldx, W, (int)ldw, 0.0f, Y, (int)ldy);
}
static void openblas_threads(int n) { openblas_set_num_threads(n); }
#endif

#ifdef GKB_HAVE_DNNL
static void dnnl_sgemm_rm(size_t M, size_t N, size_t K, const float *X, size_t ldx,
                          const float *W, size_t ldw, bool tw, float *Y, size_t ldy) {
  dnnl_sgemm('N', tw ? 'T' : 'N', (dnnl_dim_t)M, (dnnl_dim_t)N, (dnnl_dim_t)K, 1.0f, X,
             (dnnl_dim_t)ldx, W, (dnnl_dim_t)ldw, 0.0f, Y, (dnnl_dim_t)ldy);
}
#endif
static void omp_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

#ifdef GKB_BLIS_SONAME
// BLIS typed API (bli_sgemm), declared here because it is loaded by hand.
typedef long blis_dim;
typedef void (*bli_sgemm_fn)(int transa, int transb, blis_dim m, blis_dim n, blis_dim k,
                             const float *alpha, const float *a, blis_dim rsa, blis_dim csa,
                             const float *b, blis_dim rsb, blis_dim csb, const float *beta,
                             float *c, blis_dim rsc, blis_dim csc);
typedef void (*bli_thread_set_num_threads_fn)(blis_dim n);
static bli_sgemm_fn blis_gemm;
static bli_thread_set_num_threads_fn blis_set_threads;
enum { BLIS_NO_TRANSPOSE = 0x0, BLIS_TRANSPOSE = 0x8 };  // trans_t values of blis.h

static void blis_sgemm(size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W,
                       size_t ldw, bool tw, float *Y, size_t ldy) {
  const float one = 1.0f, zero = 0.0f;
  // row-major: row stride ld, column stride 1; a transposed W is passed
  // as-is with BLIS_TRANSPOSE.
  blis_gemm(BLIS_NO_TRANSPOSE, tw ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, (blis_dim)M,
            (blis_dim)N, (blis_dim)K, &one, X, (blis_dim)ldx, 1, W, (blis_dim)ldw, 1, &zero, Y,
            (blis_dim)ldy, 1);
}
static void blis_threads(int n) { blis_set_threads(n); }

static bool load_blis() {
  void *h = dlopen(GKB_BLIS_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!h) return false;
  blis_gemm = (bli_sgemm_fn)dlsym(h, "bli_sgemm");
  blis_set_threads = (bli_thread_set_num_threads_fn)dlsym(h, "bli_thread_set_num_threads");
  return blis_gemm && blis_set_threads;
}
#endif

const std::vector<Peer> &peers() {
  static const std::vector<Peer> list = [] {
    std::vector<Peer> v;
#ifdef GKB_HAVE_OPENBLAS
    v.push_back({"openblas", openblas_sgemm, openblas_threads});
#endif
#ifdef GKB_HAVE_DNNL
    v.push_back({"onednn", dnnl_sgemm_rm, omp_threads});
#endif
#ifdef GKB_BLIS_SONAME
    if (load_blis()) v.push_back({"blis", blis_sgemm, blis_threads});
#endif
    return v;
  }();
  return list;
}

void peers_describe() {
  std::string names;
  for (const Peer &p : peers()) names += (names.empty() ? "" : ", ") + std::string(p.name);
  benchmark::AddCustomContext("peers", names.empty() ? "none" : names);
#ifdef GKB_HAVE_OPENBLAS
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  const char *ct = getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", ct ? ct : "(unset)");
#endif
#ifdef GKB_HAVE_DNNL
  const dnnl_version_t *dv = dnnl_version();
  benchmark::AddCustomContext("onednn_version", std::to_string(dv->major) + "." +
                                                    std::to_string(dv->minor) + "." +
                                                    std::to_string(dv->patch));
#endif
}

}  // namespace gkb

/* Per-thread scratch that cannot be allocated: a GEMM, a rank-r GEMM and a
 * plan's apply return GK_ERR_NO_MEMORY, not a crash (the one-thread GEMM
 * once packed into a NULL scratch) nor GK_OK over an unwritten Y.
 *
 * A process of its own (a test process that ran other tests keeps freed
 * blocks of the scratch's size in its heaps, which would serve the request
 * under any cap): the library is initialised and a plan made, then the
 * address space is capped 1 MiB above what is mapped, large blocks are
 * forced to mmap, and a new thread, which has no scratch yet, makes the
 * calls. Exit 77 (skipped) under AddressSanitizer, whose shadow memory does
 * not live under such a cap, and where the cap does not bind (valgrind and
 * qemu-user manage the address space themselves). */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "greenkern.h"

#define N 256
static float x[N * N], w[N * N], y[N * N];
static gk_linear_plan *plan;
static gk_status status[3];
static pthread_barrier_t capped;

static void *calls(void *arg) {
  (void)arg;
  pthread_barrier_wait(&capped); /* until main has capped the address space */
  status[0] = gk_gemm(N, N, N, x, N, w, N, GK_WEIGHT_KN, NULL, GK_ACT_NONE, y, N);
  status[1] = gk_lowrank_gemm(N, N, N, 32, x, N, w, 32, GK_WEIGHT_KN, w, N, GK_WEIGHT_KN,
                              NULL, GK_ACT_NONE, y, N);
  status[2] = gk_linear_apply(plan, N, x, N, y, N);
  return NULL;
}

int main(void) {
#if defined(__SANITIZE_ADDRESS__)
  return 77;
#endif
  for (size_t i = 0; i < N * N; i++) x[i] = (float)(i % 7) * 0.1f, w[i] = (float)(i % 5) * 0.1f;
  gk_set_num_threads(1); /* no thread pool to start under the cap */
  if (gk_gemm(N, N, N, x, N, w, N, GK_WEIGHT_KN, NULL, GK_ACT_NONE, y, N) ||
      gk_linear_create_dense(&plan, N, N, w, N, GK_WEIGHT_KN, NULL, GK_ACT_NONE)) {
    fprintf(stderr, "setup failed\n");
    return 1;
  }
  /* the thread starts before the cap (starting one needs more than the
   * cap leaves under valgrind) and waits for it */
  pthread_t t;
  pthread_barrier_init(&capped, NULL, 2);
  if (pthread_create(&t, NULL, calls, NULL)) {
    fprintf(stderr, "cannot start a thread\n");
    return 1;
  }
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  malloc_trim(0);
  long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%ld", &pages) != 1) {
    fprintf(stderr, "cannot read /proc/self/statm\n");
    return 1;
  }
  fclose(f);
  struct rlimit cap;
  cap.rlim_cur = cap.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (1 << 20);
  if (setrlimit(RLIMIT_AS, &cap)) {
    perror("setrlimit");
    return 1;
  }
  void *probe = NULL; /* a block of the scratch's size must fail now */
  int binds = posix_memalign(&probe, 64, 4 << 20) != 0;
  free(probe);
  pthread_barrier_wait(&capped);
  pthread_join(t, NULL);
  if (!binds) {
    puts("the address-space cap does not bind here (e.g. qemu-user): skipped");
    return 77;
  }
  int bad = 0;
  for (int i = 0; i < 3; i++)
    if (status[i] != GK_ERR_NO_MEMORY) {
      fprintf(stderr, "call %d under the cap: %s\n", i, gk_strerror(status[i]));
      bad = 1;
    }
  if (!bad) puts("every call reported GK_ERR_NO_MEMORY");
  return bad;
}

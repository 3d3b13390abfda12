/* Studies whose ops have not landed in this tree yet. */
#include "tune.h"

void tn_study_blocking(const tn_config *cfg, tn_results *r) {
  (void)cfg;
  tn_note(r, "blocking: the GEMM engine with cache blocks is not in this build");
}
void tn_study_rank(const tn_config *cfg, tn_results *r) {
  (void)cfg;
  tn_note(r, "rank: the fused rank-r GEMM is not in this build");
}

/* Public crossover queries over the loaded tuning (see greenkern.h). */
#include "internal.h"
#include "profile.h"

GK_API gk_status gk_query_rank_crossover(size_t M, size_t K, size_t N, size_t *r) {
  if (!r || !M || !K || !N) return GK_ERR_INVALID_ARG;
  *r = gk_tuned_rank_crossover(M, K, N);
  return GK_OK;
}

GK_API gk_status gk_query_seq_crossover(gk_seq_crossover kind, size_t param, size_t d,
                                        int causal, size_t *n) {
  if (!n || !param || !d || (causal != 0 && causal != 1) ||
      (unsigned)kind > GK_SEQ_HAMMING_LINFORMER)
    return GK_ERR_INVALID_ARG;
  if (kind == GK_SEQ_HAMMING_LINEAR) {
    *n = gk_tuned_hamming_crossover(param, d, causal);
    return GK_OK;
  }
  int measured;
  size_t v = gk_seq_crossover_in(&gk_ctx_get()->tuning, (gk_seq_kind)kind, param, d,
                                 causal, &measured);
  if (!measured) return GK_ERR_UNSUPPORTED;
  *n = v;
  return GK_OK;
}

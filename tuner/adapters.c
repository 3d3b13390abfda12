#include "adapters.h"

/* One line per op the tuner knows how to run. */
extern const tn_adapter tn_adapter_gemm;
extern const tn_adapter tn_adapter_attention;
extern const tn_adapter tn_adapter_linformer_project;
extern const tn_adapter tn_adapter_hash;
extern const tn_adapter tn_adapter_hamming_dist;
extern const tn_adapter tn_adapter_hamming_quad;
extern const tn_adapter tn_adapter_hamming_linear;

static const tn_adapter *const adapters[] = {
    &tn_adapter_gemm,
    &tn_adapter_attention,
    &tn_adapter_linformer_project,
    &tn_adapter_hash,
    &tn_adapter_hamming_dist,
    &tn_adapter_hamming_quad,
    &tn_adapter_hamming_linear,
};

const tn_adapter *tn_adapter_for(gk_op op) {
  for (size_t i = 0; i < sizeof adapters / sizeof adapters[0]; i++)
    if (adapters[i]->op == op) return adapters[i];
  return NULL;
}

/* Hamming attention has not landed in this tree yet. */
#include "seq.h"

void tn_study_hamming(const tn_config *cfg, tn_results *r) {
  (void)cfg;
  tn_note(r, "seq: Hamming attention is not in this build; its crossovers are not measured");
}

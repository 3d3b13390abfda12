/* Shared by the sequence-length studies (study_seq.c, study_hamming.c). */
#ifndef TN_SEQ_H
#define TN_SEQ_H

#include <stdint.h>

#include "tune.h"

/* BERT-base attention heads */
#define TN_SEQ_HEADS 12
#define TN_SEQ_D 64

/* The n grid of the attention curves for an effort level. */
const double *tn_seq_grid(tn_effort e, size_t *count);

/* The n where `fast` overtakes `slow` for good (log-log interpolated);
 * n[0] if it wins from the start, 0 if it never wins. */
uint32_t tn_crossover(const double *n, const double *fast, const double *slow, size_t cnt);

/* Hamming quadratic vs linear per (b, d, causal), and Hamming attention
 * (hash + the faster form) on the curves of r->seq. */
void tn_study_hamming(const tn_config *cfg, tn_results *r);

/* Adds the measured curves to the plots. */
void tn_seq_plot(tn_results *r);

#endif

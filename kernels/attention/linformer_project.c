/* Linformer sequence projection, ISA-templated: Y = E[:, :n]·X is a GEMM
 * with a long reduction (M = k, N = c, K = n), so each ISA's variant runs
 * that ISA's best GEMM from the registry instead of a second GEMM. The
 * harness therefore checks the projection through every ISA's GEMM. */
#include "../simd.h"
#include "../gemm/gemm.h"
#include "attention.h"

static gk_status run(const gk_lproj_args *a) {
  gk_gemm_args g = {a->k, a->c, a->n, a->E, a->lde, a->X, a->ldx, GK_WEIGHT_KN,
                    NULL, GK_ACT_NONE, a->Y, a->ldy, a->threads};
  return gk_gemm_run(gk_gemm_for_isa(GK_TARGET_ISA), &g); /* shapes validated by gk_lproj_check */
}

static const gk_lproj_impl impl = {run};
static const gk_variant variant = {
    GK_OP_LINFORMER_PROJECT, "f32_linformer_project_gemm" GK_ISA_SUFFIX, GK_TARGET_ISA,
    GK_TARGET_REQUIRES, (int)GK_TARGET_ISA, &impl};

void GK_FN(gk_register_linformer_project)(gk_registry *r) { gk_registry_add(r, &variant); }

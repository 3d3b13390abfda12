/* The attention family's registration (GK_FAMILIES): the flash-attention
 * core and the Linformer projection of this ISA. */
#include "../simd.h"
#include "attention.h"

void GK_FN(gk_register_attention_flash)(gk_registry *r);
void GK_FN(gk_register_linformer_project)(gk_registry *r);

void GK_FN(gk_register_attention)(gk_registry *r) {
  GK_FN(gk_register_attention_flash)(r);
  GK_FN(gk_register_linformer_project)(r);
}

// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/binop_with_scalar.h @ 050f24fa811f4f26798a78feaac8a319912f5f10
// param1 is the scalar as fp32 BITS in a uint32_t (not a float).
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

enum { ADD_UNARY = 0, SUB_UNARY = 1, MUL_UNARY = 2, DIV_UNARY = 3, RSUB_UNARY = 4 };

ALWI void add_unary_tile(uint32_t /*idst*/, uint32_t /*param1*/) {}
ALWI void sub_unary_tile(uint32_t /*idst*/, uint32_t /*param1*/) {}
ALWI void mul_unary_tile(uint32_t /*idst*/, uint32_t /*param1*/) {}
ALWI void div_unary_tile(uint32_t /*idst*/, uint32_t /*param1*/) {}
ALWI void rsub_unary_tile(uint32_t /*idst*/, uint32_t /*param1*/) {}
ALWI void add_unary_tile_int32(uint32_t /*idst*/, uint32_t /*param1*/) {}
ALWI void sub_unary_tile_int32(uint32_t /*idst*/, uint32_t /*param1*/) {}

ALWI void binop_with_scalar_tile_init() {}

}  // namespace ckernel

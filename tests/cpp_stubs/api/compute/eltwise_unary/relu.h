// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/relu.h @ 03ebf17f2cc08728a6829c530cd17265219f367b
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void relu_tile_init() {}
ALWI void relu_tile(uint32_t /*idst*/) {}
ALWI void relu_min_tile(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_min_tile_init() {}
ALWI void relu_max_tile(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_max_tile_init() {}
ALWI void relu_max_tile_pack(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_max_tile_int32(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_max_tile_uint32(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_max_tile_uint16(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_max_tile_init_pack() {}
ALWI void relu_min_tile_int32(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_min_tile_uint32(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_min_tile_uint16(uint32_t /*idst*/, uint32_t /*param0*/) {}
ALWI void relu_tile_int32(uint32_t /*idst*/) {}
ALWI void leaky_relu_tile(uint32_t /*idst*/, uint32_t /*slope*/ = 0) {}
ALWI void leaky_relu_tile_init() {}

}  // namespace ckernel

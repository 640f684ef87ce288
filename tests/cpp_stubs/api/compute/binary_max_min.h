// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/binary_max_min.h @ 06bd3735f7df2921d8195d732c14eba433e4a32d
// Three DST operands (idst0, idst1, odst); the float variants take an optional VectorMode.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void binary_max_int32_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void binary_max_int32_tile_init() {}
ALWI void binary_max_uint32_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void binary_max_uint32_tile_init() {}
ALWI void binary_max_tile(
    uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/, VectorMode /*vector_mode*/ = VectorMode::RC) {}
ALWI void binary_max_tile_init() {}

ALWI void binary_min_int32_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void binary_min_int32_tile_init() {}
ALWI void binary_min_uint32_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/) {}
ALWI void binary_min_uint32_tile_init() {}
ALWI void binary_min_tile(
    uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*odst*/, VectorMode /*vector_mode*/ = VectorMode::RC) {}
ALWI void binary_min_tile_init() {}

}  // namespace ckernel

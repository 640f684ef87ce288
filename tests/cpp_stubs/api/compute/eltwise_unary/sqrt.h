// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/sqrt.h @ 06bd3735f7df2921d8195d732c14eba433e4a32d
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void sqrt_tile_init() {}

template <bool FAST_APPROX = false>
ALWI void sqrt_tile(uint32_t /*idst*/) {}

}  // namespace ckernel

// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/negative.h @ 040a27c125587553626a7e57baa42571c8af91fa (non-Quasar)
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void negative_tile_init() {}
ALWI void negative_tile(uint32_t /*idst*/) {}
ALWI void negative_tile_int32(uint32_t /*idst*/) {}

}  // namespace ckernel

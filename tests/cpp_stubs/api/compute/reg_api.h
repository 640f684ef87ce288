// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/reg_api.h @ 0112bb1e04b1728d8c295b5fddf0913f0540fb0d
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

[[deprecated("Use tile_regs_acquire() instead")]]
ALWI void acquire_dst() {}

ALWI void tile_regs_acquire() {}
ALWI void tile_regs_wait() {}

[[deprecated("Use tile_regs_release() instead")]]
ALWI void release_dst() {}

ALWI void tile_regs_commit() {}
ALWI void tile_regs_release() {}

}  // namespace ckernel

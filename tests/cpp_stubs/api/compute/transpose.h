// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/transpose.h @ 0f997b01c3a970a867cc888b7a86718037eb45fe
// Replaces the deprecated transpose_wh_* API (see transpose_wh.h).
#pragma once

#include "api/compute/common.h"

namespace ckernel {

ALWI void transpose_init(uint32_t /*icb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}
ALWI void transpose_tile(uint32_t /*icb*/, uint32_t /*itile*/, uint32_t /*idst*/) {}
ALWI void transpose_block(uint32_t /*icb*/, uint32_t /*start_itile*/, uint32_t /*start_idst*/, uint32_t /*ntiles*/) {}

}  // namespace ckernel

// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/rsqrt.h @ 13e8272ec92aec11521a193285fd47262f7f9675
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

template <bool legacy_compat = false>
ALWI void rsqrt_tile_init() {}

template <bool legacy_compat = false, bool FAST_APPROX = false, bool is_fp32_dest_acc_en = DST_ACCUM_MODE>
ALWI void rsqrt_tile(uint32_t /*idst*/) {}

}  // namespace ckernel

// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/recip.h @ 03a190dc6433049eb42ecfe31baa5d78b53cf629
// Note vector_mode is an int here (cast of VectorMode), unlike exp_tile.
#pragma once

#include "api/compute/common_globals.h"

#ifndef RECIP_LEGACY_COMPAT
#define RECIP_LEGACY_COMPAT false
#endif

namespace ckernel {

template <bool legacy_compat = RECIP_LEGACY_COMPAT>
ALWI void recip_tile_init() {}

template <bool legacy_compat = RECIP_LEGACY_COMPAT>
ALWI void recip_tile(uint32_t /*idst*/, int /*vector_mode*/ = (int)VectorMode::RC) {}

}  // namespace ckernel

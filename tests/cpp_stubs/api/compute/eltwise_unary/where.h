// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_unary/where.h @ 8611d91adfa8fa20ccf6b7703f0221df035755da
//          (search-index id 27594310278; the same declarations at 050f24fa, id 52561150534).
// where_tile's DataFormat has no default: a call without it cannot deduce it and does not compile.
// DST[odst] = DST[idst0] != 0 ? DST[idst1] : DST[idst2].
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

template <DataFormat data_format>
ALWI void where_tile(uint32_t /*idst0*/, uint32_t /*idst1*/, uint32_t /*idst2*/, uint32_t /*odst*/) {}

ALWI void where_tile_init() {}

}  // namespace ckernel

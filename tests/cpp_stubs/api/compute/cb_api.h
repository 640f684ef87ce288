// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/cb_api.h @ 0718c01416513351c569149d874c401e58015652
// Compute-side CB calls take uint32_t (the dataflow-side ones in dataflow_api.h take int32_t).
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void cb_wait_front(uint32_t /*cbid*/, uint32_t /*ntiles*/) {}
ALWI void cb_pop_front(uint32_t /*cbid*/, uint32_t /*ntiles*/) {}
ALWI void cb_reserve_back(uint32_t /*cbid*/, uint32_t /*ntiles*/) {}
ALWI void cb_push_back(uint32_t /*cbid*/, uint32_t /*ntiles*/) {}
ALWI uint32_t get_tile_address(uint32_t /*cb_id*/, uint32_t /*tile_index*/) { return 0; }
ALWI uint32_t read_tile_value(uint32_t /*cb_id*/, uint32_t /*tile_index*/, uint32_t /*element_offset*/) { return 0; }

}  // namespace ckernel

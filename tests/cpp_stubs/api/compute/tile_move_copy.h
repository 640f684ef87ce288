// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/tile_move_copy.h @ 020fa046d62f17f520bf718422671efb8b72ac46 (WH/BH)
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void copy_tile_to_dst_init_short(
    uint32_t /*cbid*/,
    uint32_t /*transpose*/ = 0,
    uint32_t /*transpose_within_16x16_face*/ = false,
    uint32_t /*call_line*/ = __builtin_LINE()) {}

ALWI void copy_tile_init(uint32_t /*cbid*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

ALWI void copy_tile_to_dst_init_short_with_dt(uint32_t /*old_cbid*/, uint32_t /*new_cbid*/, uint32_t /*transpose*/ = 0) {}

ALWI void copy_tile(uint32_t /*in_cb_id*/, uint32_t /*in_tile_index*/, uint32_t /*dst_tile_index*/) {}

ALWI void copy_block_matmul_partials(
    uint32_t /*in_cb_id*/, uint32_t /*start_in_tile_index*/, uint32_t /*start_dst_tile_index*/, uint32_t /*ntiles*/) {}

}  // namespace ckernel

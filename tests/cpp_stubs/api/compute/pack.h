// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/pack.h @ 00b0fa3f57bf8c13af0f124a70a02b0bdbde8b90 (WH/BH branch)
// pack_tile<false> IGNORES output_tile_index (sequential packing); pass <true> for indexed writes.
#pragma once

#include "api/compute/common_globals.h"

namespace ckernel {

ALWI void pack_init(uint32_t /*ocb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

template <bool out_of_order_output = false>
ALWI void pack_tile(uint32_t /*ifrom_dst*/, uint32_t /*icb*/, std::uint32_t /*output_tile_index*/ = 0) {}

ALWI void pack_tile_block(uint32_t /*ifrom_dst*/, uint32_t /*icb*/, uint32_t /*ntiles*/) {}

// l1_acc_en must be 0 or 1.
ALWI void pack_reconfig_l1_acc(const uint32_t /*l1_acc_en*/) {}

ALWI void pack_rows_init(uint32_t /*num_rows*/) {}
ALWI void pack_rows(uint32_t /*idst*/, uint32_t /*ocb*/, uint32_t /*output_index*/ = 0) {}
ALWI void pack_rows_uninit() {}

ALWI void pack_relu_config(const uint32_t /*config*/) {}

}  // namespace ckernel

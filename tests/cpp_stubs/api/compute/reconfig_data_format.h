// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/reconfig_data_format.h, the SrcOrder version (tt-metal#34499;
// search-index file id 55608013302; first 16 kB read). The deprecated <bool to_from_int8,
// bool is_tile_dim_reconfig_en> overloads (kept by tt-metal "until 2026-08-15") are declared
// [[deprecated]] as in tt-metal. pack_reconfig_data_format is NOT mirrored (its current home was not checked).
#pragma once

#include "api/compute/common_globals.h"
#include "api/compute/src_order.h"

namespace ckernel {

template <SrcOrder src_order = SrcOrder::Regular, bool is_tile_dim_reconfig_en = false>
ALWI void reconfig_data_format(const uint32_t /*icb0_new_operand*/, const uint32_t /*icb1_new_operand*/) {}

template <SrcOrder src_order = SrcOrder::Regular, bool is_tile_dim_reconfig_en = false>
ALWI void reconfig_data_format(
    const uint32_t /*icb0_old_operand*/,
    const uint32_t /*icb0_new_operand*/,
    const uint32_t /*icb1_old_operand*/,
    const uint32_t /*icb1_new_operand*/) {}

template <bool is_tile_dim_reconfig_en = false>
ALWI void reconfig_data_format_srca(const uint32_t /*srca_new_operand*/) {}
template <bool is_tile_dim_reconfig_en = false>
ALWI void reconfig_data_format_srca(const uint32_t /*srca_old_operand*/, const uint32_t /*srca_new_operand*/) {}
template <bool is_tile_dim_reconfig_en = false>
ALWI void reconfig_data_format_srcb(const uint32_t /*srcb_new_operand*/) {}
template <bool is_tile_dim_reconfig_en = false>
ALWI void reconfig_data_format_srcb(const uint32_t /*srcb_old_operand*/, const uint32_t /*srcb_new_operand*/) {}

template <SrcOrder src_order = SrcOrder::Regular, bool is_tile_dim_reconfig_en = false>
ALWI void reconfig_data_format_skip_int8(const uint32_t /*icb0_new_operand*/, const uint32_t /*icb1_new_operand*/) {}

// Deprecated (tt-metal#34499).
template <bool to_from_int8, bool is_tile_dim_reconfig_en>
[[deprecated("reconfig_data_format signature is changing; use reconfig_data_format<SrcOrder::Regular>(). See tt-metal#34499.")]]
ALWI void reconfig_data_format(const uint32_t /*srca_new_operand*/, const uint32_t /*srcb_new_operand*/) {}

template <bool to_from_int8, bool is_tile_dim_reconfig_en>
[[deprecated("reconfig_data_format signature is changing; use reconfig_data_format<SrcOrder::Regular>(). See tt-metal#34499.")]]
ALWI void reconfig_data_format(
    const uint32_t /*srca_old_operand*/,
    const uint32_t /*srca_new_operand*/,
    const uint32_t /*srcb_old_operand*/,
    const uint32_t /*srcb_new_operand*/) {}

}  // namespace ckernel

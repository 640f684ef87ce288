// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/eltwise_binary.h @ 00b0fa3f57bf8c13af0f124a70a02b0bdbde8b90 (WH/BH branch)
#pragma once

#include "api/compute/common.h"

namespace ckernel {

ALWI void binary_op_init_common(
    uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*ocb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

template <bool full_init, EltwiseBinaryType eltwise_binary_type>
ALWI void binary_tiles_init(
    uint32_t /*icb0*/, uint32_t /*icb1*/, bool /*acc_to_dest*/ = false, uint32_t /*call_line*/ = __builtin_LINE()) {}

ALWI void mul_tiles_init(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*call_line*/ = __builtin_LINE()) {}
ALWI void mul_tiles_init(
    uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*acc_to_dest*/, uint32_t /*call_line*/ = __builtin_LINE()) {}
ALWI void add_tiles_init(
    uint32_t /*icb0*/, uint32_t /*icb1*/, bool /*acc_to_dest*/ = false, uint32_t /*call_line*/ = __builtin_LINE()) {}
ALWI void sub_tiles_init(
    uint32_t /*icb0*/, uint32_t /*icb1*/, bool /*acc_to_dest*/ = false, uint32_t /*call_line*/ = __builtin_LINE()) {}

ALWI void mul_tiles(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}
ALWI void add_tiles(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}
ALWI void sub_tiles(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}

template <
    EltwiseBinaryType eltwise_binary_type = EltwiseBinaryType::ELWADD,
    EltwiseBinaryReuseDestType binary_reuse_dest = EltwiseBinaryReuseDestType::NONE>
ALWI void binary_dest_reuse_tiles_init(uint32_t /*icb0*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

template <
    EltwiseBinaryType eltwise_binary_type = EltwiseBinaryType::ELWADD,
    EltwiseBinaryReuseDestType binary_reuse_dest = EltwiseBinaryReuseDestType::NONE>
ALWI void binary_dest_reuse_tiles(uint32_t /*in_cb_id*/, uint32_t /*in_tile_index*/, uint32_t /*dst_tile_index*/) {}

}  // namespace ckernel

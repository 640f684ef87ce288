// tteqsat test stub: signatures written from tenstorrent/tt-metal (not copied); bodies are empty.
// Mirrors: tt_metal/hw/inc/api/compute/bcast.h @ 00b0fa3f57bf8c13af0f124a70a02b0bdbde8b90
// Only the first 16 kB of the 24 kB file was read: unary_bcast*, reconfigure_unary_bcast, the
// *_tiles_bcast_{rows,cols,scalar} shorthands, init_bcast and any_tiles_bcast. The remaining
// add/sub/mul_tiles_bcast templates and *_init_short helpers are not mirrored.
// unary_bcast_init reprograms unpack/math/pack hardware state (hw_configure): keep it out of
// tile_regs_acquire()..tile_regs_commit().
#pragma once

#include "api/compute/common.h"

namespace ckernel {

template <BroadcastType bcast_type>
ALWI void unary_bcast_init(uint32_t /*icb*/, uint32_t /*ocb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

template <BroadcastType bcast_type>
ALWI void unary_bcast(uint32_t /*icb*/, uint32_t /*in_tile_index*/, uint32_t /*dst_tile_index*/) {}

template <BroadcastType bcast_type>
ALWI void unary_bcast_uninit(uint32_t /*icb*/) {}

template <BroadcastType old_bcast_type, BroadcastType new_bcast_type>
void reconfigure_unary_bcast(uint32_t /*old_icb*/, uint32_t /*new_icb*/, uint32_t /*old_ocb*/, uint32_t /*new_ocb*/) {}

ALWI void sub_tiles_bcast_cols(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}
ALWI void sub_tiles_bcast_scalar(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}
ALWI void mul_tiles_bcast_cols(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}
ALWI void mul_tiles_bcast_rows(
    uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/,
    uint32_t /*bcast_row_idx*/ = 0) {}
ALWI void add_tiles_bcast_rows(
    uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/,
    uint32_t /*bcast_row_idx*/ = 0) {}
ALWI void sub_tiles_bcast_rows(
    uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/,
    uint32_t /*bcast_row_idx*/ = 0) {}
ALWI void add_tiles_bcast_cols(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}
ALWI void add_tiles_bcast_scalar(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/) {}

template <EltwiseBinaryType tBcastOp, BroadcastType tBcastDim>
void init_bcast(uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*ocb*/, uint32_t /*call_line*/ = __builtin_LINE()) {}

template <EltwiseBinaryType tBcastOp, BroadcastType tBcastDim>
ALWI void any_tiles_bcast(
    uint32_t /*icb0*/, uint32_t /*icb1*/, uint32_t /*itile0*/, uint32_t /*itile1*/, uint32_t /*idst*/,
    uint32_t /*bcast_row_idx*/ = 0) {}

}  // namespace ckernel
